//! The parts of a case in the database: interviews (with the double-booking check), tasks,
//! flags, assessment notes and checklists, outcomes. Free text is sealed under the case's key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::vocab::{
    Agency, Answer, FlagKind, InterviewKind, InterviewStatus, OutcomeKind, Setting, TaskKind, TransferState,
};
use crate::crypto::{DataKey, Sealed};
use crate::db::schema::{
    assessment_agencies, assessment_answers, assessment_notes, assessments, case_flags, case_outcomes, case_tasks,
    cases, interview_staff, interviews,
};
use crate::db::DbConn;
use crate::domain::{CaseId, FlagId, InterviewId, TaskId, UserId, Version};
use crate::error::AppError;
use crate::referrals::vocab::MediatorAnswer;

/// Sealed-field names (bound into each ciphertext: a value cannot be moved to another field).
pub mod field {
    pub const TASK_NOTE: &str = "case.task.note";
    pub const FLAG_REASON: &str = "case.flag.reason";
    pub const INTERVIEW_OTHERS: &str = "case.interview.others";
    pub const INTERVIEW_NOTES: &str = "case.interview.notes";
    pub const ASSESSMENT_NOTE: &str = "case.assessment.note";
}

fn seal(key: &DataKey, field: &str, value: Option<&str>) -> Option<Vec<u8>> {
    value.map(|v| key.seal_str(field, v).into_bytes())
}

/// Opens a sealed value; `None` when there is none or the key is gone (erased).
pub fn open(key: Option<&DataKey>, field: &str, sealed: Option<&[u8]>) -> Option<String> {
    let (key, bytes) = (key?, sealed?);
    key.open_str(field, &Sealed::from_bytes(bytes.to_vec())).ok()
}

// ----- interviews -----

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = interviews)]
pub struct InterviewRow {
    pub id: InterviewId,
    pub case_id: CaseId,
    pub kind: InterviewKind,
    pub status: InterviewStatus,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub setting: Setting,
    pub joint: bool,
    pub language: Option<String>,
    pub mediator_id: Option<UserId>,
    pub mediator_answer: Option<MediatorAnswer>,
    pub others: Option<Vec<u8>>,
    pub notes: Option<Vec<u8>>,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub created_by: Option<UserId>,
    pub updated_at: NaiveDateTime,
}

/// A checked booking.
#[derive(Clone, Debug)]
pub struct NewInterview {
    pub kind: InterviewKind,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub setting: Setting,
    pub joint: bool,
    pub language: Option<String>,
    pub mediator_id: Option<UserId>,
    pub staff: Vec<UserId>,
    pub others: Option<String>,
}

/// Another booking of someone at an overlapping time (what a double booking is refused with).
#[derive(Clone, Debug)]
pub struct Clash {
    pub interview: InterviewId,
    pub case_reference: String,
    pub user: UserId,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

/// The first planned interview, other than `except`, that books one of `people` (as mediator or
/// staff) at a time overlapping `[from, to)`.
pub fn clash(
    conn: &mut DbConn,
    people: &[UserId],
    from: NaiveDateTime,
    to: NaiveDateTime,
    except: Option<InterviewId>,
) -> Result<Option<Clash>, AppError> {
    if people.is_empty() {
        return Ok(None);
    }
    let overlapping = interviews::table
        .inner_join(cases::table)
        .filter(interviews::status.eq(InterviewStatus::Planned))
        .filter(interviews::starts_at.lt(to))
        .filter(interviews::ends_at.gt(from))
        .filter(interviews::id.ne(except.unwrap_or(InterviewId(0))))
        .select((
            interviews::id,
            cases::reference,
            interviews::starts_at,
            interviews::ends_at,
            interviews::mediator_id,
        ))
        .order(interviews::starts_at.asc())
        .load::<(InterviewId, String, NaiveDateTime, NaiveDateTime, Option<UserId>)>(conn)?;
    if overlapping.is_empty() {
        return Ok(None);
    }
    let ids: Vec<InterviewId> = overlapping.iter().map(|o| o.0).collect();
    let staff: Vec<(InterviewId, UserId)> = interview_staff::table
        .filter(interview_staff::interview_id.eq_any(&ids))
        .select((interview_staff::interview_id, interview_staff::user_id))
        .load(conn)?;
    for (id, reference, starts_at, ends_at, mediator) in overlapping {
        let booked = mediator
            .into_iter()
            .chain(staff.iter().filter(|(i, _)| *i == id).map(|(_, u)| *u));
        for user in booked {
            if people.contains(&user) {
                return Ok(Some(Clash {
                    interview: id,
                    case_reference: reference,
                    user,
                    starts_at,
                    ends_at,
                }));
            }
        }
    }
    Ok(None)
}

pub fn insert_interview(
    conn: &mut DbConn,
    key: &DataKey,
    case: CaseId,
    i: &NewInterview,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<InterviewRow, AppError> {
    let row: InterviewRow = diesel::insert_into(interviews::table)
        .values((
            interviews::case_id.eq(case),
            interviews::kind.eq(i.kind),
            interviews::status.eq(InterviewStatus::Planned),
            interviews::starts_at.eq(i.starts_at),
            interviews::ends_at.eq(i.ends_at),
            interviews::setting.eq(i.setting),
            interviews::joint.eq(i.joint),
            interviews::language.eq(i.language.clone()),
            interviews::mediator_id.eq(i.mediator_id),
            interviews::others.eq(seal(key, field::INTERVIEW_OTHERS, i.others.as_deref())),
            interviews::version.eq(Version::FIRST),
            interviews::created_at.eq(now),
            interviews::created_by.eq(by),
            interviews::updated_at.eq(now),
        ))
        .returning(crate::db::columns::<InterviewRow>())
        .get_result(conn)?;
    let staff: Vec<_> = i
        .staff
        .iter()
        .map(|u| {
            (
                interview_staff::interview_id.eq(row.id),
                interview_staff::user_id.eq(*u),
            )
        })
        .collect();
    crate::insert_rows!(conn, interview_staff::table, staff)?;
    Ok(row)
}

pub fn interview(conn: &mut DbConn, case: CaseId, id: InterviewId) -> Result<InterviewRow, AppError> {
    Ok(interviews::table
        .filter(interviews::id.eq(id))
        .filter(interviews::case_id.eq(case))
        .select(InterviewRow::as_select())
        .first(conn)?)
}

pub fn interviews_of(conn: &mut DbConn, case: CaseId) -> Result<Vec<InterviewRow>, AppError> {
    Ok(interviews::table
        .filter(interviews::case_id.eq(case))
        .order(interviews::starts_at.asc())
        .select(InterviewRow::as_select())
        .load(conn)?)
}

/// The staff booked for each of `ids`.
pub fn staff_of(conn: &mut DbConn, ids: &[InterviewId]) -> Result<Vec<(InterviewId, UserId)>, AppError> {
    Ok(interview_staff::table
        .filter(interview_staff::interview_id.eq_any(ids))
        .select((interview_staff::interview_id, interview_staff::user_id))
        .load(conn)?)
}

/// Updates an interview if still at `expected` (a held interview with its notes, a cancellation,
/// a mediator's answer).
pub fn update_interview(
    conn: &mut DbConn,
    current: &InterviewRow,
    expected: Version,
    status: InterviewStatus,
    answer: Option<MediatorAnswer>,
    notes: Option<Vec<u8>>,
    now: NaiveDateTime,
) -> Result<InterviewRow, AppError> {
    if current.version != expected {
        return Err(AppError::StaleVersion {
            current_version: current.version.get(),
        });
    }
    diesel::update(
        interviews::table
            .filter(interviews::id.eq(current.id))
            .filter(interviews::version.eq(expected)),
    )
    .set((
        interviews::status.eq(status),
        interviews::mediator_answer.eq(answer),
        interviews::notes.eq(notes),
        interviews::version.eq(expected.next()),
        interviews::updated_at.eq(now),
    ))
    .returning(crate::db::columns::<InterviewRow>())
    .get_result(conn)
    .optional()?
    .ok_or_else(|| AppError::StaleVersion {
        current_version: current.version.get(),
    })
}

pub fn seal_notes(key: &DataKey, notes: &str) -> Vec<u8> {
    key.seal_str(field::INTERVIEW_NOTES, notes).into_bytes()
}

/// Planned interviews (all cases) in `[from, to)`, for the calendar, with their case reference.
pub fn calendar(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(InterviewRow, String)>, AppError> {
    Ok(interviews::table
        .inner_join(cases::table)
        .filter(interviews::status.ne(InterviewStatus::Cancelled))
        .filter(interviews::starts_at.lt(to))
        .filter(interviews::ends_at.gt(from))
        .order(interviews::starts_at.asc())
        .select((InterviewRow::as_select(), cases::reference))
        .limit(2000)
        .load(conn)?)
}

// ----- tasks -----

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = case_tasks)]
pub struct TaskRow {
    pub id: TaskId,
    pub case_id: CaseId,
    pub kind: TaskKind,
    pub note: Option<Vec<u8>>,
    pub due_at: NaiveDateTime,
    pub assignee_id: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub created_by: Option<UserId>,
    pub done_at: Option<NaiveDateTime>,
    pub done_by: Option<UserId>,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_task(
    conn: &mut DbConn,
    key: &DataKey,
    case: CaseId,
    kind: TaskKind,
    note: Option<&str>,
    due_at: NaiveDateTime,
    assignee: Option<UserId>,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<TaskRow, AppError> {
    Ok(diesel::insert_into(case_tasks::table)
        .values((
            case_tasks::case_id.eq(case),
            case_tasks::kind.eq(kind),
            case_tasks::note.eq(seal(key, field::TASK_NOTE, note)),
            case_tasks::due_at.eq(due_at),
            case_tasks::assignee_id.eq(assignee),
            case_tasks::created_at.eq(now),
            case_tasks::created_by.eq(by),
        ))
        .returning(crate::db::columns::<TaskRow>())
        .get_result(conn)?)
}

pub fn tasks_of(conn: &mut DbConn, case: CaseId) -> Result<Vec<TaskRow>, AppError> {
    Ok(case_tasks::table
        .filter(case_tasks::case_id.eq(case))
        .order((case_tasks::done_at.is_not_null(), case_tasks::due_at.asc()))
        .select(TaskRow::as_select())
        .load(conn)?)
}

/// Marks a task done; 409 when it already is.
pub fn finish_task(
    conn: &mut DbConn,
    case: CaseId,
    id: TaskId,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<TaskRow, AppError> {
    let updated = diesel::update(
        case_tasks::table
            .filter(case_tasks::id.eq(id))
            .filter(case_tasks::case_id.eq(case))
            .filter(case_tasks::done_at.is_null()),
    )
    .set((case_tasks::done_at.eq(Some(now)), case_tasks::done_by.eq(by)))
    .returning(crate::db::columns::<TaskRow>())
    .get_result(conn)
    .optional()?;
    match updated {
        Some(t) => Ok(t),
        None => {
            // Either no such task of this case, or already done.
            case_tasks::table
                .filter(case_tasks::id.eq(id))
                .filter(case_tasks::case_id.eq(case))
                .select(case_tasks::id)
                .first::<TaskId>(conn)?;
            Err(AppError::Conflict("the task is already done".into()))
        }
    }
}

/// Open tasks of the cases `user` runs or is assigned, due before `until`, soonest first, with
/// the case reference: the dashboard's "due today" and "overdue".
pub fn open_tasks_for(
    conn: &mut DbConn,
    user: UserId,
    until: NaiveDateTime,
) -> Result<Vec<(TaskRow, String)>, AppError> {
    Ok(case_tasks::table
        .inner_join(cases::table)
        .filter(case_tasks::done_at.is_null())
        .filter(case_tasks::due_at.lt(until))
        .filter(
            case_tasks::assignee_id
                .eq(user)
                .or(case_tasks::assignee_id.is_null().and(cases::operator_id.eq(user))),
        )
        .order(case_tasks::due_at.asc())
        .select((TaskRow::as_select(), cases::reference))
        .limit(200)
        .load(conn)?)
}

// ----- flags -----

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = case_flags)]
pub struct FlagRow {
    pub id: FlagId,
    pub case_id: CaseId,
    pub kind: FlagKind,
    pub reason: Option<Vec<u8>>,
    pub raised_at: NaiveDateTime,
    pub raised_by: Option<UserId>,
    pub cleared_at: Option<NaiveDateTime>,
    pub cleared_by: Option<UserId>,
}

pub fn raise_flag(
    conn: &mut DbConn,
    key: &DataKey,
    case: CaseId,
    kind: FlagKind,
    reason: &str,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<FlagRow, AppError> {
    Ok(diesel::insert_into(case_flags::table)
        .values((
            case_flags::case_id.eq(case),
            case_flags::kind.eq(kind),
            case_flags::reason.eq(seal(key, field::FLAG_REASON, Some(reason))),
            case_flags::raised_at.eq(now),
            case_flags::raised_by.eq(by),
        ))
        .returning(crate::db::columns::<FlagRow>())
        .get_result(conn)?)
}

pub fn clear_flag(
    conn: &mut DbConn,
    case: CaseId,
    id: FlagId,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<FlagRow, AppError> {
    let updated = diesel::update(
        case_flags::table
            .filter(case_flags::id.eq(id))
            .filter(case_flags::case_id.eq(case))
            .filter(case_flags::cleared_at.is_null()),
    )
    .set((case_flags::cleared_at.eq(Some(now)), case_flags::cleared_by.eq(by)))
    .returning(crate::db::columns::<FlagRow>())
    .get_result(conn)
    .optional()?;
    match updated {
        Some(f) => Ok(f),
        None => {
            case_flags::table
                .filter(case_flags::id.eq(id))
                .filter(case_flags::case_id.eq(case))
                .select(case_flags::id)
                .first::<FlagId>(conn)?;
            Err(AppError::Conflict("the flag is already cleared".into()))
        }
    }
}

pub fn flags_of(conn: &mut DbConn, case: CaseId) -> Result<Vec<FlagRow>, AppError> {
    Ok(case_flags::table
        .filter(case_flags::case_id.eq(case))
        .order(case_flags::id.asc())
        .select(FlagRow::as_select())
        .load(conn)?)
}

/// The kinds of the flags still raised on each of `cases` (lists show them).
pub fn raised_flags(conn: &mut DbConn, cases: &[CaseId]) -> Result<Vec<(CaseId, FlagKind)>, AppError> {
    Ok(case_flags::table
        .filter(case_flags::case_id.eq_any(cases))
        .filter(case_flags::cleared_at.is_null())
        .select((case_flags::case_id, case_flags::kind))
        .load(conn)?)
}

// ----- assessment -----

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = assessment_notes)]
pub struct NoteRow {
    pub id: i64,
    pub case_id: CaseId,
    pub at: NaiveDateTime,
    pub author_id: Option<UserId>,
    pub body: Vec<u8>,
}

pub fn add_note(
    conn: &mut DbConn,
    key: &DataKey,
    case: CaseId,
    body: &str,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<NoteRow, AppError> {
    Ok(diesel::insert_into(assessment_notes::table)
        .values((
            assessment_notes::case_id.eq(case),
            assessment_notes::at.eq(now),
            assessment_notes::author_id.eq(by),
            assessment_notes::body.eq(key.seal_str(field::ASSESSMENT_NOTE, body).into_bytes()),
        ))
        .returning(crate::db::columns::<NoteRow>())
        .get_result(conn)?)
}

pub fn notes_of(conn: &mut DbConn, case: CaseId) -> Result<Vec<NoteRow>, AppError> {
    Ok(assessment_notes::table
        .filter(assessment_notes::case_id.eq(case))
        .order(assessment_notes::id.asc())
        .select(NoteRow::as_select())
        .load(conn)?)
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = assessments)]
pub struct AssessmentRow {
    pub id: i64,
    pub case_id: CaseId,
    pub instrument_version: String,
    pub assessed_at: NaiveDateTime,
    pub assessed_by: Option<UserId>,
}

/// A checklist as recorded: the instrument's version, each item's answer, the agencies.
#[derive(Clone, Debug)]
pub struct Checklist {
    pub row: AssessmentRow,
    pub answers: Vec<(String, Answer)>,
    pub agencies: Vec<Agency>,
}

pub fn add_assessment(
    conn: &mut DbConn,
    case: CaseId,
    instrument_version: &str,
    answers: &[(String, Answer)],
    agencies: &[Agency],
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<AssessmentRow, AppError> {
    let row: AssessmentRow = diesel::insert_into(assessments::table)
        .values((
            assessments::case_id.eq(case),
            assessments::instrument_version.eq(instrument_version),
            assessments::assessed_at.eq(now),
            assessments::assessed_by.eq(by),
        ))
        .returning(crate::db::columns::<AssessmentRow>())
        .get_result(conn)?;
    let rows: Vec<_> = answers
        .iter()
        .map(|(item, a)| {
            (
                assessment_answers::assessment_id.eq(row.id),
                assessment_answers::item.eq(item.clone()),
                assessment_answers::answer.eq(*a),
            )
        })
        .collect();
    crate::insert_rows!(conn, assessment_answers::table, rows)?;
    let rows: Vec<_> = agencies
        .iter()
        .map(|a| {
            (
                assessment_agencies::assessment_id.eq(row.id),
                assessment_agencies::agency.eq(*a),
            )
        })
        .collect();
    crate::insert_rows!(conn, assessment_agencies::table, rows)?;
    Ok(row)
}

pub fn checklists_of(conn: &mut DbConn, case: CaseId) -> Result<Vec<Checklist>, AppError> {
    let rows: Vec<AssessmentRow> = assessments::table
        .filter(assessments::case_id.eq(case))
        .order(assessments::id.asc())
        .select(AssessmentRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let answers: Vec<(i64, String, Answer)> = assessment_answers::table
        .filter(assessment_answers::assessment_id.eq_any(&ids))
        .order(assessment_answers::item.asc())
        .select((
            assessment_answers::assessment_id,
            assessment_answers::item,
            assessment_answers::answer,
        ))
        .load(conn)?;
    let agencies: Vec<(i64, Agency)> = assessment_agencies::table
        .filter(assessment_agencies::assessment_id.eq_any(&ids))
        .select((assessment_agencies::assessment_id, assessment_agencies::agency))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| Checklist {
            answers: answers
                .iter()
                .filter(|a| a.0 == row.id)
                .map(|a| (a.1.clone(), a.2))
                .collect(),
            agencies: agencies.iter().filter(|a| a.0 == row.id).map(|a| a.1).collect(),
            row,
        })
        .collect())
}

// ----- outcomes -----

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = case_outcomes)]
pub struct OutcomeRow {
    pub id: i64,
    pub case_id: CaseId,
    pub kind: OutcomeKind,
    pub project_id: Option<String>,
    pub transfer_state: Option<TransferState>,
    pub consent: Option<bool>,
    pub decided_at: NaiveDateTime,
    pub decided_by: Option<UserId>,
}

pub fn add_outcome(
    conn: &mut DbConn,
    case: CaseId,
    kind: OutcomeKind,
    project: Option<String>,
    consent: Option<bool>,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<OutcomeRow, AppError> {
    let state = (kind == OutcomeKind::Transfer).then_some(TransferState::Pending);
    Ok(diesel::insert_into(case_outcomes::table)
        .values((
            case_outcomes::case_id.eq(case),
            case_outcomes::kind.eq(kind),
            case_outcomes::project_id.eq(project),
            case_outcomes::transfer_state.eq(state),
            case_outcomes::consent.eq(consent),
            case_outcomes::decided_at.eq(now),
            case_outcomes::decided_by.eq(by),
        ))
        .returning(crate::db::columns::<OutcomeRow>())
        .get_result(conn)?)
}

/// The receiving project's answer to a transfer (only a pending one can be answered).
pub fn answer_transfer(conn: &mut DbConn, case: CaseId, id: i64, state: TransferState) -> Result<OutcomeRow, AppError> {
    let updated = diesel::update(
        case_outcomes::table
            .filter(case_outcomes::id.eq(id))
            .filter(case_outcomes::case_id.eq(case))
            .filter(case_outcomes::transfer_state.eq(TransferState::Pending)),
    )
    .set(case_outcomes::transfer_state.eq(Some(state)))
    .returning(crate::db::columns::<OutcomeRow>())
    .get_result(conn)
    .optional()?;
    match updated {
        Some(o) => Ok(o),
        None => {
            case_outcomes::table
                .filter(case_outcomes::id.eq(id))
                .filter(case_outcomes::case_id.eq(case))
                .select(case_outcomes::id)
                .first::<i64>(conn)?;
            Err(AppError::Conflict("only a pending transfer can be answered".into()))
        }
    }
}

pub fn outcomes_of(conn: &mut DbConn, case: CaseId) -> Result<Vec<OutcomeRow>, AppError> {
    Ok(case_outcomes::table
        .filter(case_outcomes::case_id.eq(case))
        .order(case_outcomes::id.asc())
        .select(OutcomeRow::as_select())
        .load(conn)?)
}
