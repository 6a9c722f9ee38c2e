//! Casework use cases: a caller and the application, no HTTP (the API, the pages and the
//! command line share them). Case contents are for the crisis unit: coordinators see every case,
//! operators the cases they run or are booked or tasked on (need to know); mediators only the
//! bookings made with them. Every read and write is audited, refusals included.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::lifecycle::CaseAction;
use super::store::{self, CaseEvent, CaseFilter, CaseRow};
use super::vocab::{
    Agency, Answer, CaseEventKind, FlagKind, InterviewKind, InterviewStatus, OutcomeKind, Setting, TaskKind,
    TransferState,
};
use super::work::{self, Checklist, FlagRow, InterviewRow, NewInterview, NoteRow, OutcomeRow, TaskRow};
use crate::accounts::users;
use crate::app::App;
use crate::audit::{self, Event, Outcome};
use crate::crypto::DataKey;
use crate::db::schema::{case_tasks, interview_staff, interviews, user_languages, users as users_t};
use crate::db::DbConn;
use crate::domain::{Caller, CaseId, FlagId, InterviewId, ReferralId, Role, TaskId, UserId, Version};
use crate::error::{AppError, FieldError};
use crate::notify::Template;
use crate::referrals::service::{self as referrals, actor_of, Action};
use crate::referrals::store::{Actor, Referral};
use crate::referrals::vocab::MediatorAnswer;

/// Takes a referral in charge and, in the same transaction, opens the case about its person or
/// joins that person's open case.
pub async fn take_charge(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected: Version,
) -> Result<(Referral, CaseId), AppError> {
    let keys = app.keys();
    referrals::act_then(
        app,
        caller,
        id,
        expected,
        Action::TakeCharge,
        move |conn, referral, actor, now| store::open_or_join(conn, &keys, referral, actor, now),
    )
    .await
}

/// The person withdraws consent on a referral (the referral's personal data erased, see
/// `referrals`). When the case answering it answers no referral that still has consent, the
/// case's own key is destroyed too, in the same transaction — interview and assessment notes,
/// task notes, flag reasons and letters become unreadable for good — and the case is closed.
/// The erasure goes to the erasure ledger like the referral's.
pub async fn withdraw_consent(
    app: &App,
    caller: &Caller,
    id: ReferralId,
    expected: Version,
) -> Result<Referral, AppError> {
    let keys = app.keys();
    let (referral, erasure) = referrals::act_then(
        app,
        caller,
        id,
        expected,
        Action::WithdrawConsent,
        move |conn, referral, actor, now| {
            let Some(case_id) = store::case_of_referral(conn, referral.id())? else {
                return Ok(None);
            };
            for other in store::referrals_of(conn, case_id)? {
                if other != referral.id()
                    && crate::referrals::store::get(conn, other)?.status()
                        != crate::referrals::vocab::Status::Restricted
                {
                    return Ok(None);
                }
            }
            let case = store::get(conn, case_id)?;
            let Some(key_id) = case.data_key_id else {
                return Ok(None);
            };
            let erasure = crate::crypto::store::erasure_of(conn, &keys, key_id)?;
            crate::crypto::store::destroy(conn, key_id, now)?;
            if case.status.is_open() && case.status != super::vocab::CaseStatus::Received {
                store::apply(conn, &case, case.version, CaseAction::Close, actor, now)?;
            }
            Ok(erasure)
        },
    )
    .await?;
    if let Some(e) = erasure {
        app.db.truncate_wal_soon();
        let path = crate::crypto::ledger::path_for(&app.settings);
        if let Err(err) = crate::crypto::ledger::append(&path, &[e]) {
            tracing::error!(error = %err, "a case's erasure not written to the erasure ledger");
        }
    }
    Ok(referral)
}

/// After a link or an unlink (see `persons`): a case that answers only this referral follows
/// its person, so that the case names the person the unit decided it is about. A case answering
/// several referrals keeps its person (the unit reviews it on the case page).
pub async fn follow_person(app: &App, caller: &Caller, referral: ReferralId) -> Result<(), AppError> {
    unit_member(caller)?;
    audit::write(app, caller, &[], move |tx| {
        let Some(case_id) = store::case_of_referral(tx.conn, referral)? else {
            tx.nothing_to_audit();
            return Ok(());
        };
        let Some(person) = store::person_of(tx.conn, referral)? else {
            tx.nothing_to_audit();
            return Ok(());
        };
        let case = store::get(tx.conn, case_id)?;
        if case.person_id == person || store::referrals_of(tx.conn, case_id)?.len() != 1 {
            tx.nothing_to_audit();
            return Ok(());
        }
        diesel::update(crate::db::schema::cases::table.find(case_id))
            .set((
                crate::db::schema::cases::person_id.eq(person),
                crate::db::schema::cases::version.eq(case.version.next()),
                crate::db::schema::cases::updated_at.eq(tx.caller().now),
            ))
            .execute(tx.conn)?;
        tx.audit(Event::new("case.person").entity("case", case_id))?;
        Ok(())
    })
    .await
}

/// Who may open a case: coordinators any; operators theirs (run, booked, tasked).
pub fn may_open(conn: &mut DbConn, caller: &Caller, case: &CaseRow) -> Result<bool, AppError> {
    let (Some(role), Some(user)) = (caller.role, caller.user_id()) else {
        return Ok(false);
    };
    match role {
        Role::Coordinator => Ok(true),
        Role::Operator => {
            if case.operator_id == Some(user) {
                return Ok(true);
            }
            let tasked: i64 = case_tasks::table
                .filter(case_tasks::case_id.eq(case.id))
                .filter(case_tasks::assignee_id.eq(user))
                .count()
                .get_result(conn)?;
            if tasked > 0 {
                return Ok(true);
            }
            let booked: i64 = interviews::table
                .inner_join(interview_staff::table)
                .filter(interviews::case_id.eq(case.id))
                .filter(interview_staff::user_id.eq(user))
                .count()
                .get_result(conn)?;
            Ok(booked > 0)
        }
        _ => Ok(false),
    }
}

/// An enabled user of one of `roles`, named in `field`: the one check every booking, task and
/// reassignment makes of the people it names.
fn enabled_user(
    conn: &mut DbConn,
    id: UserId,
    field: &str,
    roles: &[Role],
    wrong: &str,
) -> Result<crate::accounts::users::UserRow, AppError> {
    let user = users::get(conn, id).map_err(|e| match e {
        AppError::NotFound => AppError::invalid(field, "no such user"),
        e => e,
    })?;
    if user.disabled || !roles.contains(&user.role) {
        return Err(AppError::invalid(field, wrong));
    }
    Ok(user)
}

const UNIT_ROLES: &[Role] = &[Role::Operator, Role::Coordinator];

fn unit_member(caller: &Caller) -> Result<UserId, AppError> {
    match (caller.role, caller.user_id()) {
        (Some(Role::Coordinator | Role::Operator), Some(u)) => Ok(u),
        _ => Err(AppError::Forbidden),
    }
}

/// [`visible`], for the parts of a case kept elsewhere (its written feedback).
pub(crate) fn visible_case(conn: &mut DbConn, caller: &Caller, id: CaseId) -> Result<CaseRow, AppError> {
    visible(conn, caller, id)
}

/// Loads a case the caller may open, or 404 (a case they may not open does not exist for them).
fn visible(conn: &mut DbConn, caller: &Caller, id: CaseId) -> Result<CaseRow, AppError> {
    let case = store::get(conn, id)?;
    if !may_open(conn, caller, &case)? {
        return Err(AppError::NotFound);
    }
    Ok(case)
}

/// A refusal is audited with the case asked for.
async fn audited<T>(
    app: &App,
    caller: &Caller,
    action: &'static str,
    id: CaseId,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    if matches!(result, Err(AppError::NotFound | AppError::Forbidden)) {
        let event = Event::new(action).entity("case", id).outcome(Outcome::Denied);
        if let Err(e) = audit::record_now(app, caller, event).await {
            tracing::error!(error = %e, "a refusal could not be audited");
        }
    }
    result
}

/// A referral of a case, as the case page lists it.
#[derive(Clone, Debug)]
pub struct CaseReferral {
    pub referral: Referral,
    pub alias: Option<String>,
}

/// Everything the case page shows, opened for a unit member.
#[derive(Clone, Debug)]
pub struct CaseFile {
    pub case: CaseRow,
    pub referrals: Vec<CaseReferral>,
    pub events: Vec<CaseEvent>,
    pub interviews: Vec<InterviewFile>,
    pub tasks: Vec<(TaskRow, Option<String>)>,
    pub flags: Vec<(FlagRow, Option<String>)>,
    pub notes: Vec<(NoteRow, Option<String>)>,
    pub checklists: Vec<Checklist>,
    pub outcomes: Vec<OutcomeRow>,
    /// Display names of the people named anywhere in the file.
    pub names: HashMap<UserId, String>,
}

#[derive(Clone, Debug)]
pub struct InterviewFile {
    pub row: InterviewRow,
    pub staff: Vec<UserId>,
    pub others: Option<String>,
    pub notes: Option<String>,
}

impl CaseFile {
    /// The flags still raised (shown on every view of the case).
    pub fn raised(&self) -> impl Iterator<Item = &(FlagRow, Option<String>)> {
        self.flags.iter().filter(|(f, _)| f.cleared_at.is_none())
    }

    pub fn name(&self, user: Option<UserId>) -> String {
        user.and_then(|u| self.names.get(&u).cloned()).unwrap_or_default()
    }
}

fn load_file(conn: &mut DbConn, keys: &crate::crypto::Keyring, case: CaseRow) -> Result<CaseFile, AppError> {
    let key = store::key(conn, keys, &case)?;
    let k = key.as_ref();
    let mut referrals_of = Vec::new();
    for rid in store::referrals_of(conn, case.id)? {
        let referral = crate::referrals::store::get(conn, rid)?;
        // Only the alias: the rest of the referral's sealed fields stay closed here.
        let alias = crate::referrals::store::person_fields(conn, keys, &referral.row)?.and_then(|p| p.alias);
        referrals_of.push(CaseReferral { referral, alias });
    }
    let rows = work::interviews_of(conn, case.id)?;
    let ids: Vec<InterviewId> = rows.iter().map(|r| r.id).collect();
    let staff = work::staff_of(conn, &ids)?;
    let interviews = rows
        .into_iter()
        .map(|row| InterviewFile {
            staff: staff.iter().filter(|(i, _)| *i == row.id).map(|(_, u)| *u).collect(),
            others: work::open(k, work::field::INTERVIEW_OTHERS, row.others.as_deref()),
            notes: work::open(k, work::field::INTERVIEW_NOTES, row.notes.as_deref()),
            row,
        })
        .collect::<Vec<_>>();
    let tasks = work::tasks_of(conn, case.id)?
        .into_iter()
        .map(|t| {
            let note = work::open(k, work::field::TASK_NOTE, t.note.as_deref());
            (t, note)
        })
        .collect::<Vec<_>>();
    let flags = work::flags_of(conn, case.id)?
        .into_iter()
        .map(|f| {
            let reason = work::open(k, work::field::FLAG_REASON, f.reason.as_deref());
            (f, reason)
        })
        .collect::<Vec<_>>();
    let notes = work::notes_of(conn, case.id)?
        .into_iter()
        .map(|n| {
            let body = work::open(k, work::field::ASSESSMENT_NOTE, Some(&n.body));
            (n, body)
        })
        .collect::<Vec<_>>();
    let events = store::events(conn, case.id)?;
    let checklists = work::checklists_of(conn, case.id)?;
    let outcomes = work::outcomes_of(conn, case.id)?;
    let mut people: HashSet<UserId> = HashSet::new();
    people.extend(case.operator_id);
    people.extend(
        events
            .iter()
            .flat_map(|e| [e.actor_user_id, e.subject_user_id])
            .flatten(),
    );
    for i in &interviews {
        people.extend(i.row.mediator_id);
        people.extend(i.staff.iter().copied());
    }
    people.extend(
        tasks
            .iter()
            .flat_map(|(t, _)| [t.assignee_id, t.created_by, t.done_by])
            .flatten(),
    );
    people.extend(notes.iter().filter_map(|(n, _)| n.author_id));
    let people: Vec<UserId> = people.into_iter().collect();
    let names: HashMap<UserId, String> = users_t::table
        .filter(users_t::id.eq_any(&people))
        .select((users_t::id, users_t::display_name))
        .load::<(UserId, String)>(conn)?
        .into_iter()
        .collect();
    Ok(CaseFile {
        case,
        referrals: referrals_of,
        events,
        interviews,
        tasks,
        flags,
        notes,
        checklists,
        outcomes,
        names,
    })
}

/// The case file (audited).
pub async fn read(app: &App, caller: &Caller, id: CaseId) -> Result<CaseFile, AppError> {
    let (c, keys) = (caller.clone(), app.keys());
    let result = async {
        unit_member(caller)?;
        audit::read(app, caller, move |conn| {
            let case = visible(conn, &c, id)?;
            let file = load_file(conn, &keys, case)?;
            Ok((file, Event::new("case.read").entity("case", id)))
        })
        .await
    }
    .await;
    audited(app, caller, "case.read", id, result).await
}

/// The case answering a referral, if the caller may open it.
pub async fn case_of_referral(app: &App, caller: &Caller, referral: ReferralId) -> Result<Option<CaseId>, AppError> {
    unit_member(caller)?;
    let c = caller.clone();
    app.db
        .read(move |conn| {
            let Some(id) = store::case_of_referral(conn, referral)? else {
                return Ok(None);
            };
            let case = store::get(conn, id)?;
            Ok(may_open(conn, &c, &case)?.then_some(id))
        })
        .await
}

/// The kinds of the flags raised on a case (no reason, nothing personal): the referral's page
/// repeats them beside the link to the case.
pub async fn raised_flags(app: &App, id: CaseId) -> Result<Vec<FlagKind>, AppError> {
    app.db
        .read(move |conn| Ok(work::raised_flags(conn, &[id])?.into_iter().map(|(_, k)| k).collect()))
        .await
}

/// A line of the case list.
#[derive(Clone, Debug)]
pub struct CaseLine {
    pub case: CaseRow,
    pub flags: Vec<FlagKind>,
    pub operator: Option<String>,
}

/// Cases: a coordinator's filter over all, an operator's own ("my cases").
pub async fn list(app: &App, caller: &Caller, mut filter: CaseFilter) -> Result<Vec<CaseLine>, AppError> {
    let me = unit_member(caller)?;
    if caller.role == Some(Role::Operator) {
        // Need to know: the cases they may open (run, tasked, booked), as `may_open` says.
        filter.member = Some(me);
    }
    audit::read(app, caller, move |conn| {
        let rows = store::list(conn, &filter)?;
        let ids: Vec<CaseId> = rows.iter().map(|r| r.id).collect();
        let flags = work::raised_flags(conn, &ids)?;
        let ops: Vec<UserId> = rows.iter().filter_map(|r| r.operator_id).collect();
        let names: HashMap<UserId, String> = users_t::table
            .filter(users_t::id.eq_any(&ops))
            .select((users_t::id, users_t::display_name))
            .load::<(UserId, String)>(conn)?
            .into_iter()
            .collect();
        let n = rows.len();
        let lines = rows
            .into_iter()
            .map(|case| CaseLine {
                flags: flags.iter().filter(|(c, _)| *c == case.id).map(|(_, k)| *k).collect(),
                operator: case.operator_id.and_then(|o| names.get(&o).cloned()),
                case,
            })
            .collect();
        Ok((lines, Event::new("case.list").detail(format!("{n} cases"))))
    })
    .await
}

/// The operator's dashboard: their open cases, tasks due today and overdue.
pub struct Dashboard {
    pub cases: Vec<CaseLine>,
    pub overdue: Vec<(TaskRow, String)>,
    pub due_today: Vec<(TaskRow, String)>,
    pub bookings: Vec<(InterviewRow, String)>,
}

pub async fn dashboard(app: &App, caller: &Caller) -> Result<Dashboard, AppError> {
    let me = unit_member(caller)?;
    let cases = list(
        app,
        caller,
        CaseFilter {
            operator: Some(me),
            open_only: true,
            limit: 200,
            ..CaseFilter::default()
        },
    )
    .await?;
    let now = caller.now;
    let end_of_day = crate::clock::rome_end_of_day(now);
    let (tasks, bookings) = app
        .db
        .read(move |conn| {
            let tasks = work::open_tasks_for(conn, me, end_of_day)?;
            let day_after = end_of_day + chrono::Duration::days(7);
            let bookings = work::calendar(conn, now, day_after)?
                .into_iter()
                .filter(|(i, _)| i.status == InterviewStatus::Planned)
                .collect::<Vec<_>>();
            let mine: Vec<InterviewId> = bookings.iter().map(|(i, _)| i.id).collect();
            let staff = work::staff_of(conn, &mine)?;
            let bookings = bookings
                .into_iter()
                .filter(|(i, _)| i.mediator_id == Some(me) || staff.iter().any(|(s, u)| *s == i.id && *u == me))
                .collect();
            Ok((tasks, bookings))
        })
        .await?;
    let (overdue, due_today) = tasks.into_iter().partition(|(t, _)| t.due_at <= now);
    Ok(Dashboard {
        cases,
        overdue,
        due_today,
        bookings,
    })
}

/// A change to a case the caller may open, with its audit entry; `expected` is the case version
/// the change was based on (transitions and reassignment), `None` for parts added to it.
async fn change<T: Send + 'static>(
    app: &App,
    caller: &Caller,
    id: CaseId,
    action: &'static str,
    make: impl FnOnce(&mut DbConn, &CaseRow, Option<&DataKey>, &Actor, NaiveDateTime) -> Result<T, AppError>
        + Send
        + 'static,
) -> Result<T, AppError> {
    let result = async {
        unit_member(caller)?;
        let (c, keys, actor) = (caller.clone(), app.keys(), actor_of(caller));
        audit::write(app, caller, &[], move |tx| {
            let now = tx.caller().now;
            let case = visible(tx.conn, &c, id)?;
            let key = store::key(tx.conn, &keys, &case)?;
            let out = make(tx.conn, &case, key.as_ref(), &actor, now)?;
            tx.audit(Event::new(action).entity("case", id))?;
            Ok(out)
        })
        .await
    }
    .await;
    audited(app, caller, action, id, result).await
}

fn need_key(key: Option<&DataKey>) -> Result<&DataKey, AppError> {
    key.ok_or_else(|| AppError::Conflict("the case's personal data was erased".into()))
}

/// Moves a case (close, reopen, start the assessment, …) if still at `expected`.
pub async fn transition(
    app: &App,
    caller: &Caller,
    id: CaseId,
    expected: Version,
    action: CaseAction,
) -> Result<CaseRow, AppError> {
    change(app, caller, id, "case.transition", move |conn, case, _, actor, now| {
        store::apply(conn, case, expected, action, actor, now)
    })
    .await
}

/// Gives the case to another operator (coordinators); the operator is told by email.
pub async fn reassign(
    app: &App,
    caller: &Caller,
    id: CaseId,
    expected: Version,
    to: UserId,
) -> Result<CaseRow, AppError> {
    if caller.role != Some(Role::Coordinator) {
        return audited(app, caller, "case.reassign", id, Err(AppError::Forbidden)).await;
    }
    let settings = app.settings.clone();
    change(app, caller, id, "case.reassign", move |conn, case, _, actor, now| {
        let user = enabled_user(
            conn,
            to,
            "operator_id",
            UNIT_ROLES,
            "must be an operator or a coordinator of the unit",
        )?;
        let row = store::reassign(conn, case, expected, to, actor, now)?;
        if let Some(email) = user.email {
            let link = case_link(&settings, row.id);
            let msg = crate::notify::NewMessage::from_template(Template::CaseAssigned, &email, &row.reference, &link);
            crate::notify::enqueue(conn, &msg, now)?;
        }
        Ok(row)
    })
    .await
}

pub fn case_link(settings: &crate::config::Settings, id: CaseId) -> String {
    format!("{}/cases/{}", settings.base_url(), id.get())
}

/// What a booking asks for, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct InterviewInput {
    pub kind: Option<InterviewKind>,
    pub starts_at: Option<String>,
    pub minutes: Option<i64>,
    pub setting: Option<Setting>,
    pub joint: Option<bool>,
    pub language: Option<String>,
    pub mediator_id: Option<i64>,
    pub staff: Vec<i64>,
    pub others: Option<String>,
}

/// A booking made, with what the unit should know about it.
#[derive(Clone, Debug)]
pub struct Booked {
    pub interview: InterviewRow,
    /// No mediator of the unit speaks the interview's language (flagged when planned).
    pub language_uncovered: bool,
}

impl InterviewInput {
    /// Checks the shape and the rules that need no database, all errors at once.
    pub fn check(&self, now: NaiveDateTime) -> Result<NewInterview, AppError> {
        let mut errors = Vec::new();
        let starts_at = match self.starts_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                errors.push(FieldError::new("starts_at", "is required"));
                None
            }
            Some(s) => match crate::domain::time::parse_instant(s) {
                Some(t) => Some(t),
                None => {
                    errors.push(FieldError::new(
                        "starts_at",
                        "must be a date and time, e.g. 2026-11-25T10:30",
                    ));
                    None
                }
            },
        };
        let minutes = self.minutes.unwrap_or(60);
        if !(10..=480).contains(&minutes) {
            errors.push(FieldError::new("minutes", "must be between 10 and 480"));
        }
        let kind = self.kind.unwrap_or(InterviewKind::Planned);
        if let Some(t) = starts_at {
            // Planned in the past is a typing mistake; an emergency interview may be logged
            // once it has begun.
            if kind == InterviewKind::Planned && t < now - chrono::Duration::hours(1) {
                errors.push(FieldError::new("starts_at", "must not be in the past"));
            }
        }
        let setting = match self.setting {
            Some(s) => Some(s),
            None => {
                errors.push(FieldError::new("setting", "is required"));
                None
            }
        };
        let language = match self.language.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(l) => match crate::domain::parse_language(l) {
                Some(code) => Some(code),
                None => {
                    errors.push(FieldError::new("language", "must be a language of the list"));
                    None
                }
            },
        };
        if self.others.as_deref().is_some_and(|o| o.chars().count() > 2000) {
            errors.push(FieldError::new("others", "must be at most 2000 characters long"));
        }
        let (Some(starts_at), Some(setting)) = (starts_at, setting) else {
            return Err(AppError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut staff: Vec<UserId> = self.staff.iter().map(|u| UserId(*u)).collect();
        staff.sort();
        staff.dedup();
        Ok(NewInterview {
            kind,
            starts_at,
            ends_at: starts_at + chrono::Duration::minutes(minutes),
            setting,
            joint: self.joint.unwrap_or(false),
            language,
            mediator_id: self.mediator_id.map(UserId),
            staff,
            others: self.others.clone().filter(|o| !o.trim().is_empty()),
        })
    }
}

/// Whether a mediator of the unit (enabled) speaks `language`.
fn language_covered(conn: &mut DbConn, language: &str) -> Result<bool, AppError> {
    let n: i64 = users_t::table
        .inner_join(user_languages::table)
        .filter(users_t::role.eq(Role::Mediator))
        .filter(users_t::disabled.eq(false))
        .filter(user_languages::language.eq(language))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Plans an interview: refused (409) when the mediator or a staff member is booked elsewhere at
/// an overlapping time, naming that booking; the mediator is asked to accept.
pub async fn plan_interview(app: &App, caller: &Caller, id: CaseId, input: InterviewInput) -> Result<Booked, AppError> {
    let new = input.check(caller.now)?;
    let settings = app.settings.clone();
    change(
        app,
        caller,
        id,
        "case.interview_plan",
        move |conn, case, key, actor, now| {
            let key = need_key(key)?;
            let mediator = match new.mediator_id {
                Some(m) => Some(enabled_user(
                    conn,
                    m,
                    "mediator_id",
                    &[Role::Mediator],
                    "must be a mediator of the unit",
                )?),
                None => None,
            };
            for s in &new.staff {
                enabled_user(
                    conn,
                    *s,
                    "staff",
                    UNIT_ROLES,
                    "must be operators or coordinators of the unit",
                )?;
            }
            let people: Vec<UserId> = new.mediator_id.into_iter().chain(new.staff.iter().copied()).collect();
            if let Some(c) = work::clash(conn, &people, new.starts_at, new.ends_at, None)? {
                let who = users::get(conn, c.user)?.display_name;
                return Err(AppError::Conflict(format!(
                    "{who} is already booked from {} to {} (case {})",
                    crate::clock::rome_display(c.starts_at),
                    crate::clock::rome_time(c.ends_at),
                    c.case_reference
                )));
            }
            let language_uncovered = match &new.language {
                Some(l) => !language_covered(conn, l)?,
                None => false,
            };
            let row = work::insert_interview(conn, key, case.id, &new, actor.user_id, now)?;
            // The first interview moves the case on; later ones leave its state.
            store::apply(conn, case, case.version, CaseAction::PlanInterview, actor, now)?;
            let detail = format!("{} {}", new.setting.as_str(), crate::clock::rome_display(new.starts_at));
            store::event(
                conn,
                case.id,
                actor,
                CaseEventKind::InterviewPlanned,
                new.mediator_id,
                Some(detail),
                now,
            )?;
            if let Some(m) = mediator {
                if let Some(email) = m.email {
                    let link = case_link(&settings, case.id);
                    let msg = crate::notify::NewMessage::from_template(
                        Template::InterviewBooked,
                        &email,
                        &case.reference,
                        &link,
                    );
                    crate::notify::enqueue(conn, &msg, now)?;
                }
            }
            Ok(Booked {
                interview: row,
                language_uncovered,
            })
        },
    )
    .await
}

/// Records an interview as held, with its outcome notes (sealed); the case moves on.
pub async fn hold_interview(
    app: &App,
    caller: &Caller,
    id: CaseId,
    interview: InterviewId,
    expected: Version,
    notes: Option<String>,
) -> Result<InterviewRow, AppError> {
    if notes.as_deref().is_some_and(|n| n.chars().count() > 20_000) {
        return Err(AppError::invalid("notes", "must be at most 20000 characters long"));
    }
    change(
        app,
        caller,
        id,
        "case.interview_update",
        move |conn, case, key, actor, now| {
            let key = need_key(key)?;
            let current = work::interview(conn, case.id, interview)?;
            if current.status != InterviewStatus::Planned {
                return Err(AppError::Conflict(
                    "only a planned interview can be recorded as held".into(),
                ));
            }
            let sealed = notes
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(|n| work::seal_notes(key, n));
            let row = work::update_interview(
                conn,
                &current,
                expected,
                InterviewStatus::Held,
                current.mediator_answer,
                sealed,
                now,
            )?;
            store::apply(conn, case, case.version, CaseAction::HoldInterview, actor, now)?;
            store::event(conn, case.id, actor, CaseEventKind::InterviewHeld, None, None, now)?;
            Ok(row)
        },
    )
    .await
}

pub async fn cancel_interview(
    app: &App,
    caller: &Caller,
    id: CaseId,
    interview: InterviewId,
    expected: Version,
) -> Result<InterviewRow, AppError> {
    change(
        app,
        caller,
        id,
        "case.interview_update",
        move |conn, case, _, actor, now| {
            let current = work::interview(conn, case.id, interview)?;
            if current.status != InterviewStatus::Planned {
                return Err(AppError::Conflict("only a planned interview can be cancelled".into()));
            }
            let row = work::update_interview(
                conn,
                &current,
                expected,
                InterviewStatus::Cancelled,
                current.mediator_answer,
                current.notes.clone(),
                now,
            )?;
            store::event(conn, case.id, actor, CaseEventKind::InterviewCancelled, None, None, now)?;
            Ok(row)
        },
    )
    .await
}

/// The booked mediator accepts or declines (only their own booking; others see nothing of it).
pub async fn answer_booking(
    app: &App,
    caller: &Caller,
    id: CaseId,
    interview: InterviewId,
    expected: Version,
    answer: MediatorAnswer,
) -> Result<InterviewRow, AppError> {
    let me = caller.user_id();
    let actor = actor_of(caller);
    let result = audit::write(app, caller, &[], move |tx| {
        let now = tx.caller().now;
        let current = work::interview(tx.conn, id, interview)?;
        if me.is_none() || current.mediator_id != me {
            return Err(AppError::NotFound);
        }
        if current.status != InterviewStatus::Planned {
            return Err(AppError::Conflict("only a planned interview can be answered".into()));
        }
        let row = work::update_interview(
            tx.conn,
            &current,
            expected,
            current.status,
            Some(answer),
            current.notes.clone(),
            now,
        )?;
        let kind = match answer {
            MediatorAnswer::Accepted => CaseEventKind::MediatorAccepted,
            MediatorAnswer::Declined => CaseEventKind::MediatorDeclined,
        };
        store::event(tx.conn, id, &actor, kind, me, None, now)?;
        tx.audit(Event::new("case.interview_answer").entity("interview", interview))?;
        Ok(row)
    })
    .await;
    audited(app, caller, "case.interview_answer", id, result).await
}

/// A booking as a mediator sees it: what the interview needs, never the case.
#[derive(Clone, Debug)]
pub struct Booking {
    pub interview: InterviewRow,
    pub case_reference: String,
}

/// The calendar: planned and held interviews in `[from, to)`. Unit members see all; a mediator
/// only the bookings made with them.
pub async fn calendar(
    app: &App,
    caller: &Caller,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(Booking, Vec<String>)>, AppError> {
    let role = caller.role;
    let me = caller.user_id();
    if !matches!(role, Some(Role::Coordinator | Role::Operator | Role::Mediator)) {
        return Err(AppError::Forbidden);
    }
    audit::read(app, caller, move |conn| {
        let rows = work::calendar(conn, from, to)?;
        let rows: Vec<_> = match role {
            Some(Role::Mediator) => rows
                .into_iter()
                .filter(|(i, _)| i.mediator_id.is_some() && i.mediator_id == me)
                .collect(),
            _ => rows,
        };
        let ids: Vec<InterviewId> = rows.iter().map(|(i, _)| i.id).collect();
        let staff = work::staff_of(conn, &ids)?;
        let people: Vec<UserId> = staff
            .iter()
            .map(|(_, u)| *u)
            .chain(rows.iter().filter_map(|(i, _)| i.mediator_id))
            .collect();
        let names: HashMap<UserId, String> = users_t::table
            .filter(users_t::id.eq_any(&people))
            .select((users_t::id, users_t::display_name))
            .load::<(UserId, String)>(conn)?
            .into_iter()
            .collect();
        let n = rows.len();
        let out = rows
            .into_iter()
            .map(|(interview, case_reference)| {
                let who: Vec<String> = interview
                    .mediator_id
                    .into_iter()
                    .chain(staff.iter().filter(|(i, _)| *i == interview.id).map(|(_, u)| *u))
                    .filter_map(|u| names.get(&u).cloned())
                    .collect();
                (
                    Booking {
                        interview,
                        case_reference,
                    },
                    who,
                )
            })
            .collect();
        Ok((out, Event::new("calendar.read").detail(format!("{n} interviews"))))
    })
    .await
}

/// Adds a task (due in Rome time), for the case's operator unless assigned.
pub async fn add_task(
    app: &App,
    caller: &Caller,
    id: CaseId,
    kind: TaskKind,
    note: Option<String>,
    due_at: NaiveDateTime,
    assignee: Option<UserId>,
) -> Result<TaskRow, AppError> {
    if note.as_deref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::invalid("note", "must be at most 2000 characters long"));
    }
    change(app, caller, id, "case.task", move |conn, case, key, actor, now| {
        let key = need_key(key)?;
        if let Some(a) = assignee {
            enabled_user(
                conn,
                a,
                "assignee_id",
                UNIT_ROLES,
                "must be an operator or a coordinator of the unit",
            )?;
        }
        let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let row = work::insert_task(conn, key, case.id, kind, note, due_at, assignee, actor.user_id, now)?;
        store::event(
            conn,
            case.id,
            actor,
            CaseEventKind::TaskAdded,
            assignee,
            Some(kind.as_str().to_owned()),
            now,
        )?;
        Ok(row)
    })
    .await
}

pub async fn finish_task(app: &App, caller: &Caller, id: CaseId, task: TaskId) -> Result<TaskRow, AppError> {
    change(app, caller, id, "case.task", move |conn, case, _, actor, now| {
        let row = work::finish_task(conn, case.id, task, actor.user_id, now)?;
        store::event(
            conn,
            case.id,
            actor,
            CaseEventKind::TaskDone,
            None,
            Some(row.kind.as_str().to_owned()),
            now,
        )?;
        Ok(row)
    })
    .await
}

pub async fn raise_flag(
    app: &App,
    caller: &Caller,
    id: CaseId,
    kind: FlagKind,
    reason: String,
) -> Result<FlagRow, AppError> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() {
        return Err(AppError::invalid("reason", "is required"));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::invalid("reason", "must be at most 500 characters long"));
    }
    change(app, caller, id, "case.flag", move |conn, case, key, actor, now| {
        let key = need_key(key)?;
        let row = work::raise_flag(conn, key, case.id, kind, &reason, actor.user_id, now)?;
        store::event(
            conn,
            case.id,
            actor,
            CaseEventKind::FlagRaised,
            None,
            Some(kind.as_str().to_owned()),
            now,
        )?;
        Ok(row)
    })
    .await
}

pub async fn clear_flag(app: &App, caller: &Caller, id: CaseId, flag: FlagId) -> Result<FlagRow, AppError> {
    change(app, caller, id, "case.flag", move |conn, case, _, actor, now| {
        let row = work::clear_flag(conn, case.id, flag, actor.user_id, now)?;
        store::event(
            conn,
            case.id,
            actor,
            CaseEventKind::FlagCleared,
            None,
            Some(row.kind.as_str().to_owned()),
            now,
        )?;
        Ok(row)
    })
    .await
}

/// A dated note of the assessment continuum (sealed).
pub async fn add_note(app: &App, caller: &Caller, id: CaseId, body: String) -> Result<NoteRow, AppError> {
    let body = body.trim().to_owned();
    if body.is_empty() {
        return Err(AppError::invalid("body", "is required"));
    }
    if body.chars().count() > 20_000 {
        return Err(AppError::invalid("body", "must be at most 20000 characters long"));
    }
    change(app, caller, id, "case.note", move |conn, case, key, actor, now| {
        let key = need_key(key)?;
        let row = work::add_note(conn, key, case.id, &body, actor.user_id, now)?;
        store::event(conn, case.id, actor, CaseEventKind::NoteAdded, None, None, now)?;
        Ok(row)
    })
    .await
}

/// Records a checklist against the current instrument; unknown items are refused by name. The
/// first one moves an interviewed case into the assessment.
pub async fn assess(
    app: &App,
    caller: &Caller,
    id: CaseId,
    answers: Vec<(String, Answer)>,
    agencies: Vec<Agency>,
) -> Result<Checklist, AppError> {
    let instrument = app.protocols.assessment.clone();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (item, _) in &answers {
        if instrument.item(item).is_none() {
            errors.push(FieldError::new(
                format!("answers.{item}"),
                "is not an item of the checklist",
            ));
        }
        if !seen.insert(item.clone()) {
            errors.push(FieldError::new(format!("answers.{item}"), "is answered twice"));
        }
    }
    if answers.is_empty() {
        errors.push(FieldError::new("answers", "is required"));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let mut agencies = agencies;
    agencies.sort();
    agencies.dedup();
    change(app, caller, id, "case.assessment", move |conn, case, _, actor, now| {
        let row = work::add_assessment(
            conn,
            case.id,
            &instrument.version,
            &answers,
            &agencies,
            actor.user_id,
            now,
        )?;
        if matches!(case.status, super::vocab::CaseStatus::Interviewed) {
            store::apply(conn, case, case.version, CaseAction::Assess, actor, now)?;
        }
        store::event(
            conn,
            case.id,
            actor,
            CaseEventKind::AssessmentRecorded,
            None,
            Some(instrument.version.clone()),
            now,
        )?;
        Ok(Checklist { row, answers, agencies })
    })
    .await
}

/// Records an outcome; a transfer names the receiving regional project and needs the person's
/// consent. The first one decides the case's outcome.
pub async fn decide_outcome(
    app: &App,
    caller: &Caller,
    id: CaseId,
    kind: OutcomeKind,
    project: Option<String>,
    consent: Option<bool>,
) -> Result<OutcomeRow, AppError> {
    let mut errors = Vec::new();
    let project = project.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
    match (kind, &project) {
        (OutcomeKind::Transfer | OutcomeKind::Art18Programme, Some(p))
            if !app.protocols.projects.iter().any(|x| &x.id == p) =>
        {
            errors.push(FieldError::new("project_id", "is not a regional Art. 18 project"));
        }
        (OutcomeKind::Transfer, None) => errors.push(FieldError::new("project_id", "is required for a transfer")),
        (OutcomeKind::Transfer | OutcomeKind::Art18Programme, _) => {}
        (_, Some(_)) => errors.push(FieldError::new(
            "project_id",
            "applies only to a programme or a transfer",
        )),
        _ => {}
    }
    if kind == OutcomeKind::Transfer && consent != Some(true) {
        errors.push(FieldError::new("consent", "a transfer needs the person's consent"));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    change(app, caller, id, "case.outcome", move |conn, case, _, actor, now| {
        use super::vocab::CaseStatus as S;
        let row = work::add_outcome(conn, case.id, kind, project, consent, actor.user_id, now)?;
        match case.status {
            S::Interviewed | S::Assessment => {
                store::apply(conn, case, case.version, CaseAction::DecideOutcome, actor, now)?;
            }
            S::OutcomeDecided | S::FeedbackSent => {}
            // Counselling or a workshop may close a contact without an interview; the rest needs one.
            _ => {
                return Err(AppError::IllegalTransition {
                    state: case.status.as_str(),
                    action: CaseAction::DecideOutcome.as_str(),
                })
            }
        }
        store::event(
            conn,
            case.id,
            actor,
            CaseEventKind::OutcomeRecorded,
            None,
            Some(kind.as_str().to_owned()),
            now,
        )?;
        Ok(row)
    })
    .await
}

/// The receiving project's answer to a transfer, recorded by the unit.
pub async fn answer_transfer(
    app: &App,
    caller: &Caller,
    id: CaseId,
    outcome: i64,
    state: TransferState,
) -> Result<OutcomeRow, AppError> {
    if state == TransferState::Pending {
        return Err(AppError::invalid("state", "must be accepted or declined"));
    }
    change(app, caller, id, "case.outcome", move |conn, case, _, actor, now| {
        let row = work::answer_transfer(conn, case.id, outcome, state)?;
        store::event(
            conn,
            case.id,
            actor,
            CaseEventKind::OutcomeRecorded,
            None,
            Some(format!("transfer {}", state.as_str())),
            now,
        )?;
        Ok(row)
    })
    .await
}
