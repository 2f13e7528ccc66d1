//! How the map's enumerations read in a published document.
//!
//! One place for every fixed phrase, so the notice and the Art. 30 record word things the same way.

use pactum_domain::model::{
    LegalBasis, RecipientRole, Regime, RetentionAction, RetentionEvent, Role, Source,
    SpecialCondition, TransferMechanism,
};

/// A lawful basis as people read it, with its GDPR article.
pub(crate) fn legal_basis(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::Consent => "consent",
        LegalBasis::Contract => "performance of a contract",
        LegalBasis::LegalObligation => "compliance with a legal obligation",
        LegalBasis::VitalInterests => "protection of vital interests",
        LegalBasis::PublicTask => "a task in the public interest",
        LegalBasis::LegitimateInterests => "legitimate interests",
    }
}

/// The map-file spelling of a lawful basis (for machine-readable output).
pub(crate) fn legal_basis_key(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::Consent => "consent",
        LegalBasis::Contract => "contract",
        LegalBasis::LegalObligation => "legal_obligation",
        LegalBasis::VitalInterests => "vital_interests",
        LegalBasis::PublicTask => "public_task",
        LegalBasis::LegitimateInterests => "legitimate_interests",
    }
}

/// An Art. 9(2) condition as people read it.
pub(crate) fn special_condition(condition: SpecialCondition) -> &'static str {
    match condition {
        SpecialCondition::ExplicitConsent => "your explicit consent (GDPR Art. 9(2)(a))",
        SpecialCondition::EmploymentSocialSecurity => {
            "obligations in employment and social security law (GDPR Art. 9(2)(b))"
        }
        SpecialCondition::VitalInterests => "protection of vital interests (GDPR Art. 9(2)(c))",
        SpecialCondition::NotForProfitBody => {
            "the legitimate activities of a not-for-profit body (GDPR Art. 9(2)(d))"
        }
        SpecialCondition::MadePublic => "data you have manifestly made public (GDPR Art. 9(2)(e))",
        SpecialCondition::LegalClaims => "legal claims (GDPR Art. 9(2)(f))",
        SpecialCondition::SubstantialPublicInterest => {
            "substantial public interest (GDPR Art. 9(2)(g))"
        }
        SpecialCondition::HealthOrSocialCare => "health or social care (GDPR Art. 9(2)(h))",
        SpecialCondition::PublicHealth => "public health (GDPR Art. 9(2)(i))",
        SpecialCondition::ArchivingResearchStatistics => {
            "archiving, research or statistics (GDPR Art. 9(2)(j))"
        }
    }
}

/// Where data comes from, as people read it.
pub(crate) fn source(source: Source) -> &'static str {
    match source {
        Source::Direct => "provided by you",
        Source::Automatic => "collected automatically",
        Source::ThirdParty => "received from third parties",
    }
}

/// The map-file spelling of a source.
pub(crate) fn source_key(source: Source) -> &'static str {
    match source {
        Source::Direct => "direct",
        Source::Automatic => "automatic",
        Source::ThirdParty => "third_party",
    }
}

/// A recipient's role as people read it.
pub(crate) fn recipient_role(role: RecipientRole) -> &'static str {
    match role {
        RecipientRole::Processor => "processor",
        RecipientRole::Subprocessor => "subprocessor",
        RecipientRole::JointController => "joint controller",
        RecipientRole::ThirdParty => "third party",
        RecipientRole::PublicAuthority => "public authority",
    }
}

/// The organisation's role in an activity.
pub(crate) fn role_key(role: Role) -> &'static str {
    match role {
        Role::Controller => "controller",
        Role::JointController => "joint_controller",
        Role::Processor => "processor",
    }
}

/// A transfer safeguard as people read it.
pub(crate) fn mechanism(mechanism: TransferMechanism) -> &'static str {
    match mechanism {
        TransferMechanism::Adequacy => "adequacy decision",
        TransferMechanism::Sccs => "standard contractual clauses",
        TransferMechanism::Dpf => "EU-US Data Privacy Framework",
        TransferMechanism::Idta => "UK International Data Transfer Agreement or Addendum",
        TransferMechanism::Bcrs => "binding corporate rules",
        TransferMechanism::Derogation => "a derogation under GDPR Art. 49",
    }
}

/// The event a retention period counts from, as people read it.
pub(crate) fn retention_event(event: &RetentionEvent) -> String {
    match event {
        RetentionEvent::Creation => "creation of the record".to_owned(),
        RetentionEvent::LastContact => "our last contact with you".to_owned(),
        RetentionEvent::RelationshipEnd => "the end of our relationship".to_owned(),
        RetentionEvent::AccountClosure => "closure of the account".to_owned(),
        RetentionEvent::Field(field) => format!("the date recorded in {field}"),
    }
}

/// What happens when a retention period ends.
pub(crate) fn retention_action(action: RetentionAction) -> &'static str {
    match action {
        RetentionAction::Delete => "deleted",
        RetentionAction::Anonymise => "anonymised",
        RetentionAction::Review => "reviewed",
    }
}

/// The territory a regime's transfer rules protect, for "outside ..." sentences.
pub(crate) fn territory(regime: Regime) -> &'static str {
    match regime {
        Regime::Gdpr => "the European Economic Area",
        Regime::UkGdpr => "the United Kingdom",
        Regime::Ccpa => "the United States",
        Regime::Lgpd => "Brazil",
        Regime::Pipeda => "Canada",
    }
}

/// A retention period, normalised when it parses (`1 Year` becomes `1 year`).
pub(crate) fn period(text: &str) -> String {
    pactum_domain::period::Period::parse(text)
        .map(|p| p.to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// `2026-01-01` as `1 January 2026`; anything else unchanged.
pub(crate) fn date(iso: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    if !pactum_domain::check::is_iso_date(iso) {
        return iso.to_owned();
    }
    let month = iso
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)));
    let day = iso.get(8..10).and_then(|d| d.parse::<u32>().ok());
    match (iso.get(0..4), month, day) {
        (Some(year), Some(month), Some(day)) => format!("{day} {month} {year}"),
        _ => iso.to_owned(),
    }
}

/// Joins items as English prose: `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let head: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), last.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_lists() {
        assert_eq!(date("2026-01-01"), "1 January 2026");
        assert_eq!(date("2025-12-31"), "31 December 2025");
        assert_eq!(date("spring 2025"), "spring 2025");
        assert_eq!(and_list::<&str>(&[]), "");
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(and_list(&["a", "b"]), "a and b");
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
        assert_eq!(period("1 Year"), "1 year");
        assert_eq!(period("for ever"), "for ever");
    }
}
