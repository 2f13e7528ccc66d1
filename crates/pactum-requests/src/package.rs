//! The access package a person downloads: a ZIP with, per collection, the records as JSON and as
//! CSV, and a readable HTML summary that opens in any browser.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use crate::AccessResult;

/// Why a package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("cannot write the ZIP archive")]
    Zip(#[from] zip::result::ZipError),
    #[error("cannot write a file into the archive")]
    Io(#[from] std::io::Error),
    #[error("cannot write CSV")]
    Csv(#[from] csv::Error),
    #[error("cannot write JSON")]
    Json(#[from] serde_json::Error),
}

/// Builds the ZIP: `index.html`, `result.json` (everything, machine-readable), and
/// `records/<datastore>.<collection>.json` and `.csv` for each collection.
pub fn access_package(result: &AccessResult, organisation: &str) -> Result<Vec<u8>, PackageError> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("index.html", options)?;
    zip.write_all(summary_html(result, organisation).as_bytes())?;
    zip.start_file("result.json", options)?;
    zip.write_all(serde_json::to_string_pretty(result)?.as_bytes())?;
    for (name, records) in &result.records {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> = records
            .rows
            .iter()
            .map(|row| {
                records
                    .fields
                    .iter()
                    .zip(row)
                    .map(|(f, v)| {
                        (
                            f.clone(),
                            v.clone()
                                .map_or(serde_json::Value::Null, serde_json::Value::String),
                        )
                    })
                    .collect()
            })
            .collect();
        zip.start_file(format!("records/{name}.json"), options)?;
        zip.write_all(serde_json::to_string_pretty(&objects)?.as_bytes())?;
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(&records.fields)?;
        for row in &records.rows {
            csv.write_record(row.iter().map(|v| v.as_deref().unwrap_or("")))?;
        }
        zip.start_file(format!("records/{name}.csv"), options)?;
        zip.write_all(&csv.into_inner().map_err(|e| e.into_error())?)?;
    }
    Ok(zip.finish()?.into_inner())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A standalone page: what was found, where, and the records as tables.
fn summary_html(result: &AccessResult, organisation: &str) -> String {
    let org = escape(organisation);
    let mut body = String::new();
    body.push_str(&format!(
        "<p>This package holds the personal data {org} found about you: {} records in {} places. \
         Each place is also in <code>records/</code> as JSON and CSV files.</p>\n",
        result.record_count(),
        result.records.len()
    ));
    if !result.routed_to_controller.is_empty() {
        body.push_str(&format!(
            "<p>Some data we hold only on behalf of other organisations (as their processor); your request \
             was passed to them: {}.</p>\n",
            result
                .routed_to_controller
                .iter()
                .map(|r| escape(&r.datastore))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !result.manual_tasks.is_empty() {
        body.push_str(&format!(
            "<p>Some systems are searched by hand; their data will follow: {}.</p>\n",
            result
                .manual_tasks
                .iter()
                .map(|t| escape(&t.datastore))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (name, records) in &result.records {
        body.push_str(&format!(
            "<section>\n<h2>{}</h2>\n<table>\n<caption>{} record{} in {}</caption>\n<thead><tr>",
            escape(name),
            records.rows.len(),
            if records.rows.len() == 1 { "" } else { "s" },
            escape(name)
        ));
        for f in &records.fields {
            body.push_str(&format!("<th scope=\"col\">{}</th>", escape(f)));
        }
        body.push_str("</tr></thead>\n<tbody>\n");
        for row in &records.rows {
            body.push_str("<tr>");
            for v in row {
                body.push_str(&format!(
                    "<td>{}</td>",
                    v.as_deref().map(escape).unwrap_or_default()
                ));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</tbody>\n</table>\n</section>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Your personal data held by {org}</title>\n<style>\n\
         body{{font:16px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d1f23}}\n\
         table{{border-collapse:collapse;width:100%;margin:1rem 0}}th,td{{border:1px solid #ccd;padding:.35rem .5rem;text-align:left;vertical-align:top}}\n\
         th{{background:#f1f3f7}}caption{{text-align:left;font-weight:600;padding:.25rem 0}}section{{overflow-x:auto}}\n\
         </style>\n</head>\n<body>\n<main>\n<h1>Your personal data held by {org}</h1>\n{body}</main>\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::Records;

    #[test]
    fn package_holds_json_csv_and_an_escaped_summary() {
        let mut result = AccessResult::default();
        result.records.insert(
            "crm.customers".into(),
            Records {
                fields: vec!["email".into(), "note".into()],
                rows: vec![vec![
                    Some("ada@example.com".into()),
                    Some("<b>vip</b>, \"gold\"".into()),
                ]],
            },
        );
        let bytes = access_package(&result, "Example & Co").expect("package");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        let mut names: Vec<String> = archive
            .file_names()
            .map(|n| n.map(|n| n.into_owned()).expect("entry name"))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "index.html",
                "records/crm.customers.csv",
                "records/crm.customers.json",
                "result.json"
            ]
        );
        let mut read = |name: &str| {
            let mut s = String::new();
            archive
                .by_name(name)
                .expect("entry")
                .read_to_string(&mut s)
                .expect("utf-8");
            s
        };
        assert_eq!(
            read("records/crm.customers.csv"),
            "email,note\nada@example.com,\"<b>vip</b>, \"\"gold\"\"\"\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&read("records/crm.customers.json")).expect("json");
        assert_eq!(json[0]["email"], "ada@example.com");
        let html = read("index.html");
        assert!(html.contains("Example &amp; Co") && html.contains("&lt;b&gt;vip&lt;/b&gt;"));
        assert!(!html.contains("<b>vip"));
    }
}
