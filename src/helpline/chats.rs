//! Chats from LiveHelperChat's CSV export and from the simple documented CSV
//! (`started_at,channel,first_response_seconds`, optional `id`). Columns are found by their
//! header, case-insensitively; personal columns (name, e-mail, phone, IP, messages) are never read.

use std::io::Read;

use chrono::{DateTime, NaiveDateTime, TimeZone};
use sha2::{Digest, Sha256};

use super::switchboard::BadLine;
use super::vocab::ChatChannel;
use crate::clock::ROME;

/// A chat as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub external_id: String,
    /// UTC.
    pub started_at: NaiveDateTime,
    pub channel: ChatChannel,
    pub first_response_secs: Option<i32>,
}

const ID: &[&str] = &["id", "chat id", "chat_id"];
const START: &[&str] = &[
    "started_at",
    "chat start time",
    "start time",
    "time",
    "date",
    "created",
    "time_created",
];
const CHANNEL: &[&str] = &["channel", "department", "dep_id"];
const FIRST_RESPONSE: &[&str] = &[
    "first_response_seconds",
    "first response time",
    "first_response_time",
    "frt",
    "wait time",
    "wait_time",
];

fn column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| {
        headers
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(n))
    })
}

/// An instant: RFC 3339 with offset, a Unix time, or `YYYY-MM-DD HH:MM:SS` in Europe/Rome (as
/// LiveHelperChat shows it).
fn instant(v: &str) -> Result<NaiveDateTime, String> {
    let v = v.trim();
    let at = if let Ok(d) = DateTime::parse_from_rfc3339(v) {
        d.naive_utc()
    } else if let Ok(e) = v.parse::<i64>() {
        DateTime::from_timestamp(e, 0).ok_or("not a Unix time")?.naive_utc()
    } else {
        let naive = NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
            .map_err(|_| format!("{v:?} is not an ISO 8601 time with offset"))?;
        ROME.from_local_datetime(&naive)
            .earliest()
            .ok_or_else(|| format!("{v:?} does not exist in Europe/Rome"))?
            .naive_utc()
    };
    let ts = at.and_utc().timestamp();
    if !(946_684_800..4_102_444_800).contains(&ts) {
        return Err("the time is out of range".into());
    }
    Ok(at)
}

/// Seconds, as a number or `HH:MM:SS` / `MM:SS`; blank: none.
fn seconds(v: &str) -> Result<Option<i32>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let n = if v.contains(':') {
        v.split(':')
            .try_fold(0i64, |acc, p| p.trim().parse::<i64>().map(|p| acc * 60 + p))
    } else {
        v.parse::<i64>()
    };
    n.ok()
        .filter(|n| (0..=86_400).contains(n))
        .map(|n| Some(n as i32))
        .ok_or_else(|| format!("{v:?} is not a number of seconds"))
}

fn channel(v: &str, strict: bool) -> Result<ChatChannel, String> {
    let v = v.trim().to_lowercase();
    if let Some(c) = ChatChannel::parse(&v) {
        return Ok(c);
    }
    if strict {
        return Err(format!("channel {v:?} is not app or site"));
    }
    // A LiveHelperChat department: the app's has "app" in its name.
    if v.split(|c: char| !c.is_alphanumeric()).any(|w| w == "app") {
        Ok(ChatChannel::App)
    } else if !v.is_empty() {
        Ok(ChatChannel::Site)
    } else {
        Err("no channel".into())
    }
}

/// LiveHelperChat's XLSX export (its first sheet) as the CSV it would have been, for [`read`]:
/// a date cell as `YYYY-MM-DD HH:MM:SS` (the Rome time the export shows), a duration or
/// time-of-day cell (a wait time) as whole seconds. Line numbers stay the sheet's row numbers.
pub fn xlsx_as_csv(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not an XLSX file: {e}"))?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or("the workbook has no sheet")?
        .map_err(|e| format!("the first sheet cannot be read: {e}"))?;
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in sheet.rows() {
        out.write_record(row.iter().map(cell_text)).map_err(|e| e.to_string())?;
    }
    out.into_inner().map_err(|e| e.to_string())
}

fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            let v = d.as_f64();
            if d.is_duration() || (0.0..1.0).contains(&v) {
                return ((v * 86_400.0).round() as i64).to_string();
            }
            // Excel's serial day (1900 system): days since 1899-12-30.
            chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|base| {
                    base.checked_add_signed(chrono::Duration::milliseconds((v * 86_400_000.0).round() as i64))
                })
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default()
        }
    }
}

/// Reads a chat CSV; bad lines are reported by number and skipped.
pub fn read<R: Read>(input: R, progress: &mut dyn FnMut(u64)) -> Result<(Vec<Chat>, Vec<BadLine>), String> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = csv
        .headers()
        .map_err(|e| format!("the header cannot be read: {e}"))?
        .clone();
    let start = column(&headers, START).ok_or("no start column (started_at, or LiveHelperChat's Time)")?;
    let chan = column(&headers, CHANNEL).ok_or("no channel column (channel, or LiveHelperChat's Department)")?;
    let frt = column(&headers, FIRST_RESPONSE);
    let strict = headers
        .get(chan)
        .is_some_and(|h| h.trim().eq_ignore_ascii_case("channel"));
    let id = column(&headers, ID);
    let (mut chats, mut bad) = (Vec::new(), Vec::new());
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                bad.push(BadLine {
                    file: "chats",
                    line,
                    reason: e.to_string(),
                });
                if e.is_io_error() {
                    break;
                }
                continue;
            }
        }
        if line.is_multiple_of(4096) {
            progress(csv.position().byte());
        }
        let get = |i: usize| record.get(i).unwrap_or("");
        let parsed = (|| -> Result<Chat, String> {
            let started_at = instant(get(start))?;
            let channel = channel(get(chan), strict)?;
            let first_response_secs = match frt {
                Some(i) => seconds(get(i))?,
                None => None,
            };
            let external_id = match id.map(get).map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) if v.len() <= 100 && !v.chars().any(char::is_control) => format!("lhc:{v}"),
                Some(_) => return Err("the id is not usable".into()),
                None => {
                    let mut h = Sha256::new();
                    h.update(format!("{started_at}|{}|{first_response_secs:?}", channel.as_str()));
                    format!("csv:{}", hex::encode(&h.finalize()[..12]))
                }
            };
            Ok(Chat {
                external_id,
                started_at,
                channel,
                first_response_secs,
            })
        })();
        match parsed {
            Ok(c) => chats.push(c),
            Err(reason) => bad.push(BadLine {
                file: "chats",
                line,
                reason,
            }),
        }
    }
    progress(csv.position().byte());
    Ok((chats, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_read_and_bad_lines_are_named() {
        let simple = "started_at,channel,first_response_seconds\n\
                      2025-09-01T00:10:00+02:00,app,12\n\
                      2025-09-01T00:11:00+02:00,site,75\n\
                      yesterday,site,3\n\
                      2025-09-01T00:12:00+02:00,fax,3\n";
        let (chats, bad) = read(simple.as_bytes(), &mut |_| {}).expect("header");
        assert_eq!(chats.len(), 2, "{bad:?}");
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(chats[0].started_at.to_string(), "2025-08-31 22:10:00");
        let lhc = "ID,Name,Department,Time,Wait time,Email\n\
                   101,x,1522 App,2025-09-01 10:00:00,00:00:15,a@b\n\
                   102,y,Sito 1522,2025-09-01 10:05:00,65,c@d\n";
        let (chats, bad) = read(lhc.as_bytes(), &mut |_| {}).expect("header");
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(chats[0].channel, ChatChannel::App);
        assert_eq!(chats[0].first_response_secs, Some(15));
        assert_eq!(chats[1].channel, ChatChannel::Site);
        assert_eq!(chats[1].external_id, "lhc:102");
    }

    #[test]
    fn a_livehelperchat_xlsx_export_reads_like_its_csv() {
        // The export as a spreadsheet would hold it: the start a date cell, the wait a time cell.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let time = rust_xlsxwriter::Format::new().set_num_format("hh:mm:ss");
        for (c, h) in ["ID", "Name", "Department", "Time", "Wait time", "Email"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, c as u16, *h).expect("header");
        }
        let rows = [
            (101.0, "1522 App", "2025-09-01T10:00:00", 15.0),
            (102.0, "Sito 1522", "2025-09-01T23:30:00", 65.0),
        ];
        for (r, (id, dep, at, wait)) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            sheet.write_number(r, 0, *id).expect("id");
            sheet.write_string(r, 1, "persona").expect("name");
            sheet.write_string(r, 2, *dep).expect("department");
            let at = rust_xlsxwriter::ExcelDateTime::parse_from_str(at).expect("a time");
            sheet.write_datetime_with_format(r, 3, &at, &date).expect("time");
            sheet
                .write_number_with_format(r, 4, wait / 86_400.0, &time)
                .expect("wait");
            sheet.write_string(r, 5, "a@b.example").expect("email");
        }
        sheet.write_string(3, 0, "103").expect("id");
        sheet.write_string(3, 2, "1522 App").expect("department");
        sheet.write_string(3, 3, "ieri").expect("a bad time");
        let bytes = book.save_to_buffer().expect("xlsx");
        let csv = xlsx_as_csv(&bytes).expect("read");
        let (chats, bad) = read(csv.as_slice(), &mut |_| {}).expect("header");
        assert_eq!(chats.len(), 2, "{bad:?}");
        assert_eq!(
            bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![4],
            "the sheet's row"
        );
        assert_eq!(
            (chats[0].channel, chats[0].first_response_secs),
            (ChatChannel::App, Some(15))
        );
        // 10:00 and 23:30 Rome time in September are 08:00 and 21:30 UTC.
        assert_eq!(chats[0].started_at.to_string(), "2025-09-01 08:00:00");
        assert_eq!(chats[1].started_at.to_string(), "2025-09-01 21:30:00");
        assert_eq!(
            (chats[1].channel, chats[1].first_response_secs),
            (ChatChannel::Site, Some(65))
        );
        assert_eq!(chats[1].external_id, "lhc:102");
        assert!(xlsx_as_csv(b"ID,Time\n").is_err(), "a CSV is not a workbook");
    }
}
