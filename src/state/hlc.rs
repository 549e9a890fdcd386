//! Hybrid logical clock time: wall-clock milliseconds plus a logical counter.
//!
//! HLC times stay close to the wall clock (so "sent at" is meaningful) yet respect causality:
//! a time issued after observing another is greater than it, even if the local wall clock is
//! behind. Times pack into one `u64` (48 bits of milliseconds, 16 bits of counter), which is
//! the timestamp the set reconciliation orders by. The wall clock is an argument: this module
//! never reads it.

use std::fmt;

/// Bits of the packed time given to the logical counter.
const LOGICAL_BITS: u32 = 16;
/// Largest wall-clock millisecond a time can carry: 2^48 ms is about the year 10889.
pub const MAX_PHYSICAL_MS: u64 = (1 << (64 - LOGICAL_BITS)) - 1;
/// How far in the future of the local clock a received time may be. Larger skews are refused:
/// accepting them would drag every later local time forward with them.
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;

/// One HLC time. Orders by milliseconds, then counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    physical_ms: u64,
    logical: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error(
        "time {time} is {ahead_ms} ms ahead of the local clock (at most {MAX_FUTURE_SKEW_MS} ms allowed)"
    )]
    TooFarAhead { time: Hlc, ahead_ms: u64 },
    #[error("wall clock {0} ms is beyond the range of HLC times")]
    OutOfRange(u64),
}

impl Hlc {
    pub const ZERO: Hlc = Hlc {
        physical_ms: 0,
        logical: 0,
    };

    /// `None` if `physical_ms` does not fit in 48 bits.
    pub fn new(physical_ms: u64, logical: u16) -> Option<Self> {
        (physical_ms <= MAX_PHYSICAL_MS).then_some(Self {
            physical_ms,
            logical,
        })
    }

    pub fn physical_ms(self) -> u64 {
        self.physical_ms
    }

    pub fn logical(self) -> u16 {
        self.logical
    }

    /// The packed form: order-preserving, so `a < b` iff `a.to_u64() < b.to_u64()`.
    pub fn to_u64(self) -> u64 {
        (self.physical_ms << LOGICAL_BITS) | u64::from(self.logical)
    }

    pub fn from_u64(packed: u64) -> Self {
        Self {
            physical_ms: packed >> LOGICAL_BITS,
            logical: (packed & u64::from(u16::MAX)) as u16,
        }
    }

    /// The smallest time strictly after `self`.
    fn successor(self) -> Self {
        match self.logical.checked_add(1) {
            Some(logical) => Self {
                physical_ms: self.physical_ms,
                logical,
            },
            // The counter is exhausted: borrow a millisecond, which keeps times increasing at
            // the cost of running one millisecond ahead of the wall clock.
            None => Self {
                physical_ms: self.physical_ms.saturating_add(1).min(MAX_PHYSICAL_MS),
                logical: 0,
            },
        }
    }

    /// Whether `self` is acceptable next to a local wall clock reading of `now_ms`.
    pub fn check_skew(self, now_ms: u64) -> Result<(), ClockError> {
        let ahead_ms = self.physical_ms.saturating_sub(now_ms);
        if ahead_ms > MAX_FUTURE_SKEW_MS {
            return Err(ClockError::TooFarAhead {
                time: self,
                ahead_ms,
            });
        }
        Ok(())
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.physical_ms, self.logical)
    }
}

/// A replica's clock: the last time it issued or observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HybridClock {
    last: Hlc,
}

impl HybridClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes after `last`, e.g. the greatest time found in the store at start.
    pub fn starting_after(last: Hlc) -> Self {
        Self { last }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A time for a local event at wall-clock `now_ms`: greater than every time issued or
    /// observed so far.
    pub fn now(&mut self, now_ms: u64) -> Result<Hlc, ClockError> {
        let wall = Hlc::new(now_ms, 0).ok_or(ClockError::OutOfRange(now_ms))?;
        self.last = if wall > self.last {
            wall
        } else {
            self.last.successor()
        };
        Ok(self.last)
    }

    /// Takes a received time into account, refusing one too far in the future of `now_ms`.
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Result<(), ClockError> {
        remote.check_skew(now_ms)?;
        self.last = self.last.max(remote);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_increase_even_when_the_wall_clock_stalls_or_goes_back() {
        let mut clock = HybridClock::new();
        let a = clock.now(1_000).unwrap();
        let b = clock.now(1_000).unwrap();
        let c = clock.now(900).unwrap();
        let d = clock.now(2_000).unwrap();
        assert!(a < b && b < c && c < d);
        assert_eq!(d, Hlc::new(2_000, 0).unwrap());
    }

    #[test]
    fn an_observed_time_is_passed_but_a_far_future_one_is_refused() {
        let mut clock = HybridClock::new();
        let remote = Hlc::new(5_000, 7).unwrap();
        clock.observe(remote, 4_000).unwrap();
        assert!(clock.now(4_000).unwrap() > remote);
        let too_far = Hlc::new(4_000 + MAX_FUTURE_SKEW_MS + 1, 0).unwrap();
        assert!(matches!(
            clock.observe(too_far, 4_000),
            Err(ClockError::TooFarAhead { .. })
        ));
        assert!(clock.last() < too_far);
    }

    #[test]
    fn an_exhausted_counter_borrows_a_millisecond() {
        let mut clock = HybridClock::starting_after(Hlc::new(10, u16::MAX).unwrap());
        assert_eq!(clock.now(10).unwrap(), Hlc::new(11, 0).unwrap());
    }

    #[test]
    fn packing_preserves_order() {
        let times = [
            Hlc::new(0, 0).unwrap(),
            Hlc::new(0, u16::MAX).unwrap(),
            Hlc::new(1, 0).unwrap(),
            Hlc::new(MAX_PHYSICAL_MS, u16::MAX).unwrap(),
        ];
        for pair in times.windows(2) {
            assert!(pair[0].to_u64() < pair[1].to_u64());
        }
        for time in times {
            assert_eq!(Hlc::from_u64(time.to_u64()), time);
        }
        assert!(Hlc::new(MAX_PHYSICAL_MS + 1, 0).is_none());
        assert!(HybridClock::new().now(u64::MAX).is_err());
    }
}
