//! `cargo xtask fuzz`: every cargo-fuzz target in `fuzz/` for a while each, with the committed
//! seeds, reporting how many inputs each ran and stopping at the first crash.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// What one target's run told.
struct Outcome {
    target: String,
    runs: u64,
    seconds: f64,
    crashed: bool,
}

pub fn fuzz(root: &Path, cargo: &OsString, args: &[OsString]) -> ExitCode {
    let (seconds, only) = match parse(args) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("xtask fuzz: {why}\nusage: cargo xtask fuzz [--seconds N] [target...]");
            return ExitCode::FAILURE;
        }
    };
    let fuzz_dir = root.join("fuzz");
    let targets = match list_targets(&fuzz_dir) {
        Ok(all) if only.is_empty() => all,
        Ok(all) => match only.iter().find(|t| !all.contains(t)) {
            Some(unknown) => {
                eprintln!(
                    "xtask fuzz: no target {unknown:?}; targets: {}",
                    all.join(", ")
                );
                return ExitCode::FAILURE;
            }
            None => only,
        },
        Err(e) => {
            eprintln!("xtask fuzz: cannot list {}: {e}", fuzz_dir.display());
            return ExitCode::FAILURE;
        }
    };
    let has_cargo_fuzz = Command::new(cargo)
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_cargo_fuzz {
        eprintln!("xtask fuzz: cargo-fuzz is missing: `cargo install cargo-fuzz`");
        return ExitCode::FAILURE;
    }
    let mut outcomes = Vec::new();
    for target in &targets {
        match run_target(&fuzz_dir, cargo, target, seconds) {
            Ok(outcome) => {
                let crashed = outcome.crashed;
                outcomes.push(outcome);
                if crashed {
                    break;
                }
            }
            Err(e) => {
                eprintln!("xtask fuzz: {target}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    print_table(&outcomes);
    if outcomes.iter().any(|o| o.crashed) {
        eprintln!("xtask fuzz: a target crashed; its input is in fuzz/artifacts/");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn parse(args: &[OsString]) -> Result<(u64, Vec<String>), String> {
    let mut seconds = DEFAULT_SECONDS;
    let mut only = Vec::new();
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            let value = args.next().ok_or("--seconds needs a value")?;
            seconds = value
                .parse()
                .map_err(|_| format!("--seconds {value:?}: not a number"))?;
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg}"));
        } else {
            only.push(arg);
        }
    }
    Ok((seconds, only))
}

/// The targets: `fuzz/fuzz_targets/*.rs`, sorted.
fn list_targets(fuzz_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(fuzz_dir.join("fuzz_targets"))?
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Runs one target for `seconds`: new inputs go to a scratch corpus under `fuzz/target`, the
/// committed seeds (`fuzz/corpus/<target>`) are read only.
fn run_target(
    fuzz_dir: &Path,
    cargo: &OsString,
    target: &str,
    seconds: u64,
) -> std::io::Result<Outcome> {
    let scratch: PathBuf = fuzz_dir.join("target").join("corpus").join(target);
    std::fs::create_dir_all(&scratch)?;
    let seeds = fuzz_dir.join("corpus").join(target);
    let mut cmd = Command::new(cargo);
    cmd.current_dir(fuzz_dir)
        .args(["fuzz", "run", "--sanitizer", "none", target])
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    // cargo-fuzz wants nightly flags; a stable toolchain takes them this way.
    if !is_nightly(cargo) {
        cmd.env("RUSTC_BOOTSTRAP", "1");
    }
    eprintln!("xtask fuzz: {target} for {seconds} s");
    let started = Instant::now();
    let output = cmd.output()?;
    let log = String::from_utf8_lossy(&output.stderr);
    let runs = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let crashed = !output.status.success();
    if crashed {
        eprintln!("{log}");
    }
    Ok(Outcome {
        target: target.to_owned(),
        runs,
        seconds: started.elapsed().as_secs_f64(),
        crashed,
    })
}

fn is_nightly(cargo: &OsString) -> bool {
    Command::new(cargo)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"))
}

fn print_table(outcomes: &[Outcome]) {
    println!(
        "\n{:<16} {:>14} {:>10} {:>12}  result",
        "target", "inputs", "seconds", "inputs/s"
    );
    let mut total = 0;
    for o in outcomes {
        total += o.runs;
        let rate = o.runs as f64 / o.seconds.max(0.001);
        let result = if o.crashed { "CRASH" } else { "ok" };
        println!(
            "{:<16} {:>14} {:>10.1} {:>12.0}  {result}",
            o.target, o.runs, o.seconds, rate
        );
    }
    println!("{:<16} {:>14}", "total", total);
}
