//! Encryption at rest of personal fields, with crypto-shredding.
//!
//! Three layers:
//! - a **master key** ([`MasterKey`], 32 bytes) held outside the database: in `VARCO_MASTER_KEY`
//!   or in a key file (see [`keyfile`]). A [`Keyring`] holds the current master key and the
//!   previous ones kept during a rotation. Only its [`KeyId`] is ever stored in the database;
//! - a **data key** per record ([`DataKey`], 32 random bytes) stored wrapped ([`WrappedKey`]) under
//!   the current master key. Destroying a record's wrapped data key makes every field sealed under
//!   it unreadable for good in the live database (crypto-shredding); a backup taken earlier still
//!   holds the wrapped key, and is put beyond use by retiring the master key it was taken under
//!   (`varco key rotate`, see `docs/data-protection.md`);
//! - **sealed fields** ([`Sealed`]): XChaCha20-Poly1305 under the record's data key, bound to the
//!   field name, stored as a `BLOB` (SQLite) or `BYTEA` (PostgreSQL).
//!
//! [`BlindIndexer`] gives deterministic keyed digests ([`BlindIndex`]) of normalised values, to find
//! records by an encrypted field without decrypting every row.
//!
//! Wire layout of a wrapped key and of a sealed field: one version byte (`0x01`), the 24-byte random
//! nonce, then ciphertext and 16-byte tag. The associated data differs (`varco data key v1` for
//! wrapped keys, `varco field v1:<field name>` for fields), so neither can pass for the other.

mod blind;
pub mod holder;
pub mod keyfile;
mod keys;
pub mod ledger;
pub mod match_index;
mod sealed;
pub mod store;

pub use blind::{BlindIndex, BlindIndexer};
pub use holder::KeyHolder;
pub use keyfile::{KeyConfig, KeySource};
pub use keys::{DataKey, KeyId, Keyring, MasterKey, WrappedKey};
pub use sealed::Sealed;

use std::fmt;
use std::path::PathBuf;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Environment variable holding the master keys (base64, comma-separated, current first).
pub const MASTER_KEY_ENV: &str = "VARCO_MASTER_KEY";
/// Environment variable naming the master key file.
pub const MASTER_KEY_FILE_ENV: &str = "VARCO_MASTER_KEY_FILE";

/// Length in bytes of master keys and data keys.
pub const KEY_LEN: usize = 32;

/// Every failure of the crypto module. No variant ever carries key material or plaintext.
///
/// The Varco crate maps it into its error type with `impl From<CryptoError> for AppError` (written
/// there, not here): `Corrupt` and `UnknownMasterKey` met while serving a request are 500s (logged,
/// never shown); the others arise at start-up or on the command line and are printed as they are.
///
/// `Display` and `Error` are written by hand rather than derived with `thiserror`: `thiserror`
/// takes any field named `source` for the error's cause, which `BadKey::source` (a place, not a
/// cause) is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// A wrapped key names a master key that the keyring does not hold.
    UnknownMasterKey(String),
    /// Authentication failed, or the value is malformed (wrong version, too short, bad UTF-8).
    Corrupt,
    /// A master key that cannot be used: `source` names where it came from (the environment
    /// variable, a file and line), `reason` says what is wrong. Neither ever quotes the key.
    BadKey { source: String, reason: String },
    /// A key file or its folder could not be read or written.
    Io { path: PathBuf, message: String },
    /// No master key is configured; the text says how to configure one.
    NoKey(String),
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::UnknownMasterKey(id) => write!(
                f,
                "no master key with id {id} in the keyring: add that key (for instance a retired one) \
                 to {MASTER_KEY_ENV} or to the key file"
            ),
            CryptoError::Corrupt => f.write_str("encrypted value failed authentication or is malformed"),
            CryptoError::BadKey { source, reason } => write!(f, "bad master key in {source}: {reason}"),
            CryptoError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            CryptoError::NoKey(how) => write!(f, "no master key: {how}"),
        }
    }
}

impl std::error::Error for CryptoError {}

impl From<CryptoError> for crate::error::AppError {
    /// Met while serving: a 500, logged, never shown (the message names no key or value).
    fn from(e: CryptoError) -> Self {
        crate::error::AppError::Internal(format!("crypto: {e}"))
    }
}

/// The keyring configured by `settings`: `VARCO_MASTER_KEY`, else `VARCO_MASTER_KEY_FILE`, else
/// `master.key` in the data folder. A missing key file is generated only when `may_generate`
/// (the database holds nothing sealed yet).
pub fn keyring_for(
    settings: &crate::config::Settings,
    may_generate: bool,
) -> Result<(Keyring, KeySource), CryptoError> {
    let configured = settings.master_key_file.as_ref().map(PathBuf::from);
    // A configured file that does not exist yet is where the first key goes, as the default
    // file would be.
    let (file, default_file) = match configured {
        Some(path) if may_generate && !path.exists() => (None, path),
        other => (other, settings.data_dir().join("master.key")),
    };
    Keyring::load(&KeyConfig {
        env_value: settings.master_key.as_ref().map(|s| s.0.clone()),
        file,
        default_file,
        may_generate,
    })
}

/// Version byte of the wrapped key and sealed field layouts.
const VERSION: u8 = 0x01;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// Encrypts `plaintext` under `key` with a fresh random nonce: `VERSION || nonce || ct || tag`.
fn seal_raw(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    // Encryption fails only past about 256 GiB of plaintext, which no field comes near.
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
        .expect("XChaCha20-Poly1305 encrypts anything under 256 GiB");
    let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Reverses [`seal_raw`]; any malformation or authentication failure is [`CryptoError::Corrupt`].
fn open_raw(key: &[u8; KEY_LEN], aad: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if data.len() < HEADER_LEN + TAG_LEN || data[0] != VERSION {
        return Err(CryptoError::Corrupt);
    }
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt(
            XNonce::from_slice(&data[1..HEADER_LEN]),
            Payload {
                msg: &data[HEADER_LEN..],
                aad,
            },
        )
        .map_err(|_| CryptoError::Corrupt)
}

/// HMAC-SHA256 under `key` of the concatenation of `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Lower-case hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_layout_is_version_nonce_ciphertext_tag() {
        let key = [7u8; KEY_LEN];
        let sealed = seal_raw(&key, b"aad", b"hello");
        assert_eq!(sealed[0], VERSION);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(open_raw(&key, b"aad", &sealed).unwrap(), b"hello");
    }

    #[test]
    fn raw_open_rejects_other_version_short_input_and_other_aad() {
        let key = [7u8; KEY_LEN];
        let mut sealed = seal_raw(&key, b"aad", b"hello");
        assert_eq!(open_raw(&key, b"other", &sealed), Err(CryptoError::Corrupt));
        assert_eq!(
            open_raw(&key, b"aad", &sealed[..HEADER_LEN + TAG_LEN - 1]),
            Err(CryptoError::Corrupt)
        );
        sealed[0] = 0x02;
        assert_eq!(open_raw(&key, b"aad", &sealed), Err(CryptoError::Corrupt));
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        let key = [7u8; KEY_LEN];
        assert_ne!(seal_raw(&key, b"a", b"same"), seal_raw(&key, b"a", b"same"));
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(to_hex(&[0x00, 0xab, 0x1f]), "00ab1f");
    }
}
