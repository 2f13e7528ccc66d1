//! Documents generated from a Pactum data map: the published privacy notice and the GDPR Art. 30
//! record of processing activities.
//!
//! - [`notice::build`] turns a [`DataMap`](pactum_domain::model::DataMap) into a structured
//!   [`notice::Notice`] (sections of paragraphs, lists and tables), which [`markdown::render`] and
//!   [`html::render`] render and which serialises to JSON as it is.
//! - [`ropa::build`] derives the [`ropa::Ropa`] (controller record, Art. 30(1), and processor record,
//!   Art. 30(2)), which [`ropa::to_json`] and [`ropa::to_csv`] write out.
//!
//! ```
//! use pactum_domain::model::DataMap;
//!
//! let map = DataMap::default();
//! let notice = pactum_publish::notice::build(&map);
//! assert!(pactum_publish::html::render(&notice).starts_with("<!DOCTYPE html>"));
//! let ropa = pactum_publish::ropa::build(&map);
//! assert!(ropa.processor_record.is_empty());
//! ```
//!
//! **Architecture invariant:** this crate does no I/O; it takes a map and returns text.
//!
//! **Invariant:** nothing in a generated document is stated that the map does not declare. Each
//! sentence is driven by a map value; when the map is silent, the sentence or section is left out.
//! Callers should refuse to publish from a map that has errors: the documents assume a checked map.

mod derive;
pub mod html;
pub mod markdown;
pub mod notice;
pub mod ropa;
mod wording;

/// Why a document could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The CSV writer failed.
    #[error("cannot write the record as CSV")]
    Csv(#[from] csv::Error),
    /// The JSON serialiser failed.
    #[error("cannot write the document as JSON")]
    Json(#[source] serde_json::Error),
}

/// The notice as pretty-printed JSON.
pub fn notice_json(notice: &notice::Notice) -> Result<String, PublishError> {
    serde_json::to_string_pretty(notice).map_err(PublishError::Json)
}
