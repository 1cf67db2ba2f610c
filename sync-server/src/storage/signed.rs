//! Signed URLs: a link to one stored object, for one method, until a time,
//! that works without a bearer token, so the operating system (a PDF
//! viewer, a browser) can open an attachment the app hands it.
//!
//! The link names the user who asked for it, and the request it allows
//! runs as that user: PostgreSQL's storage policies decide again when the
//! link is used, so a link outlives neither the user's access to the
//! ticket nor the attachment. The signature (HMAC-SHA256 with a key
//! derived from the server's secret, so every process behind a load
//! balancer checks every other's links) covers the method, the object's
//! path, the expiry and the user; change any of them and it fails.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

fn keyed(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// Mints and checks signed URLs.
pub struct UrlSigner {
    key: Vec<u8>,
}

/// Why a signed URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("this link has expired; ask the app for a new one")]
    Expired,
    #[error("this link is not valid for this file and method")]
    BadSignature,
}

/// The query parameters of a signed URL.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LinkParams {
    pub expires: i64,
    pub user: Uuid,
    pub signature: String,
}

impl UrlSigner {
    /// A signer keyed from the server's secret (the JWT secret), under a
    /// label of its own: a link signature is never a token signature.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut mac = keyed(secret);
        mac.update(b"crm storage links v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, method: &str, object: &str, expires: i64, user: Uuid) -> HmacSha256 {
        let mut mac = keyed(&self.key);
        // Fields separated by a byte no field may contain (object names
        // have no control characters).
        mac.update(format!("{method}\n{object}\n{expires}\n{user}").as_bytes());
        mac
    }

    /// The query string (`expires=...&user=...&signature=...`) that lets
    /// `user` make a `method` request on `object` (`bucket/ticket/name`)
    /// until `expires` (Unix seconds).
    pub fn sign(&self, method: &str, object: &str, expires: i64, user: Uuid) -> String {
        let signature = URL_SAFE_NO_PAD.encode(
            self.mac(method, object, expires, user)
                .finalize()
                .into_bytes(),
        );
        format!("expires={expires}&user={user}&signature={signature}")
    }

    /// The user a link acts for, if it is valid for this request now.
    pub fn verify(
        &self,
        method: &str,
        object: &str,
        params: &LinkParams,
        now: i64,
    ) -> Result<Uuid, LinkRefusal> {
        let signature = URL_SAFE_NO_PAD
            .decode(params.signature.as_bytes())
            .map_err(|_| LinkRefusal::BadSignature)?;
        // Constant-time comparison.
        self.mac(method, object, params.expires, params.user)
            .verify_slice(&signature)
            .map_err(|_| LinkRefusal::BadSignature)?;
        if now >= params.expires {
            return Err(LinkRefusal::Expired);
        }
        Ok(params.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> LinkParams {
        let mut expires = 0;
        let mut user = Uuid::nil();
        let mut signature = String::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            match k {
                "expires" => expires = v.parse().unwrap(),
                "user" => user = v.parse().unwrap(),
                _ => signature = v.to_owned(),
            }
        }
        LinkParams {
            expires,
            user,
            signature,
        }
    }

    #[test]
    fn a_link_works_for_its_object_method_and_user_until_it_expires() {
        let signer = UrlSigner::from_secret(b"a secret long enough for the test's purposes");
        let user = Uuid::from_u128(1);
        let object = "ticket-attachments/t/report.pdf";
        let link = params(&signer.sign("GET", object, 1_000, user));
        assert_eq!(signer.verify("GET", object, &link, 999), Ok(user));
        assert_eq!(
            signer.verify("GET", object, &link, 1_000),
            Err(LinkRefusal::Expired)
        );
        assert_eq!(
            signer.verify("DELETE", object, &link, 999),
            Err(LinkRefusal::BadSignature)
        );
        assert_eq!(
            signer.verify("GET", "ticket-attachments/t/other.pdf", &link, 999),
            Err(LinkRefusal::BadSignature)
        );
        let mut other_user = link.clone();
        other_user.user = Uuid::from_u128(2);
        assert_eq!(
            signer.verify("GET", object, &other_user, 999),
            Err(LinkRefusal::BadSignature)
        );
        let mut later = link.clone();
        later.expires += 3600;
        assert_eq!(
            signer.verify("GET", object, &later, 999),
            Err(LinkRefusal::BadSignature)
        );
        let forged = UrlSigner::from_secret(b"another secret, also long enough for it");
        let forged = params(&forged.sign("GET", object, 1_000, user));
        assert_eq!(
            signer.verify("GET", object, &forged, 999),
            Err(LinkRefusal::BadSignature)
        );
    }
}
