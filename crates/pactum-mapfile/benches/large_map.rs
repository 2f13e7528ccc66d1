//! Benchmark: load and check a map of 200 datastores x 50 fields (the size issue #2 sets).
//!
//! `cargo bench -p pactum-mapfile --bench large_map` prints min / median / max over several runs and
//! writes the generated map to `target/bench-large-map/` so the whole `pactum check` process can be
//! timed too (`pactum check --map target/bench-large-map`). Target: well under one second.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

const DATASTORES: usize = 200;
const FIELDS: usize = 50;
const COLLECTIONS: usize = 5;

const CATEGORIES: &[&str] = &[
    "user.contact.email",
    "user.name",
    "user.contact.phone_number",
    "user.contact.address",
    "user.device.ip_address",
    "user.behavior.purchase_history",
    "user.account.username",
    "user.demographic.date_of_birth",
];

/// A valid map of the requested size: every field categorised, identity paths and references set.
fn generate() -> Vec<(String, String)> {
    let mut org = String::from(
        "organisation:\n  name: Bench Ltd\n  contact: {email: privacy@bench.test}\n  regimes: [gdpr, uk_gdpr, ccpa]\n  authorities:\n    gdpr: {name: DPC}\n    uk_gdpr: {name: ICO}\n  notice: {version: \"1\", last_updated: 2026-01-01}\nsubjects:\n  customer: {name: Customers}\npurposes:\n  service:\n    name: Service\n    description: Running the service.\n    legal_basis: {gdpr: contract, uk_gdpr: contract}\nactivities:\n  all:\n    name: Everything\n    subjects: [customer]\n    purposes: [service]\n    systems: [app]\n    categories: [",
    );
    org.push_str(&CATEGORIES.join(", "));
    org.push_str("]\nsystems:\n  app: {name: App}\nretention:\n  all:\n    applies_to: {categories: [user]}\n    period: 2 years\n    from: relationship_end\n    action: delete\nrights:\n  response_days: 30\n  verification: Code by email.\n  contact: {email: privacy@bench.test}\n  regimes:\n    gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]\n    uk_gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]\n    ccpa: [know, delete, correct, opt_out_sale_sharing, limit_sensitive, non_discrimination]\n");
    let mut files = vec![("organisation.yml".to_owned(), org)];
    for d in 0..DATASTORES {
        let mut text = String::from("datastores:\n");
        let _ = writeln!(
            text,
            "  ds{d}:\n    system: app\n    kind: postgres\n    connection_env: DS{d}_URL\n    collections:"
        );
        for c in 0..COLLECTIONS {
            let _ = writeln!(text, "      t{c}:\n        fields:");
            for f in 0..FIELDS / COLLECTIONS {
                let category = CATEGORIES[(d + c + f) % CATEGORIES.len()];
                let extra = match (c, f) {
                    (0, 0) => ", identity: email".to_owned(),
                    (_, 0) => ", references: [t0.f0]".to_owned(),
                    _ => String::new(),
                };
                let _ = writeln!(
                    text,
                    "          f{f}: {{categories: [{category}], erasure: nullify{extra}}}"
                );
            }
        }
        files.push((format!("ds{d:03}.yml"), text));
    }
    files
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-large-map");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench dir");
    for (name, text) in generate() {
        std::fs::write(dir.join(name), text).expect("write bench file");
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut fields = 0;
    for _ in 0..10 {
        let start = Instant::now();
        let loaded = pactum_mapfile::load_and_check(&dir).expect("bench map loads");
        times.push(start.elapsed());
        assert!(
            !loaded.has_errors(),
            "bench map must be valid:\n{}",
            pactum_mapfile::report::human(&loaded)
        );
        fields = loaded
            .map
            .datastores
            .values()
            .flat_map(|d| d.collections.values())
            .map(|c| c.fields.len())
            .sum();
    }
    times.sort();
    let loaded = pactum_mapfile::load_and_check(&dir).expect("bench map loads");
    let mut render: Vec<Duration> = Vec::new();
    let mut bytes = 0;
    for _ in 0..10 {
        let start = Instant::now();
        let notice = pactum_publish::notice::build(&loaded.map);
        let html = pactum_publish::html::render(&notice);
        let md = pactum_publish::markdown::render(&notice);
        let ropa = pactum_publish::ropa::build(&loaded.map);
        let csv = pactum_publish::ropa::to_csv(&ropa).expect("csv");
        render.push(start.elapsed());
        bytes = html.len() + md.len() + csv.len();
    }
    render.sort();
    println!(
        "render notice (html + md) and ROPA (csv), {bytes} bytes: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        render[0].as_secs_f64() * 1e3,
        render[render.len() / 2].as_secs_f64() * 1e3,
        render[render.len() - 1].as_secs_f64() * 1e3,
    );
    println!(
        "load + check, {DATASTORES} datastores x {FIELDS} fields ({fields} fields, {} files): min {:.1} ms, median {:.1} ms, max {:.1} ms (target: well under 1000 ms)",
        DATASTORES + 1,
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
    println!("map written to {}", dir.display());
}
