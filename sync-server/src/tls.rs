//! HTTPS (security review M8): the certificate the server presents, from
//! files the operator configured or a self-signed one made on first start,
//! and the handshake on each connection (`app::serve`).
//!
//! A self-signed certificate is kept in `{data dir}/tls/` (the key 0600)
//! and reused on every start, so its fingerprint, which the operator hands
//! to users to compare with what the app shows, stays the same. The app
//! pins it (`crm_desktop_core::trust`); a certificate from a public or
//! company authority needs no pin.
//!
//! When to serve HTTPS is `ServerConfig::serves_tls`: by default, unless
//! the server listens on loopback only, where the app takes plain HTTP
//! (and TLS would protect nothing from anyone but the machine's own users).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crm_domain::tls::CertificateFingerprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ServerConfig;

/// What the server serves HTTPS with.
#[derive(Clone)]
pub struct ServerTls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// SHA-256 of the certificate presented (the chain's first).
    pub fingerprint: CertificateFingerprint,
    pub origin: CertificateOrigin,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("fingerprint", &self.fingerprint.to_string())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateOrigin {
    /// `--tls-cert` and `--tls-key`.
    Configured { cert: PathBuf },
    /// Made by the server; `generated` on this start.
    SelfSigned { cert: PathBuf, generated: bool },
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a PEM certificate chain ({reason})", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("{}: not a PEM private key ({reason})", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("the certificate and key cannot serve TLS: {0}")]
    Unusable(#[from] rustls::Error),
    #[error("making a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Where a self-signed certificate is kept.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// The server's certificate, if it serves HTTPS (`None` for plain HTTP):
/// the configured files, else the self-signed one, made now if needed.
pub fn load(config: &ServerConfig) -> Result<Option<ServerTls>, TlsError> {
    if !config.serves_tls() {
        return Ok(None);
    }
    let (cert, key, origin) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => (
            cert.clone(),
            key.clone(),
            CertificateOrigin::Configured { cert: cert.clone() },
        ),
        _ => {
            let (cert, key) = self_signed_paths(&config.data_dir);
            let generated = if cert.exists() && key.exists() {
                false
            } else {
                generate_self_signed(&cert, &key, &certificate_names(config))?;
                true
            };
            (
                cert.clone(),
                key,
                CertificateOrigin::SelfSigned { cert, generated },
            )
        }
    };
    let chain = read_chain(&cert)?;
    let key = read_key(&key)?;
    let fingerprint = CertificateFingerprint::of_der(&chain[0]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // hyper serves HTTP/1.1 only here.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(ServerTls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        fingerprint,
        origin,
    }))
}

/// The fingerprint of the certificate the server would serve, without
/// starting it (for `sync-server tls fingerprint`); `None` if it serves
/// plain HTTP or has not made its certificate yet.
pub fn fingerprint(config: &ServerConfig) -> Result<Option<CertificateFingerprint>, TlsError> {
    let cert = match &config.tls_cert {
        Some(cert) => cert.clone(),
        None => self_signed_paths(&config.data_dir).0,
    };
    if !cert.exists() {
        return Ok(None);
    }
    Ok(Some(CertificateFingerprint::of_der(&read_chain(&cert)?[0])))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_or(path, e, &bad))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_or(path, e, &bad))?;
    if chain.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        file_or(path, e, &|reason| TlsError::Key {
            path: path.to_path_buf(),
            reason,
        })
    })
}

/// A PEM error as the file's IO error when it is one, else as `bad`.
fn file_or(
    path: &Path,
    error: rustls::pki_types::pem::Error,
    bad: &dyn Fn(String) -> TlsError,
) -> TlsError {
    match error {
        rustls::pki_types::pem::Error::Io(source) => TlsError::File {
            path: path.to_path_buf(),
            source,
        },
        other => bad(other.to_string()),
    }
}

/// The names a self-signed certificate is made for: loopback, this
/// machine's name, the address listened on, and `--tls-names`. With a
/// pinned fingerprint the app does not check names, but browsers, curl and
/// other tools given the certificate do.
fn certificate_names(config: &ServerConfig) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        names.push(host.trim().to_owned());
    }
    if !config.listen.ip().is_unspecified() {
        names.push(config.listen.ip().to_string());
    }
    names.extend(config.tls_names.iter().map(|name| name.trim().to_owned()));
    names.retain(|name| !name.is_empty());
    names.sort();
    names.dedup();
    names
}

/// Years a self-signed certificate is valid. Users pin it, so replacing it
/// means every app asks its user to compare a new fingerprint: long-lived
/// on purpose (an SSH host key never expires at all).
const SELF_SIGNED_YEARS: i32 = 10;

fn generate_self_signed(cert: &Path, key: &Path, names: &[String]) -> Result<(), TlsError> {
    use chrono::Datelike;

    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "CRM sync server");
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    params.not_before = rcgen::date_time_ymd(
        yesterday.year(),
        yesterday.month() as u8,
        yesterday.day() as u8,
    );
    params.not_after = rcgen::date_time_ymd(
        today.year() + SELF_SIGNED_YEARS,
        today.month() as u8,
        today.day().min(28) as u8,
    );
    let key_pair = rcgen::KeyPair::generate()?;
    let certificate = params.self_signed(&key_pair)?;
    let file_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::File { path, source }
    };
    if let Some(dir) = key.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(file_error(dir))?;
    }
    // A key left by a start that died between the two files is replaced.
    let _ = std::fs::remove_file(key);
    crate::secrets::write_new(key, key_pair.serialize_pem().as_bytes(), 0o600)
        .map_err(file_error(key))?;
    let _ = std::fs::remove_file(cert);
    crate::secrets::write_new(cert, certificate.pem().as_bytes(), 0o644)
        .map_err(file_error(cert))?;
    tracing::info!(path = %cert.display(), ?names, "generated a self-signed certificate");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use clap::Parser;

    use super::*;

    fn config(args: &[&str]) -> ServerConfig {
        let mut all = vec!["sync-server"];
        all.extend_from_slice(args);
        crate::config::Config::parse_from(all).server
    }

    #[test]
    fn on_loopback_the_server_serves_plain_http_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        assert!(load(&config(&["--data-dir", data])).unwrap().is_none());
        assert!(
            load(&config(&["--data-dir", data, "--listen", "[::1]:0"]))
                .unwrap()
                .is_none()
        );
        assert!(
            load(&config(&["--data-dir", data, "--tls", "on"]))
                .unwrap()
                .is_some()
        );
        let everywhere = config(&["--data-dir", data, "--listen", "0.0.0.0:8740"]);
        assert!(everywhere.serves_tls());
        let behind_a_proxy = config(&[
            "--data-dir",
            data,
            "--listen",
            "0.0.0.0:8740",
            "--tls",
            "off",
        ]);
        assert!(!behind_a_proxy.serves_tls());
    }

    #[test]
    fn a_self_signed_certificate_is_made_once_with_a_private_key_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let settings = config(&[
            "--data-dir",
            data,
            "--listen",
            "0.0.0.0:0",
            "--tls-names",
            "crm.example.com",
        ]);
        let first = load(&settings).unwrap().unwrap();
        let CertificateOrigin::SelfSigned { cert, generated } = &first.origin else {
            panic!("{:?}", first.origin)
        };
        assert!(generated);
        let (_, key) = self_signed_paths(dir.path());
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is its owner's only");
        let mode = std::fs::metadata(key.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        // The fingerprint is the certificate file's, and stays across starts.
        let der = CertificateDer::from_pem_file(cert).unwrap();
        assert_eq!(first.fingerprint, CertificateFingerprint::of_der(&der));
        let again = load(&settings).unwrap().unwrap();
        assert_eq!(again.fingerprint, first.fingerprint);
        assert!(matches!(
            again.origin,
            CertificateOrigin::SelfSigned {
                generated: false,
                ..
            }
        ));
        assert_eq!(fingerprint(&settings).unwrap(), Some(first.fingerprint));
    }

    #[test]
    fn a_configured_certificate_that_is_not_one_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let settings = config(&[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ]);
        let error = load(&settings).unwrap_err().to_string();
        assert!(
            error.contains("cert.pem") && error.contains("no certificate"),
            "{error}"
        );
        let missing = config(&[
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ]);
        let error = load(&missing).unwrap_err().to_string();
        assert!(error.contains("/nonexistent/cert.pem"), "{error}");
    }
}
