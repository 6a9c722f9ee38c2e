//! What every HTML page shares: language, the signed-in user, navigation by role, the CSRF token,
//! flash messages and forms that keep their input on error.

use std::collections::HashMap;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::HttpResponse;
use askama::Template;

use super::ctx::Ctx;
use super::i18n::{self, Lang};
use crate::auth::Actor;
use crate::domain::vocab::Labelled;
use crate::domain::Role;
use crate::error::{AppError, FieldError};

pub const FLASH_COOKIE: &str = "varco_flash";

/// A link in the navigation bar.
pub struct NavItem {
    pub href: &'static str,
    pub key: &'static str,
    pub active: bool,
    /// False for a page linked below the content, not in the bar (the unit's statistics: its
    /// navigation bar is full on a phone).
    pub in_bar: bool,
}

/// The navigation each role sees (later capabilities add their entries here).
fn nav_for(role: Role, path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str)> = vec![("/", "nav.home")];
    match role {
        Role::Coordinator | Role::Operator => items.extend([
            ("/referrals", "nav.referrals"),
            ("/cases", "nav.cases"),
            ("/escape-points", "nav.escape_points"),
            ("/calendar", "nav.calendar"),
            ("/hotline", "nav.hotline"),
            ("/roster", "nav.roster"),
        ]),
        Role::Mediator => items.extend([
            ("/referrals", "nav.referrals"),
            ("/calendar", "nav.calendar"),
            ("/roster", "nav.roster"),
        ]),
        Role::Referrer | Role::Commission => items.push(("/portal", "nav.portal")),
        Role::Analyst => items.extend([
            ("/observatory", "nav.observatory"),
            ("/escape-points/occupancy", "nav.occupancy"),
        ]),
        _ => {}
    }
    // The 1522: the desk records contacts; shift leads and analysts read the report.
    if matches!(role, Role::Coordinator | Role::Operator) {
        items.push(("/1522/contacts/new", "nav.helpline"));
    }
    if matches!(role, Role::Coordinator | Role::Analyst) {
        items.push(("/1522/report", "nav.helpline_report"));
    }
    if role == Role::Coordinator {
        // The coordinator checks that alerts went out.
        items.push(("/admin/outbox", "nav.outbox"));
    }
    // The unit's statistics, linked below every page: the observatory's exact tables and the
    // occupancy history of the escape points.
    let tiles_only: &[&str] = if matches!(role, Role::Coordinator | Role::Operator) {
        items.extend([
            ("/observatory", "nav.observatory"),
            ("/escape-points/occupancy", "nav.occupancy"),
        ]);
        &["/observatory", "/escape-points/occupancy"]
    } else {
        &[]
    };
    if role == Role::Admin {
        items.extend([
            ("/admin/users", "nav.users"),
            ("/admin/organisations", "nav.organisations"),
            ("/admin/tokens", "nav.tokens"),
            ("/admin/audit", "nav.audit"),
            ("/admin/outbox", "nav.outbox"),
        ]);
    }
    items.push(("/account", "nav.account"));
    items
        .into_iter()
        .map(|(href, key)| NavItem {
            href,
            key,
            in_bar: !tiles_only.contains(&href),
            active: if href == "/" {
                path == "/"
            } else {
                path.starts_with(href)
            },
        })
        .collect()
}

/// The signed-in person as the header shows them.
pub struct PageUser {
    pub display_name: String,
    pub role: Role,
}

/// The layout's data, given to every page template as `page`.
pub struct Page {
    pub lang: Lang,
    pub user: Option<PageUser>,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub path: String,
    pub flash: Option<String>,
    pub title_key: &'static str,
    /// Set when the anonymous CSRF cookie has to be issued with this response.
    new_pre_csrf: bool,
    cookie_secure: bool,
    clear_flash: bool,
}

impl Page {
    /// The pages reached from below the content rather than the navigation bar.
    pub fn more_nav(&self) -> Vec<&NavItem> {
        self.nav.iter().filter(|i| !i.in_bar).collect()
    }

    pub fn new(ctx: &Ctx, title_key: &'static str) -> Page {
        let user = ctx.principal.as_ref().and_then(|p| match &p.actor {
            Actor::User { display_name, .. } => Some(PageUser {
                display_name: display_name.clone(),
                role: p.role,
            }),
            _ => None,
        });
        let session_csrf = ctx
            .principal
            .as_ref()
            .and_then(|p| p.session.as_ref())
            .map(|s| s.csrf_token.clone());
        let (csrf, new_pre_csrf) = match session_csrf {
            Some(t) => (t, false),
            None => {
                // Before login: the pre-session cookie's token when the server made it, else a
                // new one (a planted value is never taken over).
                let key = ctx.state.keys().derive(super::csrf::KEY_LABEL);
                match &ctx.pre_csrf {
                    Some(t) if super::csrf::is_ours(&key, t) => (t.clone(), false),
                    _ => (super::csrf::issue(&key), true),
                }
            }
        };
        Page {
            lang: ctx.lang,
            nav: user.as_ref().map(|u| nav_for(u.role, &ctx.path)).unwrap_or_default(),
            user,
            csrf,
            path: ctx.path.clone(),
            flash: ctx.flash.clone().filter(|f| f.len() <= 64),
            title_key,
            new_pre_csrf,
            cookie_secure: ctx.state.settings.cookie_secure,
            clear_flash: ctx.flash.is_some(),
        }
    }

    /// The interface text for `key`.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::t(self.lang, key)
    }

    /// The label of a vocabulary value (`page.l(c.status)`).
    pub fn l(&self, value: impl Labelled) -> &'static str {
        value.label_in(self.lang)
    }

    /// Language names for codes (`en, pcm` → `Inglese, Pidgin nigeriano`).
    pub fn languages(&self, codes: &[String]) -> String {
        let names: Vec<&str> = codes
            .iter()
            .map(|c| crate::domain::language_name(c, self.lang))
            .collect();
        if names.is_empty() {
            "—".into()
        } else {
            names.join(", ")
        }
    }

    /// The list of languages to choose from, by name.
    pub fn language_choices(&self) -> Vec<(&'static str, &'static str)> {
        crate::domain::languages_by_name(self.lang)
    }

    /// A message from the code (English) in the page's language.
    pub fn msg(&self, english: &str) -> String {
        i18n::message(self.lang, english)
    }

    /// The label of an open-ended code kept as text (audit actions, entity types): the
    /// catalogue's `section.code`, the code itself when unknown (a test lists the known ones).
    pub fn code(&self, section: &str, code: &str) -> String {
        i18n::lookup(self.lang, &format!("{section}.{code}"))
            .map(str::to_owned)
            .unwrap_or_else(|| code.to_owned())
    }

    /// An instant as people read it: Europe/Rome, `dd/mm/yyyy HH:MM`.
    pub fn at(&self, at: impl Instant) -> String {
        crate::clock::rome_display(at.utc())
    }

    /// Link that switches language and comes back here.
    pub fn lang_switch_href(&self) -> String {
        format!("/lang/{}?next={}", self.lang.other().code(), urlencode(&self.path))
    }

    pub fn other_lang_label(&self) -> &str {
        match self.lang {
            Lang::It => "English",
            Lang::En => "Italiano",
        }
    }

    /// Renders a template into a response, issuing or clearing the cookies the page needs.
    pub fn respond(&self, status: actix_web::http::StatusCode, html: String) -> HttpResponse {
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
        if self.new_pre_csrf {
            res.cookie(
                Cookie::build(super::csrf::pre_cookie(self.cookie_secure), self.csrf.clone())
                    .path("/")
                    .http_only(true)
                    .secure(self.cookie_secure)
                    .same_site(SameSite::Strict)
                    .finish(),
            );
        }
        if self.clear_flash {
            let mut c = Cookie::build(FLASH_COOKIE, "").path("/").finish();
            c.make_removal();
            res.cookie(c);
        }
        res.body(html)
    }
}

/// Renders `tpl` with status 200.
pub fn render(page: &Page, tpl: &impl Template) -> Result<HttpResponse, AppError> {
    Ok(page.respond(actix_web::http::StatusCode::OK, tpl.render()?))
}

/// Renders `tpl` with a given status (422 for a form with errors).
pub fn render_status(
    page: &Page,
    status: actix_web::http::StatusCode,
    tpl: &impl Template,
) -> Result<HttpResponse, AppError> {
    Ok(page.respond(status, tpl.render()?))
}

/// A 303 redirect leaving a flash message (an i18n key) for the next page.
pub fn redirect_with_flash(to: &str, flash_key: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .cookie(
            Cookie::build(FLASH_COOKIE, flash_key.to_owned())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .max_age(CookieDuration::minutes(5))
                .finish(),
        )
        .finish()
}

/// A plain 303 redirect.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// A local path to go back to, never another site: one leading `/`, then no `/` or `\\` right
/// after it, no backslash, and no control or whitespace character anywhere (browsers drop tabs and
/// newlines from a `Location`, so `/\t/other.host/` would become `//other.host/`). Anything else
/// goes home.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The `next` parameter of a query string made safe (see [`safe_next`]): whatever it holds, even
/// control characters, the answer is a path of this site, never an error.
pub fn next_param(query: &str) -> String {
    let next = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    safe_next(next.as_deref())
}

/// A page that asks before an action that cannot be undone, saying what will be lost: its form
/// posts `fields` again to `action` with `confirmed=yes`; cancelling goes `back`.
#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    page: Page,
    heading: &'a str,
    intro: &'a str,
    lost: &'a [&'a str],
    yes: &'a str,
    action: &'a str,
    fields: Vec<(String, String)>,
    back: &'a str,
}

/// What a confirmation page says (i18n keys).
pub struct Confirmation {
    pub heading: &'static str,
    pub intro: &'static str,
    pub lost: &'static [&'static str],
    pub yes: &'static str,
}

/// Whether a form was confirmed on its confirmation page.
pub fn confirmed(pairs: &[(String, String)]) -> bool {
    field(pairs, "confirmed") == Some("yes")
}

/// The confirmation page for `action` (see [`Confirmation`]); `keep` are the fields to post again.
pub fn confirm_page(
    ctx: &Ctx,
    what: Confirmation,
    action: &str,
    pairs: &[(String, String)],
    keep: &[&str],
    back: &str,
) -> Result<HttpResponse, AppError> {
    let tpl = ConfirmPage {
        page: Page::new(ctx, what.heading),
        heading: what.heading,
        intro: what.intro,
        lost: what.lost,
        yes: what.yes,
        action,
        fields: pairs
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .cloned()
            .collect(),
        back,
    };
    render(&tpl.page, &tpl)
}

/// The values a form was sent with and what is wrong with them, to show it again.
#[derive(Default)]
pub struct Form {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    pub general: Option<String>,
    /// After an edit conflict: what someone else saved meanwhile where it differs from what
    /// this user typed (a field's label, its current value in words), shown beside the form.
    pub others: Vec<(String, String)>,
}

impl Form {
    /// A select's value as a vocabulary value (blank: none; unknown: a field error).
    pub fn choice<T>(&self, name: &str, parse: fn(&str) -> Option<T>, errors: &mut Vec<FieldError>) -> Option<T> {
        let v = self.v(name).trim();
        if v.is_empty() {
            return None;
        }
        let parsed = parse(v);
        if parsed.is_none() {
            errors.push(FieldError::new(name, "is not one of the choices"));
        }
        parsed
    }

    /// A text input's value, `None` when blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.v(name).trim().to_owned()).filter(|s| !s.is_empty())
    }

    /// A number input's value (blank: none; not a number: a field error).
    pub fn number<T: std::str::FromStr>(&self, name: &str, errors: &mut Vec<FieldError>) -> Option<T> {
        let v = self.v(name).trim();
        if v.is_empty() {
            return None;
        }
        let parsed = v.parse().ok();
        if parsed.is_none() {
            errors.push(FieldError::new(name, "must be a number"));
        }
        parsed
    }

    pub fn from_pairs(pairs: &[(String, String)]) -> Form {
        let mut values: HashMap<String, String> = HashMap::new();
        for (k, v) in pairs {
            if k == "password" || k == "password_confirm" || k == "current_password" || k == super::csrf::FIELD {
                continue; // never echoed back
            }
            values
                .entry(k.clone())
                .and_modify(|e| {
                    e.push('\u{1f}');
                    e.push_str(v);
                })
                .or_insert_with(|| v.clone());
        }
        Form {
            values,
            ..Form::default()
        }
    }

    pub fn set(&mut self, field: &str, value: impl Into<String>) {
        self.values.insert(field.into(), value.into());
    }

    pub fn v(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }

    /// True when a select option or checkbox value was chosen.
    pub fn is(&self, field: &str, value: &str) -> bool {
        self.values
            .get(field)
            .is_some_and(|v| v.split('\u{1f}').any(|x| x == value))
    }

    pub fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.general.is_some()
    }

    pub fn add_error(&mut self, field: &str, message: String) {
        self.errors.entry(field.to_owned()).or_insert(message);
    }

    /// Takes the field errors of `e` (translated) onto the form; other errors become general.
    pub fn absorb(&mut self, e: &AppError, lang: Lang) {
        let fields = e.field_errors();
        if fields.is_empty() {
            self.general = Some(match e {
                AppError::Conflict(d) => i18n::message(lang, d),
                AppError::StaleVersion { .. } => i18n::t(lang, "form.stale").to_owned(),
                _ => i18n::t(lang, "form.failed").to_owned(),
            });
        }
        for f in fields {
            self.add_error(&f.field, i18n::message(lang, &f.message));
        }
    }
}

/// Reads a URL-encoded form body into pairs (repeated keys kept, for checkbox lists).
pub fn pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| AppError::bad_request("body", "is not a valid form submission"))?;
    let bad: Vec<FieldError> = pairs
        .iter()
        .filter(|(k, v)| crate::domain::text::has_forbidden(k) || crate::domain::text::has_forbidden(v))
        .map(|(k, _)| {
            let name = if crate::domain::text::has_forbidden(k) {
                "body"
            } else {
                k.as_str()
            };
            FieldError::new(name, crate::domain::text::CONTROL_CHARACTERS)
        })
        .collect();
    if !bad.is_empty() {
        return Err(AppError::Invalid(bad));
    }
    Ok(pairs)
}

/// The first value of `key` in form pairs.
pub fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// An instant however views and rows hold it.
pub trait Instant {
    /// The instant in UTC.
    fn utc(&self) -> chrono::NaiveDateTime;
}

impl Instant for chrono::NaiveDateTime {
    fn utc(&self) -> chrono::NaiveDateTime {
        *self
    }
}

impl<Tz: chrono::TimeZone> Instant for chrono::DateTime<Tz> {
    fn utc(&self) -> chrono::NaiveDateTime {
        self.naive_utc()
    }
}

impl<T: Instant + ?Sized> Instant for &T {
    fn utc(&self) -> chrono::NaiveDateTime {
        (**self).utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_stay_on_this_site() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        for sneaky in [
            "/\t/other.host/",
            "/\n/other.host",
            "/\r//x",
            "/ /x",
            "/\u{0}",
            "/\u{85}/x",
            "/\\other.host",
        ] {
            assert_eq!(safe_next(Some(sneaky)), "/", "{sneaky:?}");
        }
        assert_eq!(
            safe_next(Some("/referrals?status=new&page=2")),
            "/referrals?status=new&page=2"
        );
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn forms_keep_values_but_never_passwords() {
        let f = Form::from_pairs(&[
            ("username".into(), "anna".into()),
            ("password".into(), "secret secret".into()),
            ("lang".into(), "en".into()),
            ("lang".into(), "ro".into()),
        ]);
        assert_eq!(f.v("username"), "anna");
        assert_eq!(f.v("password"), "");
        assert!(f.is("lang", "ro") && f.is("lang", "en") && !f.is("lang", "it"));
    }
}
