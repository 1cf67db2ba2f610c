//! HTTPS as an operator sets it up and as other tools see it (security
//! review M8): a configured certificate verifies against its authority
//! with curl; the fingerprint the server prints is OpenSSL's for the
//! certificate it serves; plain HTTP gets nothing from an HTTPS port.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use crm_domain::tls::CertificateFingerprint;
use sync_server::harness::Backend;

/// A company authority and a certificate it issued for `localhost`.
fn company_certificate(dir: &std::path::Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Example Company CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    (
        write("ca.pem", ca.pem()),
        write("cert.pem", leaf.pem()),
        write("key.pem", key.serialize_pem()),
    )
}

/// curl, in a process of its own while the test's runtime serves.
async fn curl(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .args(args)
        .output()
        .await
        .expect("curl (Debian package curl)")
}

#[tokio::test]
async fn a_configured_certificate_is_served_and_verifies_against_its_authority() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = company_certificate(dir.path());
    let db = support::database().await;
    // A configured certificate means HTTPS, even on loopback.
    let backend = Backend::on(db, &["--tls-cert", &cert, "--tls-key", &key]).await;
    let port = backend.addr.port();
    let url = format!("https://localhost:{port}/health");

    let trusted = curl(&[
        "--cacert",
        &ca,
        "--write-out",
        "%{http_code}",
        "--output",
        "/dev/null",
        &url,
    ])
    .await;
    assert!(trusted.status.success(), "{trusted:?}");
    assert_eq!(String::from_utf8_lossy(&trusted.stdout), "200");

    // Without the company's authority, curl refuses it (60: the peer's
    // certificate cannot be verified).
    let untrusted = curl(&["--output", "/dev/null", &url]).await;
    assert_eq!(untrusted.status.code(), Some(60), "{untrusted:?}");

    // Plain HTTP to the HTTPS port is not answered.
    let plain = curl(&[
        "--output",
        "/dev/null",
        &format!("http://127.0.0.1:{port}/health"),
    ])
    .await;
    assert!(!plain.status.success(), "{plain:?}");
}

#[tokio::test]
async fn the_printed_fingerprint_is_openssls_for_the_certificate_served() {
    let db = support::database().await;
    let backend = Backend::on(db, &["--tls", "on"]).await;
    let served = backend.tls.as_ref().unwrap().fingerprint;
    let connect = format!("127.0.0.1:{}", backend.addr.port());
    let script = format!(
        "openssl s_client -connect {connect} </dev/null 2>/dev/null \
         | openssl x509 -noout -fingerprint -sha256"
    );
    let shown = tokio::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .await
        .unwrap();
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(shown.contains("Fingerprint="), "{shown}");
    assert_eq!(shown.parse::<CertificateFingerprint>(), Ok(served));
    assert_eq!(
        shown.split('=').nth(1).unwrap().trim(),
        served.to_string(),
        "the same spelling as OpenSSL's"
    );
}

#[test]
fn the_cli_prints_the_fingerprint_of_the_certificate_the_server_made() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let fingerprint = || {
        Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["--data-dir", data, "--tls", "on", "tls", "fingerprint"])
            .env("CRM_LOG", "warn")
            .output()
            .unwrap()
    };
    let before = fingerprint();
    assert!(!before.status.success());
    assert!(String::from_utf8_lossy(&before.stderr).contains("no certificate yet"));

    // The server's first start makes it (as `serve` does).
    let config = <sync_server::config::Config as clap::Parser>::parse_from([
        "sync-server",
        "--data-dir",
        data,
        "--tls",
        "on",
    ]);
    let made = sync_server::tls::load(&config.server).unwrap().unwrap();
    let after = fingerprint();
    assert!(after.status.success(), "{after:?}");
    assert_eq!(
        String::from_utf8_lossy(&after.stdout).trim(),
        format!("SHA256 {}", made.fingerprint)
    );
}
