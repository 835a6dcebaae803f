//! Which A2A version a request speaks: the `A2A-Version` header when the
//! client sends one (Major.Minor; a patch number is ignored, as the spec
//! asks), else what the binding implies.
//!
//! Depends on the error type only.

use axum::http::HeaderMap;

use super::error::A2aError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V03,
    V1,
}

/// The version the header asks for; None when it is absent or empty.
pub fn requested(headers: &HeaderMap) -> Result<Option<Version>, A2aError> {
    let Some(raw) = headers.get("a2a-version") else {
        return Ok(None);
    };
    let text = raw.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut parts = text.split('.');
    let major = parts.next().and_then(|m| m.parse::<u32>().ok());
    let minor = parts.next().map_or(Some(0), |m| m.parse::<u32>().ok());
    match (major, minor) {
        (Some(1), Some(0)) => Ok(Some(Version::V1)),
        (Some(0), Some(3)) => Ok(Some(Version::V03)),
        _ => Err(A2aError::VersionNotSupported(text.to_string())),
    }
}

/// A JSON-RPC method's version when no header says: 0.3 names its methods
/// `category/action`, 1.0 in PascalCase.
pub fn of_method(method: &str) -> Version {
    if method.contains('/') {
        Version::V03
    } else {
        Version::V1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("A2A-Version", v.parse().unwrap());
        h
    }

    #[test]
    fn header_names_the_version_major_minor() {
        assert_eq!(requested(&HeaderMap::new()).unwrap(), None);
        assert_eq!(requested(&with("")).unwrap(), None);
        assert_eq!(requested(&with("1.0")).unwrap(), Some(Version::V1));
        assert_eq!(requested(&with("1")).unwrap(), Some(Version::V1));
        assert_eq!(requested(&with("0.3")).unwrap(), Some(Version::V03));
        assert_eq!(requested(&with("0.3.0")).unwrap(), Some(Version::V03));
        assert!(matches!(
            requested(&with("2.0")),
            Err(A2aError::VersionNotSupported(_))
        ));
        assert_eq!(of_method("message/send"), Version::V03);
        assert_eq!(of_method("SendMessage"), Version::V1);
    }
}
