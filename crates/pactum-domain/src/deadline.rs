//! Legal deadlines of a data-subject request, per regime, and the effective one.
//!
//! The rules are data ([`crate::rules::RegimeRules`]): the response period (calendar months or
//! days), the extension, whether the day of receipt counts, whether a deadline on a non-working day
//! moves, the acknowledgement period and the holiday calendar. This module only does the arithmetic.
//! It takes dates, never reads a clock: callers pass "received" from their own (injectable) clock.
//!
//! ```
//! use pactum_domain::deadline::deadlines;
//! use pactum_domain::model::Regime;
//! use time::{Date, Month};
//!
//! let received = Date::from_calendar_date(2026, Month::September, 3).unwrap();
//! let d = deadlines(&[Regime::UkGdpr], received, &|_| Some(30)).unwrap();
//! // One calendar month: 3 September -> 3 October; the promise of 30 days is the same day here.
//! assert_eq!(d.effective.to_string(), "2026-10-03");
//! ```

use time::{Date, Duration, Month};

use crate::model::Regime;
use crate::rules::{RegimeRules, Span, rules};

/// One regime's clocks for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegimeDeadline {
    pub regime: Regime,
    /// Receipt must be acknowledged by this day (CCPA).
    pub acknowledge_by: Option<Date>,
    /// The legal deadline for the substantive answer.
    pub legal: Date,
    /// The latest deadline after an extension, when the law allows one; the extension must be
    /// notified, with reasons, by [`RegimeDeadline::legal`].
    pub extended: Option<Date>,
    /// The organisation's own promise (from the map's `rights.response_days`), when it makes one.
    pub promised: Option<Date>,
}

impl RegimeDeadline {
    /// The earlier of the legal deadline and the promise.
    pub fn due(&self) -> Date {
        self.promised.map_or(self.legal, |p| p.min(self.legal))
    }
}

/// Every applicable regime's clocks and the effective deadline: the earliest of them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlines {
    pub per_regime: Vec<RegimeDeadline>,
    pub effective: Date,
    /// The regime whose clock sets the effective deadline.
    pub effective_regime: Regime,
}

/// Computes the deadlines of a request received on `received` under `regimes`; `promised_days`
/// gives the organisation's promised response time per regime. `None` when no regime applies.
pub fn deadlines(
    regimes: &[Regime],
    received: Date,
    promised_days: &dyn Fn(Regime) -> Option<u32>,
) -> Option<Deadlines> {
    let per_regime: Vec<RegimeDeadline> = regimes
        .iter()
        .map(|r| regime_deadline(rules(*r), received, promised_days(*r)))
        .collect();
    let first = per_regime.iter().min_by_key(|d| (d.due(), d.regime))?;
    Some(Deadlines {
        effective: first.due(),
        effective_regime: first.regime,
        per_regime: per_regime.clone(),
    })
}

fn regime_deadline(r: &RegimeRules, received: Date, promised: Option<u32>) -> RegimeDeadline {
    let end = |span: Span| -> Date {
        let raw = match span {
            Span::Months(n) => add_months(received, n),
            Span::Days(n) => {
                let n = if r.receipt_is_day_one {
                    n.saturating_sub(1)
                } else {
                    n
                };
                received.saturating_add(Duration::days(i64::from(n)))
            }
        };
        if r.moves_to_working_day {
            r.calendar.next_working_day(raw)
        } else {
            raw
        }
    };
    let legal = end(r.response);
    let extended = r.extension.map(|ext| match (r.response, ext) {
        // GDPR: "two further months" run from the original start date: three months in all (ICO).
        (Span::Months(a), Span::Months(b)) => end(Span::Months(a + b)),
        (Span::Days(a), Span::Days(b)) => end(Span::Days(a + b)),
        (first, second) => end(Span::Days(first.max_days() + second.max_days())),
    });
    RegimeDeadline {
        regime: r.regime,
        acknowledge_by: r
            .acknowledge_working_days
            .map(|n| r.calendar.add_working_days(received, n)),
        legal,
        extended,
        promised: promised.map(|n| received.saturating_add(Duration::days(i64::from(n)))),
    }
}

/// The same-numbered day `n` months later, or the last day of that month when it has no such day
/// (31 January + 1 month = 28 or 29 February).
pub fn add_months(day: Date, n: u32) -> Date {
    let months = day.month() as i32 - 1 + i32::try_from(n).unwrap_or(i32::MAX / 2);
    let year = day.year() + months.div_euclid(12);
    let month = Month::January.nth_next(u8::try_from(months.rem_euclid(12)).unwrap_or(0));
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, day.day().min(last)).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn legal(regime: Regime, received: Date) -> (Date, Option<Date>, Option<Date>) {
        let d = regime_deadline(rules(regime), received, None);
        (d.legal, d.extended, d.acknowledge_by)
    }

    #[test]
    fn month_arithmetic() {
        for (from, n, to) in [
            (date!(2026 - 09 - 03), 1, date!(2026 - 10 - 03)),
            (date!(2026 - 01 - 31), 1, date!(2026 - 02 - 28)),
            (date!(2028 - 01 - 31), 1, date!(2028 - 02 - 29)),
            (date!(2026 - 11 - 30), 3, date!(2027 - 02 - 28)),
            (date!(2026 - 12 - 15), 1, date!(2027 - 01 - 15)),
        ] {
            assert_eq!(add_months(from, n), to, "{from} + {n} months");
        }
    }

    /// Table of (regime, received, legal deadline, extended deadline, acknowledge by).
    #[test]
    fn deadlines_per_regime() {
        let cases = [
            // ICO's example: received 3 September, due 3 October (a Saturday in 2026 -> Monday 5th).
            (
                Regime::UkGdpr,
                date!(2026 - 09 - 03),
                date!(2026 - 10 - 05),
                Some(date!(2026 - 12 - 03)),
                None,
            ),
            // No 31 February: the last day of February; extension three months from the start.
            (
                Regime::Gdpr,
                date!(2026 - 01 - 31),
                date!(2026 - 03 - 02),
                Some(date!(2026 - 04 - 30)),
                None,
            ),
            // CCPA: receipt is day 1 of 45; 10 business days to acknowledge (Thanksgiving skipped).
            (
                Regime::Ccpa,
                date!(2026 - 11 - 20),
                date!(2027 - 01 - 03),
                Some(date!(2027 - 02 - 17)),
                Some(date!(2026 - 12 - 07)),
            ),
            (
                Regime::Lgpd,
                date!(2026 - 11 - 20),
                date!(2026 - 12 - 05),
                None,
                None,
            ),
            (
                Regime::Pipeda,
                date!(2026 - 11 - 20),
                date!(2026 - 12 - 20),
                Some(date!(2027 - 01 - 19)),
                None,
            ),
        ];
        for (regime, received, want_legal, want_ext, want_ack) in cases {
            assert_eq!(
                legal(regime, received),
                (want_legal, want_ext, want_ack),
                "{regime:?} received {received}"
            );
        }
    }

    #[test]
    fn effective_deadline_is_the_earliest_of_law_and_promise() {
        let received = date!(2026 - 11 - 20);
        let d = deadlines(&[Regime::Gdpr, Regime::Ccpa], received, &|_| Some(30)).expect("regimes");
        // GDPR: 20 December is a Sunday -> Monday 21st; the promise (30 days) is 20 December.
        assert_eq!(d.per_regime[0].legal, date!(2026 - 12 - 21));
        assert_eq!(d.effective, date!(2026 - 12 - 20));
        let d = deadlines(&[Regime::Gdpr, Regime::Lgpd], received, &|_| None).expect("regimes");
        assert_eq!(
            (d.effective, d.effective_regime),
            (date!(2026 - 12 - 05), Regime::Lgpd)
        );
        assert!(deadlines(&[], received, &|_| None).is_none());
    }
}
