//! Loads a Pactum data map from YAML files, with `file:line:col` diagnostics.
//!
//! A map is a directory of YAML files whose sections merge; every key is unique across files.
//! [`load_and_check`] returns the merged [`pactum_domain::model::DataMap`] together with *every*
//! problem found: YAML syntax, unknown keys (with "did you mean"), wrong types, duplicate keys across
//! files, and the domain's promise checks, each placed at the line and column a person would edit.
//!
//! ```
//! let loaded = pactum_mapfile::load_str("map.yml", "purposes:\n  support: {name: Support}\n");
//! let first = &loaded.diagnostics[0];
//! assert_eq!(first.code, "invalid-value"); // `description` is missing
//! print!("{}", pactum_mapfile::report::human(&loaded));
//! ```
//!
//! **Invariant:** loading never panics and never stops at the first problem; only I/O failures that
//! make going on impossible are `Err`.

#![forbid(unsafe_code)]

mod de;
mod load;
pub mod report;
pub mod yaml;

pub use load::{
    LoadError, Loaded, Located, MAX_FILE_BYTES, SourceFile, load, load_and_check, load_str,
    yaml_files,
};
