//! The built-in data taxonomy: fideslang's data categories, data subjects and data uses
//! (CC BY 4.0, Ethyca / IAB Tech Lab; the YAML sources and licence are in `taxonomy/`),
//! plus what Pactum adds to each category: its CCPA categories, and whether it is sensitive
//! personal information (CCPA), special-category data (GDPR Art. 9/10) or payment-card data.

#[rustfmt::skip]
mod data;

/// One entry of a fideslang taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxonomyEntry {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub parent: Option<&'static str>,
}

/// The built-in data categories (`user.contact.email`, ...).
pub fn data_categories() -> &'static [TaxonomyEntry] {
    data::DATA_CATEGORIES
}

/// The built-in data subjects (`customer`, `job_applicant`, ...).
pub fn data_subjects() -> &'static [TaxonomyEntry] {
    data::DATA_SUBJECTS
}

/// The built-in data uses (`essential.service`, `marketing.communications.email`, ...).
pub fn data_uses() -> &'static [TaxonomyEntry] {
    data::DATA_USES
}

/// Looks up a built-in data category by its key.
pub fn data_category(key: &str) -> Option<&'static TaxonomyEntry> {
    data::DATA_CATEGORIES.iter().find(|e| e.key == key)
}

/// Looks up a built-in data use by its key.
pub fn data_use(key: &str) -> Option<&'static TaxonomyEntry> {
    data::DATA_USES.iter().find(|e| e.key == key)
}

/// Looks up a built-in data subject by its key.
pub fn data_subject(key: &str) -> Option<&'static TaxonomyEntry> {
    data::DATA_SUBJECTS.iter().find(|e| e.key == key)
}

/// What the law says about a data category, derived from its taxonomy position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryTraits {
    /// CCPA categories of personal information (Civ. Code 1798.140(v)(1)), as letters A..L.
    pub ccpa: Vec<char>,
    /// Sensitive personal information under the CCPA (1798.140(ae)).
    pub sensitive: bool,
    /// Special-category (GDPR Art. 9) or criminal-offence (Art. 10) data.
    pub special: bool,
    /// Payment-card data (PCI scope).
    pub payment_card: bool,
    /// Personal data at all (`system.*` categories are not).
    pub personal: bool,
}

/// Rules from the most specific prefix to the least: the first matching prefix wins.
/// Columns: prefix, CCPA letters, sensitive, special, payment card.
const RULES: &[(&str, &str, bool, bool, bool)] = &[
    ("user.financial.credit_card", "BL", true, false, true),
    ("user.financial.bank_account", "BL", true, false, false),
    ("user.financial", "B", false, false, false),
    ("user.payment", "BD", false, false, true),
    ("user.government_id.immigration", "ACL", true, false, false),
    ("user.government_id", "ABL", true, false, false),
    ("user.health_and_medical", "BL", true, true, false),
    ("user.biometric", "EL", true, true, false),
    ("user.authorization.biometric", "EL", true, true, false),
    ("user.authorization.credentials", "AL", true, false, false),
    ("user.authorization.password", "AL", true, false, false),
    ("user.authorization", "A", false, false, false),
    ("user.demographic.race_ethnicity", "CL", true, true, false),
    ("user.demographic.religious_belief", "CL", true, true, false),
    (
        "user.demographic.sexual_orientation",
        "CL",
        true,
        true,
        false,
    ),
    (
        "user.demographic.political_opinion",
        "CL",
        true,
        true,
        false,
    ),
    ("user.demographic.profile", "K", false, false, false),
    ("user.demographic.date_of_birth", "BC", false, false, false),
    ("user.demographic.age_range", "C", false, false, false),
    ("user.demographic.gender", "C", false, false, false),
    ("user.demographic.marital_status", "C", false, false, false),
    ("user.demographic", "C", false, false, false),
    ("user.criminal_history", "L", true, true, false),
    ("user.location.precise", "GL", true, false, false),
    ("user.location", "G", false, false, false),
    ("user.behavior.purchase_history", "D", false, false, false),
    ("user.behavior", "F", false, false, false),
    ("user.content.private", "HL", true, false, false),
    ("user.content", "H", false, false, false),
    ("user.contact.address", "AB", false, false, false),
    ("user.contact.phone_number", "AB", false, false, false),
    ("user.contact", "A", false, false, false),
    ("user.name", "AB", false, false, false),
    ("user.workplace", "I", false, false, false),
    ("user.job_title", "I", false, false, false),
    ("user.telemetry", "F", false, false, false),
    ("user.device", "AF", false, false, false),
    ("user.sensor", "H", false, false, false),
    ("user.user_sensor", "H", false, false, false),
    ("user.social", "F", false, false, false),
    ("user.childrens", "A", false, false, false),
    ("user", "A", false, false, false),
];

/// The legal traits of a built-in or fideslang-shaped category key.
///
/// Custom categories under `user.*` inherit the traits of their nearest built-in ancestor.
pub fn category_traits(key: &str) -> CategoryTraits {
    for (prefix, letters, sensitive, special, payment_card) in RULES {
        if is_same_or_descendant(key, prefix) {
            return CategoryTraits {
                ccpa: letters.chars().collect(),
                sensitive: *sensitive,
                special: *special,
                payment_card: *payment_card,
                personal: true,
            };
        }
    }
    CategoryTraits::default()
}

/// True when `key` is `ancestor` or one of its descendants (`user.contact.email` under `user.contact`).
pub fn is_same_or_descendant(key: &str, ancestor: &str) -> bool {
    key == ancestor
        || (key.len() > ancestor.len()
            && key.starts_with(ancestor)
            && key.as_bytes()[ancestor.len()] == b'.')
}

/// The names of the CCPA categories of personal information, by letter.
pub fn ccpa_category_name(letter: char) -> &'static str {
    match letter {
        'A' => "Identifiers",
        'B' => "Customer records information (Cal. Civ. Code 1798.80(e))",
        'C' => "Characteristics of protected classifications",
        'D' => "Commercial information",
        'E' => "Biometric information",
        'F' => "Internet or other electronic network activity",
        'G' => "Geolocation data",
        'H' => "Audio, electronic, visual or similar information",
        'I' => "Professional or employment-related information",
        'J' => "Education information",
        'K' => "Inferences drawn to create a profile",
        'L' => "Sensitive personal information",
        _ => "Unknown CCPA category",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taxonomy_is_loaded_and_parents_exist() {
        assert!(data_categories().len() > 50);
        for entry in data_categories().iter().chain(data_uses()) {
            if let Some(parent) = entry.parent {
                let table = if data_category(entry.key).is_some() {
                    data_category(parent)
                } else {
                    data_use(parent)
                };
                assert!(table.is_some(), "{} has unknown parent {parent}", entry.key);
            }
        }
        assert_eq!(
            data_category("user.contact.email").map(|e| e.name),
            Some("User Contact Email")
        );
        assert!(data_subject("job_applicant").is_some());
    }

    #[test]
    fn traits_follow_the_most_specific_rule() {
        let card = category_traits("user.financial.credit_card");
        assert!(card.payment_card && card.sensitive && !card.special);
        assert_eq!(card.ccpa, vec!['B', 'L']);
        let health = category_traits("user.health_and_medical.genetic");
        assert!(health.special && health.sensitive);
        let email = category_traits("user.contact.email");
        assert_eq!(email.ccpa, vec!['A']);
        assert!(email.personal && !email.sensitive);
        assert!(!category_traits("system.operations").personal);
        // A prefix must end at a dot: `user.names` is not under `user.name`.
        assert!(!is_same_or_descendant("user.names", "user.name"));
        assert!(is_same_or_descendant("user.name.first", "user.name"));
    }
}
