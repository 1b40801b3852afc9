//! The plotting tail every figure shares: a line with a dot at each measured point and a
//! legend entry, and the legend box.
//!
//! Depends only on plotters (which the examples and the bench both build with the same
//! features): the bench compiles this file too (`#[path]` in `bench/src/lib.rs`).

use plotters::coord::ranged1d::Ranged;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The error of drawing on backend `DB`.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// What marks each measured point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A filled dot, 3 px: the usual.
    Dot,
    /// A filled triangle, 4 px: a second series in the same colour.
    Triangle,
}

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
    series_with(chart, points, label, color, 2, Marker::Dot)
}

/// [`series`] with the line `width` and the point `marker` given.
///
/// # Errors
///
/// Those of the backend.
pub fn series_with<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: Vec<(f64, f64)>,
    label: &str,
    color: RGBColor,
    width: u32,
    marker: Marker,
) -> DrawResult<DB>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = color.stroke_width(width);
    chart
        .draw_series(LineSeries::new(points.clone(), style))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    let points = points.into_iter();
    match marker {
        Marker::Dot => chart.draw_series(points.map(|p| Circle::new(p, 3, color.filled())))?,
        Marker::Triangle => {
            chart.draw_series(points.map(|p| TriangleMarker::new(p, 4, color.filled())))?
        }
    };
    Ok(())
}

/// The coordinates of a figure with both axes on a log scale.
pub type LogLog = Cartesian2d<LogCoord<f64>, LogCoord<f64>>;

/// A log-log chart filling `root`: `caption` on top, the axes over `x` and `y` described
/// by `x_desc` and `y_desc`, whole numbers on both, the mesh drawn.
///
/// # Errors
///
/// Those of the backend.
pub fn log_log_chart<'a, DB>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    (x, x_desc): (std::ops::Range<f64>, &str),
    (y, y_desc): (std::ops::Range<f64>, &str),
) -> Result<ChartContext<'a, DB, LogLog>, DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
{
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x.log_scale(), y.log_scale())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    Ok(chart)
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
