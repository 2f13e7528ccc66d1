//! The promise checks, case by case: each case edits a valid base map and names the diagnostics
//! (code and line) it must produce. One `check` helper; many small cases.

use pactum_mapfile::load_str;

const BASE: &str = include_str!("base_map.yml");

/// Applies `edits` (find, replace) to the base map, loads it, and returns `code@line` for every
/// diagnostic, in order.
fn diagnostics(edits: &[(&str, &str)]) -> Vec<String> {
    let mut text = BASE.to_owned();
    for (find, replace) in edits {
        assert!(text.contains(find), "base map has no `{find}`");
        text = text.replacen(find, replace, 1);
    }
    let loaded = load_str("map.yml", &text);
    loaded
        .diagnostics
        .iter()
        .map(|d| format!("{}@{}", d.code, d.span.map(|s| s.start.line).unwrap_or(0)))
        .collect()
}

fn check(edits: &[(&str, &str)], expected: &[&str]) {
    assert_eq!(diagnostics(edits), expected, "edits: {edits:?}");
}

#[test]
fn base_map_is_clean() {
    check(&[], &[]);
}

#[test]
fn sale_contradicts_no_sale_promise() {
    check(
        &[(
            "    withdraw: Unsubscribe link.\n",
            "    withdraw: Unsubscribe link.\n    sale: true\n",
        )],
        &["promise-no-sale@21"],
    );
}

#[test]
fn sharing_contradicts_no_sharing_promise() {
    check(
        &[(
            "    withdraw: Unsubscribe link.\n",
            "    withdraw: Unsubscribe link.\n    sharing: true\n",
        )],
        &["promise-no-sharing@21"],
    );
}

#[test]
fn sale_needs_gpc_and_opt_out_when_not_promised_away() {
    check(
        &[
            (
                "    withdraw: Unsubscribe link.\n",
                "    withdraw: Unsubscribe link.\n    sale: true\n",
            ),
            ("  no_sale: true\n", ""),
            ("  gpc: honour\n", "  gpc: not_honoured\n"),
        ],
        &["gpc-not-honoured@73"],
    );
}

#[test]
fn special_category_needs_an_article_9_condition() {
    check(
        &[(
            "categories: [user.contact.email, user.name]",
            "categories: [user.contact.email, user.name, user.health_and_medical]",
        )],
        &[
            "special-category-without-condition@26",
            "special-category-without-condition@26",
            "no-retention-rule@25",
        ],
    );
}

#[test]
fn transfer_without_adequacy_or_mechanism() {
    check(
        &[("    transfer: dpf\n", "")],
        &[
            "transfer-without-safeguard@52",
            "transfer-without-safeguard@52",
        ],
    );
    // DPF only covers the US.
    check(
        &[("countries: [US]", "countries: [IN]")],
        &[
            "transfer-without-safeguard@52",
            "transfer-without-safeguard@52",
        ],
    );
    // Adequate destinations need nothing.
    check(
        &[
            ("countries: [US]", "countries: [JP]"),
            ("    transfer: dpf\n", ""),
        ],
        &[],
    );
}

#[test]
fn personal_data_without_retention() {
    check(
        &[(
            "{categories: [user.contact, user.name]}",
            "{categories: [user.contact]}",
        )],
        &["no-retention-rule@25"],
    );
    // A rule by collection covers a field's categories in that collection, but not the activity's.
    check(
        &[(
            "{categories: [user.contact, user.name]}",
            "{categories: [user.contact], collections: [db.users]}",
        )],
        &["no-retention-rule@25"],
    );
}

#[test]
fn consent_without_withdrawal() {
    check(
        &[("    withdraw: Unsubscribe link.\n", "")],
        &["consent-without-withdrawal@16"],
    );
}

#[test]
fn processor_receiving_uncovered_categories() {
    check(
        &[(
            "categories: [user.contact.email]\n    countries",
            "categories: [user.contact.email, user.device.ip_address]\n    countries",
        )],
        &["processor-categories-not-covered@51"],
    );
}

#[test]
fn datastore_without_identity_path() {
    check(
        &[(
            "user_id: {references: [users.id], erasure: delete_row}",
            "customer_name: {categories: [user.name], erasure: nullify}",
        )],
        &["no-identity-path@42"],
    );
}

#[test]
fn response_time_longer_than_the_law_allows() {
    check(
        &[("response_days: 30", "response_days: 45")],
        &[
            "response-time-exceeds-law@61",
            "response-time-exceeds-law@61",
        ],
    );
}

#[test]
fn children_without_age_rule() {
    check(
        &[(
            "  customer: {name: Customers}\n",
            "  customer: {name: Customers}\n  kids: {name: Children, children: true}\n",
        )],
        &["children-without-age-rule@11", "unused@11"],
    );
    check(
        &[(
            "  customer: {name: Customers}\n",
            "  customer: {name: Customers}\n  kids: {name: Children, children: true, min_age: 13}\n",
        )],
        &["unused@11"],
    );
}

#[test]
fn dangling_references() {
    check(
        &[("purposes: [service, news]", "purposes: [service, newz]")],
        &["unused@16", "unknown-reference@26"],
    );
    check(
        &[("subjects: [customer]", "subjects: [custmer]")],
        &["unused@10", "unknown-reference@24"],
    );
    check(
        &[("systems: [app]", "systems: [ap]")],
        &["unknown-reference@28"],
    );
    check(
        &[("references: [users.id]", "references: [users.uid]")],
        &["unknown-reference@44"],
    );
    check(
        &[("processors: [host]", "processors: [hots]")],
        &["unknown-reference@30"],
    );
    check(
        &[(
            "categories: [user.contact.email, user.name]",
            "categories: [user.contact.emial, user.name]",
        )],
        &[
            "unknown-reference@25",
            // The processor's email is no longer covered by any activity: a real second problem.
            "processor-categories-not-covered@51",
        ],
    );
}

#[test]
fn payment_cards_while_promising_not_to_store_them() {
    check(
        &[(
            "          total: {}",
            "          card: {categories: [user.financial.credit_card], erasure: nullify}",
        )],
        &["promise-no-payment-card-storage@45", "no-retention-rule@45"],
    );
}

#[test]
fn inline_secrets_are_refused() {
    check(
        &[(
            "connection_env: APP_DB_URL",
            "connection_env: \"postgres://u:pw@h/db\"",
        )],
        &["inline-secret@35"],
    );
}

#[test]
fn legitimate_interests_need_a_balancing_note() {
    check(
        &[(
            "{gdpr: contract, uk_gdpr: contract}",
            "{gdpr: legitimate_interests, uk_gdpr: contract}",
        )],
        &["legitimate-interest-without-balancing@15"],
    );
}

#[test]
fn automated_decisions_contradict_the_promise() {
    check(
        &[(
            "    description: Running the service.\n",
            "    description: Running the service.\n    automated_decisions: true\n",
        )],
        &["promise-no-automated-decisions@15"],
    );
}

#[test]
fn every_problem_in_one_pass() {
    let found = diagnostics(&[
        ("purposes: [service, news]", "purposes: [service, newz]"),
        ("response_days: 30", "response_days: 45"),
        ("kind: postgres", "kind: postgress"),
        ("  no_sale: true\n", "  no_sael: true\n"),
    ]);
    for code in [
        "unknown-reference",
        "response-time-exceeds-law",
        "invalid-value",
        "unknown-key",
    ] {
        assert!(
            found.iter().any(|d| d.starts_with(code)),
            "{code} missing from {found:?}"
        );
    }
}

#[test]
fn response_time_can_differ_per_regime() {
    // LGPD allows 15 days; a 30-day promise needs a per-regime override.
    check(
        &[
            (
                "regimes: [gdpr, uk_gdpr, ccpa]",
                "regimes: [gdpr, uk_gdpr, ccpa, lgpd]",
            ),
            (
                "    ccpa: [know",
                "    lgpd: [confirmation, access, correct, anonymisation, portability, delete, information_on_sharing, withdraw_consent, complain]\n    ccpa: [know",
            ),
        ],
        &[
            "missing-legal-basis@15",
            "missing-legal-basis@19",
            "response-time-exceeds-law@61",
        ],
    );
    check(
        &[(
            "  response_days: 30\n",
            "  response_days: 30\n  response_days_by_regime: {ccpa: 50}\n",
        )],
        &["response-time-exceeds-law@62"],
    );
}

#[test]
fn transient_activities_need_no_retention() {
    let card_activity = "\n  pay:\n    name: Payments\n    subjects: [customer]\n    categories: [user.financial.credit_card]\n    purposes: [service]\n    transient: true\nsystems:";
    check(&[("\nsystems:", card_activity)], &[]);
    check(
        &[(
            "\nsystems:",
            &card_activity.replace("    transient: true\n", ""),
        )],
        &["no-retention-rule@32"],
    );
}

#[test]
fn processor_activities_take_the_controllers_basis_and_conditions() {
    let processing = "\n  hosting:\n    name: Customer files\n    subjects: [customer]\n    categories: [user.health_and_medical]\n    purposes: [hosting]\n    role: processor\n    controller: customers\n    transient: true\nsystems:";
    let purpose =
        "\n  hosting: {name: Hosting, description: Storing customers' files.}\nactivities:";
    check(
        &[("\nsystems:", processing), ("\nactivities:", purpose)],
        &[],
    );
}

#[test]
fn processor_may_name_a_parent_category() {
    check(
        &[(
            "    categories: [user.contact.email]\n    countries",
            "    categories: [user.contact]\n    countries",
        )],
        &[],
    );
}

#[test]
fn opt_out_right_is_required_only_when_selling() {
    check(
        &[(
            "ccpa: [know, delete, correct, opt_out_sale_sharing, limit_sensitive, non_discrimination]",
            "ccpa: [know, delete, correct, non_discrimination]",
        )],
        &[],
    );
}

#[test]
fn profiling_contradicts_the_promise() {
    check(
        &[
            (
                "    description: Running the service.\n",
                "    description: Running the service.\n    profiling: true\n",
            ),
            (
                "  no_automated_decisions: true\n",
                "  no_automated_decisions: true\n  no_profiling: true\n",
            ),
        ],
        &["promise-no-profiling@15"],
    );
}

#[test]
fn rectifiable_fields_are_named_and_never_links() {
    check(
        &[(
            "name: {categories: [user.name], erasure: nullify}",
            "name: {categories: [user.name], erasure: nullify, rectify: name}",
        )],
        &[],
    );
    check(
        &[(
            "name: {categories: [user.name], erasure: nullify}",
            "name: {categories: [user.name], erasure: nullify, rectify: Full Name}",
        )],
        &["rectify-name@41"],
    );
    // A key, a field referred to, and a reference: correcting them would break the links.
    check(
        &[(
            "id: {primary_key: true, identity: user_id}",
            "id: {primary_key: true, identity: user_id, rectify: id}",
        )],
        &["rectify-link@39"],
    );
    check(
        &[(
            "user_id: {references: [users.id], erasure: delete_row}",
            "user_id: {references: [users.id], erasure: delete_row, rectify: user}",
        )],
        &["rectify-link@44"],
    );
}
