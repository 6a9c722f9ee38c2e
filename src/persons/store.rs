//! Persons in the database: which person each referral is about (`referral_persons`), the
//! candidates for a referral found through the blind indexes (`referral_blind`), and the
//! operators' decisions (`match_decisions`). Every function runs inside the caller's
//! transaction (or read).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{self, Candidate, Decision, Side, Subject, THRESHOLD, YEAR_TOLERANCE};
use crate::crypto::{BlindIndex, BlindIndexer, Keyring};
use crate::db::schema::{
    case_referrals, cases, match_decisions, persons, referral_blind, referral_languages, referral_persons, referrals,
};
use crate::db::DbConn;
use crate::domain::names::{BlindPurpose, MatchTerms};
use crate::domain::{CaseId, OrgId, PersonId, ReferralId, UserId};
use crate::error::AppError;
use crate::referrals::store::{self as referral_store, Referral};
use crate::referrals::vocab::{Gender, Status};

/// How many referrals sharing an alias index are scored at most (the most alike first).
pub const SCORED: i64 = 200;

/// The person a referral is about, if linked.
pub fn person_of(conn: &mut DbConn, referral: ReferralId) -> Result<Option<PersonId>, AppError> {
    Ok(referral_persons::table
        .find(referral)
        .select(referral_persons::person_id)
        .first::<PersonId>(conn)
        .optional()?)
}

/// Whether a person exists.
pub fn exists(conn: &mut DbConn, person: PersonId) -> Result<bool, AppError> {
    let n: i64 = persons::table.filter(persons::id.eq(person)).count().get_result(conn)?;
    Ok(n > 0)
}

/// Says that `referral` is about `person` (moving it from any other).
fn set_person(
    conn: &mut DbConn,
    referral: ReferralId,
    person: PersonId,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let moved = diesel::update(referral_persons::table.find(referral))
        .set((
            referral_persons::person_id.eq(person),
            referral_persons::linked_at.eq(now),
            referral_persons::linked_by.eq(by),
        ))
        .execute(conn)?;
    if moved == 0 {
        diesel::insert_into(referral_persons::table)
            .values((
                referral_persons::referral_id.eq(referral),
                referral_persons::person_id.eq(person),
                referral_persons::linked_at.eq(now),
                referral_persons::linked_by.eq(by),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A new person, known by this referral only (moved from any person it was linked to).
pub fn new_person(
    conn: &mut DbConn,
    referral: ReferralId,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<PersonId, AppError> {
    let person: PersonId = diesel::insert_into(persons::table)
        .values(persons::created_at.eq(now))
        .returning(persons::id)
        .get_result(conn)?;
    set_person(conn, referral, person, by, now)?;
    Ok(person)
}

/// The person of a referral, made now when it has none (a referral not linked yet is a person of
/// its own).
pub fn person_or_new(
    conn: &mut DbConn,
    referral: ReferralId,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<PersonId, AppError> {
    match person_of(conn, referral)? {
        Some(p) => Ok(p),
        None => new_person(conn, referral, by, now),
    }
}

/// The referrals about a person, oldest first.
pub fn referrals_of(conn: &mut DbConn, person: PersonId) -> Result<Vec<ReferralId>, AppError> {
    Ok(referral_persons::table
        .filter(referral_persons::person_id.eq(person))
        .order(referral_persons::referral_id.asc())
        .select(referral_persons::referral_id)
        .load(conn)?)
}

// ----- candidates -----

fn index_set(rows: &[(BlindPurpose, BlindIndex)], purpose: BlindPurpose) -> HashSet<BlindIndex> {
    rows.iter().filter(|(p, _)| *p == purpose).map(|(_, t)| *t).collect()
}

/// The subject of a search: its own fields opened (its data key) and hashed as stored, and the
/// birth years near its own. `None` once erased.
fn subject(
    conn: &mut DbConn,
    keys: &Keyring,
    indexer: &BlindIndexer,
    referral: &Referral,
) -> Result<Option<Subject>, AppError> {
    let row = &referral.row;
    let Some(person) = referral_store::person_fields(conn, keys, row)? else {
        return Ok(None);
    };
    let terms = MatchTerms::of(
        person.alias.as_deref(),
        person.age,
        person.nationality.as_deref(),
        row.received_at,
    );
    let tokens = crate::crypto::match_index::tokens(indexer, &terms);
    let first = |p: BlindPurpose| tokens.iter().find(|(q, _)| *q == p).map(|(_, t)| *t);
    let years_near = match terms.birth_year {
        Some(y) => (-YEAR_TOLERANCE..=YEAR_TOLERANCE)
            .map(|d| {
                let year = (i64::from(y) + d).to_string();
                (d.abs(), indexer.index(BlindPurpose::BirthYear.as_str(), &year))
            })
            .collect(),
        None => Vec::new(),
    };
    let languages = referral_languages::table
        .filter(referral_languages::referral_id.eq(row.id))
        .select(referral_languages::language)
        .load::<String>(conn)?;
    Ok(Some(Subject {
        side: Side {
            alias: index_set(&tokens, BlindPurpose::Alias),
            phonetic: index_set(&tokens, BlindPurpose::AliasPhonetic),
            nationality: first(BlindPurpose::Nationality),
            birth_year: first(BlindPurpose::BirthYear),
            gender: Some(row.person_gender),
            hosted: row.hosted_org_id,
            languages: languages.into_iter().collect(),
            province: row.emergence_province.map(|p| p.code),
            received_at: Some(row.received_at),
        },
        years_near,
    }))
}

type FactRow = (
    ReferralId,
    Gender,
    Option<OrgId>,
    Option<crate::domain::Province>,
    NaiveDateTime,
);

/// The sides of these referrals (drafts left out): their blind indexes and facts, in three
/// queries whatever their number.
fn sides(conn: &mut DbConn, ids: &[ReferralId]) -> Result<HashMap<ReferralId, Side>, AppError> {
    let facts: Vec<FactRow> = referrals::table
        .filter(referrals::id.eq_any(ids))
        .filter(referrals::status.ne(Status::Draft))
        .select((
            referrals::id,
            referrals::person_gender,
            referrals::hosted_org_id,
            referrals::emergence_province,
            referrals::received_at,
        ))
        .load(conn)?;
    let mut out: HashMap<ReferralId, Side> = facts
        .into_iter()
        .map(|(id, gender, hosted, province, received_at)| {
            (
                id,
                Side {
                    gender: Some(gender),
                    hosted,
                    province: province.map(|p| p.code),
                    received_at: Some(received_at),
                    ..Side::default()
                },
            )
        })
        .collect();
    let tokens: Vec<(ReferralId, BlindPurpose, BlindIndex)> = referral_blind::table
        .filter(referral_blind::referral_id.eq_any(ids))
        .select((
            referral_blind::referral_id,
            referral_blind::purpose,
            referral_blind::token,
        ))
        .load(conn)?;
    for (id, purpose, token) in tokens {
        let Some(side) = out.get_mut(&id) else { continue };
        match purpose {
            BlindPurpose::Alias => {
                side.alias.insert(token);
            }
            BlindPurpose::AliasPhonetic => {
                side.phonetic.insert(token);
            }
            BlindPurpose::Nationality => side.nationality = Some(token),
            BlindPurpose::BirthYear => side.birth_year = Some(token),
        }
    }
    let languages: Vec<(ReferralId, String)> = referral_languages::table
        .filter(referral_languages::referral_id.eq_any(ids))
        .select((referral_languages::referral_id, referral_languages::language))
        .load(conn)?;
    for (id, language) in languages {
        if let Some(side) = out.get_mut(&id) {
            side.languages.insert(language);
        }
    }
    Ok(out)
}

/// The latest decision on each (referral, person) pair among these referrals or persons.
fn latest_decisions(
    conn: &mut DbConn,
    referral: Option<ReferralId>,
    person: Option<PersonId>,
) -> Result<HashMap<(ReferralId, PersonId), Decision>, AppError> {
    let mut q = match_decisions::table
        .select((
            match_decisions::referral_id,
            match_decisions::person_id,
            match_decisions::decision,
        ))
        .order(match_decisions::id.asc())
        .into_boxed::<crate::db::DbBackend>();
    if let Some(r) = referral {
        q = q.filter(match_decisions::referral_id.eq(r));
    }
    if let Some(p) = person {
        q = q.filter(match_decisions::person_id.eq(p));
    }
    let rows: Vec<(ReferralId, PersonId, String)> = q.load(conn)?;
    let mut out = HashMap::new();
    for (r, p, d) in rows {
        let d = Decision::from_code(&d).ok_or_else(|| AppError::Internal(format!("unknown match decision {d:?}")))?;
        out.insert((r, p), d);
    }
    Ok(out)
}

fn refused(d: Option<&Decision>) -> bool {
    matches!(d, Some(Decision::Rejected | Decision::Unlinked))
}

/// Scores `ids` against the subject and keeps, per person (or referral not linked yet), the
/// referral most alike; leaves out the subject's own person and the pairs refused before.
fn score(
    conn: &mut DbConn,
    subject: &Subject,
    referral: ReferralId,
    ids: &[ReferralId],
    limit: usize,
) -> Result<Vec<Candidate>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sides = sides(conn, ids)?;
    let mut linked: Vec<ReferralId> = ids.to_vec();
    linked.push(referral);
    let persons: HashMap<ReferralId, PersonId> = referral_persons::table
        .filter(referral_persons::referral_id.eq_any(&linked))
        .select((referral_persons::referral_id, referral_persons::person_id))
        .load::<(ReferralId, PersonId)>(conn)?
        .into_iter()
        .collect();
    let own = persons.get(&referral).copied();
    let about_subject = latest_decisions(conn, Some(referral), None)?;
    // The other way round: a candidate referral refused for the subject's own person.
    let about_own = match own {
        Some(p) => latest_decisions(conn, None, Some(p))?,
        None => HashMap::new(),
    };
    #[derive(PartialEq, Eq, Hash, Clone, Copy)]
    enum Group {
        Person(PersonId),
        Alone(ReferralId),
    }
    let mut best: HashMap<Group, Candidate> = HashMap::new();
    for id in ids {
        let Some(side) = sides.get(id) else { continue };
        let person = persons.get(id).copied();
        if person.is_some() && person == own {
            continue;
        }
        if let Some(p) = person {
            if refused(about_subject.get(&(referral, p))) {
                continue;
            }
        }
        if let Some(o) = own {
            if refused(about_own.get(&(*id, o))) {
                continue;
            }
        }
        let (score, reasons) = model::compare(subject, side);
        let group = person.map_or(Group::Alone(*id), Group::Person);
        let entry = best.entry(group).or_insert_with(|| Candidate {
            person_id: person,
            referral_id: *id,
            score: -1,
            reasons: Vec::new(),
            referrals_found: 0,
        });
        entry.referrals_found += 1;
        if score > entry.score || (score == entry.score && *id > entry.referral_id) {
            entry.score = score;
            entry.reasons = reasons;
            entry.referral_id = *id;
        }
    }
    let mut out: Vec<Candidate> = best.into_values().filter(|c| c.score >= THRESHOLD).collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(b.referral_id.cmp(&a.referral_id)));
    out.truncate(limit);
    Ok(out)
}

/// A proposal as shown: the candidate, the referral of theirs most alike, its alias (opened).
#[derive(Clone, Debug)]
pub struct Proposal {
    pub candidate: Candidate,
    pub referral: Referral,
    pub alias: Option<String>,
}

/// The candidates for a referral.
#[derive(Clone, Debug)]
pub struct Proposals {
    pub subject: Referral,
    pub subject_alias: Option<String>,
    /// The subject's person, when linked.
    pub subject_person: Option<PersonId>,
    pub proposals: Vec<Proposal>,
}

/// The persons who may be the one a referral is about, best first (at most `limit`): the
/// referrals sharing a normalised or phonetic alias index with it are found in one indexed
/// query, the most alike [`SCORED`] of them scored on every field by their indexes and facts,
/// and only the proposals' aliases opened (each with its own referral's data key). A draft, an
/// erased referral or one without an alias has none.
pub fn candidates(
    conn: &mut DbConn,
    keys: &Keyring,
    indexer: &BlindIndexer,
    referral: ReferralId,
    limit: usize,
) -> Result<Proposals, AppError> {
    let subject_referral = referral_store::get(conn, referral)?;
    let mut out = Proposals {
        subject_alias: None,
        subject_person: person_of(conn, referral)?,
        proposals: Vec::new(),
        subject: subject_referral.clone(),
    };
    if subject_referral.status() == Status::Draft {
        return Ok(out);
    }
    out.subject_alias = referral_store::person_fields(conn, keys, &subject_referral.row)?.and_then(|p| p.alias);
    let Some(subject) = subject(conn, keys, indexer, &subject_referral)? else {
        return Ok(out);
    };
    let probe: Vec<BlindIndex> = subject
        .side
        .alias
        .iter()
        .chain(&subject.side.phonetic)
        .copied()
        .collect();
    if probe.is_empty() {
        return Ok(out);
    }
    let hits: Vec<(ReferralId, i64)> = referral_blind::table
        .filter(referral_blind::purpose.eq_any([BlindPurpose::Alias, BlindPurpose::AliasPhonetic]))
        .filter(referral_blind::token.eq_any(&probe))
        .filter(referral_blind::referral_id.ne(referral))
        .group_by(referral_blind::referral_id)
        .select((referral_blind::referral_id, diesel::dsl::count_star()))
        .order((diesel::dsl::count_star().desc(), referral_blind::referral_id.desc()))
        .limit(SCORED)
        .load(conn)?;
    let ids: Vec<ReferralId> = hits.into_iter().map(|(id, _)| id).collect();
    // The proposals' referrals and aliases in a few queries, not a few per proposal.
    let found = score(conn, &subject, referral, &ids, limit)?;
    let wanted: Vec<ReferralId> = found.iter().map(|c| c.referral_id).collect();
    let mut rows = referral_store::get_many(conn, &wanted)?;
    let aliases = referral_store::aliases(conn, keys, &rows.iter().map(|r| &r.row).collect::<Vec<_>>())?;
    for candidate in found {
        let Some(at) = rows.iter().position(|r| r.id() == candidate.referral_id) else {
            continue;
        };
        let r = rows.swap_remove(at);
        out.proposals.push(Proposal {
            alias: aliases.get(&r.id()).cloned(),
            candidate,
            referral: r,
        });
    }
    Ok(out)
}

/// How alike a referral is to a person's referrals (the best of them): the score and the reasons
/// as codes, to store with a decision. `None` when there is nothing to compare.
pub fn assess(
    conn: &mut DbConn,
    keys: &Keyring,
    indexer: &BlindIndexer,
    referral: &Referral,
    person: PersonId,
) -> Result<Option<(i32, String)>, AppError> {
    let Some(subject) = subject(conn, keys, indexer, referral)? else {
        return Ok(None);
    };
    let ids: Vec<ReferralId> = referrals_of(conn, person)?
        .into_iter()
        .filter(|r| *r != referral.id())
        .collect();
    let sides = sides(conn, &ids)?;
    Ok(sides
        .values()
        .map(|side| model::compare(&subject, side))
        .max_by_key(|(score, _)| *score)
        .map(|(score, reasons)| (score, model::reasons_code(&reasons))))
}

/// Records an operator's decision on a (referral, person) pair.
pub fn decide(
    conn: &mut DbConn,
    referral: ReferralId,
    person: PersonId,
    decision: Decision,
    assessed: Option<(i32, String)>,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let (score, reasons) = match assessed {
        Some((s, r)) => (Some(s), Some(r)),
        None => (None, None),
    };
    diesel::insert_into(match_decisions::table)
        .values((
            match_decisions::referral_id.eq(referral),
            match_decisions::person_id.eq(person),
            match_decisions::decision.eq(decision.as_str()),
            match_decisions::score.eq(score),
            match_decisions::reasons.eq(reasons),
            match_decisions::decided_by.eq(by),
            match_decisions::decided_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The latest decision on one pair.
pub fn decision_on(conn: &mut DbConn, referral: ReferralId, person: PersonId) -> Result<Option<Decision>, AppError> {
    Ok(latest_decisions(conn, Some(referral), Some(person))?.remove(&(referral, person)))
}

/// Links a referral to a person (the operator confirmed it is about them).
pub fn link(
    conn: &mut DbConn,
    referral: ReferralId,
    person: PersonId,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    set_person(conn, referral, person, by, now)
}

// ----- the journey -----

/// A referral on a person's journey.
#[derive(Clone, Debug)]
pub struct Step {
    pub referral: Referral,
    pub alias: Option<String>,
    pub linked_at: NaiveDateTime,
    pub linked_by: Option<UserId>,
}

/// A case about the person (its status as stored: casework names it).
#[derive(Clone, Debug)]
pub struct CaseLine {
    pub id: CaseId,
    pub reference: String,
    pub status: String,
    pub opened_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    /// The referrals the case answers.
    pub referrals: Vec<ReferralId>,
}

/// A decision about the person.
#[derive(Clone, Debug)]
pub struct DecisionLine {
    pub referral_id: ReferralId,
    pub decision: Decision,
    pub score: Option<i32>,
    pub reasons: Option<String>,
    pub decided_by: Option<UserId>,
    pub decided_at: NaiveDateTime,
}

type DecidedRow = (
    ReferralId,
    String,
    Option<i32>,
    Option<String>,
    Option<UserId>,
    NaiveDateTime,
);

/// A person's journey across channels: their referrals by date, their cases, the decisions.
#[derive(Clone, Debug)]
pub struct Journey {
    pub person: PersonId,
    pub created_at: NaiveDateTime,
    pub steps: Vec<Step>,
    pub cases: Vec<CaseLine>,
    pub decisions: Vec<DecisionLine>,
    /// References of the referrals the decisions name.
    pub references: HashMap<ReferralId, String>,
    /// Names of the people who linked and decided.
    pub names: HashMap<UserId, String>,
}

pub fn journey(conn: &mut DbConn, keys: &Keyring, person: PersonId) -> Result<Journey, AppError> {
    let created_at: NaiveDateTime = persons::table.find(person).select(persons::created_at).first(conn)?;
    let links: Vec<(ReferralId, NaiveDateTime, Option<UserId>)> = referral_persons::table
        .filter(referral_persons::person_id.eq(person))
        .select((
            referral_persons::referral_id,
            referral_persons::linked_at,
            referral_persons::linked_by,
        ))
        .load(conn)?;
    let mut steps = Vec::new();
    for (id, linked_at, linked_by) in links {
        let referral = referral_store::get(conn, id)?;
        let alias = referral_store::person_fields(conn, keys, &referral.row)?.and_then(|p| p.alias);
        steps.push(Step {
            referral,
            alias,
            linked_at,
            linked_by,
        });
    }
    steps.sort_by_key(|s| (s.referral.row.received_at, s.referral.id()));
    let rows: Vec<(CaseId, String, String, NaiveDateTime, Option<NaiveDateTime>)> = cases::table
        .filter(cases::person_id.eq(person))
        .order(cases::id.asc())
        .select((
            cases::id,
            cases::reference,
            cases::status,
            cases::opened_at,
            cases::closed_at,
        ))
        .load(conn)?;
    let mut case_lines = Vec::new();
    for (id, reference, status, opened_at, closed_at) in rows {
        let referrals = case_referrals::table
            .filter(case_referrals::case_id.eq(id))
            .order(case_referrals::joined_at.asc())
            .select(case_referrals::referral_id)
            .load(conn)?;
        case_lines.push(CaseLine {
            id,
            reference,
            status,
            opened_at,
            closed_at,
            referrals,
        });
    }
    let decided: Vec<DecidedRow> = match_decisions::table
        .filter(match_decisions::person_id.eq(person))
        .order(match_decisions::id.asc())
        .select((
            match_decisions::referral_id,
            match_decisions::decision,
            match_decisions::score,
            match_decisions::reasons,
            match_decisions::decided_by,
            match_decisions::decided_at,
        ))
        .load(conn)?;
    let mut decisions = Vec::new();
    for (referral_id, d, score, reasons, decided_by, decided_at) in decided {
        decisions.push(DecisionLine {
            referral_id,
            decision: Decision::from_code(&d)
                .ok_or_else(|| AppError::Internal(format!("unknown match decision {d:?}")))?,
            score,
            reasons,
            decided_by,
            decided_at,
        });
    }
    let named: BTreeSet<ReferralId> = decisions.iter().map(|d| d.referral_id).collect();
    let references = referrals::table
        .filter(referrals::id.eq_any(named.into_iter().collect::<Vec<_>>()))
        .select((referrals::id, referrals::reference))
        .load::<(ReferralId, String)>(conn)?
        .into_iter()
        .collect();
    let people: BTreeSet<UserId> = steps
        .iter()
        .filter_map(|s| s.linked_by)
        .chain(decisions.iter().filter_map(|d| d.decided_by))
        .collect();
    let mut names = HashMap::new();
    for u in people {
        names.insert(u, crate::accounts::users::get(conn, u)?.display_name);
    }
    Ok(Journey {
        person,
        created_at,
        steps,
        cases: case_lines,
        decisions,
        references,
        names,
    })
}

/// How many persons the referrals are about: each person once, and a referral not linked to
/// any person as one of its own (what counts downstream should count).
pub fn count_persons(conn: &mut DbConn) -> Result<i64, AppError> {
    use diesel::dsl::{exists, not};
    let linked: i64 = persons::table
        .filter(exists(
            referral_persons::table.filter(referral_persons::person_id.eq(persons::id)),
        ))
        .count()
        .get_result(conn)?;
    let alone: i64 = referrals::table
        .filter(not(exists(
            referral_persons::table.filter(referral_persons::referral_id.eq(referrals::id)),
        )))
        .filter(referrals::status.ne(Status::Draft))
        .count()
        .get_result(conn)?;
    Ok(linked + alone)
}
