//! Diagnostics: what is wrong with a map, and where.
//!
//! The domain has no notion of files: a diagnostic points at a [`MapPath`] (`purposes.marketing.legal_basis`),
//! and the loader turns paths into `file:line:col`.

use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One step of a path into the map.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where in the map a diagnostic points: a path of keys and list indices from the top.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MapPath(pub Vec<Segment>);

impl MapPath {
    /// Builds a path from keys.
    pub fn keys<I, S>(keys: I) -> MapPath
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        MapPath(keys.into_iter().map(|k| Segment::Key(k.into())).collect())
    }

    /// This path with one more key.
    pub fn key(&self, key: impl Into<String>) -> MapPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.into()));
        path
    }

    /// This path with one more list index.
    pub fn index(&self, index: usize) -> MapPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }
}

impl fmt::Display for MapPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A problem found in a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier of the rule, e.g. `unknown-reference` or `promise-no-sale`.
    pub code: &'static str,
    pub message: String,
    pub path: MapPath,
    /// A suggestion, e.g. "did you mean `marketing`?".
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, path: MapPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            path,
            help: None,
        }
    }

    pub fn warning(code: &'static str, path: MapPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, path, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// The closest candidate to `wanted`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(wanted: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wanted, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_display_like_the_yaml_they_point_at() {
        let path = MapPath::keys(["activities", "support"])
            .key("purposes")
            .index(2);
        assert_eq!(path.to_string(), "activities.support.purposes[2]");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let candidates = ["marketing", "support", "billing"];
        assert_eq!(did_you_mean("marketting", candidates), Some("marketing"));
        assert_eq!(did_you_mean("zzz", candidates), None);
    }
}
