//! The notice as one standalone, accessible HTML page.
//!
//! The page has no external assets and no script: styles are inline, so it can be hosted anywhere
//! (or opened from disk) and loads nothing from third parties. It has a `lang` attribute, a skip link,
//! one `h1`, headings in order, a table of contents, captioned tables with scoped header cells,
//! light and dark colour schemes, and print styles.

use std::fmt::Write;

use crate::notice::{Block, Inline, Notice, Section, Table};
use crate::wording;

const STYLE: &str = r#"
:root {
  color-scheme: light dark;
  --bg: #fbfbf9; --fg: #1d1f24; --muted: #545a66; --accent: #1f5fbf; --accent-bg: #eaf1fb;
  --rule: #d9dce1; --head-bg: #f0f2f5; --stripe: #f6f7f9; --card: #ffffff;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15171b; --fg: #e6e8eb; --muted: #a6adb8; --accent: #8ab4f8; --accent-bg: #1d2a3d;
    --rule: #343942; --head-bg: #20242a; --stripe: #1a1d22; --card: #1b1e23;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 1.0625rem/1.65 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.skip { position: absolute; left: -999rem; top: 0; padding: .5rem 1rem; background: var(--accent); color: var(--bg); z-index: 1; }
.skip:focus { left: 1rem; top: 1rem; }
.page { max-width: 54rem; margin: 0 auto; padding: 2.5rem 1.25rem 4rem; }
header { border-bottom: 1px solid var(--rule); padding-bottom: 1.25rem; margin-bottom: 1.5rem; }
.org { margin: 0; color: var(--muted); font-size: .95rem; letter-spacing: .04em; text-transform: uppercase; }
h1 { font-size: clamp(1.8rem, 4vw, 2.5rem); line-height: 1.2; margin: .25rem 0 .5rem; }
h2 { font-size: 1.5rem; line-height: 1.3; margin: 2.75rem 0 .75rem; padding-top: .5rem; border-top: 3px solid var(--accent); display: inline-block; }
h3 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
h4 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
.meta { margin: 0; color: var(--muted); }
p, ul, ol { margin: 0 0 1rem; }
ul, ol { padding-left: 1.4rem; }
li + li { margin-top: .25rem; }
a { color: var(--accent); text-underline-offset: .15em; }
a:focus-visible, .table-wrap:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
nav { background: var(--card); border: 1px solid var(--rule); border-radius: .5rem; padding: 1rem 1.25rem; }
nav h2 { font-size: 1rem; margin: 0 0 .5rem; border: 0; padding: 0; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
nav ol { columns: 2 16rem; margin: 0; padding-left: 1.4rem; }
nav li { break-inside: avoid; }
section > section { margin-left: 0; }
.table-wrap { overflow-x: auto; margin: 0 0 1.25rem; border: 1px solid var(--rule); border-radius: .5rem; background: var(--card); }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .75rem 1rem; border-bottom: 1px solid var(--rule); }
th, td { text-align: left; vertical-align: top; padding: .6rem 1rem; border-bottom: 1px solid var(--rule); }
thead th { background: var(--head-bg); font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
tbody th { font-weight: 400; }
tbody tr:nth-child(even) { background: var(--stripe); }
tbody tr:last-child > * { border-bottom: 0; }
strong { font-weight: 650; }
footer { margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--rule); color: var(--muted); font-size: .9rem; }
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #333; --accent: #000; --rule: #999; --head-bg: #eee; --stripe: #fff; --card: #fff; }
  body { font-size: 10.5pt; }
  .skip, nav { display: none; }
  .page { max-width: none; padding: 0; }
  h2 { border-top-width: 2px; break-after: avoid; }
  h3, h4, caption { break-after: avoid; }
  tr { break-inside: avoid; }
  .table-wrap { overflow: visible; border-radius: 0; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: .85em; }
}
"#;

/// Renders the notice as a complete HTML document.
pub fn render(notice: &Notice) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n<link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<div class=\"page\">\n<header>\n",
        escape(&notice.lang),
        escape(&notice.title),
        STYLE
    );
    if !notice.organisation.is_empty() {
        let _ = writeln!(out, "<p class=\"org\">{}</p>", escape(&notice.organisation));
    }
    let _ = writeln!(out, "<h1>{}</h1>", escape(&notice.title));
    if !notice.version.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"meta\">Version {} · Last updated <time datetime=\"{}\">{}</time></p>",
            escape(&notice.version),
            escape(&notice.last_updated),
            escape(&wording::date(&notice.last_updated))
        );
    }
    out.push_str("</header>\n");
    if !notice.sections.is_empty() {
        out.push_str(
            "<nav aria-labelledby=\"contents\">\n<h2 id=\"contents\">Contents</h2>\n<ol>\n",
        );
        for s in &notice.sections {
            let _ = writeln!(
                out,
                "<li><a href=\"#{}\">{}</a></li>",
                escape(&s.id),
                escape(&s.heading)
            );
        }
        out.push_str("</ol>\n</nav>\n");
    }
    out.push_str("<main id=\"main\" tabindex=\"-1\">\n");
    for s in &notice.sections {
        section(&mut out, s, 2);
    }
    out.push_str("</main>\n");
    if !notice.version.is_empty() {
        let _ = writeln!(
            out,
            "<footer>\n<p>{} · Version {} · Last updated {}</p>\n</footer>",
            escape(&notice.title),
            escape(&notice.version),
            escape(&wording::date(&notice.last_updated))
        );
    }
    out.push_str("</div>\n</body>\n</html>\n");
    out
}

fn section(out: &mut String, s: &Section, level: usize) {
    let level = level.min(6);
    let id = escape(&s.id);
    let _ = write!(
        out,
        "<section aria-labelledby=\"{id}\">\n<h{level} id=\"{id}\">{}</h{level}>\n",
        escape(&s.heading)
    );
    for (n, b) in s.blocks.iter().enumerate() {
        match b {
            Block::Paragraph { content } => {
                let _ = writeln!(out, "<p>{}</p>", inlines(content));
            }
            Block::List { items } => {
                out.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", inlines(item));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(t) => table(out, t, &format!("{}-table-{n}", s.id)),
        }
    }
    for sub in &s.subsections {
        section(out, sub, level + 1);
    }
    out.push_str("</section>\n");
}

fn table(out: &mut String, t: &Table, caption_id: &str) {
    // The wrapper scrolls on narrow screens; keyboard users reach it through tabindex, and the region
    // is named by the caption.
    let caption_id = escape(caption_id);
    let _ = write!(
        out,
        "<div class=\"table-wrap\" role=\"region\" aria-labelledby=\"{caption_id}\" tabindex=\"0\">\n<table>\n<caption id=\"{caption_id}\">{}</caption>\n<thead><tr>",
        escape(&t.caption)
    );
    for c in &t.columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "<th scope=\"row\">{}</th>", inlines(cell));
            } else {
                let _ = write!(out, "<td>{}</td>", inlines(cell));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
}

fn inlines(items: &[Inline]) -> String {
    let mut out = String::new();
    for i in items {
        match i {
            Inline::Text(t) => out.push_str(&escape(t)),
            Inline::Break => out.push_str("<br>"),
            Inline::Strong(t) => {
                let _ = write!(out, "<strong>{}</strong>", escape(t));
            }
            Inline::Link { text, href } => match safe_href(href) {
                Some(href) => {
                    let _ = write!(out, "<a href=\"{}\">{}</a>", escape(href), escape(text));
                }
                None => out.push_str(&escape(text)),
            },
        }
    }
    out
}

/// The link target when it is safe to follow (`http(s):`, `mailto:`, `tel:`), else `None`.
///
/// Map text is not trusted markup: a `javascript:` URL in a contact block must not become a link.
pub(crate) fn safe_href(href: &str) -> Option<&str> {
    let lower = href.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:", "tel:"]
        .iter()
        .any(|p| lower.starts_with(p))
        .then_some(href.trim())
}

/// Escapes text for HTML element content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_refuses_unsafe_links() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(safe_href(" JavaScript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html,x"), None);
        assert_eq!(
            safe_href("https://example.com"),
            Some("https://example.com")
        );
        assert_eq!(safe_href("mailto:a@b.c"), Some("mailto:a@b.c"));
        let html = inlines(&[Inline::Link {
            text: "<b>".into(),
            href: "javascript:x".into(),
        }]);
        assert_eq!(html, "&lt;b&gt;");
    }
}
