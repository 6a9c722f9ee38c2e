//! JSON API for organisations, users and tokens (administrators; staff may read organisations).

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::orgs::{OrgInput, OrgView};
use super::service;
use super::tokens::TokenView;
use super::users::{NewUserInput, UserPatch, UserView};
use crate::auth::Access;
use crate::domain::{DisplayName, OrgId, OrgKind, Role, TokenId, UserId};
use crate::error::{AppError, Problem};
use crate::web::json::{double_option, versioned};
use crate::web::{expected_version, ApiJson, Ctx, PathId, RouteDef};

/// Crisis-unit staff read the organisation directory (to record who referred a person).
const ORG_READERS: Access = Access::Roles(&[Role::Admin, Role::Coordinator, Role::Operator, Role::Mediator]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/organisations", ORG_READERS, list_orgs),
        RouteDef::new(Method::POST, "/api/v1/organisations", Access::ADMIN, create_org),
        RouteDef::new(Method::GET, "/api/v1/organisations/{id}", ORG_READERS, get_org),
        RouteDef::new(Method::PATCH, "/api/v1/organisations/{id}", Access::ADMIN, update_org),
        RouteDef::new(Method::GET, "/api/v1/users", Access::ADMIN, list_users),
        RouteDef::new(Method::POST, "/api/v1/users", Access::ADMIN, create_user),
        RouteDef::new(Method::GET, "/api/v1/users/{id}", Access::ADMIN, get_user),
        RouteDef::new(Method::PATCH, "/api/v1/users/{id}", Access::ADMIN, update_user),
        RouteDef::new(Method::GET, "/api/v1/tokens", Access::ADMIN, list_tokens),
        RouteDef::new(Method::POST, "/api/v1/tokens", Access::ADMIN, create_token),
        RouteDef::new(Method::POST, "/api/v1/tokens/{id}/revoke", Access::ADMIN, revoke_token),
    ]
}

// ----- organisations -----

/// A new organisation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    pub kind: OrgKind,
    /// Section of a territorial commission (only for that kind).
    pub section: Option<String>,
    /// ISTAT region code or name; taken from the province when omitted.
    pub region: Option<String>,
    /// ISTAT province code, sigla or name.
    pub province: Option<String>,
    pub email: Option<String>,
    pub active: Option<bool>,
}

/// Changes to an organisation: absent fields stay, `null` clears.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    /// The version read (or send `If-Match`).
    pub version: Option<i64>,
    #[validate(length(min = 1, max = 200))]
    pub name: Option<String>,
    pub kind: Option<OrgKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub section: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub province: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Organisations, by name.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations",
    responses((status = 200, body = [OrgView]), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn list_orgs(ctx: Ctx) -> Result<web::Json<Vec<OrgView>>, AppError> {
    let rows = service::list_orgs(&ctx.state).await?;
    Ok(web::Json(rows.into_iter().map(OrgView::from).collect()))
}

/// One organisation; `ETag` carries its version.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations",
    params(("id" = i64, Path)),
    responses((status = 200, body = OrgView), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn get_org(ctx: Ctx, id: PathId<OrgId>) -> Result<HttpResponse, AppError> {
    let row = service::get_org(&ctx.state, id.0).await?;
    let v = row.version;
    Ok(versioned(StatusCode::OK, &OrgView::from(row), v, None))
}

/// Creates an organisation.
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", request_body = CreateOrg,
    responses((status = 201, body = OrgView, headers(("Location" = String, description = "the organisation's URL"))), (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn create_org(ctx: Ctx, body: ApiJson<CreateOrg>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let fields = OrgInput {
        name: b.name,
        kind: b.kind.as_str().into(),
        section: b.section,
        region: b.region,
        province: b.province,
        email: b.email,
        active: b.active,
    }
    .parse()?;
    let row = service::create_org(&ctx.state, &ctx.caller(), fields).await?;
    let (id, v) = (row.id.get(), row.version);
    Ok(versioned(
        StatusCode::CREATED,
        &OrgView::from(row),
        v,
        Some(format!("/api/v1/organisations/{id}")),
    ))
}

/// Updates an organisation if it is still at the version sent (else 409 with the current one).
#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "organisations", request_body = UpdateOrg,
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the version read, e.g. \"3\"")),
    responses((status = 200, body = OrgView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn update_org(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<OrgId>,
    body: ApiJson<UpdateOrg>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let expected = expected_version(&req, b.version)?;
    let row = service::update_org(&ctx.state, &ctx.caller(), id.0, expected, move |cur| OrgInput {
        name: b.name.unwrap_or(cur.name),
        kind: b.kind.unwrap_or(cur.kind).as_str().to_owned(),
        section: b.section.unwrap_or(cur.section),
        region: b.region.unwrap_or(cur.region.map(|r| r.code.to_owned())),
        province: b.province.unwrap_or(cur.province.map(|p| p.code.to_owned())),
        email: b.email.unwrap_or(cur.email),
        active: Some(b.active.unwrap_or(cur.active)),
    })
    .await?;
    let v = row.version;
    Ok(versioned(StatusCode::OK, &OrgView::from(row), v, None))
}

// ----- users -----

/// A new user account.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[validate(length(min = 3, max = 64))]
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
    /// Required for `referrer` and `commission`.
    pub org_id: Option<i64>,
    /// At least 12 characters.
    pub password: String,
    /// Languages spoken, ISO 639 codes (mediators are matched on them).
    pub languages: Option<Vec<String>>,
}

/// Changes to a user: absent fields stay, `null` clears.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub version: Option<i64>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub org_id: Option<Option<i64>>,
    /// Disabling ends the user's sessions at once.
    pub disabled: Option<bool>,
    /// A new password (ends the user's sessions).
    pub password: Option<String>,
    /// `true` clears a lockout after failed logins.
    pub unlock: Option<bool>,
    /// Languages spoken, ISO 639 codes.
    pub languages: Option<Vec<String>>,
}

/// All users (personal data: the read is audited).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = [UserView]), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn list_users(ctx: Ctx) -> Result<web::Json<Vec<UserView>>, AppError> {
    let rows = service::list_users(&ctx.state, &ctx.caller()).await?;
    Ok(web::Json(
        rows.into_iter().map(|(u, _)| UserView::new(u, ctx.now)).collect(),
    ))
}

/// One user (audited read); `ETag` carries the version.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn get_user(ctx: Ctx, id: PathId<UserId>) -> Result<HttpResponse, AppError> {
    let row = service::read_user(&ctx.state, &ctx.caller(), id.0).await?;
    let v = row.version;
    Ok(versioned(StatusCode::OK, &UserView::new(row, ctx.now), v, None))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserView, headers(("Location" = String, description = "the user's URL"))), (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn create_user(ctx: Ctx, body: ApiJson<CreateUser>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let new = NewUserInput {
        username: b.username,
        display_name: b.display_name,
        email: b.email,
        role: b.role.as_str().into(),
        org_id: b.org_id.map(OrgId),
        password: b.password,
        languages: b.languages.map(|l| l.join(",")),
    }
    .parse()?;
    let row = service::create_user(&ctx.state, &ctx.caller(), new).await?;
    let (id, v) = (row.id.get(), row.version);
    Ok(versioned(
        StatusCode::CREATED,
        &UserView::new(row, ctx.now),
        v,
        Some(format!("/api/v1/users/{id}")),
    ))
}

/// Updates a user if still at the version sent.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the version read")),
    responses((status = 200, body = UserView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn update_user(
    ctx: Ctx,
    req: HttpRequest,
    id: PathId<UserId>,
    body: ApiJson<UpdateUser>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let expected = expected_version(&req, b.version)?;
    let id = id.0;
    let display_name = b
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()
        .map_err(|m| AppError::invalid("display_name", m))?;
    let email = match b.email {
        None => None,
        Some(e) => Some(crate::domain::parse_email(e.as_deref()).map_err(|m| AppError::invalid("email", m))?),
    };
    let languages = b
        .languages
        .map(|l| crate::domain::parse_languages(&l.join(",")))
        .transpose()
        .map_err(|m| AppError::invalid("languages", m))?;
    let patch = UserPatch {
        display_name,
        email,
        role: b.role,
        org_id: b.org_id.map(|o| o.map(OrgId)),
        disabled: b.disabled,
        password_hash: None,
        unlock: b.unlock.unwrap_or(false),
        languages,
    };
    let row = service::update_user(&ctx.state, &ctx.caller(), id, expected, patch, b.password).await?;
    let v = row.version;
    Ok(versioned(StatusCode::OK, &UserView::new(row, ctx.now), v, None))
}

// ----- tokens -----

/// A new bearer token for an organisation's system.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub org_id: i64,
    /// `referrer`, `commission` or `analyst`.
    pub role: Role,
    /// What system uses it (shown in lists).
    #[validate(length(min = 1, max = 100))]
    pub label: String,
}

/// A token just created: `secret` is shown this once and never stored.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

/// All tokens, newest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = [TokenView]), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn list_tokens(ctx: Ctx) -> Result<web::Json<Vec<TokenView>>, AppError> {
    let rows = service::list_tokens(&ctx.state).await?;
    Ok(web::Json(
        rows.into_iter().map(|(t, org)| TokenView::new(t, org)).collect(),
    ))
}

/// Creates a token; the secret is in the answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn create_token(ctx: Ctx, body: ApiJson<CreateToken>) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let (row, org, secret) = service::create_token(&ctx.state, &ctx.caller(), OrgId(b.org_id), b.role, b.label).await?;
    Ok(HttpResponse::Created().json(CreatedToken {
        token: TokenView::new(row, org),
        secret,
    }))
}

/// Revokes a token at once.
#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 200, body = TokenView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn revoke_token(ctx: Ctx, id: PathId<TokenId>) -> Result<web::Json<TokenView>, AppError> {
    let (row, org) = service::revoke_token(&ctx.state, &ctx.caller(), id.0).await?;
    Ok(web::Json(TokenView::new(row, org)))
}
