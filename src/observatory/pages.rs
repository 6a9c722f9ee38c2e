//! `/observatory`: a table of the observatory with its chart (SVG drawn by the server), in
//! Italian or English, with links to the same table as CSV, Italian CSV, XLSX, JSON and PDF and to
//! the CTDC record file. Analysts see it disclosure-controlled, the unit exact.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate};

use super::api::TableView;
use super::model::{Indicator, Measure, Period, Spec, Territory, TerritoryBasis};
use super::service;
use crate::auth::Access;
use crate::domain::Role;
use crate::error::AppError;
use crate::web::page::{pairs, render_status, Form, Page};
use crate::web::{Ctx, RouteDef};

const OBSERVERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Analyst]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/observatory", OBSERVERS, page),
        RouteDef::new(Method::GET, "/observatory/pdf", OBSERVERS, pdf),
    ]
}

#[derive(Template)]
#[template(path = "observatory/page.html")]
struct ObservatoryPage {
    page: Page,
    form: Form,
    measures: &'static [Measure],
    indicators: &'static [Indicator],
    bases: &'static [TerritoryBasis],
    view: Option<TableView>,
    chart: String,
    query: String,
    error: Option<String>,
}

impl ObservatoryPage {
    fn cell(&self, v: &Option<i64>) -> String {
        v.map_or_else(|| "x".to_owned(), |n| n.to_string())
    }
}

/// The spec the form asks for (defaults: referrals by month, from January to the last month that
/// has ended: a period an analyst may ask for too).
fn spec_of(form: &Form, today: NaiveDate) -> Result<Spec, AppError> {
    let day = |field: &'static str, default: NaiveDate| match form.v(field).trim() {
        "" => Ok(default),
        s => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| AppError::bad_request(field, "must be a date (YYYY-MM-DD)")),
    };
    let last = today.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(today);
    let first = NaiveDate::from_ymd_opt(last.year(), 1, 1).unwrap_or(last);
    let ind = |field: &'static str, default: Option<Indicator>| match form.v(field).trim() {
        "" => Ok(default),
        "-" => Ok(None),
        s => Indicator::parse(s)
            .map(Some)
            .ok_or_else(|| AppError::bad_request(field, "is not an indicator")),
    };
    let rows = ind("rows", Some(Indicator::Month))?;
    let cols = ind("cols", None)?;
    if rows.is_some() && rows == cols {
        return Err(AppError::bad_request("cols", "must differ from rows"));
    }
    Ok(Spec {
        measure: match form.v("measure") {
            "" => Measure::Referrals,
            m => Measure::parse(m).ok_or_else(|| AppError::bad_request("measure", "is not a measure"))?,
        },
        rows,
        cols,
        period: Period::new(day("from", first)?, day("to", last)?)?,
        territory: Territory::parse(Some(form.v("region")), Some(form.v("province")))?,
        basis: match form.v("territory") {
            "" => TerritoryBasis::Emergence,
            t => TerritoryBasis::parse(t)
                .ok_or_else(|| AppError::bad_request("territory", "must be emergence or exploitation"))?,
        },
    })
}

/// The query string of a spec, for the download links.
fn query_of(spec: &Spec) -> String {
    let mut q = format!(
        "measure={}&from={}&to={}&territory={}",
        spec.measure, spec.period.from, spec.period.to, spec.basis
    );
    if let Some(r) = spec.rows {
        q.push_str(&format!("&rows={r}"));
    }
    if let Some(c) = spec.cols {
        q.push_str(&format!("&cols={c}"));
    }
    match spec.territory {
        Territory::National => {}
        Territory::Region(r) => q.push_str(&format!("&region={}", r.code)),
        Territory::Province(p) => q.push_str(&format!("&province={}", p.code)),
    }
    q
}

fn today(ctx: &Ctx) -> NaiveDate {
    crate::clock::rome(ctx.now).date_naive()
}

async fn page(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(req.query_string().as_bytes())?);
    let mut tpl = ObservatoryPage {
        page: Page::new(&ctx, "observatory.title"),
        form,
        measures: Measure::ALL,
        indicators: Indicator::ALL,
        bases: TerritoryBasis::ALL,
        view: None,
        chart: String::new(),
        query: String::new(),
        error: None,
    };
    let answer = match spec_of(&tpl.form, today(&ctx)) {
        Ok(spec) => {
            tpl.query = query_of(&spec);
            service::report(&ctx.state, &ctx.caller(), spec, None).await
        }
        Err(e) => Err(e),
    };
    match answer {
        Ok((t, p)) => {
            tpl.chart = super::chart::svg(&t, &p, ctx.lang);
            tpl.view = Some(TableView::of(&t, &p, ctx.lang));
        }
        Err(AppError::BadRequest(fields) | AppError::Invalid(fields)) => {
            tpl.error = Some(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, crate::web::i18n::message(ctx.lang, &f.message)))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
        Err(e) => return Err(e),
    }
    let status = if tpl.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(&tpl.page, status, &tpl)
}

/// The table and its chart as a PDF (audited as an export).
async fn pdf(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(req.query_string().as_bytes())?);
    let spec = spec_of(&form, today(&ctx))?;
    let (t, p) = service::report(&ctx.state, &ctx.caller(), spec, Some(service::TableFormat::Pdf)).await?;
    let lang = ctx.lang;
    let bytes = actix_web::web::block(move || super::pdf::render(&t, &p, lang))
        .await
        .map_err(AppError::internal)??;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"osservatorio.pdf\""))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}
