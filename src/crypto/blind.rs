//! Blind indexes: keyed digests of normalised values, to find records by an encrypted field.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Binary;
use zeroize::Zeroizing;

use super::{hmac_sha256, to_hex, DataKey, KEY_LEN};

/// Computes [`BlindIndex`]es: the first 16 bytes of HMAC-SHA256(key, purpose || 0x00 || value).
///
/// Equal inputs give equal indexes, so a query can match on the index column without decrypting
/// anything; different purposes (`"surname"`, `"surname-phonetic"`, `"birth-date"`, …) give
/// unrelated indexes, so one column's values cannot be compared with another's.
///
/// **Normalisation is the caller's job**: the indexer hashes exactly the text it is given. Case
/// folding, trimming, transliteration of other scripts and phonetic codes must be applied before
/// [`BlindIndexer::index`], the same way when storing and when searching, and each normalisation
/// deserves its own purpose.
///
/// **The indexer key is itself a data key** (from [`super::Keyring::new_data_key`]), one for the
/// whole deployment, stored wrapped like any other: rotating the master key only rewraps it, and
/// the indexes already stored stay valid. Use it for indexing only, never to seal fields.
///
/// Purposes are fixed names chosen by the code and must not contain a NUL byte (the separator).
pub struct BlindIndexer {
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl BlindIndexer {
    /// An indexer keyed by `key` (a copy is kept, wiped when dropped).
    pub fn new(key: &DataKey) -> Self {
        BlindIndexer { key: key.0.clone() }
    }

    /// The index of the already-normalised `normalised` for `purpose`.
    pub fn index(&self, purpose: &str, normalised: &str) -> BlindIndex {
        debug_assert!(!purpose.contains('\0'), "a blind index purpose must not contain NUL");
        let mac = hmac_sha256(&self.key[..], &[purpose.as_bytes(), &[0u8], normalised.as_bytes()]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&mac[..16]);
        BlindIndex(out)
    }
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexer(..)")
    }
}

/// A blind index as stored: 16 bytes, a `BLOB`/`BYTEA` column (SQL type `Binary`). Shown (by
/// `Display` and `Debug`) in lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Binary)]
pub struct BlindIndex(pub [u8; 16]);

impl BlindIndex {
    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// An index from stored bytes, if there are exactly 16 of them.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 16]>::try_from(bytes).ok().map(BlindIndex)
    }
}

impl fmt::Display for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({self})")
    }
}

impl<DB> ToSql<Binary, DB> for BlindIndex
where
    DB: Backend,
    [u8]: ToSql<Binary, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <[u8] as ToSql<Binary, DB>>::to_sql(&self.0[..], out)
    }
}

impl<DB> FromSql<Binary, DB> for BlindIndex
where
    DB: Backend,
    Vec<u8>: FromSql<Binary, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let bytes = <Vec<u8> as FromSql<Binary, DB>>::from_sql(bytes)?;
        BlindIndex::from_slice(&bytes)
            .ok_or_else(|| format!("a blind index is 16 bytes, the database holds {}", bytes.len()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Keyring, MasterKey};
    use super::*;

    fn indexer() -> (BlindIndexer, DataKey) {
        let (key, _) = Keyring::new(MasterKey::generate(), vec![]).new_data_key();
        (BlindIndexer::new(&key), key)
    }

    #[test]
    fn same_key_purpose_and_value_give_the_same_index() {
        let (a, key) = indexer();
        let b = BlindIndexer::new(&key);
        assert_eq!(a.index("surname", "okafor"), b.index("surname", "okafor"));
        assert_ne!(a.index("surname", "okafor"), a.index("surname", "okafo"));
    }

    #[test]
    fn different_purposes_or_keys_give_different_indexes() {
        let (a, _) = indexer();
        let (other, _) = indexer();
        assert_ne!(a.index("surname", "okafor"), a.index("given-name", "okafor"));
        assert_ne!(a.index("surname", "okafor"), other.index("surname", "okafor"));
        // The separator keeps purpose and value apart.
        assert_ne!(a.index("ab", "c"), a.index("a", "bc"));
    }

    #[test]
    fn index_is_the_truncated_hmac_of_purpose_nul_value() {
        let (a, key) = indexer();
        let mac = hmac_sha256(&key.0[..], &[b"surname\0okafor"]);
        assert_eq!(a.index("surname", "okafor").as_bytes()[..], mac[..16]);
    }

    #[test]
    fn index_shows_as_32_hex_characters_and_reads_back() {
        let (a, _) = indexer();
        let index = a.index("surname", "okafor");
        let shown = index.to_string();
        assert_eq!(shown.len(), 32);
        assert!(shown.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(BlindIndex::from_slice(index.as_bytes()), Some(index));
        assert_eq!(BlindIndex::from_slice(&[0u8; 15]), None);
        assert_eq!(format!("{a:?}"), "BlindIndexer(..)");
    }
}
