//! The 1522 pages: the network protocols with their state (`/1522/protocols`) and the report for
//! a period (`/1522/report?from=…&to=…`) with its charts drawn by the server as SVG.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDate;

use super::api::{state_code, ProtocolView};
use super::report::{pct, thousands, Grid, Report, Share};
use super::service;
use super::store::ContactFacts;
use super::vocab::{ContactChannel, ContactReason, Contacter, LearnedFrom, ReferralTarget};
use crate::auth::Access;
use crate::domain::Region;
use crate::domain::Role;
use crate::error::AppError;
use crate::error::FieldError;
use crate::web::page::{pairs, redirect_with_flash, render_status, Form, Page};
use crate::web::{Ctx, RouteDef};

const READERS: Access = Access::Roles(&[Role::Coordinator, Role::Operator, Role::Analyst]);
const DESK: Access = Access::Roles(&[Role::Coordinator, Role::Operator]);
const REPORTERS: Access = Access::Roles(&[Role::Coordinator, Role::Analyst]);

pub fn routes() -> Vec<RouteDef> {
    vec![
        RouteDef::new(Method::GET, "/1522/protocols", READERS, protocols_page),
        RouteDef::new(Method::GET, "/1522/report", REPORTERS, report_page),
        RouteDef::new(Method::GET, "/1522/contacts/new", DESK, contact_page),
        RouteDef::new(Method::POST, "/1522/contacts", DESK, contact_submit),
    ]
}

/// `dd/mm/yyyy`.
pub fn date_it(d: &NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

#[derive(Template)]
#[template(path = "helpline/protocols.html")]
struct ProtocolsPage {
    page: Page,
    protocols: Vec<ProtocolView>,
}

impl ProtocolsPage {
    fn state_key(&self, p: &ProtocolView) -> &'static str {
        match p.state.as_str() {
            "in_force" => "helpline.in_force",
            "expired" => "helpline.expired",
            _ => "helpline.not_yet",
        }
    }

    fn date(&self, d: &NaiveDate) -> String {
        date_it(d)
    }

    fn days(&self, days: &[String]) -> String {
        days.iter()
            .map(|d| match d.as_str() {
                "mon" => "lunedì",
                "tue" => "martedì",
                "wed" => "mercoledì",
                "thu" => "giovedì",
                "fri" => "venerdì",
                "sat" => "sabato",
                _ => "domenica",
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn protocols_page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let today = crate::clock::rome(ctx.now).date_naive();
    let protocols = ctx
        .state
        .protocols
        .helpline
        .iter()
        .map(|p| {
            debug_assert!(!state_code(p.state(today)).is_empty());
            ProtocolView::of(p, today)
        })
        .collect();
    let tpl = ProtocolsPage {
        page: Page::new(&ctx, "helpline.protocols_title"),
        protocols,
    };
    render_status(&tpl.page, StatusCode::OK, &tpl)
}

#[derive(Template)]
#[template(path = "helpline/report.html")]
struct ReportPage {
    page: Page,
    form: Form,
    report: Option<Report>,
    error: Option<&'static str>,
    /// Protocol id → territory name.
    atr_names: Vec<(String, String)>,
}

const WEEKDAYS: [&str; 7] = ["Lun", "Mar", "Mer", "Gio", "Ven", "Sab", "Dom"];

impl ReportPage {
    fn n(&self, v: &i64) -> String {
        thousands(v)
    }

    fn p(&self, v: &f64) -> String {
        pct(v)
    }

    fn date(&self, d: &NaiveDate) -> String {
        date_it(d)
    }

    fn atr_name(&self, id: &str) -> String {
        self.atr_names
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "—".into())
    }

    fn weekdays(&self) -> [&'static str; 7] {
        WEEKDAYS
    }

    /// A weekday × row heat map.
    fn heat(&self, g: &Grid) -> String {
        let max = g.cells.iter().flat_map(|r| r.iter()).copied().max().unwrap_or(0).max(1);
        let (cw, ch, left, top) = (46, if g.rows.len() > 8 { 16 } else { 28 }, 96, 20);
        let w = left + cw * 7;
        let h = top + ch * g.rows.len();
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" class=\"chart heat\"><title>Mappa di calore giorno × ora</title>"
        );
        for (d, name) in WEEKDAYS.iter().enumerate() {
            s.push_str(&format!(
                "<text x=\"{}\" y=\"14\" font-size=\"11\" text-anchor=\"middle\">{name}</text>",
                left + d * cw + cw / 2
            ));
        }
        for (r, row) in g.cells.iter().enumerate() {
            let y = top + r * ch;
            s.push_str(&format!(
                "<text x=\"0\" y=\"{}\" font-size=\"10\">{}</text>",
                y + ch / 2 + 4,
                g.rows[r]
            ));
            for (d, v) in row.iter().enumerate() {
                let alpha = (*v as f64 / max as f64 * 0.9 + 0.05).min(1.0);
                s.push_str(&format!(
                    "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"#7a1f5c\" fill-opacity=\"{alpha:.2}\"><title>{} {}: {v}</title></rect>",
                    left + d * cw,
                    cw - 2,
                    ch - 2,
                    WEEKDAYS[d],
                    g.rows[r]
                ));
            }
        }
        s.push_str("</svg>");
        s
    }

    /// Horizontal bars of shares.
    fn bars(&self, items: &[Share]) -> String {
        let (bh, left, width) = (18, 260, 300);
        let h = bh * items.len().max(1) + 4;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {h}\" role=\"img\" class=\"chart bars\"><title>Quote</title>",
            left + width + 60
        );
        for (i, it) in items.iter().enumerate() {
            let y = i * bh;
            let len = (it.percent / 100.0 * width as f64).round() as usize;
            s.push_str(&format!(
                "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text><rect x=\"{left}\" y=\"{}\" width=\"{len}\" height=\"{}\" fill=\"#7a1f5c\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}%</text>",
                y + 13,
                askama_escape(&it.label),
                y + 2,
                bh - 4,
                left + len + 4,
                y + 13,
                pct(&it.percent)
            ));
        }
        s.push_str("</svg>");
        s
    }

    /// Daily calls as columns.
    fn daily(&self, r: &Report) -> String {
        let max = r.days.series.iter().map(|d| d.calls).max().unwrap_or(0).max(1);
        let (bw, h) = (6, 120);
        let w = bw * r.days.series.len().max(1);
        let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" class=\"chart daily\"><title>Chiamate al giorno</title>");
        for (i, d) in r.days.series.iter().enumerate() {
            let bar = (d.calls as f64 / max as f64 * (h - 4) as f64).round() as usize;
            s.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{bar}\" fill=\"#7a1f5c\"><title>{}: {}</title></rect>",
                i * bw,
                h - bar,
                bw - 1,
                date_it(&d.day),
                d.calls
            ));
        }
        s.push_str("</svg>");
        s
    }
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn report_page(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let form = Form::from_pairs(&pairs(req.query_string().as_bytes())?);
    let parse = |k: &str| NaiveDate::parse_from_str(form.v(k).trim(), "%Y-%m-%d").ok();
    let (report, error) = match (
        form.v("from").is_empty() && form.v("to").is_empty(),
        parse("from"),
        parse("to"),
    ) {
        (true, _, _) => (None, None),
        (false, Some(from), Some(to)) => match service::check_period(from, to) {
            Ok(()) => (
                Some(service::report(&ctx.state, &ctx.caller(), from, to, "html").await?),
                None,
            ),
            Err(_) => (None, Some("helpline.bad_period")),
        },
        _ => (None, Some("helpline.bad_period")),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let tpl = ReportPage {
        page: Page::new(&ctx, "helpline.report_title"),
        form,
        report,
        error,
        atr_names: ctx
            .state
            .protocols
            .helpline
            .iter()
            .map(|p| (p.id.clone(), p.territory.name.clone()))
            .collect(),
    };
    render_status(&tpl.page, status, &tpl)
}

#[derive(Template)]
#[template(path = "helpline/contact.html")]
struct ContactPage {
    page: Page,
    form: Form,
    channels: &'static [ContactChannel],
    who: &'static [Contacter],
    reasons: &'static [ContactReason],
    learned: &'static [LearnedFrom],
    targets: &'static [ReferralTarget],
    regions: &'static [Region],
    atrs: Vec<(String, String)>,
}

fn contact_tpl(ctx: &Ctx, form: Form) -> ContactPage {
    ContactPage {
        page: Page::new(ctx, "helpline.contact_title"),
        form,
        channels: ContactChannel::ALL,
        who: Contacter::ALL,
        reasons: ContactReason::ALL,
        learned: LearnedFrom::ALL,
        targets: ReferralTarget::ALL,
        regions: crate::domain::territory::REGIONS,
        atrs: ctx
            .state
            .protocols
            .helpline
            .iter()
            .map(|p| (p.id.clone(), p.territory.name.clone()))
            .collect(),
    }
}

async fn contact_page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let tpl = contact_tpl(&ctx, Form::default());
    render_status(&tpl.page, StatusCode::OK, &tpl)
}

/// Records a contact from the form; every unknown choice named at once.
async fn contact_submit(ctx: Ctx, body: actix_web::web::Bytes) -> Result<HttpResponse, AppError> {
    let mut form = Form::from_pairs(&pairs(&body)?);
    let mut errors = Vec::new();
    let channel = form.choice("channel", ContactChannel::parse, &mut errors);
    if channel.is_none() && !errors.iter().any(|e| e.field == "channel") {
        errors.push(FieldError::new("channel", "is required"));
    }
    let who = form.choice("who", Contacter::parse, &mut errors);
    let reason = form.choice("reason", ContactReason::parse, &mut errors);
    let learned_from = form.choice("learned_from", LearnedFrom::parse, &mut errors);
    let region = form.choice(
        "region",
        |r| crate::domain::Region::by_code(r).map(|r| r.code),
        &mut errors,
    );
    let atr = match form.opt("atr") {
        Some(a) if ctx.state.protocols.helpline.iter().any(|p| p.id == a) => Some(a),
        Some(_) => {
            errors.push(FieldError::new("atr", "is not one of the choices"));
            None
        }
        None => None,
    };
    let first_contact = match form.v("first_contact") {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let mut referrals = Vec::new();
    for t in ReferralTarget::ALL {
        if form.is("referrals", t.as_str()) {
            referrals.push(*t);
        }
    }
    let result = match channel {
        Some(channel) if errors.is_empty() => {
            let facts = ContactFacts {
                contacted_at: ctx.now,
                channel,
                who,
                region: region.map(str::to_owned),
                reason,
                learned_from,
                first_contact,
                atr,
                referrals,
            };
            service::record_contact(&ctx.state, &ctx.caller(), facts)
                .await
                .map(|_| ())
        }
        _ => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(()) => Ok(redirect_with_flash(
            "/1522/contacts/new",
            "flash.helpline_contact_saved",
        )),
        Err(e @ (AppError::Invalid(_) | AppError::BadRequest(_))) => {
            form.absorb(&e, ctx.lang);
            let tpl = contact_tpl(&ctx, form);
            render_status(&tpl.page, StatusCode::UNPROCESSABLE_ENTITY, &tpl)
        }
        Err(e) => Err(e),
    }
}
