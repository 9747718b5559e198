//! With the `tracing` feature, a span around each run of a memoized body (a
//! miss): `memo_miss`, target `memo`, level DEBUG, with the field
//! `function = "module::name"`. Without it, nothing at all: the guard is a
//! type of no size and the future is the body's own.

/// The span of a sync miss, entered while the body runs, kept on a stack of
/// this thread's rather than in the memoized function's frame: a recursion
/// keeps one frame per level, and a span in each (40 bytes) would cost it
/// a fifth of its depth. The guard, a flag, leaves the span when the
/// body returns or unwinds.
#[cfg(feature = "tracing")]
#[must_use]
#[inline(never)]
pub fn miss_span(module: &'static str, name: &'static str) -> InSpan {
    let span =
        tracing::debug_span!(target: "memo", "memo_miss", function = %format_args!("{module}::{name}"));
    // A span no subscriber wants is not kept (nor is the stack made); a
    // thread that is exiting keeps no stack: its span is left at once.
    if span.is_disabled() {
        return InSpan(false);
    }
    // Entered before the stack is borrowed: entering runs the subscriber's
    // code, which may call a memoized function that misses.
    let entered = span.entered();
    InSpan(ENTERED.try_with(|stack| stack.borrow_mut().push(entered)).is_ok())
}

#[cfg(feature = "tracing")]
std::thread_local! {
    /// The spans of the misses running on this thread, innermost last.
    static ENTERED: core::cell::RefCell<Vec<tracing::span::EnteredSpan>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Inside the span of a sync miss, until dropped; whether it was kept.
#[cfg(feature = "tracing")]
#[derive(Debug)]
pub struct InSpan(bool);

#[cfg(feature = "tracing")]
impl Drop for InSpan {
    #[inline(never)]
    fn drop(&mut self) {
        if !self.0 {
            return;
        }
        // Popped before it is dropped: leaving the span runs the
        // subscriber's code, which may trace again.
        let span = ENTERED.try_with(|entered| entered.borrow_mut().pop()).ok().flatten();
        drop(span);
    }
}

/// Nothing to enter: memo is built without `tracing`.
#[cfg(not(feature = "tracing"))]
#[derive(Debug)]
pub struct NoSpan;

/// The span of a sync miss: none without the `tracing` feature.
#[cfg(not(feature = "tracing"))]
#[must_use]
#[inline(always)]
pub fn miss_span(module: &'static str, name: &'static str) -> NoSpan {
    let _ = (module, name);
    NoSpan
}

/// The body of an async miss, in its span whenever it is polled.
#[cfg(feature = "tracing")]
pub fn traced<F: Future>(
    module: &'static str,
    name: &'static str,
    body: F,
) -> tracing::instrument::Instrumented<F> {
    use tracing::Instrument as _;
    body.instrument(
        tracing::debug_span!(target: "memo", "memo_miss", function = %format_args!("{module}::{name}")),
    )
}

/// The body of an async miss, as it is without the `tracing` feature.
#[cfg(not(feature = "tracing"))]
#[inline(always)]
pub fn traced<F: Future>(module: &'static str, name: &'static str, body: F) -> F {
    let _ = (module, name);
    body
}
