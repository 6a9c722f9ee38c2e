//! Data keys in the database (`data_keys`) and the master keys that wrapped them
//! (`master_keys`): creation, opening, destruction (erasure), rotation, and the check made at
//! start that the configured keyring can open what the database holds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ledger::{self, Erasure};
use super::{DataKey, Keyring, WrappedKey};
use crate::db::schema::{data_keys, master_keys};
use crate::db::DbConn;
use crate::domain::DataKeyId;
use crate::error::AppError;

/// Creates a data key, stored wrapped under the keyring's current master key.
pub fn create(conn: &mut DbConn, keys: &Keyring, now: NaiveDateTime) -> Result<(DataKeyId, DataKey), AppError> {
    let (key, wrapped) = keys.new_data_key();
    Ok((insert_wrapped(conn, &wrapped, now)?, key))
}

/// Stores a data key made and wrapped beforehand ([`Keyring::new_data_key`]): the wrapping is
/// done before the write, off SQLite's single writer.
pub fn insert_wrapped(conn: &mut DbConn, wrapped: &WrappedKey, now: NaiveDateTime) -> Result<DataKeyId, AppError> {
    let values = (
        data_keys::wrapped.eq(Some(&wrapped.bytes)),
        data_keys::master_key_id.eq(Some(wrapped.master_key_id.as_str())),
        data_keys::created_at.eq(now),
    );
    let id = crate::on_backend!(conn, |c| diesel::insert_into(data_keys::table)
        .values(&values)
        .returning(data_keys::id)
        .get_result(c))?;
    Ok(DataKeyId(id))
}

/// Opens a data key; `None` once it has been destroyed (the record's personal data is erased).
pub fn open(conn: &mut DbConn, keys: &Keyring, id: DataKeyId) -> Result<Option<DataKey>, AppError> {
    let (wrapped, master): (Option<Vec<u8>>, Option<String>) = data_keys::table
        .find(id.get())
        .select((data_keys::wrapped, data_keys::master_key_id))
        .first(conn)?;
    match (wrapped, master) {
        (Some(bytes), Some(master)) => Ok(Some(keys.unwrap(&master, &bytes)?)),
        _ => Ok(None),
    }
}

/// The ledger entry for destroying a data key (`None` when it is already destroyed): taken
/// before the key goes, written to the ledger once the destruction is committed.
pub fn erasure_of(conn: &mut DbConn, keys: &Keyring, id: DataKeyId) -> Result<Option<Erasure>, AppError> {
    Ok(open(conn, keys, id)?.map(|key| Erasure {
        data_key_id: id.get(),
        fingerprint: ledger::fingerprint(&key),
    }))
}

/// Whether the ledger entry names a key this database still holds live: the same id and the
/// very same key (another database's key under a reused id does not match).
pub fn still_live(conn: &mut DbConn, keys: &Keyring, e: &Erasure) -> Result<bool, AppError> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> = data_keys::table
        .find(e.data_key_id)
        .select((data_keys::wrapped, data_keys::master_key_id))
        .first(conn)
        .optional()?;
    let Some((Some(bytes), Some(master))) = row else {
        return Ok(false);
    };
    Ok(ledger::fingerprint(&keys.unwrap(&master, &bytes)?) == e.fingerprint)
}

/// Destroys a data key: every field sealed under it is unreadable from now on. The wrapped key
/// is overwritten in place (SQLite runs with `secure_delete`, so the old bytes do not linger in
/// free pages; the WAL frames that held them are truncated at the next checkpoint).
pub fn destroy(conn: &mut DbConn, id: DataKeyId, now: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(data_keys::table.find(id.get()))
        .set((
            data_keys::wrapped.eq(None::<Vec<u8>>),
            data_keys::master_key_id.eq(None::<String>),
            data_keys::destroyed_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Checks at start that `keys` can open what the database holds, and records the current master
/// key. Refused (with an error naming the key ids, never a key) when the database's data keys
/// were wrapped under a master key the keyring does not hold, or when the database has known
/// only other master keys: a wrong key file must not start sealing new records under a key the
/// rest of the data does not share.
pub fn check_keyring(conn: &mut DbConn, keys: &Keyring, now: NaiveDateTime) -> Result<(), AppError> {
    let used: Vec<Option<String>> = data_keys::table
        .filter(data_keys::master_key_id.is_not_null())
        .select(data_keys::master_key_id)
        .distinct()
        .load(conn)?;
    let missing: Vec<String> = used.into_iter().flatten().filter(|id| !keys.contains(id)).collect();
    if !missing.is_empty() {
        return Err(AppError::Unavailable(format!(
            "the database holds data keys wrapped under master key(s) {} that the configured keyring \
             (current key {}) does not hold: configure the right VARCO_MASTER_KEY or VARCO_MASTER_KEY_FILE",
            missing.join(", "),
            keys.current_id()
        )));
    }
    let known: Vec<String> = master_keys::table
        .filter(master_keys::retired_at.is_null())
        .select(master_keys::id)
        .load(conn)?;
    if !known.is_empty() && !known.iter().any(|id| keys.contains(id)) {
        return Err(AppError::Unavailable(format!(
            "this database was sealed under master key(s) {}; the configured key is {}: configure the \
             right VARCO_MASTER_KEY or VARCO_MASTER_KEY_FILE",
            known.join(", "),
            keys.current_id()
        )));
    }
    let current = keys.current_id().as_str().to_owned();
    if !known.contains(&current) {
        diesel::insert_into(master_keys::table)
            .values((master_keys::id.eq(&current), master_keys::created_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}

/// True when the database holds sealed data or knows a master key (a missing key file must then
/// not be replaced by a new one).
pub fn anything_sealed(conn: &mut DbConn) -> Result<bool, AppError> {
    let keys: i64 = master_keys::table.count().get_result(conn)?;
    let data: i64 = data_keys::table.count().get_result(conn)?;
    Ok(keys + data > 0)
}

/// Rewraps up to `batch` data keys still wrapped under another master key than the current one;
/// returns how many were rewrapped (0: none left).
pub fn rewrap_batch(conn: &mut DbConn, keys: &Keyring, batch: i64) -> Result<usize, AppError> {
    let current = keys.current_id().as_str().to_owned();
    let rows: Vec<(i64, Option<Vec<u8>>, Option<String>)> = data_keys::table
        .filter(data_keys::master_key_id.is_not_null())
        .filter(data_keys::master_key_id.ne(&current))
        .select((data_keys::id, data_keys::wrapped, data_keys::master_key_id))
        .order(data_keys::id.asc())
        .limit(batch)
        .load(conn)?;
    let n = rows.len();
    for (id, wrapped, master) in rows {
        let (Some(bytes), Some(master)) = (wrapped, master) else {
            continue;
        };
        let new = keys.rewrap(&master, &bytes)?;
        diesel::update(data_keys::table.find(id))
            // Only if untouched since it was read (a record erased meanwhile stays erased).
            .filter(data_keys::master_key_id.eq(&master))
            .set((
                data_keys::wrapped.eq(Some(new.bytes)),
                data_keys::master_key_id.eq(Some(new.master_key_id.as_str())),
            ))
            .execute(conn)?;
    }
    Ok(n)
}

/// Data keys still wrapped under a master key other than the current one.
pub fn count_not_current(conn: &mut DbConn, keys: &Keyring) -> Result<i64, AppError> {
    Ok(data_keys::table
        .filter(data_keys::master_key_id.is_not_null())
        .filter(data_keys::master_key_id.ne(keys.current_id().as_str()))
        .count()
        .get_result(conn)?)
}

/// Marks every master key but the current one retired (after a rotation).
pub fn retire_others(conn: &mut DbConn, keys: &Keyring, now: NaiveDateTime) -> Result<Vec<String>, AppError> {
    let current = keys.current_id().as_str().to_owned();
    let others: Vec<String> = master_keys::table
        .filter(master_keys::retired_at.is_null())
        .filter(master_keys::id.ne(&current))
        .select(master_keys::id)
        .load(conn)?;
    diesel::update(
        master_keys::table
            .filter(master_keys::retired_at.is_null())
            .filter(master_keys::id.ne(&current)),
    )
    .set(master_keys::retired_at.eq(Some(now)))
    .execute(conn)?;
    Ok(others)
}

/// Checks that `keys` opens the database's data keys: every master key they are wrapped under is
/// in the keyring, and one data key wrapped under each actually opens (a restore, a start).
pub fn verify_can_open(conn: &mut DbConn, keys: &Keyring) -> Result<(), AppError> {
    let masters: Vec<Option<String>> = data_keys::table
        .filter(data_keys::master_key_id.is_not_null())
        .select(data_keys::master_key_id)
        .distinct()
        .load(conn)?;
    for master in masters.into_iter().flatten() {
        if !keys.contains(&master) {
            return Err(AppError::Unavailable(format!(
                "the data keys are wrapped under master key {master}, which the configured keyring (current key {}) \
                 does not hold",
                keys.current_id()
            )));
        }
        let wrapped: Option<Vec<u8>> = data_keys::table
            .filter(data_keys::master_key_id.eq(&master))
            .select(data_keys::wrapped)
            .first(conn)?;
        if let Some(bytes) = wrapped {
            keys.unwrap(&master, &bytes)
                .map_err(|e| AppError::Unavailable(format!("master key {master} does not open its data keys: {e}")))?;
        }
    }
    Ok(())
}

/// How many live data keys each master key wraps.
pub fn data_keys_by_master(conn: &mut DbConn) -> Result<Vec<(String, i64)>, AppError> {
    let rows: Vec<(Option<String>, i64)> = data_keys::table
        .filter(data_keys::master_key_id.is_not_null())
        .group_by(data_keys::master_key_id)
        .select((data_keys::master_key_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(m, n)| m.map(|m| (m, n))).collect())
}
