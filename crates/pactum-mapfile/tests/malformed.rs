//! Malformed maps give clear, located errors and never a panic. Snapshots show exactly what a person
//! reads.

use std::path::Path;

use pactum_mapfile::{load_and_check, load_str, report};

fn render(name: &str, text: &str) -> String {
    report::human(&load_str(name, text))
}

#[test]
fn bad_yaml_syntax() {
    insta::assert_snapshot!(render(
        "broken.yml",
        "purposes:\n  support:\n    name: [unclosed\n    description: x\n"
    ));
}

#[test]
fn wrong_types() {
    insta::assert_snapshot!(render(
        "types.yml",
        "subjects:\n  customer:\n    name: [not, a, string]\n  kid:\n    name: Kids\n    min_age: twelve\n"
    ));
}

#[test]
fn unknown_keys_are_all_reported_with_suggestions() {
    insta::assert_snapshot!(render(
        "keys.yml",
        "purpose:\n  x: {}\nsubjects:\n  customer:\n    nme: Customers\n    descripton: People\n"
    ));
}

#[test]
fn duplicate_keys_in_one_file() {
    insta::assert_snapshot!(render(
        "dup.yml",
        "subjects:\n  customer: {name: A}\n  customer: {name: B}\n"
    ));
}

#[test]
fn duplicate_keys_across_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.yml"),
        "subjects:\n  customer: {name: A}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("b.yml"),
        "subjects:\n  customer: {name: B}\n",
    )
    .expect("write");
    let loaded = load_and_check(dir.path()).expect("loads");
    let dup = loaded
        .diagnostics
        .iter()
        .find(|d| d.code == "duplicate-key")
        .expect("duplicate reported");
    assert_eq!(
        loaded.files[dup.file.expect("file")].path,
        dir.path().join("b.yml")
    );
    assert_eq!(dup.related.len(), 1);
    assert_eq!(
        loaded.files[dup.related[0].1].path,
        dir.path().join("a.yml")
    );
}

#[test]
fn dangling_references_with_did_you_mean() {
    insta::assert_snapshot!(render(
        "refs.yml",
        "subjects:\n  customer: {name: Customers}\npurposes:\n  support: {name: Support, description: Helping.}\nactivities:\n  help:\n    name: Help desk\n    subjects: [customers]\n    categories: [user.contact.emial]\n    purposes: [suport]\n"
    ));
}

#[test]
fn wrong_top_level_shapes() {
    insta::assert_snapshot!(render("list.yml", "- just\n- a list\n"));
    insta::assert_snapshot!(render("scalar-section.yml", "purposes: 42\n"));
}

#[test]
fn alias_bomb_is_refused_quickly() {
    let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for name in 'b'..='l' {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        doc.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    let loaded = load_str("bomb.yml", &doc);
    assert_eq!(loaded.diagnostics[0].code, "yaml-syntax");
    assert!(loaded.diagnostics[0].message.contains("alias bomb"));
}

#[test]
fn huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.yml");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(50 * 1024 * 1024).expect("grow to 50 MB");
    let loaded = load_and_check(&path).expect("loads with a diagnostic");
    assert_eq!(loaded.diagnostics[0].code, "file-too-large");
    insta::assert_snapshot!(
        report::human(&loaded).replace(&path.display().to_string(), "huge.yml")
    );
}

#[test]
fn missing_path_and_empty_directory_are_errors() {
    let err = load_and_check(Path::new("/nonexistent/pactum-map")).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "/nonexistent/pactum-map: no such file or directory"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_and_check(dir.path()).expect_err("empty");
    assert!(
        err.to_string()
            .ends_with("no .yml or .yaml files in this directory")
    );
}

#[test]
fn non_utf8_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bin.yml"), [0xff, 0xfe, 0x00, 0x41]).expect("write");
    let loaded = load_and_check(dir.path()).expect("loads");
    assert_eq!(loaded.diagnostics[0].code, "invalid-utf8");
}

#[test]
fn json_and_sarif_carry_positions() {
    let loaded = load_str("refs.yml", "subjects:\n  customer: {nme: x}\n");
    let json = report::json(&loaded);
    assert_eq!(json["diagnostics"][0]["line"], 2);
    assert_eq!(json["diagnostics"][0]["column"], 14);
    assert_eq!(json["diagnostics"][0]["code"], "unknown-key");
    let sarif = report::sarif(&loaded);
    let region = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(sarif["version"], "2.1.0");
}

/// Arbitrary bytes never panic the loader.
#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "---",
        "...",
        ":",
        "- - -",
        "{",
        "[[[[",
        "a: b: c",
        "? x\n: y",
        "a: !!binary xx",
        "organisation: {regimes: [martian]}",
        "datastores: {d: {kind: redis, collections: {k: {fields: {f: {erasure: {fixed: }}}}}}}",
        "retention: {r: {applies_to: {}, period: forever, from: {field: }, action: shred}}",
        "\t\tbad: indent",
        "a: *unknown",
        "&x a: 1",
    ];
    for text in samples {
        let _ = load_str("g.yml", text);
    }
}
