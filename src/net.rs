//! Outbound HTTP helpers shared by the engine's URL inputs and the
//! `http_fetch` tool. Depends on reqwest only: never on runs, tools or
//! protocols.

use futures::StreamExt;

/// A response body read up to a limit.
pub struct Capped {
    /// At most `limit` bytes of the body.
    pub bytes: Vec<u8>,
    /// When the body went past the limit: how many bytes had arrived by the
    /// chunk that crossed it (reading stopped there). `None`: it all fit.
    pub overflow_at: Option<u64>,
}

/// Reads the body without ever holding more than `limit` bytes of it, so a
/// huge or endless answer costs no more memory than the limit.
pub async fn read_capped(
    response: reqwest::Response,
    limit: u64,
) -> Result<Capped, reqwest::Error> {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut bytes = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        let room = cap - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            let seen = (cap - room + chunk.len()) as u64;
            return Ok(Capped {
                bytes,
                overflow_at: Some(seen),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped {
        bytes,
        overflow_at: None,
    })
}
