//! The page's files, embedded in the binary at build time.
//!
//! The page is plain HTML, CSS and JavaScript modules under `crates/web/static/`: no Node, no
//! bundler, no build step. Editing a file and rebuilding the binary is all a change takes. Each
//! file is served with its content type, a strong `ETag` (a hash of its bytes), and
//! `Cache-Control: no-cache`, so a browser revalidates and gets `304 Not Modified` until the
//! server is upgraded, and never runs a stale script against a newer server.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{ApiError, WebState};

/// `(path under /static/, content type, bytes)`.
type Asset = (&'static str, &'static str, &'static [u8]);

macro_rules! assets {
    ($( $path:literal => $mime:literal ),* $(,)?) => {
        /// Every embedded file.
        pub const ASSETS: &[Asset] = &[
            $( ($path, $mime, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $path))) ),*
        ];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "app.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "js/app.js" => "text/javascript; charset=utf-8",
    "js/i18n.js" => "text/javascript; charset=utf-8",
    "js/dom.js" => "text/javascript; charset=utf-8",
    "js/net.js" => "text/javascript; charset=utf-8",
    "js/chat.js" => "text/javascript; charset=utf-8",
    "js/rooms.js" => "text/javascript; charset=utf-8",
    "js/admin.js" => "text/javascript; charset=utf-8",
    "js/moderation.js" => "text/javascript; charset=utf-8",
    "js/bans.js" => "text/javascript; charset=utf-8",
    "js/join.js" => "text/javascript; charset=utf-8",
    "js/quiz.js" => "text/javascript; charset=utf-8",
    "js/calc.js" => "text/javascript; charset=utf-8",
    "js/relay.js" => "text/javascript; charset=utf-8",
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route("/favicon.ico", get(|headers: HeaderMap| async move { serve("favicon.svg", &headers) }))
        .route(
            "/static/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move { serve(&path, &headers) }),
        )
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some((_, mime, bytes)) = ASSETS.iter().find(|(p, _, _)| *p == path) else {
        return ApiError::NotFound(format!("no file {path:?}").into()).into_response();
    };
    let etag = format!("\"{:016x}\"", fnv1a(bytes));
    let cache = [
        (header::ETAG, HeaderValue::from_str(&etag).expect("hex")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let security = [
        (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
            ),
        ),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    ];
    (cache, security, *bytes).into_response()
}

/// FNV-1a, 64 bits: a stable fingerprint of a file for its ETag (not a security hash).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added under static/ but not listed would be missing from the binary.
    #[test]
    fn every_static_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                assert!(ASSETS.iter().any(|(p, _, _)| *p == rel), "static/{rel} is not in assets!");
            }
        }
    }
}
