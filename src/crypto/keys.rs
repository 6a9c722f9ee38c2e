//! Master keys, the keyring, and per-record data keys.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{DecodeSliceError, Engine};
use rand::RngCore;
use zeroize::Zeroizing;

use super::{hmac_sha256, open_raw, seal_raw, to_hex, CryptoError, KEY_LEN, MASTER_KEY_ENV};

/// Label hashed with a master key to name it.
const KEY_ID_LABEL: &[u8] = b"varco master key id v1";
/// Associated data of a wrapped data key.
const DATA_KEY_AAD: &[u8] = b"varco data key v1";

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Name of a master key, safe to store and to show: the first 8 bytes of
/// HMAC-SHA256(key, `"varco master key id v1"`) in lower-case hex (16 characters).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The 16 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl PartialEq<str> for KeyId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for KeyId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A master key: 32 random bytes that wrap data keys. Its bytes are wiped when dropped and never
/// shown by `Debug`, which prints only its [`KeyId`].
pub struct MasterKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    id: KeyId,
}

impl MasterKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut key[..]);
        Self::from_secret(key)
    }

    /// Reads the textual form of a key: standard or URL-safe base64 of 32 bytes, padded or not,
    /// surrounding white space ignored. `source` names where the text came from (an environment
    /// variable, a file and line) for the error, which never quotes the text.
    pub fn from_base64(source: &str, text: &str) -> Result<Self, CryptoError> {
        let bad = |reason: &str| CryptoError::BadKey {
            source: source.to_owned(),
            reason: reason.to_owned(),
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("empty; a master key is 32 random bytes in base64 (44 characters)"));
        }
        // Decoded into a wiped buffer larger than a key, so that a wrong length can be told
        // apart from bad base64 without any heap copy of the key.
        let mut buf = Zeroizing::new([0u8; 2 * KEY_LEN]);
        let decoded = match STANDARD_LENIENT.decode_slice(text, &mut buf[..]) {
            Ok(n) => Ok(n),
            Err(first) => URL_SAFE_LENIENT
                .decode_slice(text, &mut buf[..])
                .map_err(|second| (first, second)),
        };
        // The base64 errors are not passed on: they quote the offending character.
        let n = match decoded {
            Ok(n) => n,
            Err((DecodeSliceError::OutputSliceTooSmall, _)) | Err((_, DecodeSliceError::OutputSliceTooSmall)) => {
                return Err(bad("too long; a master key is 32 bytes in base64 (44 characters)"));
            }
            Err(_) => {
                return Err(bad(
                    "not valid base64 (standard or URL-safe alphabet); a master key is 32 random bytes \
                     in base64 (44 characters)",
                ))
            }
        };
        if n != KEY_LEN {
            return Err(CryptoError::BadKey {
                source: source.to_owned(),
                reason: format!("decodes to {n} bytes; a master key is 32 bytes in base64 (44 characters)"),
            });
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&buf[..KEY_LEN]);
        if key.iter().all(|b| *b == 0) {
            return Err(bad("all zeros; generate a random key"));
        }
        Ok(Self::from_secret(key))
    }

    fn from_secret(key: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let mac = hmac_sha256(&key[..], &[KEY_ID_LABEL]);
        let id = KeyId(to_hex(&mac[..8]));
        MasterKey { key, id }
    }

    /// The key's name, safe to store beside what it wraps.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The textual form (standard base64, padded), in a buffer wiped when dropped. For writing key
    /// files and for showing a new key to the operator once; never log it.
    pub fn to_base64(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(48));
        STANDARD.encode_string(&self.key[..], &mut text);
        text
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The current master key, which wraps every new data key, and the previous ones, kept to unwrap
/// data keys until they are rewrapped (`varco key rotate`).
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring of `current` and `previous`. A key listed twice is kept once.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        let mut ring = Keyring {
            current,
            previous: Vec::with_capacity(previous.len()),
        };
        for key in previous {
            if !ring.contains(key.id().as_str()) {
                ring.previous.push(key);
            }
        }
        ring
    }

    /// A keyring from a list whose first key is current; `source` names the list for the error.
    pub(super) fn from_list(source: &str, keys: Vec<MasterKey>) -> Result<Self, CryptoError> {
        let mut keys = keys.into_iter();
        match keys.next() {
            Some(current) => Ok(Keyring::new(current, keys.collect())),
            None => Err(CryptoError::BadKey {
                source: source.to_owned(),
                reason: "holds no key".to_owned(),
            }),
        }
    }

    /// Reads the value of `VARCO_MASTER_KEY`: keys in base64 separated by commas, the first
    /// current. White space around each key and empty entries are ignored.
    pub fn from_env_value(value: &str) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for (i, part) in value.split(',').enumerate() {
            if part.trim().is_empty() {
                continue;
            }
            keys.push(MasterKey::from_base64(
                &format!("{MASTER_KEY_ENV} (entry {})", i + 1),
                part,
            )?);
        }
        Self::from_list(MASTER_KEY_ENV, keys)
    }

    /// A key for `label`'s own use (signing a value the server hands out and must recognise),
    /// derived from the current master key: every instance sharing the keyring derives the same,
    /// and none of them can be turned back into the master key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        super::hmac_sha256(&self.current.key[..], &[b"varco derived key v1\0", label.as_bytes()])
    }

    /// Id of the key that wraps new data keys.
    pub fn current_id(&self) -> &KeyId {
        self.current.id()
    }

    /// Ids of every key held, the current one first.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys().map(|k| k.id().clone()).collect()
    }

    /// Whether the keyring holds the key named `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// The keys held, the current one first.
    pub(super) fn keys(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys().find(|k| k.id() == id)
    }

    /// A new random data key, and the same wrapped under the current master key for storage.
    pub fn new_data_key(&self) -> (DataKey, WrappedKey) {
        let key = DataKey::generate();
        let wrapped = self.wrap(&key);
        (key, wrapped)
    }

    /// `key` wrapped under the current master key.
    pub fn wrap(&self, key: &DataKey) -> WrappedKey {
        WrappedKey {
            master_key_id: self.current.id().clone(),
            bytes: seal_raw(&self.current.key, DATA_KEY_AAD, &key.0[..]),
        }
    }

    /// The data key wrapped in `bytes` under the master key named `master_key_id`.
    ///
    /// Fails with [`CryptoError::UnknownMasterKey`] when the keyring lacks that key, and with
    /// [`CryptoError::Corrupt`] when `bytes` do not authenticate under it.
    pub fn unwrap(&self, master_key_id: &str, bytes: &[u8]) -> Result<DataKey, CryptoError> {
        let master = self
            .get(master_key_id)
            .ok_or_else(|| CryptoError::UnknownMasterKey(master_key_id.to_owned()))?;
        let plain = Zeroizing::new(open_raw(&master.key, DATA_KEY_AAD, bytes)?);
        if plain.len() != KEY_LEN {
            return Err(CryptoError::Corrupt);
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&plain);
        Ok(DataKey(key))
    }

    /// The data key wrapped in `bytes` under `master_key_id`, wrapped again under the current
    /// master key (always with a fresh nonce, even when `master_key_id` is already current).
    pub fn rewrap(&self, master_key_id: &str, bytes: &[u8]) -> Result<WrappedKey, CryptoError> {
        let key = self.unwrap(master_key_id, bytes)?;
        Ok(self.wrap(&key))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", self.current.id())
            .field("previous", &self.previous.iter().map(MasterKey::id).collect::<Vec<_>>())
            .finish()
    }
}

/// A record's data key: 32 random bytes that seal its fields ([`DataKey::seal`]) or key a
/// [`super::BlindIndexer`]. Stored only wrapped ([`WrappedKey`]); destroying the wrapped copy
/// erases everything sealed under it. Wiped when dropped; `Debug` shows nothing of it.
#[derive(Clone)]
pub struct DataKey(pub(super) Zeroizing<[u8; KEY_LEN]>);

impl DataKey {
    fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut key[..]);
        DataKey(key)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A data key encrypted under a master key, as stored: the master key's id and
/// `0x01 || 24-byte nonce || ciphertext || tag` (73 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The master key it is wrapped under.
    pub master_key_id: KeyId,
    /// Version byte, nonce, encrypted key and tag.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("master_key_id", &self.master_key_id)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(MasterKey::generate(), vec![])
    }

    #[test]
    fn wrap_then_unwrap_gives_the_same_data_key() {
        let ring = ring();
        let (key, wrapped) = ring.new_data_key();
        assert_eq!(&wrapped.master_key_id, ring.current_id());
        assert_eq!(wrapped.bytes.len(), 1 + 24 + 32 + 16);
        assert_eq!(wrapped.bytes[0], 0x01);
        let back = ring.unwrap(wrapped.master_key_id.as_str(), &wrapped.bytes).unwrap();
        assert_eq!(*back.0, *key.0);
    }

    #[test]
    fn unwrap_with_an_unknown_master_key_id_is_refused() {
        let (_, wrapped) = ring().new_data_key();
        let other = ring();
        assert_eq!(
            other
                .unwrap(wrapped.master_key_id.as_str(), &wrapped.bytes)
                .unwrap_err(),
            CryptoError::UnknownMasterKey(wrapped.master_key_id.to_string())
        );
    }

    #[test]
    fn unwrap_of_tampered_bytes_or_under_a_lying_id_is_corrupt() {
        let ring = ring();
        let (_, mut wrapped) = ring.new_data_key();
        let last = wrapped.bytes.len() - 1;
        wrapped.bytes[last] ^= 1;
        assert_eq!(
            ring.unwrap(wrapped.master_key_id.as_str(), &wrapped.bytes).unwrap_err(),
            CryptoError::Corrupt
        );

        // Wrapped under a key that is in the ring, but labelled with another key of the ring.
        let old = MasterKey::generate();
        let old_id = old.id().clone();
        let ring = Keyring::new(MasterKey::generate(), vec![old]);
        let (_, wrapped) = ring.new_data_key();
        assert_eq!(
            ring.unwrap(old_id.as_str(), &wrapped.bytes).unwrap_err(),
            CryptoError::Corrupt
        );
    }

    #[test]
    fn rewrapped_key_opens_with_a_keyring_holding_only_the_new_key() {
        let old = MasterKey::generate();
        let old_text = old.to_base64();
        let old_ring = Keyring::new(old, vec![]);
        let (key, wrapped) = old_ring.new_data_key();
        let sealed = key.seal("name", b"Ada");

        let new = MasterKey::generate();
        let new_text = new.to_base64();
        let rotating = Keyring::new(new, vec![MasterKey::from_base64("test", &old_text).unwrap()]);
        let rewrapped = rotating.rewrap(wrapped.master_key_id.as_str(), &wrapped.bytes).unwrap();
        assert_eq!(&rewrapped.master_key_id, rotating.current_id());
        assert_ne!(rewrapped.master_key_id, wrapped.master_key_id);

        let new_only = Keyring::new(MasterKey::from_base64("test", &new_text).unwrap(), vec![]);
        assert_eq!(new_only.ids(), vec![rewrapped.master_key_id.clone()]);
        let back = new_only
            .unwrap(rewrapped.master_key_id.as_str(), &rewrapped.bytes)
            .unwrap();
        assert_eq!(back.open("name", &sealed).unwrap(), b"Ada");
        assert!(matches!(
            new_only.unwrap(wrapped.master_key_id.as_str(), &wrapped.bytes),
            Err(CryptoError::UnknownMasterKey(_))
        ));
    }

    #[test]
    fn key_id_is_stable_for_a_key_and_differs_across_keys() {
        let a = MasterKey::generate();
        let a_again = MasterKey::from_base64("test", &a.to_base64()).unwrap();
        let b = MasterKey::generate();
        assert_eq!(a.id(), a_again.id());
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().as_str().len(), 16);
        assert!(a.id().as_str().chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }

    #[test]
    fn key_id_is_the_truncated_hmac_of_the_label() {
        // Independent computation: HMAC-SHA256 with a 32-byte key of 0x01 bytes, by the
        // definition (key padded to the 64-byte block, inner and outer pads).
        use sha2::{Digest, Sha256};
        let key = [1u8; KEY_LEN];
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for i in 0..KEY_LEN {
            ipad[i] ^= key[i];
            opad[i] ^= key[i];
        }
        let inner = Sha256::new().chain_update(ipad).chain_update(KEY_ID_LABEL).finalize();
        let outer = Sha256::new().chain_update(opad).chain_update(inner).finalize();
        let text = STANDARD.encode(key);
        let master = MasterKey::from_base64("test", &text).unwrap();
        assert_eq!(master.id().as_str(), to_hex(&outer[..8]));
    }

    #[test]
    fn env_value_with_two_keys_makes_the_first_current() {
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        let value = format!(" {} , {},", a.to_base64().as_str(), b.to_base64().as_str());
        let ring = Keyring::from_env_value(&value).unwrap();
        assert_eq!(ring.current_id(), a.id());
        assert_eq!(ring.ids(), vec![a.id().clone(), b.id().clone()]);
        assert!(ring.contains(b.id().as_str()));
        let (_, wrapped) = ring.new_data_key();
        assert_eq!(&wrapped.master_key_id, a.id());
    }

    #[test]
    fn url_safe_and_unpadded_forms_are_accepted() {
        // Bytes chosen so that the standard form holds both '+' and '/'.
        let bytes: [u8; KEY_LEN] = std::array::from_fn(|i| if i % 2 == 0 { 0xfb } else { 0xff });
        let standard = STANDARD.encode(bytes);
        assert!(standard.contains('+') && standard.contains('/') && standard.ends_with('='));
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let a = MasterKey::from_base64("test", &standard).unwrap();
        let b = MasterKey::from_base64("test", &url_safe).unwrap();
        let c = MasterKey::from_base64("test", standard.trim_end_matches('=')).unwrap();
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id(), c.id());
    }

    #[test]
    fn malformed_or_wrong_length_keys_are_refused_without_quoting_them() {
        let short = STANDARD.encode([9u8; 16]);
        let long = STANDARD.encode([9u8; 33]);
        let very_long = STANDARD.encode([9u8; 100]);
        let not_base64 = "Zm9vYmFy!!secretsecret#secretsecretsecret$$$".to_owned();
        let mixed = format!("{}+_", &STANDARD.encode([7u8; 30]));
        for (input, hint) in [
            (short.as_str(), "16 bytes"),
            (long.as_str(), "33 bytes"),
            (very_long.as_str(), "too long"),
            (not_base64.as_str(), "not valid base64"),
            (mixed.as_str(), "not valid base64"),
            ("   ", "empty"),
        ] {
            let err = MasterKey::from_base64("VARCO_MASTER_KEY", input).unwrap_err();
            let text = err.to_string();
            let debug = format!("{err:?}");
            assert!(text.contains("VARCO_MASTER_KEY"), "{text}");
            assert!(text.contains(hint), "{text}");
            if !input.trim().is_empty() {
                assert!(!text.contains(input.trim()) && !debug.contains(input.trim()), "{text}");
                // Nor any telling piece of it.
                assert!(
                    !text.contains(&input.trim()[..8]) && !debug.contains(&input.trim()[..8]),
                    "{text}"
                );
            }
        }
        let zeros = STANDARD.encode([0u8; KEY_LEN]);
        assert!(MasterKey::from_base64("x", &zeros)
            .unwrap_err()
            .to_string()
            .contains("all zeros"));
        let err = Keyring::from_env_value(&format!("{},{short}", MasterKey::generate().to_base64().as_str()));
        let text = err.unwrap_err().to_string();
        assert!(text.contains("entry 2") && !text.contains(&short), "{text}");
        assert!(Keyring::from_env_value(" , ")
            .unwrap_err()
            .to_string()
            .contains("holds no key"));
    }

    #[test]
    fn debug_shows_ids_but_no_key_bytes() {
        let master = MasterKey::generate();
        let text = master.to_base64();
        let id = master.id().clone();
        let ring = Keyring::new(master, vec![MasterKey::generate()]);
        let (key, wrapped) = ring.new_data_key();
        let shown = format!(
            "{ring:?} {key:?} {wrapped:?} {:?}",
            MasterKey::from_base64("t", &text).unwrap()
        );
        assert!(shown.contains(id.as_str()), "{shown}");
        assert!(!shown.contains(text.as_str()), "{shown}");
        assert!(!shown.contains(&text[..12]), "{shown}");
        let data_hex = to_hex(&key.0[..]);
        assert!(!shown.to_lowercase().contains(&data_hex[..12]), "{shown}");
        assert!(!shown.contains(&format!("{:?}", &key.0[..4])), "{shown}");
        assert_eq!(format!("{key:?}"), "DataKey(..)");
    }
}
