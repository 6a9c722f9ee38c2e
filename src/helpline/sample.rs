//! A switchboard and chat log built from seed 000's published September–November 2025 figures
//! (the tables of sections 1–7), written in Asterisk's and the simple chat CSV's formats: for the
//! tests (the report must give the published tables back) and the benchmark. Where the seed
//! publishes only charts (calls by single hour), each 4-hour cell is spread evenly over its hours.

use chrono::{Duration, NaiveDate, TimeZone};

use crate::clock::ROME;

/// Section 4, table 1: calls by 4-hour band (rows) and weekday (Monday first).
pub const CALL_BANDS: [[i64; 7]; 6] = [
    [335, 399, 289, 289, 527, 378, 540],
    [284, 242, 242, 392, 225, 207, 155],
    [1365, 1187, 1109, 1207, 1136, 1138, 836],
    [1494, 1166, 1366, 1311, 1385, 1246, 1235],
    [1345, 1250, 1291, 1271, 1168, 1304, 1120],
    [757, 914, 846, 985, 1003, 800, 731],
];

/// Section 7, table 1: chats by 4-hour band and weekday.
pub const CHAT_BANDS: [[i64; 7]; 6] = [
    [149, 139, 136, 120, 138, 127, 123],
    [69, 73, 58, 58, 46, 58, 73],
    [164, 167, 145, 166, 139, 151, 141],
    [207, 212, 201, 178, 190, 253, 222],
    [207, 235, 215, 211, 214, 210, 233],
    [286, 315, 224, 272, 250, 214, 257],
];

/// Section 1.
pub const ANSWERED: usize = 16_020;
pub const UNANSWERED: usize = 1_027;
pub const VOICEMAIL: usize = 73;
pub const ABANDONED: usize = 1_827;
pub const BLACKLISTED: usize = 7_303;
pub const WELCOME_CLOSED: usize = 10_220;
pub const PREVIOUS_TOTAL: usize = 34_620;
/// Section 2: 1.654h 54m 56s over the answered calls with a talk time (06m 21s each).
pub const TALK_TOTAL: i64 = 5_957_696;
pub const CALLS_WITH_TALK: usize = 15_637;
/// Section 3.
pub const WAIT_AVERAGE: i64 = 50;
/// Section 5.
pub const CHATS_APP: usize = 889;
pub const CHATS_SITE: usize = 6_357;
/// Section 6.
pub const CHATS_20: usize = 5_869;
pub const CHATS_60: usize = 1_015;
pub const CHATS_OVER: usize = 362;
/// Section 8.
pub const OUTGOING: usize = 163;
/// Section 4: the peak on 25 November ("quasi 800" calls, blacklist left out): the calls of
/// that day, blacklisted included.
pub const PEAK_DAY_CALLS: i64 = 960;

/// The generated logs.
pub struct Logs {
    pub master_csv: String,
    pub queue_log: String,
    pub chats_csv: String,
}

/// A small deterministic generator (no dependency on the seed of `rand`).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Answered,
    Unanswered,
    Voicemail,
    Abandoned,
    Blacklisted,
    Welcome,
}

/// Rome wall-clock slots (day, hour) for a weekday × band table over the 13 weeks from
/// 1 September 2025 (a Monday), with `peak` calls on 25 November when given.
fn slots(table: &[[i64; 7]; 6], peak: Option<i64>) -> Vec<(NaiveDate, u32)> {
    let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap_or_default();
    let peak_day = NaiveDate::from_ymd_opt(2025, 11, 25).unwrap_or_default();
    let mut out = Vec::new();
    for wd in 0..7 {
        let weekday_total: i64 = table.iter().map(|r| r[wd]).sum();
        let dates: Vec<NaiveDate> = (0..13).map(|w| start + Duration::days(w * 7 + wd as i64)).collect();
        let ordinary: Vec<NaiveDate> = dates
            .iter()
            .copied()
            .filter(|d| peak.is_none() || *d != peak_day)
            .collect();
        let (mut i, mut k) = (0i64, 0usize);
        for (band, row) in table.iter().enumerate() {
            for n in 0..row[wd] {
                let hour = band as u32 * 4 + (n % 4) as u32;
                let target = peak.filter(|_| dates.contains(&peak_day)).unwrap_or(0);
                let to_peak = target > 0 && (i + 1) * target / weekday_total > i * target / weekday_total;
                let day = if to_peak {
                    peak_day
                } else {
                    k += 1;
                    ordinary[k % ordinary.len()]
                };
                out.push((day, hour));
                i += 1;
            }
        }
    }
    out
}

fn utc(day: NaiveDate, hour: u32, sec: u32) -> chrono::DateTime<chrono::Utc> {
    let local = day.and_hms_opt(hour, sec / 60 % 60, sec % 60).unwrap_or_default();
    ROME.from_local_datetime(&local)
        .earliest()
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

fn cdr_line(out: &mut String, uid: &str, ctx: &str, at: chrono::DateTime<chrono::Utc>, billsec: i64) {
    let t = at.format("%Y-%m-%d %H:%M:%S");
    out.push_str(&format!(
        "\"\",\"anonymous\",\"1522\",\"{ctx}\",\"\",\"SIP/trunk-0001\",\"\",\"Queue\",\"1522\",\"{t}\",\"{t}\",\"{t}\",{},{billsec},\"ANSWERED\",\"DOCUMENTATION\",\"{uid}\",\"\"\n",
        billsec + 30
    ));
}

/// The quarter's logs (and, with `previous`, the 34,620 calls of June–August 2025).
pub fn quarter(previous: bool) -> Logs {
    let mut rng = Lcg(1522);
    let mut kinds = Vec::with_capacity(36_470);
    for (k, n) in [
        (Kind::Answered, ANSWERED),
        (Kind::Unanswered, UNANSWERED),
        (Kind::Voicemail, VOICEMAIL),
        (Kind::Abandoned, ABANDONED),
        (Kind::Blacklisted, BLACKLISTED),
        (Kind::Welcome, WELCOME_CLOSED),
    ] {
        kinds.extend(std::iter::repeat_n(k, n));
    }
    rng.shuffle(&mut kinds);
    let call_slots = slots(&CALL_BANDS, Some(PEAK_DAY_CALLS));
    let mut master = String::with_capacity(8 << 20);
    let mut queue = String::with_capacity(8 << 20);
    let base_talk = TALK_TOTAL / CALLS_WITH_TALK as i64;
    let mut short = TALK_TOTAL - base_talk * CALLS_WITH_TALK as i64; // seconds to add
    let mut answered = 0usize;
    for (i, ((day, hour), kind)) in call_slots.iter().zip(kinds).enumerate() {
        let at = utc(*day, *hour, (i as u32 * 37) % 3600);
        let uid = format!("1522-{}.{i}", at.timestamp());
        let e = at.timestamp() + 20;
        let ctx = if kind == Kind::Blacklisted {
            "blacklist"
        } else {
            "ivr-1522"
        };
        let mut billsec = 0;
        match kind {
            Kind::Answered => {
                // Pairs around the averages keep the sums exact.
                let j = answered as i64;
                let swing = if j % 2 == 0 { j % 40 } else { -((j - 1) % 40) };
                let wait = WAIT_AVERAGE + swing;
                queue.push_str(&format!("{e}|{uid}|1522|NONE|ENTERQUEUE||anonymous|1\n"));
                queue.push_str(&format!(
                    "{}|{uid}|1522|SIP/op{}|CONNECT|{wait}|{uid}|3\n",
                    e + wait,
                    j % 30
                ));
                if answered < CALLS_WITH_TALK {
                    let tswing = if j + 1 == CALLS_WITH_TALK as i64 && j % 2 == 0 {
                        0
                    } else if j % 2 == 0 {
                        j % 300
                    } else {
                        -((j - 1) % 300)
                    };
                    let mut talk = base_talk + tswing;
                    if short > 0 {
                        talk += 1;
                        short -= 1;
                    }
                    billsec = talk;
                    queue.push_str(&format!(
                        "{}|{uid}|1522|SIP/op{}|COMPLETECALLER|{wait}|{talk}|1\n",
                        e + wait + talk,
                        j % 30
                    ));
                }
                answered += 1;
            }
            Kind::Abandoned => {
                queue.push_str(&format!("{e}|{uid}|1522|NONE|ENTERQUEUE||anonymous|1\n"));
                queue.push_str(&format!("{}|{uid}|1522|NONE|ABANDON|1|1|40\n", e + 40));
            }
            Kind::Voicemail => {
                queue.push_str(&format!("{e}|{uid}|1522|NONE|ENTERQUEUE||anonymous|1\n"));
                queue.push_str(&format!("{}|{uid}|1522|NONE|EXITWITHKEY|9|1|1|60\n", e + 60));
            }
            Kind::Unanswered => {
                queue.push_str(&format!("{e}|{uid}|1522|NONE|ENTERQUEUE||anonymous|1\n"));
                queue.push_str(&format!("{}|{uid}|1522|NONE|EXITWITHTIMEOUT|1|1|300\n", e + 300));
            }
            Kind::Blacklisted | Kind::Welcome => {}
        }
        cdr_line(&mut master, &uid, ctx, at, billsec);
    }
    // Section 8: the operators' calls to the network, weekdays at 10–11.
    let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap_or_default();
    for i in 0..OUTGOING {
        let day = start + Duration::days((i as i64 * 7 / 5) % 91);
        let at = utc(day, 10, (i as u32 * 13) % 3600);
        cdr_line(
            &mut master,
            &format!("out-{}.{i}", at.timestamp()),
            "from-internal",
            at,
            240,
        );
    }
    if previous {
        let first = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap_or_default();
        for i in 0..PREVIOUS_TOTAL {
            let day = first + Duration::days((i % 92) as i64);
            let at = utc(day, (i / 92 % 24) as u32, (i as u32 * 7) % 3600);
            cdr_line(&mut master, &format!("prev-{}.{i}", at.timestamp()), "ivr-1522", at, 0);
        }
    }

    let mut chat_kinds: Vec<(bool, i64)> = Vec::with_capacity(7_246);
    for i in 0..CHATS_20 + CHATS_60 + CHATS_OVER {
        let frt = if i < CHATS_20 {
            5 + (i as i64 % 16)
        } else if i < CHATS_20 + CHATS_60 {
            21 + (i as i64 % 40)
        } else {
            61 + (i as i64 % 240)
        };
        chat_kinds.push((false, frt));
    }
    rng.shuffle(&mut chat_kinds);
    for c in chat_kinds.iter_mut().take(CHATS_APP) {
        c.0 = true;
    }
    rng.shuffle(&mut chat_kinds);
    let mut chats = String::from("started_at,channel,first_response_seconds,id\n");
    for (i, ((day, hour), (app, frt))) in slots(&CHAT_BANDS, None).iter().zip(chat_kinds).enumerate() {
        let at = utc(*day, *hour, (i as u32 * 53) % 3600).with_timezone(&ROME);
        chats.push_str(&format!(
            "{},{},{frt},c{i}\n",
            at.to_rfc3339(),
            if app { "app" } else { "site" }
        ));
    }
    Logs {
        master_csv: master,
        queue_log: queue,
        chats_csv: chats,
    }
}
