//! The bundled first-name and last-name dictionaries.
//!
//! Both lists are the US Census 1990 name frequency lists (public domain), as
//! shipped by the PyPI package `names` 0.3.0 (MIT); `data/make_names.py`
//! regenerates them. Lookups fold case and common Latin diacritics, so
//! `José` and `JOSE` both hit `jose`.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

static FIRST_NAMES: &str = include_str!("../data/first_names.txt");
static LAST_NAMES: &str = include_str!("../data/last_names.txt");

/// FNV-1a: the keys are short ASCII words, for which SipHash is needlessly slow.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FnvSet<T> = HashSet<T, BuildHasherDefault<Fnv>>;
pub(crate) type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// [`Dictionaries::bits`]: a census first name.
pub(crate) const FIRST: u8 = 1;
/// [`Dictionaries::bits`]: a census last name.
pub(crate) const LAST: u8 = 2;
/// [`Dictionaries::bits`]: one of [`STOPWORDS`].
pub(crate) const STOP: u8 = 4;

/// The dictionaries, built once per process: one table from folded word to
/// the lists it is in, so that the name pass looks each word up once, not
/// once per list.
///
/// Nearly every key is a short run of lower-case ASCII letters. Those are
/// packed with their bits into one integer each ([`pack5`]) and kept in a
/// flat open-addressing table of 1 MiB, so that a look-up reads one or two
/// cache lines and compares integers. The hash map the table replaced took
/// about 4 MiB, more than this machine's per-core L2 cache, and a pointer to
/// chase per probe. The few keys that do not pack (12 letters or more) stay
/// in a hash map.
pub(crate) struct Dictionaries {
    /// Linear probing; each slot is `pack5(key) << 8 | bits`, 0 when empty.
    /// Its length is a power of two, at least 1.25 times the number of
    /// keys, so that probing always ends at an empty slot.
    table: Vec<u64>,
    /// `table.len()` is `1 << table_bits`.
    table_bits: u32,
    /// The keys [`pack5`] does not take.
    long: FnvMap<&'static [u8], u8>,
}

/// Longest key [`pack5`] takes: eleven letters of five bits leave eight bits
/// for the lists' bits.
const MAX_PACK5: usize = 11;

/// A key of 1 to [`MAX_PACK5`] lower-case ASCII letters as one integer:
/// five bits a letter (`a` is 1, so that no key packs to 0 and keys of
/// different lengths differ).
fn pack5(key: &[u8]) -> Option<u64> {
    if key.is_empty() || key.len() > MAX_PACK5 {
        return None;
    }
    let mut code = 0u64;
    for (i, &c) in key.iter().enumerate() {
        if !c.is_ascii_lowercase() {
            return None;
        }
        code |= u64::from(c - b'a' + 1) << (5 * i);
    }
    Some(code)
}

/// The slot of a table of `1 << bits` slots where probing for `code`
/// starts (Fibonacci hashing).
fn slot(code: u64, bits: u32) -> usize {
    (code.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

fn add(words: &mut FnvMap<&'static [u8], u8>, list: impl Iterator<Item = &'static str>, bit: u8) {
    for w in list {
        *words.entry(w.as_bytes()).or_insert(0) |= bit;
    }
}

fn parse(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Returns the process-wide dictionaries, parsing the embedded lists on first use.
pub(crate) fn dictionaries() -> &'static Dictionaries {
    static DICTS: OnceLock<Dictionaries> = OnceLock::new();
    DICTS.get_or_init(|| {
        let mut words = FnvMap::default();
        add(&mut words, parse(FIRST_NAMES), FIRST);
        add(&mut words, parse(LAST_NAMES), LAST);
        add(&mut words, STOPWORDS.iter().copied(), STOP);
        // The name pass's context words too (their bits are the engine's,
        // distinct from the ones above), so that a word of a run is looked
        // up once for all lists. Only words that pack: the engine's packed
        // look-up ([`pack`]) cannot match a longer one either.
        for (list, bit) in crate::engine::NAME_CONTEXT {
            let packable = list.iter().copied().filter(|w| w.len() <= MAX_PACKED);
            add(&mut words, packable, bit);
        }
        let (packed, long): (FnvMap<_, _>, FnvMap<_, _>) =
            words.into_iter().partition(|(key, _)| pack5(key).is_some());
        // At least 1.25 slots a key (93,000 keys: 2^17 slots, 1 MiB).
        let table_bits = (packed.len() * 5 / 4 + 1)
            .next_power_of_two()
            .trailing_zeros();
        let mut table = vec![0u64; 1 << table_bits];
        for (key, bits) in packed {
            let Some(code) = pack5(key) else { continue };
            let mut i = slot(code, table_bits);
            while table[i] != 0 {
                i = (i + 1) & (table.len() - 1);
            }
            table[i] = code << 8 | u64::from(bits);
        }
        Dictionaries {
            table,
            table_bits,
            long,
        }
    })
}

/// Words that are capitalised at the start of a sentence or in titles, and
/// that would otherwise be taken for part of a name because the census lists
/// contain them (the lists hold 88,799 surnames, many of them English words).
const STOPWORDS: &[&str] = &[
    "a", "about", "account", "address", "after", "again", "all", "also", "am", "an", "and", "any",
    "are", "as", "at", "bank", "be", "because", "been", "before", "best", "bill", "billing",
    "both", "but", "by", "call", "can", "card", "case", "cc", "city", "client", "contact", "could",
    "county", "court", "customer", "date", "day", "dear", "do", "does", "done", "each", "east",
    "email", "error", "even", "every", "for", "from", "good", "had", "has", "have", "he", "hello",
    "her", "here", "hi", "him", "his", "home", "how", "i", "if", "in", "into", "is", "it", "its",
    "just", "last", "late", "let", "like", "line", "log", "mail", "main", "many", "may", "me",
    "more", "most", "mr", "mrs", "ms", "much", "must", "my", "name", "new", "next", "no", "north",
    "not", "note", "now", "of", "off", "old", "on", "once", "one", "only", "or", "order", "other",
    "our", "out", "over", "own", "page", "park", "pay", "phone", "please", "post", "price", "re",
    "ref", "same", "says", "see", "she", "should", "so", "some", "south", "state", "street",
    "such", "team", "than", "thank", "thanks", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "too", "under", "up", "us", "user", "very", "was",
    "we", "well", "were", "west", "what", "when", "where", "which", "while", "who", "why", "will",
    "with", "would", "yes", "yet", "you", "your",
];

/// Lower-case particles that may sit inside a name (`Ana de la Cruz`,
/// `Iris van het Veld`, `Juliette die Witte`). The Dutch `'t` (`van 't Riet`)
/// starts with an apostrophe and is read apart ([`is_apostrophe_t`]).
const PARTICLES: &[&str] = &[
    "al", "bin", "da", "das", "de", "del", "della", "den", "der", "di", "die", "do", "dos", "du",
    "el", "het", "la", "le", "st", "ten", "ter", "van", "von", "y", "zu",
];

/// The length of the Dutch particle `'t` (or `’t`) when `text` starts with it and a space.
pub(crate) fn is_apostrophe_t(text: &[u8]) -> Option<usize> {
    if text.starts_with(b"'t ") {
        Some(2)
    } else if text.starts_with("’t ".as_bytes()) {
        Some("’t".len())
    } else {
        None
    }
}

/// Endings that mark a surname in the naming conventions of other languages,
/// from onomastics rather than from any list of people: patronymic and
/// toponymic suffixes (Polish `-ski`/`-wicz`, Turkish `-oğlu`, Scandinavian
/// `-sson`/`-ström`, Greek `-poulos`, Georgian `-shvili`, Ukrainian `-enko`,
/// Armenian `-yan`, Dutch `-stra`/`-mans`...). The census lists hold few of
/// these names, so without the endings a name from those countries has no
/// dictionary evidence at all. Matched against the folded key, with at least
/// three letters before the ending; sorted for the test that checks it.
const SURNAME_ENDINGS: &[&str] = &[
    "akis", "chuk", "cka", "cki", "czak", "czuk", "czyk", "dze", "dzka", "dzki", "elli", "enko",
    "etti", "ewicz", "huis", "idis", "kvist", "mans", "oglu", "otti", "oğlu", "poulos", "qvist",
    "shvili", "ska", "ski", "sson", "stra", "strom", "ström", "ucci", "veld", "wicz", "yan", "yuk",
];

/// True when the folded word (valid UTF-8) ends like a surname
/// ([`SURNAME_ENDINGS`]), the ending starting on a character boundary.
pub(crate) fn has_surname_ending(key: &[u8]) -> bool {
    SURNAME_ENDINGS.iter().any(|e| {
        let cut = key.len().wrapping_sub(e.len());
        key.len() >= e.len() + 3
            && key.ends_with(e.as_bytes())
            // Not a UTF-8 continuation byte.
            && key[cut] & 0xC0 != 0x80
    })
}

/// The longest word in [`PARTICLES`].
pub(crate) const MAX_PARTICLE: usize = 5;

/// True when `word` is one of [`PARTICLES`] (as written: lower case).
/// Called for most lower-case words after a capitalised one, so the list is
/// searched as packed integers ([`pack`]) rather than strings.
pub(crate) fn is_particle(word: &[u8]) -> bool {
    static PACKED: OnceLock<Vec<u128>> = OnceLock::new();
    let packed = PACKED.get_or_init(|| pack_sorted(PARTICLES));
    // Packing lower-cases; particles match only as written.
    word.len() <= MAX_PARTICLE
        && word.iter().all(u8::is_ascii_lowercase)
        && pack(word).is_some_and(|w| packed.binary_search(&w).is_ok())
}

/// Longest word [`pack`] takes.
pub(crate) const MAX_PACKED: usize = 16;

/// A word of up to [`MAX_PACKED`] bytes as one integer, ASCII letters
/// lower-cased: its bytes little-endian, zero-padded. Words hold no NUL byte,
/// so distinct words pack to distinct integers, and a sorted list of packed
/// words is searched with integer comparisons instead of `memcmp` calls.
pub(crate) fn pack(word: &[u8]) -> Option<u128> {
    let mut buf = [0u8; MAX_PACKED];
    buf.get_mut(..word.len())?
        .iter_mut()
        .zip(word)
        .for_each(|(d, c)| *d = c.to_ascii_lowercase());
    Some(u128::from_le_bytes(buf))
}

/// The words of `list` packed ([`pack`]) and sorted for binary search.
/// Words too long to pack are left out: no word they could match packs.
pub(crate) fn pack_sorted(list: &[&str]) -> Vec<u128> {
    let mut v: Vec<u128> = list.iter().filter_map(|w| pack(w.as_bytes())).collect();
    v.sort_unstable();
    v
}

impl Dictionaries {
    /// The lists the folded word is in ([`FIRST`], [`LAST`], [`STOP`], and
    /// the engine's name-context lists, `engine::NAME_CONTEXT`).
    pub(crate) fn bits(&self, folded: &[u8]) -> u8 {
        let Some(code) = pack5(folded) else {
            return self.long.get(folded).copied().unwrap_or(0);
        };
        let mask = self.table.len() - 1;
        let mut i = slot(code, self.table_bits);
        loop {
            let entry = self.table[i];
            if entry == 0 {
                return 0;
            }
            if entry >> 8 == code {
                return entry as u8;
            }
            i = (i + 1) & mask;
        }
    }
    /// Every key and its bits (tests).
    #[cfg(test)]
    fn entries(&self) -> Vec<(Vec<u8>, u8)> {
        let unpack = |mut code: u64| {
            let mut key = Vec::new();
            while code != 0 {
                key.push(b'a' + (code & 31) as u8 - 1);
                code >>= 5;
            }
            key
        };
        let packed = self.table.iter().filter(|&&e| e != 0);
        packed
            .map(|&e| (unpack(e >> 8), e as u8))
            .chain(self.long.iter().map(|(k, b)| (k.to_vec(), *b)))
            .collect()
    }
    /// True when the folded word is a census first name.
    #[cfg(test)]
    pub(crate) fn is_first(&self, folded: &str) -> bool {
        self.bits(folded.as_bytes()) & FIRST != 0
    }
    /// True when the folded word is a census last name.
    #[cfg(test)]
    pub(crate) fn is_last(&self, folded: &str) -> bool {
        self.bits(folded.as_bytes()) & LAST != 0
    }
}

/// Folds `word` to lower-case ASCII into `buf` (cleared first): ASCII letters
/// are lower-cased, common Latin letters with diacritics lose them, and other
/// characters are kept lower-cased. Returns false when the word contains a
/// character that cannot be part of a dictionary key (digits, symbols).
#[cfg(test)]
pub(crate) fn fold_into(word: &str, buf: &mut String) -> bool {
    buf.clear();
    fold_append(word, buf)
}

/// Appends `word` folded as [`fold_into`] does to `buf`, keeping what `buf`
/// held. Returns false when the word holds a character that cannot be part of
/// a key, or folds to nothing.
pub(crate) fn fold_append(word: &str, buf: &mut String) -> bool {
    let from = buf.len();
    if word.bytes().all(|b| b.is_ascii_alphabetic()) {
        buf.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        return !word.is_empty();
    }
    for c in word.chars() {
        if c.is_ascii_alphabetic() {
            buf.push(c.to_ascii_lowercase());
            continue;
        }
        let folded = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'ą' | 'Ą' => {
                "a"
            }
            'æ' | 'Æ' => "ae",
            'ç' | 'Ç' | 'ć' | 'Ć' | 'č' | 'Č' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' | 'ę' | 'Ę' | 'ě' | 'Ě' => {
                "e"
            }
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
            'ñ' | 'Ñ' | 'ń' | 'Ń' | 'ň' | 'Ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
                "o"
            }
            'œ' | 'Œ' => "oe",
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'ů' | 'Ů' => "u",
            'ý' | 'ÿ' | 'Ý' => "y",
            'ß' => "ss",
            'ł' | 'Ł' => "l",
            'ś' | 'Ś' | 'š' | 'Š' => "s",
            'ź' | 'Ź' | 'ż' | 'Ż' | 'ž' | 'Ž' => "z",
            'ř' | 'Ř' => "r",
            'đ' | 'Đ' | 'ď' | 'Ď' => "d",
            'ť' | 'Ť' => "t",
            '\'' | '’' => "",
            '-' => "-",
            _ if c.is_alphabetic() => {
                buf.extend(c.to_lowercase());
                continue;
            }
            _ => return false,
        };
        buf.push_str(folded);
    }
    buf.len() > from
}

/// Looks a name token up in a dictionary: the whole folded token first, then,
/// for hyphenated tokens (`Hans-Peter`, `Smith-Jones`), each part.
#[cfg(test)]
pub(crate) fn lookup(word: &str, buf: &mut String, pred: impl Fn(&str) -> bool) -> bool {
    fold_into(word, buf) && lookup_key(buf, pred)
}

/// [`lookup`] for a key already folded.
#[cfg(test)]
pub(crate) fn lookup_key(key: &str, pred: impl Fn(&str) -> bool) -> bool {
    pred(key) || (key.contains('-') && key.split('-').any(|p| p.len() > 1 && pred(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]), "STOPWORDS order");
        assert!(PARTICLES.windows(2).all(|w| w[0] < w[1]), "PARTICLES order");
        assert!(
            SURNAME_ENDINGS.windows(2).all(|w| w[0] < w[1]),
            "SURNAME_ENDINGS order"
        );
        // The name pass reads particles as short lower-case ASCII words.
        assert!(
            PARTICLES
                .iter()
                .all(|p| p.len() <= MAX_PARTICLE && p.bytes().all(|b| b.is_ascii_lowercase()))
        );
    }

    #[test]
    fn dictionaries_load() {
        let d = dictionaries();
        let entries = d.entries();
        let count = |bit| entries.iter().filter(|(_, b)| *b & bit != 0).count();
        assert!(count(FIRST) > 5000);
        assert!(count(LAST) > 88_000);
        assert_eq!(count(STOP), STOPWORDS.len());
        // The packed table: a power of two, 1.25 to 2.5 slots a key.
        let packed = d.table.iter().filter(|&&e| e != 0).count();
        assert_eq!(d.table.len(), 1 << d.table_bits);
        assert!(d.table.len() * 4 >= packed * 5 && d.table.len() * 2 <= packed * 5);
        assert_eq!(d.table.len(), 1 << 17, "the 1 MiB the docs give");
        assert!(d.is_first("mary") && d.is_first("james"));
        assert!(d.is_last("smith") && d.is_last("garcia"));
        assert!(!d.is_first("#"));
    }

    #[test]
    fn every_list_word_maps_to_its_bits() {
        let d = dictionaries();
        for (list, bit) in [
            (parse(FIRST_NAMES).collect::<Vec<_>>(), FIRST),
            (parse(LAST_NAMES).collect(), LAST),
            (STOPWORDS.to_vec(), STOP),
        ] {
            let set: HashSet<&[u8]> = list.iter().map(|w| w.as_bytes()).collect();
            for w in &list {
                assert!(d.bits(w.as_bytes()) & bit != 0, "{w} lacks bit {bit}");
            }
            // And no word carries a bit of a list it is not in.
            for (w, b) in d.entries() {
                assert_eq!(b & bit != 0, set.contains(&w[..]), "{w:?} bit {bit}");
            }
        }
        assert_eq!(d.bits(b"xqzv"), 0);
        assert_eq!(d.bits(b"the"), STOP | d.bits(b"the") & (FIRST | LAST));
    }

    #[test]
    fn particles_are_found_packed() {
        for p in PARTICLES {
            assert!(is_particle(p.as_bytes()), "{p}");
        }
        for w in [
            "", "a", "dell", "vonn", "dee", "zz", "vanes", "de la", "Van", "DE",
        ] {
            assert!(!is_particle(w.as_bytes()), "{w}");
        }
        // Packing lower-cases ASCII and tells lengths apart.
        assert_eq!(pack(b"Van"), pack(b"van"));
        assert_ne!(pack(b"van"), pack(b"vanx"));
        assert_eq!(pack(&[b'a'; MAX_PACKED + 1]), None);
    }

    #[test]
    fn surname_endings() {
        for name in [
            "kowalski",
            "nowicka",
            "wisniewski",
            "mickiewicz",
            "kaczmarczyk",
            "karaoğlu",
            "karaoglu",
            "andersson",
            "lindström",
            "lindqvist",
            "papadopoulos",
            "kapanadze",
            "beridzeshvili",
            "shevchenko",
            "petrosyan",
            "dijkstra",
            "schuurmans",
        ] {
            assert!(has_surname_ending(name.as_bytes()), "{name}");
        }
        // Ordinary words and short stems are not surnames by their ending.
        for word in [
            "ask", "risk", "desk", "skis", "hello", "son", "mason", "yan", "oglu",
        ] {
            assert!(!has_surname_ending(word.as_bytes()), "{word}");
        }
    }

    #[test]
    fn folding() {
        let mut b = String::new();
        assert!(fold_into("José", &mut b));
        assert_eq!(b, "jose");
        assert!(fold_into("Müller", &mut b));
        assert_eq!(b, "muller");
        assert!(fold_into("O'Brien", &mut b));
        assert_eq!(b, "obrien");
        assert!(!fold_into("R2D2", &mut b));
        let d = dictionaries();
        assert!(lookup("Mary-Jane", &mut b, |w| d.is_first(w)));
        assert!(lookup("JOSÉ", &mut b, |w| d.is_first(w)));
    }
}
