//! The regimes' rules as data: response deadlines, rights, territories and adequacy.
//!
//! Sources: `privacy-rules.md` §1 (deadlines and rights per regime) and the European Commission's and
//! UK's adequacy lists. Rules live here, in one table, so that checks, notices and (later) the deadline
//! engine read the same numbers.

use crate::calendar::Calendar;
use crate::model::{Regime, Right};

/// A response deadline: a number of calendar days, or of calendar months (GDPR "one month").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Days(u32),
    Months(u32),
}

impl Span {
    /// The longest this span can be in days (a month can be 31 days).
    pub fn max_days(self) -> u32 {
        match self {
            Span::Days(d) => d,
            Span::Months(m) => m * 31,
        }
    }

    /// Human wording: "one month", "45 days".
    pub fn describe(self) -> String {
        match self {
            Span::Days(d) => format!("{d} days"),
            Span::Months(1) => "one month".to_owned(),
            Span::Months(m) => format!("{m} months"),
        }
    }
}

/// What a regime requires of request handling.
#[derive(Debug, Clone, Copy)]
pub struct RegimeRules {
    pub regime: Regime,
    /// Full name of the law.
    pub name: &'static str,
    /// Short label for headings.
    pub label: &'static str,
    /// Longest time allowed for a substantive response.
    pub response: Span,
    /// Extension allowed on top, with notice.
    pub extension: Option<Span>,
    /// Rights the law grants.
    pub rights: &'static [Right],
    /// ISO country codes of the territory the law protects (data leaving it is a transfer).
    pub territory: &'static [&'static str],
    /// Destinations with an adequacy decision for transfers out of the territory.
    pub adequate: &'static [&'static str],
    /// True when the law has lawful bases for processing that each purpose must name.
    pub needs_legal_basis: bool,
    /// True when the day of receipt counts as day one (CCPA, conservatively); otherwise the period
    /// starts the day after (EU Regulation 1182/71, ICO practice, PIPEDA "within 30 days after").
    pub receipt_is_day_one: bool,
    /// True when a period ending on a weekend or public holiday runs to the next working day.
    pub moves_to_working_day: bool,
    /// Working days within which receipt must be acknowledged (CCPA: 10 business days).
    pub acknowledge_working_days: Option<u32>,
    /// Whose public holidays count. EU member states' holidays vary; weekends only is the default
    /// there, which never makes a deadline later than the law's.
    pub calendar: Calendar,
}

const EEA: &[&str] = &[
    "EU", "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// Countries with an EU adequacy decision (the US only for DPF-certified recipients, so not listed).
const EU_ADEQUATE: &[&str] = &[
    "AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "UY", "BR",
];

/// Countries covered by UK adequacy regulations (the EEA plus the EU's list, as of 2026).
const UK_ADEQUATE: &[&str] = &[
    "EU", "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "AD",
    "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "UY",
];

const GDPR_RIGHTS: &[Right] = &[
    Right::Access,
    Right::Rectification,
    Right::Erasure,
    Right::Restriction,
    Right::Portability,
    Right::Objection,
    Right::WithdrawConsent,
    Right::AutomatedDecisions,
    Right::Complain,
];

const CCPA_RIGHTS: &[Right] = &[
    Right::Know,
    Right::Delete,
    Right::Correct,
    Right::OptOutSaleSharing,
    Right::LimitSensitive,
    Right::NonDiscrimination,
];

const LGPD_RIGHTS: &[Right] = &[
    Right::Confirmation,
    Right::Access,
    Right::Correct,
    Right::Anonymisation,
    Right::Portability,
    Right::Delete,
    Right::InformationOnSharing,
    Right::WithdrawConsent,
    Right::Complain,
];

const PIPEDA_RIGHTS: &[Right] = &[
    Right::Access,
    Right::Correct,
    Right::WithdrawConsent,
    Right::Complain,
];

static RULES: [RegimeRules; 5] = [
    RegimeRules {
        regime: Regime::Gdpr,
        name: "EU General Data Protection Regulation (GDPR)",
        label: "EU GDPR",
        response: Span::Months(1),
        extension: Some(Span::Months(2)),
        rights: GDPR_RIGHTS,
        territory: EEA,
        adequate: EU_ADEQUATE,
        needs_legal_basis: true,
        receipt_is_day_one: false,
        moves_to_working_day: true,
        acknowledge_working_days: None,
        calendar: Calendar::WeekendsOnly,
    },
    RegimeRules {
        regime: Regime::UkGdpr,
        name: "UK GDPR and the Data Protection Act 2018",
        label: "UK GDPR",
        response: Span::Months(1),
        extension: Some(Span::Months(2)),
        rights: GDPR_RIGHTS,
        territory: &["GB"],
        adequate: UK_ADEQUATE,
        needs_legal_basis: true,
        receipt_is_day_one: false,
        moves_to_working_day: true,
        acknowledge_working_days: None,
        calendar: Calendar::EnglandWales,
    },
    RegimeRules {
        regime: Regime::Ccpa,
        name: "California Consumer Privacy Act, as amended by the CPRA (CCPA)",
        label: "California (CCPA)",
        response: Span::Days(45),
        extension: Some(Span::Days(45)),
        rights: CCPA_RIGHTS,
        territory: &["US"],
        adequate: &[],
        needs_legal_basis: false,
        receipt_is_day_one: true,
        moves_to_working_day: false,
        acknowledge_working_days: Some(10),
        calendar: Calendar::UsFederal,
    },
    RegimeRules {
        regime: Regime::Lgpd,
        name: "Brazil's General Data Protection Law (LGPD)",
        label: "Brazil (LGPD)",
        response: Span::Days(15),
        extension: None,
        rights: LGPD_RIGHTS,
        territory: &["BR"],
        adequate: &[],
        needs_legal_basis: true,
        receipt_is_day_one: false,
        moves_to_working_day: false,
        acknowledge_working_days: None,
        calendar: Calendar::WeekendsOnly,
    },
    RegimeRules {
        regime: Regime::Pipeda,
        name: "Canada's Personal Information Protection and Electronic Documents Act (PIPEDA)",
        label: "Canada (PIPEDA)",
        response: Span::Days(30),
        extension: Some(Span::Days(30)),
        rights: PIPEDA_RIGHTS,
        territory: &["CA"],
        adequate: &[],
        needs_legal_basis: false,
        receipt_is_day_one: false,
        moves_to_working_day: false,
        acknowledge_working_days: None,
        calendar: Calendar::WeekendsOnly,
    },
];

/// The rules of one regime.
pub fn rules(regime: Regime) -> &'static RegimeRules {
    RULES
        .iter()
        .find(|r| r.regime == regime)
        .expect("every regime has a row in RULES")
}

impl RegimeRules {
    /// True when sending data to `country` is an international transfer under this regime.
    pub fn is_transfer(&self, country: &str) -> bool {
        // Laws without transfer-adequacy rules in our model (CCPA, PIPEDA) never flag transfers.
        !self.adequate.is_empty() && !self.territory.contains(&country)
    }

    /// True when `country` has an adequacy decision under this regime.
    pub fn is_adequate(&self, country: &str) -> bool {
        self.adequate.contains(&country) || self.territory.contains(&country)
    }
}

/// A right's name as people read it.
pub fn right_label(right: Right) -> &'static str {
    match right {
        Right::Access => "Access your personal data and get a copy",
        Right::Portability => "Receive your data in a portable, machine-readable format",
        Right::Rectification => "Have inaccurate data corrected",
        Right::Erasure => "Have your data erased",
        Right::Restriction => "Restrict how we use your data",
        Right::Objection => {
            "Object to processing based on legitimate interests or for direct marketing"
        }
        Right::WithdrawConsent => "Withdraw consent at any time",
        Right::AutomatedDecisions => {
            "Not be subject to solely automated decisions with legal or similar effects"
        }
        Right::Complain => "Complain to a supervisory authority",
        Right::Know => "Know what personal information we collect, use and disclose",
        Right::Delete => "Delete personal information we collected from you",
        Right::Correct => "Correct inaccurate personal information",
        Right::OptOutSaleSharing => "Opt out of the sale or sharing of personal information",
        Right::LimitSensitive => "Limit the use of sensitive personal information",
        Right::NonDiscrimination => "Not be discriminated against for exercising your rights",
        Right::Confirmation => "Confirm whether we process your data",
        Right::Anonymisation => "Have unnecessary or excessive data anonymised, blocked or deleted",
        Right::InformationOnSharing => "Know with whom we share your data",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_regime_has_rules() {
        for regime in Regime::ALL {
            assert_eq!(rules(regime).regime, regime);
        }
        assert_eq!(rules(Regime::Ccpa).response.max_days(), 45);
        assert_eq!(rules(Regime::Gdpr).response.max_days(), 31);
    }

    #[test]
    fn transfers() {
        let gdpr = rules(Regime::Gdpr);
        assert!(gdpr.is_transfer("US"));
        assert!(!gdpr.is_adequate("US"));
        assert!(gdpr.is_adequate("JP"));
        assert!(!gdpr.is_transfer("DE"));
        assert!(!rules(Regime::Ccpa).is_transfer("IN"));
    }
}
