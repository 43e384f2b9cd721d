//! The language of the HTTP API's human text. An error's `code` never changes; its `message`
//! is in the language the request asks for with `Accept-Language` (the page sends its own
//! choice there), else in the server's `[server] language`.
//!
//! [`ApiError`](crate::ApiError) cannot see the request, so its response carries the error as an
//! [`ErrorBody`] extension next to a body rendered in English; [`localize`], a middleware around
//! the whole API, renders that body again in the request's language. The same request's
//! successful replies that hold a sentence use [`Speaks`].

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_LENGTH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use sockhub_i18n::Lang;
use sockhub_proto::notice::Notice;

use crate::WebState;

/// The language of an `Accept-Language` value: the one sockhub speaks with the highest weight
/// (`ko-KR,ko;q=0.9,en;q=0.8` → Korean; `fr, en;q=0.5` → English); `None` when it names none.
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let Some(lang) =
            parts.next().and_then(|tag| tag.trim().parse::<Lang>().ok().or_else(|| primary(tag)))
        else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// `ko-KR` → Korean; `*`, `C` and unknown tags → `None`.
fn primary(tag: &str) -> Option<Lang> {
    let primary = tag.trim().split('-').next()?;
    primary.parse().ok()
}

/// The language a request asks for, else the server's.
pub fn of_request(headers: &HeaderMap, state: &WebState) -> Lang {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(from_accept_language)
        .unwrap_or(state.hub.config.server.language)
}

/// The language of the request, for a handler whose reply holds a sentence.
pub struct Speaks(pub Lang);

impl FromRequestParts<WebState> for Speaks {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        Ok(Speaks(of_request(&parts.headers, state)))
    }
}

/// An error response's body before it is rendered: [`localize`] renders it in the request's
/// language.
#[derive(Debug, Clone)]
pub struct ErrorBody(pub Notice);

/// Render every error body of the API in the language of the request.
pub async fn localize(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let lang = of_request(req.headers(), &state);
    let mut res = next.run(req).await;
    if let Some(ErrorBody(notice)) = res.extensions_mut().remove::<ErrorBody>() {
        match lang.scope(|| serde_json::to_vec(&notice)) {
            Ok(body) => {
                res.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                *res.body_mut() = Body::from(body);
            }
            Err(e) => tracing::error!(error = %e, "an API error could not be encoded"),
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        assert_eq!(from_accept_language("ko"), Some(Lang::Ko));
        assert_eq!(from_accept_language("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"), Some(Lang::Ko));
        assert_eq!(from_accept_language("en-US,en;q=0.9,ko;q=0.8"), Some(Lang::En));
        assert_eq!(from_accept_language("fr-FR, en;q=0.5, ko;q=0.7"), Some(Lang::Ko));
        assert_eq!(from_accept_language("fr, de;q=0.5"), None);
        assert_eq!(from_accept_language("ko;q=0, en;q=0.1"), Some(Lang::En));
        assert_eq!(from_accept_language("*"), None);
        assert_eq!(from_accept_language(""), None);
    }
}
