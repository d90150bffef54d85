//! Opening LDAP connections, and pools of them for reuse.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, StdStream};
use secrecy::{ExposeSecret, SecretString};

use super::config::ConnectionSettings;
use super::tls;
use crate::DirectoryError;

/// Opens connections to one server: plain, LDAPS or StartTLS, with timeouts.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    url: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    starttls: bool,
    connect_timeout: Duration,
    operation_timeout: Duration,
}

impl Connector {
    pub(crate) fn new(settings: &ConnectionSettings) -> Result<Self, DirectoryError> {
        let url = settings.url.trim().to_owned();
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let ldaps = match scheme.as_deref() {
            Some("ldap") => false,
            Some("ldaps") => true,
            _ => {
                return Err(DirectoryError::misconfigured(format!(
                    "url {url:?} is not ldap://host[:port] or ldaps://host[:port]"
                )));
            }
        };
        if ldaps && settings.starttls {
            return Err(DirectoryError::misconfigured(format!(
                "starttls is for ldap:// urls; {url:?} is already ldaps://"
            )));
        }
        let tls = if ldaps || settings.starttls {
            Some(tls::client_config(&settings.ca_files)?)
        } else {
            None
        };
        Ok(Self {
            url,
            tls,
            starttls: settings.starttls,
            connect_timeout: settings.connect_timeout(),
            operation_timeout: settings.operation_timeout(),
        })
    }

    /// The server's URL, for messages.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// Opens a connection (TCP, then TLS or StartTLS as configured) and starts its driver.
    pub(crate) async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let opened = tokio::time::timeout(self.connect_timeout, self.open()).await;
        let (conn, ldap) = opened.map_err(|_| {
            DirectoryError::unreachable(
                &self.url,
                format!("no connection within {:?}", self.connect_timeout),
            )
        })??;
        let url = self.url.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(server = %url, error = %e, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }

    /// Connects the socket ourselves to turn Nagle's algorithm off: with it on, the small
    /// writes of a TLS handshake wait for delayed ACKs, about 40 ms per connection.
    async fn open(&self) -> Result<(LdapConnAsync, Ldap), DirectoryError> {
        let unreachable = |e: std::io::Error| DirectoryError::unreachable(&self.url, e);
        let tcp = tokio::net::TcpStream::connect(self.host_port())
            .await
            .map_err(unreachable)?;
        tcp.set_nodelay(true).map_err(unreachable)?;
        let std = tcp.into_std().map_err(unreachable)?;
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.connect_timeout)
            .set_starttls(self.starttls)
            .set_std_stream(StdStream::Tcp(std));
        if let Some(config) = &self.tls {
            settings = settings.set_config(Arc::clone(config));
        }
        LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|e| DirectoryError::unreachable(&self.url, e))
    }

    /// `host:port` of the URL, with the scheme's default port.
    fn host_port(&self) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("ldap", &self.url));
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let has_port = match authority.rfind(']') {
            Some(bracket) => authority[bracket..].contains(':'),
            None => authority.contains(':'),
        };
        if has_port {
            authority.to_owned()
        } else if scheme.eq_ignore_ascii_case("ldaps") {
            format!("{authority}:636")
        } else {
            format!("{authority}:389")
        }
    }

    /// Binds `ldap` as `dn`, returning the server's answer (an `Err` only for I/O failures).
    pub(crate) async fn bind(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        password: &SecretString,
    ) -> Result<ldap3::LdapResult, DirectoryError> {
        ldap.with_timeout(self.operation_timeout)
            .simple_bind(dn, password.expose_secret())
            .await
            .map_err(|e| DirectoryError::unreachable(&self.url, e))
    }
}

/// Makes pooled connections, bound as the service account or left anonymous (for the
/// connections that only carry users' binds).
#[derive(Debug)]
pub(crate) struct Manager {
    connector: Connector,
    service_account: Option<(String, SecretString)>,
}

impl managed::Manager for Manager {
    type Type = Ldap;
    type Error = DirectoryError;

    async fn create(&self) -> Result<Ldap, DirectoryError> {
        let mut ldap = self.connector.connect().await?;
        if let Some((dn, password)) = &self.service_account {
            let answer = self.connector.bind(&mut ldap, dn, password).await?;
            if answer.rc != 0 {
                return Err(DirectoryError::Misconfiguration {
                    reason: format!(
                        "the service account {dn:?} cannot bind to {} (result code {})",
                        self.connector.url(),
                        answer.rc
                    ),
                    source: answer.success().err().map(|e| Box::new(e) as _),
                });
            }
        }
        Ok(ldap)
    }

    async fn recycle(&self, ldap: &mut Ldap, _: &Metrics) -> RecycleResult<DirectoryError> {
        if ldap.is_closed() {
            Err(RecycleError::message("connection closed"))
        } else {
            Ok(())
        }
    }
}

/// A pool of reusable connections.
pub(crate) type Pool = managed::Pool<Manager>;

/// A connection taken from a [`Pool`].
pub(crate) type Pooled = managed::Object<Manager>;

pub(crate) fn pool(
    connector: &Connector,
    service_account: Option<(String, SecretString)>,
    size: usize,
) -> Result<Pool, DirectoryError> {
    Pool::builder(Manager {
        connector: connector.clone(),
        service_account,
    })
    .max_size(size.max(1))
    .build()
    .map_err(|e| DirectoryError::Misconfiguration {
        reason: "cannot build the LDAP connection pool".into(),
        source: Some(Box::new(e)),
    })
}

/// Takes a connection from `pool`, opening one if none is idle.
pub(crate) async fn get(pool: &Pool, server: &str) -> Result<Pooled, DirectoryError> {
    pool.get().await.map_err(|e| match e {
        managed::PoolError::Backend(e) => e,
        other => DirectoryError::unreachable(server, other.to_string()),
    })
}

/// Drops a connection that failed instead of returning it to its pool.
pub(crate) fn discard(conn: Pooled) {
    drop(managed::Object::take(conn));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_port(url: &str) -> String {
        Connector::new(&ConnectionSettings::new(url.into()))
            .unwrap()
            .host_port()
    }

    #[test]
    fn default_ports_follow_the_scheme() {
        assert_eq!(host_port("ldap://dc1.example.com"), "dc1.example.com:389");
        assert_eq!(host_port("ldaps://dc1.example.com/"), "dc1.example.com:636");
        assert_eq!(host_port("ldap://127.0.0.1:1389"), "127.0.0.1:1389");
        assert_eq!(host_port("ldaps://[::1]"), "[::1]:636");
        assert_eq!(host_port("ldaps://[::1]:6636/dc=x"), "[::1]:6636");
    }
}
