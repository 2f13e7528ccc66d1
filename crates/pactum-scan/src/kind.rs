//! The kinds of personal data the scanner recognises.

use std::fmt;

/// A kind of personal data (or secret) a finding is about.
///
/// The names printed by [`PiiType::name`] are the benchmark's canonical type
/// names and the values of the `type` key in JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiType {
    /// An e-mail address.
    Email,
    /// A telephone number valid in its numbering plan.
    Phone,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A payment card number (issuer range and Luhn check).
    CreditCard,
    /// An international bank account number (mod-97 and country length).
    Iban,
    /// A US Social Security number.
    UsSsn,
    /// A UK National Insurance number.
    UkNino,
    /// A date that is somebody's date of birth (from context).
    DateOfBirth,
    /// A postal address (US or UK shape).
    Address,
    /// A person's name.
    Person,
    /// A credential: API key, token or private key.
    Secret,
}

impl PiiType {
    /// Every type, in output order.
    pub const ALL: [PiiType; 11] = [
        PiiType::Email,
        PiiType::Phone,
        PiiType::IpAddress,
        PiiType::CreditCard,
        PiiType::Iban,
        PiiType::UsSsn,
        PiiType::UkNino,
        PiiType::DateOfBirth,
        PiiType::Address,
        PiiType::Person,
        PiiType::Secret,
    ];

    /// The canonical upper-case name, such as `CREDIT_CARD`.
    pub fn name(self) -> &'static str {
        match self {
            PiiType::Email => "EMAIL",
            PiiType::Phone => "PHONE",
            PiiType::IpAddress => "IP_ADDRESS",
            PiiType::CreditCard => "CREDIT_CARD",
            PiiType::Iban => "IBAN",
            PiiType::UsSsn => "US_SSN",
            PiiType::UkNino => "UK_NINO",
            PiiType::DateOfBirth => "DATE_OF_BIRTH",
            PiiType::Address => "ADDRESS",
            PiiType::Person => "PERSON",
            PiiType::Secret => "SECRET",
        }
    }

    /// Parses a canonical name (case-insensitive).
    pub fn from_name(s: &str) -> Option<PiiType> {
        PiiType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }

    /// The fideslang-style data category key this type suggests, such as
    /// `user.contact.email`.
    pub fn category(self) -> &'static str {
        match self {
            PiiType::Email => "user.contact.email",
            PiiType::Phone => "user.contact.phone_number",
            PiiType::IpAddress => "user.device.ip_address",
            PiiType::CreditCard => "user.financial.credit_card",
            PiiType::Iban => "user.financial.bank_account",
            PiiType::UsSsn | PiiType::UkNino => "user.government_id.national_identification_number",
            PiiType::DateOfBirth => "user.demographic.date_of_birth",
            PiiType::Address => "user.contact.address",
            PiiType::Person => "user.name",
            PiiType::Secret => "user.authorization.credentials",
        }
    }

    /// Index of this type in [`PiiType::ALL`], for per-type counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for PiiType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One detection: a type, a byte span in the scanned text, and a score.
///
/// Invariant: `start < end`, and both lie on UTF-8 character boundaries of the
/// text that was scanned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    /// What was found.
    pub kind: PiiType,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Confidence in `0.0..=1.0`; validators and context words move it.
    pub score: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in PiiType::ALL {
            assert_eq!(PiiType::from_name(t.name()), Some(t));
            assert_eq!(PiiType::ALL[t.index()], t);
        }
        assert_eq!(PiiType::from_name("person"), Some(PiiType::Person));
        assert_eq!(PiiType::from_name("NOPE"), None);
    }
}
