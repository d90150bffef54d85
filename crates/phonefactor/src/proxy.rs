//! The product's proxy setting, `http://[user:pass@]host:port`, and the `CONNECT` tunnel
//! (spec §2.6).

use std::fmt;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::Error;

/// Longest proxy reply head we read.
const MAX_HEAD: usize = 8 * 1024;

/// An HTTP proxy reached with `CONNECT`, optionally with Basic credentials.
#[derive(Clone)]
pub struct Proxy {
    host: String,
    port: u16,
    user: Option<(String, SecretString)>,
    no_proxy: Vec<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user.as_ref().map(|(u, _)| u))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxy {
    /// Parses `http://[user:pass@]host:port` (user and password percent-decoded).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let url = url::Url::parse(text.trim()).map_err(|_| Error::InvalidProxy {
            reason: "not a URL of the form http://[user:pass@]host:port",
        })?;
        if url.scheme() != "http" {
            return Err(Error::InvalidProxy {
                reason: "the scheme must be http",
            });
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(Error::InvalidProxy {
                reason: "there is no host",
            })?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port().ok_or(Error::InvalidProxy {
            reason: "there is no port",
        })?;
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(Error::InvalidProxy {
                reason: "a path or query is not allowed",
            });
        }
        let user = if url.username().is_empty() {
            None
        } else {
            let user = percent_decode(url.username());
            let pass = url.password().map(percent_decode).unwrap_or_default();
            Some((user, SecretString::from(pass)))
        };
        Ok(Self {
            host,
            port,
            user,
            no_proxy: Vec::new(),
        })
    }

    /// Hosts reached directly: exact names, or `.suffix` for a domain (agent mode).
    #[must_use]
    pub fn with_no_proxy<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.no_proxy = hosts
            .into_iter()
            .map(|h| h.into().to_ascii_lowercase())
            .collect();
        self
    }

    /// `host:port` of the proxy.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn user(&self) -> Option<(&str, &SecretString)> {
        self.user.as_ref().map(|(u, p)| (u.as_str(), p))
    }

    pub(crate) fn no_proxy(&self) -> &[String] {
        &self.no_proxy
    }

    /// Whether `host` bypasses the proxy.
    pub fn bypasses(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.no_proxy.iter().any(|n| {
            n == "*"
                || *n == host
                || n.strip_prefix('.')
                    .is_some_and(|suffix| host == suffix || host.ends_with(&format!(".{suffix}")))
        })
    }

    /// Asks the proxy for a tunnel to `target` (`host:port`) over `stream`, as Java does:
    /// `CONNECT target HTTP/1.0`, optional `Proxy-Authorization: Basic`, blank line; the
    /// tunnel is open only on an `HTTP/1.x 200` status line.
    pub(crate) async fn tunnel<S>(&self, stream: &mut S, target: &str) -> Result<(), Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut head = format!("CONNECT {target} HTTP/1.0\r\n");
        if let Some((user, pass)) = &self.user {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{user}:{}", pass.expose_secret()));
            head.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        }
        head.push_str("\r\n");
        let io_err = |e: std::io::Error| Error::Proxy {
            proxy: self.address(),
            status: format!("I/O error: {e}"),
        };
        stream.write_all(head.as_bytes()).await.map_err(io_err)?;
        stream.flush().await.map_err(io_err)?;
        // Read byte by byte up to the blank line so nothing of the tunnel is consumed.
        let mut buf = Vec::with_capacity(256);
        loop {
            let mut byte = [0u8; 1];
            let n = stream.read(&mut byte).await.map_err(io_err)?;
            if n == 0 {
                return Err(Error::Proxy {
                    proxy: self.address(),
                    status: "the proxy closed the connection".into(),
                });
            }
            buf.extend_from_slice(&byte);
            if buf.ends_with(b"\r\n\r\n") || buf.ends_with(b"\n\n") {
                break;
            }
            if buf.len() > MAX_HEAD {
                return Err(Error::Proxy {
                    proxy: self.address(),
                    status: "the reply head is too long".into(),
                });
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(&buf);
        let code = match parsed {
            Ok(httparse::Status::Complete(_)) => response.code,
            _ => None,
        };
        let status_line = String::from_utf8_lossy(buf.split(|b| *b == b'\n').next().unwrap_or(&[]))
            .trim()
            .to_owned();
        match code {
            Some(200) => Ok(()),
            Some(407) => Err(Error::ProxyAuth {
                proxy: self.address(),
            }),
            _ => Err(Error::Proxy {
                proxy: self.address(),
                status: status_line.chars().take(120).collect(),
            }),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_product_proxy_setting() {
        let p = Proxy::parse("http://bob:p%40ss@proxy.corp:3128").unwrap();
        assert_eq!(p.address(), "proxy.corp:3128");
        let (u, pw) = p.user().unwrap();
        assert_eq!((u, pw.expose_secret()), ("bob", "p@ss"));
        assert!(!format!("{p:?}").contains("p@ss"));
        assert!(Proxy::parse("https://proxy:1").is_err());
        assert!(Proxy::parse("http://proxy").is_err());
        assert!(Proxy::parse("proxy:3128").is_err());
    }

    #[test]
    fn no_proxy_matches_names_and_domains() {
        let p = Proxy::parse("http://p:1")
            .unwrap()
            .with_no_proxy(["mfa.corp.example", ".lan"]);
        assert!(p.bypasses("MFA.corp.example"));
        assert!(p.bypasses("agent.lan"));
        assert!(!p.bypasses("evil-lan"));
        assert!(!p.bypasses("other.example"));
    }
}
