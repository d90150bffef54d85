//! The session cookie: its name and attributes, written and read.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SameSite {
    /// Never sent on requests started by another site (default).
    #[default]
    Strict,
    /// Sent on top-level navigations from another site (links), not on their forms.
    Lax,
}

/// How the session cookie is written.
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    pub(crate) secure: bool,
    pub(crate) same_site: SameSite,
    pub(crate) idle: Duration,
    pub(crate) signed_in_lifetime: Duration,
}

impl CookieSettings {
    /// `__Host-` when secure: the browser then insists on `Secure`, `Path=/` and no
    /// `Domain`, so a sibling host cannot plant or shadow the cookie.
    pub(crate) fn name(&self) -> &'static str {
        if self.secure {
            "__Host-login-portal"
        } else {
            "login-portal"
        }
    }

    /// The `Set-Cookie` value that stores session `id`.
    pub(crate) fn set(&self, id: &str) -> String {
        format!("{}={id}; {}", self.name(), self.attributes())
    }

    /// The `Set-Cookie` value that removes the cookie.
    pub(crate) fn clear(&self) -> String {
        format!(
            "{}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; {}",
            self.name(),
            self.attributes()
        )
    }

    fn attributes(&self) -> String {
        let same_site = match self.same_site {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
        };
        let secure = if self.secure { "; Secure" } else { "" };
        format!("Path=/; HttpOnly; SameSite={same_site}{secure}")
    }

    /// The session id the request's cookies carry, if any.
    pub(crate) fn read<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name())
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn settings(secure: bool) -> CookieSettings {
        CookieSettings {
            secure,
            same_site: SameSite::Strict,
            idle: Duration::from_secs(60),
            signed_in_lifetime: Duration::from_secs(60),
        }
    }

    #[test]
    fn secure_cookies_use_the_host_prefix_and_every_attribute() {
        assert_eq!(
            settings(true).set("abc"),
            "__Host-login-portal=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            settings(false).set("abc"),
            "login-portal=abc; Path=/; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; login-portal=xyz; b=2"),
        );
        assert_eq!(settings(false).read(&headers), Some("xyz"));
        assert_eq!(settings(true).read(&headers), None);
    }
}
