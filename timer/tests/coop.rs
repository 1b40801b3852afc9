//! The cooperative budget hook (its own test binary: the hook is process-global).

mod util;

use std::cell::Cell;
use std::task::{Context, Poll};
use std::time::Duration;

use ply_timer::Timer;
use util::{count_waker, poll_with};

thread_local! {
    static BUDGET: Cell<u32> = const { Cell::new(u32::MAX) };
}

fn budget_hook(cx: &mut Context<'_>) -> Poll<()> {
    BUDGET.with(|b| {
        if b.get() == 0 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            b.set(b.get() - 1);
            Poll::Ready(())
        }
    })
}

#[test]
fn ready_sleep_consults_the_hook_but_timeout_does_not() {
    ply_timer::coop::set_hook(budget_hook);
    let timer = Timer::paused();
    let handle = timer.handle();
    let (waker, woken) = count_waker();
    let mut sleep = Box::pin(handle.sleep(Duration::from_millis(1)));
    let mut timeout =
        Box::pin(handle.timeout(Duration::from_millis(1), std::future::pending::<()>()));
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    assert!(poll_with(timeout.as_mut(), &waker).is_pending());
    timer.advance(Duration::from_millis(1));

    // Budget exhausted: the ready sleep yields, and the hook asked for a re-poll.
    BUDGET.with(|b| b.set(0));
    let before = woken.0.load(std::sync::atomic::Ordering::SeqCst);
    assert!(poll_with(sleep.as_mut(), &waker).is_pending());
    assert_eq!(
        woken.0.load(std::sync::atomic::Ordering::SeqCst),
        before + 1
    );
    // A timeout still fires: its deadline check bypasses the budget.
    assert!(poll_with(timeout.as_mut(), &waker).is_ready());

    // Budget refilled: the sleep completes, and used one unit.
    BUDGET.with(|b| b.set(1));
    assert!(poll_with(sleep.as_mut(), &waker).is_ready());
    assert_eq!(BUDGET.with(|b| b.get()), 0);

    ply_timer::coop::clear_hook();
    BUDGET.with(|b| b.set(0));
    assert!(
        poll_with(sleep.as_mut(), &waker).is_ready(),
        "no hook: always proceeds"
    );
}
