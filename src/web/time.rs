//! Engine times (milliseconds since the epoch) as the RFC 3339 strings the
//! protocols put on the wire. One function; each protocol names its own
//! precision, because their clients parse (and their reference servers
//! write) different ones, and the wire bytes must not drift.

pub use chrono::SecondsFormat as Precision;

/// How a protocol writes an instant: fractional digits, and `Z` or `+00:00`.
#[derive(Debug, Clone, Copy)]
pub struct TimeFormat {
    pub precision: Precision,
    pub z: bool,
}

/// AgentOS sessions: whole seconds, `Z`.
pub const AGENTOS: TimeFormat = TimeFormat {
    precision: Precision::Secs,
    z: true,
};
/// ACP: microseconds, `Z` (what pydantic writes).
pub const ACP: TimeFormat = TimeFormat {
    precision: Precision::Micros,
    z: true,
};
/// A2A: milliseconds, `Z`.
pub const A2A: TimeFormat = TimeFormat {
    precision: Precision::Millis,
    z: true,
};
/// Codegen: microseconds, `+00:00` (Python's `isoformat()`).
pub const CODEGEN: TimeFormat = TimeFormat {
    precision: Precision::Micros,
    z: false,
};

/// `ms` since the epoch in `format`; the epoch itself for a time out of range.
pub fn rfc3339(ms: i64, format: TimeFormat) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(format.precision, format.z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_keeps_its_precision() {
        let ms = 1_700_000_000_123;
        assert_eq!(rfc3339(ms, AGENTOS), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(ms, ACP), "2023-11-14T22:13:20.123000Z");
        assert_eq!(rfc3339(ms, A2A), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(ms, CODEGEN), "2023-11-14T22:13:20.123000+00:00");
    }
}
