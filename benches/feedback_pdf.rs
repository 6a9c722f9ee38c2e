//! Rendering a three-page written feedback letter to PDF (DejaVu Sans embedded and subset): the
//! time of one rendering, p50 and p99 over `VARCO_BENCH_RENDERS` runs (default 300), and the size
//! of the file. The target is under 50 ms.
//!
//! `cargo bench --bench feedback_pdf`

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use varco::casework::feedback::pdf::{render, LetterView};

// The same allocator as the service's binary (`src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let runs: usize = std::env::var("VARCO_BENCH_RENDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
        .max(10);
    let mut body = String::from("Gentili colleghe e colleghi,\n\nPerché è già così: città, più, però — € ù ò é à.\n\n");
    while body.len() < 9_000 {
        body.push_str(
            "Si relaziona l'esito dei colloqui svolti con la persona, alla presenza della mediatrice \
             linguistico-culturale, e si resta a disposizione per ogni chiarimento. ",
        );
    }
    let view = LetterView {
        unit_name: "Progetto N.A.Ve – Comune di Venezia",
        reference: "F-7K2M9QXH",
        referral_reference: "R-2345ABCD",
        date: NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"),
        recipient: "Commissione Territoriale per il riconoscimento della protezione internazionale di Verona",
        subject: "Riscontro scritto sui colloqui svolti",
        body: &body,
    };
    // The first rendering parses the font once for the process.
    let first = Instant::now();
    let r = render(&view).expect("render");
    let first = first.elapsed();
    assert_eq!(r.pages, 3, "the benchmark letter is three pages");
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let r = render(&view).expect("render");
        times.push(t.elapsed());
        size = r.bytes.len();
    }
    times.sort();
    let p50 = percentile(&times, 0.50);
    let p99 = percentile(&times, 0.99);
    println!(
        "feedback PDF, 3 pages: {runs} renders, p50 {:.2} ms, p99 {:.2} ms, first {:.2} ms (font parsed), {} KB",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3,
        size / 1024
    );
    assert!(p99 < Duration::from_millis(50), "p99 {p99:?} over the 50 ms target");
}
