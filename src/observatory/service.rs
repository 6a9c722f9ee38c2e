//! The observatory's use cases: a caller and the database, no HTTP. The crisis unit (coordinators
//! and operators) sees exact tables inside Varco; observatory analysts see and export only
//! disclosure-controlled aggregates and the anonymised record file; nobody else sees either.
//! Every report and export is audited with its parameters.

use std::io::Write;

use super::disclosure::{self, Published};
use super::export::{self, Anonymiser, Csv, CtdcRecord, CtdcStatement};
use super::model::{Period, Spec, Table, Territory, TerritoryBasis};
use super::store;
use crate::app::App;
use crate::audit::{self, Event};
use crate::db::DbConn;
use crate::domain::{Caller, Lang, Role};
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
    audit::read(app, caller, move |conn| {
        let table = store::table(conn, &spec)?;
        let published = disclosure::publish(&table, threshold);
        let mut detail = spec.describe();
        if let Some(t) = threshold {
            detail.push_str(&format!(
                " threshold={t} withheld={}+{}",
                published.primary, published.secondary
            ));
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

/// Writes the record-level (CTDC) file of a period and territory to `out`: two streamed passes
/// over the referrals (the first counts the combinations of quasi-identifiers, the second writes),
/// memory bounded by the combinations, not the records. `progress` sees the records of each pass.
pub fn write_records(
    conn: &mut DbConn,
    (period, territory, basis): (&Period, Territory, TerritoryBasis),
    k: i64,
    flavour: Csv,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<CtdcStatement, AppError> {
    let mut anon = Anonymiser::new(k);
    let mut stmt = CtdcStatement {
        k,
        ..CtdcStatement::default()
    };
    each_record(conn, period, territory, basis, |r| {
        anon.count(r);
        stmt.records += 1;
        progress(stmt.records);
    })?;
    anon.settle();
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
        match anon.level_of(r) {
            None => stmt.dropped += 1,
            Some(level) => {
                match level {
                    0 => stmt.kept += 1,
                    1 => stmt.age_generalised += 1,
                    2 => stmt.citizenship_generalised += 1,
                    _ => stmt.gender_generalised += 1,
                }
                if let Err(e) = w.write_record(export::ctdc_fields(&r.generalised(level))) {
                    error.get_or_insert(e);
                }
            }
        }
    })?;
    if let Some(e) = error {
        return Err(fail(e));
    }
    w.flush().map_err(io)?;
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

/// The record-level file for the caller (the unit and analysts alike get it anonymised),
/// audited as `observatory.records` with its parameters and what was done to it.
pub async fn records(
    app: &App,
    caller: &Caller,
    period: Period,
    territory: Territory,
    basis: TerritoryBasis,
    flavour: Csv,
    lang: Lang,
) -> Result<(Vec<u8>, CtdcStatement), AppError> {
    threshold_for(app, caller)?;
    let k = app.settings.k_anonymity;
    audit::read(app, caller, move |conn| {
        let mut out = Vec::new();
        let stmt = write_records(conn, (&period, territory, basis), k, flavour, &mut out, &mut |_| {})?;
        let _ = lang;
        let detail = records_detail(&period, territory, basis, flavour, k, &stmt);
        Ok(((out, stmt), Event::new("observatory.records").detail(detail)))
    })
    .await
}
