//! redb trusts the bytes it reads: on some kinds of damage it panics instead of returning an
//! error. Aura reads a store it did not just write only inside [`catch_corruption`], which turns
//! such a panic into an error and keeps its message off the user's screen.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a probe whose panics are expected and reported as errors.
    static PROBING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `probe`; a panic inside it becomes `Err` with the panic's message.
pub fn catch_corruption<T>(probe: impl FnOnce() -> T) -> Result<T, String> {
    install_quiet_hook();
    let was_probing = PROBING.with(|flag| flag.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(probe));
    PROBING.with(|flag| flag.set(was_probing));
    outcome.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unreadable internal structure".to_owned())
    })
}

/// Wraps the current panic hook so that it stays silent for panics caught by a probe.
fn install_quiet_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !PROBING.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_values_pass_through() {
        assert_eq!(catch_corruption(|| 4), Ok(4));
        let err = catch_corruption(|| -> u8 { panic!("bad page {}", 7) }).unwrap_err();
        assert_eq!(err, "bad page 7");
        assert!(!PROBING.with(Cell::get));
    }
}
