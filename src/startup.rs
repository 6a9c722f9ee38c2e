//! Builds the application: database, migrations, HTTP server bound to its port.
//! `main` and the integration tests use the same function.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::app::App as Varco;
use crate::auth::{login, session, setup};
use crate::clock::{db_now, SharedClock};
use crate::config::Settings;
use crate::crypto::KeyHolder;
use crate::db::{write_tx, Db};
use crate::domain::Caller;
use crate::error::AppError;
use crate::notify::{self, Transport};
use crate::web::middleware::{html_errors, request_context, security_headers};
use crate::web::routes::{configure, unrouted};
use crate::web::AppState;

/// How often the dispatcher looks for due notifications.
const DISPATCH_EVERY: Duration = Duration::from_secs(5);

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
    transport: Transport,
    dispatcher: bool,
}

impl Application {
    /// Connects to the database, applies migrations and binds `settings.bind`.
    pub fn build(settings: Settings, clock: SharedClock) -> Result<Application, AppError> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| AppError::Unavailable(format!("cannot listen on {}: {e}", settings.bind)))?;
        Application::with_listener(settings, clock, listener)
    }

    /// As `build`, on a listener the caller bound (tests bind port 0).
    pub fn with_listener(
        settings: Settings,
        clock: SharedClock,
        listener: TcpListener,
    ) -> Result<Application, AppError> {
        // A bad SMTP URL or sender stops the start rather than every delivery.
        let transport = Transport::from_settings(&settings)?;
        let port = listener.local_addr().map_err(AppError::internal)?.port();
        let workers = settings.workers;
        let db = Db::connect(&settings)?;
        let state = web::Data::new(open_app(db, settings, clock)?);
        let data = state.clone();
        let limit = state.settings.body_limit;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(limit))
                .configure(configure)
                .default_service(unrouted())
                .wrap(from_fn(html_errors))
                .wrap(from_fn(security_headers))
                .wrap(from_fn(request_context))
        })
        .shutdown_timeout(5);
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(AppError::internal)?.run();
        Ok(Application {
            port,
            server,
            state,
            transport,
            dispatcher: true,
        })
    }

    /// Without the background dispatcher and escalation clock: tests call [`notify::dispatch_due`]
    /// and [`escalate`] themselves, on a
    /// clock they move, and must not race a loop.
    pub fn without_dispatcher(mut self) -> Self {
        self.dispatcher = false;
        self
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped, with housekeeping, the notification dispatcher and the escalation
    /// clock running beside.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if self.dispatcher {
            let state = self.state.clone();
            let transport = self.transport.clone();
            actix_web::rt::spawn(async move {
                let mut tick = actix_web::rt::time::interval(DISPATCH_EVERY);
                loop {
                    tick.tick().await;
                    // Counts and errors only: recipients and texts are personal data.
                    match notify::dispatch_due(&state.db, &transport, &state.settings, &state.clock).await {
                        Ok(r) if !r.is_empty() => {
                            tracing::info!(
                                sent = r.sent,
                                retried = r.retried,
                                failed = r.failed,
                                "notifications dispatched"
                            )
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "notification dispatch failed"),
                    }
                }
            });
        }
        // Tests turn the clock-driven jobs off and run them by hand with a manual clock.
        if self.dispatcher {
            let jobs_state = self.state.clone();
            actix_web::rt::spawn(async move {
                let mut tick = actix_web::rt::time::interval(Duration::from_secs(30));
                loop {
                    tick.tick().await;
                    if let Err(e) = escalate(&jobs_state).await {
                        tracing::warn!(error = %e, "escalation run failed");
                    }
                    let now = db_now(jobs_state.clock.as_ref());
                    if let Err(e) = crate::placements::service::expire_holds(&jobs_state, now).await {
                        tracing::warn!(error = %e, "expiring holds failed");
                    }
                }
            });
        }
        let state = self.state.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                if let Err(e) = housekeeping(&state).await {
                    tracing::warn!(error = %e, "housekeeping failed");
                }
            }
        });
        self.server.await
    }
}

/// Alerts coordinators about referrals past their deadline (see
/// `referrals::service::escalate`); returns how many were escalated.
pub async fn escalate(state: &web::Data<AppState>) -> Result<usize, AppError> {
    let caller = Caller::system("escalation", db_now(state.clock.as_ref()));
    crate::referrals::service::escalate(state, &caller).await
}

/// Deletes expired sessions and old login failures.
pub async fn housekeeping(state: &web::Data<AppState>) -> Result<(), AppError> {
    let now = db_now(state.clock.as_ref());
    let settings = state.settings.clone();
    state
        .db
        .write(move |conn| {
            session::purge_expired(conn, now, &settings)?;
            login::purge_failures(conn, now, &settings)?;
            Ok(())
        })
        .await
}

/// The application over an open database: the protocols loaded and checked, the migrations
/// applied, the master keys loaded and checked against what the database holds, and any
/// personal field an earlier version stored in plain text sealed. Used by the server and by the
/// command line.
pub fn open_app(db: Db, settings: Settings, clock: SharedClock) -> Result<Varco, AppError> {
    let protocols = crate::protocols::Protocols::load(settings.protocols_dir.as_deref().map(std::path::Path::new))
        .map_err(|e| AppError::Unavailable(format!("protocols: {e}")))?;
    db.migrate()?;
    let now = db_now(clock.as_ref());
    let mut conn = db.conn()?;
    let sealed = crate::crypto::store::anything_sealed(&mut conn)?;
    let (keys, source) =
        crate::crypto::keyring_for(&settings, !sealed).map_err(|e| AppError::Unavailable(e.to_string()))?;
    if let crate::crypto::KeySource::Generated(path) = &source {
        // Once, at the first start: without this file no personal field can ever be read again.
        tracing::warn!(
            path = %path.display(),
            "generated a new master key (mode 0600): back it up apart from the database"
        );
        eprintln!(
            "\nVarco generated its master key in {} (mode 0600).\nBack it up apart from the database: without it no personal field can be read.\n",
            path.display()
        );
    }
    write_tx(&mut conn, |c| crate::crypto::store::check_keyring(c, &keys, now))?;
    // The seed's twelve escape points, as examples, when the registry is empty.
    write_tx(&mut conn, |c| crate::placements::store::seed_examples(c, &keys, now))?;
    let mut sealed_now = 0;
    loop {
        let n = write_tx(&mut conn, |c| crate::referrals::store::seal_pending(c, &keys, now, 500))?;
        if n == 0 {
            break;
        }
        sealed_now += n;
        tracing::info!(
            values = n,
            "sealed personal fields stored in plain text by an earlier version"
        );
    }
    // The person-matching key is made at the first start; referrals stored before it existed
    // get their blind indexes now, so that candidates are found among all of them.
    let indexer = write_tx(&mut conn, |c| crate::crypto::match_index::indexer(c, &keys, now))?;
    while write_tx(&mut conn, |c| {
        crate::referrals::store::index_earlier(c, &keys, &indexer, 500)
    })? {}
    // The live database has its own erasures: a damaged ledger must not keep the unit from
    // working (a restore, which needs it, refuses instead).
    let erasures = crate::referrals::service::erasure_ledger(&settings).unwrap_or_else(|e| {
        tracing::error!(error = %e, "erasures made after an earlier copy of the database cannot be re-applied");
        Vec::new()
    });
    let erased_again = crate::referrals::service::reapply_erasures(&mut conn, &keys, &erasures, now)?;
    if erased_again > 0 {
        tracing::warn!(
            referrals = erased_again,
            "erased again the referrals that the erasure ledger says were erased after this copy of the database"
        );
        if db.backend() == crate::db::Backend::Sqlite && !crate::db::truncate_wal(&mut conn)? {
            tracing::warn!("the write-ahead log could not be truncated after erasing: it will be at the next bound");
        }
    }
    if sealed_now > 0 && db.backend() == crate::db::Backend::Sqlite {
        // Once, after an upgrade: the pages that held the plain values (free since the
        // migration dropped their tables) are rebuilt away, and the log truncated.
        use diesel::connection::SimpleConnection;
        conn.batch_execute("VACUUM")?;
        if !crate::db::truncate_wal(&mut conn)? {
            tracing::warn!("the write-ahead log could not be truncated after sealing: it will be at the next bound");
        }
    }
    drop(conn);
    Ok(Varco::new(
        db,
        settings,
        clock,
        protocols,
        KeyHolder::new(keys, &source),
    ))
}

/// When no administrator exists yet, a fresh one-time setup link (else `None`).
pub fn first_run_link(state: &AppState) -> Result<Option<String>, AppError> {
    let mut conn = state.db.conn()?;
    let now = db_now(state.clock.as_ref());
    write_tx(&mut conn, |conn| {
        if crate::accounts::users::admin_exists(conn)? {
            return Ok(None);
        }
        let secret = setup::issue(conn, now)?;
        Ok(Some(format!("{}/setup?token={secret}", state.settings.base_url())))
    })
}
