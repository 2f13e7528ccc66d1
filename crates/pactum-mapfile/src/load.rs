//! Reading a map directory into a [`DataMap`], and locating diagnostics in its files.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pactum_domain::diagnostic::{Diagnostic, MapPath, Segment, Severity, did_you_mean};
use pactum_domain::model::DataMap;
use serde::de::DeserializeOwned;

use crate::de::{DeError, UnknownKey, from_node};
use crate::yaml::{self, Kind, Node, Span};

/// The largest map file Pactum reads. Real maps are kilobytes; anything this big is a mistake or an attack.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a map could not be loaded at all (as opposed to loading with diagnostics).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no .yml or .yaml files in this directory")]
    NoFiles { path: PathBuf },
}

/// One file of the map, kept so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    pub root: Option<Node>,
}

/// A diagnostic with its place in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    /// Index into [`Loaded::files`], when the diagnostic belongs to a file.
    pub file: Option<usize>,
    pub span: Option<Span>,
    pub help: Option<String>,
    /// Other places that explain it (e.g. where a duplicate key was first defined).
    pub related: Vec<(String, usize, Span)>,
}

/// A loaded map: the model, the sources, and every diagnostic found so far.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub map: DataMap,
    pub files: Vec<SourceFile>,
    pub diagnostics: Vec<Located>,
    owners: HashMap<(String, Option<String>), (usize, Span)>,
}

const SECTIONS: &[&str] = &[
    "organisation",
    "subjects",
    "categories",
    "purposes",
    "activities",
    "systems",
    "datastores",
    "processors",
    "controllers",
    "retention",
    "rights",
    "promises",
];
const SINGLETONS: &[&str] = &["organisation", "rights", "promises"];

/// Loads a map from a directory (every `.yml`/`.yaml` file under it) or a single file, then runs the
/// domain checks. Syntax, type and reference problems all come back as diagnostics.
pub fn load_and_check(path: &Path) -> Result<Loaded, LoadError> {
    let mut loaded = load(path)?;
    let found = pactum_domain::check::check(&loaded.map);
    for d in found {
        let located = loaded.locate(d);
        loaded.diagnostics.push(located);
    }
    Ok(loaded)
}

/// Loads a map without running the domain checks.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let files = yaml_files(path)?;
    let mut loader = Loaded {
        map: DataMap::default(),
        files: Vec::new(),
        diagnostics: Vec::new(),
        owners: HashMap::new(),
    };
    for file in files {
        loader.read_file(file)?;
    }
    for index in 0..loader.files.len() {
        if let Some(root) = loader.files[index].root.take() {
            loader.merge(index, &root);
            loader.files[index].root = Some(root);
        }
    }
    Ok(loader)
}

/// Parses one YAML text as a whole map (for tests and tools that hold the text in memory).
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut loader = Loaded {
        map: DataMap::default(),
        files: Vec::new(),
        diagnostics: Vec::new(),
        owners: HashMap::new(),
    };
    loader.add_text(PathBuf::from(name), text.to_owned());
    if let Some(root) = loader.files[0].root.take() {
        loader.merge(0, &root);
        loader.files[0].root = Some(root);
    }
    let found = pactum_domain::check::check(&loader.map);
    for d in found {
        let located = loader.locate(d);
        loader.diagnostics.push(located);
    }
    loader
}

/// The YAML files a path names: the file itself, or every `.yml`/`.yaml` file below a directory
/// (hidden entries skipped), sorted so that loading is deterministic.
pub fn yaml_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound {
            path: path.to_owned(),
        },
        _ => LoadError::Read {
            path: path.to_owned(),
            source: e,
        },
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    walk(path, &mut out)?;
    out.sort();
    if out.is_empty() {
        return Err(LoadError::NoFiles {
            path: path.to_owned(),
        });
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read = |e| LoadError::Read {
        path: dir.to_owned(),
        source: e,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        let kind = entry.file_type().map_err(read)?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

impl Loaded {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    fn read_file(&mut self, path: PathBuf) -> Result<(), LoadError> {
        let len = std::fs::metadata(&path)
            .map_err(|e| LoadError::Read {
                path: path.clone(),
                source: e,
            })?
            .len();
        if len > MAX_FILE_BYTES {
            self.files.push(SourceFile {
                path,
                text: String::new(),
                root: None,
            });
            self.diagnostics.push(Located {
                severity: Severity::Error,
                code: "file-too-large",
                message: format!(
                    "file is {:.1} MB, larger than the {} MB a map file may be",
                    len as f64 / 1e6,
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
                file: Some(self.files.len() - 1),
                span: None,
                help: Some(
                    "split the map into several files, or check that this is the right file"
                        .to_owned(),
                ),
                related: Vec::new(),
            });
            return Ok(());
        }
        let bytes = std::fs::read(&path).map_err(|e| LoadError::Read {
            path: path.clone(),
            source: e,
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => self.add_text(path, text),
            Err(_) => {
                self.files.push(SourceFile {
                    path,
                    text: String::new(),
                    root: None,
                });
                self.push_file_error(
                    self.files.len() - 1,
                    "invalid-utf8",
                    "file is not valid UTF-8".to_owned(),
                    None,
                );
            }
        }
        Ok(())
    }

    fn add_text(&mut self, path: PathBuf, text: String) {
        let parsed = yaml::parse(&text);
        self.files.push(SourceFile {
            path,
            text,
            root: None,
        });
        let index = self.files.len() - 1;
        match parsed {
            Ok(root) => self.files[index].root = root,
            Err(e) => {
                let code = if e.message.starts_with("duplicate key") {
                    "duplicate-key"
                } else {
                    "yaml-syntax"
                };
                self.diagnostics.push(Located {
                    severity: Severity::Error,
                    code,
                    message: e.message,
                    file: Some(index),
                    span: Some(e.span),
                    help: None,
                    related: e.related.into_iter().map(|(m, s)| (m, index, s)).collect(),
                });
            }
        }
    }

    fn push_file_error(
        &mut self,
        file: usize,
        code: &'static str,
        message: String,
        span: Option<Span>,
    ) {
        self.diagnostics.push(Located {
            severity: Severity::Error,
            code,
            message,
            file: Some(file),
            span,
            help: None,
            related: Vec::new(),
        });
    }

    fn merge(&mut self, file: usize, root: &Node) {
        let entries = match &root.kind {
            Kind::Map(entries) => entries,
            Kind::Null => return,
            _ => {
                self.push_file_error(
                    file,
                    "invalid-value",
                    format!(
                        "a map file must be a mapping of sections, found {}",
                        root.describe()
                    ),
                    Some(root.span),
                );
                return;
            }
        };
        for (key, value) in entries {
            let Some(section) = key.as_str() else {
                continue;
            };
            if !SECTIONS.contains(&section) {
                let help = match did_you_mean(section, SECTIONS.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("the sections are: {}", SECTIONS.join(", ")),
                };
                self.diagnostics.push(Located {
                    severity: Severity::Error,
                    code: "unknown-key",
                    message: format!("unknown section `{section}`"),
                    file: Some(file),
                    span: Some(key.span),
                    help: Some(help),
                    related: Vec::new(),
                });
                continue;
            }
            if SINGLETONS.contains(&section) {
                if self.claim(file, section, None, key.span) {
                    self.decode_singleton(file, section, value);
                }
                continue;
            }
            let items = match &value.kind {
                Kind::Map(items) => items,
                Kind::Null => continue,
                _ => {
                    self.push_file_error(
                        file,
                        "invalid-value",
                        format!(
                            "section `{section}` must be a mapping from keys to items, found {}",
                            value.describe()
                        ),
                        Some(value.span),
                    );
                    continue;
                }
            };
            for (item_key, item) in items {
                let Some(name) = item_key.as_str() else {
                    self.push_file_error(
                        file,
                        "invalid-value",
                        format!("keys must be names, found {}", item_key.describe()),
                        Some(item_key.span),
                    );
                    continue;
                };
                if self.claim(file, section, Some(name), item_key.span) {
                    self.decode_item(file, section, name, item);
                }
            }
        }
    }

    /// Records where `section[.item]` is defined; false (with a diagnostic) when it already was.
    fn claim(&mut self, file: usize, section: &str, item: Option<&str>, span: Span) -> bool {
        let key = (section.to_owned(), item.map(str::to_owned));
        if let Some((first_file, first_span)) = self.owners.get(&key).copied() {
            let what = match item {
                Some(i) => format!("`{section}.{i}`"),
                None => format!("section `{section}`"),
            };
            self.diagnostics.push(Located {
                severity: Severity::Error,
                code: "duplicate-key",
                message: format!("{what} is defined twice"),
                file: Some(file),
                span: Some(span),
                help: Some("every key must be unique across the map's files".to_owned()),
                related: vec![("first defined here".to_owned(), first_file, first_span)],
            });
            return false;
        }
        self.owners.insert(key, (file, span));
        true
    }

    fn decode<T: DeserializeOwned>(&mut self, file: usize, node: &Node) -> Option<T> {
        let unknown = RefCell::new(Vec::new());
        let result: Result<T, DeError> = from_node(node, &unknown);
        for UnknownKey {
            key,
            span,
            suggestion,
            expected,
        } in unknown.into_inner()
        {
            let help = match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("expected one of: {}", expected.join(", ")),
            };
            self.diagnostics.push(Located {
                severity: Severity::Error,
                code: "unknown-key",
                message: format!("unknown key `{key}`"),
                file: Some(file),
                span: Some(span),
                help: Some(help),
                related: Vec::new(),
            });
        }
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let (message, help) = explain(&e.message);
                self.diagnostics.push(Located {
                    severity: Severity::Error,
                    code: "invalid-value",
                    message,
                    file: Some(file),
                    span: e.span.or(Some(node.span)),
                    help,
                    related: Vec::new(),
                });
                None
            }
        }
    }

    fn decode_singleton(&mut self, file: usize, section: &str, node: &Node) {
        match section {
            "organisation" => self.map.organisation = self.decode(file, node),
            "rights" => self.map.rights = self.decode(file, node),
            "promises" => self.map.promises = self.decode(file, node),
            _ => unreachable!("SINGLETONS lists only these"),
        }
    }

    fn decode_item(&mut self, file: usize, section: &str, name: &str, node: &Node) {
        let name = name.to_owned();
        macro_rules! put {
            ($field:ident) => {
                if let Some(v) = self.decode(file, node) {
                    self.map.$field.insert(name, v);
                }
            };
        }
        match section {
            "subjects" => put!(subjects),
            "categories" => put!(categories),
            "purposes" => put!(purposes),
            "activities" => put!(activities),
            "systems" => put!(systems),
            "datastores" => put!(datastores),
            "processors" => put!(processors),
            "controllers" => put!(controllers),
            "retention" => put!(retention),
            _ => unreachable!("SECTIONS minus SINGLETONS lists only these"),
        }
    }

    /// Places a domain diagnostic in the file that defines what it points at.
    pub fn locate(&self, d: Diagnostic) -> Located {
        let (file, span) = self.find(&d.path);
        Located {
            severity: d.severity,
            code: d.code,
            message: d.message,
            file,
            span,
            help: d.help,
            related: Vec::new(),
        }
    }

    fn find(&self, path: &MapPath) -> (Option<usize>, Option<Span>) {
        let segs = &path.0;
        let (Some(Segment::Key(section)), rest) = (segs.first(), segs.get(1..).unwrap_or(&[]))
        else {
            return ((!self.files.is_empty()).then_some(0), None);
        };
        let item = match rest.first() {
            Some(Segment::Key(k)) if !SINGLETONS.contains(&section.as_str()) => Some(k.clone()),
            _ => None,
        };
        let owner = self.owners.get(&(section.clone(), item)).or_else(|| {
            self.owners
                .iter()
                .find(|((s, _), _)| s == section)
                .map(|(_, v)| v)
        });
        let Some(&(file, section_span)) = owner else {
            return ((!self.files.is_empty()).then_some(0), None);
        };
        let Some(root) = &self.files[file].root else {
            return (Some(file), Some(section_span));
        };
        let mut span = section_span;
        let mut node = match root.get(section) {
            Some((k, v)) => {
                span = k.span;
                v
            }
            None => return (Some(file), Some(span)),
        };
        for seg in rest {
            match (seg, &node.kind) {
                (Segment::Key(k), Kind::Map(_)) => match node.get(k) {
                    Some((key, value)) => {
                        span = match value.kind {
                            Kind::Map(_) | Kind::Seq(_) | Kind::Null => key.span,
                            _ => value.span,
                        };
                        node = value;
                    }
                    None => break,
                },
                (Segment::Index(i), Kind::Seq(items)) => match items.get(*i) {
                    Some(item) => {
                        span = item.span;
                        node = item;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        (Some(file), Some(span))
    }
}

/// Rewrites serde's wording into ours, with a hint where one helps.
fn explain(message: &str) -> (String, Option<String>) {
    if let Some(rest) = message.strip_prefix("missing field ") {
        return (
            format!("missing key {rest}"),
            Some(format!("add {rest}: it is required here")),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        // "unknown variant `x`, expected one of `a`, `b`"
        if let Some((found, expected)) = rest.split_once(", expected ") {
            let names: Vec<&str> = expected
                .trim_start_matches("one of ")
                .split(", ")
                .map(|s| s.trim_matches('`'))
                .collect();
            let wanted = found.trim_matches('`');
            let help = match did_you_mean(wanted, names.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("expected {expected}"),
            };
            return (format!("unknown value {found}"), Some(help));
        }
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            return (
                format!("expected {}, found {found}", plain_expected(expected)),
                None,
            );
        }
    }
    (message.to_owned(), None)
}

/// Serde names Rust types; people want words.
fn plain_expected(expected: &str) -> String {
    match expected {
        "u8" => "a whole number from 0 to 255".to_owned(),
        "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".to_owned(),
        "i64" | "i32" => "a whole number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a character" => "a single letter".to_owned(),
        other => other.to_owned(),
    }
}
