//! Developer tasks for the monocoque workspace (std only): `cargo xtask <command>`.
//!
//! * `ci`: what CI runs (`.ci/run`): `lint`, then `test`.
//! * `lint`: `cargo fmt --check`, `cargo clippy --all-targets --all-features -D warnings` and
//!   `cargo doc` with warnings denied, over the whole workspace.
//! * `test`: make sure pyzmq is importable (installing it with pip if needed), run the whole
//!   workspace's tests with all features (nextest when installed), then build each transport
//!   crate with each runtime feature alone.
//!   The libzmq interop matrix (`monocoque/tests/interop_matrix.rs`) writes one row per cell into
//!   the matrix directory, which `test` empties first and prints as a table at the end.
//! * `matrix`: prints that table again (from the last run).
//! * `bench`: builds the perf tools, then `cargo run --release -p monocoque-bench --bin compare -- <args>`
//!   (throughput over tcp and ipc, latency, PUB/SUB fan-out, ROUTER <-> DEALERs, CURVE throughput
//!   and handshakes; reports and SVG charts in `target/bench-report`).
//! * `miri`: the tests of the code with `unsafe` in it under Miri (nightly toolchain).

#![forbid(unsafe_code)]

use std::env;
use std::ffi::OsString;
mod fuzz;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

const USAGE: &str = "\
usage: cargo xtask <command> [args...]

commands:
  ci               what CI runs: `lint`, then `test` (stops at the first failing step
                   of lint; test runs all its steps)
  lint             cargo fmt --all -- --check; cargo clippy --workspace --all-targets
                   --all-features -- -D warnings; cargo doc --workspace --all-features
                   --no-deps with RUSTDOCFLAGS=-D warnings
  test [args...]   ensure pyzmq is installed (python3 -m pip install pyzmq), then run
                   `cargo nextest run --workspace --all-features` (or `cargo test` when
                   cargo-nextest is missing), then build every
                   transport crate with each runtime feature alone (and, with nextest, run the
                   doctests); extra args go to the test runner (e.g. `cargo xtask test pair`);
                   prints the libzmq interop matrix (pair, our type, role, transport,
                   runtime, PASS/FAIL) at the end, whatever the outcome
  matrix           print the interop matrix table of the last test run again
  bench [args...]  build the perf tools, then `cargo run --release -p monocoque-bench --bin
                   compare -- [args...]`: PUSH/PULL throughput over tcp (16 B to 1 MiB) and
                   ipc (64 B to 64 KiB), REQ/REP latency, PUB/SUB fan-out to 1, 10 and 100
                   subscribers and ROUTER <-> 100 DEALERs of libzmq, monocoque (tokio,
                   async-std, smol; for throughput and latency also tokio current-thread and
                   smol single-thread; batched rows with `remote_thr --batch`), zmq.rs,
                   omq and monocoque-rs (eager and coalescing, tcp; throughput) and a raw
                   socket, then
                   CURVE: PUSH/PULL throughput over tcp (64 B, 1 KiB, 64 KiB) and handshakes/s
                   of monocoque, omq (throughput) and a libzmq with CURVE loaded at run time
                   ($MONOCOQUE_BENCH_LIBZMQ, else pyzmq's bundled libzmq, else libzmq.so.5; the
                   vendored one has no CURVE), with a progress bar; tables on stdout,
                   Markdown, JSON and SVG charts in target/bench-report; about 25 min
                   (`--quick`: under 4 min on 2 cores; `--plan`: the plan and its estimated
                   time only; `--scenarios throughput,latency,fanout,router,curve`,
                   `--transport tcp|ipc`, `--sizes`, `--impls`, `--runs`...;
                   `cargo xtask bench --help` lists them all)
  fuzz [--seconds N] [target...]
                   run every cargo-fuzz target in fuzz/ (or those named) for N seconds
                   each (default 60) with the committed seeds in fuzz/corpus, under
                   libFuzzer without a sanitizer (RUSTC_BOOTSTRAP=1 on a stable
                   toolchain; needs `cargo install cargo-fuzz`); prints inputs run per
                   target and stops at the first crash (its input lands in fuzz/artifacts)
  miri             the tests of the one module with `unsafe` code (monocoque-zmtp's receive
                   buffer, engine::read_buffer) under Miri: `cargo +nightly miri test -p
                   monocoque-zmtp --lib engine::read_buffer`, in target/miri (needs a nightly
                   toolchain with the miri component: `rustup toolchain install nightly
                   --component miri`)
  soak [--minutes N]
                   connection churn for N minutes per runtime (default 1): DEALERs
                   coming and going on a ROUTER, SUBs on a PUB, a PUSH reconnecting to a
                   PULL bound again; prints RSS and open descriptors (start, peak, end)
                   per runtime (`cargo run --release --example soak`)
  help             this text

environment:
  PYTHON   interpreter for the libzmq peers (default: python3); `bench` asks it only
           where pyzmq's bundled libzmq (with CURVE) is
  MONOCOQUE_BENCH_LIBZMQ
           `bench`: the libzmq with CURVE to load for the CURVE scenario
  CARGO    cargo to run (set by cargo itself)
  MONOCOQUE_MATRIX_DIR
           where the interop matrix rows go (default: <workspace>/target/interop-matrix)
";

/// Crates that must build with exactly one runtime feature.
const SINGLE_RUNTIME_CRATES: &[&str] = &[
    "monocoque-runtime",
    "monocoque-transport-tcp",
    "monocoque-transport-ipc",
];
/// The runtime features.
const RUNTIMES: &[&str] = &["tokio", "async-std", "smol"];

fn main() -> ExitCode {
    let mut args = env::args_os().skip(1);
    let Some(cmd) = args.next() else {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    };
    let rest: Vec<OsString> = args.collect();
    match cmd.to_str() {
        Some("ci") => match lint() {
            ExitCode::SUCCESS => test(&rest),
            failed => failed,
        },
        Some("lint") => lint(),
        Some("test") => test(&rest),
        Some("bench") => bench(&rest),
        Some("fuzz") => fuzz::fuzz(&workspace_root(), &cargo(), &rest),
        Some("soak") => soak(&rest),
        Some("miri") => miri(),
        Some("matrix") => {
            print_matrix(&matrix_dir());
            ExitCode::SUCCESS
        }
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("xtask: unknown command {cmd:?}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root (parent of this crate's directory).
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn python() -> String {
    env::var("PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

/// Prints and runs `cmd` in the workspace root; true when it exits with status 0.
fn run(cmd: &mut Command) -> bool {
    cmd.current_dir(workspace_root());
    eprintln!("xtask: $ {}", describe(cmd));
    match cmd.status() {
        Ok(st) if st.success() => true,
        Ok(st) => {
            eprintln!("xtask: `{}` failed: {st}", describe(cmd));
            false
        }
        Err(e) => {
            eprintln!("xtask: cannot run `{}`: {e}", describe(cmd));
            false
        }
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// True when the command runs and exits 0, with its output discarded.
fn quietly_succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pyzmq_importable(py: &str) -> bool {
    quietly_succeeds(Command::new(py).args(["-c", "import zmq"]))
}

/// Makes `import zmq` work, installing pyzmq with pip when it does not.
fn ensure_pyzmq() -> bool {
    let py = python();
    if pyzmq_importable(&py) {
        return true;
    }
    eprintln!("xtask: pyzmq not importable with {py}; installing it");
    let installed = run(Command::new(&py).args(["-m", "pip", "install", "--quiet", "pyzmq"]))
        || run(Command::new(&py).args(["-m", "pip", "install", "--quiet", "--user", "pyzmq"]));
    if installed && pyzmq_importable(&py) {
        return true;
    }
    eprintln!(
        "xtask: could not install pyzmq for {py}; the libzmq interop tests need it \
         (try `{py} -m pip install pyzmq`, or set PYTHON to an interpreter that has it)"
    );
    false
}

fn has_nextest() -> bool {
    quietly_succeeds(Command::new(cargo()).args(["nextest", "--version"]))
}

/// Formatting, clippy with warnings denied (which includes `incompatible_msrv`: each crate's
/// `rust-version` holds), and the documentation with warnings denied.
fn lint() -> ExitCode {
    let mut fmt = Command::new(cargo());
    fmt.args(["fmt", "--all", "--", "--check"]);
    let mut clippy = Command::new(cargo());
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    let mut doc = Command::new(cargo());
    doc.args(["doc", "--workspace", "--all-features", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    for step in [&mut fmt, &mut clippy, &mut doc] {
        if !run(step) {
            eprintln!("xtask: lint: `{}` failed", describe(step));
            return ExitCode::FAILURE;
        }
    }
    eprintln!("xtask: lint: fmt, clippy and doc passed");
    ExitCode::SUCCESS
}

fn test(extra: &[OsString]) -> ExitCode {
    let mut failures: Vec<String> = Vec::new();

    if !ensure_pyzmq() {
        return ExitCode::FAILURE;
    }

    // The interop matrix tests append their rows here; start from an empty table.
    let matrix = matrix_dir();
    let _ = std::fs::remove_dir_all(&matrix);
    if let Err(e) = std::fs::create_dir_all(&matrix) {
        eprintln!("xtask: cannot create {}: {e}", matrix.display());
    }

    let nextest = has_nextest();
    let mut tests = Command::new(cargo());
    if nextest {
        tests.args([
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ]);
    } else {
        eprintln!("xtask: cargo-nextest not found, using cargo test");
        tests.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
    }
    tests
        .args(extra)
        .env("MONOCOQUE_MATRIX_DIR", &matrix)
        .env("PYTHON", python());
    if !run(&mut tests) {
        failures.push(describe(&tests));
    }
    // nextest does not run doctests; run them separately (unless a test filter was given).
    if nextest && extra.is_empty() {
        let mut doc = Command::new(cargo());
        doc.args(["test", "--workspace", "--all-features", "--doc"]);
        if !run(&mut doc) {
            failures.push(describe(&doc));
        }
    }

    for krate in SINGLE_RUNTIME_CRATES {
        for rt in RUNTIMES {
            let mut build = Command::new(cargo());
            build.args([
                "build",
                "-p",
                krate,
                "--no-default-features",
                "--features",
                rt,
            ]);
            if !run(&mut build) {
                failures.push(describe(&build));
            }
        }
    }

    print_matrix(&matrix);

    if failures.is_empty() {
        eprintln!("xtask: test: all steps passed");
        ExitCode::SUCCESS
    } else {
        eprintln!("xtask: test: {} step(s) failed:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        ExitCode::FAILURE
    }
}

fn bench(args: &[OsString]) -> ExitCode {
    // Build every perf tool first, so `compare` pairs binaries from this very build.
    let mut build = Command::new(cargo());
    build
        .args(["build", "--release", "-p", "monocoque-bench", "--bins"])
        .current_dir(workspace_root());
    eprintln!("xtask: $ {}", describe(&build));
    match build.status() {
        Ok(st) if st.success() => {}
        Ok(_) => return ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: cannot run `{}`: {e}", describe(&build));
            return ExitCode::FAILURE;
        }
    }
    let mut cmd = Command::new(cargo());
    cmd.args([
        "run",
        "--release",
        "-p",
        "monocoque-bench",
        "--bin",
        "compare",
        "--",
    ])
    .args(args)
    .current_dir(workspace_root());
    eprintln!("xtask: $ {}", describe(&cmd));
    match cmd.status() {
        Ok(st) if st.success() => ExitCode::SUCCESS,
        Ok(st) => ExitCode::from(st.code().map_or(1, |c| u8::try_from(c).unwrap_or(1))),
        Err(e) => {
            eprintln!("xtask: cannot run `{}`: {e}", describe(&cmd));
            ExitCode::FAILURE
        }
    }
}

/// The tests of the code with `unsafe` in it, under Miri (its own target directory, so that
/// it never shares one with a normal build).
fn miri() -> ExitCode {
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "miri", "test", "-p", "monocoque-zmtp", "--lib"])
        .arg("engine::read_buffer")
        .env(
            "CARGO_TARGET_DIR",
            workspace_root().join("target").join("miri"),
        );
    if run(&mut cmd) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn soak(args: &[OsString]) -> ExitCode {
    let mut cmd = Command::new(cargo());
    cmd.args([
        "run",
        "--release",
        "-p",
        "monocoque",
        "--example",
        "soak",
        "--features",
        "tokio,async-std,smol",
        "--",
    ])
    .args(args)
    .current_dir(workspace_root());
    if run(&mut cmd) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Where the interop matrix rows go: `$MONOCOQUE_MATRIX_DIR`, else
/// `<workspace>/target/interop-matrix` (the tests use the same default).
fn matrix_dir() -> PathBuf {
    env::var_os("MONOCOQUE_MATRIX_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || workspace_root().join("target").join("interop-matrix"),
            PathBuf::from,
        )
}

/// Columns of a matrix row, as the tests write them (tab-separated).
const MATRIX_COLUMNS: [&str; 7] = [
    "pair",
    "ours",
    "role",
    "transport",
    "mechanism",
    "runtime",
    "result",
];

/// Prints the rows found in `dir` (every `*.tsv` file, one per test process) as a sorted,
/// aligned table with a PASS/FAIL count.
fn print_matrix(dir: &std::path::Path) {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut malformed = 0usize;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "tsv") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let cols: Vec<String> = line.split('\t').map(str::to_owned).collect();
                if cols.len() == MATRIX_COLUMNS.len() {
                    rows.push(cols);
                } else {
                    malformed += 1;
                }
            }
        }
    }
    println!();
    if rows.is_empty() {
        println!(
            "interop matrix: no cells ran (no rows in {})",
            dir.display()
        );
        return;
    }
    rows.sort();
    let mut widths = MATRIX_COLUMNS.map(str::len);
    for row in &rows {
        for (w, col) in widths.iter_mut().zip(row) {
            *w = (*w).max(col.len());
        }
    }
    let format_row = |cols: &[String]| -> String {
        let mut line = String::new();
        for (k, (col, w)) in cols.iter().zip(widths).enumerate() {
            if k + 1 == cols.len() {
                line.push_str(col);
            } else {
                line.push_str(&format!("{col:<w$}  "));
            }
        }
        line
    };
    let header: Vec<String> = MATRIX_COLUMNS.iter().map(|c| c.to_uppercase()).collect();
    println!("interop matrix (monocoque vs libzmq):");
    println!("{}", format_row(&header));
    for row in &rows {
        println!("{}", format_row(row));
    }
    let pass = rows.iter().filter(|r| r[6] == "PASS").count();
    let fail = rows.len() - pass;
    println!(
        "interop matrix: {} cells, {pass} PASS, {fail} FAIL{}",
        rows.len(),
        if malformed > 0 {
            format!(" ({malformed} malformed rows ignored)")
        } else {
            String::new()
        }
    );
    for row in rows.iter().filter(|r| r[6] != "PASS") {
        println!("  FAIL: {}", row[..6].join(" "));
    }
}
