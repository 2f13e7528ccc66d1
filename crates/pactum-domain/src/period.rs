//! Retention periods written as words: `30 days`, `6 months`, `7 years`, `1 year`.

use std::fmt;

/// A unit of a retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Days,
    Weeks,
    Months,
    Years,
}

/// A parsed retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub count: u32,
    pub unit: Unit,
}

impl Period {
    /// Parses `N unit` where unit is day(s), week(s), month(s) or year(s).
    pub fn parse(text: &str) -> Result<Period, String> {
        let mut parts = text.split_whitespace();
        let (Some(count), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "expected a period such as `30 days` or `7 years`, found `{text}`"
            ));
        };
        let count: u32 = count
            .parse()
            .map_err(|_| format!("`{count}` is not a whole number of units"))?;
        let unit = match unit.to_ascii_lowercase().as_str() {
            "day" | "days" => Unit::Days,
            "week" | "weeks" => Unit::Weeks,
            "month" | "months" => Unit::Months,
            "year" | "years" => Unit::Years,
            other => {
                return Err(format!(
                    "unknown unit `{other}`: use days, weeks, months or years"
                ));
            }
        };
        if count == 0 {
            return Err("a retention period must be longer than zero".to_owned());
        }
        Ok(Period { count, unit })
    }

    /// An upper bound of the period in days, for comparisons (months as 31 days, years as 366).
    pub fn approx_days(self) -> u64 {
        let per = match self.unit {
            Unit::Days => 1,
            Unit::Weeks => 7,
            Unit::Months => 31,
            Unit::Years => 366,
        };
        u64::from(self.count) * per
    }
}

impl Period {
    /// The day this period ends when it starts on `start` (months and years by the calendar).
    pub fn after(self, start: time::Date) -> time::Date {
        let days = |n: u32| start.saturating_add(time::Duration::days(i64::from(n)));
        match self.unit {
            Unit::Days => days(self.count),
            Unit::Weeks => days(self.count * 7),
            Unit::Months => crate::deadline::add_months(start, self.count),
            Unit::Years => crate::deadline::add_months(start, self.count * 12),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = match self.unit {
            Unit::Days => ("day", "days"),
            Unit::Weeks => ("week", "weeks"),
            Unit::Months => ("month", "months"),
            Unit::Years => ("year", "years"),
        };
        write!(
            f,
            "{} {}",
            self.count,
            if self.count == 1 { one } else { many }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (text, shown) in [
            ("30 days", "30 days"),
            ("1 Year", "1 year"),
            ("6 months", "6 months"),
            ("2 weeks", "2 weeks"),
        ] {
            assert_eq!(
                Period::parse(text).map(|p| p.to_string()).as_deref(),
                Ok(shown)
            );
        }
        for bad in [
            "",
            "7",
            "seven years",
            "3 fortnights",
            "0 days",
            "1 day extra",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(
            Period::parse("7 years").map(|p| p.approx_days())
                > Period::parse("6 years").map(|p| p.approx_days())
        );
    }
}
