//! Sealed fields: a personal value encrypted under its record's data key, bound to its field name.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Binary;

use super::{open_raw, seal_raw, CryptoError, DataKey};

/// Prefix of the associated data of a sealed field; the field name follows.
const FIELD_AAD_PREFIX: &[u8] = b"varco field v1:";

/// An encrypted field as stored: `0x01 || 24-byte nonce || ciphertext || tag`, a `BLOB` in SQLite
/// and a `BYTEA` in PostgreSQL (SQL type `Binary`, or `Nullable<Binary>` as `Option<Sealed>`).
///
/// `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Binary)]
pub struct Sealed(Vec<u8>);

impl Sealed {
    /// Wraps stored bytes; they are checked when opened.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Sealed(bytes)
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes to store, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

fn field_aad(field: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(FIELD_AAD_PREFIX.len() + field.len());
    aad.extend_from_slice(FIELD_AAD_PREFIX);
    aad.extend_from_slice(field.as_bytes());
    aad
}

impl DataKey {
    /// Encrypts `plaintext` as the value of `field` (a stable name such as `person.name`: the
    /// same name must be given to [`DataKey::open`]). Each call draws a fresh random nonce, so
    /// equal values give different ciphertexts.
    pub fn seal(&self, field: &str, plaintext: &[u8]) -> Sealed {
        Sealed(seal_raw(&self.0, &field_aad(field), plaintext))
    }

    /// Decrypts a value sealed by [`DataKey::seal`] under this key and this field name; anything
    /// else (another record's key, another field, altered bytes) is [`CryptoError::Corrupt`].
    pub fn open(&self, field: &str, sealed: &Sealed) -> Result<Vec<u8>, CryptoError> {
        open_raw(&self.0, &field_aad(field), &sealed.0)
    }

    /// [`DataKey::seal`] of a text.
    pub fn seal_str(&self, field: &str, plaintext: &str) -> Sealed {
        self.seal(field, plaintext.as_bytes())
    }

    /// [`DataKey::open`] of a text; bytes that are not UTF-8 are [`CryptoError::Corrupt`].
    pub fn open_str(&self, field: &str, sealed: &Sealed) -> Result<String, CryptoError> {
        String::from_utf8(self.open(field, sealed)?).map_err(|_| CryptoError::Corrupt)
    }
}

impl<DB> ToSql<Binary, DB> for Sealed
where
    DB: Backend,
    [u8]: ToSql<Binary, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <[u8] as ToSql<Binary, DB>>::to_sql(self.0.as_slice(), out)
    }
}

impl<DB> FromSql<Binary, DB> for Sealed
where
    DB: Backend,
    Vec<u8>: FromSql<Binary, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <Vec<u8> as FromSql<Binary, DB>>::from_sql(bytes).map(Sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BlindIndex, BlindIndexer, Keyring, MasterKey};
    use super::*;
    use diesel::prelude::*;

    fn data_key() -> DataKey {
        Keyring::new(MasterKey::generate(), vec![]).new_data_key().0
    }

    #[test]
    fn seal_then_open_gives_the_plaintext_back() {
        let key = data_key();
        let sealed = key.seal("person.name", b"Blessing O.");
        assert_eq!(sealed.as_bytes()[0], 0x01);
        assert_eq!(sealed.as_bytes().len(), 1 + 24 + 11 + 16);
        assert_eq!(key.open("person.name", &sealed).unwrap(), b"Blessing O.");
        let text = key.seal_str("person.alias", "Joy è");
        assert_eq!(key.open_str("person.alias", &text).unwrap(), "Joy è");
        let empty = key.seal("person.note", b"");
        assert_eq!(key.open("person.note", &empty).unwrap(), b"");
        let copy = Sealed::from_bytes(text.clone().into_bytes());
        assert_eq!(key.open_str("person.alias", &copy).unwrap(), "Joy è");
    }

    #[test]
    fn open_with_another_data_key_fails() {
        let sealed = data_key().seal("person.name", b"Blessing");
        assert_eq!(data_key().open("person.name", &sealed), Err(CryptoError::Corrupt));
    }

    #[test]
    fn open_under_another_field_name_fails() {
        let key = data_key();
        let sealed = key.seal("person.name", b"Blessing");
        assert_eq!(key.open("person.alias", &sealed), Err(CryptoError::Corrupt));
        assert_eq!(key.open("person.nam", &sealed), Err(CryptoError::Corrupt));
    }

    #[test]
    fn a_flipped_byte_anywhere_fails() {
        let key = data_key();
        let sealed = key.seal("f", b"payload");
        for i in 0..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            assert_eq!(
                key.open("f", &Sealed::from_bytes(bytes)),
                Err(CryptoError::Corrupt),
                "byte {i}"
            );
        }
        let mut short = sealed.into_bytes();
        short.truncate(40);
        assert_eq!(key.open("f", &Sealed::from_bytes(short)), Err(CryptoError::Corrupt));
    }

    #[test]
    fn open_str_of_non_utf8_is_corrupt() {
        let key = data_key();
        let sealed = key.seal("f", &[0xff, 0xfe]);
        assert_eq!(key.open_str("f", &sealed), Err(CryptoError::Corrupt));
    }

    #[test]
    fn debug_of_sealed_shows_only_its_length() {
        let key = data_key();
        let sealed = key.seal("f", b"secret plaintext");
        let shown = format!("{sealed:?}");
        assert_eq!(shown, format!("Sealed({} bytes)", sealed.as_bytes().len()));
        assert!(!shown.contains("secret"));
    }

    diesel::table! {
        t (id) {
            id -> Integer,
            v -> Nullable<Binary>,
        }
    }

    /// Stands for Varco's `DbConn`: the generic impls must serve the derived multi-backend too.
    #[derive(diesel::MultiConnection)]
    enum AnyConn {
        Sqlite(diesel::SqliteConnection),
        Pg(diesel::PgConnection),
    }

    /// The same statements over any connection type (a macro: generic diesel code would need a
    /// page of bounds).
    macro_rules! check_round_trip {
        ($conn:expr) => {{
            let conn = $conn;
            use diesel::connection::SimpleConnection;
            conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
                .unwrap();
            let key = data_key();
            let sealed = key.seal_str("person.name", "Blessing");
            diesel::insert_into(t::table)
                .values((t::id.eq(1), t::v.eq(&sealed)))
                .execute(conn)
                .unwrap();
            diesel::insert_into(t::table)
                .values((t::id.eq(2), t::v.eq(None::<Sealed>)))
                .execute(conn)
                .unwrap();

            let back: Sealed = t::table.find(1).select(t::v.assume_not_null()).first(conn).unwrap();
            assert_eq!(back, sealed);
            assert_eq!(key.open_str("person.name", &back).unwrap(), "Blessing");
            let maybe: Vec<Option<Sealed>> = t::table.order(t::id).select(t::v).load(conn).unwrap();
            assert_eq!(maybe, vec![Some(sealed.clone()), None]);

            // A blind index in the same kind of column, and found by equality.
            let index = BlindIndexer::new(&key).index("name", "blessing");
            diesel::insert_into(t::table)
                .values((t::id.eq(3), t::v.eq(index)))
                .execute(conn)
                .unwrap();
            let id: i32 = t::table.filter(t::v.eq(index)).select(t::id).first(conn).unwrap();
            assert_eq!(id, 3);
            let found: BlindIndex = t::table.find(3).select(t::v.assume_not_null()).first(conn).unwrap();
            assert_eq!(found, index);
            // A stored value of the wrong length is not a blind index.
            let wrong: QueryResult<BlindIndex> = t::table.find(1).select(t::v.assume_not_null()).first(conn);
            assert!(wrong.is_err());
        }};
    }

    #[test]
    fn sealed_values_round_trip_through_sqlite() {
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        check_round_trip!(&mut conn);
    }

    #[test]
    fn sealed_values_round_trip_through_a_multi_connection() {
        let mut conn = AnyConn::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        check_round_trip!(&mut conn);
    }
}
