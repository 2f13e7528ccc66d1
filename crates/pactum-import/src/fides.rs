//! Fides manifests (datasets, systems, organization, taxonomy extensions, policies) into a data map.
//!
//! [`import`] reads one manifest or every `.yml`/`.yaml` file under a directory (as the Fides CLI
//! does), checks what Fides itself would reject, and converts the rest. What has no place in a Pactum
//! map goes into the [`Report`]; nothing is invented (no organisation, regime, legal basis,
//! retention period or erasure strategy the source does not state).

mod convert;
mod masking;
mod names;
mod schema;

use std::fmt;
use std::path::{Path, PathBuf};

use pactum_domain::model::{ConnectorKind, DataMap};

use crate::report::{EntryKind, Report};
use crate::{ImportError, Problem};

/// The largest manifest read. Fides's biggest published dataset (Stripe's, 553 fields) is about
/// 60 kB; a file this size is a mistake or an attack, and YAML parsing holds it in memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// How to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The connector kind of datasets whose kind cannot be inferred from Fides's namespace, the
    /// dataset's `fides_key` or the file name.
    pub default_kind: ConnectorKind,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            default_kind: ConnectorKind::Manual,
        }
    }
}

/// The result of an import: the map and what the report says about it.
#[derive(Debug, Clone)]
pub struct Import {
    pub map: DataMap,
    pub report: Report,
}

/// Reads the Fides manifests at `sources` (files, or directories searched recursively) and converts
/// them together, so that references and dataset links across files resolve.
///
/// Fails when a file cannot be read or parsed, or when the input holds something Fides itself
/// rejects (an unknown or secret-needing field masking override, a malformed reference ...); every
/// such problem is listed, each naming its file, resource and field.
pub fn import<P: AsRef<Path>>(sources: &[P], options: &Options) -> Result<Import, ImportError> {
    let mut paths = Vec::new();
    for src in sources {
        for path in discover(src.as_ref())? {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    let mut report = Report::default();
    let mut parsed = Vec::new();
    for path in paths {
        report.sources.push(path.display().to_string());
        let read = |source| ImportError::Read {
            path: path.clone(),
            source,
        };
        let len = std::fs::metadata(&path).map_err(read)?.len();
        if len > MAX_FILE_BYTES {
            return Err(ImportError::TooLarge { path, bytes: len });
        }
        let text = std::fs::read_to_string(&path).map_err(read)?;
        parsed.push(parse(&path, &text)?);
    }
    for file in &parsed {
        file.report_ignored(&mut report);
    }
    let map = convert::convert(&parsed, options, &mut report).map_err(ImportError::rejected)?;
    report.summary = crate::summarise(&map);
    Ok(Import { map, report })
}

/// One parsed manifest with the keys the importer did not read.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub path: PathBuf,
    pub manifest: schema::Manifest,
    /// Paths (from the file's top) of keys no struct reads.
    pub ignored: Vec<Vec<Seg>>,
}

/// One step of a path into a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(k) => f.write_str(k),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// The manifests under `src`, found the way a map directory's files are.
fn discover(src: &Path) -> Result<Vec<PathBuf>, ImportError> {
    pactum_mapfile::yaml_files(src).map_err(|e| match e {
        pactum_mapfile::LoadError::NotFound { path } => ImportError::NotFound { path },
        pactum_mapfile::LoadError::Read { path, source } => ImportError::Read { path, source },
        pactum_mapfile::LoadError::NoFiles { path } => ImportError::NoManifests { path },
    })
}

/// Parses one manifest, recording every key the schema does not read.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Parsed, ImportError> {
    if text.trim().is_empty() {
        return Ok(Parsed {
            path: path.to_owned(),
            manifest: schema::Manifest::default(),
            ignored: Vec::new(),
        });
    }
    let mut ignored = Vec::new();
    let manifest = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_ignored::deserialize(de, |p| ignored.push(segments(&p)))
    })
    .map_err(|e| ImportError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Parsed {
        path: path.to_owned(),
        manifest,
        ignored,
    })
}

fn segments(path: &serde_ignored::Path<'_>) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut at = path;
    loop {
        at = match at {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                out.push(Seg::Index(*index));
                parent
            }
            serde_ignored::Path::Map { parent, key } => {
                out.push(Seg::Key(key.clone()));
                parent
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => parent,
        };
    }
    out.reverse();
    out
}

impl Parsed {
    /// The file name, for messages.
    pub fn file(&self) -> String {
        self.path.display().to_string()
    }

    /// Reports every key the importer did not read, named by resource and field.
    fn report_ignored(&self, report: &mut Report) {
        for path in &self.ignored {
            let (resource, item, key) = self.describe(path);
            let why = names::why_unmapped(&key);
            let message = format!("`{key}` {why}");
            match item {
                Some(item) => {
                    report.note_item(EntryKind::NotRepresented, &resource, &message, item)
                }
                None => report.note(EntryKind::NotRepresented, resource, message),
            }
        }
    }

    /// Splits an ignored path into the resource it belongs to, the collection/field/declaration
    /// within it (if any), and the ignored key path below that.
    fn describe(&self, path: &[Seg]) -> (String, Option<String>, String) {
        let m = &self.manifest;
        let rest = |from: usize| -> String {
            let mut s = String::new();
            for seg in path.get(from..).unwrap_or(&[]) {
                match seg {
                    Seg::Key(k) if s.is_empty() => s.push_str(k),
                    Seg::Key(k) => {
                        s.push('.');
                        s.push_str(k);
                    }
                    Seg::Index(i) => s.push_str(&format!("[{i}]")),
                }
            }
            s
        };
        let (Some(Seg::Key(kind)), Some(Seg::Index(i))) = (path.first(), path.get(1)) else {
            return (format!("file `{}`", self.file()), None, rest(0));
        };
        let key_of = |kind: &str, i: usize| -> Option<String> {
            match kind {
                "dataset" => m.dataset.get(i).map(|d| d.fides_key.clone()),
                "system" => m.system.get(i).map(|d| d.fides_key.clone()),
                "organization" => m.organization.get(i).map(|d| d.fides_key.clone()),
                "policy" => m.policy.get(i).map(|d| d.fides_key.clone()),
                "data_category" => m.data_category.get(i).map(|d| d.fides_key.clone()),
                "data_use" => m.data_use.get(i).map(|d| d.fides_key.clone()),
                "data_subject" => m.data_subject.get(i).map(|d| d.fides_key.clone()),
                _ => None,
            }
        };
        let resource = match key_of(kind, *i) {
            Some(key) => format!("{kind} `{key}`"),
            None => format!("{kind} #{i} in `{}`", self.file()),
        };
        // Datasets: name the collection and the (nested) field path.
        if kind == "dataset"
            && let Some(ds) = m.dataset.get(*i)
            && let (Some(Seg::Key(c)), Some(Seg::Index(ci))) = (path.get(2), path.get(3))
            && c == "collections"
            && let Some(coll) = ds.collections.get(*ci)
        {
            let mut item = coll.name.clone();
            let mut fields = &coll.fields;
            let mut at = 4;
            while let (Some(Seg::Key(f)), Some(Seg::Index(fi))) = (path.get(at), path.get(at + 1)) {
                let Some(field) = (f == "fields").then(|| fields.get(*fi)).flatten() else {
                    break;
                };
                item.push('.');
                item.push_str(&field.name);
                fields = &field.fields;
                at += 2;
            }
            return (resource, Some(item), rest(at));
        }
        if kind == "system"
            && let Some(sys) = m.system.get(*i)
            && let (Some(Seg::Key(c)), Some(Seg::Index(di))) = (path.get(2), path.get(3))
            && c == "privacy_declarations"
            && let Some(decl) = sys.privacy_declarations.get(*di)
        {
            let item = decl
                .name
                .clone()
                .unwrap_or_else(|| format!("declaration {di} ({})", decl.data_use));
            return (resource, Some(item), rest(4));
        }
        if kind == "policy"
            && let Some(policy) = m.policy.get(*i)
            && let (Some(Seg::Key(c)), Some(Seg::Index(ri))) = (path.get(2), path.get(3))
            && c == "rules"
            && let Some(rule) = policy.rules.get(*ri)
        {
            let item = rule.name.clone().unwrap_or_else(|| format!("rule {ri}"));
            return (resource, Some(item), rest(4));
        }
        (resource, None, rest(2))
    }
}

impl ImportError {
    fn rejected(problems: Vec<Problem>) -> ImportError {
        ImportError::Rejected { problems }
    }
}
