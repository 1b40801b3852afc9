//! The plotting tail every figure shares: a line with a dot at each measured point and a
//! legend entry, and the legend box.
//!
//! Depends only on plotters (which the examples and the bench both build with the same
//! features): the bench compiles this file too (`#[path]` in `bench/src/lib.rs`).

use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

/// The error of drawing on backend `DB`.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws `points` as a 2 px line in `color` with a dot at each point, and gives it the
/// legend entry `label` (a short line in the same colour).
///
/// # Errors
///
/// Those of the backend.
pub fn series<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: Vec<(f64, f64)>,
    label: &str,
    color: RGBColor,
) -> DrawResult<DB>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = color.stroke_width(2);
    chart
        .draw_series(LineSeries::new(points.clone(), style))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    chart.draw_series(
        points
            .into_iter()
            .map(|p| Circle::new(p, 3, color.filled())),
    )?;
    Ok(())
}

/// Draws the legend of every labelled series in the upper left corner, on a white box with
/// a black border.
///
/// # Errors
///
/// Those of the backend.
pub fn legend<'a, DB, X, Y>(chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>) -> DrawResult<DB>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
}
