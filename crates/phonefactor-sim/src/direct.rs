//! The PFD service (spec §2, §6.1): `POST /pfd/pfd.pl` over mutual TLS, one request per
//! connection, the reply held until the simulated call ends.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use phonefactor::CallStatus;
use phonefactor::wire::{
    AuthMode, AuthenticationRequest, AuthenticationResponse, PfdResponse, PfdResult, PinMode,
    RequestDecodeError,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::checks::{NumberPolicy, check_number};
use crate::license::{LicenseCheck, Licenses};
use crate::phones::{CallRequest, Dialled, Phones, ServiceMode};
use crate::pki::{Fingerprint, fingerprint};
use crate::scenario::Expectation;
use crate::server::Counter;

/// The only path served.
pub(crate) const PFD_PATH: &str = "/pfd/pfd.pl";
const MAX_HEAD: usize = 16 * 1024;
/// Buffer growth step while reading a request (a PFD request is about 1 KiB).
const READ_SIZE: usize = 2048;
const MAX_BODY: usize = 1024 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What the direct service shares between connections.
pub(crate) struct DirectService {
    pub(crate) phones: Arc<Phones>,
    pub(crate) licenses: Arc<Licenses>,
    /// Written into the reply header's `host/@ip`.
    pub(crate) host_ip: String,
    pub(crate) handshakes: Counter,
}

/// A request as read off the wire.
#[derive(Debug)]
struct RawRequest {
    method: String,
    path: String,
    minor_version: u8,
    body: Vec<u8>,
}

/// Serves one connection: handshake, one request, one reply, close.
pub(crate) async fn serve(service: Arc<DirectService>, acceptor: TlsAcceptor, tcp: TcpStream) {
    let Ok(Ok(mut tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
    else {
        return;
    };
    service.handshakes.add();
    // The verifier requires a certificate, so this is always present.
    let Some(cert) = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| fingerprint(c))
    else {
        return;
    };
    let Ok(Ok(request)) = tokio::time::timeout(READ_TIMEOUT, read_request(&mut tls)).await else {
        return;
    };
    let (status, body) = if request.path.split('?').next() != Some(PFD_PATH) {
        ("404 Not Found", Vec::new())
    } else if request.method != "POST" {
        ("405 Method Not Allowed", Vec::new())
    } else {
        (
            "200 OK",
            service
                .answer(&request.body, &cert)
                .await
                .encode(&service.host_ip),
        )
    };
    let mut head = format!(
        "HTTP/1.{} {status}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        request.minor_version,
        body.len()
    );
    if status.starts_with("405") {
        head.push_str("Allow: POST\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    // The reply and `close_notify` are queued together so that they leave in one write (a
    // reply is a few hundred bytes: far below rustls's buffer limit); dropping the stream
    // then closes the socket, which sends the FIN (nothing is left unread: the request was
    // read whole and a PFD client sends nothing more).
    let (_, session) = tls.get_mut();
    if session.writer().write_all(&out).is_ok() {
        session.send_close_notify();
        let _ = tls.flush().await;
    }
}

/// Reads a head ending in a blank line (CRLF or bare LF) and a body by `Content-Length`, or
/// to the end of the stream without one.
async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> std::io::Result<RawRequest> {
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    // Reads go straight into the heap buffer: a stack buffer would live in every
    // connection's task for the whole call.
    let mut buf = Vec::with_capacity(READ_SIZE);
    let head_end = loop {
        if let Some(end) = find_head_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("request head too long"));
        }
        make_room(&mut buf);
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(invalid("connection closed inside the request head"));
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let status = parsed
        .parse(&buf[..head_end])
        .map_err(|e| invalid(&e.to_string()))?;
    if status.is_partial() {
        return Err(invalid("incomplete request head"));
    }
    let method = parsed.method.unwrap_or_default().to_owned();
    let path = parsed.path.unwrap_or_default().to_owned();
    let minor_version = parsed.version.unwrap_or(0);
    let content_length = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| {
            std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| invalid("bad Content-Length"))
        })
        .transpose()?;
    let expects_continue = minor_version == 1
        && parsed.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("expect")
                && h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue")
        });
    let mut body = buf.split_off(head_end);
    // curl (PHP's SDK) asks before sending a larger body; answer rather than make it wait.
    if expects_continue && body.is_empty() && content_length.is_some_and(|n| n > 0) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        stream.flush().await?;
    }
    match content_length {
        Some(len) if len > MAX_BODY => return Err(invalid("request body too long")),
        Some(len) => {
            body.reserve(len.saturating_sub(body.len()));
            while body.len() < len {
                if stream.read_buf(&mut body).await? == 0 {
                    return Err(invalid("connection closed inside the request body"));
                }
            }
            body.truncate(len);
        }
        None if method == "POST" => loop {
            make_room(&mut body);
            if stream.read_buf(&mut body).await? == 0 {
                break;
            }
            if body.len() > MAX_BODY {
                return Err(invalid("request body too long"));
            }
        },
        None => {}
    }
    Ok(RawRequest {
        method,
        path,
        minor_version,
        body,
    })
}

/// Gives `buf` room for at least half of [`READ_SIZE`] more bytes, so no read is tiny.
fn make_room(buf: &mut Vec<u8>) {
    if buf.capacity() - buf.len() < READ_SIZE / 2 {
        buf.reserve(READ_SIZE);
    }
}

/// The index just past the blank line that ends the head (`\r\n\r\n`, `\n\n`, or a mix).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + off;
        let next = nl + 1;
        match buf.get(next) {
            Some(b'\n') => return Some(next + 1),
            Some(b'\r') if buf.get(next + 1) == Some(&b'\n') => return Some(next + 2),
            _ => i = next,
        }
    }
    None
}

fn fail(request_id: &str, error_id: i64, message: &str) -> PfdResponse {
    PfdResponse {
        request_id: request_id.to_owned(),
        result: PfdResult::Fail {
            error_id,
            message: message.to_owned(),
        },
    }
}

fn answered(request_id: &str, authenticated: bool, status: CallStatus) -> PfdResponse {
    PfdResponse {
        request_id: request_id.to_owned(),
        result: PfdResult::Success(AuthenticationResponse::new(authenticated, status)),
    }
}

impl DirectService {
    /// Spec §6.1, in order (step 1, the handshake, has already passed).
    async fn answer(&self, body: &[u8], cert: &Fingerprint) -> PfdResponse {
        let decoded = AuthenticationRequest::decode(body);
        // Step 2 and 3.
        let (license_key, group_key) = match &decoded {
            Err(RequestDecodeError::Malformed { request_id, .. }) => {
                return fail(
                    request_id.as_deref().unwrap_or_default(),
                    1,
                    "Malformed request.",
                );
            }
            Err(RequestDecodeError::Unsupported { request_id, .. }) => {
                return fail(request_id, 4, "Unsupported request.");
            }
            Err(RequestDecodeError::MissingField {
                license_key,
                group_key,
                ..
            }) => (license_key.clone(), group_key.clone()),
            Ok(req) => (req.license_key.clone(), req.group_key.clone()),
            Err(other) => {
                return fail(other.request_id().unwrap_or_default(), 5, "Internal error.");
            }
        };
        let request_id = match &decoded {
            Ok(r) => r.request_id.clone(),
            Err(e) => e.request_id().unwrap_or_default().to_owned(),
        };
        // Step 4.
        let terms = match self.licenses.check(&license_key, &group_key, cert) {
            LicenseCheck::Ok(terms) => terms,
            LicenseCheck::UnknownKeys => {
                return fail(&request_id, 2, "Unknown license key or group key.");
            }
            LicenseCheck::NotBound => {
                return fail(
                    &request_id,
                    3,
                    "The client certificate is not issued for this license.",
                );
            }
        };
        // Step 5.
        let req = match decoded {
            Ok(req)
                if !req.username.is_empty()
                    && !req.country_code.is_empty()
                    && !req.phone_number.is_empty() =>
            {
                req
            }
            _ => return answered(&request_id, false, CallStatus::INVALID_MESSAGE),
        };
        // Step 6.
        let step6 = match (&req.mode, &req.pin_mode) {
            (AuthMode::Sms, _) => Some(CallStatus::SMS_MODE_NOT_ALLOWED),
            (AuthMode::PhoneApp, _) => Some(CallStatus::PHONE_APP_MODE_NOT_ALLOWED),
            (_, PinMode::ReturnPin) => Some(CallStatus::RETURN_PIN_NOT_ALLOWED),
            (_, PinMode::Voiceprint) => Some(CallStatus::VOICEPRINT_MODE_NOT_ALLOWED),
            (_, PinMode::Pin { .. }) if !terms.pin_mode_allowed => {
                Some(CallStatus::PIN_MODE_NOT_ALLOWED)
            }
            _ => None,
        };
        let expect = match &req.pin_mode {
            PinMode::Pin { pin, .. } => Expectation::Pin(pin.clone()),
            _ => Expectation::Standard,
        };
        let call = CallRequest {
            mode: ServiceMode::Direct,
            username: req.username.clone(),
            phone: Dialled {
                country_code: req.country_code.clone(),
                number: req.phone_number.clone(),
                extension: req.extension.clone(),
            },
            expect,
        };
        // Step 7.
        let refusal = step6.or_else(|| {
            check_number(
                &req.country_code,
                &req.phone_number,
                req.extension.as_deref(),
                NumberPolicy {
                    home_country: &terms.home_country,
                    international_allowed: req.allow_international_calls,
                    extensions_allowed: terms.extensions_allowed,
                },
            )
        });
        if let Some(status) = refusal {
            self.phones.record_refusal(&call, status);
            return answered(&request_id, false, status);
        }
        // Steps 8 and 9.
        let ending = self.phones.place(call).await;
        answered(&request_id, ending.authenticated, ending.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_ends_at_crlf_or_bare_lf_blank_lines() {
        assert_eq!(
            find_head_end(b"POST / HTTP/1.0\r\nA: b\r\n\r\nbody"),
            Some(25)
        );
        assert_eq!(find_head_end(b"POST / HTTP/1.0\nA: b\n\nbody"), Some(22));
        assert_eq!(find_head_end(b"POST / HTTP/1.0\nA: b\n"), None);
    }

    #[tokio::test]
    async fn httparse_reads_a_bare_lf_head() {
        let raw = b"POST /pfd/pfd.pl HTTP/1.0\nHost: pfd.phonefactor.net\nContent-Length: 3\nConnection: Close\n\nabc".to_vec();
        let (mut client, mut server) = tokio::io::duplex(4096);
        client.write_all(&raw).await.unwrap();
        let req = read_request(&mut server).await.unwrap();
        assert_eq!(
            (req.method.as_str(), req.path.as_str(), req.minor_version),
            ("POST", PFD_PATH, 0)
        );
        assert_eq!(req.body, b"abc");
    }
}
