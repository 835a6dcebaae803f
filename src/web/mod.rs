//! What every adapter shares below the router: error rendering in each
//! protocol's shape, FastAPI-style validation bodies, the external base URL
//! of a request, and small formatting helpers. Adapters (protocols, ui) and
//! the http layer use it; it must never depend on them.

pub mod base_url;
pub mod errors;
pub mod time;
