//! The client's address: the socket's peer, or, behind a trusted reverse proxy, the address
//! that proxy saw.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The reverse proxies whose `X-Forwarded-For` is believed. Empty: the socket's peer is
/// the client, and the header is ignored (anyone can send it).
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(Vec<IpAddr>);

impl TrustedProxies {
    pub(crate) fn new(proxies: Vec<IpAddr>) -> Self {
        Self(proxies)
    }

    /// The client address of a request from `peer` with these headers: walking
    /// `X-Forwarded-For` from the right (the entries our proxies appended), the first
    /// address that is not one of our proxies. Only when `peer` is a trusted proxy.
    pub(crate) fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer.ip());
        if !self.0.contains(&peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Ok(addr) = hop.parse::<IpAddr>().map(canonical) else {
                // Garbage where an address should be: stop at the last address we trust.
                break;
            };
            client = addr;
            if !self.0.contains(&addr) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses as IPv4, so that limits and lists see one address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::new(vec!["10.0.0.1".parse().unwrap()]);
        let from_proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let direct: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let h = headers("203.0.113.9, 198.51.100.4");
        assert_eq!(
            proxies.client(from_proxy, &h),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            proxies.client(direct, &h),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            TrustedProxies::default().client(from_proxy, &h),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_skipped_and_garbage_stops_the_walk() {
        let proxies = TrustedProxies::new(vec![
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
        ]);
        let peer: SocketAddr = "10.0.0.1:1".parse().unwrap();
        assert_eq!(
            proxies.client(peer, &headers("203.0.113.9, 10.0.0.2")),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            proxies.client(peer, &headers("203.0.113.9, not-an-ip")),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
