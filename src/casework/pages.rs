//! The crisis unit's case pages: the dashboard ("my cases", tasks due today and overdue, my
//! bookings), the case page with its sections and forms, and the calendar.

use std::collections::HashSet;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;

use super::api::calendar_bounds;
use super::lifecycle::CaseAction;
use super::service::{self, Booking, CaseFile, CaseLine, Dashboard, InterviewInput};
use super::vocab::{
    Agency, Answer, CaseStatus, FlagKind, InterviewKind, OutcomeKind, Setting, TaskKind, TransferState,
};
use super::work::{InterviewRow, TaskRow};
use crate::auth::Access;
use crate::domain::placement::{CheckOutReason, TurnAwayReason};
use crate::domain::{CaseId, FlagId, InterviewId, Role, TaskId, UserId, Version};
use crate::error::{AppError, FieldError};
use crate::protocols::assessment::{Element, Instrument};
use crate::protocols::Art18Project;
use crate::referrals::vocab::MediatorAnswer;
use crate::web::page::{pairs, redirect_with_flash, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef, SubId};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const COORDINATOR: Access = Access::Roles(&[Role::Coordinator]);
const BOOKED: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Mediator]);
const MEDIATOR: Access = Access::Roles(&[Role::Mediator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/cases", UNIT, dashboard),
        RouteDef::new(Method::GET, "/cases/{id}", UNIT, case_page),
        RouteDef::new(Method::POST, "/cases/{id}/interviews", UNIT, plan_submit),
        RouteDef::new(Method::POST, "/cases/{id}/interviews/{sub}/held", UNIT, held_submit),
        RouteDef::new(Method::POST, "/cases/{id}/interviews/{sub}/cancel", UNIT, cancel_submit),
        RouteDef::new(
            Method::POST,
            "/cases/{id}/interviews/{sub}/answer",
            MEDIATOR,
            answer_submit,
        ),
        RouteDef::new(Method::POST, "/cases/{id}/tasks", UNIT, task_submit),
        RouteDef::new(Method::POST, "/cases/{id}/tasks/{sub}/done", UNIT, task_done),
        RouteDef::new(Method::POST, "/cases/{id}/flags", UNIT, flag_submit),
        RouteDef::new(Method::POST, "/cases/{id}/flags/{sub}/clear", UNIT, flag_clear),
        RouteDef::new(Method::POST, "/cases/{id}/notes", UNIT, note_submit),
        RouteDef::new(Method::POST, "/cases/{id}/assessments", UNIT, assessment_submit),
        RouteDef::new(Method::POST, "/cases/{id}/outcomes", UNIT, outcome_submit),
        RouteDef::new(Method::POST, "/cases/{id}/outcomes/{sub}/answer", UNIT, transfer_submit),
        RouteDef::new(Method::POST, "/cases/{id}/transitions", UNIT, transition_submit),
        RouteDef::new(Method::POST, "/cases/{id}/reassign", COORDINATOR, reassign_submit),
        RouteDef::new(Method::GET, "/calendar", BOOKED, calendar_page),
    ]
}

// ----- dashboard -----

#[derive(Template)]
#[template(path = "cases/dashboard.html")]
struct DashboardPage {
    page: Page,
    d: Dashboard,
    coordinator: bool,
    open: Vec<CaseLine>,
}

async fn dashboard(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let d = service::dashboard(&ctx.state, &ctx.caller()).await?;
    let coordinator = ctx.user()?.role == Role::Coordinator;
    // The coordinator also sees every open case of the unit.
    let open = if coordinator {
        service::list(
            &ctx.state,
            &ctx.caller(),
            super::store::CaseFilter {
                open_only: true,
                limit: 200,
                ..Default::default()
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let tpl = DashboardPage {
        page: Page::new(&ctx, "cases.title"),
        d,
        coordinator,
        open,
    };
    render_status(&tpl.page, StatusCode::OK, &tpl)
}

// ----- the case page -----

/// A checklist element with its items, for the form and the reading.
struct ElementLine<'a> {
    element: &'a Element,
    present: bool,
}

#[derive(Template)]
#[template(path = "cases/case.html")]
struct CasePage<'a> {
    page: Page,
    form: Form,
    f: CaseFile,
    now: NaiveDateTime,
    coordinator: bool,
    instrument: &'a Instrument,
    /// The last checklist's reading by element.
    elements: Vec<ElementLine<'a>>,
    indications: Option<bool>,
    mediators: Vec<(UserId, String, Vec<String>)>,
    staff: Vec<(UserId, String)>,
    projects: Vec<Art18Project>,
    settings: &'static [Setting],
    interview_kinds: &'static [InterviewKind],
    task_kinds: &'static [TaskKind],
    flag_kinds: &'static [FlagKind],
    outcome_kinds: &'static [OutcomeKind],
    answers: &'static [Answer],
    agencies: &'static [Agency],
    /// The transitions offered as buttons (close, reopen, start the assessment).
    moves: Vec<CaseAction>,
    /// The written feedback of the case (`templates/feedback/section.html`).
    feedback: super::feedback::pages::Section,
}

impl CasePage<'_> {
    fn answer_of(&self, item: &str) -> &'static str {
        self.f
            .checklists
            .last()
            .and_then(|c| c.answers.iter().find(|(i, _)| i == item))
            .map(|(_, a)| a.as_str())
            .unwrap_or("unknown")
    }

    fn task_overdue(&self, t: &TaskRow) -> bool {
        t.done_at.is_none() && t.due_at <= self.now
    }

    fn label_of<'b>(&self, e: &'b Element) -> &'b str {
        match self.page.lang {
            crate::domain::Lang::It => &e.label_it,
            crate::domain::Lang::En => &e.label_en,
        }
    }

    fn item_label(&self, it: &str, en: &str) -> String {
        match self.page.lang {
            crate::domain::Lang::It => it.to_owned(),
            crate::domain::Lang::En => en.to_owned(),
        }
    }

    fn project_name(&self, id: &str) -> String {
        self.projects
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| id.to_owned(), |p| p.name.clone())
    }

    fn interview_names(&self, i: &InterviewRow) -> String {
        self.f.name(i.mediator_id)
    }

    /// The name of someone in the file (askama hands arguments by reference).
    fn who(&self, u: &Option<UserId>) -> String {
        self.f.name(*u)
    }

    fn who_id(&self, u: &UserId) -> String {
        self.f.name(Some(*u))
    }

    /// `HH:MM` in Rome.
    fn hm(&self, at: &NaiveDateTime) -> String {
        crate::clock::rome_time(*at)
    }

    /// What a timeline entry adds, in words: the states of a change, the kind of a task or flag.
    fn event_detail(&self, e: &super::store::CaseEvent) -> String {
        use super::vocab::CaseEventKind as K;
        let Some(d) = e.detail.as_deref() else {
            return String::new();
        };
        let lang = self.page.lang;
        match e.kind {
            K::Transition => d
                .split(" → ")
                .map(|s| CaseStatus::parse(s).map_or("", |s| s.label(lang)))
                .collect::<Vec<_>>()
                .join(" → "),
            K::TaskAdded | K::TaskDone => TaskKind::parse(d).map_or(String::new(), |k| k.label(lang).to_owned()),
            K::FlagRaised | K::FlagCleared => FlagKind::parse(d).map_or(String::new(), |k| k.label(lang).to_owned()),
            K::OutcomeRecorded => OutcomeKind::parse(d).map_or(String::new(), |k| k.label(lang).to_owned()),
            K::Opened | K::ReferralJoined => d.to_owned(),
            // "<point code>[ <reason>]": the point by its code, the reason in words.
            K::PlacementHeld
            | K::PlacementMade
            | K::PlacementCheckedIn
            | K::PlacementCheckedOut
            | K::PlacementReleased
            | K::PlacementExpired
            | K::PlacementTurnedAway => {
                let (code, reason) = d.split_once(' ').unwrap_or((d, ""));
                let reason = CheckOutReason::parse(reason)
                    .map(|r| r.label(lang))
                    .or_else(|| TurnAwayReason::parse(reason).map(|r| r.label(lang)));
                match reason {
                    Some(r) => format!("{code} · {r}"),
                    None => code.to_owned(),
                }
            }
            _ => String::new(),
        }
    }
}

async fn people(ctx: &Ctx) -> Result<(Vec<(UserId, String, Vec<String>)>, Vec<(UserId, String)>), AppError> {
    let all = crate::roster::service::staff(&ctx.state).await?;
    let mediators = all
        .iter()
        .filter(|u| u.role == Role::Mediator && !u.disabled)
        .map(|u| (u.id, u.display_name.clone(), u.languages.clone()))
        .collect();
    let staff = all
        .iter()
        .filter(|u| matches!(u.role, Role::Operator | Role::Coordinator) && !u.disabled)
        .map(|u| (u.id, u.display_name.clone()))
        .collect();
    Ok((mediators, staff))
}

async fn render_case(ctx: &Ctx, id: CaseId, form: Form, status: StatusCode) -> Result<HttpResponse, AppError> {
    let f = service::read(&ctx.state, &ctx.caller(), id).await?;
    let instrument = &ctx.state.protocols.assessment;
    let (elements, indications) = match f.checklists.last() {
        Some(c) if c.row.instrument_version == instrument.version => {
            let present: HashSet<&str> = c
                .answers
                .iter()
                .filter(|(_, a)| *a == Answer::Present)
                .map(|(i, _)| i.as_str())
                .collect();
            let score = instrument.score(&present);
            (
                instrument
                    .elements
                    .iter()
                    .filter(|e| e.scored)
                    .map(|e| ElementLine {
                        element: e,
                        present: score.elements.iter().any(|(id, p)| *id == e.id && *p),
                    })
                    .collect(),
                Some(score.indications),
            )
        }
        _ => (Vec::new(), None),
    };
    let (mediators, staff) = people(ctx).await?;
    let feedback = super::feedback::pages::section(ctx, id).await?;
    let moves = [CaseAction::Assess, CaseAction::Close, CaseAction::Reopen]
        .into_iter()
        .filter(|a| super::lifecycle::transition(f.case.status, *a).is_ok_and(|next| next != f.case.status))
        .collect();
    let tpl = CasePage {
        page: Page::new(ctx, "cases.case"),
        form,
        now: ctx.now,
        coordinator: ctx.user()?.role == Role::Coordinator,
        instrument,
        elements,
        indications,
        mediators,
        staff,
        projects: ctx.state.protocols.projects.clone(),
        settings: Setting::ALL,
        interview_kinds: InterviewKind::ALL,
        task_kinds: TaskKind::ALL,
        flag_kinds: FlagKind::ALL,
        outcome_kinds: OutcomeKind::ALL,
        answers: Answer::ALL,
        agencies: Agency::ALL,
        moves,
        feedback,
        f,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn case_page(ctx: Ctx, id: PathId<CaseId>) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set(
        "interview_starts_at",
        crate::clock::rome_local_input(ctx.now + chrono::Duration::hours(1)),
    );
    form.set("interview_minutes", "60");
    form.set(
        "task_due_at",
        crate::clock::rome_local_input(ctx.now + chrono::Duration::hours(24)),
    );
    render_case(&ctx, id.0, form, StatusCode::OK).await
}

/// After a form: back to the case page with a flash, or the page again with the input and the
/// errors (all of them) where they belong.
async fn done(
    ctx: &Ctx,
    id: CaseId,
    mut form: Form,
    result: Result<(), AppError>,
    flash: &str,
    anchor: &str,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => Ok(redirect_with_flash(&format!("/cases/{}#{anchor}", id.get()), flash)),
        Err(
            e @ (AppError::Invalid(_)
            | AppError::BadRequest(_)
            | AppError::Conflict(_)
            | AppError::StaleVersion { .. }
            | AppError::IllegalTransition { .. }),
        ) => {
            let status = match e {
                AppError::Invalid(_) | AppError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            match &e {
                AppError::IllegalTransition { state, action } => {
                    let state = CaseStatus::parse(state).map(|s| s.label(ctx.lang)).unwrap_or(state);
                    let action = CaseAction::parse(action).map(|a| a.label(ctx.lang)).unwrap_or(action);
                    form.general = Some(
                        crate::web::i18n::t(ctx.lang, "cases.illegal")
                            .replace("{state}", state)
                            .replace("{action}", action),
                    );
                }
                _ => form.absorb(&e, ctx.lang),
            }
            render_case(ctx, id, form, status).await
        }
        Err(e) => Err(e),
    }
}

fn prefixed(e: AppError, prefix: &str) -> AppError {
    match e {
        AppError::Invalid(fields) => AppError::Invalid(
            fields
                .into_iter()
                .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.message))
                .collect(),
        ),
        e => e,
    }
}

fn version_of(form: &Form, field: &str) -> Result<Version, AppError> {
    form.v(field)
        .trim()
        .parse::<Version>()
        .map_err(|_| AppError::Conflict("the form is missing its version: reload the page".into()))
}

async fn plan_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let form = Form::from_pairs(&pairs);
    let mut errors = Vec::new();
    let input = InterviewInput {
        kind: form.choice("interview_kind", InterviewKind::parse, &mut errors),
        starts_at: form.opt("interview_starts_at"),
        minutes: form.number("interview_minutes", &mut errors),
        setting: form.choice("interview_setting", Setting::parse, &mut errors),
        joint: Some(form.is("interview_joint", "on")),
        language: form.opt("interview_language"),
        mediator_id: form.number("interview_mediator_id", &mut errors),
        staff: pairs
            .iter()
            .filter(|(k, _)| k == "interview_staff")
            .filter_map(|(_, v)| v.parse().ok())
            .collect(),
        others: form.opt("interview_others"),
    };
    // All errors in one round: the rules on what could be read, too.
    if let Err(AppError::Invalid(rules)) = input.check(ctx.now) {
        errors.extend(
            rules
                .into_iter()
                .map(|f| FieldError::new(format!("interview_{}", f.field), f.message)),
        );
    }
    let result = if errors.is_empty() {
        service::plan_interview(&ctx.state, &ctx.caller(), id.0, input)
            .await
            .map(|_| ())
            .map_err(|e| prefixed(e, "interview_"))
    } else {
        Err(AppError::Invalid(errors))
    };
    done(&ctx, id.0, form, result, "flash.interview_planned", "interviews").await
}

async fn held_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<InterviewId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = match version_of(&form, "version") {
        Ok(v) => service::hold_interview(&ctx.state, &ctx.caller(), id.0, sub.0, v, form.opt("held_notes"))
            .await
            .map(|_| ())
            .map_err(|e| prefixed(e, "held_")),
        Err(e) => Err(e),
    };
    done(&ctx, id.0, form, result, "flash.interview_held", "interviews").await
}

async fn cancel_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<InterviewId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = match version_of(&form, "version") {
        Ok(v) => service::cancel_interview(&ctx.state, &ctx.caller(), id.0, sub.0, v)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    done(&ctx, id.0, form, result, "flash.interview_cancelled", "interviews").await
}

async fn answer_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<InterviewId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let answer = MediatorAnswer::parse(form.v("answer"))
        .ok_or_else(|| AppError::invalid("answer", "choose to accept or decline"))?;
    let v = version_of(&form, "version")?;
    service::answer_booking(&ctx.state, &ctx.caller(), id.0, sub.0, v, answer).await?;
    Ok(redirect_with_flash("/calendar", "flash.booking_answered"))
}

async fn task_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let mut errors = Vec::new();
    let kind = form.choice("task_kind", TaskKind::parse, &mut errors);
    let assignee: Option<i64> = form.number("task_assignee_id", &mut errors);
    let due = match form.opt("task_due_at") {
        None => {
            errors.push(FieldError::new("task_due_at", "is required"));
            None
        }
        Some(d) => crate::domain::time::parse_instant(&d).or_else(|| {
            errors.push(FieldError::new(
                "task_due_at",
                "must be a date and time, e.g. 2026-11-25T10:30",
            ));
            None
        }),
    };
    if kind.is_none() && !errors.iter().any(|e| e.field == "task_kind") {
        errors.push(FieldError::new("task_kind", "is required"));
    }
    let result = match (kind, due, errors.is_empty()) {
        (Some(kind), Some(due), true) => service::add_task(
            &ctx.state,
            &ctx.caller(),
            id.0,
            kind,
            form.opt("task_note"),
            due,
            assignee.map(UserId),
        )
        .await
        .map(|_| ())
        .map_err(|e| prefixed(e, "task_")),
        _ => Err(AppError::Invalid(errors)),
    };
    done(&ctx, id.0, form, result, "flash.task_added", "tasks").await
}

async fn task_done(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<TaskId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = service::finish_task(&ctx.state, &ctx.caller(), id.0, sub.0)
        .await
        .map(|_| ());
    done(&ctx, id.0, form, result, "flash.task_done", "tasks").await
}

async fn flag_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let mut errors = Vec::new();
    let kind = form.choice("flag_kind", FlagKind::parse, &mut errors);
    let result = match (kind, errors.is_empty()) {
        (Some(kind), true) => {
            service::raise_flag(&ctx.state, &ctx.caller(), id.0, kind, form.v("flag_reason").to_owned())
                .await
                .map(|_| ())
                .map_err(|e| prefixed(e, "flag_"))
        }
        (None, true) => Err(AppError::invalid("flag_kind", "is required")),
        _ => Err(AppError::Invalid(errors)),
    };
    done(&ctx, id.0, form, result, "flash.flag_raised", "flags").await
}

async fn flag_clear(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<FlagId>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = service::clear_flag(&ctx.state, &ctx.caller(), id.0, sub.0)
        .await
        .map(|_| ());
    done(&ctx, id.0, form, result, "flash.flag_cleared", "flags").await
}

async fn note_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = service::add_note(&ctx.state, &ctx.caller(), id.0, form.v("note_body").to_owned())
        .await
        .map(|_| ())
        .map_err(|e| prefixed(e, "note_"));
    done(&ctx, id.0, form, result, "flash.note_added", "assessment").await
}

async fn assessment_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let form = Form::from_pairs(&pairs);
    let instrument = &ctx.state.protocols.assessment;
    let mut answers = Vec::new();
    for e in &instrument.elements {
        for i in &e.items {
            if let Some(a) = Answer::parse(form.v(&format!("item_{}", i.id))) {
                answers.push((i.id.clone(), a));
            }
        }
    }
    let agencies = pairs
        .iter()
        .filter(|(k, _)| k == "agencies")
        .filter_map(|(_, v)| Agency::parse(v))
        .collect();
    let result = service::assess(&ctx.state, &ctx.caller(), id.0, answers, agencies)
        .await
        .map(|_| ());
    done(&ctx, id.0, form, result, "flash.assessment_recorded", "assessment").await
}

async fn outcome_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let mut errors = Vec::new();
    let kind = form.choice("outcome_kind", OutcomeKind::parse, &mut errors);
    let consent = match form.v("outcome_consent") {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let result = match (kind, errors.is_empty()) {
        (Some(kind), true) => service::decide_outcome(
            &ctx.state,
            &ctx.caller(),
            id.0,
            kind,
            form.opt("outcome_project_id"),
            consent,
        )
        .await
        .map(|_| ())
        .map_err(|e| prefixed(e, "outcome_")),
        (None, true) => Err(AppError::invalid("outcome_kind", "is required")),
        _ => Err(AppError::Invalid(errors)),
    };
    done(&ctx, id.0, form, result, "flash.outcome_recorded", "outcome").await
}

async fn transfer_submit(
    ctx: Ctx,
    id: PathId<CaseId>,
    sub: SubId<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = match TransferState::parse(form.v("state")) {
        Some(s) => service::answer_transfer(&ctx.state, &ctx.caller(), id.0, sub.0, s)
            .await
            .map(|_| ()),
        None => Err(AppError::invalid("state", "must be accepted or declined")),
    };
    done(&ctx, id.0, form, result, "flash.outcome_recorded", "outcome").await
}

async fn transition_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let result = match (CaseAction::parse(form.v("action")), version_of(&form, "version")) {
        (Some(a), Ok(v)) => service::transition(&ctx.state, &ctx.caller(), id.0, v, a)
            .await
            .map(|_| ()),
        (None, _) => Err(AppError::invalid("action", "is not one of the choices")),
        (_, Err(e)) => Err(e),
    };
    done(&ctx, id.0, form, result, "flash.case_updated", "top").await
}

async fn reassign_submit(ctx: Ctx, id: PathId<CaseId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(&body)?);
    let mut errors = Vec::new();
    let to: Option<i64> = form.number("operator_id", &mut errors);
    let result = match (to, version_of(&form, "version")) {
        (Some(to), Ok(v)) if errors.is_empty() => service::reassign(&ctx.state, &ctx.caller(), id.0, v, UserId(to))
            .await
            .map(|_| ()),
        (None, _) if errors.is_empty() => Err(AppError::invalid("operator_id", "is required")),
        (_, Err(e)) => Err(e),
        _ => Err(AppError::Invalid(errors)),
    };
    done(&ctx, id.0, form, result, "flash.case_reassigned", "top").await
}

// ----- calendar -----

/// A day of the calendar with its bookings.
struct Day {
    label: String,
    bookings: Vec<(Booking, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "cases/calendar.html")]
struct CalendarPage {
    page: Page,
    days: Vec<Day>,
    mediator: bool,
    prev: String,
    next: String,
    span: i64,
}

impl CalendarPage {
    fn hm(&self, at: &NaiveDateTime) -> String {
        crate::clock::rome_time(*at)
    }
}

async fn calendar_page(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    #[derive(serde::Deserialize)]
    struct Q {
        from: Option<chrono::NaiveDate>,
        days: Option<i64>,
    }
    let q: Q = crate::web::extract::parse_query(req.query_string()).unwrap_or(Q { from: None, days: None });
    let span = q.days.unwrap_or(7).clamp(1, 31);
    let (from, to) = calendar_bounds(ctx.now, q.from, Some(span))?;
    let rows = service::calendar(&ctx.state, &ctx.caller(), from, to).await?;
    let first = crate::clock::rome(from).date_naive();
    let mut days = Vec::new();
    for n in 0..span {
        let Some(day) = crate::domain::time::add_days(first, n) else {
            break;
        };
        let bookings = rows
            .iter()
            .filter(|(b, _)| crate::clock::rome(b.interview.starts_at).date_naive() == day)
            .cloned()
            .collect();
        days.push(Day {
            label: day.format("%d/%m/%Y").to_string(),
            bookings,
        });
    }
    let shift = |d: i64| {
        crate::domain::time::add_days(first, d)
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let tpl = CalendarPage {
        page: Page::new(&ctx, "calendar.title"),
        mediator: ctx.user()?.role == Role::Mediator,
        prev: shift(-span),
        next: shift(span),
        span,
        days,
    };
    render_status(&tpl.page, StatusCode::OK, &tpl)
}
