//! The machine a report was produced on: CPU, cores, memory, kernel, date, commit.

use std::process::Command;

/// What the report prints about the machine; unknown fields say so.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub kernel: String,
    pub date: String,
    pub commit: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cpu: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory: field(&meminfo, "MemTotal")
                .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or_else(
                    || "unknown".into(),
                    |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
                ),
            kernel: output("uname", &["-sr"]),
            date: output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            commit: commit(),
        }
    }
}

/// The value after `key:` on the first line that starts with it.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn commit() -> String {
    let head = output("git", &["rev-parse", "--short=12", "HEAD"]);
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        format!("{head} (with uncommitted changes)")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_style_fields() {
        let text = "processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\nflags : x\n";
        assert_eq!(
            field(text, "model name").as_deref(),
            Some("Some CPU @ 2.0GHz")
        );
        assert_eq!(field(text, "MemTotal"), None);
    }
}
