//! Blind indexes of referrals, to find the referrals that may be about the same person without
//! decrypting them (seed 004: the same person emerges through different channels).
//!
//! One deployment-wide key (`index_keys`, purpose `person_match`) is a data key like any other,
//! stored wrapped, so a master-key rotation rewraps it and the stored indexes stay valid. Each
//! referral's [`MatchTerms`] (normalised alias words, their phonetic codes, nationality key,
//! birth year) are hashed under it into `referral_blind` when the referral is stored, and deleted
//! with its personal data when consent is withdrawn: crypto-shredding leaves nothing to search.

use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{BlindIndex, BlindIndexer, Keyring};
use crate::db::schema::{index_keys, referral_blind, referrals};
use crate::db::DbConn;
use crate::domain::names::{BlindPurpose, IndexKeyPurpose, MatchTerms};
use crate::domain::{DataKeyId, ReferralId};
use crate::error::AppError;

/// A referral's blind indexes, computed before its write.
pub type Tokens = Vec<(BlindPurpose, BlindIndex)>;

/// The instance's copy of the person-matching indexer (an `App` singleton): the key never
/// changes once made, so it is read from the database once.
#[derive(Default)]
pub struct IndexerCell(Mutex<Option<Arc<BlindIndexer>>>);

impl IndexerCell {
    pub fn get(&self) -> Option<Arc<BlindIndexer>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, indexer: Arc<BlindIndexer>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(indexer);
    }
}

/// The person-matching indexer, its key made (and stored wrapped) at the first call. Referrals
/// already stored then are left for [`backfill_range`]. Call at start, inside a write
/// transaction, before anything is served.
pub fn indexer(conn: &mut DbConn, keys: &Keyring, now: NaiveDateTime) -> Result<BlindIndexer, AppError> {
    let stored: Option<DataKeyId> = index_keys::table
        .find(IndexKeyPurpose::PersonMatch.as_str())
        .select(index_keys::data_key_id)
        .first::<i64>(conn)
        .optional()?
        .map(DataKeyId);
    if let Some(id) = stored {
        let key = super::store::open(conn, keys, id)?
            .ok_or_else(|| AppError::Internal("the person-matching index key was destroyed".into()))?;
        return Ok(BlindIndexer::new(&key));
    }
    let (id, key) = super::store::create(conn, keys, now)?;
    let highest: Option<i64> = referrals::table.select(diesel::dsl::max(referrals::id)).first(conn)?;
    diesel::insert_into(index_keys::table)
        .values((
            index_keys::purpose.eq(IndexKeyPurpose::PersonMatch.as_str()),
            index_keys::data_key_id.eq(id.get()),
            index_keys::backfill_below.eq(highest.map_or(0, |h| h + 1)),
            index_keys::backfilled_to.eq(0_i64),
            index_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(BlindIndexer::new(&key))
}

/// The blind indexes of `terms`.
pub fn tokens(indexer: &BlindIndexer, terms: &MatchTerms) -> Tokens {
    terms
        .values()
        .into_iter()
        .map(|(purpose, value)| (purpose, indexer.index(purpose.as_str(), &value)))
        .collect()
}

#[derive(Insertable)]
#[diesel(table_name = referral_blind, treat_none_as_default_value = false)]
struct Row<'a> {
    referral_id: ReferralId,
    purpose: BlindPurpose,
    token: &'a BlindIndex,
}

/// Stores a referral's blind indexes (replacing any earlier ones).
pub fn write(conn: &mut DbConn, referral: ReferralId, tokens: &[(BlindPurpose, BlindIndex)]) -> Result<(), AppError> {
    forget(conn, referral)?;
    let mut rows: Vec<Row<'_>> = tokens
        .iter()
        .map(|(purpose, token)| Row {
            referral_id: referral,
            purpose: *purpose,
            token,
        })
        .collect();
    rows.sort_by(|a, b| (a.purpose, a.token.as_bytes()).cmp(&(b.purpose, b.token.as_bytes())));
    rows.dedup_by(|a, b| a.purpose == b.purpose && a.token == b.token);
    crate::insert_rows!(conn, referral_blind::table, &rows)?;
    Ok(())
}

/// Deletes a referral's blind indexes (its personal data is being erased).
pub fn forget(conn: &mut DbConn, referral: ReferralId) -> Result<(), AppError> {
    diesel::delete(referral_blind::table.filter(referral_blind::referral_id.eq(referral))).execute(conn)?;
    Ok(())
}

/// The referrals stored before the index key existed and not indexed yet: ids in
/// `[from, below)`; `None` when there are none left.
pub fn backfill_range(conn: &mut DbConn) -> Result<Option<(i64, i64)>, AppError> {
    let row: Option<(i64, i64)> = index_keys::table
        .find(IndexKeyPurpose::PersonMatch.as_str())
        .select((index_keys::backfilled_to, index_keys::backfill_below))
        .first(conn)
        .optional()?;
    Ok(row.filter(|(from, below)| from < below))
}

/// Records that the referrals below `to` are indexed.
pub fn backfilled(conn: &mut DbConn, to: i64) -> Result<(), AppError> {
    diesel::update(index_keys::table.find(IndexKeyPurpose::PersonMatch.as_str()))
        .set(index_keys::backfilled_to.eq(to))
        .execute(conn)?;
    Ok(())
}
