//! Administrator pages: users, organisations, tokens. They call the same stores as the API.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use super::orgs::{OrgInput, OrgRow};
use super::service;
use super::tokens::TokenView;
use super::users::{NewUserInput, UserPatch, UserRow};
use crate::auth::Access;
use crate::domain::territory::{Province, Region, PROVINCES, REGIONS};
use crate::domain::{DisplayName, OrgId, OrgKind, Password, Role, TokenId, UserId, Version};
use crate::error::AppError;
use crate::web::i18n::message;
use crate::web::page::{field, pairs, redirect_with_flash, render, render_status, Form, Page};
use crate::web::{Ctx, PathId, RouteDef};

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/admin/users", Access::ADMIN, users_list),
        RouteDef::new(Method::POST, "/admin/users", Access::ADMIN, user_create),
        RouteDef::new(Method::GET, "/admin/users/new", Access::ADMIN, user_new),
        RouteDef::new(Method::GET, "/admin/users/{id}", Access::ADMIN, user_edit),
        RouteDef::new(Method::POST, "/admin/users/{id}", Access::ADMIN, user_update),
        RouteDef::new(Method::GET, "/admin/organisations", Access::ADMIN, orgs_list),
        RouteDef::new(Method::POST, "/admin/organisations", Access::ADMIN, org_create),
        RouteDef::new(Method::GET, "/admin/organisations/new", Access::ADMIN, org_new),
        RouteDef::new(Method::GET, "/admin/organisations/{id}", Access::ADMIN, org_edit),
        RouteDef::new(Method::POST, "/admin/organisations/{id}", Access::ADMIN, org_update),
        RouteDef::new(Method::GET, "/admin/tokens", Access::ADMIN, tokens_list),
        RouteDef::new(Method::POST, "/admin/tokens", Access::ADMIN, token_create),
        RouteDef::new(Method::GET, "/admin/tokens/new", Access::ADMIN, token_new),
        RouteDef::new(Method::POST, "/admin/tokens/{id}/revoke", Access::ADMIN, token_revoke),
    ]
}

// ----- users -----

struct UserLine {
    user: UserRow,
    org_name: Option<String>,
    locked: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: Page,
    users: Vec<UserLine>,
}

async fn users_list(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let now = ctx.now;
    let rows = service::list_users(&ctx.state, &ctx.caller()).await?;
    let tpl = UsersPage {
        page: Page::new(&ctx, "users.title"),
        users: rows
            .into_iter()
            .map(|(user, org_name)| UserLine {
                locked: user.is_locked(now),
                user,
                org_name,
            })
            .collect(),
    };
    render(&tpl.page, &tpl)
}

#[derive(Template)]
#[template(path = "admin/user_form.html")]
struct UserFormPage {
    page: Page,
    form: Form,
    /// `None` for a new user.
    user_id: Option<UserId>,
    locked: bool,
    roles: &'static [Role],
    orgs: Vec<OrgRow>,
}

async fn user_form(
    ctx: &Ctx,
    form: Form,
    user_id: Option<UserId>,
    locked: bool,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let orgs = service::list_orgs(&ctx.state).await?;
    let tpl = UserFormPage {
        page: Page::new(ctx, if user_id.is_some() { "users.edit" } else { "users.new" }),
        form,
        user_id,
        locked,
        roles: Role::ALL,
        orgs,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn user_new(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set("role", "operator");
    user_form(&ctx, form, None, false, StatusCode::OK).await
}

fn org_id_field(form: &Form) -> Result<Option<OrgId>, AppError> {
    match form.v("org_id").trim() {
        "" => Ok(None),
        s => s
            .parse::<OrgId>()
            .map(Some)
            .map_err(|_| AppError::invalid("org_id", "no such organisation")),
    }
}

async fn user_create(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let mut form = Form::from_pairs(&pairs);
    let password_input = field(&pairs, "password").unwrap_or("").to_owned();
    if password_input != field(&pairs, "password_confirm").unwrap_or("") {
        form.add_error("password_confirm", message(ctx.lang, "does not match the password"));
    }
    let org_id = match org_id_field(&form) {
        Ok(o) => o,
        Err(e) => {
            form.absorb(&e, ctx.lang);
            None
        }
    };
    let input = NewUserInput {
        username: form.v("username").to_owned(),
        display_name: Some(form.v("display_name").to_owned()).filter(|s| !s.trim().is_empty()),
        email: Some(form.v("email").to_owned()),
        role: form.v("role").to_owned(),
        org_id,
        password: password_input,
        languages: Some(form.v("languages").to_owned()),
    };
    let new = match input.parse() {
        Ok(n) if !form.has_errors() => n,
        Ok(_) => return user_form(&ctx, form, None, false, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => {
            form.absorb(&e, ctx.lang);
            return user_form(&ctx, form, None, false, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let created = service::create_user(&ctx.state, &ctx.caller(), new).await;
    match created {
        Ok(_) => Ok(redirect_with_flash("/admin/users", "flash.user_created")),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let e = match e {
                AppError::Conflict(m) if m.starts_with("username") => AppError::invalid("username", "is already taken"),
                other => other,
            };
            form.absorb(&e, ctx.lang);
            user_form(&ctx, form, None, false, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

fn form_of_user(u: &UserRow) -> Form {
    let mut f = Form::default();
    f.set("username", u.username.clone());
    f.set("display_name", u.display_name.clone());
    f.set("email", u.email.clone().unwrap_or_default());
    f.set("role", u.role.as_str());
    f.set("org_id", u.org_id.map(|i| i.to_string()).unwrap_or_default());
    f.set("languages", u.languages.join("\u{1f}"));
    if u.disabled {
        f.set("disabled", "on");
    }
    f.set("version", u.version.to_string());
    f
}

async fn user_edit(ctx: Ctx, id: PathId<UserId>) -> Result<HttpResponse, AppError> {
    let (now, id) = (ctx.now, id.0);
    let user = service::read_user(&ctx.state, &ctx.caller(), id).await?;
    let locked = user.is_locked(now);
    user_form(&ctx, form_of_user(&user), Some(id), locked, StatusCode::OK).await
}

async fn user_update(ctx: Ctx, id: PathId<UserId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let id = id.0;
    let pairs = pairs(&body)?;
    let mut form = Form::from_pairs(&pairs);
    let current = service::read_user(&ctx.state, &ctx.caller(), id).await?;
    form.set("username", current.username.clone());
    let locked = current.is_locked(ctx.now);
    let version = form.v("version").trim().parse::<Version>().ok();
    let Some(version) = version else {
        form.general = Some(message(ctx.lang, "the form is missing its version: reload the page"));
        return user_form(&ctx, form, Some(id), locked, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let display_name = DisplayName::parse(form.v("display_name"))
        .map_err(|m| form.add_error("display_name", message(ctx.lang, m)))
        .ok();
    let email = crate::domain::parse_email(Some(form.v("email")))
        .map_err(|m| form.add_error("email", message(ctx.lang, m)))
        .ok();
    let role = Role::parse(form.v("role"));
    if role.is_none() {
        form.add_error("role", message(ctx.lang, "is not a known role"));
    }
    let org_id = org_id_field(&form).map_err(|e| form.absorb(&e, ctx.lang)).ok();
    let languages = crate::domain::parse_languages(form.v("languages"))
        .map_err(|m| form.add_error("languages", message(ctx.lang, m)))
        .ok();
    let new_password = field(&pairs, "password").unwrap_or("").to_owned();
    if !new_password.is_empty() {
        if new_password != field(&pairs, "password_confirm").unwrap_or("") {
            form.add_error("password_confirm", message(ctx.lang, "does not match the password"));
        }
        if let Err(m) = Password::parse(&new_password, &current.username) {
            form.add_error("password", message(ctx.lang, m));
        }
    }
    if form.has_errors() {
        return user_form(&ctx, form, Some(id), locked, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let new_password = (!new_password.is_empty()).then_some(new_password);
    let patch = UserPatch {
        display_name,
        email,
        role,
        org_id,
        disabled: Some(form.is("disabled", "on")),
        password_hash: None,
        unlock: form.is("unlock", "on"),
        languages,
    };
    let result = service::update_user(&ctx.state, &ctx.caller(), id, version, patch, new_password).await;
    match result {
        Ok(_) => Ok(redirect_with_flash("/admin/users", "flash.user_updated")),
        Err(AppError::StaleVersion { current_version }) => {
            // Keep what the user typed, and show what the other person saved where it differs.
            form.set("version", current_version.to_string());
            form.general = Some(crate::web::i18n::t(ctx.lang, "form.stale").to_owned());
            let now = service::read_user(&ctx.state, &ctx.caller(), id).await?;
            let t = |k: &str| crate::web::i18n::t(ctx.lang, k).to_owned();
            let theirs = form_of_user(&now);
            let org_name = match now.org_id {
                Some(o) => service::get_org(&ctx.state, o).await?.name,
                None => String::new(),
            };
            let shown = [
                ("display_name", "user.display_name", now.display_name.clone()),
                ("email", "user.email", now.email.clone().unwrap_or_default()),
                ("role", "user.role", now.role.label(ctx.lang).to_owned()),
                ("org_id", "user.organisation", org_name),
                (
                    "languages",
                    "user.languages",
                    now.languages
                        .iter()
                        .map(|c| crate::domain::language_name(c, ctx.lang))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                (
                    "disabled",
                    "user.disabled",
                    t(if now.disabled { "form.yes" } else { "form.no" }),
                ),
            ];
            for (field, label, words) in shown {
                if form.v(field).trim() != theirs.v(field) {
                    form.others
                        .push((t(label), if words.is_empty() { "—".into() } else { words }));
                }
            }
            user_form(&ctx, form, Some(id), locked, StatusCode::CONFLICT).await
        }
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            form.absorb(&e, ctx.lang);
            user_form(&ctx, form, Some(id), locked, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

// ----- organisations -----

#[derive(Template)]
#[template(path = "admin/orgs.html")]
struct OrgsPage {
    page: Page,
    orgs: Vec<OrgRow>,
}

async fn orgs_list(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let orgs = service::list_orgs(&ctx.state).await?;
    let tpl = OrgsPage {
        page: Page::new(&ctx, "orgs.title"),
        orgs,
    };
    render(&tpl.page, &tpl)
}

#[derive(Template)]
#[template(path = "admin/org_form.html")]
struct OrgFormPage {
    page: Page,
    form: Form,
    org_id: Option<OrgId>,
    kinds: &'static [OrgKind],
    regions: &'static [Region],
    provinces: &'static [Province],
}

fn org_form(ctx: &Ctx, form: Form, org_id: Option<OrgId>, status: StatusCode) -> Result<HttpResponse, AppError> {
    let tpl = OrgFormPage {
        page: Page::new(ctx, if org_id.is_some() { "orgs.edit" } else { "orgs.new" }),
        form,
        org_id,
        kinds: OrgKind::ALL,
        regions: REGIONS,
        provinces: PROVINCES,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn org_new(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set("active", "on");
    org_form(&ctx, form, None, StatusCode::OK)
}

fn org_input(form: &Form) -> OrgInput {
    let opt = |k: &str| Some(form.v(k).to_owned());
    OrgInput {
        name: form.v("name").to_owned(),
        kind: form.v("kind").to_owned(),
        section: opt("section"),
        region: opt("region"),
        province: opt("province"),
        email: opt("email"),
        active: Some(form.is("active", "on")),
    }
}

async fn org_create(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let mut form = Form::from_pairs(&pairs(&body)?);
    let fields = match org_input(&form).parse() {
        Ok(f) => f,
        Err(e) => {
            form.absorb(&e, ctx.lang);
            return org_form(&ctx, form, None, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let created = service::create_org(&ctx.state, &ctx.caller(), fields).await;
    match created {
        Ok(_) => Ok(redirect_with_flash("/admin/organisations", "flash.org_created")),
        Err(AppError::Conflict(_)) => {
            form.add_error("name", message(ctx.lang, "an organisation with this name exists"));
            org_form(&ctx, form, None, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

async fn org_edit(ctx: Ctx, id: PathId<OrgId>) -> Result<HttpResponse, AppError> {
    let id = id.0;
    let o = service::get_org(&ctx.state, id).await?;
    let mut f = Form::default();
    f.set("name", o.name);
    f.set("kind", o.kind.as_str());
    f.set("section", o.section.unwrap_or_default());
    f.set("region", o.region.map(|r| r.code).unwrap_or_default());
    f.set("province", o.province.map(|p| p.code).unwrap_or_default());
    f.set("email", o.email.unwrap_or_default());
    if o.active {
        f.set("active", "on");
    }
    f.set("version", o.version.to_string());
    org_form(&ctx, f, Some(id), StatusCode::OK)
}

async fn org_update(ctx: Ctx, id: PathId<OrgId>, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let id = id.0;
    let mut form = Form::from_pairs(&pairs(&body)?);
    let Some(version) = form.v("version").trim().parse::<Version>().ok() else {
        form.general = Some(message(ctx.lang, "the form is missing its version: reload the page"));
        return org_form(&ctx, form, Some(id), StatusCode::UNPROCESSABLE_ENTITY);
    };
    let input = org_input(&form);
    if let Err(e) = input.parse() {
        form.absorb(&e, ctx.lang);
        return org_form(&ctx, form, Some(id), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let result = service::update_org(&ctx.state, &ctx.caller(), id, version, move |_| input).await;
    match result {
        Ok(_) => Ok(redirect_with_flash("/admin/organisations", "flash.org_updated")),
        Err(AppError::StaleVersion { current_version }) => {
            // Keep what the user typed, and show what the other person saved where it differs:
            // saving again must be a choice, not a silent revert of their change.
            form.set("version", current_version.to_string());
            form.general = Some(crate::web::i18n::t(ctx.lang, "form.stale").to_owned());
            let current = service::get_org(&ctx.state, id).await?;
            let t = |k: &str| crate::web::i18n::t(ctx.lang, k).to_owned();
            let yes_no = |b: bool| t(if b { "form.yes" } else { "form.no" });
            let shown = [
                ("name", "org.name", current.name.clone(), current.name.clone()),
                (
                    "kind",
                    "org.kind",
                    current.kind.as_str().to_owned(),
                    current.kind.label(ctx.lang).to_owned(),
                ),
                (
                    "section",
                    "org.section",
                    current.section.clone().unwrap_or_default(),
                    current.section.clone().unwrap_or_default(),
                ),
                (
                    "region",
                    "org.region",
                    current.region.map(|r| r.code.to_owned()).unwrap_or_default(),
                    current.region.map(|r| r.name.to_owned()).unwrap_or_default(),
                ),
                (
                    "province",
                    "org.province",
                    current.province.map(|p| p.code.to_owned()).unwrap_or_default(),
                    current.province.map(|p| p.name.to_owned()).unwrap_or_default(),
                ),
                (
                    "email",
                    "org.email",
                    current.email.clone().unwrap_or_default(),
                    current.email.clone().unwrap_or_default(),
                ),
                (
                    "active",
                    "org.active",
                    if current.active { "on".into() } else { String::new() },
                    yes_no(current.active),
                ),
            ];
            for (field, label, value, words) in shown {
                if form.v(field).trim() != value {
                    form.others
                        .push((t(label), if words.is_empty() { "—".into() } else { words }));
                }
            }
            org_form(&ctx, form, Some(id), StatusCode::CONFLICT)
        }
        Err(AppError::Conflict(_)) => {
            form.add_error("name", message(ctx.lang, "an organisation with this name exists"));
            org_form(&ctx, form, Some(id), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e @ AppError::Invalid(_)) => {
            form.absorb(&e, ctx.lang);
            org_form(&ctx, form, Some(id), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

// ----- tokens -----

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    page: Page,
    tokens: Vec<TokenView>,
}

async fn tokens_list(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let rows = service::list_tokens(&ctx.state).await?;
    let tpl = TokensPage {
        page: Page::new(&ctx, "tokens.title"),
        tokens: rows.into_iter().map(|(t, o)| TokenView::new(t, o)).collect(),
    };
    render(&tpl.page, &tpl)
}

#[derive(Template)]
#[template(path = "admin/token_form.html")]
struct TokenFormPage {
    page: Page,
    form: Form,
    orgs: Vec<OrgRow>,
    roles: &'static [Role],
}

async fn token_form(ctx: &Ctx, form: Form, status: StatusCode) -> Result<HttpResponse, AppError> {
    let orgs = service::list_orgs(&ctx.state).await?;
    let tpl = TokenFormPage {
        page: Page::new(ctx, "tokens.new"),
        form,
        orgs: orgs.into_iter().filter(|o| o.active).collect(),
        roles: Role::TOKEN_ROLES,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn token_new(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let mut form = Form::default();
    form.set("role", "referrer");
    token_form(&ctx, form, StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "admin/token_created.html")]
struct TokenCreatedPage {
    page: Page,
    token: TokenView,
    secret: String,
}

async fn token_create(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let mut form = Form::from_pairs(&pairs(&body)?);
    let org_id = form.v("org_id").trim().parse::<OrgId>().ok();
    let role = Role::parse(form.v("role"));
    if org_id.is_none() {
        form.add_error("org_id", message(ctx.lang, "is required"));
    }
    if role.is_none() {
        form.add_error("role", message(ctx.lang, "is not a known role"));
    }
    let (Some(org_id), Some(role)) = (org_id, role) else {
        return token_form(&ctx, form, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let created = service::create_token(&ctx.state, &ctx.caller(), org_id, role, form.v("label").to_owned()).await;
    match created {
        Ok((row, org, secret)) => {
            let tpl = TokenCreatedPage {
                page: Page::new(&ctx, "tokens.created"),
                token: TokenView::new(row, org),
                secret,
            };
            render_status(&tpl.page, StatusCode::CREATED, &tpl)
        }
        Err(e @ AppError::Invalid(_)) => {
            form.absorb(&e, ctx.lang);
            token_form(&ctx, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

async fn token_revoke(ctx: Ctx, id: PathId<TokenId>) -> Result<HttpResponse, AppError> {
    let result = service::revoke_token(&ctx.state, &ctx.caller(), id.0).await.map(|_| ());
    match result {
        Ok(()) | Err(AppError::Conflict(_)) => Ok(redirect_with_flash("/admin/tokens", "flash.token_revoked")),
        Err(e) => Err(e),
    }
}
