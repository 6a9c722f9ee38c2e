//! The rooms form a one-way graph: each module imports only modules below it, and only the HTTP
//! layer (`web`, the `api.rs` and `pages.rs` files of each room, the general pages, the OpenAPI
//! document, start-up and the command line) imports `web`. Reading the sources keeps it so.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Module ranks, bottom first: a module may import only modules of a lower rank.
const RANKS: &[(&str, u8)] = &[
    ("error", 0),
    ("clock", 0),
    ("pdf", 1),
    ("config", 0),
    ("domain", 1),
    ("db", 2),
    ("protocols", 2),
    ("crypto", 3),
    ("app", 4),
    ("audit", 5),
    ("auth", 6),
    ("helpline", 6),
    ("accounts", 7),
    ("notify", 7),
    ("roster", 8),
    ("referrals", 9),
    ("hotline", 10),
    ("persons", 10),
    ("casework", 11),
    ("placements", 12),
    ("observatory", 13),
];

/// Exported macros and the module they belong to.
const MACROS: &[(&str, &str)] = &[
    ("vocabulary", "domain"),
    ("load_skip_locked", "db"),
    ("insert_rows", "db"),
    ("on_backend", "db"),
];

/// The HTTP layer and the entry points: they may import anything.
const TOP: &[&str] = &["web", "pages", "openapi", "startup", "cli", "telemetry", "lib", "main"];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a file names through `crate::…` (comments skipped).
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let name = MACROS
                .iter()
                .find(|(m, _)| *m == name)
                .map(|(_, module)| (*module).to_owned())
                .unwrap_or(name);
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

#[test]
fn modules_import_only_downwards_and_only_the_http_layer_imports_web() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let module = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        let file_name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let http_file = TOP.contains(&module.as_str()) || file_name == "api.rs" || file_name == "pages.rs";
        if http_file {
            continue;
        }
        let Some(own) = rank(&module) else {
            problems.push(format!("{}: module `{module}` has no rank in RANKS", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        for used in imports(&text) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r < own => {}
                Some(_) => problems.push(format!(
                    "{}: `{module}` imports `{used}`, which is not below it",
                    rel.display()
                )),
                None if TOP.contains(&used.as_str()) => {
                    problems.push(format!("{}: `{module}` imports the HTTP layer `{used}`", rel.display()))
                }
                None => problems.push(format!("{}: imports unknown module `{used}`", rel.display())),
            }
        }
    }
    assert!(problems.is_empty(), "module graph violations:\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_violation() {
    let found = imports("use crate::web::Ctx;\n// crate::cli is only mentioned\nlet x = crate::vocabulary!{};");
    assert_eq!(found, BTreeSet::from(["web".to_owned(), "domain".to_owned()]));
}
