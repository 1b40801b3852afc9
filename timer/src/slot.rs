//! Slot arithmetic of the hierarchical wheel, as pure functions.
//!
//! Time is counted in *ticks* of one millisecond since the timer's start. The wheel has
//! [`LEVELS`] levels of [`SLOTS`] slots; a slot of level `l` covers `64^l` ticks, so level
//! 0 is exact to the tick and level 5 spans `64^6` ticks (about 2.2 years).
//!
//! Where an entry goes depends only on two numbers: `elapsed`, the last tick the wheel has
//! processed, and `when`, the entry's deadline tick. The level is the highest 6-bit digit
//! in which the two differ (`level_for`): an entry whose deadline shares every digit above
//! digit `l` with `elapsed` is filed in level `l`, in the slot named by its own digit `l`
//! (`slot_for`). This is the base-64 counter picture of Varghese & Lauck's scheme 7: when
//! the lower digits of the clock roll over into a slot, that slot's entries are *cascaded*:
//! refiled relative to the new `elapsed`, which puts each one a level lower, until it
//! reaches level 0 and fires on its exact tick.
//!
//! Deadlines beyond the top level's reach are filed in the top level anyway (`level_for`
//! clamps); the slot they land in comes round at least once before their deadline, at
//! which point they are refiled, so any deadline up to [`MAX_TICK`] is accepted without
//! overflow.

use std::time::Duration;

/// Number of levels in the wheel.
pub(crate) const LEVELS: usize = 6;
/// log2 of the number of slots per level.
pub(crate) const SLOT_BITS: u32 = 6;
/// Slots per level; one bit per slot in a `u64` occupancy bitmap.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
/// The largest deadline tick representable (62 bits, about 146 million years of
/// milliseconds); later deadlines are clamped to it. The two top bits of the entry state
/// word hold the entry's phase (see `state.rs`).
pub(crate) const MAX_TICK: u64 = (1 << 62) - 1;

/// The level of the wheel in which an entry due at `when` is filed, given that the wheel
/// has processed every tick up to and including `elapsed`. Requires `when > elapsed`.
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    debug_assert!(when > elapsed, "level_for({elapsed}, {when})");
    // The lowest digit is or-ed in so that `masked` is never zero (leading_zeros < 64);
    // entries differing only in digit 0 land in level 0.
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant_bit = 63 - masked.leading_zeros();
    ((significant_bit / SLOT_BITS) as usize).min(LEVELS - 1)
}

/// The slot of `level` that holds ticks whose digit `level` equals that of `when`.
pub(crate) fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (level as u32 * SLOT_BITS)) & (SLOTS as u64 - 1)) as usize
}

/// Number of ticks one slot of `level` covers.
pub(crate) fn slot_range(level: usize) -> u64 {
    1 << (level as u32 * SLOT_BITS)
}

/// Number of ticks a whole rotation of `level` covers.
pub(crate) fn level_range(level: usize) -> u64 {
    1 << ((level as u32 + 1) * SLOT_BITS)
}

/// The first occupied slot of `level` at or after the wheel's position, and the tick at
/// which that slot starts: the tick at which the wheel must process it.
///
/// `occupied` is the level's bitmap (bit `s` set when slot `s` holds entries). The search
/// is one rotate and one count of trailing zeros, never a scan.
pub(crate) fn next_occupied(occupied: u64, elapsed: u64, level: usize) -> Option<(usize, u64)> {
    if occupied == 0 {
        return None;
    }
    let now_slot = slot_for(elapsed, level);
    if level == 0 && occupied & (1 << now_slot) != 0 {
        // Level 0's current slot is the *due slot*: entries of this very tick, being
        // fired (seen only while a firing driver has released the lock between batches).
        return Some((now_slot, elapsed));
    }
    let level_start = elapsed & !(level_range(level) - 1);
    // Rotate so that bit 0 is the wheel's current slot, then ignore that bit: the current
    // slot's start has already passed, so it can only hold entries for the *next*
    // rotation (see below), which come after every other occupied slot.
    let ahead = occupied.rotate_right(now_slot as u32) & !1;
    let slot = if ahead != 0 {
        (now_slot + ahead.trailing_zeros() as usize) % SLOTS
    } else {
        now_slot
    };
    let mut tick = level_start + slot as u64 * slot_range(level);
    if slot <= now_slot {
        // Only the top level wraps: lower levels hold entries of the current rotation
        // only (the xor rule of `level_for`), and every slot whose start has passed was
        // processed and emptied. A top-level slot at or behind the current one holds
        // far-future entries: it comes round again one rotation later.
        debug_assert_eq!(level, LEVELS - 1, "only the top level wraps");
        tick += level_range(level);
    }
    Some((slot, tick))
}

/// The deadline tick of a deadline `since_start` after the timer's start: rounded *up*,
/// so that a timer never fires before its deadline, and clamped to [`MAX_TICK`].
///
/// Integer milliseconds from seconds and nanoseconds: no 128-bit division on the hot path.
pub(crate) fn deadline_tick(since_start: Duration) -> u64 {
    let ms = since_start
        .as_secs()
        .saturating_mul(1_000)
        .saturating_add(u64::from(since_start.subsec_nanos()).div_ceil(NANOS_PER_TICK));
    ms.min(MAX_TICK)
}

/// The tick containing the instant `since_start` after the timer's start: rounded *down*,
/// so the wheel never believes more time has passed than has.
pub(crate) fn now_tick(since_start: Duration) -> u64 {
    let ms = since_start
        .as_secs()
        .saturating_mul(1_000)
        .saturating_add(u64::from(since_start.subsec_nanos()) / NANOS_PER_TICK);
    ms.min(MAX_TICK)
}

/// Nanoseconds per tick: the wheel's resolution is one millisecond.
const NANOS_PER_TICK: u64 = 1_000_000;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn level_for_table() {
        let cases: &[(u64, u64, usize)] = &[
            // (elapsed, when, level)
            (0, 1, 0),
            (0, 63, 0),
            (0, 64, 1),
            (63, 64, 1),
            (64, 127, 0),
            (64, 128, 1),
            (0, 4095, 1),
            (0, 4096, 2),
            (4095, 4096, 2),
            (0, 1 << 18, 3),
            (0, 1 << 24, 4),
            (0, 1 << 30, 5),
            (0, (1 << 36) - 1, 5),
            // Beyond the span: clamped to the top level.
            (0, 1 << 36, 5),
            (0, MAX_TICK, 5),
            (1000, MAX_TICK, 5),
            ((1 << 36) - 1, 1 << 36, 5),
        ];
        for &(elapsed, when, level) in cases {
            assert_eq!(
                level_for(elapsed, when),
                level,
                "level_for({elapsed}, {when})"
            );
        }
    }

    #[test]
    fn slot_for_table() {
        let cases: &[(u64, usize, usize)] = &[
            // (when, level, slot)
            (0, 0, 0),
            (5, 0, 5),
            (63, 0, 63),
            (64, 0, 0),
            (64, 1, 1),
            (4095, 1, 63),
            (4096, 1, 0),
            (4096, 2, 1),
            (3 << 30, 5, 3),
            (1 << 36, 5, 0),
            (MAX_TICK, 5, 63),
        ];
        for &(when, level, slot) in cases {
            assert_eq!(slot_for(when, level), slot, "slot_for({when}, {level})");
        }
    }

    #[test]
    fn ranges_table() {
        let cases: &[(usize, u64, u64)] = &[
            (0, 1, 64),
            (1, 64, 4096),
            (2, 4096, 262_144),
            (5, 1 << 30, 1 << 36),
        ];
        for &(level, slot, rotation) in cases {
            assert_eq!(slot_range(level), slot, "slot_range({level})");
            assert_eq!(level_range(level), rotation, "level_range({level})");
        }
    }

    #[test]
    fn next_occupied_table() {
        /// (occupied, elapsed, level, expected (slot, tick))
        type Row = (u64, u64, usize, Option<(usize, u64)>);
        let cases: &[Row] = &[
            (0, 0, 0, None),
            (1 << 5, 0, 0, Some((5, 5))),
            (1 << 5 | 1 << 9, 0, 0, Some((5, 5))),
            // Level 0's current slot is the due slot: due now.
            (1 << 4 | 1 << 9, 4, 0, Some((4, 4))),
            (1 << 4, 64 + 4, 0, Some((4, 68))),
            // Bits behind the current slot are not considered before those ahead.
            (1 << 2 | 1 << 9, 4, 0, Some((9, 9))),
            (1 << 4, 64 * 3 + 7, 1, Some((4, 256))),
            (1 << 2, 4096 + 1, 2, Some((2, 8192))),
            // The top level wraps: a slot behind (or at) the current one is next rotation.
            (1 << 1, 5 << 30, 5, Some((1, (1 << 36) + (1 << 30)))),
            (1 << 5, 5 << 30, 5, Some((5, (1 << 36) + (5 << 30)))),
            (1 << 6, 5 << 30, 5, Some((6, 6 << 30))),
            // The current top-level slot holds next-rotation entries: any slot ahead of it
            // in this rotation comes first.
            (1 << 8 | 1 << 29, 8 << 30, 5, Some((29, 29 << 30))),
            (
                1 << 8 | 1 << 3,
                8 << 30,
                5,
                Some((3, (1 << 36) + (3 << 30))),
            ),
            (1 << 8, (8 << 30) + 5, 5, Some((8, (1 << 36) + (8 << 30)))),
        ];
        for &(occupied, elapsed, level, expected) in cases {
            assert_eq!(
                next_occupied(occupied, elapsed, level),
                expected,
                "next_occupied({occupied:#b}, {elapsed}, {level})"
            );
        }
    }

    /// The worked example of `docs/timer.md`: a timer due at tick 70,000 registered at
    /// tick 0 cascades level 2, level 1, level 0.
    #[test]
    fn cascade_example_table() {
        let when = 70_000;
        // (elapsed, level, slot, slot start)
        let steps: &[(u64, usize, usize, u64)] = &[
            (0, 2, 17, 69_632),
            (69_632, 1, 5, 69_952),
            (69_952, 0, 48, 70_000),
        ];
        for &(elapsed, level, slot, start) in steps {
            assert_eq!(level_for(elapsed, when), level, "from {elapsed}");
            assert_eq!(slot_for(when, level), slot, "from {elapsed}");
            assert_eq!(
                next_occupied(1 << slot, elapsed, level),
                Some((slot, start))
            );
        }
    }

    #[test]
    fn ticks_round_toward_never_early() {
        let cases: &[(Duration, u64, u64)] = &[
            // (since start, deadline_tick (ceil), now_tick (floor))
            (Duration::ZERO, 0, 0),
            (Duration::from_nanos(1), 1, 0),
            (Duration::from_nanos(999_999), 1, 0),
            (Duration::from_millis(1), 1, 1),
            (Duration::from_nanos(1_000_001), 2, 1),
            (Duration::new(3, 999_999_999), 4_000, 3_999),
            (Duration::new(3, 0), 3_000, 3_000),
            (Duration::MAX, MAX_TICK, MAX_TICK),
            (Duration::from_secs(u64::MAX / 1_000), MAX_TICK, MAX_TICK),
        ];
        for &(since, deadline, now) in cases {
            assert_eq!(deadline_tick(since), deadline, "deadline_tick({since:?})");
            assert_eq!(now_tick(since), now, "now_tick({since:?})");
            // A deadline is due only once now has reached it.
            assert!(now <= deadline);
        }
    }
}
