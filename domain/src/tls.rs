//! A server certificate's fingerprint: how an operator and a user compare a
//! self-signed certificate by eye, and how the app pins one. The server
//! prints it (`sync-server tls fingerprint`); the app shows the one it was
//! offered and keeps the one its user trusted.
//!
//! The form is OpenSSL's (`openssl x509 -fingerprint -sha256`): SHA-256 of
//! the certificate's DER bytes, as 32 upper-case hex pairs joined by colons.
//! Parsing also takes lower case, no colons, spaces, and a `SHA256:` prefix,
//! since people paste it from wherever the admin wrote it.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// SHA-256 of a certificate's DER encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertificateFingerprint([u8; 32]);

impl CertificateFingerprint {
    /// The fingerprint of the certificate `der` (its DER bytes).
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CertificateFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a certificate fingerprint is 64 hexadecimal digits (SHA-256), as `sync-server tls fingerprint` prints it"
)]
pub struct FingerprintError;

impl FromStr for CertificateFingerprint {
    type Err = FingerprintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // OpenSSL writes `sha256 Fingerprint=AB:..` (`SHA256` before 3.0).
        let text = text.rsplit('=').next().unwrap_or(text).trim();
        let text = match text.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => &text[7..],
            _ => text,
        };
        let digits: Vec<u8> = text
            .bytes()
            .filter(|b| !matches!(b, b':' | b' ' | b'-'))
            .collect();
        if digits.len() != 64 {
            return Err(FingerprintError);
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or(FingerprintError)?;
            let low = hex_value(pair[1]).ok_or(FingerprintError)?;
            *byte = high << 4 | low;
        }
        Ok(Self(bytes))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl serde::Serialize for CertificateFingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CertificateFingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_prints_as_openssl_does_and_reads_back_from_any_common_spelling() {
        let fingerprint = CertificateFingerprint::of_der(b"not really a certificate");
        let shown = fingerprint.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert!(
            shown
                .chars()
                .all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        for spelling in [
            shown.clone(),
            shown.to_lowercase(),
            shown.replace(':', ""),
            shown.replace(':', " "),
            format!("SHA256:{shown}"),
            format!("SHA256 Fingerprint={shown}"),
            format!("sha256 Fingerprint={shown}\n"),
            format!("  {shown}\n"),
        ] {
            assert_eq!(
                spelling.parse::<CertificateFingerprint>(),
                Ok(fingerprint),
                "{spelling}"
            );
        }
    }

    #[test]
    fn anything_but_32_hex_pairs_is_not_a_fingerprint() {
        let shown = CertificateFingerprint::of_der(b"x").to_string();
        for bad in [
            "",
            "AB:CD",
            &shown[..shown.len() - 3],
            &format!("{shown}:00"),
            &format!("G{}", &shown[1..]),
        ] {
            assert!(bad.parse::<CertificateFingerprint>().is_err(), "{bad}");
        }
    }
}
