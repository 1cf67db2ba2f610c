//! Access and refresh tokens. Access tokens are short-lived JWTs (HS256)
//! whose claims PostgreSQL reads through `auth.uid()`; refresh tokens are
//! opaque random strings, stored only as SHA-256 hashes, rotated on every
//! use (see `store` for the family rules).
//!
//! Signing keys rotate (security review L8): every access token names its
//! key (`kid`, a hash of it, never the key); the server signs with the
//! current key and still accepts the previous ones it is given, so an
//! operator rotates without signing anyone out: the new secret in, the old
//! one kept as previous for an access token's lifetime, then dropped
//! (`sync-server jwt rotate` does it for a generated secret).

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
const PREVIOUS_SECRET_FILE: &str = "jwt-secret.previous";
const MIN_SECRET_BYTES: usize = 32;
/// The least entropy a signing secret may have, estimated from how its
/// characters repeat: what 22 random base64 characters carry.
const MIN_SECRET_BITS: f64 = 128.0;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the JWT secret must be at least {MIN_SECRET_BYTES} bytes")]
    SecretTooShort,
    #[error(
        "the JWT secret is too predictable (about {0:.0} bits; at least 128): use a random one, e.g. `openssl rand -base64 48`"
    )]
    SecretTooPredictable(f64),
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
    /// The current key's id, in every token it signs.
    kid: String,
    /// Every key accepted, by id: the current one and the previous ones.
    decoding: Vec<(String, DecodingKey)>,
    validation: Validation,
    access_ttl: Duration,
}

/// A key's id: a hash of it (the key cannot be learnt from it).
fn key_id(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"crm jwt key id\0")
        .chain_update(secret)
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Bits of entropy in `secret`, estimated from how often each byte value
/// appears in it (Shannon's measure times its length): low for repeated
/// or patterned text, about 6 bits per character for random base64.
fn estimated_bits(secret: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &b in secret {
        counts[usize::from(b)] += 1;
    }
    let n = secret.len() as f64;
    let per_byte: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_byte * n
}

fn check_secret(secret: &[u8]) -> Result<(), TokenError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(TokenError::SecretTooShort);
    }
    let bits = estimated_bits(secret);
    if bits < MIN_SECRET_BITS {
        return Err(TokenError::SecretTooPredictable(bits));
    }
    Ok(())
}

impl TokenKeys {
    /// Signs with `secret`; also accepts tokens signed with `previous`.
    pub fn new(secret: &[u8], access_ttl: Duration) -> Result<Self, TokenError> {
        Self::rotated(secret, &[], access_ttl)
    }

    /// Signs with `secret`; also accepts tokens signed with any of
    /// `previous` (a rotation in progress).
    pub fn rotated(
        secret: &[u8],
        previous: &[Vec<u8>],
        access_ttl: Duration,
    ) -> Result<Self, TokenError> {
        check_secret(secret)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        let decoding = std::iter::once(secret)
            .chain(previous.iter().map(Vec::as_slice))
            .map(|key| (key_id(key), DecodingKey::from_secret(key)))
            .collect();
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            kid: key_id(secret),
            decoding,
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, Rejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Invalid)?;
        // The key the token names; a token without a name (from before
        // keys had them) can only be the current key's.
        let key = match header.kid.as_deref() {
            Some(kid) => self.decoding.iter().find(|(id, _)| id == kid),
            None => self.decoding.first(),
        };
        let Some((_, key)) = key else {
            return Err(Rejection::Invalid);
        };
        match jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation) {
            Ok(data) if data.claims.role == "authenticated" => Ok(data.claims),
            Ok(_) => Err(Rejection::Invalid),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(Rejection::Expired)
            }
            Err(_) => Err(Rejection::Invalid),
        }
    }
}

/// The keys tokens may have been signed with besides the current one: the
/// configured previous secrets, or (with a generated secret) the one
/// `sync-server jwt rotate` kept, for `for_how_long` after the rotation
/// only (an access token's lifetime: a key rotated out because it leaked
/// must not go on minting tokens).
pub fn previous_secrets(
    configured_secret: Option<&str>,
    configured_previous: &[String],
    data_dir: &Path,
    for_how_long: Duration,
) -> Vec<Vec<u8>> {
    if configured_secret.is_some() {
        return configured_previous
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
    }
    let path = data_dir.join(PREVIOUS_SECRET_FILE);
    let recent = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| at.elapsed().ok())
        .is_some_and(|age| age <= for_how_long);
    if !recent {
        return Vec::new();
    }
    std::fs::read_to_string(path)
        .map(|s| vec![s.trim().as_bytes().to_vec()])
        .unwrap_or_default()
}

/// Rotates the generated secret in `data_dir`: a new one signs from the
/// next start, the old one is kept as previous (tokens it signed stay
/// valid until they expire). A previous one before it is dropped.
pub fn rotate_generated_secret(data_dir: &Path) -> Result<(), TokenError> {
    let file = data_dir.join(SECRET_FILE);
    let previous = data_dir.join(PREVIOUS_SECRET_FILE);
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| TokenError::SecretFile { path, source }
    };
    if file.exists() {
        // Written anew (not renamed), so its time is the rotation's.
        let old = std::fs::read_to_string(&file).map_err(io(&file))?;
        let _ = std::fs::remove_file(&previous);
        crate::secrets::write_new(&previous, old.trim().as_bytes(), 0o600)
            .map_err(io(&previous))?;
        std::fs::remove_file(&file).map_err(io(&file))?;
    }
    crate::secrets::load_or_create(&file, "JWT signing secret").map_err(|e| {
        TokenError::SecretFile {
            path: e.path.display().to_string(),
            source: e.source,
        }
    })?;
    Ok(())
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

    /// Random-looking test keys (a key of one repeated byte is refused).
    const KEY: &[u8; 32] = b"k8Jd02nXq9vLw3ZpT7yRb5cFh1mGs4Ue";
    const OTHER_KEY: &[u8; 32] = b"Qw7eRt9yUi0oPa2sDf4gHj6kLz8xCv1b";

    fn keys(ttl: Duration) -> TokenKeys {
        TokenKeys::new(KEY, ttl).unwrap()
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
        let other = TokenKeys::new(OTHER_KEY, Duration::from_secs(60)).unwrap();
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
    fn a_token_names_its_key_and_stays_valid_through_a_rotation() {
        let old = *KEY;
        let new = *OTHER_KEY;
        let before = keys(Duration::from_secs(60));
        let token = before.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
        assert_eq!(kid, key_id(&old));
        assert!(!kid.contains("k8Jd"), "the id is a hash, not the key");
        // Rotated: the new key signs, the old one's tokens still verify.
        let during = TokenKeys::rotated(&new, &[old.to_vec()], Duration::from_secs(60)).unwrap();
        assert!(during.verify(&token).is_ok());
        let fresh = during.issue(Uuid::now_v7(), Uuid::now_v7()).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&fresh).unwrap().kid.unwrap(),
            key_id(&new)
        );
        // The old key dropped: its tokens are invalid.
        let after = TokenKeys::new(&new, Duration::from_secs(60)).unwrap();
        assert_eq!(after.verify(&token).unwrap_err(), Rejection::Invalid);
        assert!(after.verify(&fresh).is_ok());
    }

    #[test]
    fn a_predictable_secret_is_refused_and_a_random_one_taken() {
        for weak in [
            "a".repeat(64),
            "abcabcabcabcabcabcabcabcabcabcabcabc".to_owned(),
            "0101010101010101010101010101010101010101".to_owned(),
        ] {
            assert!(
                matches!(
                    TokenKeys::new(weak.as_bytes(), Duration::from_secs(1)),
                    Err(TokenError::SecretTooPredictable(_))
                ),
                "{weak}"
            );
        }
        let random = URL_SAFE_NO_PAD.encode(random_bytes::<48>());
        assert!(TokenKeys::new(random.as_bytes(), Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn rotating_a_generated_secret_keeps_the_old_one_as_previous() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_secret(None, dir.path()).unwrap();
        let lifetime = Duration::from_secs(900);
        assert!(previous_secrets(None, &[], dir.path(), lifetime).is_empty());
        rotate_generated_secret(dir.path()).unwrap();
        let second = load_or_create_secret(None, dir.path()).unwrap();
        assert_ne!(first, second);
        assert_eq!(
            previous_secrets(None, &[], dir.path(), lifetime),
            vec![first]
        );
        // Past an access token's lifetime, the old key is no longer taken.
        assert!(previous_secrets(None, &[], dir.path(), Duration::ZERO).is_empty());
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
            &EncodingKey::from_secret(KEY),
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
