//! Bearer API keys: reading the `Authorization` header and finding which
//! configured key (and so which principal) it is, in constant time.
//!
//! Protocol-neutral: a key ring maps keys to any principal type; the adapter
//! decides what a missing or unknown key answers. Depends on nothing else in
//! the crate.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// The token of an `Authorization: Bearer <token>` header (scheme matched
/// case-insensitively), if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Configured keys and who each one acts as.
pub struct KeyRing<P> {
    keys: Vec<(Vec<u8>, P)>,
}

impl<P> KeyRing<P> {
    /// Empty keys are skipped: they can never be presented.
    pub fn new(keys: impl IntoIterator<Item = (String, P)>) -> Self {
        Self {
            keys: keys
                .into_iter()
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, p)| (k.into_bytes(), p))
                .collect(),
        }
    }

    /// Whether no key is configured at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The principal of `presented`. Every configured key is compared, each
    /// in constant time, so the answer time does not reveal how much of a
    /// key was right or which key matched.
    pub fn find(&self, presented: &str) -> Option<&P> {
        let presented = presented.as_bytes();
        let mut found = None;
        for (key, principal) in &self.keys {
            if bool::from(key.as_slice().ct_eq(presented)) {
                found = Some(principal);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_exact_keys() {
        let ring = KeyRing::new([("alpha".to_string(), 1), ("".to_string(), 2)]);
        assert_eq!(ring.find("alpha"), Some(&1));
        assert_eq!(ring.find("alph"), None);
        assert_eq!(ring.find("alphaa"), None);
        assert_eq!(ring.find(""), None);
    }

    #[test]
    fn parses_bearer_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert("authorization", "bearer  abc ".parse().unwrap());
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
        h.insert("authorization", "Bearer".parse().unwrap());
        assert_eq!(bearer_token(&h), None);
    }
}
