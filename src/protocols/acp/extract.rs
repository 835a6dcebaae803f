//! Request extractors whose rejections are ACP errors.
//!
//! `AcpJson` parses the body as JSON whatever the Content-Type says: the
//! acp-sdk Client posts JSON with no Content-Type header at all, which axum's
//! `Json` would answer with 415. `AcpPath` turns a bad path parameter (a
//! non-UUID run or session id) into 422 `invalid_input`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::AcpError;

pub struct AcpJson<T>(pub T);

impl<T, S> FromRequest<S> for AcpJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AcpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(AcpError::InvalidInput(
                "The request body is empty; a JSON object is required".into(),
            ));
        }
        serde_json::from_slice(&bytes)
            .map(AcpJson)
            .map_err(|e| AcpError::InvalidInput(format!("Invalid request body: {e}")))
    }
}

fn body_rejection(rejection: BytesRejection) -> AcpError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AcpError::PayloadTooLarge("The request body is too large".into())
    } else {
        AcpError::InvalidInput(rejection.body_text())
    }
}

pub struct AcpPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AcpPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AcpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| AcpPath(v))
            .map_err(|e| AcpError::InvalidInput(e.body_text()))
    }
}
