//! What a field's name says about its values.
//!
//! A CSV header, a JSON key or a database column name is an extra signal: a
//! `dob` column turns bare dates into dates of birth, a `name` column turns
//! capitalised words the dictionary does not know into person names. Content
//! still decides: a hint never creates a finding from a value of the wrong
//! shape.

use crate::PiiType;

/// The signal carried by a field name, computed once per column or key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldHint {
    /// The type the name announces, if any.
    pub expect: Option<PiiType>,
    /// The name announces a non-birth date (`signup_date`, `created_at`...):
    /// bare dates in it are never dates of birth.
    pub other_date: bool,
}

/// Splits a field name into lower-case words at `_`, `-`, `.`, spaces and
/// lower-to-upper case changes (`customerName` -> `customer name`).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl FieldHint {
    /// No signal: the value is scanned as free text.
    pub const NONE: FieldHint = FieldHint {
        expect: None,
        other_date: false,
    };

    /// Reads the signal from a field name such as `customer_email`, `DOB` or
    /// `billingAddress`. Unknown names give [`FieldHint::NONE`].
    pub fn from_name(name: &str) -> FieldHint {
        let w = words(name);
        let has = |k: &str| w.iter().any(|x| x == k);
        let joined = w.join("_");
        let any = |ks: &[&str]| ks.iter().any(|k| has(k) || joined == *k);
        let expect = if any(&["dob", "birthday", "birthdate", "born"])
            || (has("birth") && !has("place") && !has("country"))
        {
            Some(PiiType::DateOfBirth)
        } else if any(&["email", "e_mail", "mail", "emailaddress"]) {
            Some(PiiType::Email)
        } else if any(&[
            "phone",
            "tel",
            "telephone",
            "mobile",
            "cell",
            "fax",
            "msisdn",
        ]) {
            Some(PiiType::Phone)
        } else if any(&[
            "ip",
            "ipv4",
            "ipv6",
            "ip_address",
            "ipaddress",
            "remote_addr",
        ]) {
            Some(PiiType::IpAddress)
        } else if any(&["card", "cc", "pan", "creditcard"]) {
            Some(PiiType::CreditCard)
        } else if any(&["iban"]) {
            Some(PiiType::Iban)
        } else if any(&["ssn", "social"]) {
            Some(PiiType::UsSsn)
        } else if any(&["nino", "ni_number", "national_insurance"]) {
            Some(PiiType::UkNino)
        } else if any(&[
            "address",
            "addr",
            "street",
            "street_address",
            "mailing",
            "residence",
        ]) {
            Some(PiiType::Address)
        } else if any(&[
            "secret",
            "token",
            "api_key",
            "apikey",
            "password",
            "passwd",
            "credential",
            "key",
        ]) {
            Some(PiiType::Secret)
        } else if any(&[
            "name",
            "fullname",
            "firstname",
            "lastname",
            "surname",
            "forename",
            "given",
            "family",
            "person",
            "contact",
            "holder",
            "cardholder",
            "spouse",
        ]) {
            Some(PiiType::Person)
        } else {
            None
        };
        let other_date = expect.is_none()
            && any(&[
                "created",
                "updated",
                "modified",
                "signup",
                "signed",
                "joined",
                "since",
                "until",
                "expires",
                "expiry",
                "exp",
                "shipped",
                "ordered",
                "paid",
                "due",
                "timestamp",
                "ts",
                "at",
                "on",
                "last",
                "login",
                "date",
                "time",
                "start",
                "end",
            ]);
        FieldHint { expect, other_date }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expect: Option<PiiType>, other_date: bool) {
        let h = FieldHint::from_name(name);
        assert_eq!(h.expect, expect, "{name}");
        assert_eq!(h.other_date, other_date, "{name}");
    }

    #[test]
    fn names() {
        check("email", Some(PiiType::Email), false);
        check("customerEmail", Some(PiiType::Email), false);
        check("dob", Some(PiiType::DateOfBirth), false);
        check("date_of_birth", Some(PiiType::DateOfBirth), false);
        check("place_of_birth", None, false);
        check("name", Some(PiiType::Person), false);
        check("full-name", Some(PiiType::Person), false);
        check("phone", Some(PiiType::Phone), false);
        check("ip", Some(PiiType::IpAddress), false);
        check("card_number", Some(PiiType::CreditCard), false);
        check("iban", Some(PiiType::Iban), false);
        check("ssn", Some(PiiType::UsSsn), false);
        check("address", Some(PiiType::Address), false);
        check("api_key", Some(PiiType::Secret), false);
        check("signup_date", None, true);
        check("created_at", None, true);
        check("plan", None, false);
        check("balance", None, false);
        check("customer_id", None, false);
        check("", None, false);
    }
}
