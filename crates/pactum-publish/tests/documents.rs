//! Snapshot and behaviour tests of the generated documents, on maps built in code.

use pactum_domain::model::DataMap;
use pactum_publish::{html, markdown, notice, notice_json, ropa};

/// A fictional managed-IT support desk: controller for its own customers, visitors and candidates,
/// processor for its customers' ticket data. Exercises every section of the notice.
const SUPPORT_DESK: &str = r#"
organisation:
  name: Northwind Support Ltd
  trading_name: Northwind
  description: Northwind runs a managed IT support desk for small businesses.
  website: https://northwind.example
  contact:
    address: 2 Harbour Road, Bristol BS1 4AA, United Kingdom
    email: privacy@northwind.example
    phone: +44 117 496 0000
  dpo:
    name: Alex Morgan
    email: dpo@northwind.example
  representatives:
    gdpr:
      name: EU Rep Services B.V.
      address: Keizersgracht 1, Amsterdam, Netherlands
      email: northwind@eurep.example
  regimes: [gdpr, uk_gdpr, ccpa]
  authorities:
    uk_gdpr:
      name: Information Commissioner's Office
      url: https://ico.org.uk/make-a-complaint/
    gdpr:
      name: Autoriteit Persoonsgegevens
      url: https://autoriteitpersoonsgegevens.nl
  dispute_resolution:
    name: Privacy Disputes Service
    url: https://disputes.example
  notice:
    version: "2.3"
    last_updated: 2026-03-15
    url: https://northwind.example/privacy
    changes: We announce material changes by email to customers 30 days before they take effect.
  security_measures:
    - Encryption in transit (TLS 1.2+) and at rest (AES-256)
    - Single sign-on with multi-factor authentication for all staff
    - Security logs reviewed daily

subjects:
  visitor:
    name: Website visitors
  customer:
    name: Customer contacts
    description: People at our client businesses who raise tickets or manage the contract.
    min_age: 18
  candidate:
    name: Job candidates

categories:
  custom.ticket_content:
    name: Ticket content
    parent: user.content
  custom.screenshots:
    name: Screenshots
    parent: user.content.private

purposes:
  support:
    name: Providing support
    description: To answer tickets and fix the problems you report.
    data_use: essential.service
    legal_basis: {gdpr: contract, uk_gdpr: contract}
    requirement: We need your contact details to answer a ticket; without them we cannot help.
    limit:
      possible: false
      how: Needed to deliver the support you asked for.
  security:
    name: Keeping our services secure
    description: To detect abuse and investigate incidents.
    legal_basis: {gdpr: legitimate_interests, uk_gdpr: legitimate_interests}
    legitimate_interest: Protecting our systems and clients from attack; the logs hold no content and are kept briefly.
    profiling: true
    limit:
      possible: false
      how: Security logs are collected from every request.
  newsletter:
    name: Service newsletter
    description: To send a monthly newsletter to people who asked for it.
    legal_basis: {gdpr: consent, uk_gdpr: consent}
    direct_marketing: true
    withdraw: Use the unsubscribe link in any newsletter.
    limit:
      possible: true
      how: Unsubscribe at any time.
  recruitment:
    name: Recruitment
    description: To assess applications and make job offers.
    legal_basis: {gdpr: legitimate_interests, uk_gdpr: legitimate_interests}
    legitimate_interest: Hiring staff; candidates expect us to assess what they send.
    special_condition: employment_social_security
  client_support:
    name: Support for our clients' users
    description: To handle tickets raised by our clients' staff, on our clients' instructions.
    legal_basis: {gdpr: contract, uk_gdpr: contract}

activities:
  tickets:
    name: Support tickets
    subjects: [customer]
    categories: [user.name, user.contact.email, user.contact.phone_number, custom.ticket_content]
    purposes: [support]
    sources: [direct]
    systems: [desk]
  logs:
    name: Security logs
    subjects: [visitor, customer]
    categories: [user.device.ip_address, user.device.device_id]
    purposes: [security]
    sources: [automatic]
    systems: [desk]
  newsletter:
    name: Newsletter
    subjects: [customer]
    categories: [user.contact.email]
    purposes: [newsletter]
    sources: [direct]
    systems: [mailer]
  applications:
    name: Job applications
    subjects: [candidate]
    categories: [user.name, user.contact.email, user.criminal_history]
    purposes: [recruitment]
    sources: [direct, third_party]
    source_detail: recruitment agencies
  client_tickets:
    name: Tickets of our clients' users
    subjects: [customer]
    categories: [user.name, user.contact.email, custom.screenshots]
    purposes: [client_support]
    systems: [desk]
    role: processor
    controller: customers

systems:
  desk:
    name: Help desk
    processors: [deskhost]
  mailer:
    name: Newsletter sender
    processors: [mailco]

datastores:
  desk_db:
    system: desk
    kind: postgres
    connection_env: DESK_DATABASE_URL
    collections:
      contacts:
        fields:
          id: {primary_key: true, identity: user_id}
          email: {categories: [user.contact.email], identity: email, erasure: keyed_hash}
          name: {categories: [user.name], erasure: {fixed: "[erased]"}}
          phone: {categories: [user.contact.phone_number], erasure: nullify}
      tickets:
        fields:
          contact_id: {references: [contacts.id], erasure: delete_row}
          body: {categories: [custom.ticket_content], erasure: nullify}
          closed_at: {description: Date the ticket was closed.}
      access_log:
        fields:
          contact_id: {references: [contacts.id], erasure: delete_row}
          ip: {categories: [user.device.ip_address], erasure: nullify}
          device: {categories: [user.device.device_id], erasure: nullify}
  client_files:
    system: desk
    kind: manual
    instructions: The desk lead deletes the client's folder on request.
    role: processor
    controller: customers
    collections:
      screenshots:
        fields:
          owner_email: {categories: [user.contact.email], identity: email, erasure: delete_row}
          image: {categories: [custom.screenshots], erasure: delete_row}
          name: {categories: [user.name], erasure: delete_row}
  hr:
    kind: manual
    instructions: HR deletes the candidate's file from the shared drive.
    collections:
      candidates:
        fields:
          email: {categories: [user.contact.email], identity: email, erasure: delete_row}
          name: {categories: [user.name], erasure: delete_row}
          dbs_check: {categories: [user.criminal_history], erasure: delete_row}

processors:
  deskhost:
    name: DeskHost GmbH
    service: Hosting of the help desk
    purposes: [support, security, client_support]
    categories: [user.name, user.contact.email, user.contact.phone_number, custom.ticket_content, custom.screenshots, user.device.ip_address, user.device.device_id]
    countries: [DE]
    agreement: DPA 2025-02
    url: https://deskhost.example
  filevault:
    name: FileVault LLC
    service: Storage of our clients' screenshots
    role: subprocessor
    parent: deskhost
    purposes: [client_support]
    categories: [custom.screenshots]
    countries: [US]
    transfer: sccs
  mailco:
    name: MailCo Inc.
    service: Newsletter delivery
    purposes: [newsletter]
    categories: [user.contact.email]
    countries: [US]
    transfer: sccs
    agreement: DPA with SCCs module 2, 2025-04

retention:
  tickets:
    description: Support tickets
    applies_to:
      categories: [custom.ticket_content, custom.screenshots]
      collections: [desk_db.tickets]
    period: 3 years
    from: {field: desk_db.tickets.closed_at}
    action: delete
  client_files:
    description: Our clients' screenshots, deleted when the contract ends
    applies_to:
      collections: [client_files.screenshots]
    period: 30 days
    from: relationship_end
    action: delete
  contacts:
    applies_to:
      categories: [user.name, user.contact]
    period: 6 years
    from: relationship_end
    action: anonymise
    statutory_minimum: {period: 6 years, law: Limitation Act 1980}
  logs:
    applies_to:
      categories: [user.device]
    period: 90 days
    from: creation
    action: delete
    legal_hold_overrides: false
  candidates:
    applies_to:
      categories: [user.criminal_history]
      records: [application files]
    period: 6 months
    from: last_contact
    action: delete

rights:
  response_days: 30
  verification: We send a one-time code to the email address on file.
  contact:
    email: privacy@northwind.example
    url: https://northwind.example/privacy-requests
  authorised_agents: Agents send us the consumer's signed permission; we may still verify the consumer.
  appeal: Reply to our decision within 60 days and a manager who did not take it reviews it.
  regimes:
    gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]
    uk_gdpr: [access, rectification, erasure, restriction, portability, objection, withdraw_consent, automated_decisions, complain]
    ccpa: [know, delete, correct, opt_out_sale_sharing, limit_sensitive, non_discrimination]

promises:
  no_sale: true
  no_sharing: true
  no_automated_decisions: true
  no_payment_card_storage: true
  gpc: honour
  dnt: not_honoured
  children:
    min_age: 16
    on_discovery: We delete the data and tell whoever sent it.
"#;

fn load(text: &str) -> DataMap {
    let loaded = pactum_mapfile::load_str("map.yml", text);
    let problems: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| format!("{} {}: {}", d.severity.as_str(), d.code, d.message))
        .collect();
    assert!(
        problems.is_empty(),
        "the fixture must be clean: {problems:#?}"
    );
    loaded.map
}

fn support_desk() -> DataMap {
    load(SUPPORT_DESK)
}

/// The `pactum init` scaffold, as one text: its files' top-level sections do not repeat.
fn scaffold() -> DataMap {
    let text = [
        include_str!("../../pactum/src/cmd/init/organisation.yml"),
        include_str!("../../pactum/src/cmd/init/purposes.yml"),
        include_str!("../../pactum/src/cmd/init/systems.yml"),
        include_str!("../../pactum/src/cmd/init/rights.yml"),
    ]
    .join("\n");
    load(&text)
}

#[test]
fn notice_markdown() {
    insta::assert_snapshot!(markdown::render(&notice::build(&support_desk())));
}

#[test]
fn notice_html() {
    insta::assert_snapshot!(html::render(&notice::build(&support_desk())));
}

#[test]
fn notice_json_structure() {
    let json = notice_json(&notice::build(&support_desk())).expect("a notice serialises");
    insta::assert_snapshot!(json);
}

#[test]
fn scaffold_notice_markdown() {
    insta::assert_snapshot!(markdown::render(&notice::build(&scaffold())));
}

#[test]
fn ropa_csv() {
    insta::assert_snapshot!(ropa::to_csv(&ropa::build(&support_desk())).expect("csv"));
}

#[test]
fn ropa_json() {
    insta::assert_snapshot!(ropa::to_json(&ropa::build(&support_desk())).expect("json"));
}

#[test]
fn scaffold_ropa_csv() {
    insta::assert_snapshot!(ropa::to_csv(&ropa::build(&scaffold())).expect("csv"));
}

/// The notice's plain text for a map changed by `edit` from the scaffold.
fn notice_text(edit: impl FnOnce(&mut DataMap)) -> String {
    let mut map = scaffold();
    edit(&mut map);
    notice::build(&map).plain_text()
}

fn section_ids(map: &DataMap) -> Vec<String> {
    notice::build(map)
        .sections
        .iter()
        .map(|s| s.id.clone())
        .collect()
}

#[test]
fn gpc_is_only_said_to_be_honoured_when_the_map_says_so() {
    let honoured = notice_text(|_| {});
    assert!(honoured.contains("We treat a Global Privacy Control (GPC) signal"));
    let omitted = notice_text(|m| {
        if let Some(p) = m.promises.as_mut() {
            p.gpc = Some(pactum_domain::model::SignalPolicy::NotHonoured);
        }
    });
    assert!(
        !omitted.contains("We treat a Global Privacy Control"),
        "{omitted}"
    );
    assert!(omitted.contains("We do not act on Global Privacy Control (GPC) signals."));
    // Without a promises section the notice says nothing about signals, sale promises or children.
    let mut map = scaffold();
    map.promises = None;
    let ids = section_ids(&map);
    assert!(!ids.contains(&"privacy-signals".to_owned()), "{ids:?}");
    assert!(!ids.contains(&"children".to_owned()), "{ids:?}");
    let text = notice::build(&map).plain_text();
    assert!(!text.contains("We do not sell personal data."));
    assert!(!text.contains("payment card"));
    assert!(!text.contains("solely on automated processing"));
}

#[test]
fn a_map_without_processors_has_no_processor_list_or_transfers() {
    let mut map = scaffold();
    map.processors.clear();
    map.systems.values_mut().for_each(|s| s.processors.clear());
    let ids = section_ids(&map);
    assert!(!ids.contains(&"transfers".to_owned()), "{ids:?}");
    let text = notice::build(&map).plain_text();
    assert!(!text.contains("Recipients of personal data"), "{text}");
    assert!(!text.contains("service providers"), "{text}");
    // The sale and sharing promises still stand on their own.
    assert!(text.contains("We do not sell personal data."));
    let ropa = ropa::build(&map);
    assert!(
        ropa.controller_record
            .activities
            .iter()
            .all(|a| a.recipients.is_empty() && a.transfers.is_empty())
    );
}

#[test]
fn the_california_section_follows_the_regimes() {
    let mut map = scaffold();
    assert!(section_ids(&map).contains(&"california".to_owned()));
    if let Some(org) = map.organisation.as_mut() {
        org.regimes
            .retain(|r| *r != pactum_domain::model::Regime::Ccpa);
    }
    assert!(!section_ids(&map).contains(&"california".to_owned()));
}

#[test]
fn a_purpose_flagged_as_sale_names_the_categories_and_recipients() {
    let text = notice_text(|m| {
        if let Some(p) = m.purposes.get_mut("service") {
            p.sale = true;
        }
    });
    assert!(
        text.contains("We sell personal information in these categories: A. Identifiers and B. Customer records information (Cal. Civ. Code 1798.80(e)), to Example Cloud Hosting Inc."),
        "{text}"
    );
    assert!(text.contains(
        "We do not share personal information for cross-context behavioural advertising."
    ));
    assert!(!text.contains("We do not sell personal information."));
}

#[test]
fn undeclared_answers_are_left_out() {
    let text = notice_text(|m| {
        for p in m.purposes.values_mut() {
            p.limit = None;
            p.withdraw = None;
        }
        if let Some(org) = m.organisation.as_mut() {
            org.security_measures.clear();
            org.dpo = None;
            org.authorities.clear();
        }
        m.retention.clear();
    });
    assert!(!text.contains("Yes."), "{text}");
    assert!(!text.contains("No."), "{text}");
    assert!(!text.contains("Withdrawing consent"), "{text}");
    assert!(
        !text.contains("technical and organisational measures"),
        "{text}"
    );
    assert!(!text.contains("Data protection officer"), "{text}");
    assert!(!text.contains("supervisory authority:"), "{text}");
    assert!(!text.contains("Retention periods"), "{text}");
}

#[test]
fn processor_activities_are_not_in_the_collection_tables() {
    let map = support_desk();
    let built = notice::build(&map);
    let collect = built
        .sections
        .iter()
        .find(|s| s.id == "what-we-collect")
        .expect("the collection section");
    let tables = format!("{:?}", collect);
    assert!(tables.contains("Support tickets"));
    assert!(
        !tables.contains("Tickets of our clients' users"),
        "{tables}"
    );
    let behalf = built
        .sections
        .iter()
        .find(|s| s.id == "on-behalf-of-customers")
        .expect("the processor section");
    assert!(format!("{behalf:?}").contains("Tickets of our clients' users"));
    // A subprocessor serving only that processing is listed there, not among our recipients, and
    // a retention rule on the clients' datastore is not in our retention table.
    assert!(format!("{behalf:?}").contains("FileVault LLC"));
    for id in ["sharing", "transfers", "retention", "california"] {
        let section = built.sections.iter().find(|s| s.id == id).expect(id);
        let text = format!("{section:?}");
        assert!(!text.contains("FileVault"), "{id}: {text}");
        assert!(!text.contains("Our clients' screenshots"), "{id}: {text}");
    }
    // The scaffold has no processor activities, so it has no such section and no processor record.
    let scaffold = scaffold();
    assert!(!section_ids(&scaffold).contains(&"on-behalf-of-customers".to_owned()));
    assert!(ropa::build(&scaffold).processor_record.is_empty());
}

#[test]
fn the_processor_record_is_per_controller() {
    let record = ropa::build(&support_desk()).processor_record;
    assert_eq!(record.len(), 1);
    let entry = &record[0];
    assert_eq!(entry.controller_key, "customers");
    assert_eq!(entry.processor.name, "Northwind Support Ltd");
    let processing: Vec<&str> = entry.processing.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(processing, ["client_tickets"]);
    let stores: Vec<&str> = entry.datastores.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(stores, ["client_files"]);
    let subprocessors: Vec<&str> = entry.processing[0]
        .subprocessors
        .iter()
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(subprocessors, ["deskhost", "filevault"]);
}

#[test]
fn html_is_one_accessible_page_without_external_assets() {
    let page = html::render(&notice::build(&support_desk()));
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert_eq!(page.matches("<h1").count(), 1);
    assert!(page.contains("<a class=\"skip\" href=\"#main\">"));
    assert!(!page.contains("<script"));
    // The only link element is the empty inline icon, which stops browsers asking for /favicon.ico.
    assert_eq!(page.matches("<link").count(), 1);
    assert!(page.contains("<link rel=\"icon\" href=\"data:,\">"));
    assert!(!page.contains("src="));
    assert!(!page.contains("url("));
    assert_eq!(
        page.matches("<table>").count(),
        page.matches("<caption").count()
    );
    // Headings never skip a level.
    let mut last = 1;
    for (i, _) in page.match_indices("<h") {
        let Some(level) = page[i + 2..].chars().next().and_then(|c| c.to_digit(10)) else {
            continue;
        };
        assert!(level <= last + 1, "h{level} after h{last}");
        last = level;
    }
}

#[test]
fn response_times_follow_the_regime_and_the_law() {
    let mut map = scaffold();
    if let Some(rights) = map.rights.as_mut() {
        rights
            .response_days_by_regime
            .insert(pactum_domain::model::Regime::Ccpa, 45);
    }
    let built = notice::build(&map);
    let rights = built
        .sections
        .iter()
        .find(|s| s.id == "rights")
        .expect("the rights section");
    let said = |id: &str| {
        let sub = rights
            .subsections
            .iter()
            .find(|s| s.id == id)
            .expect("a regime subsection");
        format!("{sub:?}")
    };
    assert!(
        said("rights-gdpr").contains("We respond within 30 days; the law allows at most one month")
    );
    assert!(
        said("rights-ccpa").contains("We respond within 45 days; the law allows at most 45 days")
    );
    assert!(format!("{rights:?}").contains("unless a different time is given below"));
}

#[test]
fn transient_activities_are_marked_not_stored_in_the_record() {
    let mut map = scaffold();
    if let Some(a) = map.activities.get_mut("newsletter") {
        a.transient = true;
    }
    let record = ropa::build(&map);
    assert!(record.controller_record.activities[1].transient);
    assert!(!record.controller_record.activities[0].transient);
    let csv = ropa::to_csv(&record).expect("csv");
    let row = csv.lines().nth(2).expect("the newsletter row");
    assert!(
        row.contains("not stored (the data only passes through)"),
        "{row}"
    );
}
