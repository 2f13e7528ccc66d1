//! The crate's error type.

use std::path::PathBuf;

/// Why a scan could not continue. Malformed rows or values are not errors:
/// they are scanned as text or skipped and counted.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A built-in pattern failed to compile (a bug in this crate).
    #[error("cannot compile the recogniser patterns")]
    Pattern(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Reading the input failed.
    #[error("{}: cannot read input", path.display())]
    Read {
        /// The input's path (`-` for standard input).
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The CSV reader failed in a way that is not one bad row (I/O, encoding).
    #[error("{}: cannot parse CSV", path.display())]
    Csv {
        /// The input's path.
        path: PathBuf,
        /// The underlying CSV error.
        #[source]
        source: csv::Error,
    },
    /// A JSON document could not be parsed.
    #[error("{}: line {line}: cannot parse JSON", path.display())]
    Json {
        /// The input's path.
        path: PathBuf,
        /// 1-based line where the bad document starts.
        line: u64,
        /// The underlying JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing the report failed.
    #[error("cannot write the report")]
    Write(#[source] std::io::Error),
}
