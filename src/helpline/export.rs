//! The report as files: JSON (the API's structure), CSV (one line per figure:
//! `section,row,column,value`) and the extraction for ISTAT (valid contacts by channel, callers
//! and victims, reason, first contact, region; the daily series).

use std::fmt::Write;

use super::report::{Grid, Report, Share};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Istat,
    Pdf,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim() {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "istat" => Some(Format::Istat),
            "pdf" => Some(Format::Pdf),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Istat => "istat",
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The bytes of the report in `format`.
pub fn render(r: &Report, format: Format) -> Result<Vec<u8>, crate::error::AppError> {
    Ok(match format {
        Format::Json => serde_json::to_vec_pretty(r).map_err(|e| crate::error::AppError::Internal(e.to_string()))?,
        Format::Csv => csv(r).into_bytes(),
        Format::Istat => istat(r).into_bytes(),
        Format::Pdf => super::pdf::render(r)?,
        Format::Xlsx => xlsx(r)?,
    })
}

fn field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

fn line(out: &mut String, section: &str, row: &str, column: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{},{},{},{value}", field(section), field(row), field(column));
}

fn shares(out: &mut String, section: &str, items: &[Share]) {
    for s in items {
        line(out, section, &s.code, "count", s.count);
        line(out, section, &s.code, "percent", s.percent);
    }
}

fn grid(out: &mut String, section: &str, g: &Grid) {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    for (i, row) in g.cells.iter().enumerate() {
        for (d, v) in row.iter().enumerate() {
            line(out, section, &g.rows[i], DAYS[d], v);
        }
        line(out, section, &g.rows[i], "total", g.row_totals[i]);
        line(out, section, &g.rows[i], "percent", g.row_percent[i]);
    }
    for (d, v) in g.weekday_totals.iter().enumerate() {
        line(out, section, "total", DAYS[d], v);
    }
    line(out, section, "total", "total", g.total);
}

fn csv(r: &Report) -> String {
    let mut o = String::from("section,row,column,value\n");
    line(&mut o, "period", "from", "date", r.from);
    line(&mut o, "period", "to", "date", r.to);
    let c = &r.calls;
    for (k, v) in [
        ("total", c.total),
        ("queued", c.queued),
        ("answered", c.answered),
        ("unanswered", c.unanswered),
        ("voicemail", c.voicemail),
        ("abandoned", c.abandoned),
        ("blacklisted", c.blacklisted),
        ("welcome_closed", c.welcome_closed),
        ("previous_total", c.previous_total),
    ] {
        line(&mut o, "1_calls", k, "count", v);
    }
    if let Some(ch) = c.change_percent {
        line(&mut o, "1_calls", "change", "percent", ch);
    }
    shares(&mut o, "1_categories", &c.categories);
    shares(&mut o, "1_queued_split", &c.queued_split);
    line(&mut o, "2_talk", "total", "seconds", r.times.talk_total_secs);
    line(&mut o, "2_talk", "average", "seconds", r.times.talk_average_secs);
    line(&mut o, "3_wait", "average", "seconds", r.times.wait_average_secs);
    grid(&mut o, "4_calls_by_hour", &r.calls_by_hour);
    grid(&mut o, "4_calls_by_band", &r.calls_by_band);
    line(&mut o, "4_days", "daily_average", "calls", r.days.daily_average);
    if let Some(d) = r.days.peak_day {
        line(&mut o, "4_days", "peak", &d.to_string(), r.days.peak_calls);
    }
    line(&mut o, "5_chats", "app", "count", r.chats.app);
    line(&mut o, "5_chats", "site", "count", r.chats.site);
    line(&mut o, "5_chats", "total", "count", r.chats.total);
    shares(&mut o, "6_first_response", &r.chats.first_response);
    grid(&mut o, "7_chats_by_hour", &r.chats_by_hour);
    grid(&mut o, "7_chats_by_band", &r.chats_by_band);
    line(&mut o, "8_outgoing", "total", "count", r.outgoing_calls);
    shares(&mut o, "9_who", &r.contacts.who);
    shares(&mut o, "10_region", &r.contacts.regions);
    for (name, s) in [
        ("11_phone", &r.contacts.phone_reasons),
        ("11_chat", &r.contacts.chat_reasons),
    ] {
        line(&mut o, name, "valid", "count", s.valid);
        line(&mut o, name, "invalid", "count", s.invalid);
        line(&mut o, name, "valid", "percent", s.valid_percent);
        shares(&mut o, &format!("{name}_valid"), &s.valid_reasons);
        shares(&mut o, &format!("{name}_invalid"), &s.invalid_reasons);
    }
    shares(&mut o, "12_learned_from", &r.contacts.learned_from);
    line(&mut o, "13_referrals", "total", "count", r.contacts.referrals_total);
    shares(&mut o, "13_referrals", &r.contacts.referrals);
    for a in &r.atr {
        line(&mut o, "atr", &a.atr, "records", a.records);
        line(&mut o, "atr", &a.atr, "victims", a.victims);
        line(&mut o, "atr", &a.atr, "referrals", a.referrals_total);
    }
    o
}

fn istat(r: &Report) -> String {
    let mut o = String::from("table,key,value\n");
    line3(
        &mut o,
        "valid_contacts_by_channel",
        "phone",
        r.contacts.phone_reasons.valid,
    );
    line3(
        &mut o,
        "valid_contacts_by_channel",
        "chat",
        r.contacts.chat_reasons.valid,
    );
    line3(&mut o, "callers", "victims", r.contacts.victims);
    line3(&mut o, "first_contact", "yes", r.contacts.first_contacts);
    line3(&mut o, "first_contact", "no", r.contacts.repeat_contacts);
    line3(
        &mut o,
        "callers",
        "others",
        r.contacts.who.iter().map(|w| w.count).sum::<i64>() - r.contacts.victims,
    );
    for s in r
        .contacts
        .phone_reasons
        .valid_reasons
        .iter()
        .chain(&r.contacts.chat_reasons.valid_reasons)
    {
        line3(&mut o, "reason", &s.code, s.count);
    }
    for s in &r.contacts.regions {
        line3(&mut o, "region", &s.code, s.count);
    }
    for d in &r.days.series {
        line3(&mut o, "daily_calls", &d.day.to_string(), d.calls);
        line3(&mut o, "daily_chats", &d.day.to_string(), d.chats);
        line3(&mut o, "daily_contacts", &d.day.to_string(), d.contacts);
    }
    o
}

fn line3(out: &mut String, table: &str, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{},{},{value}", field(table), field(key));
}

/// The report as an XLSX workbook: one sheet per part (calls, bands and hours, chats, records,
/// days), percentages as numbers, a column chart of the 4-hour bands.
pub fn xlsx(r: &Report) -> Result<Vec<u8>, crate::error::AppError> {
    use rust_xlsxwriter::{Chart, ChartType, Format as CellFormat, Workbook, XlsxError};
    let fail = |e: XlsxError| crate::error::AppError::Internal(format!("xlsx: {e}"));
    let bold = CellFormat::new().set_bold();
    let mut wb = Workbook::new();

    let rows: Vec<(&str, f64)> = vec![
        ("Chiamate totali", r.calls.total as f64),
        ("Entrate in coda", r.calls.queued as f64),
        ("Risposte", r.calls.answered as f64),
        ("Non risposte", r.calls.unanswered as f64),
        ("In segreteria", r.calls.voicemail as f64),
        ("Chiuse durante l'attesa in coda", r.calls.abandoned as f64),
        ("In blacklist", r.calls.blacklisted as f64),
        ("Chiuse nel messaggio di benvenuto", r.calls.welcome_closed as f64),
        ("Periodo precedente", r.calls.previous_total as f64),
        ("Variazione %", r.calls.change_percent.unwrap_or(0.0)),
        ("Durata totale (s)", r.times.talk_total_secs as f64),
        ("Tempo medio di conversazione (s)", r.times.talk_average_secs as f64),
        ("Attesa media (s)", r.times.wait_average_secs as f64),
        ("Media giornaliera", r.days.daily_average),
        ("Chiamate alla rete", r.outgoing_calls as f64),
    ];
    let ws = wb.add_worksheet();
    ws.set_name("Chiamate").map_err(fail)?;
    ws.write_string_with_format(
        0,
        0,
        format!(
            "Relazione 1522 {} – {}",
            r.from.format("%d/%m/%Y"),
            r.to.format("%d/%m/%Y")
        ),
        &bold,
    )
    .map_err(fail)?;
    for (i, (k, v)) in rows.iter().enumerate() {
        ws.write_string(i as u32 + 2, 0, *k).map_err(fail)?;
        ws.write_number(i as u32 + 2, 1, *v).map_err(fail)?;
    }
    let first = rows.len() as u32 + 3;
    for (i, s) in r.calls.categories.iter().chain(&r.calls.queued_split).enumerate() {
        let row = first + i as u32;
        ws.write_string(row, 0, &s.label).map_err(fail)?;
        ws.write_number(row, 1, s.count as f64).map_err(fail)?;
        ws.write_number(row, 2, s.percent).map_err(fail)?;
    }

    for (name, g, chart) in [
        ("Chiamate per fascia", &r.calls_by_band, true),
        ("Chiamate per ora", &r.calls_by_hour, false),
        ("Chat per fascia", &r.chats_by_band, false),
        ("Chat per ora", &r.chats_by_hour, false),
    ] {
        let ws = wb.add_worksheet();
        ws.set_name(name).map_err(fail)?;
        for (c, h) in [
            "Fascia oraria",
            "Lun",
            "Mar",
            "Mer",
            "Gio",
            "Ven",
            "Sab",
            "Dom",
            "Tot",
            "%",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold).map_err(fail)?;
        }
        for (i, cells) in g.cells.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, &g.rows[i]).map_err(fail)?;
            for (d, v) in cells.iter().enumerate() {
                ws.write_number(row, d as u16 + 1, *v as f64).map_err(fail)?;
            }
            ws.write_number(row, 8, g.row_totals[i] as f64).map_err(fail)?;
            ws.write_number(row, 9, g.row_percent[i]).map_err(fail)?;
        }
        if chart {
            let mut c = Chart::new(ChartType::Column);
            c.add_series()
                .set_categories((name, 1, 0, g.rows.len() as u32, 0))
                .set_values((name, 1, 8, g.rows.len() as u32, 8));
            c.title().set_name("Chiamate per fascia oraria");
            ws.insert_chart(g.rows.len() as u32 + 3, 0, &c).map_err(fail)?;
        }
    }

    let ws = wb.add_worksheet();
    ws.set_name("Chat e schede").map_err(fail)?;
    let mut row = 0u32;
    let mut block = |ws: &mut rust_xlsxwriter::Worksheet, title: &str, items: &[Share]| -> Result<(), XlsxError> {
        ws.write_string_with_format(row, 0, title, &bold)?;
        row += 1;
        for s in items {
            ws.write_string(row, 0, &s.label)?;
            ws.write_number(row, 1, s.count as f64)?;
            ws.write_number(row, 2, s.percent)?;
            row += 1;
        }
        row += 1;
        Ok(())
    };
    block(ws, "Tempo di risposta alle chat", &r.chats.first_response).map_err(fail)?;
    block(ws, "Chi ha contattato", &r.contacts.who).map_err(fail)?;
    block(ws, "Regione", &r.contacts.regions).map_err(fail)?;
    block(ws, "Motivi validi (chiamate)", &r.contacts.phone_reasons.valid_reasons).map_err(fail)?;
    block(
        ws,
        "Motivi non validi (chiamate)",
        &r.contacts.phone_reasons.invalid_reasons,
    )
    .map_err(fail)?;
    block(ws, "Motivi validi (chat)", &r.contacts.chat_reasons.valid_reasons).map_err(fail)?;
    block(ws, "Motivi non validi (chat)", &r.contacts.chat_reasons.invalid_reasons).map_err(fail)?;
    block(ws, "Conoscenza del 1522", &r.contacts.learned_from).map_err(fail)?;
    block(ws, "Invii alla rete", &r.contacts.referrals).map_err(fail)?;

    let ws = wb.add_worksheet();
    ws.set_name("Giorni").map_err(fail)?;
    for (c, h) in ["Giorno", "Chiamate (esclusa blacklist)", "Chat", "Schede"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(0, c as u16, *h, &bold).map_err(fail)?;
    }
    for (i, d) in r.days.series.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, d.day.format("%d/%m/%Y").to_string())
            .map_err(fail)?;
        ws.write_number(row, 1, d.calls as f64).map_err(fail)?;
        ws.write_number(row, 2, d.chats as f64).map_err(fail)?;
        ws.write_number(row, 3, d.contacts as f64).map_err(fail)?;
    }
    wb.save_to_buffer().map_err(fail)
}
