//! The observatory's use cases: a caller and the database, no HTTP. The crisis unit (coordinators
//! and operators) sees exact tables inside Varco; observatory analysts see and export only
//! disclosure-controlled aggregates and the anonymised record file; nobody else sees either.
//! Every report and export is audited with its parameters.

use std::io::Write;

use super::disclosure::{self, Published};
use super::export::{self, Anonymiser, Csv, CtdcRecord, CtdcStatement};
use super::model::{Period, Spec, Table, Territory, TerritoryBasis};
use super::release;
use super::store;
use crate::app::App;
use crate::audit::{self, Event};
use crate::db::DbConn;
use crate::domain::{Caller, Role};
use crate::error::AppError;

/// The disclosure threshold a caller's tables get: `None` (exact) for the unit, the configured
/// one for analysts; anyone else is refused.
pub fn threshold_for(app: &App, caller: &Caller) -> Result<Option<i64>, AppError> {
    match caller.role {
        Some(Role::Coordinator | Role::Operator) => Ok(None),
        Some(Role::Analyst) => Ok(Some(app.settings.disclosure_threshold)),
        _ => Err(AppError::Forbidden),
    }
}

/// The formats a table is exported in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Json,
    Csv(Csv),
    Xlsx,
    Pdf,
}

impl TableFormat {
    pub fn code(self) -> &'static str {
        match self {
            TableFormat::Json => "json",
            TableFormat::Csv(Csv::Plain) => "csv",
            TableFormat::Csv(Csv::Italian) => "csv-it",
            TableFormat::Xlsx => "xlsx",
            TableFormat::Pdf => "pdf",
        }
    }
}

/// A table for the caller (audited as `observatory.report`, or `observatory.export` with its
/// format when it leaves as a file).
pub async fn report(
    app: &App,
    caller: &Caller,
    spec: Spec,
    format: Option<TableFormat>,
) -> Result<(Table, Published), AppError> {
    let threshold = threshold_for(app, caller)?;
    let today = crate::clock::rome(app.now()).date_naive();
    if threshold.is_some() {
        release::check_period(&spec.period, today)?;
    }
    audit::read(app, caller, move |conn| {
        let (table, published) = match threshold {
            // The unit: exact counts, any period and territory.
            None => {
                let table = store::table(conn, &spec)?;
                let published = disclosure::publish(&table, None);
                (table, published)
            }
            Some(th) => release::analyst_table(conn, &spec, th, today)?,
        };
        let mut detail = spec.describe();
        if let Some(t) = threshold {
            detail.push_str(&format!(
                " threshold={t} withheld={}+{} blocks={}",
                published.primary,
                published.secondary,
                published.blocks.join(",")
            ));
            if let Some(from) = published.territory_from {
                detail.push_str(&format!(" territory_from={from}"));
            }
            if published.unresolved > 0 {
                detail.push_str(&format!(" unresolved={}", published.unresolved));
            }
        }
        let event = match format {
            None => Event::new("observatory.report"),
            Some(f) => {
                detail.push_str(&format!(" format={}", f.code()));
                Event::new("observatory.export")
            }
        };
        Ok(((table, published), event.detail(detail)))
    })
    .await
}

/// The selection of a record file: period, territory and its basis.
pub type Selection<'a> = (&'a Period, Territory, TerritoryBasis);

/// The first pass over the selection: every combination of quasi-identifiers counted and its
/// generalisation settled, so that what the file will hold is known before a line is written
/// (the API sends it as a header before the streamed body).
pub fn plan_records(
    conn: &mut DbConn,
    (period, territory, basis): Selection<'_>,
    k: i64,
    progress: &mut dyn FnMut(usize),
) -> Result<(Anonymiser, CtdcStatement), AppError> {
    let mut anon = Anonymiser::new(k);
    let mut records = 0;
    each_record(conn, period, territory, basis, |r| {
        anon.count(r);
        records += 1;
        progress(records);
    })?;
    anon.settle();
    let [kept, age_generalised, citizenship_generalised, gender_generalised, dropped] = anon.tally();
    let stmt = CtdcStatement {
        k,
        records,
        kept,
        age_generalised,
        citizenship_generalised,
        gender_generalised,
        dropped,
    };
    Ok((anon, stmt))
}

/// The second pass: the file written as planned, streamed to `out`. A referral registered
/// between the passes was not counted and is left out (never written unchecked).
pub fn write_planned(
    conn: &mut DbConn,
    (period, territory, basis): Selection<'_>,
    anon: &Anonymiser,
    flavour: Csv,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<(), AppError> {
    let io = |e: std::io::Error| AppError::internal(e);
    if flavour == Csv::Italian {
        out.write_all("\u{feff}".as_bytes()).map_err(io)?;
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(if flavour == Csv::Italian { b';' } else { b',' })
        .from_writer(out);
    let fail = |e: csv::Error| AppError::internal(e);
    w.write_record(export::ctdc_header()).map_err(fail)?;
    let mut error = None;
    let mut seen = 0;
    each_record(conn, period, territory, basis, |r| {
        seen += 1;
        progress(seen);
        if let Some(level) = anon.level_of(r) {
            if let Err(e) = w.write_record(export::ctdc_fields(&r.generalised(level))) {
                error.get_or_insert(e);
            }
        }
    })?;
    if let Some(e) = error {
        return Err(fail(e));
    }
    w.flush().map_err(io)?;
    Ok(())
}

/// Writes the record-level (CTDC) file of a period and territory to `out`: two streamed passes
/// over the referrals (the first counts the combinations of quasi-identifiers, the second writes),
/// memory bounded by the combinations, not the records. `progress` sees the records of each pass.
pub fn write_records(
    conn: &mut DbConn,
    selection: Selection<'_>,
    k: i64,
    flavour: Csv,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<CtdcStatement, AppError> {
    let (anon, stmt) = plan_records(conn, selection, k, progress)?;
    write_planned(conn, selection, &anon, flavour, out, progress)?;
    Ok(stmt)
}

/// Each referral of the selection as a CTDC record, in id order.
fn each_record(
    conn: &mut DbConn,
    period: &Period,
    territory: Territory,
    basis: TerritoryBasis,
    mut each: impl FnMut(&CtdcRecord),
) -> Result<(), AppError> {
    let mut pending: Vec<store::RecordRow> = Vec::new();
    store::records(conn, period, territory, basis, |row| {
        if pending.first().is_some_and(|p| p.id != row.id) {
            if let Some(rec) = CtdcRecord::of(&pending) {
                each(&rec);
            }
            pending.clear();
        }
        pending.push(row.clone());
    })?;
    if let Some(rec) = CtdcRecord::of(&pending) {
        each(&rec);
    }
    Ok(())
}

/// The record-level file written straight to a file (the command line), streamed in constant
/// memory with a progress bar on standard error (two passes over the referrals); audited.
pub async fn records_to_file(
    app: &App,
    caller: &Caller,
    (period, territory, basis): (Period, Territory, TerritoryBasis),
    flavour: Csv,
    path: std::path::PathBuf,
) -> Result<CtdcStatement, AppError> {
    threshold_for(app, caller)?;
    let k = app.settings.k_anonymity;
    audit::read(app, caller, move |conn| {
        let spec = Spec {
            measure: super::model::Measure::Referrals,
            rows: None,
            cols: None,
            period,
            territory,
            basis,
        };
        let total = store::table(conn, &spec)?.total;
        let bar = indicatif::ProgressBar::new(2 * total.max(0) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let file = std::fs::File::create(&path).map_err(AppError::internal)?;
        let mut out = std::io::BufWriter::new(file);
        let mut done = 0u64;
        let stmt = write_records(conn, (&period, territory, basis), k, flavour, &mut out, &mut |_| {
            done += 1;
            if done.is_multiple_of(1000) {
                bar.set_position(done);
            }
        })?;
        out.flush().map_err(AppError::internal)?;
        bar.finish_and_clear();
        let detail = records_detail(&period, territory, basis, flavour, k, &stmt);
        Ok((stmt, Event::new("observatory.records").detail(detail)))
    })
    .await
}

fn records_detail(
    period: &Period,
    territory: Territory,
    basis: TerritoryBasis,
    flavour: Csv,
    k: i64,
    stmt: &CtdcStatement,
) -> String {
    format!(
        "from={} to={} territory={} basis={} format={} k={} records={} generalised={} dropped={}",
        period.from,
        period.to,
        territory.code(),
        basis,
        if flavour == Csv::Italian { "ctdc-it" } else { "ctdc" },
        k,
        stmt.records,
        stmt.age_generalised + stmt.citizenship_generalised + stmt.gender_generalised,
        stmt.dropped
    )
}

/// A private temporary file (mode 0600, unlinked once written: only the open handle remains).
struct Spool {
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl Spool {
    fn new() -> std::io::Result<Spool> {
        let path = std::env::temp_dir().join(format!("varco-ctdc-{}.csv", uuid::Uuid::new_v4()));
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let file = open.open(&path)?;
        Ok(Spool {
            path,
            out: std::io::BufWriter::new(file),
        })
    }

    /// The written file, open for reading from its start; its name is gone.
    fn finish(mut self) -> std::io::Result<std::fs::File> {
        self.out.flush()?;
        let file = std::fs::File::open(&self.path);
        let _ = std::fs::remove_file(&self.path);
        file
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

const CHUNK: usize = 64 * 1024;

/// Sends a file in chunks, waiting while the client is slower (memory: a few chunks).
fn send_file(
    mut file: std::fs::File,
    tx: tokio::sync::mpsc::Sender<Result<actix_web::web::Bytes, std::io::Error>>,
) -> std::io::Result<()> {
    use std::io::Read;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        buf.truncate(n);
        if tx.blocking_send(Ok(buf.into())).is_err() {
            return Ok(()); // the client went away
        }
    }
}

/// The record-level file for the caller (the unit and analysts alike get it anonymised),
/// audited as `observatory.records` with its parameters and what was done to it: the statement
/// at once (after the counting pass), the file as a stream of chunks of what a second pass
/// wrote, in constant memory whatever the period.
pub async fn records_stream(
    app: &App,
    caller: &Caller,
    (period, territory, basis): (Period, Territory, TerritoryBasis),
    flavour: Csv,
) -> Result<
    (
        CtdcStatement,
        tokio::sync::mpsc::Receiver<Result<actix_web::web::Bytes, std::io::Error>>,
    ),
    AppError,
> {
    threshold_for(app, caller)?;
    let k = app.settings.k_anonymity;
    let (anon, stmt) = audit::read(app, caller, move |conn| {
        let (anon, stmt) = plan_records(conn, (&period, territory, basis), k, &mut |_| {})?;
        let detail = records_detail(&period, territory, basis, flavour, k, &stmt);
        Ok(((anon, stmt), Event::new("observatory.records").detail(detail)))
    })
    .await?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let db = app.db.clone();
    actix_web::rt::spawn(async move {
        let failed = tx.clone();
        // The writing pass runs at the database's pace into a private spool file, not at the
        // client's: a slow download must not hold a read snapshot open (on SQLite it would stop
        // the write-ahead log from being reset). The file is then sent in chunks.
        let written = db
            .read(move |conn| {
                let mut spool = Spool::new().map_err(AppError::internal)?;
                write_planned(
                    conn,
                    (&period, territory, basis),
                    &anon,
                    flavour,
                    &mut spool.out,
                    &mut |_| {},
                )?;
                spool.finish().map_err(AppError::internal)
            })
            .await;
        let sent = match written {
            Ok(file) => actix_web::rt::task::spawn_blocking(move || send_file(file, tx))
                .await
                .unwrap_or_else(|_| Err(std::io::Error::other("the sender stopped"))),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "the record file stopped before its end");
            let _ = failed
                .send(Err(std::io::Error::other("the record file stopped before its end")))
                .await;
        }
    });
    Ok((stmt, rx))
}
