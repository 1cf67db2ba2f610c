//! Where a request comes from, for the sign-in throttle, the anonymous rate
//! limit and the devices list: the connection's peer, or, when that peer
//! is one of the configured proxies (`--trusted-proxies`), the address the
//! proxies say they forwarded for (`X-Forwarded-For`, read from the right:
//! the first hop that is not a trusted proxy is the client).
//!
//! Without the setting the header is ignored, so nobody can pick the
//! address they are throttled as (security review M3); behind a TLS
//! proxy, set it, or every client shares the proxy's address and one
//! address's throttle.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::state::AppState;

/// The client's address (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The client of a connection from `peer`, given the forwarding headers and
/// the proxies trusted to set them.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Every X-Forwarded-For header, in order, as one list of hops.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop that does not parse ends the trust: what is left of it was
        // written by whoever the last trusted proxy heard from.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("the connection's address is unknown"))
            })?;
        Ok(ClientAddress(client_of(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let forged = headers(&["203.0.113.9"]);
        assert_eq!(
            client_of(ip("198.51.100.1"), &forged, &[]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client forged a first hop; the proxy appended the real one.
        let chain = headers(&["1.2.3.4, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &chain, &trusted),
            ip("203.0.113.9")
        );
        // An untrusted peer's header means nothing.
        assert_eq!(
            client_of(ip("198.51.100.1"), &chain, &trusted),
            ip("198.51.100.1")
        );
        // Garbage ends the trust at the last good hop.
        let garbage = headers(&["203.0.113.9, not-an-address"]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &garbage, &trusted),
            ip("10.0.0.1")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_of(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
    }
}
