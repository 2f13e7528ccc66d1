//! Column verdicts: what a column (or JSON key path) holds, from its values.

use serde::Serialize;

use crate::hint::FieldHint;
use crate::{Finding, PiiType};

/// Minimum share of non-empty values of one type for a column verdict.
const VERDICT_SHARE: f64 = 0.3;
/// With a matching header signal, a lower share is enough.
const VERDICT_SHARE_WITH_HEADER: f64 = 0.1;

/// Running counts for one column: feed it every value with
/// [`ColumnProfile::add`], then ask for [`ColumnProfile::verdict`]. Profiles of
/// the same column built on different threads combine with
/// [`ColumnProfile::merge`].
#[derive(Debug, Clone)]
pub struct ColumnProfile {
    name: String,
    hint: FieldHint,
    values: u64,
    non_empty: u64,
    hits: [u64; PiiType::ALL.len()],
}

/// The verdict on one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnVerdict {
    /// The column name (CSV header, JSON key path, database column).
    pub column: String,
    /// Values seen, empty ones included.
    pub values: u64,
    /// Values that were not empty or blank.
    pub non_empty: u64,
    /// Share of non-empty values with at least one finding of each type,
    /// largest first (types never seen are left out).
    pub shares: Vec<TypeShare>,
    /// The type the column name announces, if any.
    pub header_signal: Option<&'static str>,
    /// The type the column holds: the most frequent type if it reaches 30% of
    /// non-empty values (10% when the header announces that type).
    #[serde(rename = "type")]
    pub kind: Option<&'static str>,
    /// Suggested data category key from the taxonomy, such as `user.contact.email`.
    pub category: Option<&'static str>,
}

/// One type's share of a column's non-empty values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeShare {
    /// Canonical type name.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Share in `0.0..=1.0`.
    pub share: f64,
}

impl ColumnProfile {
    /// A fresh profile; the name is read for its hint once, here.
    pub fn new(name: &str) -> ColumnProfile {
        ColumnProfile {
            name: name.to_owned(),
            hint: FieldHint::from_name(name),
            values: 0,
            non_empty: 0,
            hits: [0; PiiType::ALL.len()],
        }
    }

    /// The hint the column name gives; pass it to [`crate::Scanner::scan_field`].
    pub fn hint(&self) -> &FieldHint {
        &self.hint
    }

    /// Reports the profile under another name (a JSON key path) while keeping
    /// the hint read from the original name.
    pub(crate) fn rename(&mut self, name: &str) {
        self.name = name.to_owned();
    }

    /// The column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Records one value and the findings the scanner reported in it.
    pub fn add(&mut self, value: &[u8], findings: &[Finding]) {
        self.values += 1;
        if value.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.non_empty += 1;
        let mut seen = [false; PiiType::ALL.len()];
        for f in findings {
            seen[f.kind.index()] = true;
        }
        for (h, s) in self.hits.iter_mut().zip(seen) {
            *h += u64::from(s);
        }
    }

    /// Adds the counts of another profile of the same column.
    pub fn merge(&mut self, other: &ColumnProfile) {
        self.values += other.values;
        self.non_empty += other.non_empty;
        for (h, o) in self.hits.iter_mut().zip(other.hits) {
            *h += o;
        }
    }

    /// The verdict from the counts so far.
    pub fn verdict(&self) -> ColumnVerdict {
        let mut shares: Vec<TypeShare> = PiiType::ALL
            .iter()
            .filter(|t| self.hits[t.index()] > 0 && self.non_empty > 0)
            .map(|t| TypeShare {
                kind: t.name(),
                share: self.hits[t.index()] as f64 / self.non_empty as f64,
            })
            .collect();
        shares.sort_by(|a, b| b.share.total_cmp(&a.share));
        let header = self.hint.expect;
        let kind = shares.first().and_then(|top| {
            let t = PiiType::from_name(top.kind)?;
            let need = if header == Some(t) {
                VERDICT_SHARE_WITH_HEADER
            } else {
                VERDICT_SHARE
            };
            (top.share >= need).then_some(t)
        });
        ColumnVerdict {
            column: self.name.clone(),
            values: self.values,
            non_empty: self.non_empty,
            shares,
            header_signal: header.map(PiiType::name),
            kind: kind.map(PiiType::name),
            category: kind.map(PiiType::category),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: PiiType) -> Finding {
        Finding {
            kind,
            start: 0,
            end: 1,
            score: 0.9,
        }
    }

    #[test]
    fn verdict_from_shares() {
        let mut p = ColumnProfile::new("contact");
        for i in 0..10 {
            let fs = if i < 4 {
                vec![f(PiiType::Email)]
            } else {
                vec![]
            };
            p.add(b"x", &fs);
        }
        p.add(b"  ", &[]);
        let v = p.verdict();
        assert_eq!(v.values, 11);
        assert_eq!(v.non_empty, 10);
        assert_eq!(v.kind, Some("EMAIL"));
        assert_eq!(v.category, Some("user.contact.email"));
        assert_eq!(v.header_signal, Some("PERSON"));
    }

    #[test]
    fn weak_share_needs_header() {
        let mut a = ColumnProfile::new("notes");
        let mut b = ColumnProfile::new("email");
        for i in 0..10 {
            let fs = if i < 2 {
                vec![f(PiiType::Email)]
            } else {
                vec![]
            };
            a.add(b"x", &fs);
            b.add(b"x", &fs);
        }
        assert_eq!(a.verdict().kind, None);
        assert_eq!(b.verdict().kind, Some("EMAIL"));
        let mut m = ColumnProfile::new("email");
        m.merge(&b);
        m.merge(&b);
        assert_eq!(m.verdict().values, 20);
    }
}
