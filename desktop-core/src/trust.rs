//! Which servers the app talks to, and how it knows it is talking to them
//! (security review M8): HTTPS checked against the system's certificate
//! authorities, or against a fingerprint the user pinned; plain HTTP only
//! to this machine (loopback), unless the user explicitly allowed it for a
//! server.
//!
//! A server with a self-signed certificate (what `sync-server` makes on
//! first start) is not trusted until its user compares the fingerprint the
//! app shows with the one the administrator gave them, and accepts: the app
//! then pins it, like SSH's known hosts, and refuses any other certificate
//! for that server, even one an authority signed. The user's decisions
//! live in the session file, beside the server's address, and in
//! `known_servers.json` (like SSH's `known_hosts`), so signing out and in
//! again does not ask again.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crm_domain::tls::CertificateFingerprint;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::{Deserialize, Serialize};

/// What the user decided about one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTrust {
    /// The certificate the user compared and accepted: only it is trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<CertificateFingerprint>,
    /// The user allowed plain HTTP to a server that is not this machine
    /// (everything, their password too, crosses the network readable).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_plain_http: bool,
}

/// A server's address with what the user decided about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub url: String,
    pub trust: ServerTrust,
}

impl Server {
    pub fn new(url: impl Into<String>, trust: ServerTrust) -> Self {
        Self {
            url: url.into(),
            trust,
        }
    }
}

impl From<&str> for Server {
    fn from(url: &str) -> Self {
        Self::new(url, ServerTrust::default())
    }
}

impl From<&String> for Server {
    fn from(url: &String) -> Self {
        Self::new(url.as_str(), ServerTrust::default())
    }
}

impl From<String> for Server {
    fn from(url: String) -> Self {
        Self::new(url, ServerTrust::default())
    }
}

/// Why the app will not talk to a server as it stands. Each needs its
/// user: the sign-in window shows it and lets them decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("`{0}` is not a server address like https://crm.example.com:8740")]
    BadAddress(String),
    /// Plain HTTP to another machine, not allowed for it.
    #[error(
        "{host} does not use an encrypted connection (http://): anyone on the network could read \
         your password and your customers' data. Use its https:// address, or allow this only if \
         you trust the network"
    )]
    PlainHttp { host: String },
    /// A certificate no authority this computer trusts vouches for (a
    /// self-signed one, as the server makes by default), and no pin.
    #[error(
        "this server's certificate is not signed by an authority this computer trusts ({reason}). \
         Compare its fingerprint with the one your administrator gave you: {found}"
    )]
    Untrusted {
        found: CertificateFingerprint,
        reason: String,
    },
    /// Another certificate than the pinned one: the server's was replaced,
    /// or someone is between this computer and the server.
    #[error(
        "the server's certificate changed: it was {expected}, it is now {found}. If your \
         administrator did not replace it, someone may be intercepting the connection"
    )]
    Changed {
        expected: CertificateFingerprint,
        found: CertificateFingerprint,
    },
}

impl TrustError {
    /// A stable code for the UI to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadAddress(_) => "bad_server_address",
            Self::PlainHttp { .. } => "insecure_server",
            Self::Untrusted { .. } => "untrusted_certificate",
            Self::Changed { .. } => "certificate_changed",
        }
    }

    /// The certificate the server offered, when that is the problem.
    pub fn offered(&self) -> Option<CertificateFingerprint> {
        match self {
            Self::Untrusted { found, .. } | Self::Changed { found, .. } => Some(*found),
            _ => None,
        }
    }
}

/// The file of decisions about servers, by address.
fn known_servers_path(data_dir: &Path) -> PathBuf {
    data_dir.join("known_servers.json")
}

fn known_servers(data_dir: &Path) -> BTreeMap<String, ServerTrust> {
    crate::session::read_json_or_default(&known_servers_path(data_dir))
}

fn address_key(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// `server` with what its user decided before, when nothing is decided
/// now (a sign-in after signing out, or signing in again).
pub fn with_remembered(data_dir: &Path, server: Server) -> Server {
    if server.trust != ServerTrust::default() {
        return server;
    }
    let trust = known_servers(data_dir)
        .remove(&address_key(&server.url))
        .unwrap_or_default();
    Server { trust, ..server }
}

/// Keeps what the user decided about the server at `url` (after a sign-in
/// that worked with it).
pub fn remember(data_dir: &Path, url: &str, trust: &ServerTrust) -> std::io::Result<()> {
    let mut known = known_servers(data_dir);
    let key = address_key(url);
    if trust == &ServerTrust::default() {
        if known.remove(&key).is_none() {
            return Ok(());
        }
    } else {
        known.insert(key, trust.clone());
    }
    crate::session::write_json_private(&known_servers_path(data_dir), &known)
}

/// Whether the app may talk to `server` at all: an http(s) URL, and plain
/// HTTP only to loopback or where allowed.
pub fn check_address(server: &Server) -> Result<reqwest::Url, TrustError> {
    let bad = || TrustError::BadAddress(server.url.clone());
    let url = reqwest::Url::parse(server.url.trim()).map_err(|_| bad())?;
    let host = url.host_str().ok_or_else(bad)?.to_owned();
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) || server.trust.allow_plain_http => Ok(url),
        "http" => Err(TrustError::PlainHttp { host }),
        _ => Err(bad()),
    }
}

/// This machine: `localhost`, 127.0.0.0/8, `::1`. Nothing crosses a
/// network to reach it.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let host = bare.to_ascii_lowercase();
            host == "localhost" || host.ends_with(".localhost")
        }
    }
}

/// The last certificate a client refused, and why: a failed request's
/// error says only that the handshake failed, the verifier knows which
/// certificate and what to tell the user.
#[derive(Debug, Clone, Default)]
pub(crate) struct Refusals(Arc<Mutex<Option<TrustError>>>);

impl Refusals {
    fn record(&self, error: TrustError) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(error);
        }
    }

    /// The refusal behind a failed request, if a certificate was refused.
    pub(crate) fn take(&self) -> Option<TrustError> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The TLS settings for a client of a server the user decided about.
pub(crate) fn client_config(trust: &ServerTrust, refusals: Refusals) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier {
        pin: trust.pin,
        authorities: authorities(&provider),
        algorithms: provider.signature_verification_algorithms,
        refusals,
    };
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring supports every default version: this cannot fail.
        .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"))
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth()
}

/// The system's certificate authorities (read once per process), as a
/// verifier; `None` if the system has none, when only pins are trusted.
fn authorities(provider: &Arc<CryptoProvider>) -> Option<Arc<WebPkiServerVerifier>> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::debug!(%error, "reading the system's certificate authorities");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "the system's certificate authorities");
        Arc::new(roots)
    });
    WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .ok()
}

/// A pinned certificate is trusted as itself (its signature over the
/// handshake still checked); anything else needs a chain to the system's
/// authorities with the right name and dates.
#[derive(Debug)]
struct Verifier {
    pin: Option<CertificateFingerprint>,
    authorities: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    refusals: Refusals,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let found = CertificateFingerprint::of_der(end_entity);
        if let Some(expected) = self.pin {
            if found == expected {
                return Ok(ServerCertVerified::assertion());
            }
            self.refusals
                .record(TrustError::Changed { expected, found });
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ));
        }
        let verified = match &self.authorities {
            Some(authorities) => authorities.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        verified.inspect_err(|error| {
            self.refusals.record(TrustError::Untrusted {
                found,
                reason: describe(error),
            });
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Why a certificate failed, in a user's words.
fn describe(error: &rustls::Error) -> String {
    use rustls::CertificateError as E;
    match error {
        rustls::Error::InvalidCertificate(E::UnknownIssuer) => {
            "it is self-signed or from an unknown authority".into()
        }
        rustls::Error::InvalidCertificate(E::Expired | E::ExpiredContext { .. }) => {
            "it has expired".into()
        }
        rustls::Error::InvalidCertificate(
            E::NotValidForName | E::NotValidForNameContext { .. },
        ) => "it is for another name".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn server(url: &str, allow_plain_http: bool) -> Server {
        Server::new(
            url,
            ServerTrust {
                pin: None,
                allow_plain_http,
            },
        )
    }

    #[test]
    fn plain_http_goes_only_to_this_machine_unless_the_user_allowed_it() {
        for local in [
            "http://127.0.0.1:8740",
            "http://127.1.2.3",
            "http://localhost:8740/",
            "http://LOCALHOST",
            "http://crm.localhost",
            "http://[::1]:8740",
        ] {
            assert!(check_address(&server(local, false)).is_ok(), "{local}");
        }
        for remote in [
            "http://crm.example.com",
            "http://10.0.0.5:8740",
            "http://[2001:db8::1]",
            "http://localhost.example.com",
        ] {
            assert!(
                matches!(
                    check_address(&server(remote, false)),
                    Err(TrustError::PlainHttp { .. })
                ),
                "{remote}"
            );
            assert!(
                check_address(&server(remote, true)).is_ok(),
                "{remote} allowed"
            );
        }
        assert!(check_address(&server("https://crm.example.com", false)).is_ok());
    }

    #[test]
    fn an_address_that_is_not_an_http_url_is_refused_as_such() {
        for bad in ["crm.example.com", "ftp://crm.example.com", "", "https://"] {
            assert!(
                matches!(
                    check_address(&server(bad, true)),
                    Err(TrustError::BadAddress(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_decision_about_a_server_is_remembered_for_its_next_sign_in() {
        let dir = tempfile::tempdir().unwrap();
        let pin = ServerTrust {
            pin: Some(CertificateFingerprint::of_der(b"cert")),
            allow_plain_http: false,
        };
        remember(dir.path(), "https://crm.example.com:8740/", &pin).unwrap();
        let again = with_remembered(dir.path(), Server::from("https://CRM.example.com:8740"));
        assert_eq!(again.trust, pin);
        let other = with_remembered(dir.path(), Server::from("https://other.example.com"));
        assert_eq!(other.trust, ServerTrust::default());
        // A decision made now wins over the remembered one.
        let now = ServerTrust {
            pin: Some(CertificateFingerprint::of_der(b"new cert")),
            allow_plain_http: false,
        };
        let chosen = with_remembered(
            dir.path(),
            Server::new("https://crm.example.com:8740", now.clone()),
        );
        assert_eq!(chosen.trust, now);
    }

    #[test]
    fn the_trust_a_user_decided_is_kept_in_the_session_file_and_read_back() {
        let trust = ServerTrust {
            pin: Some(CertificateFingerprint::of_der(b"cert")),
            allow_plain_http: false,
        };
        let text = serde_json::to_string(&trust).unwrap();
        assert_eq!(serde_json::from_str::<ServerTrust>(&text).unwrap(), trust);
        // A session file from before pins reads as "nothing decided".
        assert_eq!(
            serde_json::from_str::<ServerTrust>("{}").unwrap(),
            ServerTrust::default()
        );
    }
}
