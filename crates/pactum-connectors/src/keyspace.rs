//! Grouping Redis keys into patterns: `session:8f3a...` and `session:91bc...` are one collection.

/// Replaces the parts of a key (between `:` or `/`) that look like identifiers with `*`, keeping the
/// structure: `user:42:profile` -> `user:*:profile`, `cart:alice@example.com` -> `cart:*`.
pub fn generalise_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut start = 0;
    for (i, c) in key.char_indices() {
        if matches!(c, ':' | '/') {
            push_part(&mut out, &key[start..i]);
            out.push(c);
            start = i + c.len_utf8();
        }
    }
    push_part(&mut out, &key[start..]);
    out
}

fn push_part(out: &mut String, part: &str) {
    out.push_str(if looks_like_id(part) { "*" } else { part });
}

fn looks_like_id(part: &str) -> bool {
    if part.is_empty() {
        return false;
    }
    let digits = part.chars().filter(char::is_ascii_digit).count();
    let hex = part.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    part.contains('@')
        || digits == part.len()
        || (hex && part.len() >= 8 && digits > 0)
        || (digits * 2 >= part.len() && part.len() >= 4)
}

#[cfg(test)]
mod tests {
    use super::generalise_key;

    #[test]
    fn ids_become_wildcards() {
        for (key, pattern) in [
            ("user:42:profile", "user:*:profile"),
            ("session:8f3a9c2e-11aa-4c3b-9f00-0123456789ab", "session:*"),
            ("cart:alice@example.com", "cart:*"),
            ("config", "config"),
            ("rate/10.0.0.1", "rate/*"),
            ("feature:dark-mode", "feature:dark-mode"),
            ("t:", "t:"),
        ] {
            assert_eq!(generalise_key(key), pattern, "{key}");
        }
    }
}
