//! Pages every user meets: first-run setup, login and logout, home, own account, language
//! switch; plus health, static assets, the OpenAPI document and `/api/v1/me`.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::service;
use crate::accounts::users::NewUserInput;
use crate::auth::login::{self, LoginResult};
use crate::auth::{Access, Actor};
use crate::clock::rome_display;
use crate::domain::{OrgKind, Role};
use crate::error::AppError;
use crate::web::i18n::{Lang, LANG_COOKIE};
use crate::web::page::{field, pairs, redirect, redirect_with_flash, render, render_status, safe_next, Form, Page};
use crate::web::{session_cookie, session_cookie_removal, Ctx, RouteDef};

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/healthz", Access::Public, healthz),
        RouteDef::new(Method::GET, "/static/{file}", Access::Public, static_file),
        RouteDef::new(Method::GET, "/api/openapi.json", Access::Public, openapi),
        RouteDef::new(Method::GET, "/lang/{code}", Access::Public, switch_lang),
        RouteDef::new(Method::GET, "/setup", Access::Public, setup_form),
        RouteDef::new(Method::POST, "/setup", Access::Public, setup_submit),
        RouteDef::new(Method::GET, "/login", Access::Public, login_form),
        RouteDef::new(Method::POST, "/login", Access::Public, login_submit),
        RouteDef::new(Method::POST, "/logout", Access::ANY_USER, logout),
        RouteDef::new(Method::GET, "/", Access::ANY_USER, home),
        RouteDef::new(Method::GET, "/account", Access::ANY_USER, account),
        RouteDef::new(Method::POST, "/account/password", Access::ANY_USER, change_password),
        RouteDef::new(Method::GET, "/api/v1/me", Access::ANY_USER, me),
    ]
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
}

/// 200 once the database answers; 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "service", responses(
    (status = 200, body = Health), (status = 503, body = crate::error::Problem)))]
async fn healthz(ctx: Ctx) -> Result<web::Json<Health>, AppError> {
    use diesel::connection::SimpleConnection;
    ctx.state.db.read(|conn| Ok(conn.batch_execute("SELECT 1")?)).await?;
    Ok(web::Json(Health {
        status: "ok",
        backend: ctx.state.db.backend().name(),
    }))
}

const CSS: &[u8] = include_bytes!("../../static/varco.css");
const REFRESH_JS: &[u8] = include_bytes!("../../static/refresh.js");

async fn static_file(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (body, kind) = match path.as_str() {
        "varco.css" => (CSS, "text/css; charset=utf-8"),
        "refresh.js" => (REFRESH_JS, "text/javascript; charset=utf-8"),
        _ => return Err(AppError::NotFound),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(crate::openapi::document_json())
}

async fn switch_lang(req: HttpRequest, code: web::Path<String>) -> Result<HttpResponse, AppError> {
    let lang = Lang::parse(&code).ok_or_else(|| AppError::bad_request("code", "must be it or en"))?;
    let next = crate::web::page::next_param(req.query_string());
    let cookie = actix_web::cookie::Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .cookie(cookie)
        .finish())
}

// ----- first run -----

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    page: Page,
    form: Form,
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn setup_form(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if service::admin_exists(&ctx.state).await? {
        return Ok(redirect("/login"));
    }
    let q: TokenQuery = crate::web::extract::parse_query(req.query_string())?;
    let mut form = Form::default();
    form.set("token", q.token.unwrap_or_default());
    let tpl = SetupPage {
        page: Page::new(&ctx, "setup.title"),
        form,
    };
    render(&tpl.page, &tpl)
}

async fn setup_submit(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let mut form = Form::from_pairs(&pairs);
    let token = field(&pairs, "token").unwrap_or("").trim().to_owned();
    let password_input = field(&pairs, "password").unwrap_or("").to_owned();
    if password_input != field(&pairs, "password_confirm").unwrap_or("") {
        form.add_error(
            "password_confirm",
            crate::web::i18n::message(ctx.lang, "does not match the password"),
        );
    }
    let input = NewUserInput {
        username: form.v("username").to_owned(),
        display_name: Some(form.v("display_name").to_owned()),
        email: Some(form.v("email").to_owned()),
        role: Role::Admin.as_str().into(),
        org_id: None,
        password: password_input,
        languages: None,
    };
    let parsed = input.parse();
    let new_user = match parsed {
        Ok(u) if !form.has_errors() => u,
        Ok(_) => return setup_again(&ctx, form),
        Err(e) => {
            form.absorb(&e, ctx.lang);
            return setup_again(&ctx, form);
        }
    };
    let created = service::create_first_admin(&ctx.state, &ctx.caller(), token, new_user).await;
    match created {
        Ok((_, s)) => {
            let mut res = redirect_with_flash("/admin/users", "flash.setup_done");
            res.add_cookie(&session_cookie(&ctx.state.settings, s.cookie_value))
                .map_err(AppError::internal)?;
            Ok(res)
        }
        Err(AppError::Conflict(_)) => Ok(redirect("/login")),
        Err(e @ (AppError::Invalid(_) | AppError::BadRequest(_))) => {
            form.absorb(&e, ctx.lang);
            setup_again(&ctx, form)
        }
        Err(e) => Err(e),
    }
}

fn setup_again(ctx: &Ctx, form: Form) -> Result<HttpResponse, AppError> {
    let tpl = SetupPage {
        page: Page::new(ctx, "setup.title"),
        form,
    };
    render_status(&tpl.page, StatusCode::UNPROCESSABLE_ENTITY, &tpl)
}

// ----- login / logout -----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    form: Form,
    next: String,
    setup_needed: bool,
}

async fn login_form(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let next = crate::web::page::next_param(req.query_string());
    if ctx.principal.is_some() {
        return Ok(redirect(&next));
    }
    let setup_needed = !service::admin_exists(&ctx.state).await?;
    let tpl = LoginPage {
        page: Page::new(&ctx, "login.title"),
        form: Form::default(),
        next,
        setup_needed,
    };
    render(&tpl.page, &tpl)
}

async fn login_submit(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let mut form = Form::from_pairs(&pairs);
    let next = safe_next(field(&pairs, "next"));
    let username = form.v("username").to_owned();
    let password_input = field(&pairs, "password").unwrap_or("").to_owned();
    let state = &ctx.state;
    let result = login::login(state, &ctx.caller(), username, password_input).await?;
    let status = match result {
        LoginResult::Success { session, .. } => {
            let mut res = redirect(&next);
            res.add_cookie(&session_cookie(&state.settings, session.cookie_value))
                .map_err(AppError::internal)?;
            return Ok(res);
        }
        LoginResult::Invalid => {
            form.general = Some(crate::web::i18n::t(ctx.lang, "login.invalid").to_owned());
            StatusCode::UNAUTHORIZED
        }
        LoginResult::Throttled { .. } => {
            form.general = Some(crate::web::i18n::t(ctx.lang, "login.throttled").to_owned());
            StatusCode::TOO_MANY_REQUESTS
        }
    };
    let tpl = LoginPage {
        page: Page::new(&ctx, "login.title"),
        form,
        next,
        setup_needed: false,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn logout(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let p = ctx.user()?.clone();
    let id_hash = p.session.as_ref().map(|s| s.id_hash.clone());
    service::logout(&ctx.state, &ctx.caller(), id_hash).await?;
    let mut res = redirect_with_flash("/login", "flash.logged_out");
    res.add_cookie(&session_cookie_removal(&ctx.state.settings))
        .map_err(AppError::internal)?;
    Ok(res)
}

// ----- home and own account -----

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: Page,
}

async fn home(ctx: Ctx) -> Result<HttpResponse, AppError> {
    // The crisis unit's home is its queue (emergencies first).
    if ctx
        .principal
        .as_ref()
        .is_some_and(|p| matches!(p.role, Role::Operator | Role::Coordinator | Role::Mediator))
    {
        return Ok(redirect("/referrals"));
    }
    let tpl = HomePage {
        page: Page::new(&ctx, "home.title"),
    };
    render(&tpl.page, &tpl)
}

#[derive(Template)]
#[template(path = "account/index.html")]
struct AccountPage {
    page: Page,
    username: String,
    display_name: String,
    role: Role,
    org_name: Option<String>,
    last_login: Option<String>,
    form: Form,
}

async fn account_page(ctx: &Ctx, form: Form, status: StatusCode) -> Result<HttpResponse, AppError> {
    let (user, org) = service::own_account(&ctx.state, &ctx.caller()).await?;
    let tpl = AccountPage {
        page: Page::new(ctx, "account.title"),
        role: user.role,
        username: user.username,
        display_name: user.display_name,
        org_name: org,
        last_login: user.last_login_at.map(rome_display),
        form,
    };
    render_status(&tpl.page, status, &tpl)
}

async fn account(ctx: Ctx) -> Result<HttpResponse, AppError> {
    account_page(&ctx, Form::default(), StatusCode::OK).await
}

async fn change_password(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let pairs = pairs(&body)?;
    let text = |k: &str| field(&pairs, k).unwrap_or("").to_owned();
    let outcome = service::change_password(
        &ctx.state,
        &ctx.caller(),
        text("current_password"),
        text("password"),
        text("password_confirm"),
    )
    .await?;
    let new_session = match outcome {
        Ok(s) => s,
        Err(errors) => {
            let mut form = Form::default();
            for (f, m) in errors {
                form.add_error(f, crate::web::i18n::message(ctx.lang, m));
            }
            return account_page(&ctx, form, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let mut res = redirect_with_flash("/account", "flash.password_changed");
    res.add_cookie(&session_cookie(&ctx.state.settings, new_session.cookie_value))
        .map_err(AppError::internal)?;
    Ok(res)
}

// ----- API: who am I -----

/// An organisation in brief.
#[derive(Serialize, ToSchema)]
pub struct OrgBrief {
    pub id: i64,
    pub name: String,
    pub kind: OrgKind,
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// `session` (a person in a browser) or `token` (an organisation's system).
    pub via: &'static str,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub token_id: Option<i64>,
    pub token_label: Option<String>,
    pub role: Role,
    pub org: Option<OrgBrief>,
    /// The CSRF token to send as `X-CSRF-Token` on state-changing calls made with the session.
    pub csrf_token: Option<String>,
}

/// The caller's identity, role and organisation.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("session" = [])))]
async fn me(ctx: Ctx) -> Result<web::Json<Me>, AppError> {
    let p = ctx.user()?.clone();
    let org = service::me(&ctx.state, &ctx.caller()).await?;
    let (via, user_id, username, display_name, token_id, token_label) = match p.actor {
        Actor::User {
            id,
            username,
            display_name,
        } => ("session", Some(id), Some(username), Some(display_name), None, None),
        Actor::Token { id, label } => ("token", None, None, None, Some(id), Some(label)),
        Actor::System { .. } | Actor::Anonymous => return Err(AppError::Unauthenticated),
    };
    Ok(web::Json(Me {
        via,
        user_id: user_id.map(|u| u.get()),
        username,
        display_name,
        token_id: token_id.map(|t| t.get()),
        token_label,
        role: p.role,
        org: org.map(|o| OrgBrief {
            kind: o.kind,
            id: o.id.get(),
            name: o.name,
        }),
        csrf_token: p.session.map(|s| s.csrf_token),
    }))
}
