//! The import report: everything an import could not carry over, approximated or guessed, and
//! everything left to complete by hand.
//!
//! **Invariant:** whatever a source holds that the written map does not is an [`Entry`] here.

use std::fmt::Write as _;

/// What kind of note an [`Entry`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    /// The source says something a Pactum map has no place for; it is not in the map.
    NotRepresented,
    /// Carried over, but with a loss of precision (e.g. a custom identity written as `external_id`).
    Approximated,
    /// Not stated by the source: the importer derived it (a connector kind, an environment variable name).
    Inferred,
    /// Missing from the source, needed by a complete map: a person must add it.
    ToComplete,
}

impl EntryKind {
    /// The report section this kind of entry is listed under.
    pub fn heading(self) -> &'static str {
        match self {
            EntryKind::NotRepresented => "Not represented in the map",
            EntryKind::Approximated => "Approximated",
            EntryKind::Inferred => "Inferred by the importer",
            EntryKind::ToComplete => "To complete by hand",
        }
    }
}

/// One note: about which resource, what, and (for grouped notes) the items it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// The source resource, e.g. "dataset `postgres_example_test_dataset`".
    pub resource: String,
    pub message: String,
    /// Fields or keys the note applies to, e.g. `customer.email`; empty for single notes.
    pub items: Vec<String>,
}

impl Entry {
    /// The entry as one line of text.
    pub fn line(&self) -> String {
        let mut line = format!("{}: {}", self.resource, self.message);
        if !self.items.is_empty() {
            let items: Vec<String> = self.items.iter().map(|i| format!("`{i}`")).collect();
            let _ = write!(line, ": {}", items.join(", "));
        }
        line
    }
}

/// What an import produced, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub datastores: usize,
    pub collections: usize,
    pub fields: usize,
    pub identities: usize,
    pub references: usize,
    pub systems: usize,
    pub activities: usize,
    pub purposes: usize,
    pub subjects: usize,
    pub categories: usize,
    pub organisation: bool,
}

/// The report of one import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The source files, as given.
    pub sources: Vec<String>,
    /// Notes in the order they were made.
    pub entries: Vec<Entry>,
    pub summary: Summary,
    /// The diagnostics `pactum check` still reports on the written map, one line each.
    pub check: Vec<String>,
}

impl Report {
    /// Adds a note.
    pub fn note(
        &mut self,
        kind: EntryKind,
        resource: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.entries.push(Entry {
            kind,
            resource: resource.into(),
            message: message.into(),
            items: Vec::new(),
        });
    }

    /// Adds `item` to the note with this kind, resource and message, creating it if needed, so that
    /// one fact about many fields reads as one line.
    pub fn note_item(
        &mut self,
        kind: EntryKind,
        resource: &str,
        message: &str,
        item: impl Into<String>,
    ) {
        let item = item.into();
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.kind == kind && e.resource == resource && e.message == message)
        {
            if !e.items.contains(&item) {
                e.items.push(item);
            }
            return;
        }
        self.entries.push(Entry {
            kind,
            resource: resource.to_owned(),
            message: message.to_owned(),
            items: vec![item],
        });
    }

    /// The entries of one kind.
    pub fn of(&self, kind: EntryKind) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }

    /// The report as Markdown (what `IMPORT-REPORT.md` holds and the CLI prints).
    pub fn markdown(&self) -> String {
        let mut out = String::from("# Fides import report\n\n");
        out.push_str("Written by `pactum import fides` from:\n\n");
        for s in &self.sources {
            let _ = writeln!(out, "- `{s}`");
        }
        let s = &self.summary;
        out.push_str("\n## Imported\n\n");
        let _ = writeln!(
            out,
            "- organisation: {}",
            if s.organisation {
                "yes"
            } else {
                "none in the source"
            }
        );
        let _ = writeln!(
            out,
            "- {} with {} and {} ({}, {})",
            count(s.datastores, "datastore", "datastores"),
            count(s.collections, "collection", "collections"),
            count(s.fields, "field", "fields"),
            count(s.identities, "identity field", "identity fields"),
            count(s.references, "reference", "references"),
        );
        let _ = writeln!(
            out,
            "- {}, {}, {}, {}, {}",
            count(s.systems, "system", "systems"),
            count(s.activities, "activity", "activities"),
            count(s.purposes, "purpose", "purposes"),
            count(s.subjects, "subject", "subjects"),
            count(s.categories, "custom category", "custom categories"),
        );
        for kind in [
            EntryKind::NotRepresented,
            EntryKind::Approximated,
            EntryKind::Inferred,
            EntryKind::ToComplete,
        ] {
            let lines: Vec<String> = self.of(kind).map(Entry::line).collect();
            let check = kind == EntryKind::ToComplete && !self.check.is_empty();
            if lines.is_empty() && !check {
                continue;
            }
            let _ = writeln!(out, "\n## {}\n", kind.heading());
            for line in lines {
                let _ = writeln!(out, "- {line}");
            }
            if check {
                if !out.ends_with("\n\n") {
                    out.push('\n');
                }
                out.push_str(
                    "`pactum check` still reports these on the imported map; the source has no information for them:\n\n",
                );
                for line in &self.check {
                    let _ = writeln!(out, "- {line}");
                }
            }
        }
        out
    }
}

/// `1 datastore`, `2 datastores`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_about_many_fields_read_as_one_line() {
        let mut r = Report::default();
        let ds = "dataset `d`";
        r.note_item(
            EntryKind::NotRepresented,
            ds,
            "`data_type` not represented",
            "a.x",
        );
        r.note_item(
            EntryKind::NotRepresented,
            ds,
            "`data_type` not represented",
            "a.y",
        );
        r.note_item(
            EntryKind::NotRepresented,
            ds,
            "`data_type` not represented",
            "a.x",
        );
        assert_eq!(r.entries.len(), 1);
        assert_eq!(
            r.entries[0].line(),
            "dataset `d`: `data_type` not represented: `a.x`, `a.y`"
        );
    }

    #[test]
    fn markdown_lists_sections_with_entries_only() {
        let mut r = Report {
            sources: vec!["in.yml".to_owned()],
            ..Report::default()
        };
        r.note(
            EntryKind::Inferred,
            "dataset `d`",
            "connector kind `postgres` inferred from the fides_key",
        );
        r.check
            .push("error[missing-organisation]: the map declares no `organisation`".to_owned());
        let md = r.markdown();
        assert!(md.contains("## Inferred by the importer\n\n- dataset `d`: connector kind"));
        assert!(md.contains("## To complete by hand"));
        assert!(md.contains("- error[missing-organisation]"));
        assert!(!md.contains("## Approximated"));
    }
}
