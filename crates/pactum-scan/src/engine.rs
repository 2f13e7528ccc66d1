//! The recogniser pipeline: one multi-pattern pass, validators, context words,
//! then the name pass.
//!
//! Pass 1 finds the candidates one leftmost-first regex over all patterns
//! would find, in two steps. A small reverse DFA, built at load, over a short
//! *head* of each pattern ([`head_of`]: a prefix of every match, such as a
//! house number, a space and a capital for the addresses) reads the text
//! once, backwards, and lists every position where a head matches
//! ([`HeadStarts::list`]); the exact patterns are then tried,
//! anchored, at those positions only, left to right ([`Exact`]: a dense DFA
//! built at load for most patterns, a lazy DFA for the addresses). Each candidate goes to
//! its validator; a rejected candidate is skipped whole. Pass 2 tokenises capitalised words and checks
//! runs of them against the census name dictionaries and person context words,
//! skipping anything pass 1 already claimed.
//!
//! Invariant: no pattern matches a line break, so findings never span lines
//! and the text layer can scan many lines in one call.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::hybrid;
use regex_automata::meta::Regex;
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

use crate::heads::HeadStarts;
use crate::hint::FieldHint;
use crate::names::{self, FnvSet};
use crate::phone::{CountryValidator, International};
use crate::validate;
use crate::{Finding, PiiType, ScanError};

/// Options that change what the scanner reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanOptions {
    /// Findings scoring below this are dropped (default 0.5).
    pub min_score: f32,
    /// The year "now" is in, for telling birth dates from recent dates. The
    /// binary passes the current year; tests pin it.
    pub reference_year: u32,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            min_score: 0.5,
            reference_year: 2026,
        }
    }
}

/// Which validator a pattern's candidates go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    SecretPrefixed,
    SecretPem,
    SecretJwt,
    Email,
    Iban,
    Card,
    Ssn,
    SsnPlain,
    Nino,
    PhoneIntl,
    PhoneNanp,
    Ipv4,
    Ipv6,
    DateIso,
    DateNumeric,
    DateMonthFirst,
    DateDayFirst,
    AddressUs,
    AddressUk,
    AddressStreet,
}

const MONTHS: &str = "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?";

/// US state and territory codes (USPS).
const US_STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR|GU|VI|AS|MP|AA|AE|AP";

/// Street types: USPS Publication 28, appendix C1 (primary names and their
/// standard abbreviations), plus common UK thoroughfare names.
const STREET_TYPES: &[&str] = &[
    "Alley",
    "Aly",
    "Annex",
    "Anx",
    "Arcade",
    "Arc",
    "Avenue",
    "Ave",
    "Av",
    "Bayou",
    "Byu",
    "Beach",
    "Bch",
    "Bend",
    "Bnd",
    "Bluff",
    "Blf",
    "Bluffs",
    "Blfs",
    "Bottom",
    "Btm",
    "Boulevard",
    "Blvd",
    "Branch",
    "Br",
    "Bridge",
    "Brg",
    "Brook",
    "Brk",
    "Brooks",
    "Brks",
    "Burg",
    "Bg",
    "Burgs",
    "Bgs",
    "Bypass",
    "Byp",
    "Camp",
    "Cp",
    "Canyon",
    "Cyn",
    "Cape",
    "Cpe",
    "Causeway",
    "Cswy",
    "Center",
    "Ctr",
    "Centers",
    "Ctrs",
    "Circle",
    "Cir",
    "Circles",
    "Cirs",
    "Cliff",
    "Clf",
    "Cliffs",
    "Clfs",
    "Club",
    "Clb",
    "Common",
    "Cmn",
    "Commons",
    "Cmns",
    "Corner",
    "Cor",
    "Corners",
    "Cors",
    "Course",
    "Crse",
    "Court",
    "Ct",
    "Courts",
    "Cts",
    "Cove",
    "Cv",
    "Coves",
    "Cvs",
    "Creek",
    "Crk",
    "Crescent",
    "Cres",
    "Crest",
    "Crst",
    "Crossing",
    "Xing",
    "Crossroad",
    "Xrd",
    "Crossroads",
    "Xrds",
    "Curve",
    "Curv",
    "Dale",
    "Dl",
    "Dam",
    "Dm",
    "Divide",
    "Dv",
    "Drive",
    "Dr",
    "Drives",
    "Drs",
    "Estate",
    "Est",
    "Estates",
    "Ests",
    "Expressway",
    "Expy",
    "Extension",
    "Ext",
    "Extensions",
    "Exts",
    "Fall",
    "Falls",
    "Fls",
    "Ferry",
    "Fry",
    "Field",
    "Fld",
    "Fields",
    "Flds",
    "Flat",
    "Flt",
    "Flats",
    "Flts",
    "Ford",
    "Frd",
    "Fords",
    "Frds",
    "Forest",
    "Frst",
    "Forge",
    "Frg",
    "Forges",
    "Frgs",
    "Fork",
    "Frk",
    "Forks",
    "Frks",
    "Fort",
    "Ft",
    "Freeway",
    "Fwy",
    "Garden",
    "Gdn",
    "Gardens",
    "Gdns",
    "Gateway",
    "Gtwy",
    "Glen",
    "Gln",
    "Glens",
    "Glns",
    "Green",
    "Grn",
    "Greens",
    "Grns",
    "Grove",
    "Grv",
    "Groves",
    "Grvs",
    "Harbor",
    "Hbr",
    "Harbors",
    "Hbrs",
    "Haven",
    "Hvn",
    "Heights",
    "Hts",
    "Highway",
    "Hwy",
    "Hill",
    "Hl",
    "Hills",
    "Hls",
    "Hollow",
    "Holw",
    "Inlet",
    "Inlt",
    "Island",
    "Is",
    "Islands",
    "Iss",
    "Isle",
    "Junction",
    "Jct",
    "Junctions",
    "Jcts",
    "Key",
    "Ky",
    "Keys",
    "Kys",
    "Knoll",
    "Knl",
    "Knolls",
    "Knls",
    "Lake",
    "Lk",
    "Lakes",
    "Lks",
    "Land",
    "Landing",
    "Lndg",
    "Lane",
    "Ln",
    "Light",
    "Lgt",
    "Lights",
    "Lgts",
    "Loaf",
    "Lf",
    "Lock",
    "Lck",
    "Locks",
    "Lcks",
    "Lodge",
    "Ldg",
    "Loop",
    "Mall",
    "Manor",
    "Mnr",
    "Manors",
    "Mnrs",
    "Meadow",
    "Mdw",
    "Meadows",
    "Mdws",
    "Mews",
    "Mill",
    "Ml",
    "Mills",
    "Mls",
    "Mission",
    "Msn",
    "Motorway",
    "Mtwy",
    "Mount",
    "Mt",
    "Mountain",
    "Mtn",
    "Mountains",
    "Mtns",
    "Neck",
    "Nck",
    "Orchard",
    "Orch",
    "Oval",
    "Overpass",
    "Opas",
    "Park",
    "Parks",
    "Parkway",
    "Pkwy",
    "Parkways",
    "Pass",
    "Passage",
    "Psge",
    "Path",
    "Pike",
    "Pine",
    "Pne",
    "Pines",
    "Pnes",
    "Place",
    "Pl",
    "Plain",
    "Pln",
    "Plains",
    "Plns",
    "Plaza",
    "Plz",
    "Point",
    "Pt",
    "Points",
    "Pts",
    "Port",
    "Prt",
    "Ports",
    "Prts",
    "Prairie",
    "Pr",
    "Radial",
    "Radl",
    "Ramp",
    "Ranch",
    "Rnch",
    "Rapid",
    "Rpd",
    "Rapids",
    "Rpds",
    "Rest",
    "Rst",
    "Ridge",
    "Rdg",
    "Ridges",
    "Rdgs",
    "River",
    "Riv",
    "Road",
    "Rd",
    "Roads",
    "Rds",
    "Route",
    "Rte",
    "Row",
    "Rue",
    "Run",
    "Shoal",
    "Shl",
    "Shoals",
    "Shls",
    "Shore",
    "Shr",
    "Shores",
    "Shrs",
    "Skyway",
    "Skwy",
    "Spring",
    "Spg",
    "Springs",
    "Spgs",
    "Spur",
    "Spurs",
    "Square",
    "Sq",
    "Squares",
    "Sqs",
    "Station",
    "Sta",
    "Stravenue",
    "Stra",
    "Stream",
    "Strm",
    "Street",
    "St",
    "Streets",
    "Sts",
    "Summit",
    "Smt",
    "Terrace",
    "Ter",
    "Throughway",
    "Trwy",
    "Trace",
    "Trce",
    "Track",
    "Trak",
    "Trafficway",
    "Trfy",
    "Trail",
    "Trl",
    "Trailer",
    "Trlr",
    "Tunnel",
    "Tunl",
    "Turnpike",
    "Tpke",
    "Underpass",
    "Upas",
    "Union",
    "Un",
    "Unions",
    "Uns",
    "Valley",
    "Vly",
    "Valleys",
    "Vlys",
    "Via",
    "Viaduct",
    "Vdct",
    "View",
    "Vw",
    "Views",
    "Vws",
    "Village",
    "Vlg",
    "Villages",
    "Vlgs",
    "Ville",
    "Vl",
    "Vista",
    "Vis",
    "Walk",
    "Walks",
    "Wall",
    "Way",
    "Wy",
    "Ways",
    "Well",
    "Wl",
    "Wells",
    "Wls", // UK thoroughfares not in the USPS list:
    "Close",
    "Drove",
    "Gate",
    "Grange",
    "Hey",
    "Rise",
    "Wharf",
    "Wynd",
    "Yard",
];

/// Secondary unit designators: USPS Publication 28, appendix C2.
const UNIT: &str = r"(?:Apt|Apartment|Suite|Ste|Unit|Bldg|Building|Fl|Floor|Rm|Room|Dept|Lot|Trlr|Flat|Ph|Penthouse|#)\.? ?#?[A-Za-z0-9-]{1,8}";

/// A capitalised word, as in street and city names. Latin-1 letters only:
/// full Unicode classes make the lazy DFA several times larger and slower to
/// warm up, and US/UK addresses are written in Latin script.
const CAPWORD: &str = r"[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿ'’.-]*";

fn patterns() -> Vec<(Pat, String)> {
    let streets = STREET_TYPES.join("|");
    let b = r"(?-u:\b)";
    let street_line = format!(
        r"{b}\d{{1,6}}[A-Za-z]?(?: (?:[NSEW]\.?|{CAPWORD}|\d{{1,3}}(?:st|nd|rd|th))){{1,5}}(?:,? {UNIT})?"
    );
    let v = vec![
        (
            Pat::SecretPrefixed,
            format!(
                r"{b}(?:(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{{16}}|gh[pousr]_[A-Za-z0-9]{{36}}[A-Za-z0-9]*|github_pat_[A-Za-z0-9_]{{60}}[A-Za-z0-9_]*|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{{16}}[A-Za-z0-9]*|xox[abposr]-[A-Za-z0-9-]{{10}}[A-Za-z0-9-]*|AIza[0-9A-Za-z_-]{{35}}|glpat-[A-Za-z0-9_-]{{20}}|npm_[A-Za-z0-9]{{36}}|SG\.[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}}|shpat_[a-fA-F0-9]{{32}}){b}"
            ),
        ),
        (
            Pat::SecretPem,
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
                .to_owned(),
        ),
        (
            Pat::SecretJwt,
            format!(r"{b}eyJ[A-Za-z0-9_-]{{8,}}\.eyJ[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]{{8,}}"),
        ),
        (
            Pat::Email,
            format!(
                r"{b}[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z][A-Za-z]+{b}"
            ),
        ),
        (
            Pat::Iban,
            format!(
                r"{b}[A-Z]{{2}}\d{{2}}(?:[A-Z0-9]{{11}}[A-Z0-9]*|(?: [A-Z0-9]{{4}}){{2,7}}(?: [A-Z0-9]{{1,4}})?){b}"
            ),
        ),
        (
            Pat::Card,
            format!(
                r"{b}(?:\d{{4}}[ -]\d{{4}}[ -]\d{{4}}[ -]\d{{4}}(?:[ -]\d{{1,3}})?|\d{{4}}[ -]\d{{6}}[ -]\d{{4,5}}|\d{{12}}\d*){b}"
            ),
        ),
        (
            Pat::Ssn,
            format!(r"{b}(?:\d{{3}}-\d{{2}}-\d{{4}}|\d{{3}} \d{{2}} \d{{4}}){b}"),
        ),
        (Pat::SsnPlain, format!(r"{b}\d{{9}}{b}")),
        (
            Pat::Nino,
            format!(r"{b}[A-CEGHJ-PR-TW-Z]{{2}} ?\d{{2}} ?\d{{2}} ?\d{{2}} ?[A-D]{b}"),
        ),
        (
            Pat::PhoneIntl,
            format!(r"\+[1-9]\d*(?:[ .-]?\(\d+\)|[ .-]?\d+)*{b}"),
        ),
        (
            Pat::PhoneNanp,
            format!(r"(?:\(\d{{3}}\) ?|{b}\d{{3}}[-. ])\d{{3}}[-. ]\d{{4}}{b}"),
        ),
        (
            Pat::Ipv4,
            format!(
                r"{b}(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){{3}}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d){b}"
            ),
        ),
        (
            Pat::Ipv6,
            r"(?:[0-9A-Fa-f]+:|:)[0-9A-Fa-f]*:[0-9A-Fa-f:]*".to_owned(),
        ),
        (
            Pat::DateIso,
            format!(r"{b}(?:1[89]|20)\d{{2}}[-/](?:0?[1-9]|1[0-2])[-/](?:0?[1-9]|[12]\d|3[01]){b}"),
        ),
        (
            Pat::DateNumeric,
            format!(r"{b}\d{{1,2}}[./-]\d{{1,2}}[./-](?:1[89]|20)\d{{2}}{b}"),
        ),
        (
            Pat::DateMonthFirst,
            format!(r"{b}(?:{MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?,? (?:1[89]|20)\d{{2}}{b}"),
        ),
        (
            Pat::DateDayFirst,
            format!(
                r"{b}\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{MONTHS})\.?,? (?:1[89]|20)\d{{2}}{b}"
            ),
        ),
        (
            Pat::AddressUs,
            format!(
                r"{street_line},? {CAPWORD}(?: {CAPWORD}){{0,3}},? (?:{US_STATES}) \d{{5}}(?:-\d{{4}})?{b}"
            ),
        ),
        (
            Pat::AddressUk,
            format!(
                r"{street_line}(?:, {CAPWORD}(?: {CAPWORD}){{0,3}}){{1,2}},? [A-Z]{{1,2}}\d[A-Z\d]? \d[A-Z]{{2}}{b}"
            ),
        ),
        (
            Pat::AddressStreet,
            format!(
                r"{b}\d{{1,6}}[A-Za-z]?(?: (?:[NSEW]\.?|{CAPWORD})){{0,4}} (?:{streets})\.?(?:,? {UNIT})?{b}"
            ),
        ),
    ];
    // `\d` means any Unicode digit; ASCII digits keep the automaton small.
    v.into_iter()
        .map(|(p, src)| (p, src.replace(r"\d", "[0-9]")))
        .collect()
}

/// The *head* of a pattern: a source matching a prefix of every string the
/// pattern matches, so that wherever the pattern matches, its head matches
/// at the same start. Candidates are looked for only where a head starts
/// ([`HeadStarts::list`]) and confirmed by the exact patterns,
/// anchored there, so the findings are those of the exact patterns.
///
/// Heads are short on purpose. Earlier rounds searched the whole patterns,
/// then looser *shapes* of them (a generic word in place of the 400 street
/// types...), unanchored with lazy DFAs, and confirmed each shape match with
/// a reverse search for its start and an anchored exact search: the lazy
/// DFAs built states during the whole first pass, and every match cost up to
/// three searches. The heads' reverse DFA is small enough to build whole at
/// load, reads each byte once, and leaves one anchored search per candidate.
fn head_of(pat: Pat) -> &'static str {
    match pat {
        Pat::SecretPrefixed => {
            r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|gh[pousr]_|github_pat_|[sr]k_live_|[sr]k_test_|xox[abposr]-|AIza|glpat-|npm_|SG\.|shpat_)"
        }
        Pat::SecretPem => r"-----BEGIN ",
        Pat::SecretJwt => r"(?-u:\b)eyJ",
        Pat::Email => r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9._%+-]*@",
        Pat::Iban => r"(?-u:\b)[A-Z]{2}[0-9]{2}[A-Z0-9 ]",
        // Heads of the numeric patterns run up to the second group of
        // digits or the year: a number, an amount or a version alone starts
        // no candidate, and a failed anchored search costs as much as a
        // short successful one.
        Pat::Card => r"(?-u:\b)[0-9]{4}(?:[ -][0-9]{4}|[0-9]{8})",
        Pat::Ssn => r"(?-u:\b)[0-9]{3}[- ][0-9]{2}[- ]",
        Pat::SsnPlain => r"(?-u:\b)[0-9]{9}",
        Pat::Nino => r"(?-u:\b)[A-Z]{2} ?[0-9]{2}",
        Pat::PhoneIntl => r"\+[0-9]",
        Pat::PhoneNanp => r"\([0-9]{3}\) ?[0-9]{3}[-. ]|(?-u:\b)[0-9]{3}[-. ][0-9]{3}[-. ]",
        Pat::Ipv4 => r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]",
        Pat::Ipv6 => r"[0-9A-Fa-f]*:[0-9A-Fa-f]*:",
        Pat::DateIso => r"(?-u:\b)(?:1[89]|20)[0-9]{2}[-/][0-9]{1,2}[-/]",
        Pat::DateNumeric => r"(?-u:\b)[0-9]{1,2}[./-][0-9]{1,2}[./-](?:1[89]|20)",
        // A month name is its first three letters and more lower-case ones.
        Pat::DateMonthFirst => {
            r"(?-u:\b)(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? [0-9]{1,2}(?:st|nd|rd|th)?,? (?:1[89]|20)"
        }
        Pat::DateDayFirst => r"(?-u:\b)[0-9]{1,2}(?:[a-z]{2})? (?:of )?[A-Z]",
        // Every address starts with a house number, a space and a word
        // (a compass point, a capitalised word, an ordinal or a street type).
        Pat::AddressUs | Pat::AddressUk | Pat::AddressStreet => {
            r"(?-u:\b)[0-9]{1,6}[A-Za-z]? [A-ZÀ-ÖØ-Þ0-9]"
        }
    }
}

// Context categories (bit flags).
const C_DOB: u16 = 1;
const C_PHONE: u16 = 2;
const C_SECRET: u16 = 4;
const C_ADDRESS: u16 = 8;
const C_SSN: u16 = 16;
const C_NINO: u16 = 32;
const C_IP: u16 = 64;

const CONTEXT_WORDS: &[(&str, u16)] = &[
    ("dob", C_DOB),
    ("d.o.b", C_DOB),
    ("date of birth", C_DOB),
    ("birth date", C_DOB),
    ("birthdate", C_DOB),
    ("birthday", C_DOB),
    ("born", C_DOB),
    ("birth", C_DOB),
    ("geboren", C_DOB),
    ("naissance", C_DOB),
    ("nacimiento", C_DOB),
    ("phone", C_PHONE),
    ("tel", C_PHONE),
    ("telephone", C_PHONE),
    ("call", C_PHONE),
    ("callback", C_PHONE),
    ("mobile", C_PHONE),
    ("cell", C_PHONE),
    ("fax", C_PHONE),
    ("sms", C_PHONE),
    ("whatsapp", C_PHONE),
    ("contact", C_PHONE),
    ("key", C_SECRET),
    ("token", C_SECRET),
    ("secret", C_SECRET),
    ("password", C_SECRET),
    ("passwd", C_SECRET),
    ("pwd", C_SECRET),
    ("api", C_SECRET),
    ("apikey", C_SECRET),
    ("api_key", C_SECRET),
    ("auth", C_SECRET),
    ("bearer", C_SECRET),
    ("credential", C_SECRET),
    ("credentials", C_SECRET),
    ("access", C_SECRET),
    ("address", C_ADDRESS),
    ("lives at", C_ADDRESS),
    ("live at", C_ADDRESS),
    ("ship to", C_ADDRESS),
    ("shipping", C_ADDRESS),
    ("deliver to", C_ADDRESS),
    ("delivery", C_ADDRESS),
    ("mailing", C_ADDRESS),
    ("residence", C_ADDRESS),
    ("moved to", C_ADDRESS),
    ("ssn", C_SSN),
    ("social security", C_SSN),
    ("tin", C_SSN),
    ("taxpayer", C_SSN),
    ("nino", C_NINO),
    ("national insurance", C_NINO),
    ("ni number", C_NINO),
    ("ip", C_IP),
    ("from", C_IP),
    ("client", C_IP),
];

/// Words right before a capitalised run that make it a person's name.
const PERSON_BEFORE: &[&str] = &[
    "agent",
    "applicant",
    "ask",
    "asked",
    "assign",
    "assigned",
    "attention",
    "attn",
    "beneficiary",
    "brother",
    "buyer",
    "by",
    "call",
    "called",
    "cardholder",
    "cc",
    "client",
    "colleague",
    "contact",
    "contacted",
    "customer",
    "daughter",
    "dear",
    "dr",
    "email",
    "emailed",
    "employee",
    "father",
    "from",
    "guest",
    "hello",
    "hey",
    "hi",
    "holder",
    "husband",
    "invite",
    "invited",
    "manager",
    "member",
    "message",
    "messaged",
    "miss",
    "mother",
    "mr",
    "mrs",
    "ms",
    "mx",
    "name",
    "named",
    "notify",
    "owner",
    "partner",
    "passenger",
    "patient",
    "payee",
    "prof",
    "recipient",
    "remind",
    "remove",
    "removed",
    "sender",
    "signed",
    "sir",
    "sister",
    "son",
    "spouse",
    "tell",
    "tenant",
    "thank",
    "thanks",
    "unsubscribe",
    "unsubscribed",
    "user",
    "wife",
];

/// The words of [`PERSON_BEFORE`] that also precede many other things.
const PERSON_BEFORE_WEAK: &[&str] = &[
    "ask",
    "asked",
    "assign",
    "assigned",
    "by",
    "call",
    "called",
    "cc",
    "contact",
    "contacted",
    "email",
    "emailed",
    "from",
    "invite",
    "invited",
    "message",
    "messaged",
    "name",
    "named",
    "notify",
    "remind",
    "remove",
    "removed",
    "tell",
    "thank",
    "thanks",
    "unsubscribe",
    "unsubscribed",
];

/// Words that make a capitalised run an organisation, office or product
/// rather than a person ("Acme Health Ltd", "Data Protection Officer").
const ORG_WORDS: &[&str] = &[
    "agency",
    "association",
    "authority",
    "bank",
    "board",
    "college",
    "commission",
    "commissioner",
    "committee",
    "company",
    "corp",
    "corporation",
    "council",
    "department",
    "foundation",
    "gmbh",
    "group",
    "inc",
    "institute",
    "limited",
    "llc",
    "llp",
    "ltd",
    "ministry",
    "office",
    "officer",
    "partners",
    "payments",
    "plc",
    "representation",
    "resolution",
    "services",
    "software",
    "solutions",
    "systems",
    "technologies",
    "trust",
    "university",
];

/// Words right after a capitalised run that make it a person's name.
const PERSON_AFTER: &[&str] = &[
    "asked",
    "asks",
    "called",
    "calls",
    "claimed",
    "claims",
    "complained",
    "complains",
    "confirmed",
    "confirms",
    "mentioned",
    "reported",
    "reports",
    "requested",
    "requests",
    "said",
    "says",
    "wants",
    "writes",
    "wrote",
];

/// Compiles patterns into one leftmost-first regex.
fn build_regex(sources: &[&str]) -> Result<Regex, ScanError> {
    Regex::builder()
        .syntax(syntax::Config::new().unicode(true).utf8(true))
        .configure(
            Regex::config()
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                // A union of patterns is a large automaton: give the
                // lazy DFA room so it does not fall back to the PikeVM.
                .hybrid_cache_capacity(64 << 20),
        )
        .build_many(sources)
        .map_err(|e| ScanError::Pattern(Box::new(e)))
}

/// Compiles the patterns that are not addresses into one anchored,
/// leftmost-first dense DFA, built whole at load (about 0.6 MB, some 30 ms),
/// so that the anchored searches at candidate starts build nothing during a
/// first pass. The address patterns stay in a lazy DFA ([`build_regex`]):
/// with their 400 street types and counted runs of capitalised words, a
/// dense DFA of them takes 7 MB and half a second to build.
fn build_front(sources: &[&str]) -> Result<dense::DFA<Vec<u32>>, ScanError> {
    dense::Builder::new()
        .syntax(syntax::Config::new().unicode(true).utf8(true))
        .thompson(thompson::Config::new().which_captures(WhichCaptures::None))
        .configure(
            dense::DFA::config()
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                .start_kind(StartKind::Anchored),
        )
        .build_many(sources)
        .map_err(|e| ScanError::Pattern(Box::new(e)))
}

/// Compiles the address patterns into an anchored, leftmost-first lazy DFA
/// with room for every state the addresses need ([`build_front`] says why
/// they are not built whole).
fn build_address(sources: &[&str]) -> Result<hybrid::dfa::DFA, ScanError> {
    hybrid::dfa::Builder::new()
        .syntax(syntax::Config::new().unicode(true).utf8(true))
        .thompson(thompson::Config::new().which_captures(WhichCaptures::None))
        .configure(
            hybrid::dfa::DFA::config()
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                .cache_capacity(64 << 20),
        )
        .build_many(sources)
        .map_err(|e| ScanError::Pattern(Box::new(e)))
}

fn is_address(pat: Pat) -> bool {
    matches!(pat, Pat::AddressUs | Pat::AddressUk | Pat::AddressStreet)
}

/// Bit of a candidate start ([`HeadStarts::list`]): a head of a pattern that
/// is not an address matches there.
const HEAD_FRONT: u8 = 1;
/// Bit of a candidate start: an address head matches there.
const HEAD_ADDRESS: u8 = 2;

/// The exact patterns, searched anchored at a candidate start.
enum Exact {
    /// The patterns split in two: the leading patterns that are not
    /// addresses in a dense DFA ([`build_front`]), the trailing address
    /// patterns in a lazy one. Anchored at one start, a leftmost-first regex
    /// over all patterns reports the first pattern, in pattern order, that
    /// matches there; the addresses come last, so they are tried only when
    /// no other pattern matches, and each part only where one of its heads
    /// matches.
    Split {
        /// Boxed, as `address`: the DFAs' headers are large, the other
        /// variant small.
        front: Box<dense::DFA<Vec<u32>>>,
        /// Number of patterns in `front`; address pattern `i` is pattern
        /// `n_front + i` of the whole list.
        n_front: usize,
        /// Anchored, leftmost-first lazy DFA (no meta regex around it: an
        /// anchored search needs no start, and the meta layer cost some
        /// hundred instructions a call).
        address: Box<hybrid::dfa::DFA>,
    },
    /// One leftmost-first regex over all patterns, tried at every position:
    /// the reference the split search is tested against.
    Union(Regex),
}

impl Exact {
    /// A search cache for this thread ([`Caches`]).
    fn create_cache(&self) -> ExactCache {
        match self {
            Exact::Split { address, .. } => ExactCache::Split(address.create_cache()),
            Exact::Union(re) => ExactCache::Union(Box::new(re.create_cache())),
        }
    }

    /// The pattern the leftmost-first regex over all patterns matches
    /// anchored at `s`, and the match end. `heads` says which parts' heads
    /// match at `s` ([`HEAD_FRONT`], [`HEAD_ADDRESS`]).
    fn find_at(
        &self,
        text: &[u8],
        s: usize,
        heads: u8,
        cache: &mut ExactCache,
    ) -> Option<(usize, usize)> {
        let input = Input::new(text).span(s..text.len()).anchored(Anchored::Yes);
        match (self, cache) {
            (Exact::Union(re), ExactCache::Union(cache)) => re
                .search_with(cache, &input)
                .map(|m| (m.pattern().as_usize(), m.end())),
            (
                Exact::Split {
                    front,
                    n_front,
                    address,
                },
                ExactCache::Split(cache),
            ) => {
                // Neither DFA has quit bytes (ASCII word boundaries only),
                // the front one was built for anchored searches and the lazy
                // one has no minimum cache clear count: none of the errors a
                // search could report can happen.
                if heads & HEAD_FRONT != 0
                    && let Ok(Some(m)) = front.try_search_fwd(&input)
                {
                    return Some((m.pattern().as_usize(), m.offset()));
                }
                if heads & HEAD_ADDRESS == 0 {
                    return None;
                }
                address
                    .try_search_fwd(cache, &input)
                    .ok()
                    .flatten()
                    .map(|m| (n_front + m.pattern().as_usize(), m.offset()))
            }
            // Caches are made by `create_cache` of the same scanner
            // ([`Caches::owner`]): the variants always agree.
            _ => None,
        }
    }
}

/// A thread's search cache for [`Exact`]. One lives per thread, in its
/// scratch space: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum ExactCache {
    Split(hybrid::dfa::Cache),
    /// Boxed: only the tests' reference search uses it.
    Union(Box<regex_automata::meta::Cache>),
}

/// The context words ([`CONTEXT_WORDS`]), found as an Aho-Corasick automaton
/// finds them with ASCII case folding and leftmost-longest, non-overlapping
/// matches: at the leftmost position where a word matches, the longest word
/// there; the search goes on after it. A match that is not a whole word
/// still hides the words overlapping it ("xdate of birth" holds no "birth"),
/// which the callers' whole-word test relies on being as before.
///
/// Written out rather than run as an automaton: the windows searched are
/// some 40 bytes, too short for an automaton's set-up to pay off. Every word
/// has two bytes or more, so a table indexed by the first two bytes gives
/// the few words (most often none) that may start at a position.
struct ContextWords {
    /// The words, lower-cased, grouped by their first two bytes, longest
    /// first in a group.
    words: Vec<(Vec<u8>, u16)>,
    /// Per pair of byte classes ([`ContextWords::class`]), the range of
    /// `words` starting with that pair, and the classes of their third
    /// bytes as bits (all bits when a word is the pair alone).
    pairs: Vec<(u8, u8, u64)>,
    /// Per byte, its class: one per byte the words hold (ASCII letters
    /// folded), 0 for the others.
    class: [u8; 256],
    /// Per class of a first byte, the classes of the second bytes of the
    /// words starting with it, as bits: the test made at every position.
    /// Indexed by a byte, so that it needs no bounds check.
    follows: [u64; 256],
}

/// [`ContextWords`]: classes are below this.
const CTX_CLASSES: usize = 64;

impl ContextWords {
    fn new(list: &[(&str, u16)]) -> ContextWords {
        let mut words: Vec<(Vec<u8>, u16)> = list
            .iter()
            .map(|(w, b)| (w.to_ascii_lowercase().into_bytes(), *b))
            .collect();
        words.sort_by(|(a, _), (b, _)| a[..2].cmp(&b[..2]).then(b.len().cmp(&a.len())));
        let mut class = [0u8; 256];
        let mut n = 0u8;
        for (w, _) in &words {
            for &c in w {
                if class[usize::from(c)] == 0 {
                    n += 1;
                    class[usize::from(c)] = n;
                    class[usize::from(c.to_ascii_uppercase())] = n;
                }
            }
        }
        let mut pairs = vec![(0u8, 0u8, 0u64); CTX_CLASSES * CTX_CLASSES];
        let mut follows = [0u64; 256];
        for (i, (w, _)) in words.iter().enumerate() {
            follows[usize::from(class[usize::from(w[0])])] |= 1 << class[usize::from(w[1])];
            // Fewer than 256 words (a test checks it): the index fits a byte.
            let i = i as u8;
            let r = &mut pairs[Self::pair(&class, w[0], w[1])];
            if r.0 == r.1 {
                (r.0, r.1) = (i, i + 1);
            } else {
                r.1 = i + 1;
            }
            r.2 |= match w.get(2) {
                Some(&c) => 1 << class[usize::from(c)],
                None => u64::MAX,
            };
        }
        ContextWords {
            words,
            pairs,
            class,
            follows,
        }
    }

    fn pair(class: &[u8; 256], a: u8, b: u8) -> usize {
        usize::from(class[usize::from(a)]) * CTX_CLASSES + usize::from(class[usize::from(b)])
    }

    /// Calls `f(start, end, bits)` for each match in `hay`, left to right.
    fn for_each_match(&self, hay: &[u8], mut f: impl FnMut(usize, usize, u16)) {
        let class = |c: u8| self.class[usize::from(c)];
        let mut i = 0;
        'search: while let Some(&first) = hay.get(i) {
            // Skip to the next position whose first two bytes start a word,
            // carrying the second byte's class over to the next position.
            let mut c0 = class(first);
            loop {
                let Some(&next) = hay.get(i + 1) else {
                    break 'search;
                };
                let c1 = class(next);
                if self.follows[usize::from(c0)] >> c1 & 1 != 0 {
                    break;
                }
                c0 = c1;
                i += 1;
            }
            let (a, b, third) = self.pairs[Self::pair(&self.class, hay[i], hay[i + 1])];
            // The third byte's class (0 past the end) rules out most of the
            // remaining positions before any word is compared.
            if third >> hay.get(i + 2).map_or(0, |&c| class(c)) & 1 == 0 {
                i += 1;
                continue;
            }
            let rest = &hay[i..];
            // Longest first: the first word of the group that matches.
            let found = self.words[usize::from(a)..usize::from(b)]
                .iter()
                .find(|(w, _)| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w));
            match found {
                Some((w, bits)) => {
                    f(i, i + w.len(), *bits);
                    i += w.len();
                }
                None => i += 1,
            }
        }
    }
}

/// Gives each scanner an identity, so that the search caches a thread keeps
/// ([`Scratch`]) are never used with another scanner's automata.
static NEXT_SCANNER_ID: AtomicU64 = AtomicU64::new(1);

/// The personal-data scanner: built once, then shared by reference (it is
/// `Send + Sync`) between the threads that scan chunks.
pub struct Scanner {
    /// Identity for the per-thread caches ([`Scratch`]).
    id: u64,
    /// Reverse DFA over the heads of all patterns ([`head_of`]): where a
    /// candidate may start.
    starts: Option<HeadStarts>,
    /// Per pattern, the bit its head sets on a candidate start
    /// ([`HEAD_FRONT`], [`HEAD_ADDRESS`]).
    head_bits: Vec<u8>,
    /// All exact patterns, searched anchored at candidate starts.
    exact: Exact,
    pats: Vec<Pat>,
    ctx: ContextWords,
    street_types: FnvSet<String>,
    opts: ScanOptions,
    /// North American numbers, checked against libphonenumber's US metadata
    /// without going through its parser.
    nanp: CountryValidator,
    /// International numbers, checked against libphonenumber's metadata
    /// per calling code.
    intl: International,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("patterns", &self.pats.len())
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// A candidate accepted by its validator.
struct Accept {
    kind: PiiType,
    start: usize,
    end: usize,
    score: f32,
}

/// [`BYTE_CLASS`] bit: an ASCII letter or digit, `_` or any non-ASCII byte.
const WORD_BYTE: u8 = 1;
/// [`BYTE_CLASS`] bit: a byte of a generic secret token ([`MIN_TOKEN`]).
const TOKEN_BYTE: u8 = 2;
/// [`BYTE_CLASS`] bit: a byte that may start a capitalised word (an ASCII
/// capital or the lead byte of a non-ASCII letter from U+00C0 on).
const NAME_START: u8 = 4;
/// [`BYTE_CLASS`] bit: an ASCII upper-case letter.
const UPPER: u8 = 8;
/// [`BYTE_CLASS`] bit: an ASCII lower-case letter.
const LOWER: u8 = 16;

/// Per byte, the classes the byte loops test, one table look-up each.
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 {
            t[i] |= WORD_BYTE;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=') {
            t[i] |= TOKEN_BYTE;
        }
        if b.is_ascii_uppercase() || b >= 0xC3 {
            t[i] |= NAME_START;
        }
        if b.is_ascii_uppercase() {
            t[i] |= UPPER;
        }
        if b.is_ascii_lowercase() {
            t[i] |= LOWER;
        }
        i += 1;
    }
    t
};

fn is_word_byte(b: u8) -> bool {
    BYTE_CLASS[usize::from(b)] & WORD_BYTE != 0
}

fn num(s: &[u8]) -> u32 {
    s.iter().filter(|b| b.is_ascii_digit()).fold(0u32, |a, &b| {
        a.saturating_mul(10).saturating_add(u32::from(b - b'0'))
    })
}

fn month_from_name(s: &[u8]) -> Option<u32> {
    // The first three bytes lower-cased, on the stack.
    let mut buf = [0u8; 3];
    let n = s.len().min(3);
    for (d, c) in buf.iter_mut().zip(s) {
        *d = c.to_ascii_lowercase();
    }
    let m = match &buf[..n] {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// Most runs of digits and letters a date candidate holds ("2nd of March,
/// 1985" has five).
const MAX_DATE_PARTS: usize = 8;

/// Splits a date candidate into its runs of digits and letters (at most
/// [`MAX_DATE_PARTS`]; the date patterns cannot match more).
fn date_parts(s: &[u8]) -> DateParts<'_> {
    let mut out = DateParts {
        parts: [&[]; MAX_DATE_PARTS],
        len: 0,
    };
    let mut i = 0;
    while i < s.len() {
        let start = i;
        if s[i].is_ascii_digit() {
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            out.push(&s[start..i]);
        } else if s[i].is_ascii_alphabetic() {
            while i < s.len() && s[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(&s[start..i]);
        } else {
            i += 1;
        }
    }
    out
}

/// The runs [`date_parts`] found, without allocating.
struct DateParts<'a> {
    parts: [&'a [u8]; MAX_DATE_PARTS],
    len: usize,
}

impl<'a> DateParts<'a> {
    fn push(&mut self, part: &'a [u8]) {
        if let Some(p) = self.parts.get_mut(self.len) {
            *p = part;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[&'a [u8]] {
        &self.parts[..self.len]
    }
}

impl Scanner {
    /// Builds the scanner: compiles the patterns and loads the dictionaries.
    pub fn new(opts: ScanOptions) -> Result<Scanner, ScanError> {
        Scanner::build(opts, true)
    }

    /// Builds the scanner, looking for candidates where the patterns' heads
    /// start ([`head_of`]) or, for tests that check the heads change nothing,
    /// at every position.
    fn build(opts: ScanOptions, use_heads: bool) -> Result<Scanner, ScanError> {
        let pats = patterns();
        let exact: Vec<&str> = pats.iter().map(|(_, s)| s.as_str()).collect();
        let heads: Vec<&str> = pats.iter().map(|(p, _)| head_of(*p)).collect();
        let head_bits = pats
            .iter()
            .map(|(p, _)| {
                if is_address(*p) {
                    HEAD_ADDRESS
                } else {
                    HEAD_FRONT
                }
            })
            .collect();
        let (starts, exact) = if use_heads {
            // The split search relies on the addresses coming last.
            let n_front = pats.iter().take_while(|(p, _)| !is_address(*p)).count();
            if !pats[n_front..].iter().all(|(p, _)| is_address(*p)) {
                return Err(ScanError::Pattern("address patterns must come last".into()));
            }
            let exact = Exact::Split {
                front: Box::new(build_front(&exact[..n_front])?),
                n_front,
                address: Box::new(build_address(&exact[n_front..])?),
            };
            (Some(HeadStarts::build(&heads)?), exact)
        } else {
            (None, Exact::Union(build_regex(&exact)?))
        };
        // Load the name dictionaries and libphonenumber's metadata now, so the
        // first chunk is not slower than the rest.
        let _ = names::dictionaries();
        let _ = phonenumber::parse(None, "+1 212 555 0134").map(|n| phonenumber::is_valid(&n));
        Ok(Scanner {
            id: NEXT_SCANNER_ID.fetch_add(1, Ordering::Relaxed),
            starts,
            head_bits,
            exact,
            pats: pats.into_iter().map(|(p, _)| p).collect(),
            ctx: ContextWords::new(CONTEXT_WORDS),
            street_types: STREET_TYPES
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            opts,
            nanp: CountryValidator::new(1).ok_or_else(|| {
                ScanError::Pattern("libphonenumber metadata has no +1 regions".into())
            })?,
            intl: International::new(),
        })
    }

    /// The options this scanner was built with.
    pub fn options(&self) -> &ScanOptions {
        &self.opts
    }

    /// Scans free text (any number of lines) and appends findings, sorted by
    /// start, to `out`. Spans are byte offsets into `text`.
    pub fn scan(&self, text: &[u8], out: &mut Vec<Finding>) {
        self.scan_with(text, &FieldHint::NONE, false, out);
    }

    /// Scans one field value (a CSV cell, a JSON string, a database column
    /// value) with the hint its name gives. The whole value is the document:
    /// a bare date in a `dob` field is a date of birth, capitalised words in a
    /// `name` field are a name.
    pub fn scan_field(&self, hint: &FieldHint, value: &[u8], out: &mut Vec<Finding>) {
        self.scan_with(value, hint, true, out);
    }

    fn scan_with(&self, text: &[u8], hint: &FieldHint, whole: bool, out: &mut Vec<Finding>) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.scan_in(text, hint, whole, out, &mut scratch),
            Err(_) => self.scan_in(text, hint, whole, out, &mut Scratch::default()),
        });
    }

    fn scan_in(
        &self,
        text: &[u8],
        hint: &FieldHint,
        whole: bool,
        out: &mut Vec<Finding>,
        scratch: &mut Scratch,
    ) {
        let first = out.len();
        let Scratch {
            claimed,
            secrets,
            run,
            keys,
            starts,
            starts_left,
            caches,
        } = scratch;
        claimed.clear();
        let caches = match caches {
            Some(c) if c.owner == self.id => c,
            _ => caches.insert(Caches {
                owner: self.id,
                exact: self.exact.create_cache(),
            }),
        };
        let listed = self
            .starts
            .as_ref()
            .is_some_and(|h| h.list(text, starts, starts_left).is_ok());
        if !listed {
            // Without heads (tests), or on a search error (not expected: the
            // DFA has no quit bytes), try the exact patterns everywhere.
            starts.clear();
            starts.extend((0..text.len()).rev().map(|s| (s, StateID::ZERO)));
        }
        let mut pos = 0;
        let mut last_end = 0;
        // `starts` runs right to left: take the candidate starts from its
        // end. The first start from `pos` on where an exact pattern matches is
        // the leftmost match of one leftmost-first regex over all patterns (a
        // head matches wherever its pattern does), and the anchored search
        // gives the pattern that regex would prefer there.
        while let Some((s, sid)) = starts.pop() {
            if s < pos {
                continue;
            }
            let heads = match (&self.starts, listed) {
                (Some(h), true) => h.heads_at(&self.head_bits, sid),
                _ => HEAD_FRONT | HEAD_ADDRESS,
            };
            let Some((pid, end)) = self.exact.find_at(text, s, heads, &mut caches.exact) else {
                continue;
            };
            let pat = self.pats[pid];
            match self.validate(pat, text, s, end, last_end, hint, whole) {
                Some(a) => {
                    claimed.push((a.start, a.end));
                    if a.score >= self.opts.min_score {
                        out.push(Finding {
                            kind: a.kind,
                            start: a.start,
                            end: a.end,
                            score: a.score,
                        });
                    }
                    last_end = a.end;
                    pos = a.end.max(s + 1);
                }
                None => pos = end.max(s + 1),
            }
        }
        let before = out.len();
        self.scan_generic_secrets(text, hint, claimed, out);
        if out.len() > before {
            // Both lists are sorted and do not overlap: merge them.
            secrets.clear();
            secrets.extend(out[before..].iter().map(|f| (f.start, f.end)));
            merge_sorted(claimed, secrets);
        }
        self.scan_names(text, hint, whole, claimed, run, keys, out);
        // Three sorted runs (pass 1, the generic secrets, the names) whose
        // merge is most often already in order: a line holds one or two
        // findings.
        let found = &mut out[first..];
        if !found.is_sorted_by_key(|f| (f.start, f.end)) {
            found.sort_by_key(|f| (f.start, f.end));
        }
    }

    /// Pass 1b: long random-looking tokens (hex or mixed-case alphanumeric)
    /// within a few words after a key-like word ("key", "token", "secret"...),
    /// or anywhere in a field whose name announces a secret. Bare tokens
    /// without that context (commit hashes, ids) are not reported. A plain
    /// byte loop finds runs of token bytes; only runs of 24+ bytes are checked.
    fn scan_generic_secrets(
        &self,
        text: &[u8],
        hint: &FieldHint,
        claimed: &[(usize, usize)],
        out: &mut Vec<Finding>,
    ) {
        let field = hint.expect == Some(PiiType::Secret);
        let n = text.len();
        // Skip search: `i` is always at the start of the input or right after a
        // byte that ends a token, so a window of 24 token bytes at `i` starts a
        // token of 24+ bytes. Most windows hold a space and are skipped whole.
        let mut i = 0;
        while i + MIN_TOKEN <= n {
            if let Some(p) = text[i..i + MIN_TOKEN]
                .iter()
                .rposition(|&b| !is_token_byte(b))
            {
                i += p + 1;
                continue;
            }
            let st = i;
            let mut end = i + MIN_TOKEN;
            while end < n && is_token_byte(text[end]) {
                end += 1;
            }
            i = end;
            // Cheapest test first: tokens inside pass 1's findings (prefixed
            // secrets, emails...) skip the entropy and context checks.
            if (st > 0 && is_word_byte(text[st - 1]))
                || overlaps_claimed(claimed, st, end)
                || !random_token(&text[st..end])
            {
                continue;
            }
            if field || self.context_before(text, st, 48, 0) & C_SECRET != 0 {
                out.push(Finding {
                    kind: PiiType::Secret,
                    start: st,
                    end,
                    score: 0.8,
                });
            }
        }
    }

    /// Context categories found in `text[from..to]`, whole words only.
    fn context(&self, text: &[u8], from: usize, to: usize) -> u16 {
        if from >= to {
            return 0;
        }
        let hay = &text[from..to];
        let mut bits = 0;
        self.ctx.for_each_match(hay, |start, end, b| {
            let before_ok = start == 0 || !hay[start - 1].is_ascii_alphanumeric();
            let after_ok = end == hay.len() || !hay[end].is_ascii_alphanumeric();
            if before_ok && after_ok {
                bits |= b;
            }
        });
        bits
    }

    /// Context in the `n` bytes before `at`, not crossing a line start or `floor`.
    fn context_before(&self, text: &[u8], at: usize, n: usize, floor: usize) -> u16 {
        let mut from = at.saturating_sub(n).max(floor);
        if let Some(nl) = memchr::memrchr(b'\n', &text[from..at]) {
            from += nl + 1;
        }
        self.context(text, from, at)
    }

    #[allow(clippy::too_many_arguments)]
    fn validate(
        &self,
        pat: Pat,
        text: &[u8],
        start: usize,
        end: usize,
        last_end: usize,
        hint: &FieldHint,
        whole: bool,
    ) -> Option<Accept> {
        let s = &text[start..end];
        let prev = if start > 0 { text[start - 1] } else { b' ' };
        let next = text.get(end).copied().unwrap_or(b' ');
        let next2 = text.get(end + 1).copied().unwrap_or(b' ');
        let accept = |kind, score| {
            Some(Accept {
                kind,
                start,
                end,
                score,
            })
        };
        match pat {
            Pat::SecretPrefixed => accept(PiiType::Secret, 0.95),
            Pat::SecretPem => accept(PiiType::Secret, 0.99),
            Pat::SecretJwt => accept(PiiType::Secret, 0.85),
            Pat::Email => {
                let at = memchr::memchr(b'@', s)?;
                let (local, domain) = (&s[..at], &s[at + 1..]);
                if local.len() > 64
                    || domain.len() > 253
                    || domain.split(|b| *b == b'.').any(|l| l.len() > 63)
                    || domain
                        .rsplit(|b| *b == b'.')
                        .next()
                        .is_some_and(|tld| tld.len() > 24)
                    || local.starts_with(b".")
                    || local.ends_with(b".")
                    || memchr::memmem::find(local, b"..").is_some()
                {
                    return None;
                }
                accept(PiiType::Email, 0.95)
            }
            Pat::Iban => {
                let want = validate::iban_length(&s[..2])?;
                // On the stack: no IBAN is longer than 34 characters.
                let mut compact = [0u8; 34];
                let mut len = 0;
                let mut cut = s.len();
                for (i, &b) in s.iter().enumerate() {
                    if b == b' ' {
                        continue;
                    }
                    *compact.get_mut(len)? = b;
                    len += 1;
                    if len == want {
                        cut = i + 1;
                        break;
                    }
                }
                // The cut must fall at a group end (or the end of a compact IBAN).
                if len != want || (cut < s.len() && s[cut] != b' ') {
                    return None;
                }
                // The pattern admits ASCII only: the bytes are a `str`.
                let compact = std::str::from_utf8(&compact[..len]).ok()?;
                if !validate::iban(compact) {
                    return None;
                }
                Some(Accept {
                    kind: PiiType::Iban,
                    start,
                    end: start + cut,
                    score: 0.95,
                })
            }
            Pat::Card => {
                if prev == b'-'
                    || prev == b'.'
                    || next == b'-'
                    || (next == b'.' && next2.is_ascii_digit())
                {
                    return None;
                }
                let mut digits = [0u8; 19];
                let mut nd = 0;
                let mut sep = None;
                for &c in s {
                    if c.is_ascii_digit() {
                        if nd == digits.len() {
                            return None;
                        }
                        digits[nd] = c;
                        nd += 1;
                    } else if sep.is_some_and(|x| x != c) {
                        return None;
                    } else {
                        sep = Some(c);
                    }
                }
                if !validate::card_number(&digits[..nd]) {
                    return None;
                }
                accept(PiiType::CreditCard, if sep.is_none() { 0.9 } else { 0.95 })
            }
            Pat::Ssn | Pat::SsnPlain => {
                if prev == b'-' || next == b'-' || prev == b'+' {
                    return None;
                }
                if !validate::us_ssn_str(s) {
                    return None;
                }
                let ctx = hint.expect == Some(PiiType::UsSsn)
                    || self.context_before(text, start, 40, last_end) & C_SSN != 0;
                match (pat, ctx) {
                    (Pat::SsnPlain, false) => None,
                    (_, true) => accept(PiiType::UsSsn, 0.95),
                    (_, false) if s.contains(&b' ') => accept(PiiType::UsSsn, 0.6),
                    _ => accept(PiiType::UsSsn, 0.85),
                }
            }
            Pat::Nino => {
                if !validate::uk_nino(s) {
                    return None;
                }
                let ctx = hint.expect == Some(PiiType::UkNino)
                    || self.context_before(text, start, 40, last_end) & C_NINO != 0;
                accept(PiiType::UkNino, if ctx { 0.95 } else { 0.8 })
            }
            Pat::PhoneIntl => self.phone_intl(text, start, end, last_end),
            Pat::PhoneNanp => {
                if is_word_byte(prev) || matches!(prev, b'-' | b'+' | b'/' | b'.' | b'$' | b'#') {
                    return None;
                }
                if next == b'-' || next == b'/' || (next == b'.' && next2.is_ascii_digit()) {
                    return None;
                }
                let mut digits = [0u8; 16];
                let mut nd = 0;
                let mut seps = [0u8; 2];
                let mut ns = 0;
                for &b in s {
                    if b.is_ascii_digit() {
                        if let Some(d) = digits.get_mut(nd) {
                            *d = b;
                        }
                        nd += 1;
                    } else if matches!(b, b'-' | b'.') {
                        if let Some(x) = seps.get_mut(ns) {
                            *x = b;
                        }
                        ns += 1;
                    }
                }
                // Separators must agree: 212-555-1234, 212.555.1234, (212) 555-1234.
                if ns == 2 && seps[0] != seps[1] {
                    return None;
                }
                // More digits than a NANP number has: not valid.
                if nd > digits.len() || !self.nanp_valid(&digits[..nd]) {
                    return None;
                }
                let ctx = hint.expect == Some(PiiType::Phone)
                    || self.context_before(text, start, 32, last_end) & C_PHONE != 0;
                let spaced = !s.contains(&b'-') && !s.contains(&b'.') && !s.contains(&b'(');
                let score = match (ctx, spaced) {
                    (true, _) => 0.95,
                    (false, false) => 0.8,
                    (false, true) => 0.55,
                };
                accept(PiiType::Phone, score)
            }
            Pat::Ipv4 => {
                if prev == b'.' || (next == b'.' && next2.is_ascii_digit()) || prev == b'v' {
                    return None;
                }
                let ip = validate::ipv4(std::str::from_utf8(s).ok()?)?;
                let o = ip.octets();
                let score = if ip.is_unspecified() || ip.is_broadcast() || o[0] == 0 {
                    return None;
                } else if ip.is_loopback() {
                    0.4
                } else {
                    0.9
                };
                accept(PiiType::IpAddress, score)
            }
            Pat::Ipv6 => {
                // A sentence may end right after the address: "from fe80::1: retry".
                let end = if s.ends_with(b":") && !s.ends_with(b"::") {
                    end - 1
                } else {
                    end
                };
                let s = &text[start..end];
                let next = text.get(end).copied().unwrap_or(b' ');
                if is_word_byte(prev) || prev == b':' || is_word_byte(next) {
                    return None;
                }
                let ip = validate::ipv6(std::str::from_utf8(s).ok()?)?;
                let groups = s.split(|b| *b == b':').filter(|g| !g.is_empty()).count();
                if ip.is_unspecified() || groups < 3 {
                    return None;
                }
                Some(Accept {
                    kind: PiiType::IpAddress,
                    start,
                    end,
                    score: if ip.is_loopback() { 0.4 } else { 0.9 },
                })
            }
            Pat::DateIso | Pat::DateNumeric | Pat::DateMonthFirst | Pat::DateDayFirst => {
                self.date(pat, text, start, end, last_end, hint, whole)
            }
            Pat::AddressUs | Pat::AddressUk => {
                let first_comma = memchr::memchr(b',', s).unwrap_or(s.len());
                let has_type = s[..first_comma]
                    .split(|b| *b == b' ')
                    .any(|w| self.is_street_type(w));
                accept(PiiType::Address, if has_type { 0.9 } else { 0.75 })
            }
            Pat::AddressStreet => {
                let ctx = hint.expect == Some(PiiType::Address)
                    || self.context_before(text, start, 40, last_end) & C_ADDRESS != 0;
                accept(PiiType::Address, if ctx { 0.75 } else { 0.45 })
            }
        }
    }

    fn is_street_type(&self, w: &[u8]) -> bool {
        let w = w.strip_suffix(b".").unwrap_or(w);
        // Lower-cased on the stack: every street type is shorter than the
        // buffer, so a longer word is not one.
        let mut buf = [0u8; 32];
        let Some(lower) = buf.get_mut(..w.len()) else {
            return false;
        };
        for (d, c) in lower.iter_mut().zip(w) {
            *d = c.to_ascii_lowercase();
        }
        std::str::from_utf8(lower).is_ok_and(|w| self.street_types.contains(w))
    }

    fn nanp_valid(&self, digits: &[u8]) -> bool {
        let national = match digits.len() {
            10 => digits,
            11 if digits[0] == b'1' => &digits[1..],
            _ => return false,
        };
        // NANP shape: NPA and NXX start with 2-9.
        if national[0] < b'2' || national[3] < b'2' {
            return false;
        }
        std::str::from_utf8(national).is_ok_and(|n| self.nanp.is_valid(n))
    }

    fn intl_valid(&self, s: &str) -> bool {
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        self.intl.is_valid(&digits)
    }

    fn phone_intl(&self, text: &[u8], start: usize, end: usize, last_end: usize) -> Option<Accept> {
        let prev = if start > 0 { text[start - 1] } else { b' ' };
        if is_word_byte(prev) {
            return None;
        }
        let next = text.get(end).copied().unwrap_or(b' ');
        if next == b'-' || next == b'/' {
            return None;
        }
        let mut e = end;
        // Try the whole candidate, then without its last one or two groups (a
        // number followed by another number, as in "+44 20 7946 0958 12").
        for _ in 0..3 {
            let s = std::str::from_utf8(&text[start..e]).ok()?;
            let ndigits = s.bytes().filter(u8::is_ascii_digit).count();
            if !(7..=15).contains(&ndigits) {
                if ndigits < 7 {
                    return None;
                }
            } else if self.intl_valid(s) {
                {
                    let ctx = self.context_before(text, start, 32, last_end) & C_PHONE != 0;
                    return Some(Accept {
                        kind: PiiType::Phone,
                        start,
                        end: e,
                        score: if ctx { 0.95 } else { 0.85 },
                    });
                }
            }
            let cut = text[start..e]
                .iter()
                .rposition(|b| matches!(b, b' ' | b'.' | b'-' | b'('))?;
            if cut <= 1 {
                return None;
            }
            e = start + cut;
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn date(
        &self,
        pat: Pat,
        text: &[u8],
        start: usize,
        end: usize,
        last_end: usize,
        hint: &FieldHint,
        whole: bool,
    ) -> Option<Accept> {
        let s = &text[start..end];
        let parts = date_parts(s);
        let parts = parts.as_slice();
        let (y, m, d) = match pat {
            Pat::DateIso => (num(parts[0]), num(parts[1]), num(parts[2])),
            Pat::DateNumeric => {
                let (a, b, y) = (num(parts[0]), num(parts[1]), num(parts[2]));
                // US month/day first; fall back to day/month when that is the only valid reading.
                if validate::calendar_date(y, a, b) {
                    (y, a, b)
                } else {
                    (y, b, a)
                }
            }
            Pat::DateMonthFirst => (
                num(parts.last().copied()?),
                month_from_name(parts[0])?,
                num(parts[1]),
            ),
            Pat::DateDayFirst => {
                let month = parts[1..]
                    .iter()
                    .find_map(|p| month_from_name(p).filter(|_| p.len() >= 3))?;
                (num(parts.last().copied()?), month, num(parts[0]))
            }
            _ => return None,
        };
        if !validate::calendar_date(y, m, d) {
            return None;
        }
        // A date followed by a time of day is a timestamp, not a birth date.
        let rest = &text[end..text.len().min(end + 4)];
        if rest.len() >= 3
            && (rest[0] == b' ' || rest[0] == b'T')
            && rest[1].is_ascii_digit()
            && (rest[2] == b':' || (rest.len() > 3 && rest[2].is_ascii_digit() && rest[3] == b':'))
        {
            return None;
        }
        let ref_year = self.opts.reference_year;
        if y > ref_year {
            return None;
        }
        let age = ref_year - y;
        if age > 120 {
            return None;
        }
        // The field's hint first: it makes the context search needless.
        let score = if hint.expect == Some(PiiType::DateOfBirth)
            || self.context_before(text, start, 40, last_end) & C_DOB != 0
        {
            0.9
        } else if whole && !hint.other_date && (16..=110).contains(&age) {
            // A field holding nothing but a date decades old is most likely a birth date.
            0.55
        } else {
            return None;
        };
        Some(Accept {
            kind: PiiType::DateOfBirth,
            start,
            end,
            score,
        })
    }

    /// Pass 2: person names from runs of capitalised words. Only positions
    /// that start a capitalised word are looked at, so lower-case text costs
    /// one byte comparison per byte.
    #[allow(clippy::too_many_arguments)]
    fn scan_names(
        &self,
        text: &[u8],
        hint: &FieldHint,
        whole: bool,
        claimed: &[(usize, usize)],
        run: &mut Vec<(usize, usize)>,
        keys: &mut RunKeys,
        out: &mut Vec<Finding>,
    ) {
        let dicts = names::dictionaries();
        let person_field = hint.expect == Some(PiiType::Person);
        // Runs are visited left to right: only the claimed spans from the
        // current one on can overlap them.
        let mut cl = 0;
        let n = text.len();
        let mut i = 0;
        while i < n {
            i = next_name_start(text, i);
            if i == n {
                break;
            }
            if i > 0 && (is_word_byte(text[i - 1]) || matches!(text[i - 1], b'\'' | b'-')) {
                i += 1;
                continue;
            }
            // Words inside a finding of pass 1 (the street and town of an
            // address, the letters of an IBAN) start no name.
            while cl < claimed.len() && claimed[cl].1 <= i {
                cl += 1;
            }
            if claimed.get(cl).is_some_and(|&(s, _)| s <= i) {
                i = claimed[cl].1;
                continue;
            }
            let (e, cap) = word_at(text, i);
            if !cap {
                i = e.max(i + 1);
                continue;
            }
            run.clear();
            run.push((i, e));
            let mut j = e;
            while run.len() < 8 && j + 1 < n && text[j] == b' ' {
                // A word starting with a lower-case ASCII letter is not
                // capitalised: only a particle can continue the run.
                if !text[j + 1].is_ascii_lowercase() {
                    let (e2, cap2) = word_at(text, j + 1);
                    if e2 == j + 1 {
                        break;
                    }
                    if cap2 {
                        run.push((j + 1, e2));
                        j = e2;
                        continue;
                    }
                }
                // A particle inside a name: "Ana de la Cruz", "Ludwig van Beethoven".
                let mut k = j + 1;
                let mut parts = [(0, 0); 3];
                let mut np = 0;
                let mut ok = false;
                while np < 3 {
                    if let Some(len) = names::is_apostrophe_t(&text[k..]) {
                        // Dutch "van 't Riet".
                        parts[np] = (k, k + len);
                        np += 1;
                        k += len + 1;
                        continue;
                    }
                    if text.get(k).is_some_and(u8::is_ascii_lowercase) {
                        // Particles are short lower-case ASCII words followed by a space.
                        let pe = k + text[k..]
                            .iter()
                            .take(names::MAX_PARTICLE + 1)
                            .take_while(|b| b.is_ascii_lowercase())
                            .count();
                        if text.get(pe) != Some(&b' ') || !names::is_particle(&text[k..pe]) {
                            break;
                        }
                        parts[np] = (k, pe);
                        np += 1;
                        k = pe + 1;
                        continue;
                    }
                    let (pe, pcap) = word_at(text, k);
                    if pe == k {
                        break;
                    }
                    if pcap {
                        ok = np > 0;
                        parts[np] = (k, pe);
                        np += 1;
                        break;
                    }
                    // Particles are ASCII: bytes equal to one are valid UTF-8.
                    if !names::is_particle(&text[k..pe]) || text.get(pe) != Some(&b' ') {
                        break;
                    }
                    parts[np] = (k, pe);
                    np += 1;
                    k = pe + 1;
                }
                if ok {
                    j = parts[np - 1].1;
                    run.extend_from_slice(&parts[..np]);
                    continue;
                }
                break;
            }
            // A lone capitalised word is a name only as a whole `name`-like field.
            if run.len() == 1 && !(whole && person_field) {
                i = j.max(i + 1);
                continue;
            }
            // `cl` was moved past the findings ending before `i` above.
            let claim_before = cl.checked_sub(1).map(|c| claimed[c].1);
            self.eval_run(
                text,
                run,
                dicts,
                keys,
                claim_before,
                &claimed[cl..],
                person_field,
                whole,
                out,
            );
            i = j.max(i + 1);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_run(
        &self,
        text: &[u8],
        run: &[(usize, usize)],
        dicts: &names::Dictionaries,
        keys: &mut RunKeys,
        claim_before: Option<usize>,
        claimed: &[(usize, usize)],
        person_field: bool,
        whole: bool,
        out: &mut Vec<Finding>,
    ) {
        keys.fill(text, run, dicts);
        let keys = &*keys;
        let stop = |k: usize| keys.bits[k] & names::STOP != 0;
        let first = |k: usize| keys.bits[k] & names::FIRST != 0;
        // A census surname, or a word ending as surnames do in other
        // languages ("Kowalski", "Karaoğlu", "Lindqvist").
        let last = |k: usize| {
            keys.bits[k] & names::LAST != 0 || keys.key(k).is_some_and(names::has_surname_ending)
        };
        // Leading and trailing stop words ("Customer", "Please") are not part of
        // the name, unless the dictionary knows them in that place: "Will" can
        // start a name and "Good", "Price" or "West" can end one.
        let (mut a, mut b) = (0usize, run.len() - 1);
        let mut lead_ctx = false;
        while a <= b && stop(a) {
            // The key's context bits came with its dictionary look-up.
            let ctx = keys.bits[a] & W_BEFORE != 0;
            if a < b && !ctx && first(a) {
                break;
            }
            lead_ctx |= ctx;
            a += 1;
        }
        if a > b {
            return;
        }
        while b > a && stop(b) && !last(b) {
            b -= 1;
        }
        let (start, end) = (run[a].0, run[b].1);
        if overlaps_claimed(claimed, start, end) {
            return;
        }
        let n_words = b - a + 1;
        // Particles ("van", "de la", "'t") do not make a run long.
        let n_caps = (a..=b)
            .filter(|&k| {
                let c = text[run[k].0];
                !c.is_ascii_lowercase() && c != b'\'' && c != 0xE2
            })
            .count();
        // Whole-field names: a `name` column value of 1-4 capitalised words.
        let whole_field =
            whole && person_field && start == first_non_space(text) && end == last_non_space(text);
        if n_words < 2 && !whole_field {
            return;
        }
        if n_caps > 4 {
            // Long title-case runs ("Quarterly Business Review Meeting Notes") are
            // not names; look for a first-last pair inside instead.
            for k in a..b {
                if first(k) && last(k + 1) {
                    self.push_person(claimed, run[k].0, run[k + 1].1, 0.7, out);
                }
            }
            return;
        }
        let f = first(a);
        let l = n_words >= 2 && last(b);
        let mut score: f32 = match (f, l) {
            (true, true) => 0.85,
            (true, false) => 0.45,
            (false, true) => 0.4,
            (false, false) => 0.0,
        };
        let prev = prev_word(text, start).map_or(0, context_word);
        let ctx_before = lead_ctx || prev & W_BEFORE != 0;
        // "by", "from", "call"... precede names but also anything else: they
        // only add to a dictionary hit, they never make a name on their own.
        let weak_before = !lead_ctx && prev & W_BEFORE_WEAK != 0;
        let ctx_after = next_word(text, end).is_some_and(|w| context_word(w) & W_AFTER != 0);
        // Contact details right next to the run, in the way records name whom
        // they belong to: "404-252-1933 (Joris Heijman)", "Joris Heijman
        // <joris@example.nl>", "Joris Heijman (joris@example.nl)".
        let contact = {
            let bracketed = start > 0
                && text[start - 1] == b'('
                && text.get(end) == Some(&b')')
                && claim_before.is_some_and(|e| e + 2 >= start);
            let followed = matches!(text.get(end..end + 2), Some(b" (" | b" <"))
                && claimed.iter().take(4).any(|&(s, _)| s == end + 2);
            bracketed || followed
        };
        if score == 0.0 && (weak_before || contact) && !ctx_after {
            // No dictionary hit, and only a weak context word or contact
            // details: the lowest score that is still reported by default.
            score = 0.5;
        } else if ctx_before || ctx_after || contact {
            score = if score == 0.0 {
                0.6
            } else {
                (score + 0.3).min(0.95)
            };
        } else if score > 0.0
            && start > 0
            && text[start - 1] == b'('
            && text.get(end) == Some(&b')')
        {
            // "(Jane Roe)" after contact details: a weak hint.
            score += 0.1;
        }
        if whole_field {
            score = score.max(0.8);
        } else if person_field {
            score = (score + 0.2).min(0.95);
        }
        // Folded keys hold no apostrophes, so "Acme's" is looked up as "acmes".
        let org = || keys.bits[a..=b].iter().any(|&bits| bits & W_ORG != 0);
        if score >= self.opts.min_score && !org() {
            self.push_person(claimed, start, end, score, out);
        }
    }

    fn push_person(
        &self,
        claimed: &[(usize, usize)],
        start: usize,
        end: usize,
        score: f32,
        out: &mut Vec<Finding>,
    ) {
        if overlaps_claimed(claimed, start, end) {
            return;
        }
        out.push(Finding {
            kind: PiiType::Person,
            start,
            end,
            score,
        });
    }
}

/// True when `start..end` overlaps a span of `claimed` (sorted by start, and
/// non-overlapping, so the ends are sorted too).
fn overlaps_claimed(claimed: &[(usize, usize)], start: usize, end: usize) -> bool {
    // Callers usually pass a slice that starts right at `start` (the name pass
    // keeps a cursor), so look at the first few spans before bisecting.
    for &(s, e) in claimed.iter().take(4) {
        if s >= end {
            return false;
        }
        if e > start {
            return true;
        }
    }
    let i = claimed.partition_point(|&(_, e)| e <= start);
    claimed.get(i).is_some_and(|&(s, _)| s < end)
}

/// The first position from `i` on whose byte may start a capitalised word
/// ([`NAME_START`]), or `text.len()`. Eight bytes at a time: per byte, the
/// low seven bits are compared by adding to each byte a bias that sets its
/// top bit when the byte reaches a bound (no carry crosses bytes, since the
/// sums stay under 256).
#[inline]
fn next_name_start(text: &[u8], mut i: usize) -> usize {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = L * 0x80;
    while let Some(chunk) = text.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let low = x & !H;
        let high = x & H;
        let ge_upper_a = (low + L * (0x80 - u64::from(b'A'))) & H;
        let gt_upper_z = (low + L * (0x80 - u64::from(b'Z') - 1)) & H;
        // A non-ASCII byte from 0xC3 on: its low seven bits reach 0x43.
        let ge_c3 = (low + L * (0x80 - 0x43)) & H;
        let hits = (ge_upper_a & !gt_upper_z & !high) | (high & ge_c3);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let i = i.min(text.len());
    text[i..]
        .iter()
        .position(|&b| BYTE_CLASS[usize::from(b)] & NAME_START != 0)
        .map_or(text.len(), |p| i + p)
}

/// Merges the sorted list `b` into the sorted list `a`, from the back, in place.
fn merge_sorted(a: &mut Vec<(usize, usize)>, b: &[(usize, usize)]) {
    let (mut i, mut j) = (a.len(), b.len());
    a.resize(a.len() + b.len(), (0, 0));
    let mut k = a.len();
    while j > 0 {
        k -= 1;
        if i > 0 && a[i - 1] > b[j - 1] {
            a[k] = a[i - 1];
            i -= 1;
        } else {
            a[k] = b[j - 1];
            j -= 1;
        }
    }
}

/// Buffers a scan reuses from call to call on the same thread, so that
/// scanning many short values (lines, cells) allocates nothing. They keep
/// the capacity the largest text needed (a few hundred KB for a 1 MiB chunk).
#[derive(Default)]
struct Scratch {
    /// Spans of pass 1's findings, sorted.
    claimed: Vec<(usize, usize)>,
    /// Spans of pass 1b's findings, to merge into `claimed`.
    secrets: Vec<(usize, usize)>,
    /// The words of the name pass's current run.
    run: Vec<(usize, usize)>,
    keys: RunKeys,
    /// Candidate starts of pass 1, right to left, with the match state of
    /// the heads' DFA that reported each ([`HeadStarts::heads_at`]).
    starts: Vec<(usize, StateID)>,
    /// Scratch space for [`HeadStarts::list`].
    starts_left: Vec<(usize, StateID)>,
    /// Search caches for the scanner that last used this thread's scratch.
    caches: Option<Caches>,
}

/// A thread's search cache, valid for one scanner only ([`Scanner::id`]).
/// Searching with them skips the regex's shared cache pool.
struct Caches {
    owner: u64,
    exact: ExactCache,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Shortest generic token considered a credential.
const MIN_TOKEN: usize = 24;

fn is_token_byte(b: u8) -> bool {
    BYTE_CLASS[usize::from(b)] & TOKEN_BYTE != 0
}

/// A credential-looking token: 32+ hex digits mixing digits and letters, or
/// 24+ characters mixing digits, upper and lower case, with high entropy.
fn random_token(tok: &[u8]) -> bool {
    let tok = tok.strip_suffix(b"=").unwrap_or(tok);
    if tok.len() > 512 {
        return false;
    }
    let digits = tok.iter().any(u8::is_ascii_digit);
    let hex = tok.iter().all(u8::is_ascii_hexdigit);
    if hex && tok.len() >= 32 {
        return digits && tok.iter().any(u8::is_ascii_alphabetic) && validate::entropy(tok) > 3.0;
    }
    tok.len() >= 24
        && digits
        && tok.iter().any(u8::is_ascii_uppercase)
        && tok.iter().any(u8::is_ascii_lowercase)
        && validate::entropy(tok) > 4.0
}

fn first_non_space(t: &[u8]) -> usize {
    t.iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(t.len())
}

fn last_non_space(t: &[u8]) -> usize {
    t.iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1)
}

/// Scratch space of the name pass: the folded dictionary key of each word of
/// a run, folded once however many lists the word is looked up in.
#[derive(Default)]
struct RunKeys {
    /// The keys, one after another. Bytes, not a `String`: ASCII words are
    /// lower-cased into it without a UTF-8 check; the keys are UTF-8 all the
    /// same (ASCII, or [`names::fold_append`]'s output).
    buf: Vec<u8>,
    /// Where [`names::fold_append`] folds a word that is not all ASCII letters.
    fold: String,
    /// Per word, its key's span in `buf`; `None` when the word does not fold
    /// to a key (digits, symbols).
    spans: Vec<Option<(usize, usize)>>,
    /// Per word, the dictionaries that know it ([`names::Dictionaries::bits`]):
    /// [`names::STOP`] for the whole key; [`names::FIRST`] and
    /// [`names::LAST`] for the whole key or, in a hyphenated key
    /// (`Hans-Peter`, `Smith-Jones`), for one of its parts of two or more
    /// letters.
    bits: Vec<u8>,
}

impl RunKeys {
    fn fill(&mut self, text: &[u8], run: &[(usize, usize)], dicts: &names::Dictionaries) {
        self.buf.clear();
        self.spans.clear();
        self.bits.clear();
        for &(s, e) in run {
            let from = self.buf.len();
            let w = &text[s..e];
            // (folded to a key, the key may hold a hyphen)
            let (ok, hyphen) = if w.iter().all(u8::is_ascii_alphabetic) {
                // The common case, folded without a UTF-8 check.
                self.buf.extend(w.iter().map(u8::to_ascii_lowercase));
                (!w.is_empty(), false)
            } else {
                self.fold.clear();
                let ok =
                    std::str::from_utf8(w).is_ok_and(|w| names::fold_append(w, &mut self.fold));
                self.buf.extend_from_slice(self.fold.as_bytes());
                (ok, true)
            };
            self.spans.push(ok.then_some((from, self.buf.len())));
            let bits = match self.key(self.spans.len() - 1) {
                None => 0,
                Some(key) => {
                    // The dictionaries' bits and the context lists' bits
                    // ([`NAME_CONTEXT`]) of the whole key.
                    let mut bits = dicts.bits(key);
                    if hyphen && key.contains(&b'-') {
                        for part in key.split(|b| *b == b'-').filter(|p| p.len() > 1) {
                            bits |= dicts.bits(part) & (names::FIRST | names::LAST);
                        }
                    }
                    bits
                }
            };
            self.bits.push(bits);
        }
    }

    fn key(&self, k: usize) -> Option<&[u8]> {
        self.spans[k].map(|(a, b)| &self.buf[a..b])
    }
}

// The bits below are distinct from the dictionaries' own ([`names::FIRST`],
// [`names::LAST`], [`names::STOP`]): the dictionaries map each context word
// to its bits too ([`NAME_CONTEXT`]), so that a word of a run is looked up
// once for both.
/// [`context_word`]: in [`PERSON_BEFORE`].
const W_BEFORE: u8 = 8;
/// [`context_word`]: in [`PERSON_BEFORE_WEAK`].
const W_BEFORE_WEAK: u8 = 16;
/// [`context_word`]: in [`PERSON_AFTER`].
const W_AFTER: u8 = 32;
/// [`context_word`]: in [`ORG_WORDS`].
const W_ORG: u8 = 64;

/// The name-context lists and their bits, for [`context_word`] and for the
/// dictionaries ([`names::dictionaries`]).
pub(crate) const NAME_CONTEXT: [(&[&str], u8); 4] = [
    (PERSON_BEFORE, W_BEFORE),
    (PERSON_BEFORE_WEAK, W_BEFORE_WEAK),
    (PERSON_AFTER, W_AFTER),
    (ORG_WORDS, W_ORG),
];

/// The name-context lists `w`, ASCII lower-cased, is in ([`W_BEFORE`],
/// [`W_BEFORE_WEAK`], [`W_AFTER`], [`W_ORG`]): one binary search over the
/// packed words of all four lists ([`names::pack`]), instead of one string
/// search per list.
fn context_word(w: &[u8]) -> u8 {
    static TABLE: OnceLock<Vec<(u128, u8)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t: Vec<(u128, u8)> = Vec::new();
        for (list, bit) in NAME_CONTEXT {
            for key in names::pack_sorted(list) {
                match t.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, b)) => *b |= bit,
                    None => t.push((key, bit)),
                }
            }
        }
        t.sort_unstable();
        t
    });
    names::pack(w)
        .and_then(|key| table.binary_search_by_key(&key, |&(k, _)| k).ok())
        .map_or(0, |i| table[i].1)
}

/// The ASCII word right before `at` on the same line, skipping up to three
/// bytes of spaces or brackets (not a full stop).
fn prev_word(text: &[u8], at: usize) -> Option<&[u8]> {
    let mut i = at;
    let mut skipped = 0;
    while i > 0 && !text[i - 1].is_ascii_alphabetic() {
        if matches!(text[i - 1], b'\n' | b'.') || skipped == 3 {
            return None;
        }
        i -= 1;
        skipped += 1;
    }
    let end = i;
    while i > 0 && text[i - 1].is_ascii_alphabetic() {
        i -= 1;
    }
    (i < end).then(|| &text[i..end])
}

/// The ASCII word right after `at`, separated by exactly one space.
fn next_word(text: &[u8], at: usize) -> Option<&[u8]> {
    if text.get(at) != Some(&b' ') {
        return None;
    }
    let start = at + 1;
    let mut i = start;
    while i < text.len() && text[i].is_ascii_alphabetic() {
        i += 1;
    }
    (i > start).then(|| &text[start..i])
}

/// Reads the word starting at `i`: letters of any script plus inner
/// apostrophes and hyphens. Returns its end, and whether it is capitalised
/// (upper-case first letter, some lower-case after, not glued to digits or
/// underscores as identifiers are).
///
/// Runs of ASCII letters, nearly every byte of a word, take one table
/// look-up a byte ([`BYTE_CLASS`]); a word of ASCII letters alone, the common
/// case, is read inline, and anything else ([`word_at_slow`]) is decoded.
#[inline]
fn word_at(text: &[u8], i: usize) -> (usize, bool) {
    let (j, cases) = ascii_letters(text, i);
    // The word ends at an ASCII byte that is not a separator: done.
    match text.get(j) {
        Some(&c) if c >= 0x80 || c == b'\'' || c == b'-' => word_at_slow(text, i),
        next if j > i => {
            let glued = next.is_some_and(|c| c.is_ascii_digit() || *c == b'_');
            let cap = BYTE_CLASS[usize::from(text[i])] & UPPER != 0 && cases & LOWER != 0;
            (j, cap && !glued)
        }
        _ => word_at_slow(text, i),
    }
}

/// The end of the run of ASCII letters from `i` on, and the [`UPPER`] and
/// [`LOWER`] bits of its letters.
#[inline]
fn ascii_letters(text: &[u8], mut i: usize) -> (usize, u8) {
    let mut cases = 0u8;
    while let Some(&c) = text.get(i) {
        let k = BYTE_CLASS[usize::from(c)] & (UPPER | LOWER);
        if k == 0 {
            break;
        }
        cases |= k;
        i += 1;
    }
    (i, cases)
}

/// [`word_at`] for words holding non-ASCII letters, inner apostrophes or
/// hyphens, or starting with a non-ASCII byte.
#[inline(never)]
fn word_at_slow(text: &[u8], i: usize) -> (usize, bool) {
    let n = text.len();
    let mut j = i;
    // The first letter's case, once a letter has been read.
    let mut upper_first: Option<bool> = None;
    let mut any_lower = false;
    loop {
        let run = j;
        let cases;
        (j, cases) = ascii_letters(text, j);
        if j > run {
            upper_first.get_or_insert(BYTE_CLASS[usize::from(text[run])] & UPPER != 0);
            any_lower |= cases & LOWER != 0;
        }
        let Some(&c) = text.get(j) else { break };
        if c >= 0x80 {
            let len = match c {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            let ch = std::str::from_utf8(&text[j..n.min(j + len)])
                .ok()
                .and_then(|s| s.chars().next());
            if let Some(ch) = ch.filter(|ch| ch.is_alphabetic()) {
                upper_first.get_or_insert(ch.is_uppercase());
                any_lower |= ch.is_lowercase();
                j += len;
                continue;
            }
        }
        // An inner apostrophe or hyphen, followed by a letter.
        let sep = match c {
            b'\'' | b'-' => 1,
            0xE2 if text[j..].starts_with("’".as_bytes()) => 3,
            _ => 0,
        };
        if sep > 0
            && upper_first.is_some()
            && text
                .get(j + sep)
                .is_some_and(|nb| nb.is_ascii_alphabetic() || *nb >= 0xC0)
        {
            j += sep;
            continue;
        }
        break;
    }
    let glued = text
        .get(j)
        .is_some_and(|c| c.is_ascii_digit() || *c == b'_');
    (j, upper_first == Some(true) && any_lower && !glued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// The character-by-character reading [`word_at`] replaced, kept as its
    /// reference. Reads the word starting at `i`: letters of any script plus inner
    /// apostrophes and hyphens. Returns its end, and whether it is capitalised
    /// (upper-case first letter, some lower-case after, not glued to digits or
    /// underscores as identifiers are).
    fn word_at_reference(text: &[u8], i: usize) -> (usize, bool) {
        let n = text.len();
        let mut j = i;
        let mut upper_first = false;
        let mut has_lower = false;
        let mut first = true;
        while j < n {
            let c = text[j];
            if c.is_ascii_alphabetic() {
                if first {
                    upper_first = c.is_ascii_uppercase();
                    first = false;
                } else if c.is_ascii_lowercase() {
                    has_lower = true;
                }
                j += 1;
                continue;
            }
            let (alpha, upper, lower, len) = if c < 0x80 {
                (
                    c.is_ascii_alphabetic(),
                    c.is_ascii_uppercase(),
                    c.is_ascii_lowercase(),
                    1,
                )
            } else {
                let len = match c {
                    0xC0..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF7 => 4,
                    _ => 1,
                };
                match std::str::from_utf8(&text[j..n.min(j + len)])
                    .ok()
                    .and_then(|s| s.chars().next())
                {
                    Some(ch) => (
                        ch.is_alphabetic(),
                        ch.is_uppercase(),
                        ch.is_lowercase(),
                        len,
                    ),
                    None => (false, false, false, len),
                }
            };
            if alpha {
                if first {
                    upper_first = upper;
                } else if lower {
                    has_lower = true;
                }
                first = false;
                j += len;
            } else if !first
                && (c == b'\'' || c == b'-' || (c == 0xE2 && text[j..].starts_with("’".as_bytes())))
                && text
                    .get(j + if c < 0x80 { 1 } else { 3 })
                    .is_some_and(|nb| nb.is_ascii_alphabetic() || *nb >= 0xC0)
            {
                j += if c < 0x80 { 1 } else { 3 };
            } else {
                break;
            }
        }
        let glued = text
            .get(j)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'_');
        (j, upper_first && has_lower && !glued)
    }

    fn scanner() -> &'static Scanner {
        static S: OnceLock<Scanner> = OnceLock::new();
        S.get_or_init(|| {
            Scanner::new(ScanOptions {
                min_score: 0.5,
                reference_year: 2026,
            })
            .expect("patterns compile")
        })
    }

    fn found(text: &str, hint: Option<&str>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match hint {
            None => scanner().scan(text.as_bytes(), &mut out),
            Some(h) => scanner().scan_field(&FieldHint::from_name(h), text.as_bytes(), &mut out),
        }
        out.iter()
            .map(|f| (f.kind.name().to_owned(), text[f.start..f.end].to_owned()))
            .collect()
    }

    /// Scans `text` and compares (type, matched text) pairs in order.
    fn check(text: &str, expect: &[(&str, &str)]) {
        let want: Vec<(String, String)> = expect
            .iter()
            .map(|(t, s)| ((*t).to_owned(), (*s).to_owned()))
            .collect();
        assert_eq!(found(text, None), want, "in {text:?}");
    }

    /// Scans one field value under a column name.
    fn check_field(column: &str, value: &str, expect: &[(&str, &str)]) {
        let want: Vec<(String, String)> = expect
            .iter()
            .map(|(t, s)| ((*t).to_owned(), (*s).to_owned()))
            .collect();
        assert_eq!(found(value, Some(column)), want, "{column}={value:?}");
    }

    /// Asserts nothing of type `kind` is found.
    fn none_of(kind: &str, text: &str) {
        let f = found(text, None);
        assert!(
            f.iter().all(|(t, _)| t != kind),
            "{kind} in {text:?}: {f:?}"
        );
    }

    #[test]
    fn email() {
        check(
            "mail jane.doe@example.com now",
            &[("EMAIL", "jane.doe@example.com")],
        );
        check("(a.b+tag@mail.co.uk)", &[("EMAIL", "a.b+tag@mail.co.uk")]);
        check(
            "x_y-z@sub.domain.org.",
            &[("EMAIL", "x_y-z@sub.domain.org")],
        );
        none_of("EMAIL", "user@localhost");
        none_of("EMAIL", "a..b@example.com");
        none_of("EMAIL", "@example.com");
        none_of("EMAIL", "price 5@3.00");
    }

    #[test]
    fn phone() {
        check("call (212) 555-0134 now", &[("PHONE", "(212) 555-0134")]);
        check("phone: 415-555-0199.", &[("PHONE", "415-555-0199")]);
        check("tel 646.555.0101", &[("PHONE", "646.555.0101")]);
        check("+1 212 555 0134", &[("PHONE", "+1 212 555 0134")]);
        check("+1-917-555-0144", &[("PHONE", "+1-917-555-0144")]);
        check(
            "ring +44 20 7946 0958 today",
            &[("PHONE", "+44 20 7946 0958")],
        );
        check("+49 30 12345678", &[("PHONE", "+49 30 12345678")]);
        check("+33 1 42 68 53 00", &[("PHONE", "+33 1 42 68 53 00")]);
        // Look-alikes: invoice and order numbers, impossible exchanges, dates.
        none_of("PHONE", "invoice INV-2021-362444 overdue");
        none_of("PHONE", "order ORD-0012345");
        none_of("PHONE", "call 212-155-0134");
        none_of("PHONE", "dial 112-555-0134");
        none_of("PHONE", "on 2024-05-01 12:34:56");
        none_of("PHONE", "+1 234");
        none_of("PHONE", "SKU-AB-1234 and 12/25");
    }

    #[test]
    fn ip_address() {
        check("from 203.0.113.7 at", &[("IP_ADDRESS", "203.0.113.7")]);
        check("host 10.0.0.12.", &[("IP_ADDRESS", "10.0.0.12")]);
        check(
            "from 2001:db8:85a3:0:0:8a2e:370:7334 blocked",
            &[("IP_ADDRESS", "2001:db8:85a3:0:0:8a2e:370:7334")],
        );
        check(
            "peer fe80::1ff:fe23:4567:890a ok",
            &[("IP_ADDRESS", "fe80::1ff:fe23:4567:890a")],
        );
        none_of("IP_ADDRESS", "version v1.2.3.4");
        none_of("IP_ADDRESS", "build 1.2.3.4.5");
        none_of("IP_ADDRESS", "999.1.1.1");
        none_of("IP_ADDRESS", "at 12:34:56");
        none_of("IP_ADDRESS", "mac 00:1A:2B:3C:4D:5E");
        none_of("IP_ADDRESS", "use std::net::Ipv6Addr");
        none_of("IP_ADDRESS", "0.0.0.0");
        none_of("IP_ADDRESS", "127.0.0.1");
    }

    #[test]
    fn credit_card() {
        check(
            "card 4111 1111 1111 1111.",
            &[("CREDIT_CARD", "4111 1111 1111 1111")],
        );
        check(
            "card 4111-1111-1111-1111",
            &[("CREDIT_CARD", "4111-1111-1111-1111")],
        );
        check(
            "pan 5555555555554444",
            &[("CREDIT_CARD", "5555555555554444")],
        );
        check(
            "mc2 2223 0031 2200 3222",
            &[("CREDIT_CARD", "2223 0031 2200 3222")],
        );
        check(
            "amex 3782 822463 10005",
            &[("CREDIT_CARD", "3782 822463 10005")],
        );
        check(
            "disc 6011111111111117",
            &[("CREDIT_CARD", "6011111111111117")],
        );
        // Bad Luhn, unknown issuer, mixed separators, embedded in ids.
        none_of("CREDIT_CARD", "test 4111 1111 1111 1112");
        none_of("CREDIT_CARD", "id 1234567812345670");
        none_of("CREDIT_CARD", "4111 1111-1111 1111");
        none_of("CREDIT_CARD", "ref-4111111111111111");
        none_of("CREDIT_CARD", "tracking 1Z4111111111111111");
    }

    #[test]
    fn iban() {
        check(
            "IBAN DE89 3704 0044 0532 0130 00 failed",
            &[("IBAN", "DE89 3704 0044 0532 0130 00")],
        );
        check(
            "iban DE89370400440532013000.",
            &[("IBAN", "DE89370400440532013000")],
        );
        check(
            "to GB82 WEST 1234 5698 7654 32 THEN",
            &[("IBAN", "GB82 WEST 1234 5698 7654 32")],
        );
        check(
            "FR1420041010050500013M02606",
            &[("IBAN", "FR1420041010050500013M02606")],
        );
        check("BE68 5390 0754 7034", &[("IBAN", "BE68 5390 0754 7034")]);
        check(
            "ES91 2100 0418 4502 0005 1332",
            &[("IBAN", "ES91 2100 0418 4502 0005 1332")],
        );
        none_of("IBAN", "DE88 3704 0044 0532 0130 00");
        none_of("IBAN", "GB82WEST1234569876543");
        none_of("IBAN", "XX89370400440532013000");
    }

    #[test]
    fn us_ssn() {
        check("SSN 123-45-6789,", &[("US_SSN", "123-45-6789")]);
        check("ssn 123 45 6789", &[("US_SSN", "123 45 6789")]);
        check(
            "social security number 123456789",
            &[("US_SSN", "123456789")],
        );
        none_of("US_SSN", "000-12-3456");
        none_of("US_SSN", "666-12-3456");
        none_of("US_SSN", "912-12-3456");
        none_of("US_SSN", "123-00-3456");
        none_of("US_SSN", "123-45-0000");
        none_of("US_SSN", "id 123456789");
        none_of("US_SSN", "ORD-123-45-6789");
    }

    #[test]
    fn uk_nino() {
        check("NI number AB 12 34 56 C", &[("UK_NINO", "AB 12 34 56 C")]);
        check("nino JG103759A.", &[("UK_NINO", "JG103759A")]);
        none_of("UK_NINO", "BG123456A");
        none_of("UK_NINO", "QQ123456Z");
        none_of("UK_NINO", "DA123456A");
    }

    #[test]
    fn date_of_birth() {
        check("DOB 1985-03-02.", &[("DATE_OF_BIRTH", "1985-03-02")]);
        check("born on 03/02/1985 in", &[("DATE_OF_BIRTH", "03/02/1985")]);
        check(
            "date of birth is March 2, 1985",
            &[("DATE_OF_BIRTH", "March 2, 1985")],
        );
        check("birthday: 02 Mar 1985", &[("DATE_OF_BIRTH", "02 Mar 1985")]);
        check("d.o.b. 31.12.1970", &[("DATE_OF_BIRTH", "31.12.1970")]);
        // Dates without birth context, timestamps, future and invalid dates.
        none_of("DATE_OF_BIRTH", "cannot log in since 2024-03-01");
        none_of("DATE_OF_BIRTH", "DOB check at 2024-05-01 12:34:56");
        none_of("DATE_OF_BIRTH", "born 2031-01-01");
        none_of("DATE_OF_BIRTH", "DOB 1985-02-30");
        none_of("DATE_OF_BIRTH", "exp 12/27");
        check(
            "DOB 1980-01-01, joined 2024-05-01",
            &[("DATE_OF_BIRTH", "1980-01-01")],
        );
    }

    #[test]
    fn address() {
        check(
            "Ship to 123 Main Street Apt. 4, Springfield, IL 62704, attention",
            &[("ADDRESS", "123 Main Street Apt. 4, Springfield, IL 62704")],
        );
        check(
            "lives at 8746 Oak Ridge Rd, North Plains, OR 97133-1234.",
            &[("ADDRESS", "8746 Oak Ridge Rd, North Plains, OR 97133-1234")],
        );
        check(
            "office 10 Downing Street, London SW1A 2AA today",
            &[("ADDRESS", "10 Downing Street, London SW1A 2AA")],
        );
        check(
            "new address: 42 Elm Avenue",
            &[("ADDRESS", "42 Elm Avenue")],
        );
        none_of("ADDRESS", "we sold 42 Elm Avenue shares");
        none_of("ADDRESS", "Printer on floor 3 is jammed");
        none_of("ADDRESS", "total $1,234.56 for 3 items");
    }

    #[test]
    fn person() {
        check(
            "Customer Jane Smith (jane@x.com)",
            &[("PERSON", "Jane Smith"), ("EMAIL", "jane@x.com")],
        );
        check(
            "María García says the app crashes",
            &[("PERSON", "María García")],
        );
        check(
            "account holder Ana de la Cruz.",
            &[("PERSON", "Ana de la Cruz")],
        );
        check("attention Xqzt Vbnmw.", &[("PERSON", "Xqzt Vbnmw")]);
        // A name right after another finding: the finding's capitalised
        // words do not start a run that would swallow the name.
        check(
            "Ship to 12 Baker Street Alice Smith please.",
            &[("ADDRESS", "12 Baker Street"), ("PERSON", "Alice Smith")],
        );
        check("Mary-Jane O'Connor", &[("PERSON", "Mary-Jane O'Connor")]);
        // Surnames that are also common words, first names that are too.
        check("disputed by Adam Good, DOB", &[("PERSON", "Adam Good")]);
        check("Will Smith says hi", &[("PERSON", "Will Smith")]);
        check("Dear Jane Price,", &[("PERSON", "Jane Price")]);
        check(
            "call back (Lucy Payet), after 5pm",
            &[("PERSON", "Lucy Payet")],
        );
        none_of("PERSON", "Firewall blocked the Printer");
        none_of("PERSON", "Quarterly Business Review Meeting Notes Draft");
        none_of("PERSON", "Please Update Billing");
        none_of("PERSON", "Xqzt Vbnmw");
        none_of("PERSON", "JOHN SMITH_ID");
        none_of("PERSON", "distributed by Covered Software today");
        none_of("PERSON", "contact the Data Protection Officer");
        none_of("PERSON", "customer Acme Health Ltd");
        none_of("PERSON", "name: Tollgate Payments");
        check(
            "distributed by Mary Covered today",
            &[("PERSON", "Mary Covered")],
        );
        // Names the census lists do not hold, known by what stands next to
        // them: contact details, a weak context word, a surname's ending.
        check(
            "Callback requested: 404-252-1933 (Joris Heijman), after 5pm",
            &[("PHONE", "404-252-1933"), ("PERSON", "Joris Heijman")],
        );
        check(
            "From Quinty Schuurmans <quinty@example.nl>",
            &[
                ("PERSON", "Quinty Schuurmans"),
                ("EMAIL", "quinty@example.nl"),
            ],
        );
        check(
            "Please remove Güverçin Ülker from the mailing list",
            &[("PERSON", "Güverçin Ülker")],
        );
        check("Please call Alice Zqxwv back", &[("PERSON", "Alice Zqxwv")]);
        check("holder Xqzt Kowalski.", &[("PERSON", "Xqzt Kowalski")]);
        check(
            "Iris van 't Wel says hello",
            &[("PERSON", "Iris van 't Wel")],
        );
        check(
            "Eline Henric van den Nuwenhuse says hello",
            &[("PERSON", "Eline Henric van den Nuwenhuse")],
        );
        none_of("PERSON", "Xqzt Kowalski");
        none_of("PERSON", "see (Google Chrome) for details");
        none_of("PERSON", "the Acme Widgets Ltd (sales@acme.example) team");
    }

    #[test]
    fn secret() {
        check(
            "key AKIAIOSFODNN7EXAMPLE in",
            &[("SECRET", "AKIAIOSFODNN7EXAMPLE")],
        );
        check(
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked",
            &[("SECRET", "ghp_abcdefghijklmnopqrstuvwxyz0123456789")],
        );
        check(
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            &[("SECRET", "sk_live_4eC39HqLyjWDarjtT1zdp7dc")],
        );
        check(
            "xoxb-12345678901-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
            &[(
                "SECRET",
                "xoxb-12345678901-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
            )],
        );
        check(
            "api key: 3f9a1c7e5b2d80461f9a1c7e5b2d80461f9a1c7e",
            &[("SECRET", "3f9a1c7e5b2d80461f9a1c7e5b2d80461f9a1c7e")],
        );
        check(
            "-----BEGIN RSA PRIVATE KEY-----",
            &[("SECRET", "-----BEGIN RSA PRIVATE KEY-----")],
        );
        // A bare commit hash is not a secret; neither is a low-entropy token.
        none_of(
            "SECRET",
            "commit 3f9a1c7e5b2d80461f9a1c7e5b2d80461f9a1c7e merged",
        );
        none_of("SECRET", "token aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        none_of("SECRET", "pk_live_4eC39HqLyjWDarjtT1zdp7dc");
    }

    #[test]
    fn street_types_fit_the_lookup_buffer() {
        assert!(STREET_TYPES.iter().all(|t| t.len() < 32));
        let s = scanner();
        assert!(s.is_street_type(b"Ave.") && s.is_street_type(b"BOULEVARD"));
        assert!(!s.is_street_type(b"Avenues") && !s.is_street_type(&[b'a'; 40]));
    }

    #[test]
    fn month_names_fold_their_first_three_letters() {
        assert_eq!(month_from_name(b"Sept"), Some(9));
        assert_eq!(month_from_name(b"DECEMBER"), Some(12));
        assert_eq!(month_from_name(b"mAy"), Some(5));
        assert_eq!(month_from_name(b"ma"), None);
        assert_eq!(month_from_name(b""), None);
        assert_eq!(month_from_name(b"Maz"), None);
    }

    #[test]
    fn word_lists_are_sorted_and_short_enough_to_pack() {
        for list in [PERSON_BEFORE, PERSON_BEFORE_WEAK, PERSON_AFTER, ORG_WORDS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
        assert!(PERSON_BEFORE_WEAK.iter().all(|w| PERSON_BEFORE.contains(w)));
        for list in [PERSON_BEFORE, PERSON_BEFORE_WEAK, PERSON_AFTER] {
            assert!(list.iter().all(|w| w.len() <= names::MAX_PACKED));
        }
    }

    #[test]
    fn context_words_map_to_their_lists() {
        for (list, bit) in [
            (PERSON_BEFORE, W_BEFORE),
            (PERSON_BEFORE_WEAK, W_BEFORE_WEAK),
            (PERSON_AFTER, W_AFTER),
            (ORG_WORDS, W_ORG),
        ] {
            for w in list {
                assert!(context_word(w.as_bytes()) & bit != 0, "{w}");
                let upper = w.to_ascii_uppercase();
                assert!(context_word(upper.as_bytes()) & bit != 0, "{upper}");
            }
        }
        // Every bit set belongs to a list holding the word.
        for w in PERSON_BEFORE.iter().chain(PERSON_AFTER).chain(ORG_WORDS) {
            let b = context_word(w.as_bytes());
            assert_eq!(b & W_BEFORE != 0, PERSON_BEFORE.contains(w), "{w}");
            assert_eq!(
                b & W_BEFORE_WEAK != 0,
                PERSON_BEFORE_WEAK.contains(w),
                "{w}"
            );
            assert_eq!(b & W_AFTER != 0, PERSON_AFTER.contains(w), "{w}");
            assert_eq!(b & W_ORG != 0, ORG_WORDS.contains(w), "{w}");
        }
        for w in [
            "",
            "agents",
            "ag",
            "mrs.",
            "thanksgiving",
            "xxxxxxxxxxxxxxxxxxxxxxxxxx",
        ] {
            assert_eq!(context_word(w.as_bytes()), 0, "{w}");
        }
    }

    #[test]
    fn dictionary_keys_carry_their_context_bits() {
        // The name pass reads a run word's context bits from its dictionary
        // look-up: they must be what `context_word` says for the same key.
        let d = names::dictionaries();
        let mask = W_BEFORE | W_BEFORE_WEAK | W_AFTER | W_ORG;
        let lists = NAME_CONTEXT.iter().flat_map(|(l, _)| l.iter().copied());
        let others = ["smith", "mary", "the", "agents", "x", "jose", "smith-jones"];
        for w in lists.chain(others) {
            assert_eq!(
                d.bits(w.as_bytes()) & mask,
                context_word(w.as_bytes()),
                "{w}"
            );
        }
        // The dictionaries' own bits stay clear of the context bits.
        assert_eq!((names::FIRST | names::LAST | names::STOP) & mask, 0);
    }

    #[test]
    fn context_words_match_as_the_automaton_did() {
        assert!(CONTEXT_WORDS.len() < 256, "word indexes fit a byte");
        // The matcher looks words up by their first two bytes, and numbers
        // the bytes they hold.
        assert!(CONTEXT_WORDS.iter().all(|(w, _)| w.len() >= 2));
        let mut held: Vec<u8> = CONTEXT_WORDS
            .iter()
            .flat_map(|(w, _)| w.to_ascii_lowercase().into_bytes())
            .collect();
        held.sort_unstable();
        held.dedup();
        assert!(held.len() < CTX_CLASSES);
        let ctx = ContextWords::new(CONTEXT_WORDS);
        // The automaton the matcher replaced.
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(CONTEXT_WORDS.iter().map(|(w, _)| w))
            .expect("context words build");
        let mut x = 7u64;
        let mut next = move |n: usize| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) as usize) % n
        };
        // Windows of context words, their prefixes and overlaps ("date of
        // birthday", "telephone"), in any case, glued to letters, digits and
        // punctuation or not.
        let bits = [
            "a", "x", "t", "d", "b", "2", " ", " ", ".", ",", ":", "_", "-", "\n", "of", "to",
            "at", "é",
        ];
        for _ in 0..20_000 {
            let mut w = String::new();
            while w.len() < 48 {
                if next(3) == 0 {
                    w.push_str(bits[next(bits.len())]);
                    continue;
                }
                let (word, _) = CONTEXT_WORDS[next(CONTEXT_WORDS.len())];
                let word = &word[..1 + next(word.len())];
                for c in word.chars() {
                    if next(4) == 0 {
                        w.extend(c.to_uppercase());
                    } else {
                        w.push(c);
                    }
                }
            }
            let mut got = Vec::new();
            ctx.for_each_match(w.as_bytes(), |s, e, b| got.push((s, e, b)));
            let want: Vec<_> = ac
                .find_iter(w.as_bytes())
                .map(|m| (m.start(), m.end(), CONTEXT_WORDS[m.pattern().as_usize()].1))
                .collect();
            assert_eq!(got, want, "{w:?}");
        }
    }

    #[test]
    fn words_read_as_the_reference_reads_them() {
        for text in [
            "Anne-Marie O'Neil",
            "José Álvarez",
            "ÉLODIE",
            "van 't Riet",
            "McDonald’s",
            "Ab_c",
            "Ab9",
            "A-",
            "A'b",
            "Émile-",
            "d’Artagnan",
            "ǅemal",
            "ΑΒγ",
            "x\u{2019}",
            "",
        ] {
            for i in 0..=text.len() {
                if text.is_char_boundary(i) {
                    let t = text.as_bytes();
                    assert_eq!(word_at(t, i), word_at_reference(t, i), "{text:?} at {i}");
                }
            }
        }
        // Random bytes drawn from letters, separators and UTF-8 pieces.
        let alphabet: Vec<&[u8]> = vec![
            b"a",
            b"Z",
            b"q",
            b"M",
            b"'",
            b"-",
            b" ",
            b"_",
            b"7",
            "é".as_bytes(),
            "É".as_bytes(),
            "’".as_bytes(),
            "ß".as_bytes(),
            "Σ".as_bytes(),
            b"\xC3",
            b"\xE2",
            b"\x80",
        ];
        let mut x = 99u64;
        for _ in 0..3000 {
            let mut t = Vec::new();
            for _ in 0..12 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                t.extend_from_slice(alphabet[(x >> 33) as usize % alphabet.len()]);
            }
            for i in 0..=t.len() {
                assert_eq!(word_at(&t, i), word_at_reference(&t, i), "{t:?} at {i}");
            }
        }
    }

    #[test]
    fn name_starts_match_the_byte_table() {
        let mut x = 12_345u64;
        let mut text = Vec::new();
        for _ in 0..5000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            text.push((x >> 56) as u8);
        }
        for i in 0..=text.len() {
            let want = text[i..]
                .iter()
                .position(|&b| b.is_ascii_uppercase() || b >= 0xC3)
                .map_or(text.len(), |p| i + p);
            assert_eq!(next_name_start(&text, i), want, "at {i}");
        }
        assert_eq!(next_name_start(b"", 0), 0);
        assert_eq!(next_name_start(b"abc", 3), 3);
    }

    #[test]
    fn merged_claims_stay_sorted() {
        let mut a = vec![(0, 2), (5, 7), (20, 25)];
        merge_sorted(&mut a, &[(3, 4), (10, 12), (30, 31)]);
        assert_eq!(a, [(0, 2), (3, 4), (5, 7), (10, 12), (20, 25), (30, 31)]);
        let mut e = Vec::new();
        merge_sorted(&mut e, &[(1, 2)]);
        assert_eq!(e, [(1, 2)]);
    }

    #[test]
    fn heads_match_wherever_their_patterns_match() {
        // Every match of a pattern, found unanchored on its own, must start
        // a match of its head, or the candidate would never be tried.
        let mut text = word_corpus(11, 3000);
        text.push_str(
            "-----BEGIN OPENSSH PRIVATE KEY----- mail a.b+c@d-e.example.co.uk now\n\
             IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000\n\
             card 4111 1111 1111 1111, 4111-1111-1111-1111, 378282246310005, 3782 822463 10005\n\
             SSN 123-45-6789 or 123 45 6789 or 123456789, NINO AB 12 34 56 C, AB123456C\n\
             call (212) 555-0134, 212.555.0134, +1 (212) 555 0134, +44 20 7946 0958\n\
             hosts 10.1.2.3 fe80::1ff:fe23:4567:890a ::1 2001:db8::8a2e:370:7334\n\
             born 1985-03-04, 3/4/1985, March 4th, 1985, Sept. 4 1985, 4th of March 1985\n\
             12 Émile Zola Street, 5th Ave, 221B Baker Street, London NW1 6XE\n\
             742 Evergreen Terrace, Springfield, IL 62704-1234 and 10 N. Main St. Apt 4\n",
        );
        for (p, src) in patterns() {
            let pattern = Regex::new(&src).expect("pattern compiles");
            let head = Regex::new(head_of(p)).expect("head compiles");
            let mut n = 0;
            for m in pattern.find_iter(text.as_bytes()) {
                let at = Input::new(&text)
                    .span(m.start()..text.len())
                    .anchored(Anchored::Yes);
                assert!(
                    head.search(&at).is_some(),
                    "{p:?}: no head at {:?}",
                    &text[m.range()]
                );
                n += 1;
            }
            assert!(n > 0, "{p:?} matches in the test text");
        }
    }

    /// Lines built from the vocabulary of the patterns' word lists: street types in
    /// various cases and glued to other text, states, months, units,
    /// ordinals, postcodes, NINO-like and date-like tokens.
    fn word_corpus(seed: u64, lines: usize) -> String {
        let mut x = seed;
        let mut next = move |n: usize| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) as usize) % n
        };
        let words = [
            "Main",
            "Oak",
            "North",
            "N",
            "N.",
            "S",
            "West",
            "E.",
            "Old",
            "Saint",
            "St.",
            "Mount",
            "Lake",
            "Mason",
            "Bell",
            "London",
            "Leeds",
            "Springfield",
            "the",
            "of",
            "at",
            "lives",
            "address",
            "DOB",
            "born",
            "Mary",
            "Smith",
            "José",
            "Straße",
            "O'Connor",
            "Mary-Jane",
        ];
        let tails = [
            "", "", "", "s", "car", "-Louis", ".Foo", "'x", "1", "_", ".",
        ];
        let states = ["CA", "NY", "IL", "OR", "XX", "ZQ", "AB", "DC", "AP"];
        let months = [
            "Jan",
            "March",
            "Sept",
            "September",
            "Mayo",
            "Marc",
            "Junes",
            "Monday",
        ];
        let units = [
            "Apt",
            "Apartment",
            "Suite",
            "Ste.",
            "Unit",
            "Flat",
            "#",
            "Room",
            "Rooms",
        ];
        let seps = [" ", " ", " ", " ", " ", ", ", ",", ". ", "-", "."];
        let mut out = String::new();
        for _ in 0..lines {
            for _ in 0..1 + next(18) {
                let tok = match next(10) {
                    0 | 1 => format!("{}{}", next(100_000), ["", "", "B", "st", "th"][next(5)]),
                    2 | 3 => {
                        let t = STREET_TYPES[next(STREET_TYPES.len())];
                        let t = match next(8) {
                            0 => t.to_lowercase(),
                            1 => t.to_uppercase(),
                            _ => t.to_owned(),
                        };
                        format!("{t}{}", tails[next(tails.len())])
                    }
                    4 => words[next(words.len())].to_owned(),
                    5 => format!("{} {:05}", states[next(states.len())], next(100_000)),
                    6 => format!(
                        "{} {}, {}",
                        months[next(months.len())],
                        next(40),
                        1890 + next(140)
                    ),
                    7 => format!("{} {}", units[next(units.len())], next(10_000)),
                    8 => [
                        "SW1A 1AA",
                        "M1 1AE",
                        "B33 8TH",
                        "AB 12 34 56 C",
                        "QQ123456Z",
                        "10.0.0.1",
                        "256.1.1.1",
                        "1.2.3.4.5",
                        "2024-13-01",
                        "1999-02-28",
                        "03/04/1985",
                        "+44 20 7946 0958",
                        "+0 123 456",
                        "AKIAIOSFODNN7EXAMPLE",
                        "AKIAIOSFODNN7EXAMPL",
                        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
                        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567",
                        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                        "sk_test_4eC39HqLyjWD",
                        "xoxb-1234567890-abc",
                        "AIzaSyA1234567890abcdefghijklmnopqrstu",
                        "glpat-abcdefghij0123456789",
                        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
                        "eyJhbGci.eyJzdWIi.abc",
                    ][next(24)]
                    .to_owned(),
                    _ => format!(
                        "{}{} of {}",
                        next(32),
                        ["", "st", "nd", "rd", "th"][next(5)],
                        months[next(months.len())]
                    ),
                };
                out.push_str(&tok);
                out.push_str(seps[next(seps.len())]);
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn heads_find_what_the_exact_patterns_find() {
        let exact = Scanner::build(ScanOptions::default(), false).expect("patterns compile");
        let headed = scanner();
        let text = word_corpus(7, 4000);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        exact.scan(text.as_bytes(), &mut a);
        headed.scan(text.as_bytes(), &mut b);
        assert!(a.len() > 1000, "the corpus has findings: {}", a.len());
        for kind in [
            PiiType::Address,
            PiiType::Secret,
            PiiType::IpAddress,
            PiiType::UkNino,
        ] {
            assert!(a.iter().any(|f| f.kind == kind), "{kind:?} in the corpus");
        }
        assert_eq!(a, b);
        for line in text.lines().take(1500) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            exact.scan_field(&FieldHint::from_name("address"), line.as_bytes(), &mut a);
            headed.scan_field(&FieldHint::from_name("address"), line.as_bytes(), &mut b);
            assert_eq!(a, b, "{line:?}");
        }
    }

    #[test]
    fn look_alikes_are_quiet() {
        for text in [
            "Order ORD-0012345 total $1,234.56, paid with card ending 4242.",
            "Deploy of v2.13.7 to srv-db-07.internal failed on 2024-07-01, see build 20240701.3.",
            "Meeting moved to 2025-03-04; agenda: quarterly numbers, 3.5% churn.",
            "Package 1Z9A8B7C6D5E4F3G2H delayed.",
            "Printer on floor 3 is jammed again, asset SKU-AB-1234.",
            "Invoice INV-2022-004211 for $99.00 is overdue since March 3, 2024.",
        ] {
            assert_eq!(found(text, None), vec![], "{text}");
        }
    }

    #[test]
    fn fields_use_hints() {
        check_field("dob", "1985-03-02", &[("DATE_OF_BIRTH", "1985-03-02")]);
        check_field(
            "birthday",
            "March 2, 1985",
            &[("DATE_OF_BIRTH", "March 2, 1985")],
        );
        // A bare old date in an unnamed column is still a likely birth date;
        // in a signup column, or recent, it is not.
        check_field("col7", "1985-03-02", &[("DATE_OF_BIRTH", "1985-03-02")]);
        check_field("signup_date", "1985-03-02", &[]);
        check_field("col7", "2024-03-02", &[]);
        check_field("name", "Xqzt Vbnmw", &[("PERSON", "Xqzt Vbnmw")]);
        check_field("name", "Jürgen", &[("PERSON", "Jürgen")]);
        check_field("plan", "Enterprise", &[]);
        check_field(
            "api_key",
            "Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9",
            &[("SECRET", "Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9")],
        );
        check_field(
            "note",
            "card 4111111111111111 declined",
            &[("CREDIT_CARD", "4111111111111111")],
        );
    }

    #[test]
    fn spans_are_char_boundaries_and_sorted() {
        let text = "Ünïcödé José Álvarez at jose@exämple.com, ☎ +44 20 7946 0958 — DOB 1985-03-02";
        let mut out = Vec::new();
        scanner().scan(text.as_bytes(), &mut out);
        assert!(!out.is_empty());
        for w in out.windows(2) {
            assert!(w[0].start <= w[1].start);
        }
        for f in &out {
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        }
    }

    #[test]
    fn findings_stay_on_their_line() {
        let text = "Jane\nSmith 4111 1111\n1111 1111";
        let mut out = Vec::new();
        scanner().scan(text.as_bytes(), &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn person_scores_follow_evidence() {
        let score = |text: &str| {
            let mut out = Vec::new();
            scanner().scan(text.as_bytes(), &mut out);
            out.iter()
                .find(|f| f.kind == PiiType::Person)
                .map(|f| f.score)
        };
        assert_eq!(score("submitted by Xqzt Vbnmw."), Some(0.5));
        assert_eq!(score("attention Xqzt Vbnmw."), Some(0.6));
        assert_eq!(score("Jane Smith"), Some(0.85));
        assert_eq!(score("customer Jane Smith"), Some(0.95));
        assert_eq!(score("Xqzt Vbnmw"), None);
    }

    #[test]
    fn min_score_filters() {
        let strict = Scanner::new(ScanOptions {
            min_score: 0.9,
            reference_year: 2026,
        })
        .expect("patterns compile");
        let mut out = Vec::new();
        strict.scan(b"ref 212 555 0134 or email a@b.com", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, PiiType::Email);
    }
}
