//! Access and refresh tokens. Access tokens are short-lived JWTs (HS256)
//! whose claims PostgreSQL reads through `auth.uid()`; refresh tokens are
//! opaque random strings, stored only as SHA-256 hashes, rotated on every
//! use (see `store` for the family rules).

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const ISSUER: &str = "crm-sync-server";
const AUDIENCE: &str = "crm";
const SECRET_FILE: &str = "jwt-secret";
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the JWT secret must be at least {MIN_SECRET_BYTES} bytes")]
    SecretTooShort,
    #[error("JWT secret file {path}: {source}")]
    SecretFile {
        path: String,
        source: std::io::Error,
    },
    #[error("signing a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Why a presented access token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Expired,
    Invalid,
}

/// The claims of an access token. `role` is always `authenticated`: the
/// app-level role (agent/admin) lives in `profiles` and takes effect at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub role: String,
    /// The sign-in (refresh token family) this token belongs to.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(TokenError::SecretTooShort);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
        })
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    pub fn issue(&self, user: Uuid, session: Uuid) -> Result<String, TokenError> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user,
            role: "authenticated".into(),
            sid: session,
            iat: now,
            exp: now + i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, Rejection> {
        match jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.role == "authenticated" => Ok(data.claims),
            Ok(_) => Err(Rejection::Invalid),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(Rejection::Expired)
            }
            Err(_) => Err(Rejection::Invalid),
        }
    }
}

/// The configured secret, or the one kept in `data_dir`, generated there on
/// first start and readable by its owner only.
pub fn load_or_create_secret(
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<Vec<u8>, TokenError> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    let secret = crate::secrets::load_or_create(&data_dir.join(SECRET_FILE), "JWT signing secret")
        .map_err(|e| TokenError::SecretFile {
            path: e.path.display().to_string(),
            source: e.source,
        })?;
    Ok(secret.into_bytes())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A new refresh token: what the client keeps, and the hash the server keeps.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn keys(ttl: Duration) -> TokenKeys {
        TokenKeys::new(&[7u8; 32], ttl).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let keys = keys(Duration::from_secs(60));
        let claims = keys.verify(&keys.issue(user, session).unwrap()).unwrap();
        assert_eq!(
            (claims.sub, claims.sid, claims.role.as_str()),
            (user, session, "authenticated")
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(60)).unwrap();
        let token = other.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        assert_eq!(
            keys(Duration::from_secs(60)).verify(&token).unwrap_err(),
            Rejection::Invalid
        );
        assert_eq!(
            keys(Duration::from_secs(60))
                .verify("not.a.jwt")
                .unwrap_err(),
            Rejection::Invalid
        );
    }

    #[test]
    fn an_expired_token_says_so() {
        let keys = keys(Duration::from_secs(0));
        let token = keys.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        // Beyond the 5 s leeway.
        let mut claims = keys.verify(&token).unwrap();
        claims.exp -= 60;
        let stale = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert_eq!(keys.verify(&stale).unwrap_err(), Rejection::Expired);
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            TokenKeys::new(b"short", Duration::from_secs(1)),
            Err(TokenError::SecretTooShort)
        ));
    }

    #[test]
    fn the_generated_secret_is_kept_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("crm-secret-{}", Uuid::now_v7()));
        let first = load_or_create_secret(None, &dir).unwrap();
        let mode = std::fs::metadata(dir.join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(first.len() >= MIN_SECRET_BYTES);
        assert_eq!(load_or_create_secret(None, &dir).unwrap(), first);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_a, hash_refresh_token(&a));
        assert_eq!(hash_a.len(), 32);
    }
}
