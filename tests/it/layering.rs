//! The dependency rules of ARCHITECTURE.md, checked on the real crate graph.

use std::collections::{BTreeMap, BTreeSet};

/// Crates that must stay pure: no database, network, async runtime or HTTP.
const PURE: &[&str] = &[
    "duban-core",
    "duban-tabular",
    "duban-workflow",
    "duban-ledger",
    "duban-bank",
];
/// What no pure crate may depend on.
const IO_CRATES: &[&str] = &[
    "sea-orm",
    "sea-orm-migration",
    "sqlx",
    "tokio",
    "axum",
    "hyper",
    "reqwest",
    "lettre",
    "tokio-cron-scheduler",
    "tower",
    "tower-http",
];
/// Which crates may depend on sea-orm / SQL at all.
const SQL_OWNERS: &[&str] = &["duban-store", "duban-migrations"];

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::support::repo())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut g = BTreeMap::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let deps = pkg["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            // Only what ships: dev-dependencies may reach further for tests.
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        g.insert(pkg["name"].as_str().unwrap().to_string(), deps);
    }
    g
}

#[test]
fn pure_crates_do_no_io_and_only_the_store_knows_sql() {
    let g = graph();
    assert!(
        g.contains_key("duban-core")
            && g.contains_key("duban-bank")
            && g.contains_key("duban-store")
            && g.contains_key("duban-cli")
    );
    for (name, deps) in &g {
        if PURE.contains(&name.as_str()) {
            for bad in IO_CRATES {
                assert!(!deps.contains(*bad), "{name} is pure but depends on {bad}");
            }
            for dep in deps.iter().filter(|d| d.starts_with("duban-")) {
                assert!(
                    PURE.contains(&dep.as_str()),
                    "{name} is pure but depends on the shell crate {dep}"
                );
            }
        }
        if deps.contains("sea-orm") || deps.contains("sea-orm-migration") || deps.contains("sqlx") {
            assert!(
                SQL_OWNERS.contains(&name.as_str()),
                "{name} uses SQL directly; only {SQL_OWNERS:?} may"
            );
        }
    }
}

#[test]
fn dependencies_point_inward() {
    let g = graph();
    // No crate depends on the binary, and the core depends on no other duban crate.
    for (name, deps) in &g {
        assert!(
            !deps.contains("duban-cli"),
            "{name} depends on the binary crate"
        );
    }
    let core_deps: Vec<_> = g["duban-core"]
        .iter()
        .filter(|d| d.starts_with("duban-"))
        .collect();
    assert!(core_deps.is_empty(), "duban-core depends on {core_deps:?}");
    // The HTTP adapter reaches storage and the engine only through the application layer.
    for below in ["duban-store", "duban-engine", "duban-migrations"] {
        assert!(
            !g["duban-http"].contains(below),
            "duban-http depends on {below}: go through duban-app"
        );
    }
    // Neither does the command line reach the store: its use cases go through duban-app,
    // and its composition root (serve, migrate, the benchmarks) takes the database handle
    // from `duban_app::system`.
    assert!(
        !g["duban-cli"].contains("duban-store"),
        "duban-cli depends on duban-store: go through duban-app"
    );
    let cli = crate::support::repo().join("crates/duban-cli/src");
    for file in rust_files(&cli) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("duban_store"),
            "{} names duban_store: go through duban-app",
            file.display()
        );
    }
    // The application layer is the only crate above the engine besides the binary.
    for (name, deps) in &g {
        if deps.contains("duban-app") {
            assert!(
                ["duban-http", "duban-cli"].contains(&name.as_str()),
                "{name} depends on the application layer"
            );
        }
    }
}

/// The command line and the HTTP adapter take "now" from the application's clock (the
/// system clock, or `DUBAN_NOW` / a test's clock), never from the wall clock themselves;
/// only the composition root makes the system clock. Benchmarks time themselves with
/// `Instant`, which is not a date.
#[test]
fn adapters_take_the_time_from_the_clock() {
    let repo = crate::support::repo();
    let root = repo.join("crates/duban-cli/src/cmd/mod.rs");
    let wall = [
        "Utc::now(",
        "Local::now(",
        "SystemTime::now(",
        "SystemClock",
    ];
    let mut found = Vec::new();
    for dir in ["crates/duban-cli/src", "crates/duban-http/src"] {
        for file in rust_files(&repo.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests below `#[cfg(test)]` may make up their own instants.
            let shipped = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in shipped.lines().enumerate() {
                for w in wall {
                    let allowed = w == "SystemClock" && file == root;
                    if line.contains(w) && !allowed && !line.trim_start().starts_with("//") {
                        found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "adapters read the wall clock:\n{}",
        found.join("\n")
    );
}

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}
