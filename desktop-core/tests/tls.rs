//! The app and an HTTPS server (security review M8): a self-signed
//! certificate is trusted only once its user has compared its fingerprint
//! and accepted it; then only that certificate is; plain HTTP goes only to
//! this machine. A real server serving TLS on loopback, real handshakes.
#![allow(clippy::unwrap_used)]

mod support;

use crm_desktop_core::CoreError;
use crm_desktop_core::error::ErrorReport;
use crm_desktop_core::session::Session;
use crm_desktop_core::trust::{Server, ServerTrust, TrustError};
use crm_domain::tls::CertificateFingerprint;
use support::{Backend, Client, PASSWORD, Team, new_customer};

async fn https_backend() -> Backend {
    let backend = Backend::start_with(&["--tls", "on"]).await;
    Team::create(&backend).await;
    assert!(backend.url().starts_with("https://"), "{}", backend.url());
    backend
}

fn pinned(fingerprint: CertificateFingerprint) -> ServerTrust {
    ServerTrust {
        pin: Some(fingerprint),
        allow_plain_http: false,
    }
}

#[tokio::test]
async fn a_self_signed_server_is_trusted_only_once_its_user_accepts_its_fingerprint() {
    let backend = https_backend().await;
    let served = backend.tls.as_ref().unwrap().fingerprint;
    let dir = tempfile::tempdir().unwrap();

    // First contact: refused, with the fingerprint to compare, and nothing
    // kept (the password never went out: the handshake failed first).
    let first = Session::sign_in(dir.path(), &backend.url(), "ben@example.com", PASSWORD).await;
    let error = first.unwrap_err();
    let CoreError::NotTrusted(TrustError::Untrusted { found, .. }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        *found, served,
        "the app shows the certificate the server serves"
    );
    let report = ErrorReport::from(&error);
    assert_eq!(report.code, "untrusted_certificate");
    assert_eq!(report.offered_certificate, Some(served.to_string()));
    assert!(!dir.path().join("session.json").exists());

    // Accepted: pinned, signed in, and work syncs over HTTPS.
    let server = Server::new(backend.url(), pinned(*found));
    let session = Session::sign_in(dir.path(), server, "ben@example.com", PASSWORD)
        .await
        .unwrap();
    let mut ben = Client::open(session, dir.path().to_path_buf());
    ben.start_sync();
    let customer = ben.with(|s| s.create_customer(new_customer("Harbour Hardware")).unwrap());
    ben.synced().await;
    let name: String = sqlx::query_scalar("SELECT name FROM public.customers WHERE id = $1")
        .bind(customer.id)
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(name, "Harbour Hardware");
    ben.stop_sync().await;
    drop(ben);

    // The next start keeps the pin: a fresh access token, and a sync, over
    // the same certificate.
    let mut again = Client::resume(dir.path().to_path_buf());
    again.session.invalidate_access().await;
    again.start_sync();
    again.with(|s| s.create_customer(new_customer("Quay Quarry")).unwrap());
    again.synced().await;
    again.stop_sync().await;
}

#[tokio::test]
async fn a_certificate_other_than_the_pinned_one_is_refused_as_changed() {
    let backend = https_backend().await;
    let served = backend.tls.as_ref().unwrap().fingerprint;
    let dir = tempfile::tempdir().unwrap();
    let expected = CertificateFingerprint::of_der(b"the certificate the user accepted before");
    let server = Server::new(backend.url(), pinned(expected));
    let error = Session::sign_in(dir.path(), server, "ben@example.com", PASSWORD)
        .await
        .unwrap_err();
    match &error {
        CoreError::NotTrusted(TrustError::Changed {
            expected: was,
            found,
        }) => {
            assert_eq!(*was, expected);
            assert_eq!(*found, served);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ErrorReport::from(&error).code, "certificate_changed");
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused_unless_its_user_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    // TEST-NET-1: nothing answers there; the refusal comes before any try.
    let remote = "http://192.0.2.1:8740";
    let error = Session::sign_in(dir.path(), remote, "ben@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CoreError::NotTrusted(TrustError::PlainHttp { .. })),
        "{error:?}"
    );
    assert_eq!(ErrorReport::from(&error).code, "insecure_server");

    // Allowed: the app tries (and finds no one there).
    let allowed = Server::new(
        remote,
        ServerTrust {
            pin: None,
            allow_plain_http: true,
        },
    );
    let error = Session::sign_in(dir.path(), allowed, "ben@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(error, CoreError::Remote(_)), "{error:?}");
}
