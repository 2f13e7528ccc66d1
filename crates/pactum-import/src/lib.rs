//! Imports privacy resources written for other tools into a Pactum data map.
//!
//! Today one source is supported: [Fides](https://github.com/ethyca/fides) manifests (datasets,
//! systems, organization, taxonomy extensions and policies), through [`fides::import`]. An import
//! gives an [`fides::Import`]: the [`DataMap`] and a [`report::Report`] of everything the map could not hold,
//! approximated or inferred. [`write()`] writes the map as one YAML file per section, runs
//! `pactum check` on the result and writes `IMPORT-REPORT.md`, whose "to complete by hand" section
//! lists every diagnostic that remains.
//!
//! ```no_run
//! use std::path::Path;
//! let mut import = pactum_import::fides::import(
//!     &[Path::new("fides/dataset/postgres_example_test_dataset.yml")],
//!     &pactum_import::fides::Options::default(),
//! )?;
//! pactum_import::write(&mut import, Path::new("map"))?;
//! eprint!("{}", import.report.markdown());
//! # Ok::<(), pactum_import::ImportError>(())
//! ```
//!
//! **Invariants:** nothing the source states is dropped without a report entry; nothing the source
//! does not state is written into the map (no organisation, regime, legal basis, retention period or
//! erasure strategy is made up); the written map loads back to the same [`DataMap`].

#![forbid(unsafe_code)]

pub mod fides;
pub mod report;
mod write;

use std::fmt;
use std::path::PathBuf;

use pactum_domain::model::DataMap;

pub use write::{FILES, REPORT_FILE, write};

/// Why an import could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The source path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    /// A file or directory could not be read.
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The source directory holds no `.yml` or `.yaml` file.
    #[error("{path}: no .yml or .yaml files in this directory")]
    NoManifests { path: PathBuf },
    /// A file is larger than [`fides::MAX_FILE_BYTES`].
    #[error(
        "{path}: file is {bytes} bytes, more than the {} a manifest may be",
        fides::MAX_FILE_BYTES
    )]
    TooLarge { path: PathBuf, bytes: u64 },
    /// A file is not YAML, or does not have the shape of a Fides manifest.
    #[error("{path}: not a valid Fides manifest: {message}")]
    Parse { path: PathBuf, message: String },
    /// The input holds something Fides itself rejects; nothing was written.
    #[error("{}", Problem::lines(problems))]
    Rejected { problems: Vec<Problem> },
    /// The output directory already holds map files the import did not write.
    #[error(
        "{path}: already holds map files (`{file}`); the imported map would merge with them: choose an empty directory"
    )]
    OutputNotEmpty { path: PathBuf, file: String },
    /// A file of the map or the report could not be written.
    #[error("{path}: cannot write")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The map could not be serialised to YAML.
    #[error("cannot write section `{section}` as YAML: {message}")]
    Serialize {
        section: &'static str,
        message: String,
    },
    /// The written map could not be loaded back for checking.
    #[error("cannot load the written map back")]
    Load(#[source] pactum_mapfile::LoadError),
}

/// Something in the source that Fides would reject: the file, the resource, the field and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// E.g. "dataset `postgres_example_test_dataset`".
    pub resource: String,
    /// The collection and field (`customer.email`), declaration or rule, when the problem is that narrow.
    pub field: Option<String>,
    pub problem: String,
}

impl Problem {
    fn lines(problems: &[Problem]) -> String {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        lines.join("\n")
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.resource)?;
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Counts what a map holds, for the report.
pub(crate) fn summarise(map: &DataMap) -> report::Summary {
    let mut s = report::Summary {
        datastores: map.datastores.len(),
        systems: map.systems.len(),
        activities: map.activities.len(),
        purposes: map.purposes.len(),
        subjects: map.subjects.len(),
        categories: map.categories.len(),
        organisation: map.organisation.is_some(),
        ..report::Summary::default()
    };
    for ds in map.datastores.values() {
        s.collections += ds.collections.len();
        for coll in ds.collections.values() {
            s.fields += coll.fields.len();
            for field in coll.fields.values() {
                s.identities += usize::from(field.identity.is_some());
                s.references += field.references.len();
            }
        }
    }
    s
}
