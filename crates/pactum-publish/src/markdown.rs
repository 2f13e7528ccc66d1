//! The notice as CommonMark with GitHub-style tables.

use std::fmt::Write;

use crate::notice::{Block, Inline, Notice, Section, Table};
use crate::wording;

/// Renders the notice as Markdown. Text from the map is escaped, so it never turns into markup.
pub fn render(notice: &Notice) -> String {
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n", escape(&notice.title)));
    if !notice.version.is_empty() {
        out.push_str(&format!(
            "Version {} · Last updated {}\n\n",
            escape(&notice.version),
            escape(&wording::date(&notice.last_updated))
        ));
    }
    for s in &notice.sections {
        section(&mut out, s, 2);
    }
    // Exactly one trailing newline.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn section(out: &mut String, s: &Section, level: usize) {
    let _ = write!(
        out,
        "{} {}\n\n",
        "#".repeat(level.min(6)),
        escape(&s.heading)
    );
    for b in &s.blocks {
        match b {
            Block::Paragraph { content } => {
                out.push_str(&inlines(content));
                out.push_str("\n\n");
            }
            Block::List { items } => {
                for item in items {
                    let _ = writeln!(out, "- {}", inlines(item));
                }
                out.push('\n');
            }
            Block::Table(t) => table(out, t),
        }
    }
    for sub in &s.subsections {
        section(out, sub, level + 1);
    }
}

fn table(out: &mut String, t: &Table) {
    let _ = write!(out, "*{}*\n\n", escape(&t.caption));
    let cell = |s: String| s.replace('\n', " ").replace('|', "\\|");
    let _ = writeln!(
        out,
        "| {} |",
        t.columns
            .iter()
            .map(|c| cell(escape(c)))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", " --- |".repeat(t.columns.len()));
    for row in &t.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter()
                .map(|c| cell(inlines(c)))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    out.push('\n');
}

fn inlines(items: &[Inline]) -> String {
    let mut out = String::new();
    for i in items {
        match i {
            Inline::Text(t) => out.push_str(&escape(t)),
            Inline::Break => out.push_str("<br>"),
            Inline::Strong(t) => {
                let _ = write!(out, "**{}**", escape(t));
            }
            Inline::Link { text, href } => match crate::html::safe_href(href) {
                // Autolinks where the text is the target; CommonMark allows no spaces or `<>` in them.
                Some(href)
                    if (href == text || href.strip_prefix("mailto:") == Some(text.as_str()))
                        && !text.contains([' ', '<', '>']) =>
                {
                    let _ = write!(out, "<{text}>");
                }
                Some(href) => {
                    let _ = write!(
                        out,
                        "[{}](<{}>)",
                        escape(text),
                        href.replace(['<', '>'], "")
                    );
                }
                None => out.push_str(&escape(text)),
            },
        }
    }
    out
}

/// Escapes the characters that would start Markdown or inline HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_text_cannot_inject_markup() {
        assert_eq!(escape("a *b* <script>"), "a \\*b\\* \\<script\\>");
        let link = inlines(&[Inline::Link {
            text: "x".into(),
            href: "javascript:alert(1)".into(),
        }]);
        assert_eq!(link, "x");
    }
}
