//! The reconciliation of payment events: a pass that lists the payment processor's recent events
//! and applies the ones its webhook missed, so a lost delivery heals itself. This module holds
//! its schedule and window as pure rules; `app::reconciliation` runs a pass, `store` keeps the
//! one [`Watermark`].
//!
//! The pass is a step of the scheduler's 15-minute run, gated by the stored watermark, rather
//! than a second EventBridge schedule with its own payload: the watermark is needed either way
//! (a pass must cover everything since the last pass that finished, however long ago that was),
//! and with it a pass that failed or was cut short is simply due again on the next run, a
//! quarter of an hour later instead of a day, while the scheduler keeps one trigger shape and
//! one rule. Whichever run claims the watermark first (a conditional write) does the pass; a
//! run that finds it claimed or not yet due does nothing.

use serde::{Deserialize, Serialize};

/// A pass that finished is due again this long after it ran.
pub const INTERVAL_SECS: i64 = 24 * 60 * 60;
/// A claimed pass belongs to its run for this long, longer than the scheduler's 60 s timeout;
/// a run that died with the claim is taken over by the first run after it.
pub const LEASE_SECS: i64 = 5 * 60;
/// Each window starts this long before the previous one ended: an event whose `created` (the
/// processor's clock) lies a little before our clock's idea of the last pass, or that became
/// listed only after it, is still seen. Applying an event twice changes nothing.
pub const OVERLAP_SECS: i64 = 60 * 60;
/// Stripe keeps events for 30 days: no window reaches further back, and the first pass covers
/// all of it.
pub const RETENTION_SECS: i64 = 30 * 24 * 60 * 60;

/// The one record of how far the reconciliation has got. Times are Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// Every event created at or before this was listed and applied by a pass that finished;
    /// `None` before the first one.
    pub covered_until: Option<i64>,
    /// When the next pass may start.
    pub next_due_at: i64,
    /// A pass in progress holds the watermark until then.
    pub lease_until: i64,
    /// A pass stopped by the per-run bound, to go on from on the next run.
    pub resume: Option<Resume>,
}

/// Where a pass cut short goes on: its window's end, and the last event it handled (the list
/// runs newest first, so everything after that cursor is older and still to do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub created_lte: i64,
    pub starting_after: String,
}

/// The events one pass lists: created in `created_gte..=created_lte`, after the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub created_gte: i64,
    pub created_lte: i64,
    pub starting_after: Option<String>,
}

impl Watermark {
    /// Whether a pass should start at `now`: it is due and nobody holds it.
    pub fn is_due(&self, now: i64) -> bool {
        now >= self.next_due_at && now >= self.lease_until
    }

    /// The watermark held by a pass that starts at `now`.
    pub fn claimed(&self, now: i64) -> Self {
        Self {
            lease_until: now + LEASE_SECS,
            ..self.clone()
        }
    }

    /// What a pass starting at `now` lists: from the end of the last finished pass (less the
    /// overlap; at most 30 days back) to `now`, or the rest of a pass that was cut short.
    pub fn window(&self, now: i64) -> Window {
        let created_lte = self
            .resume
            .as_ref()
            .map_or(now, |resume| resume.created_lte);
        let oldest = created_lte - RETENTION_SECS;
        let created_gte = self
            .covered_until
            .map_or(oldest, |covered| (covered - OVERLAP_SECS).max(oldest));
        Window {
            created_gte,
            created_lte,
            starting_after: self
                .resume
                .as_ref()
                .map(|resume| resume.starting_after.clone()),
        }
    }

    /// After a pass that applied its whole window: covered to its end, due in a day.
    pub fn finished(&self, window: &Window, now: i64) -> Self {
        Self {
            covered_until: Some(window.created_lte),
            next_due_at: now + INTERVAL_SECS,
            lease_until: 0,
            resume: None,
        }
    }

    /// After a pass stopped by the per-run bound after `last_event_id`: the next run goes on.
    pub fn cut_short(&self, window: &Window, last_event_id: &str, now: i64) -> Self {
        Self {
            covered_until: self.covered_until,
            next_due_at: now,
            lease_until: 0,
            resume: Some(Resume {
                created_lte: window.created_lte,
                starting_after: last_event_id.to_owned(),
            }),
        }
    }

    /// After a pass that failed (the processor or the table could not answer, an event could
    /// not be applied): nothing moves, and the next run tries the same window again.
    pub fn failed(&self, now: i64) -> Self {
        Self {
            next_due_at: now,
            lease_until: 0,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn the_first_pass_is_due_and_covers_what_stripe_keeps() {
        let fresh = Watermark::default();
        assert!(fresh.is_due(NOW));
        assert_eq!(
            fresh.window(NOW),
            Window {
                created_gte: NOW - RETENTION_SECS,
                created_lte: NOW,
                starting_after: None
            }
        );
    }

    #[test]
    fn a_claimed_pass_is_not_due_for_anyone_else_until_its_lease_ends() {
        let claimed = Watermark::default().claimed(NOW);
        assert!(!claimed.is_due(NOW));
        assert!(!claimed.is_due(NOW + LEASE_SECS - 1));
        assert!(claimed.is_due(NOW + LEASE_SECS));
    }

    #[test]
    fn a_finished_pass_is_due_a_day_later_and_the_next_window_overlaps() {
        let first = Watermark::default();
        let window = first.window(NOW);
        let done = first.claimed(NOW).finished(&window, NOW + 5);
        assert!(!done.is_due(NOW + INTERVAL_SECS));
        assert!(done.is_due(NOW + 5 + INTERVAL_SECS));
        let later = NOW + 5 + INTERVAL_SECS;
        assert_eq!(
            done.window(later),
            Window {
                created_gte: NOW - OVERLAP_SECS,
                created_lte: later,
                starting_after: None
            }
        );
        // Months without a pass: still no further back than Stripe keeps events.
        let much_later = NOW + 90 * INTERVAL_SECS;
        assert_eq!(
            done.window(much_later).created_gte,
            much_later - RETENTION_SECS
        );
    }

    #[test]
    fn a_pass_cut_short_goes_on_with_the_same_window_on_the_next_run() {
        let first = Watermark::default();
        let window = first.window(NOW);
        let cut = first.claimed(NOW).cut_short(&window, "evt_9", NOW + 30);
        assert!(cut.is_due(NOW + 30));
        let rest = cut.window(NOW + 15 * 60);
        assert_eq!(rest.created_gte, window.created_gte);
        assert_eq!(rest.created_lte, NOW);
        assert_eq!(rest.starting_after.as_deref(), Some("evt_9"));
        let done = cut.claimed(NOW + 15 * 60).finished(&rest, NOW + 15 * 60);
        assert_eq!(done.covered_until, Some(NOW));
        assert_eq!(done.resume, None);
    }

    #[test]
    fn a_failed_pass_moves_nothing_and_is_due_again() {
        let cut = Watermark::default().cut_short(&Watermark::default().window(NOW), "evt_1", NOW);
        let failed = cut.claimed(NOW + 60).failed(NOW + 70);
        assert_eq!(failed.resume, cut.resume);
        assert_eq!(failed.covered_until, cut.covered_until);
        assert!(failed.is_due(NOW + 70));
    }
}
