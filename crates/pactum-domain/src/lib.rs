//! Pactum's domain: the data map, the taxonomy, the regimes' rules and the promise checks.
//!
//! This crate is pure: no I/O, no async, no clocks. Loading a map from files is `pactum-mapfile`'s job;
//! this crate takes a [`model::DataMap`] and answers questions about it.
//!
//! ```
//! use pactum_domain::{check::check, model::DataMap};
//!
//! let diagnostics = check(&DataMap::default());
//! assert!(diagnostics.iter().any(|d| d.code == "missing-organisation"));
//! ```
//!
//! **Invariant:** [`check::check`] returns every problem it finds; it never panics on any map.

pub mod calendar;
pub mod catalog;
pub mod check;
pub mod deadline;
pub mod diagnostic;
pub mod model;
pub mod period;
pub mod rules;
pub mod taxonomy;
pub mod traversal;
