//! The crisis unit's pages (queue, intake, case file, drafts) and the portal of
//! referrers and commissions. They call the same services as the API.

use std::collections::HashMap;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use super::api::ReferralView;
use super::model::{ConsentInput, PersonInput, ReferralInput, Submitter};
use super::service::{self, Action};
use super::store::{self, ListFilter, Referral};
use super::vocab::{
    AgeBand, Channel, ContactRoute, DeclineReason, EmergenceContext, EventKind, ExploitationType, Gender, LabourSector,
    RecruiterRelation, Status, Urgency,
};
use crate::accounts::orgs;
use crate::auth::Access;
use crate::casework::feedback::service::Imported;
use crate::domain::territory::{Province, PROVINCES};
use crate::domain::{OrgKind, ReferralId, Role, SourceKind, UserId, Version};
use crate::error::{AppError, FieldError};
use crate::protocols::Indicator;
use crate::web::i18n::message;
use crate::web::page::{field, pairs, redirect_with_flash, render, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef};

const UNIT: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const STAFF: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Mediator]);
const OUTSIDE: Access = Access::Roles(&[Role::Referrer, Role::Commission]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/referrals", STAFF, queue),
        RouteDef::new(Method::POST, "/referrals", UNIT, intake_submit),
        RouteDef::new(Method::GET, "/referrals/new", UNIT, intake_form),
        RouteDef::new(Method::GET, "/referrals/import", UNIT, import_form),
        RouteDef::new(Method::POST, "/referrals/import", UNIT, import_submit),
        RouteDef::new(Method::GET, "/referrals/{id}", STAFF, detail),
        RouteDef::new(
            Method::POST,
            "/referrals/{id}/mediation",
            Access::Roles(&[Role::Mediator]),
            mediation_submit,
        ),
        RouteDef::new(Method::POST, "/referrals/{id}/confirm", UNIT, confirm_submit),
        RouteDef::new(Method::POST, "/referrals/{id}/acknowledge", UNIT, acknowledge),
        RouteDef::new(Method::POST, "/referrals/{id}/take-charge", UNIT, take_charge),
        RouteDef::new(Method::POST, "/referrals/{id}/decline", UNIT, decline),
        RouteDef::new(Method::POST, "/referrals/{id}/feedback", UNIT, feedback),
        RouteDef::new(Method::POST, "/referrals/{id}/consent/withdraw", UNIT, withdraw),
        RouteDef::new(Method::GET, "/portal", OUTSIDE, portal),
        RouteDef::new(Method::POST, "/portal", OUTSIDE, portal_submit),
        RouteDef::new(Method::GET, "/portal/new", OUTSIDE, portal_form),
        RouteDef::new(Method::GET, "/portal/{id}", OUTSIDE, portal_detail),
        RouteDef::new(
            Method::POST,
            "/portal/{id}/consent/withdraw",
            Access::Roles(&[Role::Commission]),
            portal_withdraw,
        ),
    ]
}

// ----- queue -----

/// A referral line in a list, with the names the unit needs.
pub struct Line {
    pub r: Referral,
    pub operator: Option<String>,
    pub overdue: bool,
    pub deadline: String,
    /// "in 12 min" or "overdue by 2 min", while the referral waits for the unit (empty once
    /// closed or taken in charge).
    pub due: String,
    /// An emergency not yet acknowledged.
    pub alarm: bool,
}

/// A span of time as people say it: `2 min`, `1 h 05 min`, `3 g` (`3 d` in English).
fn span(minutes: i64, lang: crate::domain::Lang) -> String {
    let m = minutes.max(0);
    let day = if lang == crate::domain::Lang::En { "d" } else { "g" };
    match m {
        0..=59 => format!("{m} min"),
        60..=1439 => format!("{} h {:02} min", m / 60, m % 60),
        _ => format!("{} {day}", m / 1440),
    }
}

#[derive(Template)]
#[template(path = "referrals/queue.html")]
struct QueuePage {
    page: Page,
    drafts: Vec<Line>,
    emergencies: Vec<Line>,
    overdue: Vec<Line>,
    waiting: Vec<Line>,
    recent: Vec<Line>,
    /// A reference searched for and not found (among what the caller may see).
    not_found: Option<String>,
    can_file: bool,
}

fn lines(rows: Vec<Referral>, names: &HashMap<UserId, String>, ctx: &Ctx) -> Vec<Line> {
    let settings = &ctx.state.settings;
    rows.into_iter()
        .map(|r| {
            let deadline = r.deadline(settings);
            let waiting = r.row.status == Status::New;
            let left = (deadline - ctx.now).num_minutes();
            let due = match (waiting, left) {
                (false, _) => String::new(),
                (true, l) if l >= 0 => message(ctx.lang, "in {}").replace("{}", &span(l, ctx.lang)),
                (true, l) => message(ctx.lang, "overdue by {}").replace("{}", &span(-l, ctx.lang)),
            };
            Line {
                operator: r.routing.assigned_operator_id.and_then(|id| names.get(&id).cloned()),
                overdue: r.is_overdue(ctx.now, settings),
                deadline: if waiting {
                    crate::clock::rome_display(deadline)
                } else {
                    String::new()
                },
                alarm: waiting && r.row.urgency == Urgency::Emergency && r.routing.acknowledged_at.is_none(),
                due,
                r,
            }
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct QueueQuery {
    /// A reference to go to (`R-…`).
    q: Option<String>,
}

async fn queue(ctx: Ctx, req: actix_web::HttpRequest) -> Result<HttpResponse, AppError> {
    let query: QueueQuery = crate::web::extract::parse_query(req.query_string())?;
    let mut not_found = None;
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        match service::find_by_reference(&ctx.state, &ctx.caller(), q).await? {
            Some(id) => return Ok(crate::web::page::redirect(&format!("/referrals/{id}"))),
            None => not_found = Some(q.to_owned()),
        }
    }
    let service::Queue {
        open: open_rows,
        drafts: draft_rows,
        recent: recent_rows,
        names,
    } = service::queue(&ctx.state, &ctx.caller(), 50).await?;
    let open = lines(open_rows, &names, &ctx);
    let (emergencies, rest): (Vec<Line>, Vec<Line>) = open
        .into_iter()
        .partition(|l| l.r.row.urgency == Urgency::Emergency && l.r.routing.acknowledged_at.is_none());
    let (overdue, waiting): (Vec<Line>, Vec<Line>) = rest.into_iter().partition(|l| l.overdue);
    let tpl = QueuePage {
        page: Page::new(&ctx, "referrals.title"),
        drafts: lines(draft_rows, &names, &ctx),
        emergencies,
        overdue,
        waiting,
        recent: lines(recent_rows, &names, &ctx),
        not_found,
        can_file: ctx
            .principal
            .as_ref()
            .is_some_and(|p| matches!(p.role, Role::Coordinator | Role::Operator)),
    };
    render(&tpl.page, &tpl)
}

// ----- intake -----

#[derive(Template)]
#[template(path = "referrals/form.html")]
struct IntakePage {
    page: Page,
    form: Form,
    action: String,
    /// Confirming an imported draft rather than filing anew.
    confirming: bool,
    /// Unit staff choose channel, source and organisation; outsiders do not.
    unit: bool,
    /// A commission: the consent section is required and shown first.
    commission: bool,
    /// The source must be chosen (the unit, or a referrer whose kind of organisation implies none).
    choose_source: bool,
    orgs: Vec<orgs::OrgRow>,
    hosts: Vec<orgs::OrgRow>,
    provinces: &'static [Province],
    indicators: Vec<Indicator>,
    channels: &'static [Channel],
    sources: &'static [SourceKind],
    genders: &'static [Gender],
    age_bands: &'static [AgeBand],
    contexts: &'static [EmergenceContext],
    exploitation: &'static [ExploitationType],
    sectors: &'static [LabourSector],
    recruiters: &'static [RecruiterRelation],
    urgencies: &'static [Urgency],
    routes: &'static [ContactRoute],
    /// Reviewing an imported draft: the email as it arrived (sender, subject and text), shown
    /// beside the fields.
    original: Option<(String, String)>,
}

async fn intake_page(
    ctx: &Ctx,
    form: Form,
    status: StatusCode,
    action: String,
    standing: Submitter,
) -> Result<HttpResponse, AppError> {
    intake_page_with(ctx, form, status, action, standing, None).await
}

async fn intake_page_with(
    ctx: &Ctx,
    form: Form,
    status: StatusCode,
    action: String,
    standing: Submitter,
    original: Option<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let all = crate::accounts::service::list_orgs(&ctx.state).await?;
    // A CAS or SAI reports about the people it hosts: only itself is offered.
    let own_host = match standing {
        Submitter::Referrer {
            org_id,
            org_kind: OrgKind::Cas | OrgKind::Sai,
        } => Some(org_id),
        _ => None,
    };
    let hosts = all
        .iter()
        .filter(|o| o.active && matches!(o.kind, OrgKind::Cas | OrgKind::Sai))
        .filter(|o| own_host.is_none_or(|own| o.id == own))
        .cloned()
        .collect();
    let tpl = IntakePage {
        page: Page::new(
            ctx,
            match action.as_str() {
                "/portal" => "portal.new",
                "/referrals" => "referrals.new",
                _ => "referrals.confirm",
            },
        ),
        confirming: action.ends_with("/confirm"),
        form,
        action,
        unit: standing == Submitter::Unit,
        commission: matches!(standing, Submitter::Commission { .. }),
        choose_source: match standing {
            Submitter::Unit => true,
            Submitter::Referrer { org_kind, .. } => crate::domain::source_of(org_kind).is_none(),
            Submitter::Commission { .. } => false,
        },
        orgs: all.into_iter().filter(|o| o.active).collect(),
        hosts,
        provinces: PROVINCES,
        indicators: ctx.state.protocols.indicators.items.clone(),
        channels: Channel::ALL,
        // What the model accepts from each side (see `ReferralInput::check`).
        sources: match standing {
            Submitter::Unit => SourceKind::ALL,
            _ => &[SourceKind::PrivateCitizen, SourceKind::SelfReferral],
        },
        genders: Gender::ALL,
        age_bands: AgeBand::ALL,
        contexts: EmergenceContext::ALL,
        exploitation: ExploitationType::ALL,
        sectors: LabourSector::ALL,
        recruiters: RecruiterRelation::ALL,
        urgencies: Urgency::ALL,
        routes: ContactRoute::ALL,
        original,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn intake_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set("channel", "hotline");
    form.set("urgency", "ordinary");
    form.set("gender", "unknown");
    intake_page(&ctx, form, StatusCode::OK, "/referrals".into(), Submitter::Unit).await
}

/// The intake form as the API's input; unparsable choices are field errors of the form.
fn referral_from_form(form: &Form, pairs: &[(String, String)], with_consent: bool) -> (ReferralInput, Vec<FieldError>) {
    let mut errors = Vec::new();
    let all = |key: &str| -> Vec<String> { pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect() };
    let mut exploitation = Vec::new();
    for v in all("exploitation_types") {
        match ExploitationType::parse(&v) {
            Some(e) => exploitation.push(e),
            None => errors.push(FieldError::new("exploitation_types", "is not one of the choices")),
        }
    }
    let mut sectors = Vec::new();
    for v in all("labour_sectors") {
        match LabourSector::parse(&v) {
            Some(s) => sectors.push(s),
            None => errors.push(FieldError::new("labour_sectors", "is not one of the choices")),
        }
    }
    let mut relations = Vec::new();
    for v in all("recruiter_relations") {
        match RecruiterRelation::parse(&v) {
            Some(r) => relations.push(r),
            None => errors.push(FieldError::new("recruiter_relations", "is not one of the choices")),
        }
    }
    let languages: Vec<String> = form
        .v("languages")
        .split([',', ' ', ';', '\u{1f}'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_owned())
        .collect();
    let consent = with_consent.then(|| ConsentInput {
        audition_date: form.opt("consent_audition_date").and_then(|d| {
            chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| errors.push(FieldError::new("consent_audition_date", "must be a date")))
                .ok()
        }),
        section: form.opt("consent_section"),
        collected_by: form.opt("consent_collected_by"),
        wants_information: Some(form.is("consent_wants_information", "on")),
        contact_route: form.choice("consent_contact_route", ContactRoute::parse, &mut errors),
        contact_detail: form.opt("consent_contact_detail"),
    });
    let input = ReferralInput {
        channel: form.choice("channel", Channel::parse, &mut errors),
        source_kind: form.choice("source_kind", SourceKind::parse, &mut errors),
        referring_org_id: form.number("referring_org_id", &mut errors),
        referrer_contact: form.opt("referrer_contact"),
        received_at: form.opt("received_at"),
        urgency: form.choice("urgency", Urgency::parse, &mut errors),
        person: Some(PersonInput {
            alias: form.opt("alias"),
            gender: form.choice("gender", Gender::parse, &mut errors),
            age: form.number("age", &mut errors),
            age_band: form.choice("age_band", AgeBand::parse, &mut errors),
            nationality: form.opt("nationality"),
            minor: form.is("minor", "on").then_some(true),
            languages: Some(languages),
            hosted_org_id: form.number("hosted_org_id", &mut errors),
        }),
        emergence_province: form.opt("emergence_province"),
        exploitation_province: form.opt("exploitation_province"),
        emergence_context: form.choice("emergence_context", EmergenceContext::parse, &mut errors),
        exploitation_types: Some(exploitation),
        labour_sectors: Some(sectors),
        recruiter_relations: Some(relations),
        indicators: Some(all("indicators")),
        notes: form.opt("notes"),
        interview_joint: match form.v("interview_joint") {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        consent,
    };
    (input, errors)
}

/// The form field an API field error belongs to (`person.alias` → `alias`).
fn form_field(api_field: &str) -> String {
    let f = api_field.split('[').next().unwrap_or(api_field);
    if let Some(rest) = f.strip_prefix("person.") {
        return rest.to_owned();
    }
    if let Some(rest) = f.strip_prefix("consent.") {
        return format!("consent_{rest}");
    }
    if f == "consent" {
        return "consent_wants_information".into();
    }
    f.to_owned()
}

fn absorb_referral_error(form: &mut Form, e: &AppError, ctx: &Ctx) {
    if e.field_errors().is_empty() {
        form.absorb(e, ctx.lang);
    }
    for f in e.field_errors() {
        form.add_error(&form_field(&f.field), message(ctx.lang, &f.message));
    }
}

async fn file_from_form(ctx: &Ctx, body: &[u8], action: &'static str) -> Result<Result<i64, HttpResponse>, AppError> {
    let standing = super::policy::submitter(&ctx.caller())?;
    let pairs = pairs(body)?;
    let mut form = Form::from_pairs(&pairs);
    let with_consent =
        matches!(standing, Submitter::Commission { .. }) || form.v("source_kind") == "territorial_commission";
    let (input, errors) = referral_from_form(&form, &pairs, with_consent);
    if !errors.is_empty() {
        for e in &errors {
            form.add_error(&e.field, message(ctx.lang, &e.message));
        }
        // All errors in one round: the rules are checked on what could be read, too (a field
        // keeps its format error).
        if let Err(rules) = input.check(standing, &ctx.state.protocols, ctx.now) {
            for f in rules.field_errors() {
                form.add_error(&form_field(&f.field), message(ctx.lang, &f.message));
            }
        }
        return Ok(Err(intake_page(
            ctx,
            form,
            StatusCode::UNPROCESSABLE_ENTITY,
            action.into(),
            standing,
        )
        .await?));
    }
    // Back after filing shows the form again with a new key: a probable duplicate is named
    // before it is filed; sending the form again files it all the same.
    if field(&pairs, "file_anyway") != Some("yes") {
        if let Some(reference) = service::probable_duplicate(&ctx.state, &ctx.caller(), &input).await? {
            form.general = Some(format!(
                "{} {reference}. {}",
                crate::web::i18n::t(ctx.lang, "referrals.probable_duplicate"),
                crate::web::i18n::t(ctx.lang, "referrals.probable_duplicate_hint")
            ));
            form.set("file_anyway", "yes");
            return Ok(Err(intake_page(
                ctx,
                form,
                StatusCode::CONFLICT,
                action.into(),
                standing,
            )
            .await?));
        }
    }
    // The form's hidden key makes a double click or a resent form file one referral.
    let key = field(&pairs, "idempotency_key")
        .map(str::to_owned)
        .filter(|k| !k.is_empty());
    match service::create(&ctx.state, &ctx.caller(), input, key).await {
        Ok(c) => Ok(Ok(c.referral.id().get())),
        Err(e @ (AppError::Invalid(_) | AppError::BadRequest(_))) => {
            absorb_referral_error(&mut form, &e, ctx);
            Ok(Err(intake_page(
                ctx,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
                action.into(),
                standing,
            )
            .await?))
        }
        Err(e) => Err(e),
    }
}

async fn intake_submit(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    match file_from_form(&ctx, &body, "/referrals").await? {
        Ok(id) => Ok(redirect_with_flash(
            &format!("/referrals/{id}"),
            "flash.referral_created",
        )),
        Err(page) => Ok(page),
    }
}

// ----- case file -----

#[derive(Template)]
#[template(path = "referrals/detail.html")]
struct DetailPage {
    page: Page,
    c: ReferralView,
    form: Form,
    can_act: bool,
    is_new: bool,
    restricted: bool,
    indicators: Vec<Indicator>,
    steps: Vec<String>,
    reasons: &'static [DeclineReason],
    province: Option<String>,
    exploitation_province: Option<String>,
    /// The case that answers the referral, when the caller may open it, and its raised flags.
    case: Option<i64>,
    case_flags: Vec<crate::casework::vocab::FlagKind>,
}

async fn detail_page(ctx: &Ctx, id: ReferralId, form: Form, status: StatusCode) -> Result<HttpResponse, AppError> {
    let file = service::read(&ctx.state, &ctx.caller(), id).await?;
    render_detail(ctx, file, form, status).await
}

/// The case file page of a referral already read (one audited read per page).
async fn render_detail(
    ctx: &Ctx,
    file: service::CaseFile,
    form: Form,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let case = match ctx.user()?.role {
        Role::Coordinator | Role::Operator => {
            crate::casework::service::case_of_referral(&ctx.state, &ctx.caller(), file.referral.id())
                .await?
                .map(|c| c.get())
        }
        _ => None,
    };
    let case_flags = match case {
        Some(c) => crate::casework::service::raised_flags(&ctx.state, crate::domain::CaseId(c)).await?,
        None => Vec::new(),
    };
    let mut view = ReferralView::new(&file, &ctx.state.settings, ctx.now);
    // People are named with their languages in words (the API gives the codes).
    let in_words = |named: &mut Option<super::api::Named>| {
        if let Some(n) = named {
            let id = UserId(n.id);
            if let (Some(name), Some(langs)) = (file.user_names.get(&id), file.user_languages.get(&id)) {
                let display = name.split(" (").next().unwrap_or(name);
                n.name = if langs.is_empty() {
                    display.to_owned()
                } else {
                    let words: Vec<&str> = langs
                        .iter()
                        .map(|c| crate::domain::language_name(c, ctx.lang))
                        .collect();
                    format!("{display} ({})", words.join(", "))
                };
            }
        }
    };
    in_words(&mut view.assigned_operator);
    in_words(&mut view.proposed_mediator);
    for e in &mut view.history {
        in_words(&mut e.about);
    }
    let protocols = &ctx.state.protocols;
    let procedure = protocols.procedure(file.referral.row.source_kind);
    let steps = match ctx.lang {
        crate::domain::Lang::It => procedure.steps_it.clone(),
        crate::domain::Lang::En => procedure.steps_en.clone(),
    };
    let indicators = file
        .facts
        .indicators
        .iter()
        .filter_map(|i| protocols.indicator(i).cloned())
        .collect();
    let role = ctx.user()?.role;
    let tpl = DetailPage {
        page: Page::new(ctx, "referrals.title"),
        can_act: matches!(role, Role::Coordinator | Role::Operator),
        is_new: file.referral.status() == Status::New,
        restricted: file.referral.status() == Status::Restricted,
        province: file.referral.row.emergence_province.map(|p| p.name.to_owned()),
        exploitation_province: file.referral.row.exploitation_province.map(|p| p.name.to_owned()),
        c: view,
        form,
        indicators,
        steps,
        reasons: DeclineReason::ALL,
        case,
        case_flags,
    };
    render_status(&tpl.page, status, &tpl)
}

#[derive(Template)]
#[template(path = "referrals/mediation.html")]
struct MediationPage {
    page: Page,
    c: super::api::MediatorCaseView,
    form: Form,
}

/// A mediator's page of a referral proposed to them: the proposal to answer, then what the
/// interview needs.
fn render_mediation(
    ctx: &Ctx,
    file: &service::CaseFile,
    form: Form,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let tpl = MediationPage {
        page: Page::new(ctx, "referrals.title"),
        c: super::api::MediatorCaseView::new(file),
        form,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn mediation_submit(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let mut form = Form::from_pairs(&pairs);
    let answer = super::vocab::MediatorAnswer::parse(form.v("answer"));
    let version = form.v("version").trim().parse::<Version>().ok();
    let result = match (answer, version) {
        (Some(a), Some(v)) => service::answer_proposal(&ctx.state, &ctx.caller(), id.0, v, a)
            .await
            .map(|_| a),
        _ => Err(AppError::invalid("answer", "choose to accept or decline")),
    };
    match result {
        Ok(super::vocab::MediatorAnswer::Accepted) => Ok(redirect_with_flash(
            &format!("/referrals/{}", id.0),
            "flash.mediation_accepted",
        )),
        Ok(super::vocab::MediatorAnswer::Declined) => Ok(redirect_with_flash("/referrals", "flash.mediation_declined")),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::StaleVersion { .. })) => {
            form.absorb(&e, ctx.lang);
            let file = service::read(&ctx.state, &ctx.caller(), id.0).await?;
            render_mediation(&ctx, &file, form, StatusCode::CONFLICT)
        }
        Err(e) => Err(e),
    }
}

async fn detail(ctx: Ctx, id: PathId<ReferralId>) -> Result<HttpResponse, AppError> {
    let file = service::read(&ctx.state, &ctx.caller(), id.0).await?;
    if matches!(file.standing, super::policy::Standing::Mediator { .. }) {
        return render_mediation(&ctx, &file, Form::default(), StatusCode::OK);
    }
    if file.referral.status() == Status::Draft {
        return draft_page(&ctx, &file, None, StatusCode::OK).await;
    }
    render_detail(&ctx, file, Form::default(), StatusCode::OK).await
}

/// An imported draft: the intake form, filled with what the message gave, to review and confirm.
async fn draft_page(
    ctx: &Ctx,
    file: &service::CaseFile,
    form: Option<Form>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let r = &file.referral;
    let form = form.unwrap_or_else(|| {
        let mut f = Form::default();
        f.set("channel", r.row.channel.as_str());
        f.set("source_kind", r.row.source_kind.as_str());
        f.set(
            "referring_org_id",
            r.row.referring_org_id.map(|i| i.to_string()).unwrap_or_default(),
        );
        let person = &file.sensitive.person;
        f.set("referrer_contact", person.referrer_contact.clone().unwrap_or_default());
        f.set("received_at", crate::clock::rome_local_input(r.row.received_at));
        f.set("urgency", r.row.urgency.as_str());
        f.set("gender", r.row.person_gender.as_str());
        f.set("notes", person.notes.clone().unwrap_or_default());
        f
    });
    let mut form = form;
    form.set("version", r.version().to_string());
    // Whether a PEC certificate vouched for the sender (an ordinary email's `From:` does not).
    let certified = file.events.iter().any(|e| {
        e.kind == super::vocab::EventKind::Imported
            && e.detail.as_deref().is_some_and(|d| d.contains("sender certified"))
    });
    form.set("sender_verified", if certified { "pec" } else { "no" });
    let person = &file.sensitive.person;
    let original = Some((
        person.referrer_contact.clone().unwrap_or_default(),
        person.notes.clone().unwrap_or_default(),
    ));
    intake_page_with(
        ctx,
        form,
        status,
        format!("/referrals/{}/confirm", r.id()),
        Submitter::Unit,
        original,
    )
    .await
}

async fn confirm_submit(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let mut form = Form::from_pairs(&pairs);
    let with_consent = form.v("source_kind") == "territorial_commission";
    let (input, errors) = referral_from_form(&form, &pairs, with_consent);
    let version = form.v("version").trim().parse::<Version>().ok();
    let result = match (errors.is_empty(), version) {
        (false, _) => Err(AppError::Invalid(errors)),
        (true, None) => Err(AppError::VersionRequired),
        (true, Some(v)) => service::confirm(&ctx.state, &ctx.caller(), id.0, v, input).await,
    };
    match result {
        Ok(row) => Ok(redirect_with_flash(
            &format!("/referrals/{}", row.id()),
            "flash.draft_confirmed",
        )),
        Err(
            e @ (AppError::Invalid(_)
            | AppError::BadRequest(_)
            | AppError::StaleVersion { .. }
            | AppError::Conflict(_)
            | AppError::VersionRequired),
        ) => {
            absorb_referral_error(&mut form, &e, &ctx);
            let file = service::read(&ctx.state, &ctx.caller(), id.0).await?;
            if file.referral.status() != Status::Draft {
                return render_detail(&ctx, file, form, StatusCode::CONFLICT).await;
            }
            draft_page(&ctx, &file, Some(form), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

// ----- email import -----

#[derive(Template)]
#[template(path = "referrals/import.html")]
struct ImportPage {
    page: Page,
    outcomes: Vec<crate::casework::feedback::service::MailImport>,
    error: Option<String>,
}

async fn import_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let tpl = ImportPage {
        page: Page::new(&ctx, "referrals.import"),
        outcomes: Vec::new(),
        error: None,
    };
    render(&tpl.page, &tpl)
}

/// Largest message accepted (a PEC with its attachments), and files per upload.
const MAX_FILE: usize = 15 * 1024 * 1024;
const MAX_FILES: usize = 50;
/// Largest upload request, all files together.
const MAX_REQUEST: usize = 32 * 1024 * 1024;

async fn import_submit(
    ctx: Ctx,
    req: actix_web::HttpRequest,
    mut payload: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    use futures_util::StreamExt;
    // The whole request is bounded, not only each file: refused at once when it says it is
    // larger, and cut off when it turns out to be.
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST) {
        return Err(AppError::PayloadTooLarge { limit: MAX_REQUEST });
    }
    let session_token = ctx
        .principal
        .as_ref()
        .and_then(|p| p.session.as_ref())
        .map(|s| s.csrf_token.clone())
        .ok_or(AppError::CsrfRejected)?;
    crate::web::csrf::first_part(&mut payload, &session_token).await?;
    let mut files = Vec::new();
    let mut error = None;
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|_| AppError::bad_request("files", "the upload could not be read"))?;
        if field.name() != Some("files") {
            continue;
        }
        let name = field
            .content_disposition()
            .and_then(|d| d.get_filename().map(str::to_owned))
            .unwrap_or_else(|| "message.eml".into());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| AppError::bad_request("files", "the upload could not be read"))?;
            if bytes.len() + chunk.len() > MAX_FILE {
                return Err(AppError::PayloadTooLarge { limit: MAX_FILE });
            }
            total += chunk.len();
            if total > MAX_REQUEST {
                return Err(AppError::PayloadTooLarge { limit: MAX_REQUEST });
            }
            bytes.extend_from_slice(&chunk);
        }
        if name.is_empty() && bytes.is_empty() {
            continue; // the empty file input of a form sent without a file
        }
        if files.len() == MAX_FILES {
            error = Some(format!("at most {MAX_FILES} files at a time"));
            break;
        }
        files.push((name, bytes));
    }
    if files.is_empty() && error.is_none() {
        // Sent without choosing a file: say so rather than show an empty result.
        let tpl = ImportPage {
            page: Page::new(&ctx, "referrals.import"),
            outcomes: Vec::new(),
            error: Some(crate::web::i18n::t(ctx.lang, "referrals.import_none_chosen").to_owned()),
        };
        return render_status(&tpl.page, StatusCode::UNPROCESSABLE_ENTITY, &tpl);
    }
    // PEC receipts update the written feedback they acknowledge; the rest become drafts.
    let mut outcomes = crate::casework::feedback::service::import_mail(&ctx.state, &ctx.caller(), files).await?;
    // Why a file was skipped, in the page's language (`field: message; …` for rule refusals).
    for o in &mut outcomes {
        if let Err(why) = &mut o.result {
            *why = why
                .split("; ")
                .map(|part| match part.split_once(": ") {
                    Some((field, m)) if !field.contains(' ') => format!("{field}: {}", message(ctx.lang, m)),
                    _ => message(ctx.lang, part),
                })
                .collect::<Vec<_>>()
                .join("; ");
        }
    }
    let error = error.map(|e| message(ctx.lang, &e));
    let tpl = ImportPage {
        page: Page::new(&ctx, "referrals.import"),
        outcomes,
        error,
    };
    render(&tpl.page, &tpl)
}

/// Runs an action from a form of the case file; errors come back on the page.
async fn act_from_form(
    ctx: &Ctx,
    id: ReferralId,
    body: &[u8],
    make: impl FnOnce(&Form) -> Result<Action, AppError>,
    flash: &str,
    back: &str,
) -> Result<HttpResponse, AppError> {
    let pairs = pairs(body)?;
    let mut form = Form::from_pairs(&pairs);
    let Some(version) = form.v("version").trim().parse::<Version>().ok() else {
        form.general = Some(message(ctx.lang, "the form is missing its version: reload the page"));
        return detail_page(ctx, id, form, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let result = match make(&form) {
        // Taking in charge opens (or joins) the person's case in the same transaction; the
        // operator goes on to the case.
        Ok(Action::TakeCharge) => {
            match crate::casework::service::take_charge(&ctx.state, &ctx.caller(), id, version).await {
                Ok((_, case)) => {
                    return Ok(redirect_with_flash(
                        &format!("/cases/{}", case.get()),
                        "flash.taken_in_charge",
                    ))
                }
                Err(e) => Err(e),
            }
        }
        Ok(Action::WithdrawConsent) => {
            crate::casework::service::withdraw_consent(&ctx.state, &ctx.caller(), id, version).await
        }
        Ok(action) => service::act(&ctx.state, &ctx.caller(), id, version, action).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(back, flash)),
        Err(
            e @ (AppError::Invalid(_)
            | AppError::BadRequest(_)
            | AppError::Conflict(_)
            | AppError::StaleVersion { .. }
            | AppError::IllegalTransition { .. }),
        ) => {
            form.absorb(&e, ctx.lang);
            let status = match e {
                AppError::Conflict(_) | AppError::StaleVersion { .. } | AppError::IllegalTransition { .. } => {
                    StatusCode::CONFLICT
                }
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            if back.starts_with("/portal") {
                return portal_detail_page(ctx, id, form, status).await;
            }
            detail_page(ctx, id, form, status).await
        }
        Err(e) => Err(e),
    }
}

async fn acknowledge(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let back = format!("/referrals/{}", id.0);
    act_from_form(
        &ctx,
        id.0,
        &body,
        |_| Ok(Action::Acknowledge),
        "flash.acknowledged",
        &back,
    )
    .await
}

async fn take_charge(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let back = format!("/referrals/{}", id.0);
    act_from_form(
        &ctx,
        id.0,
        &body,
        |_| Ok(Action::TakeCharge),
        "flash.taken_in_charge",
        &back,
    )
    .await
}

async fn decline(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let back = format!("/referrals/{}", id.0);
    let make = |f: &Form| {
        let reason = DeclineReason::parse(f.v("reason")).ok_or_else(|| AppError::invalid("reason", "is required"))?;
        // People know the reference (`R-…`); a number still works.
        let duplicate_of = super::store::Duplicate::parse(f.v("duplicate_of"));
        Ok(Action::Decline {
            reason,
            note: Some(f.v("note").trim().to_owned()).filter(|n| !n.is_empty()),
            duplicate_of,
        })
    };
    act_from_form(&ctx, id.0, &body, make, "flash.declined", &back).await
}

async fn feedback(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let back = format!("/referrals/{}", id.0);
    act_from_form(
        &ctx,
        id.0,
        &body,
        |f| Ok(Action::Feedback(f.v("body").to_owned())),
        "flash.feedback_sent",
        &back,
    )
    .await
}

/// What a consent withdrawal erases, asked before it happens.
const WITHDRAWAL: crate::web::page::Confirmation = crate::web::page::Confirmation {
    heading: "confirm.withdraw_title",
    intro: "confirm.withdraw_intro",
    lost: &[
        "confirm.withdraw_lost_person",
        "confirm.withdraw_lost_notes",
        "confirm.withdraw_lost_processing",
        "confirm.irreversible",
    ],
    yes: "confirm.withdraw_yes",
};

async fn withdraw(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let back = format!("/referrals/{}", id.0);
    let form = pairs(&body)?;
    if !crate::web::page::confirmed(&form) {
        let action = format!("/referrals/{}/consent/withdraw", id.0);
        return crate::web::page::confirm_page(&ctx, WITHDRAWAL, &action, &form, &["version"], &back);
    }
    act_from_form(
        &ctx,
        id.0,
        &body,
        |_| Ok(Action::WithdrawConsent),
        "flash.consent_withdrawn",
        &back,
    )
    .await
}

// ----- portal of referrers and commissions -----

#[derive(Template)]
#[template(path = "referrals/portal.html")]
struct PortalPage {
    page: Page,
    rows: Vec<Referral>,
}

async fn portal(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let rows = service::list(
        &ctx.state,
        &ctx.caller(),
        ListFilter {
            limit: 200,
            ..ListFilter::default()
        },
    )
    .await?;
    let tpl = PortalPage {
        page: Page::new(&ctx, "portal.title"),
        rows,
    };
    render(&tpl.page, &tpl)
}

async fn portal_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let standing = super::policy::submitter(&ctx.caller())?;
    let mut form = Form::default();
    form.set("urgency", "ordinary");
    form.set("gender", "unknown");
    form.set("idempotency_key", uuid::Uuid::new_v4().to_string());
    intake_page(&ctx, form, StatusCode::OK, "/portal".into(), standing).await
}

async fn portal_submit(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    match file_from_form(&ctx, &body, "/portal").await? {
        Ok(id) => Ok(redirect_with_flash(&format!("/portal/{id}"), "flash.referral_sent")),
        Err(page) => Ok(page),
    }
}

#[derive(Template)]
#[template(path = "referrals/portal_detail.html")]
struct PortalDetailPage {
    page: Page,
    form: Form,
    r: Referral,
    feedback: Vec<store::Feedback>,
    commission: bool,
    exploitation: Vec<super::vocab::ExploitationType>,
    /// Indicator labels in the page's language.
    indicators: Vec<String>,
    /// An emergency the unit has not acknowledged yet: say what happens next, and by when.
    emergency_waiting: bool,
    deadline: chrono::NaiveDateTime,
    /// Written feedback letters about this referral sent to the caller's organisation (PDF, SHA-256).
    letters: Vec<crate::casework::feedback::pages::PortalLetter>,
}

async fn portal_detail_page(
    ctx: &Ctx,
    id: ReferralId,
    form: Form,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let file = service::read(&ctx.state, &ctx.caller(), id).await?;
    let protocols = &ctx.state.protocols;
    let indicators = file
        .facts
        .indicators
        .iter()
        .filter_map(|i| protocols.indicator(i))
        .map(|i| match ctx.lang {
            crate::domain::Lang::It => i.label_it.clone(),
            crate::domain::Lang::En => i.label_en.clone(),
        })
        .collect();
    let r = file.referral;
    let letters = crate::casework::feedback::pages::for_portal(ctx, id).await?;
    let tpl = PortalDetailPage {
        letters,
        page: Page::new(ctx, "portal.title"),
        form,
        commission: ctx.user()?.role == Role::Commission,
        emergency_waiting: r.row.urgency == Urgency::Emergency
            && r.row.status == Status::New
            && r.routing.acknowledged_at.is_none(),
        deadline: r.deadline(&ctx.state.settings),
        exploitation: file.facts.exploitation,
        indicators,
        r,
        feedback: file.sensitive.feedback,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn portal_detail(ctx: Ctx, id: PathId<ReferralId>) -> Result<HttpResponse, AppError> {
    portal_detail_page(&ctx, id.0, Form::default(), StatusCode::OK).await
}

async fn portal_withdraw(ctx: Ctx, id: PathId<ReferralId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let back = format!("/portal/{}", id.0);
    let form = pairs(&body)?;
    if !crate::web::page::confirmed(&form) {
        let action = format!("/portal/{}/consent/withdraw", id.0);
        return crate::web::page::confirm_page(&ctx, WITHDRAWAL, &action, &form, &["version"], &back);
    }
    act_from_form(
        &ctx,
        id.0,
        &body,
        |_| Ok(Action::WithdrawConsent),
        "flash.consent_withdrawn",
        &back,
    )
    .await
}
