//! The 1522: importing one quarter (seed 000's September–November 2025: 36,633 calls with their
//! queue events, 7,246 chats) from Asterisk's Master.csv and queue_log and the chat CSV on disk,
//! then the full report for it, PDF included. On SQLite and (with `VARCO_BENCH_DATABASE_URL`)
//! PostgreSQL. Targets: import under 5 s, report with PDF under 1 s.
//!
//! `cargo bench --bench helpline`

use std::io::BufReader;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use varco::clock::SystemClock;
use varco::config::Settings;
use varco::domain::Caller;
use varco::helpline::{chats, export, sample, service, switchboard};
use varco::startup::Application;

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench_backend(name: &str, settings: Settings, dir: &std::path::Path) {
    let logs = sample::quarter(false);
    let (cdr, queue, chat_file) = (dir.join("Master.csv"), dir.join("queue_log"), dir.join("chats.csv"));
    std::fs::write(&cdr, &logs.master_csv).expect("write");
    std::fs::write(&queue, &logs.queue_log).expect("write");
    std::fs::write(&chat_file, &logs.chats_csv).expect("write");
    actix_web::rt::System::new().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let app = Application::with_listener(settings, Arc::new(SystemClock), listener).expect("app");
        let state = app.state.clone();
        let caller = Caller::cli(varco::clock::db_now(&SystemClock));
        let t = Instant::now();
        let mut reader = switchboard::Reader::default();
        let opts = switchboard::Options::default();
        reader.read_cdr(BufReader::new(std::fs::File::open(&cdr).expect("open")), &opts, &mut |_| {});
        reader.read_queue_log(BufReader::new(std::fs::File::open(&queue).expect("open")), &mut |_| {});
        let (calls, _, bad) = reader.finish();
        assert!(bad.is_empty());
        let n_calls = calls.len();
        service::import_calls(&state, &caller, calls, 0).await.expect("calls");
        let (chat_list, _) =
            chats::read(BufReader::new(std::fs::File::open(&chat_file).expect("open")), &mut |_| {}).expect("chats");
        let n_chats = chat_list.len();
        service::import_chats(&state, &caller, chat_list, 0).await.expect("chats");
        let import = t.elapsed();
        let t = Instant::now();
        let from = NaiveDate::from_ymd_opt(2025, 9, 1).expect("date");
        let to = NaiveDate::from_ymd_opt(2025, 11, 30).expect("date");
        let report = service::report(&state, &caller, from, to, "pdf").await.expect("report");
        let pdf = export::render(&report, export::Format::Pdf).expect("pdf");
        let full = t.elapsed();
        assert_eq!(report.calls.total, 36_470);
        println!(
            "\n{name}\n  import of {n_calls} calls ({} queue_log lines) and {n_chats} chats: {:.2} s (target < 5 s)\n  report Sept–Nov 2025 with its PDF ({} KB): {:.0} ms (target < 1 s)",
            logs.queue_log.lines().count(),
            import.as_secs_f64(),
            pdf.len() / 1024,
            full.as_secs_f64() * 1000.0
        );
        actix_web::rt::System::current().stop();
    });
}

fn main() {
    // The logs are written to files of their own, as a switchboard would leave them.
    let logs = tempfile::tempdir().expect("temp dir");
    support::on_each_backend("1522", "1522", |name, settings| {
        bench_backend(name, settings, logs.path())
    });
}
