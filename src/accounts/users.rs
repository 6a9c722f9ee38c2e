//! User accounts: a role, an optional organisation, an argon2id password.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::orgs;
use crate::clock::rome_rfc3339;
use crate::db::schema::{organisations, sessions, users};
use crate::db::DbConn;
use crate::domain::{parse_email, parse_languages, DisplayName, OrgKind, Password, Role, Username};
use crate::error::{AppError, FieldError};

/// A user as stored, without the password hash.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    pub org_id: Option<i64>,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Languages spoken (ISO 639 codes, comma-separated): how mediators are matched.
    pub languages: String,
}

impl UserRow {
    pub fn language_list(&self) -> Vec<String> {
        self.languages
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn role(&self) -> Role {
        // Stored roles come from `Role::as_str`; an unknown one grants the least.
        Role::parse(&self.role).unwrap_or(Role::Analyst)
    }

    pub fn is_locked(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub org_id: Option<i64>,
    pub disabled: bool,
    /// True while the account is locked after repeated failed logins.
    pub locked: bool,
    pub last_login_at: Option<String>,
    /// Languages spoken (ISO 639 codes).
    pub languages: Vec<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl UserView {
    pub fn new(r: UserRow, now: NaiveDateTime) -> Self {
        UserView {
            languages: r.language_list(),
            role: r.role(),
            locked: r.is_locked(now),
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            email: r.email,
            org_id: r.org_id,
            disabled: r.disabled,
            last_login_at: r.last_login_at.map(rome_rfc3339),
            version: r.version,
            created_at: rome_rfc3339(r.created_at),
            updated_at: rome_rfc3339(r.updated_at),
        }
    }
}

/// Checked fields of a new user.
pub struct NewUser {
    pub username: Username,
    pub display_name: DisplayName,
    pub email: Option<String>,
    pub role: Role,
    pub org_id: Option<i64>,
    pub password: Password,
    /// Normalised, comma-separated language codes.
    pub languages: String,
}

/// Raw input for a new user, from a form, JSON or the command line.
#[derive(Clone, Debug, Default)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: String,
    pub org_id: Option<i64>,
    pub password: String,
    pub languages: Option<String>,
}

impl NewUserInput {
    /// Checks every field, reporting all problems at once.
    pub fn parse(&self) -> Result<NewUser, AppError> {
        let mut errors = Vec::new();
        let username = Username::parse(&self.username)
            .map_err(|m| errors.push(FieldError::new("username", m)))
            .ok();
        let display_name = DisplayName::parse(self.display_name.as_deref().unwrap_or(&self.username))
            .map_err(|m| errors.push(FieldError::new("display_name", m)))
            .ok();
        let email = parse_email(self.email.as_deref())
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok()
            .flatten();
        let role = Role::parse(&self.role);
        if role.is_none() {
            errors.push(FieldError::new("role", "is not a known role"));
        }
        let password = Password::parse(&self.password, &self.username)
            .map_err(|m| errors.push(FieldError::new("password", m)))
            .ok();
        let languages = parse_languages(self.languages.as_deref().unwrap_or(""))
            .map_err(|m| errors.push(FieldError::new("languages", m)))
            .unwrap_or_default()
            .join(",");
        match (username, display_name, role, password) {
            (Some(username), Some(display_name), Some(role), Some(password)) if errors.is_empty() => Ok(NewUser {
                username,
                display_name,
                email,
                role,
                org_id: self.org_id,
                password,
                languages,
            }),
            _ => Err(AppError::Invalid(errors)),
        }
    }
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserPatch {
    pub display_name: Option<DisplayName>,
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    pub org_id: Option<Option<i64>>,
    pub disabled: Option<bool>,
    /// A new argon2id hash (already computed off the transaction).
    pub password_hash: Option<String>,
    /// Clears a lockout.
    pub unlock: bool,
    /// Normalised language codes.
    pub languages: Option<String>,
}

/// Role and organisation must fit: referrers and commission staff act for an organisation, and a
/// commission account belongs to a territorial commission.
fn check_org(conn: &mut DbConn, role: Role, org_id: Option<i64>) -> Result<(), AppError> {
    match org_id {
        None if role.needs_org() => Err(AppError::invalid(
            "org_id",
            "this role acts for an organisation: choose one",
        )),
        None => Ok(()),
        Some(id) => {
            let org = orgs::get(conn, id).map_err(|e| match e {
                AppError::NotFound => AppError::invalid("org_id", "no such organisation"),
                other => other,
            })?;
            if !org.active {
                return Err(AppError::invalid("org_id", "the organisation is not active"));
            }
            if role == Role::Commission && org.kind() != OrgKind::TerritorialCommission {
                return Err(AppError::invalid(
                    "org_id",
                    "commission accounts belong to a territorial commission",
                ));
            }
            Ok(())
        }
    }
}

/// Inserts a user whose password was hashed beforehand (hashing never runs inside a transaction).
pub fn insert(conn: &mut DbConn, u: &NewUser, password_hash: &str, now: NaiveDateTime) -> Result<UserRow, AppError> {
    check_org(conn, u.role, u.org_id)?;
    let taken: i64 = users::table
        .filter(users::username.eq(u.username.as_str()))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(AppError::Conflict("username: already taken".into()));
    }
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::username.eq(u.username.as_str()),
            users::display_name.eq(u.display_name.as_str()),
            users::email.eq(&u.email),
            users::role.eq(u.role.as_str()),
            users::org_id.eq(u.org_id),
            users::password_hash.eq(password_hash),
            users::disabled.eq(false),
            users::failed_logins.eq(0),
            users::password_changed_at.eq(now),
            users::languages.eq(&u.languages),
            users::version.eq(1i64),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    get(conn, id)
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<UserRow, AppError> {
    Ok(users::table.find(id).select(UserRow::as_select()).first(conn)?)
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<Option<UserRow>, AppError> {
    Ok(users::table
        .filter(users::username.eq(username.trim().to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Users with their organisation's name, ordered by user name.
pub fn list(conn: &mut DbConn) -> Result<Vec<(UserRow, Option<String>)>, AppError> {
    Ok(users::table
        .left_join(organisations::table)
        .select((UserRow::as_select(), organisations::name.nullable()))
        .order(users::username.asc())
        .load(conn)?)
}

/// Display names of the users with these ids (one query).
pub fn display_names(conn: &mut DbConn, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>, AppError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Active administrators other than `except`.
fn other_active_admins(conn: &mut DbConn, except: i64) -> Result<i64, AppError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .filter(users::id.ne(except))
        .count()
        .get_result(conn)?)
}

/// True when at least one enabled administrator exists.
pub fn admin_exists(conn: &mut DbConn) -> Result<bool, AppError> {
    let n: i64 = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Applies `patch` if the user is still at `expected_version`. Disabling a user or changing the
/// password ends their sessions at once.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    expected_version: i64,
    patch: UserPatch,
    now: NaiveDateTime,
) -> Result<UserRow, AppError> {
    let current = get(conn, id)?;
    if current.version != expected_version {
        return Err(AppError::StaleVersion {
            current_version: current.version,
        });
    }
    let role = patch.role.unwrap_or(current.role());
    let org_id = patch.org_id.unwrap_or(current.org_id);
    let disabled = patch.disabled.unwrap_or(current.disabled);
    if (role != Role::Admin || disabled)
        && current.role() == Role::Admin
        && !current.disabled
        && other_active_admins(conn, id)? == 0
    {
        return Err(AppError::Conflict(
            "the last active administrator cannot be disabled or given another role".into(),
        ));
    }
    if patch.role.is_some() || patch.org_id.is_some() {
        check_org(conn, role, org_id)?;
    }
    let changed = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::version.eq(expected_version)),
    )
    .set((
        users::display_name.eq(patch
            .display_name
            .as_ref()
            .map(|d| d.as_str().to_owned())
            .unwrap_or(current.display_name.clone())),
        users::email.eq(patch.email.clone().unwrap_or(current.email.clone())),
        users::role.eq(role.as_str()),
        users::org_id.eq(org_id),
        users::disabled.eq(disabled),
        users::version.eq(expected_version + 1),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        let v = get(conn, id)?.version;
        return Err(AppError::StaleVersion { current_version: v });
    }
    if let Some(hash) = &patch.password_hash {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::password_changed_at.eq(now)))
            .execute(conn)?;
    }
    if patch.unlock {
        diesel::update(users::table.find(id))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    if disabled || patch.password_hash.is_some() || role != current.role() {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
    }
    get(conn, id)
}

/// The stored hash, for the password check.
pub fn password_hash(conn: &mut DbConn, id: i64) -> Result<String, AppError> {
    Ok(users::table.find(id).select(users::password_hash).first(conn)?)
}
