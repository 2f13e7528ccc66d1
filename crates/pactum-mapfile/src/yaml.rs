//! A YAML document as a tree of nodes that remember where they came from.
//!
//! Built from `saphyr-parser`'s event stream. Guards against hostile input: anchors and aliases are
//! expanded under a node budget (a "billion laughs" file fails fast instead of eating memory), and a
//! mapping that repeats a key is an error, never a silent overwrite.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as PSpan};

/// A position in a file: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A range in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

/// A YAML node with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub kind: Kind,
}

/// What a node holds. Plain scalars keep their source text so that `version: 3.1` can still be read
/// as the string `"3.1"` where a string is expected.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool, String),
    Int(i64, String),
    Float(f64, String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// Why a document could not be turned into a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
    /// A second place the error relates to (the first occurrence of a duplicate key).
    pub related: Option<(String, Span)>,
}

/// How many nodes alias expansion may create in one document.
pub const NODE_BUDGET: usize = 1_000_000;

impl Node {
    /// The node's kind as a word, for error messages.
    pub fn describe(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(..) => "a boolean",
            Kind::Int(..) => "an integer",
            Kind::Float(..) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The string value of a scalar key or value.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) | Kind::Bool(_, s) | Kind::Int(_, s) | Kind::Float(_, s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a mapping node.
    pub fn get(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    fn size(&self) -> usize {
        match &self.kind {
            Kind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Kind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
            _ => 1,
        }
    }
}

/// Parses the first document of `text`. An empty file gives `Ok(None)`.
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut b = Builder {
        stack: Vec::new(),
        anchors: Vec::new(),
        root: None,
        created: 0,
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            message: e.info().to_owned(),
            span: Span {
                start: pos(e.marker()),
                end: pos(e.marker()),
            },
            related: None,
        })?;
        match event {
            Event::DocumentEnd if b.root.is_some() => break,
            Event::DocumentStart(_) if b.root.is_some() => break,
            _ => b.event(event, span)?,
        }
    }
    Ok(b.root)
}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

fn span(s: PSpan) -> Span {
    Span {
        start: pos(&s.start),
        end: pos(&s.end),
    }
}

enum Open {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

struct Builder {
    stack: Vec<Open>,
    /// Anchored nodes by anchor id (ids are small and dense).
    anchors: Vec<Option<Node>>,
    root: Option<Node>,
    created: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, s: PSpan) -> Result<(), YamlError> {
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let node = scalar(value, style, tag.is_some(), span(s));
                self.push(node, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Open::Seq(
                    Node {
                        span: span(s),
                        kind: Kind::Seq(Vec::new()),
                    },
                    anchor,
                ));
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Map(
                    Node {
                        span: span(s),
                        kind: Kind::Map(Vec::new()),
                    },
                    anchor,
                    None,
                ));
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (mut node, anchor) = match self.stack.pop() {
                    Some(Open::Seq(n, a)) | Some(Open::Map(n, a, _)) => (n, a),
                    None => return Ok(()),
                };
                node.span.end = span(s).end;
                self.push(node, anchor)
            }
            Event::Alias(id) => {
                let Some(Some(target)) = self.anchors.get(id) else {
                    return Err(YamlError {
                        message: "alias refers to an unknown anchor".to_owned(),
                        span: span(s),
                        related: None,
                    });
                };
                let cost = target.size();
                self.created = self.created.saturating_add(cost);
                if self.created > NODE_BUDGET {
                    return Err(YamlError {
                        message: format!(
                            "aliases expand to more than {NODE_BUDGET} nodes; refusing to load (is this an alias bomb?)"
                        ),
                        span: span(s),
                        related: None,
                    });
                }
                let mut copy = target.clone();
                copy.span = span(s);
                self.push(copy, 0)
            }
            _ => Ok(()),
        }
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        self.created += 1;
        if self.created > NODE_BUDGET {
            return Err(YamlError {
                message: format!("the document has more than {NODE_BUDGET} nodes"),
                span: node.span,
                related: None,
            });
        }
        if anchor > 0 {
            if self.anchors.len() <= anchor {
                self.anchors.resize(anchor + 1, None);
            }
            self.anchors[anchor] = Some(node.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Open::Seq(seq, _)) => {
                if let Kind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
                Ok(())
            }
            Some(Open::Map(map, _, pending)) => match pending.take() {
                None => {
                    *pending = Some(node);
                    Ok(())
                }
                Some(key) => {
                    let Kind::Map(entries) = &mut map.kind else {
                        return Ok(());
                    };
                    if let Some(name) = key.as_str()
                        && let Some((first, _)) =
                            entries.iter().find(|(k, _)| k.as_str() == Some(name))
                    {
                        return Err(YamlError {
                            message: format!("duplicate key `{name}`"),
                            span: key.span,
                            related: Some(("first defined here".to_owned(), first.span)),
                        });
                    }
                    entries.push((key, node));
                    Ok(())
                }
            },
        }
    }
}

fn scalar(value: Cow<'_, str>, style: ScalarStyle, tagged: bool, span: Span) -> Node {
    let text = value.into_owned();
    let kind = if style != ScalarStyle::Plain || tagged {
        Kind::Str(text)
    } else {
        match text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
            "true" | "True" | "TRUE" => Kind::Bool(true, text),
            "false" | "False" | "FALSE" => Kind::Bool(false, text),
            t => {
                if let Ok(i) = t.parse::<i64>() {
                    Kind::Int(i, text)
                } else if looks_like_float(t)
                    && let Ok(f) = t.parse::<f64>()
                {
                    Kind::Float(f, text)
                } else {
                    Kind::Str(text)
                }
            }
        }
    };
    Node { span, kind }
}

fn looks_like_float(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    !t.is_empty()
        && t.chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        parse(text).expect("valid yaml").expect("a document")
    }

    #[test]
    fn scalars_resolve_like_yaml_core_schema() {
        let n = tree("a: 1\nb: 3.1\nc: true\nd: ~\ne: hello\nf: '42'\n");
        let kinds: Vec<&str> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|k| n.get(k).map(|(_, v)| v.describe()).unwrap_or("missing"))
            .collect();
        assert_eq!(
            kinds,
            [
                "an integer",
                "a number",
                "a boolean",
                "null",
                "a string",
                "a string"
            ]
        );
        assert_eq!(n.get("b").and_then(|(_, v)| v.as_str()), Some("3.1"));
    }

    #[test]
    fn spans_are_one_based() {
        let n = tree("top:\n  key: value\n");
        let (k, v) = n
            .get("top")
            .and_then(|(_, t)| t.get("key"))
            .expect("nested key");
        assert_eq!((k.span.start.line, k.span.start.col), (2, 3));
        assert_eq!((v.span.start.line, v.span.start.col), (2, 8));
    }

    #[test]
    fn duplicate_keys_are_errors_pointing_at_both() {
        let err = parse("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(err.message, "duplicate key `a`");
        assert_eq!(err.span.start.line, 3);
        assert_eq!(err.related.map(|(_, s)| s.start.line), Some(1));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in 'b'..='j' {
            doc.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = name;
        }
        let err = parse(&doc).expect_err("bomb");
        assert!(err.message.contains("alias bomb"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").expect_err("unclosed flow sequence");
        assert!(err.span.start.line >= 1);
        assert!(!err.message.is_empty());
    }

    #[test]
    fn small_aliases_expand() {
        let n = tree("base: &b {x: 1}\nother: *b\n");
        assert_eq!(
            n.get("other")
                .and_then(|(_, v)| v.get("x"))
                .and_then(|(_, x)| x.as_str()),
            Some("1")
        );
    }
}
