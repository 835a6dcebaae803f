//! A small website on loopback for the `http_fetch` tests: a page, a big
//! page, a redirect off the allow-list, a binary file, a 404 and a page that
//! never answers.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

pub struct Web {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub port: u16,
}

pub async fn start() -> Web {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind web");
    let port = listener.local_addr().expect("addr").port();
    let app =
        Router::new()
            .route(
                "/page",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/plain")],
                        "Hello from the test site.",
                    )
                }),
            )
            .route(
                "/big",
                get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "y".repeat(100_000)) }),
            )
            .route(
                "/png",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "image/png")],
                        vec![0x89u8, b'P', b'N', b'G'],
                    )
                }),
            )
            .route(
                "/missing",
                get(|| async {
                    (axum::http::StatusCode::NOT_FOUND, "no such page").into_response()
                }),
            )
            .route(
                "/away",
                get(move || async move {
                    Redirect::temporary(&format!("http://localhost:{port}/page"))
                }),
            )
            .route("/hang", get(std::future::pending::<String>));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Web {
        base: format!("http://127.0.0.1:{port}"),
        port,
    }
}
