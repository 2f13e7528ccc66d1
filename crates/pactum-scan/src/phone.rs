//! Fast phone-number validity from libphonenumber's metadata.
//!
//! `phonenumber::parse` + `is_valid` cost tens of microseconds per call, most
//! of it in regex-cache lookups keyed by pattern strings. For a region whose
//! national numbers we already have as plain digits (the North American plan,
//! which needs no national-prefix handling), this module compiles the region's
//! descriptor patterns from the same metadata once and applies the same rule
//! as `phonenumber`'s validator: the general descriptor matches and at least
//! one number type (fixed line, mobile, toll free...) matches, each with its
//! possible lengths. A property test checks it against `phonenumber::is_valid`.

use regex_automata::meta::Regex;

/// Compiles an anchored metadata pattern. Only `is_match` is ever asked, so
/// the engines that report spans or captures are not built, nor a full DFA:
/// the lazy DFA builds the few states a 5-15 digit number walks through, and
/// skipping the full DFA halves the build time of all calling codes.
fn compile(pattern: &str) -> Option<Regex> {
    Regex::builder()
        // ASCII digits only: the metadata's `\d` would otherwise compile to
        // every Unicode digit, several times larger and slower to build.
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(
            Regex::config()
                .onepass(false)
                .backtrack(false)
                .dfa(false)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::None),
        )
        .build(&format!("^(?x:{pattern})"))
        .ok()
}

struct Desc {
    re: Regex,
    lengths: Vec<u16>,
}

impl Desc {
    fn new(d: &phonenumber::metadata::Descriptor) -> Option<Desc> {
        // The metadata patterns are written for `ignore_whitespace` mode, and
        // phonenumber accepts a match at the start (length is checked apart).
        let re = compile(d.national_number().as_str())?;
        Some(Desc {
            re,
            lengths: d.possible_length().to_vec(),
        })
    }

    fn matches(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.re.is_match(national)
    }
}

/// Validity of national numbers of one region.
struct RegionValidator {
    leading_digits: Option<Regex>,
    general: Desc,
    types: Vec<Desc>,
}

impl RegionValidator {
    fn new(meta: &phonenumber::Metadata) -> Option<RegionValidator> {
        let d = meta.descriptors();
        let general = Desc::new(d.general())?;
        // Only whether some type matches is asked ([`RegionValidator::has_type`]),
        // so the order is free: the types most numbers in text are of come
        // first, sparing most numbers the other types' searches.
        let types = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .map(Desc::new)
        .collect::<Option<Vec<Desc>>>()?;
        let leading_digits = match meta.leading_digits() {
            Some(p) => Some(compile(p.as_str())?),
            None => None,
        };
        Some(RegionValidator {
            leading_digits,
            general,
            types,
        })
    }

    /// phonenumber's `number_type(..) != Unknown`.
    fn has_type(&self, national: &str) -> bool {
        self.general.matches(national) && self.types.iter().any(|t| t.matches(national))
    }
}

/// Validity of national numbers of one country calling code, over all the
/// regions that share it (+1: the US, Canada and the Caribbean).
pub(crate) struct CountryValidator {
    regions: Vec<RegionValidator>,
}

impl CountryValidator {
    /// Builds the validator for a calling code such as 1; `None` if the
    /// metadata has no such code or a pattern does not compile.
    pub(crate) fn new(code: u16) -> Option<CountryValidator> {
        let db = &*phonenumber::metadata::DATABASE;
        let regions = db
            .region(&code)?
            .into_iter()
            .map(|id| db.by_id(id).and_then(RegionValidator::new))
            .collect::<Option<Vec<_>>>()?;
        Some(CountryValidator { regions })
    }

    /// True when the national number (digits only, no trunk prefix) is valid:
    /// the region is chosen as phonenumber's validator chooses it (leading
    /// digits, else the first region where the number has a type).
    pub(crate) fn is_valid(&self, national: &str) -> bool {
        if self.regions.len() == 1 {
            return self.regions[0].has_type(national);
        }
        for r in &self.regions {
            match &r.leading_digits {
                Some(ld) => {
                    if ld.is_match(national) {
                        return r.has_type(national);
                    }
                }
                None => {
                    if r.has_type(national) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// Highest E.164 country calling code (three digits).
const MAX_CALLING_CODE: u16 = 999;

/// Validators for international numbers (`+` followed by digits), one per
/// country calling code, all built when the scanner is built (about 30 ms for
/// the ~215 codes) and then only read, so threads share them without a lock
/// and the first number from a country costs no more than the next.
/// Unlike `phonenumber::parse`, it applies no national-prefix transform rules
/// beyond dropping one written trunk `0` ("+49 (0)30…").
pub(crate) struct International {
    /// Indexed by calling code; `None` where the metadata has no such code.
    by_code: Vec<Option<CountryValidator>>,
}

impl International {
    /// Builds the validators of every calling code in libphonenumber's
    /// metadata. A code whose patterns do not compile is left out (its
    /// numbers are then never valid), as the lazy lookup used to do.
    pub(crate) fn new() -> International {
        International {
            by_code: (0..=MAX_CALLING_CODE)
                .map(|code| (code > 0).then(|| CountryValidator::new(code)).flatten())
                .collect(),
        }
    }

    /// True when `digits` (calling code then national number, digits only) is
    /// a valid number. Calling codes are prefix-free (E.164), so the first
    /// one to three digits that form a known code identify the country.
    pub(crate) fn is_valid(&self, digits: &str) -> bool {
        for cc_len in 1..=3.min(digits.len()) {
            let Ok(code) = digits[..cc_len].parse::<usize>() else {
                return false;
            };
            if let Some(Some(v)) = self.by_code.get(code) {
                let national = &digits[cc_len..];
                // "+49 (0)30 ...": a trunk prefix written after the calling code.
                return v.is_valid(national)
                    || national.strip_prefix('0').is_some_and(|n| v.is_valid(n));
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn us() -> &'static CountryValidator {
        static US: OnceLock<CountryValidator> = OnceLock::new();
        US.get_or_init(|| CountryValidator::new(1).expect("+1 metadata"))
    }

    fn reference(national: &str) -> bool {
        phonenumber::parse(Some(phonenumber::country::Id::US), national)
            .map(|n| phonenumber::is_valid(&n))
            .unwrap_or(false)
    }

    #[test]
    fn known_numbers() {
        assert!(us().is_valid("2125550134"));
        assert!(us().is_valid("4155550199"));
        assert!(!us().is_valid("1125550134"));
        assert!(!us().is_valid("2121550134"));
        assert!(!us().is_valid("212555013"));
    }

    fn intl() -> &'static International {
        static I: OnceLock<International> = OnceLock::new();
        I.get_or_init(International::new)
    }

    fn reference_intl(digits: &str) -> bool {
        phonenumber::parse(None, format!("+{digits}"))
            .map(|n| phonenumber::is_valid(&n))
            .unwrap_or(false)
    }

    #[test]
    fn international_known_numbers() {
        let i = intl();
        assert!(i.is_valid("442079460958"));
        assert!(i.is_valid("493012345678"));
        assert!(i.is_valid("33142685300"));
        assert!(i.is_valid("12125550134"));
        assert!(!i.is_valid("4420794609"));
        assert!(!i.is_valid("999123456"));
    }

    proptest! {
        #[test]
        fn international_agrees_with_phonenumber(
            // Not +7: Russia's trunk prefix 8 is stripped by transform rules.
            cc in prop::sample::select(vec!["44", "49", "33", "1", "34", "39", "31", "61", "91", "81"]),
            // Numbers as written internationally: no trunk prefix after the code
            // (phonenumber also applies national prefix transform rules, which
            // this validator does not).
            national in "[1-9][0-9]{5,10}",
        ) {
            // NANP numbers have ten digits; phonenumber accepts some shorter
            // +1 numbers by the possible lengths of small regions.
            prop_assume!(cc != "1" || national.len() == 10);
            let digits = format!("{cc}{national}");
            prop_assert_eq!(intl().is_valid(&digits), reference_intl(&digits), "{}", digits);
        }

        #[test]
        fn agrees_with_phonenumber(n in "[2-9][0-9]{2}[2-9][0-9]{6}") {
            prop_assert_eq!(us().is_valid(&n), reference(&n), "{}", n);
        }
    }
}
