//! Asterisk's own logs, read as written: `cdr_csv`'s `Master.csv` (no header; accountcode, src,
//! dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration,
//! billsec, disposition, amaflags, then uniqueid and userfield when enabled) and the
//! pipe-separated `queue_log` (`epoch|callid|queue|agent|event|data1|data2|…`).
//!
//! One call, one outcome, whatever the order of its lines: the facts of a call are gathered
//! first and decided at the end. Nothing of the caller (number, name) is kept.

use std::collections::HashMap;
use std::io::{BufRead, Read};

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::vocab::{CallDirection, CallOutcome};

/// How to read the switchboard's logs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The zone `start` is written in; `None`: UTC (`usegmtime=yes`).
    pub cdr_timezone: Option<Tz>,
    /// The destination context of blacklisted numbers.
    pub blacklist_context: String,
    /// The context of the operators' outgoing calls to the network.
    pub outgoing_context: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cdr_timezone: None,
            blacklist_context: "blacklist".into(),
            outgoing_context: "from-internal".into(),
        }
    }
}

/// A line that could not be read, by its number in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub file: &'static str,
    pub line: u64,
    pub reason: String,
}

/// A call as decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub uniqueid: String,
    pub direction: CallDirection,
    /// UTC.
    pub started_at: NaiveDateTime,
    pub outcome: CallOutcome,
    pub wait_secs: Option<i32>,
    pub talk_secs: Option<i32>,
}

/// What the CDR says of a call (several lines may share a uniqueid: one per leg).
#[derive(Debug, Default)]
struct CdrFacts {
    /// The start, or the two readings of a local time the DST change made ambiguous.
    start: Option<(NaiveDateTime, Option<NaiveDateTime>)>,
    blacklisted: bool,
    outgoing: bool,
    billsec: i64,
}

/// What the queue log says of a call.
#[derive(Debug, Default)]
struct QueueFacts {
    first_epoch: Option<i64>,
    entered: bool,
    connect_wait: Option<i64>,
    talk: Option<i64>,
    transfer_talk: Option<i64>,
    abandoned: bool,
    voicemail: bool,
    timed_out: bool,
}

/// The logs read so far.
#[derive(Debug, Default)]
pub struct Reader {
    cdr: HashMap<String, CdrFacts>,
    queue: HashMap<String, QueueFacts>,
    pub bad: Vec<BadLine>,
}

fn parse_start(text: &str, tz: Option<Tz>) -> Result<(NaiveDateTime, Option<NaiveDateTime>), String> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .map_err(|_| format!("start {text:?} is not YYYY-MM-DD HH:MM:SS"))?;
    let Some(tz) = tz else { return Ok((naive, None)) };
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => Ok((d.naive_utc(), None)),
        LocalResult::Ambiguous(a, b) => Ok((a.naive_utc(), Some(b.naive_utc()))),
        LocalResult::None => Err(format!(
            "start {text:?} does not exist in {tz} (the clocks went forward)"
        )),
    }
}

fn int(v: Option<&str>, what: &str) -> Result<i64, String> {
    let v = v.unwrap_or("").trim();
    v.parse::<i64>()
        .ok()
        .filter(|n| (0..=86_400 * 7).contains(n))
        .ok_or_else(|| format!("{what} {v:?} is not a number of seconds"))
}

impl Reader {
    /// Reads a `Master.csv`; `progress` is told the bytes read so far.
    pub fn read_cdr<R: Read>(&mut self, input: R, opts: &Options, progress: &mut dyn FnMut(u64)) {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::StringRecord::new();
        loop {
            let line = csv.position().line();
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    self.bad.push(BadLine {
                        file: "cdr",
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
            if let Err(reason) = self.cdr_record(&record, opts) {
                self.bad.push(BadLine {
                    file: "cdr",
                    line,
                    reason,
                });
            }
        }
        progress(csv.position().byte());
    }

    fn cdr_record(&mut self, r: &csv::StringRecord, opts: &Options) -> Result<(), String> {
        if r.len() < 17 {
            return Err(format!(
                "{} fields: a CDR line has 16 and then the uniqueid (enable it in cdr.conf)",
                r.len()
            ));
        }
        let uniqueid = r.get(16).unwrap_or("").trim();
        if uniqueid.is_empty() || uniqueid.len() > 150 || uniqueid.chars().any(char::is_control) {
            return Err("no usable uniqueid".into());
        }
        let start = parse_start(r.get(9).unwrap_or(""), opts.cdr_timezone)?;
        if start.0.and_utc().timestamp() < 946_684_800 || start.0.and_utc().timestamp() > 4_102_444_800 {
            return Err("start is out of range".into());
        }
        let billsec = int(r.get(13), "billsec")?;
        let dcontext = r.get(3).unwrap_or("").trim();
        let facts = self.cdr.entry(uniqueid.to_owned()).or_default();
        facts.start = Some(match facts.start {
            Some(s) if s.0 <= start.0 => s,
            _ => start,
        });
        facts.blacklisted |= dcontext == opts.blacklist_context;
        facts.outgoing |= dcontext == opts.outgoing_context;
        facts.billsec = facts.billsec.max(billsec);
        Ok(())
    }

    /// Reads a `queue_log`; `progress` is told the bytes read so far.
    pub fn read_queue_log<R: BufRead>(&mut self, mut input: R, progress: &mut dyn FnMut(u64)) {
        let mut line_no = 0u64;
        let mut bytes = 0u64;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match input.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(n) => bytes += n as u64,
                Err(e) => {
                    self.bad.push(BadLine {
                        file: "queue_log",
                        line: line_no + 1,
                        reason: e.to_string(),
                    });
                    break;
                }
            }
            line_no += 1;
            if line_no.is_multiple_of(4096) {
                progress(bytes);
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                self.bad.push(BadLine {
                    file: "queue_log",
                    line: line_no,
                    reason: "not UTF-8".into(),
                });
                continue;
            };
            let text = text.trim_end_matches(['\r', '\n']);
            if text.trim().is_empty() {
                continue;
            }
            if let Err(reason) = self.queue_line(text) {
                self.bad.push(BadLine {
                    file: "queue_log",
                    line: line_no,
                    reason,
                });
            }
        }
        progress(bytes);
    }

    fn queue_line(&mut self, text: &str) -> Result<(), String> {
        let f: Vec<&str> = text.split('|').collect();
        if f.len() < 5 {
            return Err(format!(
                "{} fields: a queue_log line has epoch|callid|queue|agent|event",
                f.len()
            ));
        }
        let epoch: i64 = f[0]
            .trim()
            .parse()
            .ok()
            .filter(|e| (946_684_800..4_102_444_800).contains(e))
            .ok_or_else(|| format!("epoch {:?} is not a Unix time", f[0]))?;
        let callid = f[1].trim();
        let event = f[4].trim();
        if callid.is_empty() || callid == "NONE" || callid.chars().any(char::is_control) {
            return Ok(()); // queue and member events (QUEUESTART, ADDMEMBER, PAUSE…)
        }
        let data = |i: usize| f.get(4 + i).copied();
        let facts = self.queue.entry(callid.to_owned()).or_default();
        facts.first_epoch = Some(facts.first_epoch.map_or(epoch, |e| e.min(epoch)));
        match event {
            "ENTERQUEUE" => facts.entered = true,
            "CONNECT" => {
                facts.entered = true;
                facts.connect_wait = Some(int(data(1), "holdtime")?);
            }
            "COMPLETECALLER" | "COMPLETEAGENT" => facts.talk = Some(int(data(2), "calltime")?),
            "ATTENDEDTRANSFER" | "BLINDTRANSFER" | "TRANSFER" => facts.transfer_talk = Some(int(data(4), "calltime")?),
            "ABANDON" => facts.abandoned = true,
            "EXITWITHKEY" => facts.voicemail = true,
            "EXITWITHTIMEOUT" | "EXITEMPTY" => facts.timed_out = true,
            _ => {}
        }
        Ok(())
    }

    /// The calls decided, and the number of queue_log calls without a CDR line (skipped: the
    /// CDR is the list of calls; a later file may bring them).
    pub fn finish(self) -> (Vec<Call>, usize, Vec<BadLine>) {
        let Reader { cdr, mut queue, bad } = self;
        let mut calls = Vec::with_capacity(cdr.len());
        for (uniqueid, c) in cdr {
            let q = queue.remove(&uniqueid).unwrap_or_default();
            let Some((first, second)) = c.start else { continue };
            // A local time the clocks went back over: the reading before the queue entry.
            let started_at = match (second, q.first_epoch) {
                (Some(later), Some(e)) if later.and_utc().timestamp() <= e => later,
                _ => first,
            };
            let secs = |v: i64| i32::try_from(v).ok();
            let (direction, outcome, wait, talk) = if c.outgoing {
                (CallDirection::Outgoing, CallOutcome::Outgoing, None, secs(c.billsec))
            } else if c.blacklisted {
                (CallDirection::Incoming, CallOutcome::Blacklisted, None, None)
            } else if let Some(w) = q.connect_wait {
                (
                    CallDirection::Incoming,
                    CallOutcome::Answered,
                    secs(w),
                    q.talk.or(q.transfer_talk).and_then(secs),
                )
            } else if q.voicemail {
                (CallDirection::Incoming, CallOutcome::Voicemail, None, None)
            } else if q.abandoned {
                (CallDirection::Incoming, CallOutcome::Abandoned, None, None)
            } else if q.entered || q.timed_out {
                (CallDirection::Incoming, CallOutcome::Unanswered, None, None)
            } else {
                (CallDirection::Incoming, CallOutcome::WelcomeClosed, None, None)
            };
            calls.push(Call {
                uniqueid,
                direction,
                started_at,
                outcome,
                wait_secs: wait,
                talk_secs: talk,
            });
        }
        calls.sort_by(|a, b| (a.started_at, &a.uniqueid).cmp(&(b.started_at, &b.uniqueid)));
        (calls, queue.len(), bad)
    }
}

/// A UTC instant as a CDR `start` (for the sample data).
pub fn cdr_time(at: DateTime<chrono::Utc>, tz: Option<Tz>) -> String {
    match tz {
        Some(tz) => at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => at.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(cdr: &str, queue: &str, opts: &Options) -> (Vec<Call>, usize, Vec<BadLine>) {
        let mut r = Reader::default();
        r.read_cdr(cdr.as_bytes(), opts, &mut |_| {});
        r.read_queue_log(queue.as_bytes(), &mut |_| {});
        r.finish()
    }

    fn line(uid: &str, ctx: &str, start: &str) -> String {
        format!("\"\",\"3331234567\",\"1522\",\"{ctx}\",\"\",\"SIP/x\",\"\",\"Queue\",\"\",\"{start}\",\"\",\"{start}\",30,0,\"ANSWERED\",\"DOCUMENTATION\",\"{uid}\",\"\"\n")
    }

    #[test]
    fn each_rule_gives_one_outcome_whatever_the_order() {
        let cdr = [
            line("a.1", "ivr", "2025-09-01 08:00:00"),
            line("b.2", "ivr", "2025-09-01 08:01:00"),
            line("c.3", "blacklist", "2025-09-01 08:02:00"),
            line("d.4", "ivr", "2025-09-01 08:03:00"),
            line("e.5", "ivr", "2025-09-01 08:04:00"),
            line("f.6", "ivr", "2025-09-01 08:05:00"),
            line("g.7", "from-internal", "2025-09-01 08:06:00"),
        ]
        .concat();
        // Out of order on purpose: completions before connects.
        let queue = "1756713700|a.1|q|SIP/op1|COMPLETECALLER|12|381|1\n\
                     1756713600|a.1|q|NONE|ENTERQUEUE||3331234567|1\n\
                     1756713650|a.1|q|SIP/op1|CONNECT|50|x.1|3\n\
                     1756713660|b.2|q|NONE|ABANDON|1|1|40\n\
                     1756713655|b.2|q|NONE|ENTERQUEUE||x|1\n\
                     1756713800|d.4|q|NONE|ENTERQUEUE||x|1\n\
                     1756713850|d.4|q|NONE|EXITWITHKEY|9|1|1|45\n\
                     1756713900|e.5|q|NONE|ENTERQUEUE||x|1\n\
                     1756714000|e.5|q|NONE|EXITWITHTIMEOUT|1|1|100\n\
                     garbage line\n\
                     1756714000|z.9|q|NONE|ENTERQUEUE||x|1\n";
        let (calls, orphans, bad) = read(&cdr, queue, &Options::default());
        let outcome = |u: &str| calls.iter().find(|c| c.uniqueid == u).map(|c| c.outcome);
        assert_eq!(outcome("a.1"), Some(CallOutcome::Answered));
        let a = calls.iter().find(|c| c.uniqueid == "a.1").expect("test value");
        assert_eq!((a.wait_secs, a.talk_secs), (Some(50), Some(381)));
        assert_eq!(outcome("b.2"), Some(CallOutcome::Abandoned));
        assert_eq!(outcome("c.3"), Some(CallOutcome::Blacklisted));
        assert_eq!(outcome("d.4"), Some(CallOutcome::Voicemail));
        assert_eq!(outcome("e.5"), Some(CallOutcome::Unanswered));
        assert_eq!(outcome("f.6"), Some(CallOutcome::WelcomeClosed));
        assert_eq!(outcome("g.7"), Some(CallOutcome::Outgoing));
        assert_eq!(orphans, 1);
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].file, bad[0].line), ("queue_log", 10));
    }

    #[test]
    fn a_local_time_the_clocks_went_back_over_is_read_with_the_queue_log() {
        let opts = Options {
            cdr_timezone: Some(chrono_tz::Europe::Rome),
            ..Options::default()
        };
        // 26 October 2025: 02:30 Rome happens twice (00:30 and 01:30 UTC).
        let cdr = line("late.1", "ivr", "2025-10-26 02:30:00") + &line("early.1", "ivr", "2025-10-26 02:30:00");
        let late = chrono::Utc
            .with_ymd_and_hms(2025, 10, 26, 1, 30, 20)
            .single()
            .expect("test value")
            .timestamp();
        let queue = format!("{late}|late.1|q|NONE|ENTERQUEUE||x|1\n");
        let (calls, _, bad) = read(&cdr, &queue, &opts);
        assert!(bad.is_empty(), "{bad:?}");
        let at = |u: &str| calls.iter().find(|c| c.uniqueid == u).expect("test value").started_at;
        assert_eq!(at("late.1").format("%H:%M").to_string(), "01:30");
        assert_eq!(at("early.1").format("%H:%M").to_string(), "00:30");
        // 30 March 2025: 02:30 Rome never happened.
        let (_, _, bad) = read(&line("gap.1", "ivr", "2025-03-30 02:30:00"), "", &opts);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].reason.contains("went forward"), "{bad:?}");
    }
}
