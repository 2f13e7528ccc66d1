//! The data map: what an organisation declares about the personal data it holds.
//!
//! Every section is an ordered map from a key the author chooses to an item; the key is how other
//! items refer to it (`purposes: [support]`). Declaration order is kept, because the published notice
//! lists items in the order the author wrote them.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole data map, merged from every file of the map directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Pactum data map file",
    description = "One file of a Pactum data map. A map is a directory of such files; sections merge across files and every key must be unique across them."
)]
pub struct DataMap {
    /// Who the controller is and which laws apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<Organisation>,
    /// The kinds of people whose data is processed.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub subjects: IndexMap<String, Subject>,
    /// Data categories beyond the built-in fideslang taxonomy.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub categories: IndexMap<String, CustomCategory>,
    /// Why data is processed, and on what legal basis.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub purposes: IndexMap<String, Purpose>,
    /// Processing activities: subjects x categories x purposes x sources x systems.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub activities: IndexMap<String, Activity>,
    /// Systems (applications, services) that process personal data.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub systems: IndexMap<String, System>,
    /// Datastores down to collections (tables, key patterns, resources) and fields.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub datastores: IndexMap<String, Datastore>,
    /// Processors, subprocessors and other recipients.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub processors: IndexMap<String, Processor>,
    /// Controllers on whose behalf the organisation processes data as a processor.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub controllers: IndexMap<String, Contact>,
    /// Retention rules.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub retention: IndexMap<String, RetentionRule>,
    /// How people exercise their rights, and the response time promised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<Rights>,
    /// Promises the notice makes that the map's other sections must keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promises: Option<Promises>,
}

/// A postal, email, phone and web contact block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The data protection laws Pactum knows the rules of.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// EU General Data Protection Regulation.
    Gdpr,
    /// UK GDPR and the Data Protection Act 2018.
    UkGdpr,
    /// California Consumer Privacy Act as amended by the CPRA.
    Ccpa,
    /// Brazil's Lei Geral de Proteção de Dados.
    Lgpd,
    /// Canada's Personal Information Protection and Electronic Documents Act.
    Pipeda,
}

/// The organisation that controls the data (the controller).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Legal name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trading_name: Option<String>,
    /// One or two sentences on what the organisation does (the notice's scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Registered address and the privacy contact.
    pub contact: Contact,
    /// Data protection officer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpo: Option<Contact>,
    /// Representatives under GDPR Art. 27 / UK GDPR Art. 27, by regime.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub representatives: IndexMap<Regime, Contact>,
    /// The laws that apply.
    pub regimes: Vec<Regime>,
    /// Supervisory authority or complaint body, by regime.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub authorities: IndexMap<Regime, Contact>,
    /// Independent dispute-resolution body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_resolution: Option<Contact>,
    /// The published notice's version and date.
    pub notice: NoticeMeta,
    /// Technical and organisational security measures (GDPR Art. 32), one per line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_measures: Vec<String>,
    /// What the organisation does after a personal data breach (who is told, and how quickly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_notification: Option<String>,
    /// What happens to personal data if the business is sold, merged or restructured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_transfers: Option<String>,
}

/// Version information of the published notice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeMeta {
    /// Version label, e.g. `"3.1"`.
    pub version: String,
    /// Date of the last update, `YYYY-MM-DD`.
    pub last_updated: String,
    /// Where the notice is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How changes are announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<String>,
}

/// A kind of person whose data is processed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// True when these people are children.
    #[serde(default, skip_serializing_if = "is_false")]
    pub children: bool,
    /// The minimum age for this kind of person, where it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u8>,
}

/// A data category the built-in taxonomy does not have.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomCategory {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A built-in or custom category this one refines; traits are inherited from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// CCPA category letters (A..L); inherited from the parent when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccpa: Option<Vec<char>>,
    /// Sensitive personal information (CCPA); inherited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    /// Special-category data (GDPR Art. 9/10); inherited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special: Option<bool>,
    /// Payment-card data; inherited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_card: Option<bool>,
    /// False for categories that are not personal data (system logs without identifiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<bool>,
}

/// A lawful basis for processing (GDPR Art. 6, and its equivalents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    Contract,
    LegalObligation,
    VitalInterests,
    PublicTask,
    LegitimateInterests,
}

/// A condition for processing special-category data (GDPR Art. 9(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpecialCondition {
    ExplicitConsent,
    EmploymentSocialSecurity,
    VitalInterests,
    NotForProfitBody,
    MadePublic,
    LegalClaims,
    SubstantialPublicInterest,
    HealthOrSocialCare,
    PublicHealth,
    ArchivingResearchStatistics,
}

/// Why data is processed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub name: String,
    pub description: String,
    /// The fideslang data use this purpose is an instance of, e.g. `marketing.communications.email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_use: Option<String>,
    /// Lawful basis per regime.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub legal_basis: IndexMap<Regime, LegalBasis>,
    /// The legitimate interest pursued and the balancing test's conclusion; required with `legitimate_interests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legitimate_interest: Option<String>,
    /// The Art. 9(2) condition relied on for special-category data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_condition: Option<SpecialCondition>,
    /// Personal information is sold for this purpose (CCPA "sale").
    #[serde(default, skip_serializing_if = "is_false")]
    pub sale: bool,
    /// Personal information is shared for cross-context behavioural advertising (CCPA "sharing").
    #[serde(default, skip_serializing_if = "is_false")]
    pub sharing: bool,
    /// Profiling (GDPR Art. 4(4)).
    #[serde(default, skip_serializing_if = "is_false")]
    pub profiling: bool,
    /// Solely automated decisions with legal or similarly significant effects (GDPR Art. 22).
    #[serde(default, skip_serializing_if = "is_false")]
    pub automated_decisions: bool,
    /// Direct marketing (GDPR Art. 21(2): an absolute right to object).
    #[serde(default, skip_serializing_if = "is_false")]
    pub direct_marketing: bool,
    /// Whether and how the person can limit or opt out of this processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// How consent is withdrawn; required when any legal basis is consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdraw: Option<String>,
    /// Whether providing the data is a statutory or contractual requirement, and what happens if not (GDPR Art. 13(2)(e)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
}

/// "Can you limit collection?": the answer and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// True when the person can limit or opt out.
    pub possible: bool,
    /// How (or, when not possible, why not).
    pub how: String,
}

/// Where data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Provided by the person.
    Direct,
    /// Collected automatically (cookies, logs, devices).
    Automatic,
    /// Received from a third party.
    ThirdParty,
}

/// Whether the organisation decides the purposes (controller) or acts on a customer's behalf (processor).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Controller,
    JointController,
    Processor,
}

/// A processing activity: what the notice's "what we collect, why, can you limit it" tables come from,
/// and one row of the Art. 30 record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub subjects: Vec<String>,
    pub categories: Vec<String>,
    pub purposes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// Which third parties the data comes from, when a source is `third_party`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub role: Role,
    /// For `role: processor`: the key of the controller (in `controllers`) or `customers` for all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// True when the data only passes through (e.g. card details handed straight to a payment
    /// processor): nothing is stored, so no retention rule is needed for this activity's categories.
    #[serde(default, skip_serializing_if = "is_false")]
    pub transient: bool,
}

/// A system: an application or service that processes personal data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct System {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Team or person responsible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Processors that host or operate this system.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processors: Vec<String>,
}

/// How Pactum reaches a datastore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    Postgres,
    Mysql,
    Mariadb,
    Sqlite,
    Redis,
    Http,
    /// No connector: an employee completes tasks by hand.
    Manual,
}

/// A datastore: a database, cache or service holding personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Datastore {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The system this datastore belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub kind: ConnectorKind,
    /// The environment variable that holds the connection URL (never the URL itself: it holds secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_env: Option<String>,
    /// For `manual` datastores: who completes requests and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub role: Role,
    /// For `role: processor`: the controller's key in `controllers`, or `customers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// For `http`: how Pactum authenticates its calls (the map names the environment variable
    /// holding the credential, never the credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<HttpAuth>,
    /// Tables, collections, Redis key patterns or HTTP resources.
    #[serde(default)]
    pub collections: IndexMap<String, Collection>,
}

/// A table, collection, key pattern or resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For Redis: the key pattern, with `{field}` placeholders, e.g. `session:{user_id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// For `http`: the calls that find a person's records, one per field they are looked up by
    /// (one call, or a list). Without them, the collection is a task for people.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    #[schemars(with = "Option<FindCalls>")]
    pub find: Vec<HttpFind>,
    /// For `http`: the call that erases one record found by `find`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erase: Option<HttpErase>,
    #[serde(default)]
    pub fields: IndexMap<String, Field>,
}

impl DataMap {
    /// The attributes a person may correct (the fields' `rectify` names), sorted, each once.
    pub fn rectifiable(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .datastores
            .values()
            .flat_map(|ds| ds.collections.values())
            .flat_map(|c| c.fields.values())
            .filter_map(|f| f.rectify.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

impl Collection {
    /// The field a `{name}` placeholder of this collection's calls stands for: the field called
    /// `name`, else the field whose `identity` kind is `name` (`{email}` for `identity: email`).
    pub fn placeholder_field(&self, name: &str) -> Option<&str> {
        if let Some((key, _)) = self.fields.get_key_value(name) {
            return Some(key);
        }
        self.fields
            .iter()
            .find(|(_, f)| f.identity.is_some_and(|k| k.key() == name))
            .map(|(k, _)| k.as_str())
    }
}

/// How Pactum authenticates to an `http` datastore: `{bearer_env: VAR}` (sent as
/// `Authorization: Bearer <token>`) or `{header: NAME, value_env: VAR}`. The map names
/// environment variables, never the credential itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpAuth {
    /// Environment variable holding a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_env: Option<String>,
    /// The header that carries the credential (`X-Api-Key`), with `value_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Environment variable holding the header's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_env: Option<String>,
}

/// A GET that finds records: `path` (after the datastore's base URL) with `{field}` or
/// `{identity_kind}` placeholders, all standing for the one field the records are looked up by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpFind {
    /// E.g. `/contacts/search?email={email}`; values are URL-encoded.
    pub path: String,
    /// JSON pointer to the array of records in the answer (`/data`); the answer itself when
    /// omitted. An object there is one record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
}

/// A call that erases one found record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpErase {
    pub method: HttpMethod,
    /// E.g. `/contacts/{id}`: placeholders are the record's fields (or identity kinds), URL-encoded.
    pub path: String,
    /// A JSON body; `{field}` placeholders in its strings are filled with the record's values
    /// (a string that is exactly one placeholder becomes the value, or `null` when it has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// The HTTP method of an erase call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Delete,
    Patch,
    Post,
}

/// The schema of `find`: one call or a list of them.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used.
enum FindCalls {
    One(HttpFind),
    Many(Vec<HttpFind>),
}

/// `find: {path: ...}` or `find: [{path: ...}, ...]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<HttpFind>, D::Error> {
    use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
    struct Calls;
    impl<'de> serde::de::Visitor<'de> for Calls {
        type Value = Vec<HttpFind>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a find call `{path: ..., records: ...}` or a list of them")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            HttpFind::deserialize(MapAccessDeserializer::new(map)).map(|f| vec![f])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<HttpFind>::deserialize(SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(Calls)
}

/// Which identifier of a person a field holds: how a request finds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Email,
    Phone,
    UserId,
    CustomerId,
    DeviceId,
    CookieId,
    Username,
    ExternalId,
    /// An IP address the person gives (rate-limit counters, access logs keyed by address).
    IpAddress,
}

/// How a field is erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Erasure {
    /// Set to NULL.
    Nullify,
    /// Replace with a fixed string.
    Fixed(String),
    /// Replace with a keyed hash (HMAC) of the value, so joins still work but the value is gone.
    KeyedHash,
    /// Replace with random data of the same shape.
    Random,
    /// Keep only the year of a date.
    TruncateDate,
    /// Delete the whole row or key.
    DeleteRow,
}

/// A field (column, document key, hash field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// The identifier this field holds, when requests can find a person by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityKind>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary_key: bool,
    /// Fields this one refers to: `collection.field` in the same datastore, or `datastore.collection.field`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure: Option<Erasure>,
    /// What a person may correct in this field by a rectification request: an attribute name
    /// shared by every field that holds it (`name`, `postal_address`, `phone`), offered on the
    /// privacy centre's form. A corrected value is written to every such field of the person's
    /// records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rectify: Option<String>,
    /// For `http`: where the value is in a record, as a JSON pointer (`/owner/email`); the
    /// record's member named like the field when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What a processor or recipient is to the organisation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    #[default]
    Processor,
    Subprocessor,
    JointController,
    ThirdParty,
    PublicAuthority,
}

/// Safeguard for an international transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferMechanism {
    /// The destination has an adequacy decision.
    Adequacy,
    /// Standard contractual clauses.
    Sccs,
    /// EU-US Data Privacy Framework (and its UK extension and Swiss framework).
    Dpf,
    /// UK International Data Transfer Agreement or Addendum.
    Idta,
    /// Binding corporate rules.
    Bcrs,
    /// An Art. 49 derogation (explicit consent, contract necessity ...).
    Derogation,
}

/// A processor, subprocessor or other recipient.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Processor {
    pub name: String,
    /// What they do for us.
    pub service: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub role: RecipientRole,
    /// For subprocessors: the processor that engages them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    /// Countries where the data is processed (ISO 3166-1 alpha-2, or `EU`).
    pub countries: Vec<String>,
    /// Safeguard for transfers outside the regimes' territory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferMechanism>,
    /// Data processing agreement or contract reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How the recipient is told when a person's data it received is rectified, erased or
    /// restricted (GDPR Art. 19). Without it, telling them is a task for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
}

/// A recipient's webhook for data-subject request outcomes: signed POSTs (the Standard Webhooks
/// scheme: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`). The
/// map names environment variables, never the URL or the secret themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Environment variable holding the HTTPS URL that receives the webhooks.
    pub webhook_env: String,
    /// Environment variable holding the signing secret (`whsec_` followed by base64, or raw text).
    pub secret_env: String,
}

/// The event a retention period counts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionEvent {
    Creation,
    LastContact,
    RelationshipEnd,
    AccountClosure,
    /// A date field of the record, `collection.field` or `datastore.collection.field`.
    Field(String),
}

/// What happens when a retention period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAction {
    Delete,
    Anonymise,
    Review,
}

/// What a retention rule covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionScope {
    /// Data categories (a category covers its descendants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Collections, as `datastore.collection`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
    /// Kinds of record described in words (e.g. "invoices").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

/// A statutory minimum retention period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatutoryMinimum {
    pub period: String,
    /// The law that requires it.
    pub law: String,
}

/// How long data is kept, from when, and what happens then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub applies_to: RetentionScope,
    /// A period such as `30 days`, `6 months`, `7 years`.
    pub period: String,
    pub from: RetentionEvent,
    pub action: RetentionAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_minimum: Option<StatutoryMinimum>,
    /// Whether a legal hold suspends this rule (default: yes).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub legal_hold_overrides: bool,
}

/// A right a person has under a regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    Access,
    Portability,
    Rectification,
    Erasure,
    Restriction,
    Objection,
    WithdrawConsent,
    AutomatedDecisions,
    Complain,
    Know,
    Delete,
    Correct,
    OptOutSaleSharing,
    LimitSensitive,
    NonDiscrimination,
    Confirmation,
    Anonymisation,
    InformationOnSharing,
}

/// How people exercise their rights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rights {
    /// Days within which the organisation promises to answer a request.
    pub response_days: u32,
    /// A different promise for some regimes, e.g. `{lgpd: 15}`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub response_days_by_regime: IndexMap<Regime, u32>,
    /// How the requester's identity is verified.
    pub verification: String,
    /// Where requests go (email, web form, phone, post).
    pub contact: Contact,
    /// Rights offered, by regime.
    pub regimes: IndexMap<Regime, Vec<Right>>,
    /// How authorised agents make requests (CCPA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_agents: Option<String>,
    /// How a refused request is appealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal: Option<String>,
}

/// How a browser privacy signal is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignalPolicy {
    /// Treated as an opt-out of sale, sharing and targeted advertising.
    Honour,
    /// Not acted on.
    NotHonoured,
}

/// Promises about children.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildrenPromise {
    /// Services are not directed at people under this age.
    pub min_age: u8,
    /// What happens when data of a child under that age is discovered.
    pub on_discovery: String,
}

impl Rights {
    /// The response time promised under `regime`.
    pub fn response_days_for(&self, regime: Regime) -> u32 {
        self.response_days_by_regime
            .get(&regime)
            .copied()
            .unwrap_or(self.response_days)
    }
}

/// Promises the notice makes, which the rest of the map must keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Promises {
    /// "We do not sell personal information."
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_sale: bool,
    /// "We do not share personal information for cross-context behavioural advertising."
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_sharing: bool,
    /// "We make no solely automated decisions with legal or similarly significant effects."
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_automated_decisions: bool,
    /// "We do not use personal data for profiling."
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_profiling: bool,
    /// "We do not store payment card data."
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_payment_card_storage: bool,
    /// Global Privacy Control; when unset, the notice says nothing about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpc: Option<SignalPolicy>,
    /// Do Not Track; when unset, the notice says nothing about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnt: Option<SignalPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<ChildrenPromise>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

impl IdentityKind {
    /// The key used in map files (`email`, `user_id`).
    pub fn key(self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::UserId => "user_id",
            IdentityKind::CustomerId => "customer_id",
            IdentityKind::DeviceId => "device_id",
            IdentityKind::CookieId => "cookie_id",
            IdentityKind::Username => "username",
            IdentityKind::ExternalId => "external_id",
            IdentityKind::IpAddress => "ip_address",
        }
    }
}

/// The `{name}` placeholders of a call's path or body text, in order; `Err` with the reason when a
/// brace is unbalanced or a name is empty.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err("a `}` without its `{`".to_owned());
        }
        let after = &rest[open + 1..];
        let close = after
            .find(['{', '}'])
            .filter(|&i| after.as_bytes()[i] == b'}')
            .ok_or_else(|| "a `{` without its `}`".to_owned())?;
        let name = &after[..close];
        if name.is_empty() {
            return Err("an empty placeholder `{}`".to_owned());
        }
        out.push(name);
        rest = &after[close + 1..];
    }
    Ok(out)
}

impl Regime {
    /// Every regime, in display order.
    pub const ALL: [Regime; 5] = [
        Regime::Gdpr,
        Regime::UkGdpr,
        Regime::Ccpa,
        Regime::Lgpd,
        Regime::Pipeda,
    ];

    /// The key used in map files.
    pub fn key(self) -> &'static str {
        match self {
            Regime::Gdpr => "gdpr",
            Regime::UkGdpr => "uk_gdpr",
            Regime::Ccpa => "ccpa",
            Regime::Lgpd => "lgpd",
            Regime::Pipeda => "pipeda",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_listed_in_order_and_braces_must_balance() {
        assert_eq!(placeholders("/a/{id}?e={email}"), Ok(vec!["id", "email"]));
        assert_eq!(placeholders("/contacts"), Ok(vec![]));
        assert!(placeholders("/a/{id").is_err());
        assert!(placeholders("/a/id}").is_err());
        assert!(placeholders("/a/{}").is_err());
        assert!(placeholders("/a/{{id}}").is_err());
    }

    #[test]
    fn a_placeholder_is_a_field_or_the_identity_kind_of_one() {
        let mut coll = Collection::default();
        coll.fields.insert(
            "mail".to_owned(),
            Field {
                identity: Some(IdentityKind::Email),
                ..Field::default()
            },
        );
        coll.fields.insert("id".to_owned(), Field::default());
        assert_eq!(coll.placeholder_field("id"), Some("id"));
        assert_eq!(coll.placeholder_field("mail"), Some("mail"));
        assert_eq!(coll.placeholder_field("email"), Some("mail"));
        assert_eq!(coll.placeholder_field("phone"), None);
    }

    #[test]
    fn find_is_one_call_or_a_list() {
        let one: Collection =
            serde_json::from_str(r#"{"find": {"path": "/c?e={email}", "records": "/data"}}"#)
                .expect("one call");
        assert_eq!(
            one.find,
            [HttpFind {
                path: "/c?e={email}".to_owned(),
                records: Some("/data".to_owned())
            }]
        );
        let many: Collection =
            serde_json::from_str(r#"{"find": [{"path": "/a/{id}"}, {"path": "/b/{id}"}]}"#)
                .expect("a list");
        assert_eq!(many.find.len(), 2);
        assert!(
            serde_json::from_str::<Collection>(r#"{"find": {"path": "/a", "pth": "/b"}}"#).is_err()
        );
        let erase: HttpErase = serde_json::from_str(
            r#"{"method": "PATCH", "path": "/c/{id}", "body": {"name": null}}"#,
        )
        .expect("an erase call");
        assert_eq!(erase.method, HttpMethod::Patch);
        // Written back as a list, which reads back the same.
        let text = serde_json::to_string(&one).expect("serialises");
        assert_eq!(
            serde_json::from_str::<Collection>(&text).expect("reads back"),
            one
        );
        // The schema offers both forms.
        let schema = serde_json::to_value(schemars::schema_for!(Collection)).expect("schema");
        let calls = schema["$defs"]["FindCalls"].to_string();
        assert!(
            calls.contains("anyOf") && calls.contains("HttpFind") && calls.contains("array"),
            "{calls}"
        );
    }
}
