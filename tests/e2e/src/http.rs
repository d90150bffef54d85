//! A plain-HTTP GET on loopback, for tests that check a server's control API beside the
//! browser (the simulator's received calls, say).

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::E2eError;

/// Fetches `url` (plain `http://`) and returns its body as text; any status but 200 is an
/// error that carries the body.
pub async fn get_text(url: &str) -> Result<String, E2eError> {
    let fail = |reason: String| E2eError::Http {
        url: url.to_owned(),
        reason,
    };
    let uri: hyper::Uri = url.parse().map_err(|e| fail(format!("bad URL: {e}")))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client.get(uri).await.map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    if status != hyper::StatusCode::OK {
        return Err(fail(format!("status {status}: {text}")));
    }
    Ok(text)
}
