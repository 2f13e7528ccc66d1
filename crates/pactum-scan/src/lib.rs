//! Pactum's personal-data scanner.
//!
//! This crate finds personal data (and secrets) in text, in delimited files
//! and in JSON documents, without models and without I/O beyond the readers
//! it is handed. It owns:
//!
//! * [`Scanner`]: the recogniser pipeline. One leftmost-first pass (a
//!   reverse DFA over the patterns' heads lists where candidates may start,
//!   the exact patterns are tried there) proposes candidates for every type; validators (Luhn and issuer
//!   ranges, IBAN mod-97 and country length, SSN and NINO numbering rules,
//!   libphonenumber metadata, calendar and age checks) decide what is
//!   reported; context words ("DOB", "phone", "token"...) raise scores or are
//!   required; a second pass finds person names with the bundled US Census
//!   name lists.
//! * [`Finding`] and [`PiiType`]: a type, a byte span and a score.
//! * [`FieldHint`] and [`ColumnProfile`]: what a column or key name says, and
//!   the per-column verdict (share of values per type, suggested data
//!   category). A database connector plugs in by calling
//!   [`Scanner::scan_field`] per cell and [`ColumnProfile::add`] per result.
//! * [`input`]: streaming readers for plain text (per line), CSV (per cell)
//!   and JSON / NDJSON (per key path), spreading chunks over threads.
//! * [`report`]: JSONL, JSON, SARIF and table output.
//! * [`drift`]: column verdicts of live datastores against the data map
//!   (used by `pactum drift`).
//!
//! ```
//! use pactum_scan::{PiiType, ScanOptions, Scanner};
//!
//! let scanner = Scanner::new(ScanOptions::default()).expect("built-in patterns compile");
//! let text = "Card 4111 1111 1111 1111 charged, order 4111 1111 1111 1112 refused";
//! let mut found = Vec::new();
//! scanner.scan(text.as_bytes(), &mut found);
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].kind, PiiType::CreditCard);
//! assert_eq!(&text[found[0].start..found[0].end], "4111 1111 1111 1111");
//! ```
//!
//! Invariants: the library does no network or database I/O and starts no
//! runtime; spans are byte offsets on character boundaries; findings never
//! cross a line break; memory use is bounded by the chunk size times the number
//! of threads, whatever the input size.

#![forbid(unsafe_code)]

mod column;
pub mod drift;
mod engine;
mod error;
mod heads;
mod hint;
pub mod input;
mod kind;
mod names;
mod phone;
pub mod report;
pub mod validate;

pub use column::{ColumnProfile, ColumnVerdict};
pub use engine::{ScanOptions, Scanner};
pub use error::ScanError;
pub use hint::FieldHint;
pub use kind::{Finding, PiiType};
