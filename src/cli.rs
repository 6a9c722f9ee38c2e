//! The command line: `serve` (default), `migrate`, `user`, `org`, `token`, `backup`.
//! Every change made from the shell is audited as actor `system`/`cli`.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::accounts::orgs::OrgInput;
use crate::accounts::service;
use crate::accounts::users::NewUserInput;
use crate::app::App;
use crate::clock::{db_now, SystemClock};
use crate::config::Settings;
use crate::db::{backup_sqlite, connect_one, restore_sqlite, run_migrations, write_tx, Db};
use crate::domain::{Caller, OrgId, Role, TokenId};
use crate::error::AppError;
use crate::startup::{first_run_link, open_app, Application};

#[derive(Debug, Parser)]
#[command(
    name = "varco",
    version,
    about = "Case manager of the anti-trafficking referral system (800 290 290)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage organisations' bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Import messages saved from the unit's mailbox as draft referrals.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Reports: the observatory's tables and files, the 1522 quarterly report.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Write a consistent copy of the SQLite database while the service runs (written under a
    /// temporary name and renamed when complete).
    Backup {
        /// Destination file (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup as the SQLite database named by DATABASE_URL, which must not exist yet;
    /// the backup must pass SQLite's integrity check and open with the configured master key.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Master keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Replace the master key without stopping the service: a new key becomes current in the key
    /// file, running instances pick it up, every data key is rewrapped under it, and the old key
    /// is moved to `<key file>.retired-<id>`.
    Rotate {
        /// Run one step only, for instances on several hosts: `begin` (new key in the file: copy
        /// the file to every host), `rewrap` (once every instance has the new key), `finish`.
        #[arg(long, value_parser = ["begin", "rewrap", "finish"])]
        step: Option<String>,
    },
    /// The current master key and how many data keys each master key wraps.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// admin, coordinator, operator, mediator, referrer, commission or analyst.
        #[arg(long)]
        role: String,
        /// Organisation id or exact name (required for referrer and commission).
        #[arg(long)]
        org: Option<String>,
        /// Name shown to colleagues (defaults to the user name).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Languages spoken, ISO 639 codes separated by commas (e.g. `en,edo,pcm`).
        #[arg(long)]
        languages: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user and end their sessions.
    Disable {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Add {
        #[arg(long)]
        name: String,
        /// cas, sai, prefecture, territorial_commission, questura, carabinieri,
        /// labour_inspectorate, social_health_service, street_unit, ngo, art18_project,
        /// anti_violence_centre, other.
        #[arg(long)]
        kind: String,
        /// ISTAT region code or name.
        #[arg(long)]
        region: Option<String>,
        /// ISTAT province code, sigla or name.
        #[arg(long)]
        province: Option<String>,
        /// Section of a territorial commission.
        #[arg(long)]
        section: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// An observatory table or the CTDC record file, disclosure-controlled as for an analyst
    /// (the file leaves the unit); audited.
    Observatory {
        /// First day of registration (YYYY-MM-DD, Europe/Rome).
        #[arg(long)]
        from: String,
        /// Last day, included.
        #[arg(long)]
        to: String,
        /// A region (ISTAT code or name) of emergence.
        #[arg(long)]
        region: Option<String>,
        /// referrals, cases or persons (default referrals).
        #[arg(long, default_value = "referrals")]
        measure: String,
        /// The indicator of the rows (default: the year of registration).
        #[arg(long, default_value = "year")]
        rows: String,
        /// The indicator of the columns, or `none` (default: from the international-protection
        /// system nationally, none with a region: an analyst's cross-table covers Italy).
        #[arg(long)]
        cols: Option<String>,
        /// json, csv, csv-it, xlsx, pdf, ctdc or ctdc-it.
        #[arg(long)]
        format: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// The 1522 quarterly report for a period (Europe/Rome days, both included).
    #[command(name = "1522")]
    Helpline {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        /// json, csv, xlsx, pdf or istat.
        #[arg(long, default_value = "json")]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// `.eml` files (plain RFC 5322 or PEC envelopes): each becomes a draft an operator reviews
    /// and confirms; a malformed file is reported by name and skipped, the rest still import.
    Eml {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The 1522 switchboard's Asterisk logs (cdr_csv Master.csv and queue_log): one outcome per
    /// call; calls already stored (same uniqueid) are skipped; bad lines are reported by number.
    Switchboard {
        #[arg(long)]
        cdr: PathBuf,
        #[arg(long)]
        queue_log: PathBuf,
        /// The zone of the CDR's times when the switchboard logs local time (default UTC).
        #[arg(long)]
        cdr_timezone: Option<String>,
        #[arg(long, default_value = "blacklist")]
        blacklist_context: String,
        /// The context of the operators' outgoing calls to the network.
        #[arg(long, default_value = "from-internal")]
        outgoing_context: String,
    },
    /// 1522 chats: LiveHelperChat's CSV export or the simple CSV (started_at,channel,first_response_seconds[,id]).
    Chats { file: PathBuf },
    /// The 1522 network directory (Mappatura) from CSV:
    /// kind,name,region,province,municipality,phone,email,address (shelters' addresses sealed).
    Directory { file: PathBuf },
}

/// Reports.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once.
    Create {
        /// Organisation id or exact name.
        #[arg(long)]
        org: String,
        /// referrer, commission or analyst.
        #[arg(long)]
        role: String,
        /// What system uses it.
        #[arg(long, default_value = "api")]
        label: String,
    },
    /// Revoke a token at once.
    Revoke {
        #[arg(long)]
        id: i64,
    },
}

/// Something the command line reports and exits on.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    App(String),
    #[error("{0}")]
    Usage(String),
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> Self {
        match &e {
            AppError::Invalid(f) | AppError::BadRequest(f) => CliError::App(
                f.iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::Conflict(m) => CliError::App(m.clone()),
            AppError::NotFound => CliError::App("not found".into()),
            AppError::Unavailable(m) | AppError::Internal(m) => CliError::App(m.clone()),
            other => CliError::App(other.to_string()),
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load()?;
    crate::telemetry::init(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let mut conn = connect_one(&settings)?;
            let n = run_migrations(&mut conn)?;
            println!("{n} migration(s) applied on {}", conn.backend().name());
            Ok(())
        }
        Command::User(c) => user(settings, c),
        Command::Org(c) => org(settings, c),
        Command::Token(c) => token_cmd(settings, c),
        Command::Import(ImportCommand::Eml { files }) => import_eml(settings, files),
        Command::Import(ImportCommand::Switchboard {
            cdr,
            queue_log,
            cdr_timezone,
            blacklist_context,
            outgoing_context,
        }) => {
            let cdr_timezone = match cdr_timezone {
                Some(z) => Some(
                    z.parse::<chrono_tz::Tz>()
                        .map_err(|_| CliError::Usage(format!("unknown time zone {z}")))?,
                ),
                None => None,
            };
            let opts = crate::helpline::switchboard::Options {
                cdr_timezone,
                blacklist_context,
                outgoing_context,
            };
            import_switchboard(settings, cdr, queue_log, opts)
        }
        Command::Import(ImportCommand::Chats { file }) => import_chats(settings, file),
        Command::Import(ImportCommand::Directory { file }) => import_directory(settings, file),
        Command::Report(ReportCommand::Helpline { from, to, format, out }) => {
            report_1522(settings, from, to, &format, out)
        }
        Command::Report(c @ ReportCommand::Observatory { .. }) => report(settings, c),
        Command::Backup { to } => {
            let mut conn = connect_one(&settings)?;
            backup_sqlite(&mut conn, &to)?;
            println!("backup written to {}", to.display());
            Ok(())
        }
        Command::Restore { from } => restore(settings, from),
        Command::Key(KeyCommand::Rotate { step }) => key_rotate(settings, step.as_deref()),
        Command::Key(KeyCommand::Status) => key_status(settings),
    }
}

fn report(settings: Settings, c: ReportCommand) -> Result<(), CliError> {
    use crate::observatory::{api::TableView, export, model, service as obs};
    let ReportCommand::Observatory {
        from,
        to,
        region,
        measure,
        rows,
        cols,
        format,
        out,
    } = c
    else {
        return Err(CliError::Usage("not an observatory report".into()));
    };
    let day = |field: &str, s: &str| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| CliError::Usage(format!("--{field} must be a day as YYYY-MM-DD")))
    };
    let period = model::Period::new(day("from", &from)?, day("to", &to)?)?;
    let territory = model::Territory::parse(region.as_deref(), None)?;
    let indicator = |field: &str, s: &str| {
        model::Indicator::parse(s)
            .ok_or_else(|| CliError::Usage(format!("--{field}: one of {}", model::Indicator::CODES.join(", "))))
    };
    let spec = model::Spec {
        measure: model::Measure::parse(&measure)
            .ok_or_else(|| CliError::Usage("--measure: referrals, cases or persons".into()))?,
        rows: Some(indicator("rows", &rows)?),
        cols: match cols.as_deref() {
            Some("none") => None,
            Some(c) => Some(indicator("cols", c)?),
            None if territory == model::Territory::National => Some(model::Indicator::InternationalProtection),
            None => None,
        },
        period,
        territory,
        basis: model::TerritoryBasis::Emergence,
    };
    // The file leaves the unit: it is made as for an analyst.
    let analyst = Caller {
        role: Some(Role::Analyst),
        ..caller()
    };
    let file = out.clone();
    let (bytes, summary) = with_app(settings, |app| async move {
        let lang = crate::domain::Lang::It;
        Ok(match format.as_str() {
            "ctdc" | "ctdc-it" => {
                let flavour = if format == "ctdc" {
                    export::Csv::Plain
                } else {
                    export::Csv::Italian
                };
                let stmt = obs::records_to_file(&app, &analyst, (period, territory, spec.basis), flavour, file).await?;
                (Vec::new(), stmt.lines(lang).join("\n"))
            }
            "json" | "csv" | "csv-it" | "xlsx" | "pdf" => {
                let f = match format.as_str() {
                    "json" => obs::TableFormat::Json,
                    "pdf" => obs::TableFormat::Pdf,
                    "xlsx" => obs::TableFormat::Xlsx,
                    "csv" => obs::TableFormat::Csv(export::Csv::Plain),
                    _ => obs::TableFormat::Csv(export::Csv::Italian),
                };
                let (t, p) = obs::report(&app, &analyst, spec, Some(f)).await?;
                let summary = export::statement(&t, &p, lang).join("\n");
                let bytes = match f {
                    obs::TableFormat::Json => serde_json::to_vec_pretty(&TableView::of(&t, &p, lang))
                        .map_err(|e| CliError::App(e.to_string()))?,
                    obs::TableFormat::Csv(flavour) => export::table_csv(&t, &p, lang, flavour)?,
                    obs::TableFormat::Xlsx => export::table_xlsx(&t, &p, lang)?,
                    obs::TableFormat::Pdf => crate::observatory::pdf::render(&t, &p, lang)?,
                };
                (bytes, summary)
            }
            other => {
                return Err(CliError::Usage(format!(
                    "--format {other}: json, csv, csv-it, xlsx, pdf, ctdc or ctdc-it"
                )))
            }
        })
    })?;
    if !bytes.is_empty() {
        std::fs::write(&out, &bytes).map_err(|e| CliError::App(format!("{}: {e}", out.display())))?;
    }
    println!("{summary}\nwritten to {}", out.display());
    Ok(())
}

fn restore(settings: Settings, from: PathBuf) -> Result<(), CliError> {
    let Some(to) = settings.sqlite_path().map(std::path::Path::to_owned) else {
        return Err(CliError::App(
            "the database is PostgreSQL: restore a pg_dump archive with pg_restore, e.g. `pg_restore --dbname=\"$DATABASE_URL\" --clean --if-exists varco.dump`, into a database the service is not using; configure the master key the dump was sealed under".into(),
        ));
    };
    // Refused when the ledger cannot be read: the copy could bring erased people back.
    let erasures = crate::referrals::service::erasure_ledger(&settings)?;
    let mut erased_again = 0;
    let report = restore_sqlite(&from, &to, |conn| {
        let (keys, _) =
            crate::crypto::keyring_for(&settings, false).map_err(|e| AppError::Unavailable(e.to_string()))?;
        crate::crypto::store::verify_can_open(conn, &keys)?;
        // Before the copy is in place: people erased since the backup never come back.
        diesel::connection::SimpleConnection::batch_execute(
            conn,
            "PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON",
        )?;
        let now = db_now(&SystemClock);
        erased_again = crate::referrals::service::reapply_erasures(conn, &keys, &erasures, now)?;
        Ok(())
    })?;
    println!("restored {} as {}", from.display(), to.display());
    println!(
        "  erased again (erasure ledger {}): {erased_again} referral(s)",
        crate::crypto::ledger::path_for(&settings).display()
    );
    for (table, n) in report.counts {
        println!("  {table}: {n}");
    }
    Ok(())
}

/// The key file rotations work on (a keyring from the environment cannot be rewritten).
fn key_file(settings: &Settings) -> Result<PathBuf, CliError> {
    if settings.master_key.is_some() {
        return Err(CliError::Usage(
            "the master key comes from VARCO_MASTER_KEY: rotation rewrites a key file; move the key to a file (VARCO_MASTER_KEY_FILE) first".into(),
        ));
    }
    Ok(settings
        .master_key_file
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| settings.data_dir().join("master.key")))
}

fn key_rotate(settings: Settings, step: Option<&str>) -> Result<(), CliError> {
    let path = key_file(&settings)?;
    let crypto = |e: crate::crypto::CryptoError| CliError::App(e.to_string());
    if matches!(step, None | Some("begin")) {
        let (new, old) = crate::crypto::keyfile::begin_rotation(&path).map_err(crypto)?;
        let old: Vec<String> = old.iter().map(|k| k.to_string()).collect();
        println!(
            "new master key {new} is current in {}; previous: {}",
            path.display(),
            old.join(", ")
        );
        if step.is_some() {
            println!(
                "copy {} to every host running Varco, then run `varco key rotate --step rewrap`",
                path.display()
            );
            return Ok(());
        }
        // Running instances look at the key file every few seconds.
        let wait = crate::crypto::holder::RELOAD_EVERY * 2 + std::time::Duration::from_secs(1);
        println!(
            "waiting {} s for running instances to pick up the new key…",
            wait.as_secs()
        );
        std::thread::sleep(wait);
    }
    if matches!(step, None | Some("rewrap")) {
        let keys = crate::crypto::Keyring::load_file(&path).map_err(crypto)?;
        let mut conn = connect_one(&settings)?;
        run_migrations(&mut conn)?;
        let mut total = 0;
        loop {
            let n = write_tx(&mut conn, |c| crate::crypto::store::rewrap_batch(c, &keys, 500))?;
            total += n;
            if n == 0 {
                break;
            }
        }
        // Instances that had not yet reloaded may have sealed a few records under the old key.
        std::thread::sleep(std::time::Duration::from_secs(1));
        loop {
            let n = write_tx(&mut conn, |c| crate::crypto::store::rewrap_batch(c, &keys, 500))?;
            total += n;
            if n == 0 {
                break;
            }
        }
        let left = crate::crypto::store::count_not_current(&mut conn, &keys)?;
        println!("{total} data key(s) rewrapped under {}", keys.current_id());
        if left > 0 {
            return Err(CliError::App(format!(
                "{left} data key(s) are still wrapped under an old key: run the rewrap again"
            )));
        }
        if step.is_some() {
            println!("then run `varco key rotate --step finish`");
            return Ok(());
        }
    }
    if matches!(step, None | Some("finish")) {
        let keys = crate::crypto::Keyring::load_file(&path).map_err(crypto)?;
        let mut conn = connect_one(&settings)?;
        let left = crate::crypto::store::count_not_current(&mut conn, &keys)?;
        if left > 0 {
            return Err(CliError::App(format!(
                "{left} data key(s) are still wrapped under an old key: run `varco key rotate --step rewrap` first"
            )));
        }
        let now = db_now(&SystemClock);
        let retired = write_tx(&mut conn, |c| {
            let retired = crate::crypto::store::retire_others(c, &keys, now)?;
            crate::audit::record(
                c,
                &Caller::cli(now),
                crate::audit::Event::new("key.rotate").detail(format!("current {}", keys.current_id())),
            )?;
            Ok(retired)
        })?;
        let files = crate::crypto::keyfile::finish_rotation(&path).map_err(crypto)?;
        println!(
            "master key rotated: {} is the only key in {}",
            keys.current_id(),
            path.display()
        );
        if !retired.is_empty() {
            println!("retired key(s): {}", retired.join(", "));
        }
        for f in files {
            println!(
                "  {}: keep it only as long as you keep backups taken before now; destroy it to put them beyond use",
                f.display()
            );
        }
    }
    Ok(())
}

fn key_status(settings: Settings) -> Result<(), CliError> {
    let (keys, source) = crate::crypto::keyring_for(&settings, false).map_err(|e| CliError::App(e.to_string()))?;
    let mut conn = connect_one(&settings)?;
    run_migrations(&mut conn)?;
    println!("current master key: {} (from {source})", keys.current_id());
    for (master, n) in crate::crypto::store::data_keys_by_master(&mut conn)? {
        let held = if keys.contains(&master) {
            ""
        } else {
            " (not in the keyring!)"
        };
        println!("  {master}: {n} data key(s){held}");
    }
    Ok(())
}

fn serve(settings: Settings) -> Result<(), CliError> {
    actix_web::rt::System::new().block_on(async move {
        let bind = settings.bind.clone();
        let app = Application::build(settings, Arc::new(SystemClock))?;
        if let Some(link) = first_run_link(&app.state)? {
            // Printed, not logged: the link is a secret for whoever started the server.
            eprintln!("\nNo administrator yet. Create the first one (link valid 24 h, usable once):\n\n    {link}\n");
        }
        tracing::info!(bind = %bind, backend = app.state.db.backend().name(), "varco listening");
        app.run_until_stopped()
            .await
            .map_err(|e| CliError::App(format!("server: {e}")))
    })
}

/// The application for one command: a small pool (no connection is being opened in the
/// background when the process exits: libpq can crash then), migrations applied, the protocols
/// loaded. Services run on it as they do for the server.
fn with_app<T, F, Fut>(settings: Settings, f: F) -> Result<T, CliError>
where
    F: FnOnce(std::rc::Rc<App>) -> Fut,
    Fut: std::future::Future<Output = Result<T, CliError>>,
{
    actix_web::rt::System::new().block_on(async move {
        let db = Db::connect_small(&settings)?;
        let app = std::rc::Rc::new(open_app(db, settings, Arc::new(SystemClock))?);
        f(app).await
    })
}

fn caller() -> Caller {
    Caller::cli(db_now(&SystemClock))
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read the password from standard input: {e}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// An organisation by id or exact name.
async fn find_org(app: &App, key: &str) -> Result<OrgId, CliError> {
    let key = key.trim().to_owned();
    let orgs = service::list_orgs(app).await?;
    let found = match key.parse::<i64>() {
        Ok(id) => orgs.into_iter().find(|o| o.id == OrgId(id)),
        Err(_) => orgs.into_iter().find(|o| o.name == key),
    };
    found
        .map(|o| o.id)
        .ok_or_else(|| CliError::App(format!("organisation {key:?} not found")))
}

fn user(settings: Settings, c: UserCommand) -> Result<(), CliError> {
    match c {
        UserCommand::Add {
            username,
            role,
            org,
            name,
            email,
            languages,
            password_stdin,
        } => {
            if !password_stdin {
                return Err(CliError::Usage(
                    "pass --password-stdin and give the password on standard input (never as an argument: it would stay in the shell history)".into(),
                ));
            }
            let pw = read_password()?;
            with_app(settings, |app| async move {
                let org_id = match org {
                    Some(key) => Some(find_org(&app, &key).await?),
                    None => None,
                };
                let new = NewUserInput {
                    username,
                    display_name: name,
                    email,
                    role,
                    org_id,
                    password: pw,
                    languages,
                }
                .parse()?;
                let row = service::create_user(&app, &caller(), new).await?;
                println!("user {} created (id {}, role {})", row.username, row.id, row.role);
                Ok(())
            })
        }
        UserCommand::Disable { username } => with_app(settings, |app| async move {
            let row = service::disable_user(&app, &caller(), username).await?;
            println!("user {} disabled; their sessions have ended", row.username);
            Ok(())
        }),
    }
}

fn org(settings: Settings, c: OrgCommand) -> Result<(), CliError> {
    let OrgCommand::Add {
        name,
        kind,
        region,
        province,
        section,
        email,
    } = c;
    let fields = OrgInput {
        name,
        kind,
        section,
        region,
        province,
        email,
        active: Some(true),
    }
    .parse()?;
    with_app(settings, |app| async move {
        let row = service::create_org(&app, &caller(), fields).await?;
        println!("organisation {:?} created (id {})", row.name, row.id);
        Ok(())
    })
}

fn token_cmd(settings: Settings, c: TokenCommand) -> Result<(), CliError> {
    match c {
        TokenCommand::Create { org, role, label } => {
            let role = Role::parse(&role)
                .ok_or_else(|| CliError::Usage("role: must be referrer, commission or analyst".into()))?;
            with_app(settings, |app| async move {
                let org_id = find_org(&app, &org).await?;
                let (row, org_name, secret) = service::create_token(&app, &caller(), org_id, role, label).await?;
                eprintln!(
                    "token {} created for {:?} with role {}; it is shown only now:",
                    row.id, org_name, row.role
                );
                println!("{secret}");
                Ok(())
            })
        }
        TokenCommand::Revoke { id } => with_app(settings, |app| async move {
            service::revoke_token(&app, &caller(), TokenId(id)).await?;
            println!("token {id} revoked");
            Ok(())
        }),
    }
}

fn import_eml(settings: Settings, files: Vec<PathBuf>) -> Result<(), CliError> {
    let (mut imported, mut skipped) = (0, 0);
    let mut readable = Vec::new();
    for path in files {
        match std::fs::read(&path) {
            Ok(bytes) => readable.push((path, bytes)),
            Err(e) => {
                skipped += 1;
                eprintln!("{}: skipped: {e}", path.display());
            }
        }
    }
    let paths: Vec<PathBuf> = readable.iter().map(|(p, _)| p.clone()).collect();
    let named: Vec<(String, Vec<u8>)> = readable
        .into_iter()
        .map(|(p, bytes)| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, bytes)
        })
        .collect();
    let outcomes = with_app(settings, |app| async move {
        Ok(crate::casework::feedback::service::import_mail(&app, &caller(), named).await?)
    })?;
    for (path, outcome) in paths.iter().zip(outcomes) {
        match outcome.result {
            Ok(crate::casework::feedback::service::Imported::Draft { id, reference }) => {
                imported += 1;
                println!("{}: draft {reference} (id {id}) to review", path.display());
            }
            Ok(crate::casework::feedback::service::Imported::Receipt { letter, kind, delivery }) => {
                imported += 1;
                println!(
                    "{}: PEC receipt ({}) of the written feedback {letter}: {}",
                    path.display(),
                    kind.code(),
                    delivery.as_str()
                );
            }
            Err(e) => {
                skipped += 1;
                eprintln!("{}: skipped: {e}", path.display());
            }
        }
    }
    println!("{imported} imported, {skipped} skipped");
    if skipped > 0 {
        return Err(CliError::App(format!("{skipped} file(s) could not be imported")));
    }
    Ok(())
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

fn open_file(path: &std::path::Path) -> Result<(std::fs::File, u64), CliError> {
    let f = std::fs::File::open(path).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((f, len))
}

fn print_bad(bad: &[crate::helpline::switchboard::BadLine]) {
    for b in bad {
        eprintln!("{} line {}: {}", b.file, b.line, b.reason);
    }
}

fn import_switchboard(
    settings: Settings,
    cdr: PathBuf,
    queue_log: PathBuf,
    opts: crate::helpline::switchboard::Options,
) -> Result<(), CliError> {
    let mut reader = crate::helpline::switchboard::Reader::default();
    let (f, len) = open_file(&cdr)?;
    let bar = progress_bar(len, "Master.csv");
    reader.read_cdr(std::io::BufReader::new(f), &opts, &mut |b| bar.set_position(b));
    bar.finish();
    let (f, len) = open_file(&queue_log)?;
    let bar = progress_bar(len, "queue_log");
    reader.read_queue_log(std::io::BufReader::new(f), &mut |b| bar.set_position(b));
    bar.finish();
    let (calls, orphans, bad) = reader.finish();
    print_bad(&bad);
    let n_bad = bad.len();
    let added = with_app(settings, |app| async move {
        Ok(crate::helpline::service::import_calls(&app, &caller(), calls, n_bad).await?)
    })?;
    println!(
        "{} calls read, {} added ({} already stored), {} bad lines, {} queue_log calls without a CDR line skipped",
        added.read,
        added.added,
        added.read - added.added,
        n_bad,
        orphans
    );
    Ok(())
}

fn import_chats(settings: Settings, file: PathBuf) -> Result<(), CliError> {
    let (f, len) = open_file(&file)?;
    let bar = progress_bar(len, "chat");
    let mut input = std::io::BufReader::new(f);
    // LiveHelperChat's XLSX export (a zip) is read as the CSV it would have been.
    let is_xlsx = std::io::BufRead::fill_buf(&mut input).is_ok_and(|b| b.starts_with(b"PK\x03\x04"));
    let read = if is_xlsx {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut input, &mut bytes)
            .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
        crate::helpline::chats::xlsx_as_csv(&bytes)
            .and_then(|csv| crate::helpline::chats::read(csv.as_slice(), &mut |_| {}))
    } else {
        crate::helpline::chats::read(input, &mut |b| bar.set_position(b))
    };
    let (chats, bad) = read.map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
    bar.finish();
    print_bad(&bad);
    let n_bad = bad.len();
    let added = with_app(settings, |app| async move {
        Ok(crate::helpline::service::import_chats(&app, &caller(), chats, n_bad).await?)
    })?;
    println!(
        "{} chats read, {} added ({} already stored), {} bad lines",
        added.read,
        added.added,
        added.read - added.added,
        n_bad
    );
    Ok(())
}

fn report_1522(
    settings: Settings,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    format: &str,
    out: PathBuf,
) -> Result<(), CliError> {
    let format = crate::helpline::export::Format::parse(format)
        .ok_or_else(|| CliError::Usage("--format must be json, csv, xlsx, pdf or istat".into()))?;
    let report = with_app(settings, |app| async move {
        Ok(crate::helpline::service::report(&app, &caller(), from, to, format.as_str()).await?)
    })?;
    let bytes = crate::helpline::export::render(&report, format)?;
    std::fs::write(&out, bytes).map_err(|e| CliError::App(format!("{}: {e}", out.display())))?;
    println!(
        "report {from} – {to} written to {} ({})",
        out.display(),
        format.as_str()
    );
    Ok(())
}

fn import_directory(settings: Settings, file: PathBuf) -> Result<(), CliError> {
    let (f, _) = open_file(&file)?;
    let (services, bad) = crate::helpline::directory::read_csv(std::io::BufReader::new(f))
        .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
    print_bad(&bad);
    let read = services.len();
    let added = with_app(settings, |app| async move {
        Ok(crate::helpline::directory::add(&app, &caller(), services).await?)
    })?;
    println!("{read} services read, {added} added, {} bad lines", bad.len());
    Ok(())
}
