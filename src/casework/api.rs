//! `/api/v1/cases` and `/api/v1/calendar`: the crisis unit's cases, their interviews, tasks,
//! flags, assessment notes and checklists, outcomes.

use std::collections::HashSet;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::lifecycle::CaseAction;
use super::service::{self, CaseFile, CaseLine, InterviewInput};
use super::store::CaseFilter;
use super::vocab::{
    Agency, Answer, CaseEventKind, CaseStatus, FlagKind, InterviewKind, InterviewStatus, OutcomeKind, Setting,
    TaskKind, TransferState,
};
use super::work::{FlagRow, InterviewRow, OutcomeRow, TaskRow};
use crate::auth::Access;
use crate::clock::rome;
use crate::domain::{CaseId, FlagId, InterviewId, ReferralId, Role, TaskId, UserId};
use crate::error::{AppError, Problem};
use crate::referrals::vocab::{Channel, MediatorAnswer, Urgency};
use crate::web::json::versioned;
use crate::web::{expected_version, ApiJson, ApiQuery, Ctx, PathId, RouteDef, SubId};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const COORDINATOR: Access = Access::Roles(&[Role::Coordinator]);
const MEDIATOR: Access = Access::Roles(&[Role::Mediator]);
const BOOKED: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Mediator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/cases", UNIT, list_cases),
        RouteDef::new(Method::GET, "/api/v1/cases/{id}", UNIT, get_case),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/transitions", UNIT, transition),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/reassign", COORDINATOR, reassign),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/interviews", UNIT, plan_interview),
        RouteDef::new(
            Method::POST,
            "/api/v1/cases/{id}/interviews/{sub}/held",
            UNIT,
            hold_interview,
        ),
        RouteDef::new(
            Method::POST,
            "/api/v1/cases/{id}/interviews/{sub}/cancel",
            UNIT,
            cancel_interview,
        ),
        RouteDef::new(
            Method::POST,
            "/api/v1/cases/{id}/interviews/{sub}/answer",
            MEDIATOR,
            answer_booking,
        ),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/tasks", UNIT, add_task),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/tasks/{sub}/done", UNIT, finish_task),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/flags", UNIT, raise_flag),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/flags/{sub}/clear", UNIT, clear_flag),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/notes", UNIT, add_note),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/assessments", UNIT, assess),
        RouteDef::new(Method::POST, "/api/v1/cases/{id}/outcomes", UNIT, decide_outcome),
        RouteDef::new(
            Method::POST,
            "/api/v1/cases/{id}/outcomes/{sub}/answer",
            UNIT,
            answer_transfer,
        ),
        RouteDef::new(Method::GET, "/api/v1/calendar", BOOKED, calendar),
    ]
}

// ----- views -----

/// A person of the unit, named.
#[derive(Serialize, ToSchema)]
pub struct StaffRef {
    pub id: i64,
    pub name: String,
}

/// A line of the case list.
#[derive(Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub reference: String,
    pub status: CaseStatus,
    pub person_id: i64,
    pub operator: Option<StaffRef>,
    pub opened_at: DateTime<FixedOffset>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    /// Flags still raised (a risk to staff, …): shown wherever the case is.
    pub flags: Vec<FlagKind>,
    pub version: i64,
}

impl CaseSummary {
    fn of(l: &CaseLine) -> CaseSummary {
        CaseSummary {
            id: l.case.id.get(),
            reference: l.case.reference.clone(),
            status: l.case.status,
            person_id: l.case.person_id.get(),
            operator: l.case.operator_id.map(|o| StaffRef {
                id: o.get(),
                name: l.operator.clone().unwrap_or_default(),
            }),
            opened_at: rome(l.case.opened_at),
            closed_at: l.case.closed_at.map(rome),
            flags: l.flags.clone(),
            version: l.case.version.get(),
        }
    }
}

/// A referral the case answers.
#[derive(Serialize, ToSchema)]
pub struct CaseReferralView {
    pub id: i64,
    pub reference: String,
    pub channel: Channel,
    pub source_kind: crate::domain::SourceKind,
    pub urgency: Urgency,
    pub received_at: DateTime<FixedOffset>,
    /// The pseudonym the referral gave (sealed at rest).
    pub alias: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InterviewView {
    pub id: i64,
    pub kind: InterviewKind,
    pub status: InterviewStatus,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub setting: Setting,
    pub joint: bool,
    /// ISO 639 code.
    pub language: Option<String>,
    pub mediator: Option<StaffRef>,
    pub mediator_answer: Option<MediatorAnswer>,
    pub staff: Vec<StaffRef>,
    /// Participants from outside the unit (sealed at rest).
    pub others: Option<String>,
    /// Outcome notes (sealed at rest).
    pub notes: Option<String>,
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TaskView {
    pub id: i64,
    pub kind: TaskKind,
    pub note: Option<String>,
    pub due_at: DateTime<FixedOffset>,
    pub assignee: Option<StaffRef>,
    pub done_at: Option<DateTime<FixedOffset>>,
    pub overdue: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FlagView {
    pub id: i64,
    pub kind: FlagKind,
    pub reason: Option<String>,
    pub raised_at: DateTime<FixedOffset>,
    pub cleared_at: Option<DateTime<FixedOffset>>,
}

#[derive(Serialize, ToSchema)]
pub struct NoteView {
    pub id: i64,
    pub at: DateTime<FixedOffset>,
    pub author: Option<StaffRef>,
    pub body: Option<String>,
}

/// A checklist, with the instrument's reading of it.
#[derive(Serialize, ToSchema)]
pub struct ChecklistView {
    pub id: i64,
    pub instrument_version: String,
    pub assessed_at: DateTime<FixedOffset>,
    pub answers: Vec<AnswerView>,
    pub agencies: Vec<Agency>,
    /// Elements present by the instrument's rule (scored with the current instrument when it is
    /// the version recorded).
    pub elements_present: Vec<String>,
    /// Indications of trafficking by the instrument's rule: an aid to judgement, not a decision.
    pub indications: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerView {
    pub item: String,
    pub answer: Answer,
}

#[derive(Serialize, ToSchema)]
pub struct OutcomeView {
    pub id: i64,
    pub kind: OutcomeKind,
    pub project_id: Option<String>,
    pub transfer_state: Option<TransferState>,
    pub consent: Option<bool>,
    pub decided_at: DateTime<FixedOffset>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseEventView {
    pub at: DateTime<FixedOffset>,
    pub kind: CaseEventKind,
    pub actor: Option<String>,
    pub about: Option<StaffRef>,
    pub detail: Option<String>,
}

/// A case as the unit reads it.
#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: i64,
    pub reference: String,
    pub status: CaseStatus,
    pub person_id: i64,
    pub operator: Option<StaffRef>,
    pub opened_at: DateTime<FixedOffset>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub referrals: Vec<CaseReferralView>,
    pub flags: Vec<FlagView>,
    pub tasks: Vec<TaskView>,
    pub interviews: Vec<InterviewView>,
    pub notes: Vec<NoteView>,
    pub assessments: Vec<ChecklistView>,
    pub outcomes: Vec<OutcomeView>,
    pub timeline: Vec<CaseEventView>,
    pub version: i64,
}

fn staff(file: &CaseFile, u: Option<UserId>) -> Option<StaffRef> {
    u.map(|u| StaffRef {
        id: u.get(),
        name: file.name(Some(u)),
    })
}

pub fn interview_view(file: &CaseFile, i: &service::InterviewFile) -> InterviewView {
    InterviewView {
        id: i.row.id.get(),
        kind: i.row.kind,
        status: i.row.status,
        starts_at: rome(i.row.starts_at),
        ends_at: rome(i.row.ends_at),
        setting: i.row.setting,
        joint: i.row.joint,
        language: i.row.language.clone(),
        mediator: staff(file, i.row.mediator_id),
        mediator_answer: i.row.mediator_answer,
        staff: i.staff.iter().filter_map(|u| staff(file, Some(*u))).collect(),
        others: i.others.clone(),
        notes: i.notes.clone(),
        version: i.row.version.get(),
    }
}

impl CaseView {
    pub fn new(
        file: &CaseFile,
        instrument: &crate::protocols::assessment::Instrument,
        now: chrono::NaiveDateTime,
    ) -> CaseView {
        let c = &file.case;
        CaseView {
            id: c.id.get(),
            reference: c.reference.clone(),
            status: c.status,
            person_id: c.person_id.get(),
            operator: staff(file, c.operator_id),
            opened_at: rome(c.opened_at),
            closed_at: c.closed_at.map(rome),
            referrals: file
                .referrals
                .iter()
                .map(|r| CaseReferralView {
                    id: r.referral.id().get(),
                    reference: r.referral.row.reference.clone(),
                    channel: r.referral.row.channel,
                    source_kind: r.referral.row.source_kind,
                    urgency: r.referral.row.urgency,
                    received_at: rome(r.referral.row.received_at),
                    alias: r.alias.clone(),
                })
                .collect(),
            flags: file
                .flags
                .iter()
                .map(|(f, reason)| FlagView {
                    id: f.id.get(),
                    kind: f.kind,
                    reason: reason.clone(),
                    raised_at: rome(f.raised_at),
                    cleared_at: f.cleared_at.map(rome),
                })
                .collect(),
            tasks: file
                .tasks
                .iter()
                .map(|(t, note)| TaskView {
                    id: t.id.get(),
                    kind: t.kind,
                    note: note.clone(),
                    due_at: rome(t.due_at),
                    assignee: staff(file, t.assignee_id),
                    done_at: t.done_at.map(rome),
                    overdue: t.done_at.is_none() && t.due_at <= now,
                })
                .collect(),
            interviews: file.interviews.iter().map(|i| interview_view(file, i)).collect(),
            notes: file
                .notes
                .iter()
                .map(|(n, body)| NoteView {
                    id: n.id,
                    at: rome(n.at),
                    author: staff(file, n.author_id),
                    body: body.clone(),
                })
                .collect(),
            assessments: file.checklists.iter().map(|c| checklist_view(c, instrument)).collect(),
            outcomes: file.outcomes.iter().map(outcome_view).collect(),
            timeline: file
                .events
                .iter()
                .map(|e| CaseEventView {
                    at: rome(e.at),
                    kind: e.kind,
                    actor: e.actor_label.clone(),
                    about: staff(file, e.subject_user_id),
                    detail: e.detail.clone(),
                })
                .collect(),
            version: c.version.get(),
        }
    }
}

pub fn checklist_view(
    c: &super::work::Checklist,
    instrument: &crate::protocols::assessment::Instrument,
) -> ChecklistView {
    let present: HashSet<&str> = c
        .answers
        .iter()
        .filter(|(_, a)| *a == Answer::Present)
        .map(|(i, _)| i.as_str())
        .collect();
    // A checklist is read with the instrument it was recorded with; another version is not scored.
    let score = (c.row.instrument_version == instrument.version).then(|| instrument.score(&present));
    ChecklistView {
        id: c.row.id,
        instrument_version: c.row.instrument_version.clone(),
        assessed_at: rome(c.row.assessed_at),
        answers: c
            .answers
            .iter()
            .map(|(item, answer)| AnswerView {
                item: item.clone(),
                answer: *answer,
            })
            .collect(),
        agencies: c.agencies.clone(),
        elements_present: score
            .as_ref()
            .map(|s| s.elements.iter().filter(|(_, p)| *p).map(|(e, _)| e.clone()).collect())
            .unwrap_or_default(),
        indications: score.map(|s| s.indications),
    }
}

fn outcome_view(o: &OutcomeRow) -> OutcomeView {
    OutcomeView {
        id: o.id,
        kind: o.kind,
        project_id: o.project_id.clone(),
        transfer_state: o.transfer_state,
        consent: o.consent,
        decided_at: rome(o.decided_at),
    }
}

// ----- handlers -----

/// Filters of the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    pub status: Option<CaseStatus>,
    /// Only the cases not closed.
    pub open: Option<bool>,
    /// The case answering this referral.
    pub referral_id: Option<i64>,
    /// 1–500 (default 100).
    pub limit: Option<i64>,
}

/// Cases: a coordinator's over all, an operator's own.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery), operation_id = "list_cases",
    responses((status = 200, body = Vec<CaseSummary>)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn list_cases(ctx: Ctx, q: ApiQuery<CaseQuery>) -> Result<HttpResponse, AppError> {
    let q = q.0;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request("limit", "must be between 1 and 500"));
    }
    let lines: Vec<CaseSummary> = match q.referral_id {
        None => service::list(
            &ctx.state,
            &ctx.caller(),
            CaseFilter {
                status: q.status,
                open_only: q.open.unwrap_or(false),
                limit,
                ..CaseFilter::default()
            },
        )
        .await?
        .iter()
        .map(CaseSummary::of)
        .collect(),
        // The case answering a referral: that one only, not the list read and thrown away.
        Some(r) => match service::case_of_referral(&ctx.state, &ctx.caller(), ReferralId(r)).await? {
            None => Vec::new(),
            Some(id) => {
                let file = service::read(&ctx.state, &ctx.caller(), id).await?;
                vec![CaseSummary::of(&CaseLine {
                    flags: file.raised().map(|(f, _)| f.kind).collect(),
                    operator: file.case.operator_id.map(|o| file.name(Some(o))),
                    case: file.case,
                })]
            }
        },
    };
    Ok(HttpResponse::Ok().json(lines))
}

async fn case_response(ctx: &Ctx, id: CaseId, status: StatusCode) -> Result<HttpResponse, AppError> {
    let file = service::read(&ctx.state, &ctx.caller(), id).await?;
    let view = CaseView::new(&file, &ctx.state.protocols.assessment, ctx.now);
    Ok(versioned(status, &view, file.case.version, None))
}

/// A case whole: referrals, flags, tasks, interviews, assessment, outcomes, timeline.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), operation_id = "get_case",
    responses((status = 200, body = CaseView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn get_case(ctx: Ctx, id: PathId<CaseId>) -> Result<HttpResponse, AppError> {
    case_response(&ctx, id.0, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    pub action: CaseAction,
    pub version: Option<i64>,
}

/// Moves the case (`close`, `reopen`, `assess`, …); an illegal move is refused naming the state
/// and the action.
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", params(("id" = i64, Path)), operation_id = "case_transition",
    request_body = TransitionInput, responses((status = 200, body = CaseView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn transition(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    body: ApiJson<TransitionInput>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    service::transition(&ctx.state, &ctx.caller(), id.0, expected, body.0.action).await?;
    case_response(&ctx, id.0, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignInput {
    pub operator_id: i64,
    pub version: Option<i64>,
}

/// Gives the case to another operator (coordinators); the operator is told by email.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reassign", tag = "cases", params(("id" = i64, Path)), operation_id = "reassign_case",
    request_body = ReassignInput, responses((status = 200, body = CaseView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn reassign(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    body: ApiJson<ReassignInput>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    service::reassign(&ctx.state, &ctx.caller(), id.0, expected, UserId(body.0.operator_id)).await?;
    case_response(&ctx, id.0, StatusCode::OK).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterviewBody {
    /// `planned` (default) or `emergency`.
    pub kind: Option<InterviewKind>,
    /// Europe/Rome local time (`2026-11-26T10:30`) or RFC 3339.
    pub starts_at: String,
    /// 10–480 (default 60).
    pub minutes: Option<i64>,
    pub setting: Setting,
    /// Held together with the referrer's operators.
    pub joint: Option<bool>,
    /// ISO 639 code of the language of the interview.
    pub language: Option<String>,
    pub mediator_id: Option<i64>,
    /// Operators and coordinators of the unit taking part.
    #[serde(default)]
    pub staff: Vec<i64>,
    /// Participants from outside the unit (sealed at rest).
    pub others: Option<String>,
}

/// A booking made.
#[derive(Serialize, ToSchema)]
pub struct BookedView {
    pub interview: InterviewView,
    /// No mediator of the unit speaks the interview's language: find one before the day.
    pub language_uncovered: bool,
}

/// Plans an interview; a mediator or staff member already booked at an overlapping time is
/// refused (409) with the clashing booking named; the mediator is asked to accept by email.
#[utoipa::path(post, path = "/api/v1/cases/{id}/interviews", tag = "cases", params(("id" = i64, Path)), operation_id = "plan_interview",
    request_body = InterviewBody, responses((status = 201, body = BookedView),
        (status = 409, body = Problem, description = "Someone booked is already booked at an overlapping time (the booking is named)")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn plan_interview(
    ctx: Ctx,
    id: PathId<CaseId>,
    body: ApiJson<InterviewBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let input = InterviewInput {
        kind: b.kind,
        starts_at: Some(b.starts_at),
        minutes: b.minutes,
        setting: Some(b.setting),
        joint: b.joint,
        language: b.language,
        mediator_id: b.mediator_id,
        staff: b.staff,
        others: b.others,
    };
    let booked = service::plan_interview(&ctx.state, &ctx.caller(), id.0, input).await?;
    let file = service::read(&ctx.state, &ctx.caller(), id.0).await?;
    let i = file
        .interviews
        .iter()
        .find(|i| i.row.id == booked.interview.id)
        .ok_or(AppError::NotFound)?;
    let view = BookedView {
        interview: interview_view(&file, i),
        language_uncovered: booked.language_uncovered,
    };
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldInput {
    pub version: Option<i64>,
    /// What came of it (sealed at rest).
    pub notes: Option<String>,
}

fn interview_of(file: &CaseFile, id: InterviewId) -> Result<InterviewView, AppError> {
    file.interviews
        .iter()
        .find(|i| i.row.id == id)
        .map(|i| interview_view(file, i))
        .ok_or(AppError::NotFound)
}

async fn interview_response(ctx: &Ctx, case: CaseId, row: &InterviewRow) -> Result<HttpResponse, AppError> {
    let file = service::read(&ctx.state, &ctx.caller(), case).await?;
    Ok(versioned(
        StatusCode::OK,
        &interview_of(&file, row.id)?,
        row.version,
        None,
    ))
}

/// Records the interview as held, with its notes.
#[utoipa::path(post, path = "/api/v1/cases/{id}/interviews/{sub}/held", tag = "cases", params(("id" = i64, Path), ("sub" = i64, Path)), operation_id = "hold_interview",
    request_body = HeldInput, responses((status = 200, body = InterviewView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn hold_interview(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    sub: SubId<InterviewId>,
    body: ApiJson<HeldInput>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    let row = service::hold_interview(&ctx.state, &ctx.caller(), id.0, sub.0, expected, body.0.notes).await?;
    interview_response(&ctx, id.0, &row).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterviewVersion {
    pub version: Option<i64>,
}

/// Cancels a planned interview (its slot is free again).
#[utoipa::path(post, path = "/api/v1/cases/{id}/interviews/{sub}/cancel", tag = "cases", params(("id" = i64, Path), ("sub" = i64, Path)), operation_id = "cancel_interview",
    request_body = InterviewVersion, responses((status = 200, body = InterviewView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn cancel_interview(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    sub: SubId<InterviewId>,
    body: ApiJson<InterviewVersion>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    let row = service::cancel_interview(&ctx.state, &ctx.caller(), id.0, sub.0, expected).await?;
    interview_response(&ctx, id.0, &row).await
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingAnswer {
    pub version: Option<i64>,
    pub answer: MediatorAnswer,
}

/// A booking as its mediator sees it: when, where, the language; never the case.
#[derive(Serialize, ToSchema)]
pub struct BookingView {
    pub id: i64,
    pub case_id: i64,
    pub case_reference: String,
    pub kind: InterviewKind,
    pub status: InterviewStatus,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub setting: Setting,
    pub language: Option<String>,
    pub mediator_answer: Option<MediatorAnswer>,
    /// Who is booked (names).
    pub people: Vec<String>,
    pub version: i64,
}

fn booking_view(b: &service::Booking, people: Vec<String>) -> BookingView {
    let i = &b.interview;
    BookingView {
        id: i.id.get(),
        case_id: i.case_id.get(),
        case_reference: b.case_reference.clone(),
        kind: i.kind,
        status: i.status,
        starts_at: rome(i.starts_at),
        ends_at: rome(i.ends_at),
        setting: i.setting,
        language: i.language.clone(),
        mediator_answer: i.mediator_answer,
        people,
        version: i.version.get(),
    }
}

/// The booked mediator accepts or declines.
#[utoipa::path(post, path = "/api/v1/cases/{id}/interviews/{sub}/answer", tag = "cases", params(("id" = i64, Path), ("sub" = i64, Path)), operation_id = "answer_booking",
    request_body = BookingAnswer, responses((status = 200, body = BookingView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn answer_booking(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<CaseId>,
    sub: SubId<InterviewId>,
    body: ApiJson<BookingAnswer>,
) -> Result<HttpResponse, AppError> {
    let expected = expected_version(&req, body.0.version)?;
    let row = service::answer_booking(&ctx.state, &ctx.caller(), id.0, sub.0, expected, body.0.answer).await?;
    let from = row.starts_at;
    let bookings = service::calendar(&ctx.state, &ctx.caller(), from, row.ends_at).await?;
    let (b, people) = bookings
        .into_iter()
        .find(|(b, _)| b.interview.id == row.id)
        .ok_or(AppError::NotFound)?;
    Ok(versioned(StatusCode::OK, &booking_view(&b, people), row.version, None))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub kind: TaskKind,
    /// Sealed at rest.
    pub note: Option<String>,
    /// Europe/Rome local time or RFC 3339.
    pub due_at: String,
    /// Default: the case's operator.
    pub assignee_id: Option<i64>,
}

fn task_view(t: &TaskRow, note: Option<String>, now: chrono::NaiveDateTime) -> TaskView {
    TaskView {
        id: t.id.get(),
        kind: t.kind,
        note,
        due_at: rome(t.due_at),
        assignee: t.assignee_id.map(|a| StaffRef {
            id: a.get(),
            name: String::new(),
        }),
        done_at: t.done_at.map(rome),
        overdue: t.done_at.is_none() && t.due_at <= now,
    }
}

/// Adds a task with its due time.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks", tag = "cases", params(("id" = i64, Path)), operation_id = "add_task",
    request_body = TaskInput, responses((status = 201, body = TaskView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn add_task(ctx: Ctx, id: PathId<CaseId>, body: ApiJson<TaskInput>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let due = crate::domain::time::parse_instant(&b.due_at)
        .ok_or_else(|| AppError::invalid("due_at", "must be a date and time, e.g. 2026-11-25T10:30"))?;
    let note = b.note.clone();
    let row = service::add_task(
        &ctx.state,
        &ctx.caller(),
        id.0,
        b.kind,
        b.note,
        due,
        b.assignee_id.map(UserId),
    )
    .await?;
    Ok(HttpResponse::Created().json(task_view(&row, note, ctx.now)))
}

/// Marks a task done.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks/{sub}/done", tag = "cases", params(("id" = i64, Path), ("sub" = i64, Path)), operation_id = "finish_task",
    responses((status = 200, body = TaskView), (status = 409, body = Problem, description = "The task is already done")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn finish_task(ctx: Ctx, id: PathId<CaseId>, sub: SubId<TaskId>) -> Result<HttpResponse, AppError> {
    let row = service::finish_task(&ctx.state, &ctx.caller(), id.0, sub.0).await?;
    Ok(HttpResponse::Ok().json(task_view(&row, None, ctx.now)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagInput {
    pub kind: FlagKind,
    /// Why (sealed at rest); shown with the flag.
    pub reason: String,
}

fn flag_view(f: &FlagRow, reason: Option<String>) -> FlagView {
    FlagView {
        id: f.id.get(),
        kind: f.kind,
        reason,
        raised_at: rome(f.raised_at),
        cleared_at: f.cleared_at.map(rome),
    }
}

/// Raises a flag, shown on every view of the case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/flags", tag = "cases", params(("id" = i64, Path)), operation_id = "raise_flag",
    request_body = FlagInput, responses((status = 201, body = FlagView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn raise_flag(
    ctx: Ctx,
    id: PathId<CaseId>,
    body: ApiJson<FlagInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let reason = b.reason.clone();
    let row = service::raise_flag(&ctx.state, &ctx.caller(), id.0, b.kind, b.reason).await?;
    Ok(HttpResponse::Created().json(flag_view(&row, Some(reason.trim().to_owned()))))
}

/// Clears a flag.
#[utoipa::path(post, path = "/api/v1/cases/{id}/flags/{sub}/clear", tag = "cases", params(("id" = i64, Path), ("sub" = i64, Path)), operation_id = "clear_flag",
    responses((status = 200, body = FlagView), (status = 409, body = Problem, description = "The flag is already cleared")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn clear_flag(ctx: Ctx, id: PathId<CaseId>, sub: SubId<FlagId>) -> Result<HttpResponse, AppError> {
    let row = service::clear_flag(&ctx.state, &ctx.caller(), id.0, sub.0).await?;
    Ok(HttpResponse::Ok().json(flag_view(&row, None)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// Sealed at rest.
    pub body: String,
}

/// Adds a dated note to the assessment continuum.
#[utoipa::path(post, path = "/api/v1/cases/{id}/notes", tag = "cases", params(("id" = i64, Path)), operation_id = "add_note",
    request_body = NoteInput, responses((status = 201, body = NoteView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn add_note(ctx: Ctx, id: PathId<CaseId>, body: ApiJson<NoteInput>) -> Result<HttpResponse, AppError> {
    let text = body.0.body.trim().to_owned();
    let row = service::add_note(&ctx.state, &ctx.caller(), id.0, body.0.body).await?;
    Ok(HttpResponse::Created().json(NoteView {
        id: row.id,
        at: rome(row.at),
        author: ctx.caller().user_id().map(|u| StaffRef {
            id: u.get(),
            name: String::new(),
        }),
        body: Some(text),
    }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// Item ids of `protocols/assessment.toml` with what was observed.
    pub answers: std::collections::BTreeMap<String, Answer>,
    #[serde(default)]
    pub agencies: Vec<Agency>,
}

/// Records a checklist against the current instrument; the answer says which elements are
/// present and whether there are indications of trafficking by the instrument's rule.
#[utoipa::path(post, path = "/api/v1/cases/{id}/assessments", tag = "cases", params(("id" = i64, Path)), operation_id = "record_assessment",
    request_body = AssessmentInput, responses((status = 201, body = ChecklistView)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn assess(
    ctx: Ctx,
    id: PathId<CaseId>,
    body: ApiJson<AssessmentInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let answers = b.answers.into_iter().collect();
    let c = service::assess(&ctx.state, &ctx.caller(), id.0, answers, b.agencies).await?;
    Ok(HttpResponse::Created().json(checklist_view(&c, &ctx.state.protocols.assessment)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    pub kind: OutcomeKind,
    /// The regional Art. 18 project (a programme, a transfer).
    pub project_id: Option<String>,
    /// The person's consent (required for a transfer).
    pub consent: Option<bool>,
}

/// Records an outcome.
#[utoipa::path(post, path = "/api/v1/cases/{id}/outcomes", tag = "cases", params(("id" = i64, Path)), operation_id = "decide_outcome",
    request_body = OutcomeInput, responses((status = 201, body = OutcomeView),
        (status = 409, body = Problem, description = "The case's state does not allow an outcome yet (`state`, `action`)")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn decide_outcome(
    ctx: Ctx,
    id: PathId<CaseId>,
    body: ApiJson<OutcomeInput>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let row = service::decide_outcome(&ctx.state, &ctx.caller(), id.0, b.kind, b.project_id, b.consent).await?;
    Ok(HttpResponse::Created().json(outcome_view(&row)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferAnswer {
    /// `accepted` or `declined`.
    pub state: TransferState,
}

/// Records the receiving project's answer to a transfer.
#[utoipa::path(post, path = "/api/v1/cases/{id}/outcomes/{sub}/answer", tag = "cases", params(("id" = i64, Path), ("sub" = i64, Path)), operation_id = "answer_transfer",
    request_body = TransferAnswer, responses((status = 200, body = OutcomeView),
        (status = 409, body = Problem, description = "Only a pending transfer can be answered")), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn answer_transfer(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<i64>,
    body: ApiJson<TransferAnswer>,
) -> Result<HttpResponse, AppError> {
    let row = service::answer_transfer(&ctx.state, &ctx.caller(), id.0, sub.0, body.0.state).await?;
    Ok(HttpResponse::Ok().json(outcome_view(&row)))
}

/// Which days of the calendar.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// First day (YYYY-MM-DD, Europe/Rome); default today.
    pub from: Option<NaiveDate>,
    /// 1–31 (default 7).
    pub days: Option<i64>,
}

/// The bounds `[from, to)` of a calendar query, in stored UTC.
pub fn calendar_bounds(
    now: chrono::NaiveDateTime,
    from: Option<NaiveDate>,
    days: Option<i64>,
) -> Result<(chrono::NaiveDateTime, chrono::NaiveDateTime), AppError> {
    let days = days.unwrap_or(7);
    if !(1..=31).contains(&days) {
        return Err(AppError::bad_request("days", "must be between 1 and 31"));
    }
    let first = match from {
        Some(d) => d,
        None => crate::clock::rome(now).date_naive(),
    };
    let start =
        crate::domain::time::rome_day_start(first).ok_or_else(|| AppError::bad_request("from", "is out of range"))?;
    let last =
        crate::domain::time::add_days(first, days).ok_or_else(|| AppError::bad_request("from", "is out of range"))?;
    let end =
        crate::domain::time::rome_day_start(last).ok_or_else(|| AppError::bad_request("from", "is out of range"))?;
    Ok((start, end))
}

/// The unit's calendar: who is booked where. A mediator sees only their own bookings.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "cases", params(CalendarQuery), operation_id = "calendar",
    responses((status = 200, body = Vec<BookingView>)), security(("bearer" = []), ("session" = [])))]
pub(crate) async fn calendar(ctx: Ctx, q: ApiQuery<CalendarQuery>) -> Result<web::Json<Vec<BookingView>>, AppError> {
    let (from, to) = calendar_bounds(ctx.now, q.0.from, q.0.days)?;
    let rows = service::calendar(&ctx.state, &ctx.caller(), from, to).await?;
    Ok(web::Json(
        rows.into_iter().map(|(b, people)| booking_view(&b, people)).collect(),
    ))
}
