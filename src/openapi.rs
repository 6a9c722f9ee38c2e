//! The OpenAPI 3.1 document served at `/api/openapi.json`; tests check it lists every API route and
//! describes every answer of every operation (`tests/api/openapi.rs`).

use std::sync::OnceLock;

use actix_web::http::Method;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, ContentBuilder, ObjectBuilder, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi};

use crate::auth::Access;
use crate::domain::Role;
use crate::{accounts, audit, casework, hotline, notify, pages, persons, referrals, roster};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Varco API",
        version = "1",
        description = "Case manager of the anti-trafficking referral system (800 290 290). \
            Errors are application/problem+json (RFC 9457). Updates need the version read \
            (If-Match or a `version` field): without it they are refused with 428, with a stale \
            one with 409. Callers authenticated by the session cookie send the session's CSRF \
            token (see /api/v1/me) as X-CSRF-Token on every state-changing call; bearer callers \
            need none. Times are RFC 3339 in Europe/Rome."
    ),
    paths(
        pages::healthz,
        pages::me,
        accounts::api::list_orgs,
        accounts::api::create_org,
        accounts::api::get_org,
        accounts::api::update_org,
        accounts::api::list_users,
        accounts::api::create_user,
        accounts::api::get_user,
        accounts::api::update_user,
        accounts::api::list_tokens,
        accounts::api::create_token,
        accounts::api::revoke_token,
        audit::api::list,
        referrals::api::create,
        referrals::api::list,
        referrals::api::get,
        referrals::api::acknowledge,
        referrals::api::take_charge,
        referrals::api::decline,
        referrals::api::feedback,
        referrals::api::withdraw_consent,
        referrals::api::import_draft,
        referrals::api::confirm,
        referrals::api::answer_mediation,
        persons::api::candidates,
        persons::api::get,
        persons::api::link,
        persons::api::reject,
        persons::api::unlink,
        hotline::api::list_calls,
        hotline::api::create_call,
        roster::api::get_roster,
        roster::api::create_shift,
        roster::api::delete_shift,
        notify::api::list_outbox,
        notify::api::retry,
        crate::placements::api::list_points,
        crate::placements::api::create_point,
        crate::placements::api::board,
        crate::placements::api::occupancy,
        crate::observatory::api::table,
        crate::observatory::api::table_file,
        crate::observatory::api::records,
        crate::placements::api::get_point,
        crate::placements::api::update_point,
        crate::placements::api::reveal_address,
        crate::placements::api::list_placements,
        crate::placements::api::create_placement,
        crate::placements::api::check_in,
        crate::placements::api::check_out,
        crate::placements::api::release,
        crate::placements::api::turn_away,
        casework::api::list_cases,
        casework::api::get_case,
        casework::api::transition,
        casework::api::reassign,
        casework::api::plan_interview,
        casework::api::hold_interview,
        casework::api::cancel_interview,
        casework::api::answer_booking,
        casework::api::add_task,
        casework::api::finish_task,
        casework::api::raise_flag,
        casework::api::clear_flag,
        casework::api::add_note,
        casework::api::assess,
        casework::api::decide_outcome,
        casework::api::answer_transfer,
        casework::api::calendar,
        crate::casework::feedback::api::list,
        crate::casework::feedback::api::draft,
        crate::casework::feedback::api::get,
        crate::casework::feedback::api::edit,
        crate::casework::feedback::api::approve,
        crate::casework::feedback::api::withdraw,
        crate::casework::feedback::api::send,
        crate::casework::feedback::api::pdf,
        crate::helpline::api::protocols,
        crate::helpline::api::route,
        crate::helpline::api::create_contact,
        crate::helpline::api::report,
        crate::helpline::api::directory,
        crate::helpline::api::import_switchboard,
        crate::helpline::api::import_chats,
        crate::helpline::api::add_service,
        crate::helpline::api::reveal_address,
    ),
    modifiers(&Security, &Contract),
    tags(
        (name = "service", description = "Health"),
        (name = "auth", description = "The caller"),
        (name = "organisations", description = "Referring and partner organisations"),
        (name = "users", description = "User accounts (administrators)"),
        (name = "tokens", description = "Bearer tokens for organisations' systems"),
        (name = "audit", description = "The append-only audit log"),
        (name = "referrals", description = "Referrals (segnalazioni): intake from every source, decisions, feedback, consent"),
        (name = "persons", description = "One person across channels: candidates for a referral, links and the journey"),
        (name = "hotline", description = "The 800 290 290 central station's call log"),
        (name = "roster", description = "The crisis unit's 24/7 roster"),
        (name = "outbox", description = "Notifications and their delivery"),
        (name = "cases", description = "Casework: cases about a person, interviews, tasks, flags, assessment, outcomes; the calendar"),
        (name = "escape-points", description = "Escape points (punti di fuga): the registry, the live availability board, the audited reveal of an address"),
        (name = "placements", description = "Holds and placements of a case's person at escape points: check-in, check-out, release, turn-away"),
        (name = "helpline", description = "The 1522 anti-violence helpline: network protocols, live transfer rules, contact records, the quarterly report"),
        (name = "feedback", description = "Written feedback (riscontro scritto) of a case: drafted, approved, rendered to PDF with its SHA-256, sent by (certified) email"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "varco_session",
                "browser session; state-changing calls also send X-CSRF-Token (see /api/v1/me)",
            ))),
        );
    }
}

/// Completes every operation with what the server really does, from the route table and the
/// shape of each operation, so that no handler has to repeat it (a test checks the result against
/// real answers for every role): the roles allowed, the error answers each operation can give as
/// `application/problem+json`, the `If-Match` and `X-CSRF-Token` request headers, and the `ETag`
/// of versioned answers.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let routes = crate::web::routes::declarations();
        let components = openapi.components.clone().unwrap_or_default();
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let access = routes
                    .iter()
                    .find(|(m, p, _)| *m == method && *p == path.as_str())
                    .map(|(_, _, a)| *a)
                    .unwrap_or(Access::Public);
                complete(op, &method, path, access, &components);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

/// The component a schema refers to (one level), or the schema itself.
fn resolve<'a>(schema: &'a RefOr<Schema>, components: &'a Components) -> Option<&'a Schema> {
    match schema {
        RefOr::T(s) => Some(s),
        RefOr::Ref(r) => r
            .ref_location
            .strip_prefix("#/components/schemas/")
            .and_then(|name| components.schemas.get(name))
            .and_then(|s| resolve(s, components)),
    }
}

/// True when the schema (or each branch of a `oneOf`) is an object with a `version`.
fn has_version(schema: &RefOr<Schema>, components: &Components) -> bool {
    match resolve(schema, components) {
        Some(Schema::Object(Object { properties, .. })) => properties.contains_key("version"),
        Some(Schema::OneOf(one)) => !one.items.is_empty() && one.items.iter().all(|s| has_version(s, components)),
        _ => false,
    }
}

fn json_schema(body: Option<&RequestBody>) -> Option<&RefOr<Schema>> {
    body?.content.get("application/json")?.schema.as_ref()
}

fn header(name: &str, required: bool, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(if required { Required::True } else { Required::False })
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

fn roles_text(access: Access) -> String {
    match access {
        Access::Public => "Public: no credentials needed.".into(),
        Access::Roles(roles) if roles.len() == Role::ALL.len() => "Allowed roles: any signed-in role.".into(),
        Access::Roles(roles) => format!(
            "Allowed roles: {}.",
            roles.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn complete(op: &mut Operation, method: &Method, path: &str, access: Access, components: &Components) {
    let public = access == Access::Public;
    let restricted = matches!(access, Access::Roles(r) if r.len() < Role::ALL.len());
    let changes = *method != Method::GET;
    let has_id = path.contains("{id}");
    let json_body = json_schema(op.request_body.as_ref());
    let any_body = op.request_body.is_some();
    let versioned_body = json_body.is_some_and(|s| has_version(s, components));
    let is_json_body = json_body.is_some();
    let params = op.parameters.get_or_insert_with(Vec::new);
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let if_match = params.iter().any(|p| p.name.eq_ignore_ascii_case("If-Match"));
    let takes_version = versioned_body || if_match;
    if versioned_body && !if_match {
        params.push(header(
            "If-Match",
            false,
            "The version read (its `ETag`, e.g. \"3\"), or send it as the body's `version`: \
             without either the update is refused with 428, with a stale one with 409.",
        ));
    }
    if changes && !public {
        params.push(header(
            "X-CSRF-Token",
            false,
            "Required with the session cookie (the `csrf_token` of /api/v1/me); not with a bearer token.",
        ));
    }
    if params.is_empty() {
        op.parameters = None;
    }

    let mut description = op.description.take().unwrap_or_default();
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&roles_text(access));
    op.description = Some(description);

    let forbidden = match (restricted, changes) {
        (true, true) => "The caller's role may not do this, or a session caller sent no valid X-CSRF-Token",
        (true, false) => "The caller's role may not do this",
        (false, _) => "A session caller sent no valid X-CSRF-Token",
    };
    let errors: [(&str, bool, &str); 10] = [
        (
            "400",
            is_json_body || has_query || has_id || takes_version,
            "The path, query, headers or body cannot be read (`errors` names the field)",
        ),
        ("401", !public, "No valid credentials: a session cookie or a bearer token"),
        ("403", !public && (restricted || changes), forbidden),
        ("404", has_id, "No such record, or not one the caller may see"),
        (
            "409",
            takes_version,
            "The record changed since it was read (`current_version`, and `ETag`), or its state does not allow this (`state`, `action`)",
        ),
        ("413", any_body, "The body is larger than the limit"),
        ("415", any_body, "The body is not of the content type declared here"),
        ("422", is_json_body, "The input breaks a rule (`errors` names the fields)"),
        ("428", takes_version, "The version read is missing: send If-Match or a `version` field"),
        ("503", true, "The database does not answer"),
    ];
    let responses = &mut op.responses.responses;
    for (status, applies, text) in errors {
        if applies && !responses.contains_key(status) {
            responses.insert(status.into(), RefOr::T(Response::new(text)));
        }
    }
    let problem = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        let code: u16 = status.parse().unwrap_or(0);
        if response.description.is_empty() {
            response.description = actix_web::http::StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .to_owned();
        }
        if code >= 400 {
            response.content.clear();
            response
                .content
                .insert("application/problem+json".into(), problem.clone());
            if code == 409 && takes_version {
                response.headers.insert(
                    "ETag".into(),
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some("With a stale version: the version now stored"))
                        .build(),
                );
            }
        } else if response
            .content
            .get("application/json")
            .and_then(|c| c.schema.as_ref())
            .is_some_and(|s| has_version(s, components))
        {
            response.headers.insert(
                "ETag".into(),
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some(
                        "The record's version (\"3\"): send it back as If-Match to update it",
                    ))
                    .build(),
            );
        }
    }
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()))
}
