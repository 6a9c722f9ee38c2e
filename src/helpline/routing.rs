//! The transfer rules, live (seed 002's three operating modes, seed 000's language hours): given
//! the caller's province, the instant, the language and whether it is an emergency, which mode
//! applies and what the operator does. Days and hours are Europe/Rome; Italian public holidays
//! (Easter Monday computed) close the local referents; an expired protocol is never used.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use serde::Serialize;

use crate::clock::ROME;
use crate::domain::Province;
use crate::protocols::helpline::{HelplineProtocol, ProtocolKind, ProtocolState, Referent};

/// Easter Sunday (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher).
pub fn easter(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

/// The national public holiday on a day, by its Italian name (L. 260/1949 and later; 4 October,
/// San Francesco, again a holiday from 2026 under L. 151/2025).
pub fn holiday(day: NaiveDate) -> Option<&'static str> {
    let fixed = match (day.month(), day.day()) {
        (1, 1) => Some("Capodanno"),
        (1, 6) => Some("Epifania"),
        (4, 25) => Some("Festa della Liberazione"),
        (5, 1) => Some("Festa del Lavoro"),
        (6, 2) => Some("Festa della Repubblica"),
        (8, 15) => Some("Ferragosto"),
        (10, 4) if day.year() >= 2026 => Some("San Francesco d'Assisi"),
        (11, 1) => Some("Ognissanti"),
        (12, 8) => Some("Immacolata Concezione"),
        (12, 25) => Some("Natale"),
        (12, 26) => Some("Santo Stefano"),
        _ => None,
    };
    fixed.or_else(|| {
        let e = easter(day.year());
        if day == e {
            Some("Pasqua")
        } else if day == e + Duration::days(1) {
            Some("Lunedì dell'Angelo")
        } else {
            None
        }
    })
}

/// When a language other than Italian is answered (seed 000, section 1).
pub struct LanguageHours {
    pub code: &'static str,
    pub name_it: &'static str,
    pub days: &'static [Weekday],
    pub from: u32,
    pub to: u32,
}

const WEEKDAYS: &[Weekday] = &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

/// The weekly languages; Italian is answered 24 hours a day, every day.
pub const LANGUAGES: &[LanguageHours] = &[
    LanguageHours {
        code: "en",
        name_it: "inglese",
        days: WEEKDAYS,
        from: 8,
        to: 20,
    },
    LanguageHours {
        code: "fr",
        name_it: "francese",
        days: WEEKDAYS,
        from: 10,
        to: 14,
    },
    LanguageHours {
        code: "es",
        name_it: "spagnolo",
        days: WEEKDAYS,
        from: 10,
        to: 14,
    },
    LanguageHours {
        code: "ar",
        name_it: "arabo",
        days: WEEKDAYS,
        from: 10,
        to: 12,
    },
    LanguageHours {
        code: "de",
        name_it: "tedesco",
        days: &[Weekday::Mon, Weekday::Wed, Weekday::Fri],
        from: 10,
        to: 12,
    },
];

/// The nine languages available by appointment (ISO 639 where one exists; the Arabic varieties
/// the seed names — Algerian, Syrian, Syro-Lebanese, Moroccan, Egyptian — by their ISO 639-3
/// codes), with their Italian names.
pub const BY_APPOINTMENT: &[(&str, &str)] = &[
    ("sq", "albanese"),
    ("fa", "persiano"),
    ("arq", "algerino"),
    ("apc", "siriano"),
    ("ajp", "siro-libanese"),
    ("ary", "marocchino"),
    ("arz", "egiziano"),
    ("ber", "berbero"),
    ("zh", "cinese"),
];

/// How a language is served now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LanguageService {
    /// Answered now.
    Available,
    /// A weekly language outside its hours.
    NotNow,
    /// One of the nine languages by appointment.
    ByAppointment,
    /// Not offered.
    Unavailable,
}

/// The answer for a language at an instant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LanguageAnswer {
    pub code: String,
    pub service: LanguageService,
    /// The weekly hours, in Italian (`lunedì–venerdì 8:00–20:00`), when it has any.
    pub hours: Option<String>,
}

fn days_it(days: &[Weekday]) -> String {
    if days == WEEKDAYS {
        return "lunedì–venerdì".into();
    }
    days.iter().map(|d| day_it(*d)).collect::<Vec<_>>().join(", ")
}

/// The Italian name of a weekday.
pub fn day_it(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "lunedì",
        Weekday::Tue => "martedì",
        Weekday::Wed => "mercoledì",
        Weekday::Thu => "giovedì",
        Weekday::Fri => "venerdì",
        Weekday::Sat => "sabato",
        Weekday::Sun => "domenica",
    }
}

/// Whether `code` is answered at `local` (Rome wall clock). The seed gives the weekly hours and
/// nothing about holidays: they are applied as written.
pub fn language(code: &str, local: chrono::NaiveDateTime) -> LanguageAnswer {
    let code = code.trim().to_ascii_lowercase();
    if code == "it" {
        return LanguageAnswer {
            code,
            service: LanguageService::Available,
            hours: Some("24 ore su 24, tutti i giorni".into()),
        };
    }
    if let Some(l) = LANGUAGES.iter().find(|l| l.code == code) {
        let open = l.days.contains(&local.weekday()) && (l.from..l.to).contains(&local.hour());
        return LanguageAnswer {
            code,
            service: if open {
                LanguageService::Available
            } else {
                LanguageService::NotNow
            },
            hours: Some(format!("{} {}:00–{}:00", days_it(l.days), l.from, l.to)),
        };
    }
    let service = if BY_APPOINTMENT.iter().any(|(c, _)| *c == code) {
        LanguageService::ByAppointment
    } else {
        LanguageService::Unavailable
    };
    LanguageAnswer {
        code,
        service,
        hours: None,
    }
}

/// Which mode applies (seed 002's operating modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Immediate danger: activate the police, keep the caller on the line.
    Emergency,
    /// A network territory whose referent is open now: transfer the call directly.
    DirectTransfer,
    /// The territory's referent is closed: give its details and hours, or offer a call back.
    ReferentClosed,
    /// No protocol in force for the province: orient to the nearest centres (the directory).
    NationalOrientation,
}

/// Whether a referent is open at a Rome wall-clock instant (closed on national holidays and on
/// its local closures).
pub fn referent_open(r: &Referent, local: chrono::NaiveDateTime) -> bool {
    let day = local.date();
    if holiday(day).is_some() || r.closed_locally(day) {
        return false;
    }
    let t = local.time();
    r.hours
        .iter()
        .any(|h| h.days.contains(&local.weekday()) && t >= h.from && t < h.to)
}

/// The next opening of a referent after `local` (within two weeks), as Rome wall clock.
pub fn next_opening(r: &Referent, local: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
    let mut day = local.date();
    for _ in 0..15 {
        if holiday(day).is_none() && !r.closed_locally(day) {
            let mut starts: Vec<NaiveTime> = r
                .hours
                .iter()
                .filter(|h| h.days.contains(&day.weekday()))
                .map(|h| h.from)
                .collect();
            starts.sort();
            if let Some(s) = starts.into_iter().map(|s| day.and_time(s)).find(|s| *s > local) {
                return Some(s);
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// The referent's hours in Italian (`lunedì, mercoledì, venerdì 09:00–13:00`).
pub fn hours_it(r: &Referent) -> String {
    r.hours
        .iter()
        .map(|h| {
            format!(
                "{} {}–{}",
                days_it(&h.days),
                h.from.format("%H:%M"),
                h.to.format("%H:%M")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A protocol as a routing answer names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProtocolRef {
    pub id: String,
    pub title: String,
    /// `in_force`, `expired` or `not_yet_in_force`.
    pub state: String,
    pub valid_until: NaiveDate,
}

/// The referent in an answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferentRef {
    pub name: String,
    pub phone: String,
    pub address: Option<String>,
    /// In Italian.
    pub hours: String,
    pub open_now: bool,
    /// RFC 3339, Europe/Rome.
    pub next_opening: Option<String>,
}

/// What to do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoutingDecision {
    pub mode: Mode,
    /// The instant decided for, RFC 3339 in Europe/Rome.
    pub at: String,
    pub province: String,
    /// The public holiday that day, by its Italian name.
    pub holiday: Option<String>,
    /// The protocol applied (in force only).
    pub protocol: Option<ProtocolRef>,
    /// Protocols covering the province that are not in force: listed, flagged, not used.
    pub not_in_force: Vec<ProtocolRef>,
    pub referent: Option<ReferentRef>,
    pub language: LanguageAnswer,
    /// The steps, in Italian, for the operator.
    pub steps: Vec<String>,
    /// The province's anti-violence centres, shelters and services from the directory (a
    /// shelter's address never).
    pub centres: Vec<super::directory::Service>,
}

fn protocol_ref(p: &HelplineProtocol, state: ProtocolState) -> ProtocolRef {
    ProtocolRef {
        id: p.id.clone(),
        title: p.title.clone(),
        state: match state {
            ProtocolState::InForce => "in_force",
            ProtocolState::Expired => "expired",
            ProtocolState::NotYetInForce => "not_yet_in_force",
        }
        .into(),
        valid_until: p.valid_until,
    }
}

fn rome_text(local: chrono::NaiveDateTime) -> Option<String> {
    ROME.from_local_datetime(&local)
        .earliest()
        .map(|d| d.fixed_offset().to_rfc3339())
}

/// Decides the mode for a call.
pub fn decide(
    protocols: &[HelplineProtocol],
    province: &Province,
    now: DateTime<Utc>,
    language_code: &str,
    emergency: bool,
) -> RoutingDecision {
    let local = now.with_timezone(&ROME).naive_local();
    let today = local.date();
    let lang = language(language_code, local);
    let covering: Vec<&HelplineProtocol> = protocols.iter().filter(|p| p.covers(province)).collect();
    let not_in_force: Vec<ProtocolRef> = covering
        .iter()
        .map(|p| (p, p.state(today)))
        .filter(|(_, s)| *s != ProtocolState::InForce)
        .map(|(p, s)| protocol_ref(p, s))
        .collect();
    let in_force: Vec<&HelplineProtocol> = covering
        .into_iter()
        .filter(|p| p.state(today) == ProtocolState::InForce)
        .collect();
    // A network territory's protocol (with a transfer referent) first.
    let applied = in_force
        .iter()
        .find(|p| p.kind == ProtocolKind::Atr && p.referent.is_some())
        .or_else(|| in_force.first())
        .copied();
    let referent = applied.and_then(|p| p.referent.as_ref()).map(|r| ReferentRef {
        name: r.name.clone(),
        phone: r.phone.clone(),
        address: r.address.clone(),
        hours: hours_it(r),
        open_now: referent_open(r, local),
        next_opening: next_opening(r, local).and_then(rome_text),
    });
    let mut steps = Vec::new();
    let mode = if emergency {
        steps.push("Attivare le Forze dell'Ordine (112) secondo la Convenzione DPO – Ministero dell'Interno del 12 gennaio 2011.".into());
        steps.push("Tenere in linea la donna che ha chiamato fino all'intervento.".into());
        Mode::Emergency
    } else {
        match &referent {
            Some(r) if r.open_now => {
                steps.push(format!(
                    "Primo ascolto della richiesta, poi trasferimento diretto a {} al numero {}.",
                    r.name, r.phone
                ));
                steps.push("Mettere in attesa l'utente e trasferire la telefonata all'operatrice che risponde.".into());
                Mode::DirectTransfer
            }
            Some(r) => {
                steps.push(format!(
                    "Il referente locale è chiuso: indicare {} (tel. {}), aperto {}.",
                    r.name, r.phone, r.hours
                ));
                steps.push(
                    "In alternativa, proporre di richiamare il 1522 negli orari di apertura per il trasferimento."
                        .into(),
                );
                Mode::ReferentClosed
            }
            None => {
                steps.push("Nessun protocollo in vigore con trasferimento diretto: orientare ai Centri antiviolenza e ai servizi più vicini della Mappatura.".into());
                Mode::NationalOrientation
            }
        }
    };
    match lang.service {
        LanguageService::Available => {}
        LanguageService::NotNow => steps.push(format!(
            "Lingua richiesta non disponibile ora ({}): proporre di richiamare in quegli orari.",
            lang.hours.clone().unwrap_or_default()
        )),
        LanguageService::ByAppointment => {
            steps.push("Lingua disponibile su appuntamento: fissare un appuntamento con la mediatrice.".into())
        }
        LanguageService::Unavailable => {
            steps.push("Lingua non disponibile: proseguire in italiano o in inglese.".into())
        }
    }
    RoutingDecision {
        mode,
        at: now.with_timezone(&ROME).fixed_offset().to_rfc3339(),
        province: province.sigla.to_owned(),
        holiday: holiday(today).map(str::to_owned),
        protocol: applied.map(|p| protocol_ref(p, ProtocolState::InForce)),
        not_in_force,
        referent,
        language: lang,
        steps,
        centres: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_is_computed() {
        for (y, m, d) in [
            (2012, 4, 8),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
        ] {
            assert_eq!(easter(y), NaiveDate::from_ymd_opt(y, m, d).expect("test value"), "{y}");
        }
        assert_eq!(
            holiday(NaiveDate::from_ymd_opt(2012, 4, 9).expect("test value")),
            Some("Lunedì dell'Angelo")
        );
        assert_eq!(holiday(NaiveDate::from_ymd_opt(2012, 4, 10).expect("test value")), None);
        assert_eq!(holiday(NaiveDate::from_ymd_opt(2025, 10, 4).expect("test value")), None);
        assert_eq!(
            holiday(NaiveDate::from_ymd_opt(2026, 10, 4).expect("test value")),
            Some("San Francesco d'Assisi")
        );
    }

    #[test]
    fn languages_follow_the_seed_hours() {
        let at = |d: u32, h: u32| {
            NaiveDate::from_ymd_opt(2025, 9, d)
                .expect("test value")
                .and_hms_opt(h, 30, 0)
                .expect("test value")
        };
        // 1 September 2025 is a Monday; 2 a Tuesday; 6 a Saturday.
        assert_eq!(language("en", at(1, 8)).service, LanguageService::Available);
        assert_eq!(language("en", at(1, 20)).service, LanguageService::NotNow);
        assert_eq!(language("de", at(2, 10)).service, LanguageService::NotNow);
        assert_eq!(language("de", at(1, 11)).service, LanguageService::Available);
        assert_eq!(language("ar", at(1, 12)).service, LanguageService::NotNow);
        assert_eq!(language("fr", at(6, 11)).service, LanguageService::NotNow);
        assert_eq!(language("it", at(6, 3)).service, LanguageService::Available);
        assert_eq!(language("zh", at(1, 11)).service, LanguageService::ByAppointment);
        assert_eq!(language("ro", at(1, 11)).service, LanguageService::Unavailable);
    }
}
