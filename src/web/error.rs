//! What a handler answers when it does not serve the page asked for: a status and one of the
//! Vietnamese pages (not found, an error with its title and message, or a page already
//! rendered, such as an expired link's), with `Retry-After` for a 429.

use super::{html, page};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    page: Page,
    retry_after: Option<u64>,
}

#[derive(Debug)]
enum Page {
    NotFound,
    Message { title: &'static str, text: String },
    Rendered(String),
}

impl WebError {
    /// The same 404 as an unknown page (a bad link, another agency's file).
    pub fn not_found() -> WebError {
        WebError {
            status: StatusCode::NOT_FOUND,
            page: Page::NotFound,
            retry_after: None,
        }
    }

    /// An error page: `title` and the sentence saying what to do.
    pub fn new(status: StatusCode, title: &'static str, text: impl Into<String>) -> WebError {
        WebError {
            status,
            page: Page::Message {
                title,
                text: text.into(),
            },
            retry_after: None,
        }
    }

    /// A form refused: nothing was recorded ("Chưa ghi nhận").
    pub fn refused(status: StatusCode, text: impl Into<String>) -> WebError {
        WebError::new(status, "Chưa ghi nhận", text)
    }

    /// A page rendered by the caller.
    pub fn rendered(status: StatusCode, body: String) -> WebError {
        WebError {
            status,
            page: Page::Rendered(body),
            retry_after: None,
        }
    }

    /// With `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> WebError {
        self.retry_after = Some(secs);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = match self.page {
            Page::NotFound => page::not_found(),
            Page::Message { title, text } => page::error(title, &text),
            Page::Rendered(body) => body,
        };
        let mut resp = html(self.status, body);
        if let Some(v) = self
            .retry_after
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// The page of a store that failed: logged with `what`, 503 with `title` and `text`.
pub fn store_failed(
    e: &crate::store::StoreError,
    what: &str,
    title: &'static str,
    text: &str,
) -> WebError {
    tracing::error!(error = %e, event = "store_error", "{what}");
    WebError::new(StatusCode::SERVICE_UNAVAILABLE, title, text)
}
