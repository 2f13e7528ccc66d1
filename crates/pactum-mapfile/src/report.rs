//! Rendering diagnostics: rustc-like text for people, JSON for tools, SARIF for CI systems.

use std::fmt::Write as _;

use pactum_domain::diagnostic::Severity;
use serde_json::{Value, json};

use crate::load::{Loaded, Located};
use crate::yaml::Span;

/// Renders every diagnostic the way rustc does: a headline, the `--> file:line:col` arrow, the source
/// line with the span underlined, and the help.
pub fn human(loaded: &Loaded) -> String {
    let mut out = String::new();
    for d in &loaded.diagnostics {
        human_one(loaded, d, &mut out);
        out.push('\n');
    }
    out
}

fn human_one(loaded: &Loaded, d: &Located, out: &mut String) {
    let _ = writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
    let gutter = d.span.map(|s| s.start.line.to_string().len()).unwrap_or(1);
    let pad = " ".repeat(gutter);
    if let Some(file) = d.file {
        let path = loaded.files[file].path.display();
        match d.span {
            Some(span) => {
                let _ = writeln!(
                    out,
                    "{pad}--> {path}:{}:{}",
                    span.start.line, span.start.col
                );
                snippet(&loaded.files[file].text, span, &pad, out);
            }
            None => {
                let _ = writeln!(out, "{pad}--> {path}");
            }
        }
    }
    for (note, file, span) in &d.related {
        let path = loaded.files[*file].path.display();
        let _ = writeln!(
            out,
            "{pad} = note: {note}: {path}:{}:{}",
            span.start.line, span.start.col
        );
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad} = help: {help}");
    }
}

fn snippet(text: &str, span: Span, pad: &str, out: &mut String) {
    let Some(line) = text.lines().nth(span.start.line.saturating_sub(1)) else {
        return;
    };
    let start = span.start.col.saturating_sub(1);
    let line_len = line.chars().count();
    let end = if span.end.line == span.start.line && span.end.col > span.start.col {
        span.end.col - 1
    } else {
        // Multi-line spans: underline to the end of the first line's content.
        line_len.max(start + 1)
    };
    let width = end.saturating_sub(start).max(1);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{} | {}", span.start.line, line);
    let _ = writeln!(out, "{pad} | {}{}", " ".repeat(start), "^".repeat(width));
}

/// A one-line summary: "2 errors, 1 warning".
pub fn summary(loaded: &Loaded) -> String {
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = loaded.diagnostics.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

fn location(loaded: &Loaded, d: &Located) -> Value {
    json!({
        "file": d.file.map(|f| loaded.files[f].path.display().to_string()),
        "line": d.span.map(|s| s.start.line),
        "column": d.span.map(|s| s.start.col),
        "end_line": d.span.map(|s| s.end.line),
        "end_column": d.span.map(|s| s.end.col),
    })
}

/// Every diagnostic as a JSON document: `{"diagnostics": [...], "errors": N, "warnings": N}`.
pub fn json(loaded: &Loaded) -> Value {
    let list: Vec<Value> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            let mut v = location(loaded, d);
            v["severity"] = json!(d.severity.as_str());
            v["code"] = json!(d.code);
            v["message"] = json!(d.message);
            v["help"] = json!(d.help);
            v
        })
        .collect();
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    json!({
        "diagnostics": list,
        "errors": errors,
        "warnings": loaded.diagnostics.len() - errors,
    })
}

/// SARIF 2.1.0, so code hosts and CI systems show the diagnostics inline.
pub fn sarif(loaded: &Loaded) -> Value {
    let mut rules: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
    rules.sort_unstable();
    rules.dedup();
    let results: Vec<Value> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            let text = match &d.help {
                Some(h) => format!("{} ({h})", d.message),
                None => d.message.clone(),
            };
            let mut result = json!({
                "ruleId": d.code,
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": { "text": text },
            });
            if let Some(file) = d.file {
                let mut physical = json!({
                    "artifactLocation": { "uri": loaded.files[file].path.display().to_string().replace('\\', "/") },
                });
                if let Some(span) = d.span {
                    physical["region"] = json!({
                        "startLine": span.start.line,
                        "startColumn": span.start.col,
                        "endLine": span.end.line.max(span.start.line),
                        "endColumn": if span.end.line == span.start.line { span.end.col.max(span.start.col + 1) } else { span.start.col + 1 },
                    });
                }
                result["locations"] = json!([{ "physicalLocation": physical }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "pactum",
                "informationUri": "https://example.invalid/pactum",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| json!({"id": r})).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}
