//! Fides masking strategies as Pactum erasure strategies.
//!
//! Fides has seven strategies (null_rewrite, string_rewrite, random_string_rewrite, hash, hmac,
//! aes_encrypt, preserve) and a collection-level `delete`. On a *field* override Fides accepts only
//! the strategies that need no per-request secret (so `hash`, `hmac` and `aes_encrypt` are rejected
//! there, as Fides's dataset validation does); a DSR policy's erasure rule may use any of them.

use pactum_domain::model::Erasure;

use super::schema::MaskingStrategy;

/// Where a masking strategy is written, which decides what is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A field's `fides_meta.masking_strategy_override`.
    FieldOverride,
    /// The `masking_strategy` of a DSR policy's erasure rule.
    PolicyRule,
}

/// A masking strategy translated: the erasure (none for `preserve`), and what was lost on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Translated {
    pub erasure: Option<Erasure>,
    /// Notes for the report's "approximated" or "not represented" sections.
    pub approximations: Vec<String>,
}

const SECRET_STRATEGIES: [&str; 3] = ["hash", "hmac", "aes_encrypt"];
const KNOWN: [&str; 7] = [
    "null_rewrite",
    "string_rewrite",
    "random_string_rewrite",
    "hash",
    "hmac",
    "aes_encrypt",
    "preserve",
];

/// Translates a Fides masking strategy; `Err` says why Fides would reject it here.
pub(crate) fn translate(m: &MaskingStrategy, place: Place) -> Result<Translated, String> {
    let name = m.strategy.as_str();
    let config = m.configuration.clone().unwrap_or_default();
    let suffix = config
        .format_preservation
        .as_ref()
        .and_then(|f| f.suffix.clone());
    let mut approximations = Vec::new();
    if place == Place::FieldOverride && SECRET_STRATEGIES.contains(&name) {
        return Err(format!(
            "masking strategy `{name}` cannot override a field: it needs a secret key generated for each request, which Fides allows only in a policy's erasure rule; use null_rewrite, string_rewrite or random_string_rewrite"
        ));
    }
    let erasure = match name {
        "null_rewrite" => Some(Erasure::Nullify),
        "string_rewrite" => {
            let Some(value) = config.rewrite_value else {
                return Err(
                    "masking strategy `string_rewrite` needs `configuration.rewrite_value`"
                        .to_owned(),
                );
            };
            // Fides appends the suffix to the rewritten value: the result is still one fixed string.
            Some(Erasure::Fixed(value + suffix.as_deref().unwrap_or("")))
        }
        "random_string_rewrite" => {
            if let Some(length) = config.length {
                approximations.push(format!(
                    "`random_string_rewrite` length {length} not represented (`random` keeps the value's shape)"
                ));
            }
            if let Some(s) = &suffix {
                approximations.push(format!("format-preserving suffix `{s}` not represented"));
            }
            Some(Erasure::Random)
        }
        "hash" | "hmac" | "aes_encrypt" => {
            approximations.push(match name {
                "hash" => "`hash` (salted hash) written as `keyed_hash`".to_owned(),
                "aes_encrypt" => {
                    "`aes_encrypt` (reversible encryption) written as `keyed_hash` (irreversible)"
                        .to_owned()
                }
                _ => "`hmac` written as `keyed_hash`".to_owned(),
            });
            if let Some(alg) = &config.algorithm {
                approximations.push(format!("algorithm `{alg}` not represented"));
            }
            if let Some(s) = &suffix {
                approximations.push(format!("format-preserving suffix `{s}` not represented"));
            }
            Some(Erasure::KeyedHash)
        }
        "preserve" => {
            approximations.push(
                "`preserve` (keep the value on erasure) not represented: the field has no `erasure`"
                    .to_owned(),
            );
            None
        }
        "delete" => {
            return Err(
                "masking strategy `delete` is only valid on a collection's `masking_strategy_override`"
                    .to_owned(),
            );
        }
        other => {
            return Err(format!(
                "unknown masking strategy `{other}` (Fides has {})",
                KNOWN.join(", ")
            ));
        }
    };
    Ok(Translated {
        erasure,
        approximations,
    })
}

/// Checks a collection-level override: Fides allows only `delete`, which removes the whole row.
pub(crate) fn collection_override(m: &MaskingStrategy) -> Result<Erasure, String> {
    if m.strategy == "delete" {
        Ok(Erasure::DeleteRow)
    } else {
        Err(format!(
            "a collection's `masking_strategy_override` can only be `delete`, not `{}`",
            m.strategy
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::{FormatPreservation, MaskingConfiguration};
    use super::*;

    fn strategy(name: &str, config: MaskingConfiguration) -> MaskingStrategy {
        MaskingStrategy {
            strategy: name.to_owned(),
            configuration: Some(config),
        }
    }

    fn check(
        name: &str,
        config: MaskingConfiguration,
        place: Place,
    ) -> Result<Option<Erasure>, String> {
        translate(&strategy(name, config), place).map(|t| t.erasure)
    }

    #[test]
    fn each_strategy_has_its_erasure() {
        use Place::*;
        let none = MaskingConfiguration::default;
        assert_eq!(
            check("null_rewrite", none(), FieldOverride),
            Ok(Some(Erasure::Nullify))
        );
        assert_eq!(
            check("random_string_rewrite", none(), FieldOverride),
            Ok(Some(Erasure::Random))
        );
        assert_eq!(
            check("hmac", none(), PolicyRule),
            Ok(Some(Erasure::KeyedHash))
        );
        assert_eq!(
            check("hash", none(), PolicyRule),
            Ok(Some(Erasure::KeyedHash))
        );
        assert_eq!(
            check("aes_encrypt", none(), PolicyRule),
            Ok(Some(Erasure::KeyedHash))
        );
        assert_eq!(check("preserve", none(), FieldOverride), Ok(None));
    }

    #[test]
    fn string_rewrite_keeps_the_suffix_in_the_fixed_value() {
        let config = MaskingConfiguration {
            rewrite_value: Some("testing".to_owned()),
            format_preservation: Some(FormatPreservation {
                suffix: Some("-test".to_owned()),
            }),
            ..MaskingConfiguration::default()
        };
        assert_eq!(
            check("string_rewrite", config, Place::FieldOverride),
            Ok(Some(Erasure::Fixed("testing-test".to_owned())))
        );
        let err = check(
            "string_rewrite",
            MaskingConfiguration::default(),
            Place::FieldOverride,
        );
        assert_eq!(
            err,
            Err("masking strategy `string_rewrite` needs `configuration.rewrite_value`".to_owned())
        );
    }

    #[test]
    fn secret_strategies_cannot_override_a_field() {
        for name in SECRET_STRATEGIES {
            let err = check(name, MaskingConfiguration::default(), Place::FieldOverride);
            assert!(
                err.is_err_and(|e| e.contains("cannot override a field")),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_and_misplaced_strategies_are_rejected() {
        let err = check("shred", MaskingConfiguration::default(), Place::PolicyRule);
        assert!(err.is_err_and(|e| e.starts_with("unknown masking strategy `shred`")));
        let err = check(
            "delete",
            MaskingConfiguration::default(),
            Place::FieldOverride,
        );
        assert!(err.is_err_and(|e| e.contains("collection")));
    }

    #[test]
    fn losses_are_noted() {
        let config = MaskingConfiguration {
            length: Some(12),
            ..MaskingConfiguration::default()
        };
        let t = translate(
            &strategy("random_string_rewrite", config),
            Place::FieldOverride,
        );
        assert!(t.is_ok_and(
            |t| t.approximations.len() == 1 && t.approximations[0].contains("length 12")
        ));
    }

    #[test]
    fn collections_may_only_delete_rows() {
        let delete = MaskingStrategy {
            strategy: "delete".to_owned(),
            configuration: None,
        };
        assert_eq!(collection_override(&delete), Ok(Erasure::DeleteRow));
        let null = MaskingStrategy {
            strategy: "null_rewrite".to_owned(),
            configuration: None,
        };
        assert!(collection_override(&null).is_err());
    }
}
