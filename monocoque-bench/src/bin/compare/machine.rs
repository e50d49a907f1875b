//! What the benchmark ran on: [`Machine`].

use std::time::{SystemTime, UNIX_EPOCH};

/// The CPU, core count, kernel and start time of a benchmark.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPU model name from /proc/cpuinfo.
    pub cpu: String,
    /// Cores available to this process.
    pub cores: usize,
    /// `Linux <release>`, or the OS name elsewhere.
    pub kernel: String,
    /// Seconds since the Unix epoch when the benchmark started.
    pub unix_time: u64,
    /// The same, as `YYYY-MM-DD HH:MM:SS UTC`.
    pub date: String,
}

impl Machine {
    /// Describes this machine, now.
    pub fn detect() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.to_owned());
        let now = SystemTime::now();
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel,
            unix_time: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            date: utc_string(now),
        }
    }

    /// `cpu, N cores, kernel`.
    pub fn summary(&self) -> String {
        format!("{}, {} cores, {}", self.cpu, self.cores, self.kernel)
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC`: RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`) spelt out.
fn utc_string(t: SystemTime) -> String {
    let rfc3339 = humantime::format_rfc3339_seconds(t).to_string();
    rfc3339.replacen('T', " ", 1).replace('Z', " UTC")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        let at = |secs| utc_string(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(at(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
