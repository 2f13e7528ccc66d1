//! Writing an imported map: one YAML file per section, then `pactum check`, then the report.

use std::path::Path;

use pactum_domain::diagnostic::Severity;
use pactum_domain::model::DataMap;

use crate::ImportError;
use crate::fides::Import;

/// The files an import writes, in order, with the section each holds.
pub const FILES: [(&str, &str); 7] = [
    ("organisation.yml", "organisation"),
    ("subjects.yml", "subjects"),
    ("categories.yml", "categories"),
    ("purposes.yml", "purposes"),
    ("activities.yml", "activities"),
    ("systems.yml", "systems"),
    ("datastores.yml", "datastores"),
];

/// The report's file name in the output directory.
pub const REPORT_FILE: &str = "IMPORT-REPORT.md";

/// Writes the map into `dir` (created if needed) as the [`FILES`], loads it back with
/// `pactum check`, adds every remaining diagnostic to the report's "to complete by hand" section and
/// writes [`REPORT_FILE`].
///
/// Refuses a directory that holds other map files, which would merge with the imported ones.
pub fn write(import: &mut Import, dir: &Path) -> Result<(), ImportError> {
    refuse_foreign_files(dir)?;
    std::fs::create_dir_all(dir).map_err(|source| ImportError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let header = header(&import.report.sources);
    for (file, section) in FILES {
        let body = section_yaml(&import.map, section)?;
        let text = match body {
            Some(yaml) => format!("{header}{yaml}"),
            None => format!("{header}# The source declares nothing for `{section}`.\n"),
        };
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|source| ImportError::Write { path, source })?;
    }
    let loaded = pactum_mapfile::load_and_check(dir).map_err(ImportError::Load)?;
    import.report.check = loaded
        .diagnostics
        .iter()
        .map(|d| {
            let place = match (d.file, d.span) {
                (Some(f), Some(span)) => format!(
                    " ({}:{}:{})",
                    file_name(&loaded.files[f].path),
                    span.start.line,
                    span.start.col
                ),
                _ => String::new(),
            };
            let severity = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            format!("{severity}[{}]{place}: {}", d.code, d.message)
        })
        .collect();
    let path = dir.join(REPORT_FILE);
    std::fs::write(&path, import.report.markdown())
        .map_err(|source| ImportError::Write { path, source })?;
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn header(sources: &[String]) -> String {
    let mut out = String::from(
        "# Imported from Fides by `pactum import fides`: read IMPORT-REPORT.md for what was not\n# carried over and what to complete by hand.\n",
    );
    for s in sources {
        out.push_str("# Source: ");
        out.push_str(s);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// One section of the map as YAML, or `None` when the section is empty.
fn section_yaml(map: &DataMap, section: &'static str) -> Result<Option<String>, ImportError> {
    let mut part = DataMap::default();
    let empty = match section {
        "organisation" => {
            part.organisation.clone_from(&map.organisation);
            part.organisation.is_none()
        }
        "subjects" => {
            part.subjects.clone_from(&map.subjects);
            part.subjects.is_empty()
        }
        "categories" => {
            part.categories.clone_from(&map.categories);
            part.categories.is_empty()
        }
        "purposes" => {
            part.purposes.clone_from(&map.purposes);
            part.purposes.is_empty()
        }
        "activities" => {
            part.activities.clone_from(&map.activities);
            part.activities.is_empty()
        }
        "systems" => {
            part.systems.clone_from(&map.systems);
            part.systems.is_empty()
        }
        _ => {
            part.datastores.clone_from(&map.datastores);
            part.datastores.is_empty()
        }
    };
    if empty {
        return Ok(None);
    }
    serde_saphyr::to_string(&part)
        .map(Some)
        .map_err(|e| ImportError::Serialize {
            section,
            message: e.to_string(),
        })
}

fn refuse_foreign_files(dir: &Path) -> Result<(), ImportError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        // Missing: it is created. Unreadable: creating or writing it reports the real error.
        return Ok(());
    };
    // The loader reads every YAML file below the directory, so subdirectories count too.
    let mut foreign: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            !name.starts_with('.')
                && ((is_dir)
                    || ((name.ends_with(".yml") || name.ends_with(".yaml"))
                        && !FILES.iter().any(|(f, _)| *f == name)))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    foreign.sort();
    match foreign.into_iter().next() {
        Some(file) => Err(ImportError::OutputNotEmpty {
            path: dir.to_owned(),
            file,
        }),
        None => Ok(()),
    }
}
