//! Working days: weekends and public holidays, for deadlines that move off non-working days.
//!
//! Holiday calendars are computed from their rules (fixed dates, "first Monday of", Easter), so they
//! hold for any year without a table to keep up to date.

use time::{Date, Duration, Month, Weekday};

/// Which public holidays a deadline skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    /// Weekends only.
    WeekendsOnly,
    /// US federal holidays (5 U.S.C. 6103), with Saturday/Sunday observance shifts.
    UsFederal,
    /// Bank holidays of England and Wales, with substitute days.
    EnglandWales,
}

impl Calendar {
    /// True when `day` is a Saturday, Sunday or public holiday.
    pub fn is_non_working(self, day: Date) -> bool {
        matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) || self.is_holiday(day)
    }

    /// True when `day` is a public holiday (as observed).
    pub fn is_holiday(self, day: Date) -> bool {
        match self {
            Calendar::WeekendsOnly => false,
            Calendar::UsFederal => us_federal(day.year()).contains(&day),
            Calendar::EnglandWales => england_wales(day.year()).contains(&day),
        }
    }

    /// `day` itself when it is a working day, otherwise the next working day.
    pub fn next_working_day(self, mut day: Date) -> Date {
        while self.is_non_working(day) {
            day = day.next_day().unwrap_or(day);
        }
        day
    }

    /// The day `n` working days after `start` (`start` itself is not counted).
    pub fn add_working_days(self, start: Date, n: u32) -> Date {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            day = day.next_day().unwrap_or(day);
            if !self.is_non_working(day) {
                left -= 1;
            }
        }
        day
    }
}

fn date(year: i32, month: Month, day: u8) -> Option<Date> {
    Date::from_calendar_date(year, month, day).ok()
}

/// The `n`th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: Month, weekday: Weekday, n: u8) -> Option<Date> {
    let first = date(year, month, 1)?;
    let offset =
        (7 + weekday.number_days_from_monday() - first.weekday().number_days_from_monday()) % 7;
    first.checked_add(Duration::days(i64::from(offset) + 7 * i64::from(n - 1)))
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: Month, weekday: Weekday) -> Option<Date> {
    let next_month_first = match month {
        Month::December => date(year + 1, Month::January, 1)?,
        m => date(year, m.next(), 1)?,
    };
    let mut day = next_month_first.previous_day()?;
    while day.weekday() != weekday {
        day = day.previous_day()?;
    }
    Some(day)
}

/// A fixed-date US holiday falling on a weekend is observed on the Friday before or the Monday after.
fn us_observed(day: Date) -> Date {
    match day.weekday() {
        Weekday::Saturday => day.previous_day().unwrap_or(day),
        Weekday::Sunday => day.next_day().unwrap_or(day),
        _ => day,
    }
}

fn us_federal(year: i32) -> Vec<Date> {
    let fixed = [
        date(year, Month::January, 1),
        date(year, Month::June, 19),
        date(year, Month::July, 4),
        date(year, Month::November, 11),
        date(year, Month::December, 25),
    ];
    let floating = [
        nth_weekday(year, Month::January, Weekday::Monday, 3),
        nth_weekday(year, Month::February, Weekday::Monday, 3),
        last_weekday(year, Month::May, Weekday::Monday),
        nth_weekday(year, Month::September, Weekday::Monday, 1),
        nth_weekday(year, Month::October, Weekday::Monday, 2),
        nth_weekday(year, Month::November, Weekday::Thursday, 4),
    ];
    let mut days: Vec<Date> = fixed.into_iter().flatten().map(us_observed).collect();
    days.extend(floating.into_iter().flatten());
    // New Year's Day of the next year observed on 31 December of this one.
    if let Some(next) = date(year + 1, Month::January, 1).map(us_observed)
        && next.year() == year
    {
        days.push(next);
    }
    days
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
pub fn easter(year: i32) -> Option<Date> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    date(year, month, u8::try_from(day).ok()?)
}

fn england_wales(year: i32) -> Vec<Date> {
    let mut days = Vec::new();
    let easter = easter(year);
    days.extend(easter.and_then(|e| e.checked_sub(Duration::days(2)))); // Good Friday
    days.extend(easter.and_then(|e| e.checked_add(Duration::days(1)))); // Easter Monday
    days.extend(nth_weekday(year, Month::May, Weekday::Monday, 1));
    days.extend(last_weekday(year, Month::May, Weekday::Monday));
    days.extend(last_weekday(year, Month::August, Weekday::Monday));
    // New Year's Day: a weekend day is replaced by the next Monday.
    if let Some(ny) = date(year, Month::January, 1) {
        days.push(match ny.weekday() {
            Weekday::Saturday => ny.checked_add(Duration::days(2)).unwrap_or(ny),
            Weekday::Sunday => ny.next_day().unwrap_or(ny),
            _ => ny,
        });
    }
    // Christmas and Boxing Day, with substitute days when they fall at a weekend.
    if let (Some(xmas), Some(boxing)) = (
        date(year, Month::December, 25),
        date(year, Month::December, 26),
    ) {
        let (a, b) = match xmas.weekday() {
            Weekday::Friday => (xmas, xmas.checked_add(Duration::days(3))),
            Weekday::Saturday => (
                xmas.checked_add(Duration::days(2)).unwrap_or(xmas),
                xmas.checked_add(Duration::days(3)),
            ),
            Weekday::Sunday => (
                xmas.checked_add(Duration::days(2)).unwrap_or(xmas),
                Some(boxing),
            ),
            _ => (xmas, Some(boxing)),
        };
        days.push(a);
        days.extend(b);
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn easter_dates() {
        for (year, want) in [
            (2024, date!(2024 - 03 - 31)),
            (2025, date!(2025 - 04 - 20)),
            (2026, date!(2026 - 04 - 05)),
            (2027, date!(2027 - 03 - 28)),
        ] {
            assert_eq!(easter(year), Some(want));
        }
    }

    #[test]
    fn us_federal_holidays_2026() {
        let c = Calendar::UsFederal;
        for day in [
            date!(2026 - 01 - 01),
            date!(2026 - 01 - 19),
            date!(2026 - 02 - 16),
            date!(2026 - 05 - 25),
            date!(2026 - 06 - 19),
            date!(2026 - 07 - 03), // 4 July is a Saturday: observed Friday
            date!(2026 - 09 - 07),
            date!(2026 - 10 - 12),
            date!(2026 - 11 - 11),
            date!(2026 - 11 - 26),
            date!(2026 - 12 - 25),
        ] {
            assert!(c.is_holiday(day), "{day}");
        }
        assert!(!c.is_holiday(date!(2026 - 07 - 06)));
    }

    #[test]
    fn england_wales_bank_holidays_2026() {
        let c = Calendar::EnglandWales;
        for day in [
            date!(2026 - 01 - 01),
            date!(2026 - 04 - 03),
            date!(2026 - 04 - 06),
            date!(2026 - 05 - 04),
            date!(2026 - 05 - 25),
            date!(2026 - 08 - 31),
            date!(2026 - 12 - 25),
            date!(2026 - 12 - 28), // Boxing Day is a Saturday: substitute Monday
        ] {
            assert!(c.is_holiday(day), "{day}");
        }
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let c = Calendar::UsFederal;
        // Wednesday 25 Nov 2026 + 1 working day skips Thanksgiving (26th) -> Friday 27th.
        assert_eq!(
            c.add_working_days(date!(2026 - 11 - 25), 1),
            date!(2026 - 11 - 27)
        );
        // 10 business days from Friday 27 Nov 2026.
        assert_eq!(
            c.add_working_days(date!(2026 - 11 - 27), 10),
            date!(2026 - 12 - 11)
        );
        assert_eq!(
            Calendar::WeekendsOnly.next_working_day(date!(2026 - 11 - 28)),
            date!(2026 - 11 - 30)
        );
    }
}
