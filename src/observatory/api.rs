//! `/api/v1/observatory`: tables (frequency tables and cross-tables of any two indicators, for any
//! period and territory, in one of the three measures), their files, and the record-level file
//! aligned to the CTDC global dataset. The crisis unit sees exact counts; analysts see
//! disclosure-controlled ones; every call is audited with its parameters.

use actix_web::http::{header, Method};
use actix_web::HttpResponse;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::disclosure::Published;
use super::export::{self, Csv, CtdcStatement};
use super::model::{Indicator, Measure, Period, Spec, Table, Territory, TerritoryBasis};
use super::service::{self, TableFormat};
use crate::auth::Access;
use crate::domain::{Lang, Role};
use crate::error::{AppError, Problem};
use crate::vocabulary;
use crate::web::{ApiQuery, Ctx, RouteDef};

/// The crisis unit and the observatory's analysts (who see disclosure-controlled counts).
const OBSERVERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Analyst]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/api/v1/observatory/table", OBSERVERS, table),
        RouteDef::new(Method::GET, "/api/v1/observatory/table/file", OBSERVERS, table_file),
        RouteDef::new(Method::GET, "/api/v1/observatory/records", OBSERVERS, records),
    ]
}

vocabulary! {
    /// The file a table is exported as.
    TableFileFormat ("table_format") {
        Json = "json" => ("JSON", "JSON"),
        Csv = "csv" => ("CSV (virgole, UTF-8)", "CSV (commas, UTF-8)"),
        CsvIt = "csv-it" => ("CSV per fogli di calcolo italiani (punto e virgola, virgola decimale)", "CSV for Italian spreadsheets (semicolons, decimal comma)"),
        Xlsx = "xlsx" => ("Cartella di lavoro Excel (XLSX)", "Excel workbook (XLSX)"),
    }
}

vocabulary! {
    /// The flavour of the record-level file.
    RecordFileFormat ("record_format") {
        Ctdc = "ctdc" => ("CTDC (CSV, virgole)", "CTDC (CSV, commas)"),
        CtdcIt = "ctdc-it" => ("CTDC per fogli di calcolo italiani (punto e virgola)", "CTDC for Italian spreadsheets (semicolons)"),
    }
}

/// What a table asks for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TableQuery {
    /// What is counted (default `referrals`).
    pub measure: Option<Measure>,
    /// The indicator of the rows (none: the total only).
    pub rows: Option<Indicator>,
    /// The indicator of the columns (none: a frequency table).
    pub cols: Option<Indicator>,
    /// First day of registration (YYYY-MM-DD, Europe/Rome).
    pub from: NaiveDate,
    /// Last day, included (YYYY-MM-DD, Europe/Rome).
    pub to: NaiveDate,
    /// A region (ISTAT code or name); national when neither region nor province is given.
    pub region: Option<String>,
    /// A province (ISTAT code, sigla or name).
    pub province: Option<String>,
    /// Which territory the region or province is of (default `emergence`).
    pub territory: Option<TerritoryBasis>,
    /// The file (only for `/table/file`; default `csv`).
    pub format: Option<TableFileFormat>,
}

impl TableQuery {
    fn spec(&self) -> Result<Spec, AppError> {
        if self.rows.is_some() && self.rows == self.cols {
            return Err(AppError::bad_request("cols", "must differ from rows"));
        }
        Ok(Spec {
            measure: self.measure.unwrap_or(Measure::Referrals),
            rows: self.rows,
            cols: self.cols,
            period: Period::new(self.from, self.to)?,
            territory: Territory::parse(self.region.as_deref(), self.province.as_deref())?,
            basis: self.territory.unwrap_or(TerritoryBasis::Emergence),
        })
    }
}

/// A value of an indicator: its code and label.
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub code: String,
    pub label: String,
}

/// A table: exact for the crisis unit; for analysts a count under the threshold, and the
/// counts that would reveal it, are `null`.
#[derive(Serialize, ToSchema)]
pub struct TableView {
    pub measure: Measure,
    #[schema(nullable)]
    pub rows_indicator: Option<Indicator>,
    #[schema(nullable)]
    pub cols_indicator: Option<Indicator>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `IT`, `region:NN` or `province:NNN` (ISTAT codes).
    pub territory: String,
    pub territory_basis: TerritoryBasis,
    /// The disclosure threshold applied (`null`: exact counts, for the unit).
    #[schema(nullable)]
    pub threshold: Option<i64>,
    /// Counts withheld for being under the threshold.
    pub withheld_primary: usize,
    /// Counts withheld so that the others cannot be worked out from the totals.
    pub withheld_secondary: usize,
    /// True when every unit falls in exactly one cell (totals are sums of cells).
    pub margins_are_sums: bool,
    pub rows: Vec<KeyView>,
    pub cols: Vec<KeyView>,
    /// `cells[row][col]`.
    #[schema(value_type = Vec<Vec<Option<i64>>>)]
    pub cells: Vec<Vec<Option<i64>>>,
    #[schema(value_type = Vec<Option<i64>>)]
    pub row_totals: Vec<Option<i64>>,
    #[schema(value_type = Vec<Option<i64>>)]
    pub col_totals: Vec<Option<i64>>,
    #[schema(nullable)]
    pub total: Option<i64>,
    /// Referrals of the selection linked to a person, and the persons they are about.
    pub linked_referrals: i64,
    pub linked_persons: i64,
    /// What the table counts and what was withheld, in the caller's language.
    pub statement: Vec<String>,
    /// The rule that protected an analyst's table (`null`: exact counts, for the unit).
    #[schema(nullable)]
    pub disclosure: Option<DisclosureView>,
}

/// How an analyst's table was protected so that it holds across tables and releases: margins
/// fixed to the patterns of the tables with fewer dimensions (one pattern per value, whichever
/// table shows it; `B × A` is the transpose of `A × B`), the period as blocks protected as a
/// hierarchy (a year, its quarters jointly with the year fixed, a quarter's months jointly with
/// the quarter fixed), a count shown only if shown in every block of its period, and a region or
/// province as a column of the national table.
#[derive(Serialize, ToSchema)]
pub struct DisclosureView {
    /// The threshold: counts from 1 to threshold − 1 are withheld.
    pub threshold: i64,
    /// The blocks the period was decomposed into (`2015`, `2015-Q1`, `2015-01`): a count is shown
    /// only if it is shown in every one.
    pub blocks: Vec<String>,
    /// For a region or province: the indicator of the national table whose column this table is
    /// (`emergence_region`, `emergence_province`, `exploitation_region`, `exploitation_province`).
    #[schema(nullable)]
    pub territory_from: Option<Indicator>,
}

impl TableView {
    pub fn of(t: &Table, p: &Published, lang: Lang) -> TableView {
        let keys = |ind: Option<Indicator>, codes: &[String]| {
            codes
                .iter()
                .map(|c| KeyView {
                    code: c.clone(),
                    label: ind
                        .unwrap_or(Indicator::Gender)
                        .value_label(if ind.is_some() { c } else { super::model::ALL }, lang),
                })
                .collect()
        };
        TableView {
            measure: t.spec.measure,
            rows_indicator: t.spec.rows,
            cols_indicator: t.spec.cols,
            from: t.spec.period.from,
            to: t.spec.period.to,
            territory: t.spec.territory.code(),
            territory_basis: t.spec.basis,
            threshold: p.threshold,
            withheld_primary: p.primary,
            withheld_secondary: p.secondary,
            margins_are_sums: t.spec.partitions(),
            rows: keys(t.spec.rows, &t.rows),
            cols: keys(t.spec.cols, &t.cols),
            cells: p.cells.clone(),
            row_totals: p.row_totals.clone(),
            col_totals: p.col_totals.clone(),
            total: p.total,
            linked_referrals: t.linked_referrals,
            linked_persons: t.linked_persons,
            statement: export::statement(t, p, lang),
            disclosure: p.threshold.map(|threshold| DisclosureView {
                threshold,
                blocks: p.blocks.clone(),
                territory_from: p.territory_from,
            }),
        }
    }
}

/// A frequency table or cross-table of the referrals, cases or persons of a period and territory;
/// audited. Analysts get it with `VARCO_DISCLOSURE_THRESHOLD` small-cell and secondary suppression
/// that holds across tables and releases (see `disclosure`), for periods of whole calendar months
/// that have ended, and nationally or as a frequency table of one region or province.
#[utoipa::path(get, path = "/api/v1/observatory/table", tag = "observatory", params(TableQuery), operation_id = "observatory_table",
    responses((status = 200, body = TableView),
        (status = 400, body = Problem, description = "A parameter is missing or malformed: a day, an indicator, a territory, a period too long (`errors` names it)"),
        (status = 422, body = Problem, description = "Not for an analyst: a period that is not whole calendar months or has not ended (`from`, `to`), a cross-table with a territory filter (`region`, `province`), two period dimensions (`cols`)")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn table(ctx: Ctx, q: ApiQuery<TableQuery>) -> Result<HttpResponse, AppError> {
    let spec = q.0.spec()?;
    let (t, p) = service::report(&ctx.state, &ctx.caller(), spec, None).await?;
    Ok(HttpResponse::Ok().json(TableView::of(&t, &p, ctx.lang)))
}

/// The same table as a file: JSON, CSV (UTF-8, commas), `csv-it` (semicolons, decimal comma, a
/// byte-order mark: what Italian spreadsheets open directly) or XLSX (number cells), with a statement of what it counts
/// and what was withheld; audited as an export.
#[utoipa::path(get, path = "/api/v1/observatory/table/file", tag = "observatory", params(TableQuery), operation_id = "observatory_table_file",
    responses((status = 200, description = "the file", content(
            (TableView = "application/json"),
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = Problem, description = "A parameter is missing or malformed (`errors` names it)"),
        (status = 422, body = Problem, description = "Not for an analyst: a period that is not whole calendar months or has not ended (`from`, `to`), a cross-table with a territory filter (`region`, `province`), two period dimensions (`cols`)")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn table_file(ctx: Ctx, q: ApiQuery<TableQuery>) -> Result<HttpResponse, AppError> {
    let spec = q.0.spec()?;
    let format = match q.0.format.unwrap_or(TableFileFormat::Csv) {
        TableFileFormat::Json => TableFormat::Json,
        TableFileFormat::Csv => TableFormat::Csv(Csv::Plain),
        TableFileFormat::CsvIt => TableFormat::Csv(Csv::Italian),
        TableFileFormat::Xlsx => TableFormat::Xlsx,
    };
    let (t, p) = service::report(&ctx.state, &ctx.caller(), spec, Some(format)).await?;
    let name = format!("osservatorio-{}-{}", t.spec.period.from, t.spec.period.to);
    Ok(match format {
        TableFormat::Json => HttpResponse::Ok()
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.json\""),
            ))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .json(TableView::of(&t, &p, ctx.lang)),
        TableFormat::Csv(flavour) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .body(export::table_csv(&t, &p, ctx.lang, flavour)?),
        TableFormat::Xlsx => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, XLSX))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.xlsx\""),
            ))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .body(export::table_xlsx(&t, &p, ctx.lang)?),
        TableFormat::Pdf => return Err(AppError::NotFound),
    })
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What the record-level file covers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    /// First day of registration (YYYY-MM-DD, Europe/Rome).
    pub from: NaiveDate,
    /// Last day, included (YYYY-MM-DD, Europe/Rome).
    pub to: NaiveDate,
    /// A region (ISTAT code or name).
    pub region: Option<String>,
    /// A province (ISTAT code, sigla or name).
    pub province: Option<String>,
    /// Which territory the region or province is of (default `emergence`).
    pub territory: Option<TerritoryBasis>,
    /// Commas (`ctdc`, default) or semicolons with a byte-order mark (`ctdc-it`).
    pub format: Option<RecordFileFormat>,
}

/// The record-level file aligned to the IOM Counter Trafficking Data Collaborative (CTDC) global
/// dataset, one line per referral: its field names and value sets (1/0, -99 for missing), made
/// k-anonymous (`VARCO_K_ANONYMITY`, default 11) by generalising and then dropping records; never
/// a name, alias, contact, address, free text or date. The `Varco-Statement` header says how many
/// records were generalised and dropped. Audited.
#[utoipa::path(get, path = "/api/v1/observatory/records", tag = "observatory", params(RecordsQuery), operation_id = "observatory_records",
    responses((status = 200, description = "the CSV file", content_type = "text/csv", body = String,
            headers(("Varco-Statement" = String, description = "k, records read, kept, generalised and dropped (JSON)"))),
        (status = 400, body = Problem, description = "A parameter is missing or malformed (`errors` names it)")),
    security(("bearer" = []), ("session" = [])))]
pub(crate) async fn records(ctx: Ctx, q: ApiQuery<RecordsQuery>) -> Result<HttpResponse, AppError> {
    let q = q.0;
    let period = Period::new(q.from, q.to)?;
    let territory = Territory::parse(q.region.as_deref(), q.province.as_deref())?;
    let flavour = match q.format.unwrap_or(RecordFileFormat::Ctdc) {
        RecordFileFormat::Ctdc => Csv::Plain,
        RecordFileFormat::CtdcIt => Csv::Italian,
    };
    let basis = q.territory.unwrap_or(TerritoryBasis::Emergence);
    let (stmt, chunks): (CtdcStatement, _) =
        service::records_stream(&ctx.state, &ctx.caller(), (period, territory, basis), flavour).await?;
    let statement = serde_json::to_string(&stmt).map_err(AppError::internal)?;
    let body = futures_util::stream::unfold(chunks, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"ctdc-{}-{}.csv\"", q.from, q.to),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("Varco-Statement", statement))
        .streaming(body))
}
