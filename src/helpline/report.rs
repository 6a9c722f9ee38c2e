//! The quarterly report (seed 000, sections 1–13) for any period: computed from the imported
//! calls and chats and the contact records. Days and hours are Europe/Rome wall clock; shares of
//! a whole are given to one decimal and add up to 100 by the largest-remainder method, as the
//! published tables do.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use serde::Serialize;

use super::store::{CallFact, ChatFact, ContactFacts};
use super::vocab::{CallDirection, CallOutcome, ChatChannel, ContactChannel, ContactReason, Contacter};
use crate::clock::ROME;

/// Shares in tenths of a percent adding up to 1000 (largest remainder; ties to the earlier).
pub fn shares(counts: &[i64]) -> Vec<f64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return vec![0.0; counts.len()];
    }
    let mut tenths: Vec<i64> = counts.iter().map(|c| c * 1000 / total).collect();
    let left = 1000 - tenths.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(counts[i] * 1000 % total), i));
    // Fewer than `counts.len()` tenths are left over.
    for &i in order.iter().take(usize::try_from(left).unwrap_or(0)) {
        tenths[i] += 1;
    }
    tenths.into_iter().map(|t| t as f64 / 10.0).collect()
}

/// A percentage change to one decimal (`None` without a previous figure).
fn change(now: i64, before: i64) -> Option<f64> {
    (before > 0).then(|| ((now - before) as f64 * 1000.0 / before as f64).round() / 10.0)
}

/// `1.654h 54m 56s` (Italian thousands).
pub fn hms(secs: i64) -> String {
    let h = secs / 3600;
    let digits = h.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{grouped}h {:02}m {:02}s", secs % 3600 / 60, secs % 60)
}

/// A number with Italian thousands (`36.470`).
pub fn thousands(n: &i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if *n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A percentage with a decimal comma (`84,6`).
pub fn pct(p: &f64) -> String {
    format!("{p:.1}").replace('.', ",")
}

/// `06m 21s`.
pub fn ms(secs: i64) -> String {
    format!("{:02}m {:02}s", secs / 60, secs % 60)
}

/// A count with its share.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub code: String,
    /// The Italian label.
    pub label: String,
    pub count: i64,
    pub percent: f64,
}

fn share_list(items: Vec<(String, String, i64)>) -> Vec<Share> {
    let pct = shares(&items.iter().map(|i| i.2).collect::<Vec<_>>());
    items
        .into_iter()
        .zip(pct)
        .map(|((code, label, count), percent)| Share {
            code,
            label,
            count,
            percent,
        })
        .collect()
}

/// Counts by weekday (Monday first) and row (an hour, or a 4-hour band).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Grid {
    /// Row labels (`0:00 - 4:00`, or `0`–`23`).
    pub rows: Vec<String>,
    /// `cells[row][weekday]`, Monday first.
    pub cells: Vec<[i64; 7]>,
    pub row_totals: Vec<i64>,
    /// Each row's share of the total (adds up to 100).
    pub row_percent: Vec<f64>,
    pub weekday_totals: [i64; 7],
    pub total: i64,
}

impl Grid {
    fn new(rows: Vec<String>) -> Grid {
        let n = rows.len();
        Grid {
            rows,
            cells: vec![[0; 7]; n],
            row_totals: vec![0; n],
            row_percent: vec![0.0; n],
            weekday_totals: [0; 7],
            total: 0,
        }
    }

    fn hours() -> Grid {
        Grid::new((0..24).map(|h| format!("{h}:00 - {}:00", h + 1)).collect())
    }

    fn bands() -> Grid {
        Grid::new((0..6).map(|b| format!("{}:00 - {}:00", b * 4, b * 4 + 4)).collect())
    }

    fn add(&mut self, row: usize, weekday: usize) {
        self.cells[row][weekday] += 1;
    }

    fn finish(&mut self) {
        self.row_totals = self.cells.iter().map(|r| r.iter().sum()).collect();
        for d in 0..7 {
            self.weekday_totals[d] = self.cells.iter().map(|r| r[d]).sum();
        }
        self.total = self.row_totals.iter().sum();
        self.row_percent = shares(&self.row_totals);
    }
}

/// Section 1: incoming calls by category.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallsSection {
    pub total: i64,
    pub queued: i64,
    pub answered: i64,
    pub unanswered: i64,
    pub voicemail: i64,
    pub abandoned: i64,
    pub blacklisted: i64,
    pub welcome_closed: i64,
    /// Queued, closed during the welcome message, blacklisted: shares of the total.
    pub categories: Vec<Share>,
    /// Answered, abandoned while waiting, unanswered, voicemail: shares of the queued calls.
    pub queued_split: Vec<Share>,
    pub previous_total: i64,
    /// Change of the total against the previous period, in percent.
    pub change_percent: Option<f64>,
}

/// Sections 2 and 3: talk and wait.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimesSection {
    pub talk_total_secs: i64,
    /// `1.654h 54m 56s`.
    pub talk_total: String,
    /// Answered calls with a talk time in the queue log.
    pub calls_with_talk: i64,
    pub talk_average_secs: i64,
    /// `06m 21s`.
    pub talk_average: String,
    /// Average wait before the transfer to an operator (CONNECT holdtime), seconds.
    pub wait_average_secs: i64,
}

/// Section 4: the day figures (blacklisted calls left out, as the seed does).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DaysSection {
    pub days: i64,
    /// Incoming calls less blacklisted, per day of the period, one decimal.
    pub daily_average: f64,
    pub peak_day: Option<NaiveDate>,
    pub peak_calls: i64,
    /// Incoming calls less blacklisted, per day.
    pub series: Vec<DayCount>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DayCount {
    pub day: NaiveDate,
    pub calls: i64,
    pub chats: i64,
    pub contacts: i64,
}

/// Sections 5 and 6: chats.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatsSection {
    pub total: i64,
    pub app: i64,
    pub site: i64,
    /// Within 20 s, within 60 s, over 60 s (of the chats with a first response).
    pub first_response: Vec<Share>,
    /// Chats with no first response recorded (left out of the buckets).
    pub no_response: i64,
}

/// Sections 9–13: the contact records.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactsSection {
    pub records: i64,
    pub victims: i64,
    /// Records marked as a first contact with the 1522, and as a repeat one.
    pub first_contacts: i64,
    pub repeat_contacts: i64,
    pub who: Vec<Share>,
    pub regions: Vec<Share>,
    /// Phone records with a reason: valid and invalid.
    pub phone_reasons: ReasonSplit,
    pub chat_reasons: ReasonSplit,
    pub learned_from: Vec<Share>,
    /// Referrals to the network (several per record).
    pub referrals_total: i64,
    pub referrals: Vec<Share>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReasonSplit {
    pub with_reason: i64,
    pub valid: i64,
    pub invalid: i64,
    pub valid_percent: f64,
    pub valid_reasons: Vec<Share>,
    pub invalid_reasons: Vec<Share>,
}

/// The same for one network territory.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AtrSection {
    pub atr: String,
    pub records: i64,
    pub victims: i64,
    pub referrals_total: i64,
    pub reasons: Vec<Share>,
}

/// The report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub calls: CallsSection,
    pub times: TimesSection,
    pub calls_by_hour: Grid,
    pub calls_by_band: Grid,
    pub days: DaysSection,
    pub chats: ChatsSection,
    pub chats_by_hour: Grid,
    pub chats_by_band: Grid,
    /// Section 8: the operators' calls to the network.
    pub outgoing_calls: i64,
    pub contacts: ContactsSection,
    pub atr: Vec<AtrSection>,
}

/// The UTC instant of 00:00 Rome on a day.
pub fn rome_midnight(day: NaiveDate) -> NaiveDateTime {
    ROME.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// The period before: as many whole months when the period is whole months, else as many days.
pub fn previous(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let whole_months = from.day() == 1 && to.succ_opt().is_some_and(|d| d.day() == 1);
    if whole_months {
        let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1;
        if let Some(start) = from.checked_sub_months(chrono::Months::new(months as u32)) {
            return (start, from.pred_opt().unwrap_or(from));
        }
    }
    let days = (to - from).num_days() + 1;
    (from - Duration::days(days), from - Duration::days(1))
}

fn local(at: NaiveDateTime) -> NaiveDateTime {
    at.and_utc().with_timezone(&ROME).naive_local()
}

/// Computes the report. `atr_titles` names the network territories (protocol id, title).
#[allow(clippy::too_many_arguments)]
pub fn compute(
    from: NaiveDate,
    to: NaiveDate,
    calls: &[CallFact],
    previous_total: i64,
    chats: &[ChatFact],
    contacts: &[ContactFacts],
    region_name: &dyn Fn(&str) -> String,
) -> Report {
    let (previous_from, previous_to) = previous(from, to);
    let days_n = (to - from).num_days() + 1;
    let mut by_outcome: BTreeMap<CallOutcome, i64> = BTreeMap::new();
    let mut calls_by_hour = Grid::hours();
    let mut calls_by_band = Grid::bands();
    let mut per_day: BTreeMap<NaiveDate, (i64, i64, i64)> = BTreeMap::new();
    let (mut talk_total, mut talk_n, mut wait_total, mut wait_n, mut outgoing) = (0i64, 0i64, 0i64, 0i64, 0i64);
    for (at, direction, outcome, wait, talk) in calls {
        if *direction == CallDirection::Outgoing {
            outgoing += 1;
            continue;
        }
        *by_outcome.entry(*outcome).or_default() += 1;
        let l = local(*at);
        let wd = l.weekday().num_days_from_monday() as usize;
        calls_by_hour.add(l.hour() as usize, wd);
        calls_by_band.add(l.hour() as usize / 4, wd);
        if *outcome != CallOutcome::Blacklisted {
            per_day.entry(l.date()).or_default().0 += 1;
        }
        if *outcome == CallOutcome::Answered {
            if let Some(t) = talk {
                talk_total += i64::from(*t);
                talk_n += 1;
            }
            if let Some(w) = wait {
                wait_total += i64::from(*w);
                wait_n += 1;
            }
        }
    }
    calls_by_hour.finish();
    calls_by_band.finish();
    let n = |o: CallOutcome| by_outcome.get(&o).copied().unwrap_or(0);
    let queued: i64 = CallOutcome::QUEUED.iter().map(|o| n(*o)).sum();
    let total = queued + n(CallOutcome::Blacklisted) + n(CallOutcome::WelcomeClosed);
    let label = |o: CallOutcome| o.label(crate::domain::Lang::It).to_owned();
    let calls_section = CallsSection {
        total,
        queued,
        answered: n(CallOutcome::Answered),
        unanswered: n(CallOutcome::Unanswered),
        voicemail: n(CallOutcome::Voicemail),
        abandoned: n(CallOutcome::Abandoned),
        blacklisted: n(CallOutcome::Blacklisted),
        welcome_closed: n(CallOutcome::WelcomeClosed),
        categories: share_list(vec![
            ("queued".into(), "Entrate in coda".into(), queued),
            (
                "welcome_closed".into(),
                label(CallOutcome::WelcomeClosed),
                n(CallOutcome::WelcomeClosed),
            ),
            (
                "blacklisted".into(),
                label(CallOutcome::Blacklisted),
                n(CallOutcome::Blacklisted),
            ),
        ]),
        queued_split: share_list(
            [
                CallOutcome::Answered,
                CallOutcome::Abandoned,
                CallOutcome::Unanswered,
                CallOutcome::Voicemail,
            ]
            .iter()
            .map(|o| (o.as_str().to_owned(), label(*o), n(*o)))
            .collect(),
        ),
        previous_total,
        change_percent: change(total, previous_total),
    };
    let talk_average = if talk_n > 0 {
        (talk_total as f64 / talk_n as f64).round() as i64
    } else {
        0
    };
    let times = TimesSection {
        talk_total_secs: talk_total,
        talk_total: hms(talk_total),
        calls_with_talk: talk_n,
        talk_average_secs: talk_average,
        talk_average: ms(talk_average),
        wait_average_secs: if wait_n > 0 {
            (wait_total as f64 / wait_n as f64).round() as i64
        } else {
            0
        },
    };

    let mut chats_by_hour = Grid::hours();
    let mut chats_by_band = Grid::bands();
    let (mut app, mut site, mut b20, mut b60, mut over, mut none) = (0, 0, 0, 0, 0, 0);
    for (at, channel, frt) in chats {
        match channel {
            ChatChannel::App => app += 1,
            ChatChannel::Site => site += 1,
        }
        match frt {
            Some(s) if *s <= 20 => b20 += 1,
            Some(s) if *s <= 60 => b60 += 1,
            Some(_) => over += 1,
            None => none += 1,
        }
        let l = local(*at);
        let wd = l.weekday().num_days_from_monday() as usize;
        chats_by_hour.add(l.hour() as usize, wd);
        chats_by_band.add(l.hour() as usize / 4, wd);
        per_day.entry(l.date()).or_default().1 += 1;
    }
    chats_by_hour.finish();
    chats_by_band.finish();
    let chats_section = ChatsSection {
        total: app + site,
        app,
        site,
        first_response: share_list(vec![
            ("within_20s".into(), "Entro i 20 secondi".into(), b20),
            ("within_60s".into(), "Entro i 60 secondi".into(), b60),
            ("over_60s".into(), "Oltre i 60 secondi".into(), over),
        ]),
        no_response: none,
    };

    for c in contacts {
        per_day.entry(local(c.contacted_at).date()).or_default().2 += 1;
    }
    let contacts_section = contacts_of(contacts, region_name);
    let mut atr_ids: Vec<&str> = contacts.iter().filter_map(|c| c.atr.as_deref()).collect();
    atr_ids.sort();
    atr_ids.dedup();
    let atr = atr_ids
        .into_iter()
        .map(|id| {
            let mine: Vec<ContactFacts> = contacts
                .iter()
                .filter(|c| c.atr.as_deref() == Some(id))
                .cloned()
                .collect();
            let s = contacts_of(&mine, region_name);
            let mut reasons = s.phone_reasons.valid_reasons.clone();
            reasons.extend(s.phone_reasons.invalid_reasons.clone());
            AtrSection {
                atr: id.to_owned(),
                records: s.records,
                victims: s.victims,
                referrals_total: s.referrals_total,
                reasons,
            }
        })
        .collect();

    let mut series = Vec::new();
    let mut day = from;
    while day <= to {
        let (calls, chats, contacts) = per_day.get(&day).copied().unwrap_or_default();
        series.push(DayCount {
            day,
            calls,
            chats,
            contacts,
        });
        day = match day.succ_opt() {
            Some(d) => d,
            None => break,
        };
    }
    let peak = series.iter().max_by_key(|d| (d.calls, std::cmp::Reverse(d.day)));
    let net: i64 = series.iter().map(|d| d.calls).sum();
    let days = DaysSection {
        days: days_n,
        daily_average: if days_n > 0 {
            (net as f64 * 10.0 / days_n as f64).round() / 10.0
        } else {
            0.0
        },
        peak_day: peak.filter(|p| p.calls > 0).map(|p| p.day),
        peak_calls: peak.map(|p| p.calls).unwrap_or(0),
        series,
    };
    Report {
        from,
        to,
        previous_from,
        previous_to,
        calls: calls_section,
        times,
        calls_by_hour,
        calls_by_band,
        days,
        chats: chats_section,
        chats_by_hour,
        chats_by_band,
        outgoing_calls: outgoing,
        contacts: contacts_section,
        atr,
    }
}

fn counted<T: Ord + Copy>(items: impl Iterator<Item = T>) -> BTreeMap<T, i64> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m
}

fn vocab_shares<T: Ord + Copy>(m: &BTreeMap<T, i64>, code: impl Fn(T) -> (String, String)) -> Vec<Share> {
    let mut items: Vec<(String, String, i64)> = m
        .iter()
        .map(|(k, v)| {
            let (c, l) = code(*k);
            (c, l, *v)
        })
        .collect();
    items.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    share_list(items)
}

fn reasons(contacts: &[&ContactFacts]) -> ReasonSplit {
    let with: Vec<ContactReason> = contacts.iter().filter_map(|c| c.reason).collect();
    let valid = with.iter().filter(|r| r.is_valid()).count() as i64;
    let invalid = with.len() as i64 - valid;
    let it = |r: ContactReason| (r.as_str().to_owned(), r.label(crate::domain::Lang::It).to_owned());
    ReasonSplit {
        with_reason: with.len() as i64,
        valid,
        invalid,
        valid_percent: shares(&[valid, invalid])[0],
        valid_reasons: vocab_shares(&counted(with.iter().copied().filter(|r| r.is_valid())), it),
        invalid_reasons: vocab_shares(&counted(with.iter().copied().filter(|r| !r.is_valid())), it),
    }
}

fn contacts_of(contacts: &[ContactFacts], region_name: &dyn Fn(&str) -> String) -> ContactsSection {
    let it = crate::domain::Lang::It;
    let who = counted(contacts.iter().filter_map(|c| c.who));
    let regions = counted(contacts.iter().filter_map(|c| c.region.as_deref()));
    let learned = counted(contacts.iter().filter_map(|c| c.learned_from));
    let referrals = counted(contacts.iter().flat_map(|c| c.referrals.iter().copied()));
    let phone: Vec<&ContactFacts> = contacts.iter().filter(|c| c.channel == ContactChannel::Phone).collect();
    let chat: Vec<&ContactFacts> = contacts.iter().filter(|c| c.channel != ContactChannel::Phone).collect();
    ContactsSection {
        records: contacts.len() as i64,
        victims: who.get(&Contacter::Victim).copied().unwrap_or(0),
        first_contacts: contacts.iter().filter(|c| c.first_contact == Some(true)).count() as i64,
        repeat_contacts: contacts.iter().filter(|c| c.first_contact == Some(false)).count() as i64,
        who: vocab_shares(&who, |w| (w.as_str().to_owned(), w.label(it).to_owned())),
        regions: vocab_shares(&regions, |r| (r.to_owned(), region_name(r))),
        phone_reasons: reasons(&phone),
        chat_reasons: reasons(&chat),
        learned_from: vocab_shares(&learned, |l| (l.as_str().to_owned(), l.label(it).to_owned())),
        referrals_total: referrals.values().sum(),
        referrals: vocab_shares(&referrals, |r| (r.as_str().to_owned(), r.label(it).to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_reproduces_the_published_tables() {
        // Seed 000, section 4, table 1: 16,5 where rounding alone gives 16,6.
        assert_eq!(
            shares(&[2757, 1747, 7978, 9203, 8749, 6036]),
            vec![7.6, 4.8, 21.9, 25.2, 24.0, 16.5]
        );
        assert_eq!(shares(&[16020, 1827, 1027, 73]), vec![84.6, 9.6, 5.4, 0.4]);
        assert_eq!(shares(&[1, 1, 1]), vec![33.4, 33.3, 33.3]);
        assert_eq!(shares(&[0, 0]), vec![0.0, 0.0]);
        assert_eq!(hms(5_957_696), "1.654h 54m 56s");
        assert_eq!(ms(381), "06m 21s");
        assert_eq!(change(36_470, 34_620), Some(5.3));
    }

    #[test]
    fn the_previous_period_is_as_many_months_or_days() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("test value");
        assert_eq!(
            previous(d(2025, 9, 1), d(2025, 11, 30)),
            (d(2025, 6, 1), d(2025, 8, 31))
        );
        assert_eq!(
            previous(d(2025, 9, 10), d(2025, 9, 19)),
            (d(2025, 8, 31), d(2025, 9, 9))
        );
    }
}
