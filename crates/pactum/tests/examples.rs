//! The maps in `examples/` are complete data maps of fictional organisations, each modelled on one of
//! the reference privacy policies (`shared/reference/policies/`). These tests keep them honest:
//!
//! 1. every example passes `pactum check` with exit 0 and no diagnostic at all, not even a warning;
//! 2. every promise of the policy an example models is declared in its map, at a known path, with the
//!    value the policy promises (the tables below list the promises one by one);
//! 3. the notice `pactum notice` generates from the map states each of those promises.
//!
//! The promise tables are the contract between the policies and the examples: when an example
//! changes, a promise that silently disappears from its map or its notice fails a test here.

use std::path::PathBuf;

use Expect::{AnyMentions, Contains, Equals, Present};
use assert_cmd::Command;
use serde_json::{Value, json};

/// The directory of one example.
fn example_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn pactum() -> Command {
    Command::cargo_bin("pactum").expect("the pactum binary is built for integration tests")
}

/// Every example, by directory name.
const EXAMPLES: [&str; 3] = ["cedarline-consulting", "vaultline-backup", "helpdeskly"];

#[test]
fn examples_directory_lists_exactly_the_tested_examples() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut found: Vec<String> = std::fs::read_dir(&root)
        .expect("examples/ exists at the workspace root")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = EXAMPLES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(
        found, expected,
        "every example must be listed in EXAMPLES (and so checked here)"
    );
}

#[test]
fn every_example_passes_check_with_no_diagnostics() {
    for name in EXAMPLES {
        let dir = example_dir(name);
        let loaded = pactum_mapfile::load_and_check(&dir)
            .unwrap_or_else(|e| panic!("{name}: cannot load the map: {e}"));
        assert!(
            loaded.diagnostics.is_empty(),
            "{name}: expected no diagnostics, got:\n{}",
            pactum_mapfile::report::human(&loaded)
        );

        let out = pactum()
            .args(["check", "--deny-warnings", "--map"])
            .arg(&dir)
            .output()
            .expect("pactum check runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: pactum check failed:\n{stdout}"
        );
        assert!(
            stdout.contains("no problems found"),
            "{name}: pactum check reported something:\n{stdout}"
        );
        assert!(out.stderr.is_empty(), "{name}: unexpected stderr");
    }
}

/// What a promise's map path must hold.
enum Expect {
    /// The path exists (and is not null).
    Present,
    /// The value at the path equals this.
    Equals(Value),
    /// The value at the path is a list that contains this.
    Contains(Value),
    /// The value at the path is a list with a string that contains this text.
    AnyMentions(&'static str),
}

/// One promise of a reference policy and where the example's map declares it.
struct Promise {
    /// The promise, in the policy's words (shortened).
    what: &'static str,
    /// Keys from the top of the map to the declaration (keys may contain dots, so they are separate).
    path: &'static [&'static str],
    expect: Expect,
}

fn p(what: &'static str, path: &'static [&'static str], expect: Expect) -> Promise {
    Promise { what, path, expect }
}

/// Promises of the IT consultancy policy (`000_*.txt`), modelled by `cedarline-consulting`.
#[rustfmt::skip]
fn cedarline_promises() -> Vec<Promise> {
    vec![
        p("personal information may pass to a successor in a merger or acquisition, with notice", &["organisation", "business_transfers"], Present),
        p("we do not rent, sell, or trade your personal information", &["promises", "no_sale"], Equals(json!(true))),
        p("we do not use automatic decision-making", &["promises", "no_automated_decisions"], Equals(json!(true))),
        p("we do not use profiling", &["promises", "no_profiling"], Equals(json!(true))),
        p("we do not store any financial data", &["promises", "no_payment_card_storage"], Equals(json!(true))),
        p("payments are processed by a payment processor", &["processors", "payment_processor", "categories"], Contains(json!("user.financial.credit_card"))),
        p("we will respond to your request within 30 days", &["rights", "response_days"], Equals(json!(30))),
        p("we respond only for the email address the request comes from, after verifying identity", &["rights", "verification"], Present),
        p("we do not knowingly collect data of children under 13", &["promises", "children", "min_age"], Equals(json!(13))),
        p("data of a child under 13 is deleted", &["promises", "children", "on_discovery"], Present),
        p("we make a best effort to honour Do Not Track", &["promises", "dnt"], Equals(json!("honour"))),
        p("visitor table: cookies can be deleted or limited in the browser", &["purposes", "website", "limit", "possible"], Equals(json!(true))),
        p("visitor table: IP address and log data are collected automatically", &["activities", "site_delivery", "sources"], Contains(json!("automatic"))),
        p("prospect table: you can opt out of marketing emails", &["purposes", "marketing", "direct_marketing"], Equals(json!(true))),
        p("prospect data is received from marketing partners", &["activities", "prospect_marketing", "sources"], Contains(json!("third_party"))),
        p("user table: email, username and password are required", &["purposes", "account", "limit", "possible"], Equals(json!(false))),
        p("user table: phone number is required for two-factor authentication", &["activities", "two_factor", "categories"], Contains(json!("user.contact.phone_number"))),
        p("calls are recorded only with explicit consent", &["purposes", "call_recording", "legal_basis", "gdpr"], Equals(json!("consent"))),
        p("consent to recording can be withdrawn verbally or in writing", &["purposes", "call_recording", "withdraw"], Present),
        p("candidate data is received from recruitment agencies", &["activities", "applications", "source_detail"], Present),
        p("we recruit on the basis of our legitimate interest", &["purposes", "recruitment", "legitimate_interest"], Present),
        p("background checks confirm identity and eligibility", &["purposes", "background_check", "special_condition"], Equals(json!("employment_social_security"))),
        p("event data may go to partners and sponsors; you can opt out", &["processors", "event_partners", "role"], Equals(json!("third_party"))),
        p("we disclose to comply with laws and legal process", &["processors", "authorities", "role"], Equals(json!("public_authority"))),
        p("our servers are located in the US", &["processors", "cloud_hosting", "countries"], Contains(json!("US"))),
        p("transfers use standard contractual clauses", &["processors", "analytics", "transfer"], Equals(json!("sccs"))),
        p("data is deleted or anonymised after the statutory period", &["retention", "invoices", "statutory_minimum", "period"], Equals(json!("3 years"))),
        p("rights under GDPR and UK GDPR, including withdrawing consent", &["rights", "regimes", "gdpr"], Contains(json!("withdraw_consent"))),
        p("UK GDPR rights", &["rights", "regimes", "uk_gdpr"], Contains(json!("erasure"))),
        p("CCPA right to non-discrimination", &["rights", "regimes", "ccpa"], Contains(json!("non_discrimination"))),
        p("unresolved complaints go to a free US dispute resolution provider", &["organisation", "dispute_resolution", "name"], Present),
        p("or to your local data protection authority", &["organisation", "authorities", "gdpr"], Present),
        p("security questions go to the security contact", &["organisation", "security_measures"], AnyMentions("security@cedarline.example")),
        p("contact by post, phone and email", &["organisation", "contact", "phone"], Present),
        p("the last-updated date is revised on every change", &["organisation", "notice", "last_updated"], Equals(json!("2023-05-23"))),
    ]
}

/// Promises of the backup/archiving SaaS policy (`002_*.txt`), modelled by `vaultline-backup`.
#[rustfmt::skip]
fn vaultline_promises() -> Vec<Promise> {
    vec![
        p("assets may be transferred in a merger, acquisition or reorganisation", &["organisation", "business_transfers"], Present),
        p("customers are the controllers of data they upload; we are the processor", &["activities", "customer_backups", "role"], Equals(json!("processor"))),
        p("we process uploaded data on each customer's instructions", &["activities", "customer_backups", "controller"], Equals(json!("customers"))),
        p("backups are held as processor", &["datastores", "backup_objects", "role"], Equals(json!("processor"))),
        p("the backup catalogue is held as processor", &["datastores", "catalog_db", "controller"], Equals(json!("customers"))),
        p("third-party requests about customer data are referred to the customer", &["datastores", "backup_objects", "instructions"], Present),
        p("AWS hosts customer data as our subprocessor", &["processors", "aws_backup_storage", "role"], Equals(json!("subprocessor"))),
        p("Google Cloud Platform hosts customer data as our subprocessor", &["processors", "gcp", "role"], Equals(json!("subprocessor"))),
        p("we do not sell or rent customer data or personal information", &["promises", "no_sale"], Equals(json!(true))),
        p("we do not track users across sites for targeted advertising", &["promises", "no_sharing"], Equals(json!(true))),
        p("our website does not respond to Do Not Track", &["promises", "dnt"], Equals(json!("not_honoured"))),
        p("no informational or promotional email until you opt in", &["purposes", "email_updates", "legal_basis", "gdpr"], Equals(json!("consent"))),
        p("you can manage your email preferences", &["purposes", "email_updates", "withdraw"], Present),
        p("transactional emails are sent as long as you use the Services", &["purposes", "account", "limit", "possible"], Equals(json!(false))),
        p("third-party advertising cookies can be refused (NAI opt-out)", &["purposes", "ad_measurement", "limit", "how"], Present),
        p("our emails use beacons and tracking pixels", &["activities", "email_updates", "categories"], Contains(json!("user.behavior.email_engagement"))),
        p("we add information from public sources and third-party databases", &["activities", "enrichment", "sources"], Contains(json!("third_party"))),
        p("web-server logs: IP address, location, browser, pages", &["activities", "web_logs", "categories"], Contains(json!("user.location.imprecise"))),
        p("\"remember me\" sets a persistent cookie", &["datastores", "console_sessions", "collections", "sessions", "key"], Present),
        p("payment card information is collected to take payment", &["processors", "payment_processor", "categories"], Contains(json!("user.financial.credit_card"))),
        p("deletion waits until the law's retention requirement is fulfilled", &["retention", "invoices", "statutory_minimum", "period"], Equals(json!("4 years"))),
        p("law-enforcement disclosure requests are tracked", &["datastores", "disclosure_register", "collections", "requests"], Present),
        p("we disclose under subpoena, court order or warrant", &["processors", "authorities", "role"], Equals(json!("public_authority"))),
        p("services are not directed to children under 13", &["promises", "children", "min_age"], Equals(json!(13))),
        p("a child's information is deleted immediately", &["promises", "children", "on_discovery"], Present),
        p("you may access, correct and erase your information", &["rights", "regimes", "gdpr"], Contains(json!("erasure"))),
        p("requests are answered within the promised time", &["rights", "response_days"], Equals(json!(30))),
        p("complaints go to the privacy team, which responds", &["rights", "appeal"], Present),
        p("privacy contact: legal@ and postal address", &["organisation", "contact", "email"], Equals(json!("legal@vaultline.example"))),
        p("revision date", &["organisation", "notice", "last_updated"], Equals(json!("2017-07-09"))),
    ]
}

/// Promises of the managed-IT support desk policy (`003_*.txt`), modelled by `helpdeskly`.
#[rustfmt::skip]
fn helpdeskly_promises() -> Vec<Promise> {
    vec![
        p("a breach likely to cause harm is notified to the people affected and regulators", &["organisation", "breach_notification"], Present),
        p("personal information may transfer in a merger or sale of assets", &["organisation", "business_transfers"], Present),
        p("subprocessor: Cloudflare (CDN, DDoS, DNS; global network)", &["processors", "cloudflare", "name"], Equals(json!("Cloudflare, Inc."))),
        p("subprocessor: AWS (infrastructure, email via SES)", &["processors", "aws", "name"], Equals(json!("Amazon Web Services, Inc."))),
        p("subprocessor: Zoho Desk (ticketing, client portal)", &["processors", "zoho", "name"], Equals(json!("Zoho Corporation (Zoho Desk)"))),
        p("subprocessor: OpenAI processes AI assistant inputs", &["processors", "openai", "categories"], Contains(json!("user.content.ai_assistant_input"))),
        p("subprocessor: Plausible, with no personal data", &["categories", "system.aggregate_page_stats", "personal"], Equals(json!(false))),
        p("subprocessor: Microsoft 365", &["processors", "microsoft", "name"], Equals(json!("Microsoft Corporation (Microsoft 365)"))),
        p("support request content is collected", &["activities", "service_requests", "categories"], Contains(json!("user.content.support_request"))),
        p("AI assistant inputs are collected", &["activities", "ai_conversations", "categories"], Contains(json!("user.content.ai_assistant_input"))),
        p("ticket records come from the client portal provider", &["activities", "tickets", "sources"], Contains(json!("third_party"))),
        p("portal access uses magic links", &["categories", "user.authorization.credentials.sign_in_link", "name"], Present),
        p("rate limits protect our infrastructure", &["datastores", "edge_cache", "collections", "rate_limits", "key"], Present),
        p("security logs are kept from 30 days ...", &["retention", "edge_logs", "period"], Equals(json!("30 days"))),
        p("... to 12 months depending on the log type", &["retention", "access_logs", "period"], Equals(json!("12 months"))),
        p("tickets are kept for the relationship and a period afterwards", &["retention", "tickets", "from"], Equals(json!("relationship_end"))),
        p("portal records are kept for a period after account closure", &["retention", "portal_accounts", "from"], Equals(json!("account_closure"))),
        p("contact and inquiry data is kept as long as needed to follow up", &["retention", "inquiries", "from"], Equals(json!("last_contact"))),
        p("legal holds keep data beyond the standard periods (except counters)", &["retention", "rate_limits", "legal_hold_overrides"], Equals(json!(false))),
        p("we act as a processor for managed-services clients", &["activities", "managed_client_data", "role"], Equals(json!("processor"))),
        p("remote support happens with your consent", &["purposes", "remote_support", "legal_basis", "gdpr"], Equals(json!("consent"))),
        p("cookies are set with your consent", &["purposes", "cookie_preferences", "withdraw"], Present),
        p("legitimate interests: securing our services", &["purposes", "security", "legitimate_interest"], Present),
        p("we do not sell personal information", &["promises", "no_sale"], Equals(json!(true))),
        p("we do not share personal information for cross-context behavioural advertising", &["promises", "no_sharing"], Equals(json!(true))),
        p("CCPA categories: commercial information (service requests)", &["categories", "user.content.service_request", "ccpa"], Equals(json!(["D"]))),
        p("CCPA categories: geolocation (approximate location from IP)", &["activities", "security_monitoring", "categories"], Contains(json!("user.location.imprecise"))),
        p("CCPA categories: professional information (job title)", &["activities", "service_requests", "categories"], Contains(json!("user.job_title"))),
        p("CCPA rights: know, delete, correct, opt out, limit, non-discrimination", &["rights", "regimes", "ccpa"], Contains(json!("limit_sensitive"))),
        p("rights: access, correction, deletion, restriction, objection, portability, withdraw consent", &["rights", "regimes", "gdpr"], Contains(json!("portability"))),
        p("right to complain to a data protection authority", &["rights", "regimes", "gdpr"], Contains(json!("complain"))),
        p("we aim to respond within 30 days", &["rights", "response_days"], Equals(json!(30))),
        p("we may verify your identity", &["rights", "verification"], Present),
        p("no knowing collection from children under 13", &["promises", "children", "min_age"], Equals(json!(13))),
        p("services are for adults aged 18 and older", &["subjects", "portal_user", "min_age"], Equals(json!(18))),
        p("encryption in transit (TLS/HTTPS)", &["organisation", "security_measures"], AnyMentions("TLS/HTTPS")),
        p("transfers rely on standard contractual clauses", &["processors", "openai", "transfer"], Equals(json!("sccs"))),
    ]
}

/// The promises of the example `name`.
fn promises(name: &str) -> Vec<Promise> {
    match name {
        "cedarline-consulting" => cedarline_promises(),
        "vaultline-backup" => vaultline_promises(),
        "helpdeskly" => helpdeskly_promises(),
        other => panic!("no promise table for example `{other}`"),
    }
}

/// Follows `path` through the map's serialised form.
fn lookup<'v>(root: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter()
        .try_fold(root, |v, key| v.get(*key))
        .filter(|v| !v.is_null())
}

#[test]
fn every_promise_of_each_policy_is_declared_in_its_map() {
    let mut failures = Vec::new();
    for name in EXAMPLES {
        let loaded = pactum_mapfile::load_and_check(&example_dir(name))
            .unwrap_or_else(|e| panic!("{name}: cannot load the map: {e}"));
        let map = serde_json::to_value(&loaded.map).expect("a data map serialises to JSON");
        for promise in promises(name) {
            let at = promise.path.join(" > ");
            let Some(found) = lookup(&map, promise.path) else {
                failures.push(format!("{name}: `{}`: nothing at {at}", promise.what));
                continue;
            };
            let ok = match &promise.expect {
                Present => true,
                Equals(want) => found == want,
                Contains(item) => found.as_array().is_some_and(|list| list.contains(item)),
                AnyMentions(text) => found.as_array().is_some_and(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .any(|s| s.contains(text))
                }),
            };
            if !ok {
                failures.push(format!(
                    "{name}: `{}`: {at} holds {found}, which does not keep the promise",
                    promise.what
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "promises missing from the maps:\n{}",
        failures.join("\n")
    );
}

/// What the generated notice must say for each promise: data-driven text that comes from the map
/// (numbers, names, the author's own wording) or the one sentence a promise flag produces.
#[rustfmt::skip]
fn notice_statements(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "cedarline-consulting" => &[
            ("business transfers", "sale of all or part of our assets, or bankruptcy"),
            ("no sale", "we do not sell personal"),
            ("no automated decisions", "we do not make decisions about you based solely on automated processing"),
            ("no profiling", "we do not use your personal data for profiling"),
            ("payment data not stored", "we do not store payment card data"),
            ("payment processor named", "Tollgate Payments, Inc."),
            ("30-day response", "within 30 days"),
            ("verification by the requesting email address", "associated with the email address you write from"),
            ("children under 13", "under 13"),
            ("what happens on discovery", "We delete the information and any account it belongs to"),
            ("DNT honoured (best effort)", "treat a Do Not Track (DNT) signal"),
            ("cookies can be limited in the browser", "Most browsers let you delete or block cookies"),
            ("marketing opt-out", "unsubscribe link in any marketing email"),
            ("data from marketing partners", "Marketing partners and co-hosts of events"),
            ("data from recruitment agencies", "Recruitment agencies that send us candidates"),
            ("call recording only with consent", "We only record with your explicit approval"),
            ("withdraw recording consent verbally or in writing", "Say so during the call"),
            ("2FA phone is required", "required to enable two-factor authentication"),
            ("background checks", "Pre-employment background checks"),
            ("events shared with sponsors", "Event venues, partners and sponsors"),
            ("disclosure to comply with laws", "Courts, law enforcement and government bodies"),
            ("US hosting", "Stratus Cloud Services, Inc."),
            ("SCC transfers", "Standard contractual clauses"),
            ("DPF transfers", "Data Privacy Framework"),
            ("invoice retention", "7 years"),
            ("statutory minimum", "3 years (US federal tax record-keeping rules"),
            ("web logs retention", "30 days"),
            ("CCPA non-discrimination", "Not be discriminated against"),
            ("withdraw consent", "Withdraw consent at any time"),
            ("dispute resolution provider", "Meridian Privacy Dispute Resolution"),
            ("local data protection authority", "The data protection authority of the EU country where you live"),
            ("security contact", "security@cedarline.example"),
            ("postal contact", "1820 W Juniper Street"),
            ("last updated", "23 May 2023"),
        ],
        "vaultline-backup" => &[
            ("business transfers", "merger, acquisition, reorganisation or sale of assets"),
            ("processor for customers' backups", "Hosting customers' backups, archives and failover images"),
            ("processing on the customer's behalf", "on behalf of"),
            ("AWS named", "Amazon Web Services, Inc."),
            ("Google Cloud named", "Google Cloud Platform"),
            ("no sale or rent", "we do not sell personal"),
            ("no cross-site targeted advertising", "we do not share personal"),
            ("DNT not honoured", "do not respond to Do Not Track"),
            ("opt-in email only", "We send none until you opt in"),
            ("email preferences", "email-preferences link"),
            ("NAI opt-out", "Network Advertising Initiative"),
            ("email beacons", "Email opens and clicks"),
            ("data appending", "Public professional profiles and business-contact databases"),
            ("card payments through a processor", "Keystone Payments LLC"),
            ("deletion deferred by statutory retention", "4 years (US federal and California tax record-keeping rules)"),
            ("disclosure register", "every request is recorded in our register"),
            ("children under 13", "under 13"),
            ("deleted immediately", "We delete the information immediately"),
            ("30-day response", "within 30 days"),
            ("complaints to the privacy team", "our privacy team reviews the complaint"),
            ("legal contact", "legal@vaultline.example"),
            ("revision date", "9 July 2017"),
        ],
        "helpdeskly" => &[
            ("breach notification", "notify them and the regulators within the timeframes the law requires"),
            ("business transfers", "personal information may transfer as part of that transaction"),
            ("Cloudflare", "Cloudflare, Inc."),
            ("Cloudflare's global network", "global network"),
            ("AWS", "Amazon Web Services, Inc."),
            ("Zoho Desk", "Zoho Corporation (Zoho Desk)"),
            ("OpenAI", "OpenAI, L.L.C."),
            ("Plausible", "Plausible Insights OÜ (Plausible Analytics)"),
            ("Microsoft 365", "Microsoft Corporation (Microsoft 365)"),
            ("AI assistant inputs go to OpenAI", "Your inputs are sent to OpenAI's API"),
            ("magic-link sign-in", "Sign-in link tokens"),
            ("rate limiting", "rate limiting"),
            ("security logs from 30 days", "30 days"),
            ("to 12 months", "12 months"),
            ("tickets: relationship plus a period", "The end of our relationship"),
            ("portal records after closure", "Closure of the account"),
            ("legal holds", "legal hold"),
            ("no sale", "we do not sell personal"),
            ("no sharing for cross-context advertising", "we do not share personal"),
            ("CCPA identifiers", "A. Identifiers"),
            ("CCPA commercial information", "D. Commercial information"),
            ("CCPA internet activity", "F. Internet or other electronic network activity"),
            ("CCPA geolocation", "G. Geolocation data"),
            ("CCPA professional information", "I. Professional or employment-related information"),
            ("30-day response", "within 30 days"),
            ("children under 13", "under 13"),
            ("adults 18 and over", "18 or over"),
            ("processor for managed-services clients", "Managed services for clients (processor)"),
            ("remote support consent withdrawal", "closing the remote-support application"),
            ("complain to an authority", "Complain to a supervisory authority"),
            ("authorised agents", "authorised agent"),
            ("TLS", "Encryption in transit (TLS/HTTPS)"),
            ("SCC transfers", "Standard contractual clauses"),
            ("privacy contact", "privacy@helpdeskly.example"),
        ],
        other => panic!("no notice statements for example `{other}`"),
    }
}

#[test]
fn every_notice_states_every_promise() {
    let mut failures = Vec::new();
    for name in EXAMPLES {
        let out = pactum()
            .args(["notice", "--format", "md", "--map"])
            .arg(example_dir(name))
            .output()
            .expect("pactum notice runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: pactum notice failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Markdown escapes underscores and may wrap emphasis around words: compare on plain,
        // case-folded text.
        let notice = String::from_utf8_lossy(&out.stdout)
            .replace('\\', "")
            .replace("**", "")
            .to_lowercase();
        for (promise, text) in notice_statements(name) {
            if !notice.contains(&text.to_lowercase()) {
                failures.push(format!(
                    "{name}: the notice does not state `{promise}` (expected \"{text}\")"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "promises missing from the notices:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_example_renders_its_documents() {
    for name in EXAMPLES {
        for args in [
            ["notice", "--format", "html"],
            ["notice", "--format", "json"],
            ["ropa", "--format", "csv"],
            ["ropa", "--format", "json"],
        ] {
            let out = pactum()
                .args(args)
                .arg("--map")
                .arg(example_dir(name))
                .output()
                .expect("pactum runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name}: `pactum {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !out.stdout.is_empty(),
                "{name}: `pactum {}` printed nothing",
                args.join(" ")
            );
        }
    }
}
