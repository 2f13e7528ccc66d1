//! The packages a person downloads. Access: a ZIP with, per collection, the records as JSON and
//! as CSV, and a readable HTML summary that opens in any browser. Portability (GDPR Art. 20): a
//! ZIP with one structured JSON file of the data the person provided or that their use of the
//! service produced, without what was inferred about them and without credentials.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use pactum_domain::catalog::Catalog;
use pactum_domain::model::DataMap;

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

/// Whether a field belongs in a portability export. Art. 20 covers data the person provided,
/// including what their use of the service records (the WP29 guidelines), not what was inferred or
/// derived about them (a field whose every category is an inference, CCPA category K, such as
/// `user.demographic.profile`); credentials (`user.authorization.*`) are left out too: they are of
/// no use elsewhere and a risk in a file.
fn portable(catalog: &Catalog<'_>, field: &pactum_domain::model::Field) -> bool {
    let credential = field
        .categories
        .iter()
        .any(|c| c == "user.authorization" || c.starts_with("user.authorization."));
    let inferred = !field.categories.is_empty()
        && field
            .categories
            .iter()
            .all(|c| catalog.traits(c).ccpa.contains(&'K'));
    !credential && !inferred
}

/// Builds the portability ZIP: `portability.json`, one structured, machine-readable document:
/// `{"format", "organisation", "records": {"datastore.collection": [{field: value}]}}`, with the
/// fields [`portable`] keeps (collections with none left out).
pub fn portability_package(
    result: &AccessResult,
    map: &DataMap,
    organisation: &str,
) -> Result<Vec<u8>, PackageError> {
    let catalog = Catalog::new(map);
    let mut records = serde_json::Map::new();
    for (name, found) in &result.records {
        let collection = name
            .split_once('.')
            .and_then(|(ds, coll)| map.datastores.get(ds)?.collections.get(coll));
        let keep: Vec<usize> = found
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                collection
                    .and_then(|c| c.fields.get(f.as_str()))
                    .is_none_or(|def| portable(&catalog, def))
            })
            .map(|(i, _)| i)
            .collect();
        if keep.is_empty() {
            continue;
        }
        let rows: Vec<serde_json::Value> = found
            .rows
            .iter()
            .map(|row| {
                keep.iter()
                    .map(|&i| {
                        (
                            found.fields[i].clone(),
                            row.get(i)
                                .cloned()
                                .flatten()
                                .map_or(serde_json::Value::Null, serde_json::Value::String),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect();
        records.insert(name.clone(), rows.into());
    }
    let document = serde_json::json!({
        "format": "pactum-portability/1",
        "organisation": organisation,
        "records": records,
    });
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("portability.json", options)?;
    zip.write_all(serde_json::to_string_pretty(&document)?.as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::Records;

    #[test]
    fn portability_keeps_what_was_provided_and_leaves_out_inferences_and_credentials() {
        let loaded = users_map();
        let mut result = AccessResult::default();
        result.records.insert(
            "app.users".into(),
            Records {
                fields: vec![
                    "id".into(),
                    "email".into(),
                    "password_hash".into(),
                    "segment".into(),
                    "last_login_ip".into(),
                ],
                rows: vec![vec![
                    Some("7".into()),
                    Some("ada@example.com".into()),
                    Some("$argon2id$...".into()),
                    Some("likely to churn".into()),
                    None,
                ]],
            },
        );
        let bytes = portability_package(&result, &loaded, "Example").expect("package");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        assert_eq!(archive.len(), 1);
        let mut text = String::new();
        archive
            .by_name("portability.json")
            .expect("the document")
            .read_to_string(&mut text)
            .expect("utf-8");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(json["format"], "pactum-portability/1");
        assert_eq!(
            json["records"]["app.users"],
            serde_json::json!([{"id": "7", "email": "ada@example.com", "last_login_ip": null}])
        );
    }

    /// A map with a users table: an id, an email, a password hash, an inferred segment and an IP.
    fn users_map() -> DataMap {
        let text = "datastores:\n  app:\n    kind: sqlite\n    connection_env: APP_URL\n    collections:\n      users:\n        fields:\n          id: {primary_key: true}\n          email: {categories: [user.contact.email]}\n          password_hash: {categories: [user.authorization.password]}\n          segment: {categories: [user.demographic.profile]}\n          last_login_ip: {categories: [user.device.ip_address]}\n";
        pactum_mapfile::load_str("map.yml", text).map
    }

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
