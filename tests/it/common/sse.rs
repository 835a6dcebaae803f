//! Reads `text/event-stream` responses into frames, as a client would.

use futures::StreamExt;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Value,
    /// The frame exactly as received, without its blank-line terminator.
    pub raw: String,
}

/// Parses a complete SSE body (comments and keep-alives skipped).
pub fn parse(body: &str) -> Vec<Frame> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push(v.to_string());
                }
            }
            if data.is_empty() {
                return None;
            }
            let data = serde_json::from_str(&data.join("\n")).expect("SSE data is JSON");
            Some(Frame {
                id,
                event,
                data,
                raw: block.to_string(),
            })
        })
        .collect()
}

/// Reads the whole stream.
pub async fn read_all(resp: reqwest::Response) -> Vec<Frame> {
    let body = resp.text().await.expect("stream body");
    parse(&body)
}

/// Reads frames until `stop` says so, then drops the connection.
pub async fn read_until(
    resp: reqwest::Response,
    mut stop: impl FnMut(&Frame) -> bool,
) -> Vec<Frame> {
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut frames = Vec::new();
    while let Some(chunk) = stream.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            for frame in parse(&block) {
                let done = stop(&frame);
                frames.push(frame);
                if done {
                    return frames;
                }
            }
        }
    }
    frames
}

/// The `type`/`event` names of frames, for order assertions.
pub fn names(frames: &[Frame], key: &str) -> Vec<String> {
    frames
        .iter()
        .map(|f| f.data[key].as_str().unwrap_or("").to_string())
        .collect()
}
