//! User accounts: a role, an optional organisation, an argon2id password.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::orgs;
use crate::clock::rome;
use crate::db::schema::{organisations, sessions, shifts, user_languages, users};
use crate::db::DbConn;
use crate::domain::duty::Duty;
use crate::domain::{parse_email, parse_languages, DisplayName, OrgId, Password, Role, UserId, Username, Version};
use crate::error::{AppError, FieldError};

/// A user's columns, without the password hash.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserCols {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub org_id: Option<OrgId>,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A user as stored, with the languages they speak (rows of `user_languages`).
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub org_id: Option<OrgId>,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub version: Version,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Languages spoken (ISO 639 codes, alphabetical): how mediators are matched.
    pub languages: Vec<String>,
}

impl UserRow {
    fn from_cols(c: UserCols, languages: Vec<String>) -> UserRow {
        UserRow {
            id: c.id,
            username: c.username,
            display_name: c.display_name,
            email: c.email,
            role: c.role,
            org_id: c.org_id,
            disabled: c.disabled,
            failed_logins: c.failed_logins,
            locked_until: c.locked_until,
            last_login_at: c.last_login_at,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
            languages,
        }
    }

    pub fn is_locked(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    /// The display name with the languages spoken, as colleagues see a mediator or operator.
    pub fn name_with_languages(&self) -> String {
        if self.languages.is_empty() {
            self.display_name.clone()
        } else {
            format!("{} ({})", self.display_name, self.languages.join(", "))
        }
    }
}

/// The languages of these users, by user (one query).
pub fn languages_of(conn: &mut DbConn, ids: &[UserId]) -> Result<HashMap<UserId, Vec<String>>, AppError> {
    let mut out: HashMap<UserId, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(UserId, String)> = user_languages::table
        .filter(user_languages::user_id.eq_any(ids))
        .select((user_languages::user_id, user_languages::language))
        .order((user_languages::user_id.asc(), user_languages::language.asc()))
        .load(conn)?;
    for (id, language) in rows {
        out.entry(id).or_default().push(language);
    }
    Ok(out)
}

/// Completes loaded user columns with their languages (one more query for all of them).
pub fn with_languages(conn: &mut DbConn, cols: Vec<UserCols>) -> Result<Vec<UserRow>, AppError> {
    let ids: Vec<UserId> = cols.iter().map(|c| c.id).collect();
    let mut languages = languages_of(conn, &ids)?;
    Ok(cols
        .into_iter()
        .map(|c| {
            let l = languages.remove(&c.id).unwrap_or_default();
            UserRow::from_cols(c, l)
        })
        .collect())
}

fn set_languages(conn: &mut DbConn, id: UserId, languages: &[String]) -> Result<(), AppError> {
    diesel::delete(user_languages::table.filter(user_languages::user_id.eq(id))).execute(conn)?;
    for l in languages {
        diesel::insert_into(user_languages::table)
            .values((user_languages::user_id.eq(id), user_languages::language.eq(l)))
            .execute(conn)?;
    }
    Ok(())
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
    pub last_login_at: Option<DateTime<FixedOffset>>,
    /// Languages spoken (ISO 639 codes).
    pub languages: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl UserView {
    pub fn new(r: UserRow, now: NaiveDateTime) -> Self {
        UserView {
            locked: r.is_locked(now),
            role: r.role,
            id: r.id.get(),
            username: r.username,
            display_name: r.display_name,
            email: r.email,
            org_id: r.org_id.map(OrgId::get),
            disabled: r.disabled,
            last_login_at: r.last_login_at.map(rome),
            languages: r.languages,
            version: r.version.get(),
            created_at: rome(r.created_at),
            updated_at: rome(r.updated_at),
        }
    }
}

/// Checked fields of a new user.
pub struct NewUser {
    pub username: Username,
    pub display_name: DisplayName,
    pub email: Option<String>,
    pub role: Role,
    pub org_id: Option<OrgId>,
    pub password: Password,
    /// Normalised language codes.
    pub languages: Vec<String>,
}

/// Raw input for a new user, from a form, JSON or the command line.
#[derive(Clone, Debug, Default)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: String,
    pub org_id: Option<OrgId>,
    pub password: String,
    /// Language codes separated by commas, spaces or semicolons.
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
            .unwrap_or_default();
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
    pub org_id: Option<Option<OrgId>>,
    pub disabled: Option<bool>,
    /// A new argon2id hash (already computed off the transaction).
    pub password_hash: Option<String>,
    /// Clears a lockout.
    pub unlock: bool,
    /// Normalised language codes.
    pub languages: Option<Vec<String>>,
}

/// Role and organisation must fit: referrers and commission staff act for an organisation, and a
/// commission account belongs to a territorial commission.
fn check_org(conn: &mut DbConn, role: Role, org_id: Option<OrgId>) -> Result<(), AppError> {
    match org_id {
        None if role.needs_org() => Err(AppError::invalid(
            "org_id",
            "this role acts for an organisation: choose one",
        )),
        None => Ok(()),
        Some(id) => orgs::check_acts_for(conn, id, role).map(|_| ()),
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
    let cols: UserCols = diesel::insert_into(users::table)
        .values((
            users::username.eq(u.username.as_str()),
            users::display_name.eq(u.display_name.as_str()),
            users::email.eq(&u.email),
            users::role.eq(u.role),
            users::org_id.eq(u.org_id),
            users::password_hash.eq(password_hash),
            users::disabled.eq(false),
            users::failed_logins.eq(0),
            users::password_changed_at.eq(now),
            users::version.eq(Version::FIRST),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(crate::db::columns::<UserCols>())
        .get_result::<UserCols>(conn)?;
    set_languages(conn, cols.id, &u.languages)?;
    Ok(UserRow::from_cols(cols, u.languages.clone()))
}

pub fn get(conn: &mut DbConn, id: UserId) -> Result<UserRow, AppError> {
    let cols = users::table.find(id).select(UserCols::as_select()).first(conn)?;
    Ok(with_languages(conn, vec![cols])?.remove(0))
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<Option<UserRow>, AppError> {
    let cols = users::table
        .filter(users::username.eq(username.trim().to_lowercase()))
        .select(UserCols::as_select())
        .first(conn)
        .optional()?;
    Ok(match cols {
        Some(c) => Some(with_languages(conn, vec![c])?.remove(0)),
        None => None,
    })
}

/// Users with their organisation's name, ordered by user name.
pub fn list(conn: &mut DbConn) -> Result<Vec<(UserRow, Option<String>)>, AppError> {
    let rows: Vec<(UserCols, Option<String>)> = users::table
        .left_join(organisations::table)
        .select((UserCols::as_select(), organisations::name.nullable()))
        .order(users::username.asc())
        .load(conn)?;
    let (cols, names): (Vec<UserCols>, Vec<Option<String>>) = rows.into_iter().unzip();
    Ok(with_languages(conn, cols)?.into_iter().zip(names).collect())
}

/// Enabled coordinators (an alert must reach someone even when the roster has nobody).
pub fn enabled_coordinators(conn: &mut DbConn) -> Result<Vec<UserRow>, AppError> {
    let cols = users::table
        .filter(users::role.eq(Role::Coordinator))
        .filter(users::disabled.eq(false))
        .select(UserCols::as_select())
        .order(users::id.asc())
        .load(conn)?;
    with_languages(conn, cols)
}

/// Display names of the users with these ids (one query).
pub fn display_names(conn: &mut DbConn, ids: &[UserId]) -> Result<HashMap<UserId, String>, AppError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(UserId, String)>(conn)?
        .into_iter()
        .collect())
}

/// Active administrators other than `except`.
fn other_active_admins(conn: &mut DbConn, except: UserId) -> Result<i64, AppError> {
    Ok(users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::disabled.eq(false))
        .filter(users::id.ne(except))
        .count()
        .get_result(conn)?)
}

/// True when at least one enabled administrator exists.
pub fn admin_exists(conn: &mut DbConn) -> Result<bool, AppError> {
    let n: i64 = users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Applies `patch` if the user is still at `expected_version`. Disabling a user, changing their
/// role or their password ends their sessions at once.
pub fn update(
    conn: &mut DbConn,
    id: UserId,
    expected_version: Version,
    patch: UserPatch,
    now: NaiveDateTime,
) -> Result<UserRow, AppError> {
    let current = get(conn, id)?;
    if current.version != expected_version {
        return Err(AppError::StaleVersion {
            current_version: current.version.get(),
        });
    }
    let role = patch.role.unwrap_or(current.role);
    let org_id = patch.org_id.unwrap_or(current.org_id);
    let disabled = patch.disabled.unwrap_or(current.disabled);
    if (role != Role::Admin || disabled)
        && current.role == Role::Admin
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
        users::role.eq(role),
        users::org_id.eq(org_id),
        users::disabled.eq(disabled),
        users::version.eq(expected_version.next()),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    if changed == 0 {
        let v = get(conn, id)?.version;
        return Err(AppError::StaleVersion {
            current_version: v.get(),
        });
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
    if let Some(languages) = &patch.languages {
        set_languages(conn, id, languages)?;
    }
    if disabled || patch.password_hash.is_some() || role != current.role {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
    }
    if (disabled && !current.disabled) || role != current.role {
        end_unfit_shifts(conn, id, role, disabled, now)?;
    }
    get(conn, id)
}

/// Ends the shifts a person can no longer hold (all of them once disabled; those whose duty
/// the new role cannot cover after a role change): the ones to come are removed, the one under
/// way ends now. Otherwise an operator turned referrer would still be routed emergencies they
/// cannot open. Returns how many shifts were ended or removed.
pub fn end_unfit_shifts(
    conn: &mut DbConn,
    id: UserId,
    role: Role,
    disabled: bool,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let held: Vec<(i64, Duty, NaiveDateTime)> = shifts::table
        .filter(shifts::user_id.eq(id))
        .filter(shifts::ends_at.gt(now))
        .select((shifts::id, shifts::duty, shifts::starts_at))
        .load(conn)?;
    let mut ended = 0;
    for (shift, duty, starts_at) in held {
        if !disabled && crate::domain::duty::fits(duty, role) {
            continue;
        }
        if starts_at >= now {
            diesel::delete(shifts::table.find(shift)).execute(conn)?;
        } else {
            diesel::update(shifts::table.find(shift))
                .set(shifts::ends_at.eq(now))
                .execute(conn)?;
        }
        ended += 1;
    }
    Ok(ended)
}

/// Ends the sessions of every account acting for an organisation; returns how many.
pub fn end_sessions_of_org(conn: &mut DbConn, org: OrgId) -> Result<usize, AppError> {
    let members = users::table.filter(users::org_id.eq(org)).select(users::id);
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq_any(members))).execute(conn)?)
}

/// The stored hash, for the password check.
pub fn password_hash(conn: &mut DbConn, id: UserId) -> Result<String, AppError> {
    Ok(users::table.find(id).select(users::password_hash).first(conn)?)
}
