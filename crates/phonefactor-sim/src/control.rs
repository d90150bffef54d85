//! The control API (plain HTTP on loopback, JSON) and the page that lists ringing calls with
//! buttons to answer them, for demos.
//!
//! | method and path | body | effect |
//! |---|---|---|
//! | `GET /` | | the HTML page |
//! | `GET /control/calls` | | every call received, as JSON ([`CallRecord`](crate::CallRecord)) |
//! | `GET /control/ringing` | | the calls ringing now ([`RingingCall`](crate::RingingCall)) |
//! | `POST /control/script` | `{"username": "..."}` or `{"country_code": "1", "number": "..."}`, with `"scenario": "pin:4821"` and optional `"delay_ms"` | scripts a phone |
//! | `POST /control/calls/{id}/answer` | `{"action": "pound"}` (JSON) or `action=pound` (form) | answers a ringing call now |
//! | `POST /control/blocks/lift` | `{"username": ...}`, `{"country_code", "number"}` or `{}` for all | lifts fraud blocks |

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use tokio::net::TcpStream;

use crate::phones::Phones;
use crate::scenario::{PhoneScript, Scenario};

type Body = Full<Bytes>;

pub(crate) async fn serve(phones: Arc<Phones>, tcp: TcpStream) {
    let svc = hyper::service::service_fn(move |req| {
        let phones = Arc::clone(&phones);
        async move { Ok::<_, Infallible>(handle(&phones, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
        .await;
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => respond(status, "application/json", body),
        Err(_) => respond(StatusCode::INTERNAL_SERVER_ERROR, "application/json", "{}"),
    }
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "error": message }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptBody {
    username: Option<String>,
    country_code: Option<String>,
    number: Option<String>,
    scenario: Scenario,
    delay_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    action: Scenario,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LiftBody {
    username: Option<String>,
    country_code: Option<String>,
    number: Option<String>,
}

async fn handle(phones: &Phones, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        }
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, [""]) => respond(StatusCode::OK, "text/html; charset=utf-8", page(phones)),
        (&Method::GET, ["control", "calls"]) => json(StatusCode::OK, &phones.calls()),
        (&Method::GET, ["control", "ringing"]) => json(StatusCode::OK, &phones.ringing()),
        (&Method::POST, ["control", "script"]) => {
            let s: ScriptBody = match serde_json::from_slice(&body) {
                Ok(s) => s,
                Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            let script = PhoneScript {
                scenario: s.scenario,
                delay: s.delay_ms.map(Duration::from_millis),
            };
            match (s.username, s.country_code, s.number) {
                (Some(u), _, _) => phones.script_user(&u, script),
                (None, Some(cc), Some(n)) => phones.script_number(&cc, &n, script),
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "give username, or country_code and number",
                    );
                }
            }
            json(StatusCode::OK, &serde_json::json!({ "ok": true }))
        }
        (&Method::POST, ["control", "calls", id, "answer"]) => {
            let Ok(id) = id.parse::<u64>() else {
                return error(StatusCode::NOT_FOUND, "no such call");
            };
            let action = if is_form {
                url::form_urlencoded::parse(&body)
                    .find(|(k, _)| k == "action")
                    .map(|(_, v)| v.parse::<Scenario>())
            } else {
                match serde_json::from_slice::<AnswerBody>(&body) {
                    Ok(a) => Some(Ok(a.action)),
                    Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
                }
            };
            let action = match action {
                Some(Ok(a)) => a,
                Some(Err(e)) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
                None => return error(StatusCode::BAD_REQUEST, "no action"),
            };
            match phones.answer(id, action) {
                Ok(()) if is_form => {
                    let mut r = respond(StatusCode::SEE_OTHER, "text/plain", "");
                    r.headers_mut()
                        .insert(header::LOCATION, HeaderValue::from_static("/"));
                    r
                }
                Ok(()) => json(StatusCode::OK, &serde_json::json!({ "ok": true })),
                Err(e) => error(StatusCode::NOT_FOUND, &e.to_string()),
            }
        }
        (&Method::POST, ["control", "blocks", "lift"]) => {
            let l: LiftBody = if body.is_empty() {
                LiftBody::default()
            } else {
                match serde_json::from_slice(&body) {
                    Ok(l) => l,
                    Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
                }
            };
            let lifted = match (l.username, l.country_code, l.number) {
                (Some(u), _, _) => usize::from(phones.lift_user_block(&u)),
                (None, Some(cc), Some(n)) => usize::from(phones.lift_number_block(&cc, &n)),
                _ => phones.lift_all_blocks(),
            };
            json(StatusCode::OK, &serde_json::json!({ "lifted": lifted }))
        }
        _ => error(StatusCode::NOT_FOUND, "no such control endpoint"),
    }
}

fn escape_html(s: &str) -> String {
    s.chars()
        .fold(String::with_capacity(s.len()), |mut out, c| {
            match c {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
            out
        })
}

/// The demo page: one row per ringing call, with buttons; it refreshes itself every second.
fn page(phones: &Phones) -> String {
    let mut rows = String::new();
    for call in phones.ringing() {
        let number = match &call.phone.extension {
            Some(ext) => format!(
                "+{} {} x{}",
                call.phone.country_code, call.phone.number, ext
            ),
            None => format!("+{} {}", call.phone.country_code, call.phone.number),
        };
        rows.push_str(&format!(
            "<tr><td>{id}</td><td>{user}</td><td>{number}</td><td>{mode:?}</td><td>{secs:.1} s</td><td>\
             <form method=\"post\" action=\"/control/calls/{id}/answer\">\
             <button name=\"action\" value=\"pound\">Press #</button> \
             <input name=\"pin\" size=\"6\" inputmode=\"numeric\" placeholder=\"PIN\" \
             oninput=\"this.form.querySelector('.pin').value='pin:'+this.value\"> \
             <button class=\"pin\" name=\"action\" value=\"pin:0000\">Key PIN + #</button> \
             <button name=\"action\" value=\"no-answer\">Let it ring out</button> \
             <button name=\"action\" value=\"fraud\">Report fraud (0#)</button>\
             </form></td></tr>",
            id = call.id,
            user = escape_html(&call.username),
            number = escape_html(&number),
            mode = call.pin_mode,
            secs = call.ringing_ms as f64 / 1000.0,
        ));
    }
    if rows.is_empty() {
        rows.push_str("<tr><td colspan=\"6\">No phone is ringing.</td></tr>");
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>phonefactor-sim phones</title>\
         <script>setInterval(function(){{var a=document.activeElement;if(!a||a.tagName!=='INPUT'){{location.reload();}}}},1500);</script></head><body><h1>Ringing phones</h1>\
         <table border=\"1\" cellpadding=\"4\"><tr><th>id</th><th>username</th><th>number</th>\
         <th>mode</th><th>ringing</th><th>answer</th></tr>{rows}</table></body></html>"
    )
}
