//! Activation logs as the stock Docker log store collects them (spec 10.4): the lines a
//! container wrote after a run, up to the two sentinel lines (stdout and stderr), formatted
//! `"%-30s %s: %s"`, bounded by the action's log limit, with the stock notices appended when
//! something went wrong.
//!
//! [`LogCollector`] is the pure part; the caller feeds it lines from the container's log stream
//! and tells it when the stream went quiet.

use ow_compat::records::format_rfc3339_millis;

use crate::runtime::{LogLine, LogStream};

/// The line a managed runtime prints on stdout and stderr after each activation.
pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";
/// Appended when collection ended early (no sentinels, idle stream).
pub const LOG_FAILURE: &str =
    "There was an issue while collecting your logs. Data might be missing.";
/// Appended after a developer error.
pub const DEVELOPER_ERROR_WARNING: &str =
    "The action did not initialize or run as expected. Log data might be missing.";

/// The stored form of one line: the time padded to 30 characters, the stream, the text.
pub fn format_line(line: &LogLine) -> String {
    format!("{:<30} {}: {}", line.time, line.stream.as_str(), line.text)
}

/// The truncation notice for a limit of `limit_bytes`.
pub fn truncation_notice(limit_bytes: u64) -> String {
    format!(
        "Logs were truncated because the total bytes size exceeds the limit of {limit_bytes} bytes."
    )
}

/// Collects the lines of one activation.
#[derive(Debug, Clone)]
pub struct LogCollector {
    limit_bytes: u64,
    used_bytes: u64,
    sentinels: u8,
    wait_for_sentinels: bool,
    lines: Vec<String>,
    truncated: bool,
}

/// The collected lines, and whether collection failed (the stock invoker then removes the
/// container, whose log position can no longer be trusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedLogs {
    pub lines: Vec<String>,
    pub failed: bool,
}

impl LogCollector {
    /// `limit_mb` from the action's limits; `wait_for_sentinels` unless the runtime prints none
    /// or the run ended in a developer error.
    pub fn new(limit_mb: u32, wait_for_sentinels: bool) -> Self {
        Self {
            limit_bytes: u64::from(limit_mb) << 20,
            used_bytes: 0,
            sentinels: 0,
            wait_for_sentinels,
            lines: Vec::new(),
            truncated: false,
        }
    }

    /// Whether to stop once the stream has been quiet briefly instead of waiting for sentinels.
    pub fn waits_for_sentinels(&self) -> bool {
        self.wait_for_sentinels
    }

    /// Takes one line; true once the activation's output is complete (both sentinels seen, or
    /// the limit reached).
    pub fn push(&mut self, line: &LogLine, now_ms: i64) -> bool {
        if line.text.contains(SENTINEL) {
            self.sentinels = self.sentinels.saturating_add(1);
            return self.sentinels >= 2;
        }
        if self.truncated {
            return false;
        }
        let formatted = format_line(line);
        // The stock store counts each json-file line plus its newline; the formatted line is
        // the closest measure this side of the engine has.
        let size = formatted.len() as u64 + 1;
        if self.used_bytes + size > self.limit_bytes {
            self.truncated = true;
            self.lines
                .push(notice(now_ms, &truncation_notice(self.limit_bytes)));
            return !self.wait_for_sentinels;
        }
        self.used_bytes += size;
        self.lines.push(formatted);
        false
    }

    /// Ends collection. `quiet` is true when the stream went quiet (or ended) before
    /// completion: a failure when sentinels were expected. `developer_error` appends the stock
    /// warning.
    pub fn finish(mut self, quiet: bool, developer_error: bool, now_ms: i64) -> CollectedLogs {
        let incomplete = quiet && self.wait_for_sentinels && self.sentinels < 2 && !self.truncated;
        if incomplete {
            self.lines.push(notice(now_ms, LOG_FAILURE));
        }
        if developer_error {
            self.lines.push(notice(now_ms, DEVELOPER_ERROR_WARNING));
        }
        CollectedLogs {
            lines: self.lines,
            failed: incomplete || self.truncated,
        }
    }
}

fn notice(now_ms: i64, text: &str) -> String {
    format_line(&LogLine {
        time: format_rfc3339_millis(now_ms),
        stream: LogStream::Stderr,
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(stream: LogStream, text: &str) -> LogLine {
        LogLine {
            time: "2023-11-14T22:13:20.180254874Z".into(),
            stream,
            text: text.into(),
        }
    }

    #[test]
    fn lines_are_formatted_as_the_stock_log_store_does() {
        assert_eq!(
            format_line(&line(LogStream::Stdout, "Hello Dorothy")),
            "2023-11-14T22:13:20.180254874Z stdout: Hello Dorothy"
        );
        let short = LogLine {
            time: "2023-11-14T22:13:20.18Z".into(),
            ..line(LogStream::Stderr, "x")
        };
        assert_eq!(
            format_line(&short),
            "2023-11-14T22:13:20.18Z        stderr: x"
        );
    }

    #[test]
    fn collection_ends_after_both_sentinels_which_are_not_stored() {
        let mut c = LogCollector::new(10, true);
        assert!(!c.push(&line(LogStream::Stdout, "one"), 0));
        assert!(!c.push(&line(LogStream::Stdout, SENTINEL), 0));
        assert!(!c.push(&line(LogStream::Stderr, "two"), 0));
        assert!(c.push(&line(LogStream::Stderr, SENTINEL), 0));
        let logs = c.finish(false, false, 0);
        assert!(!logs.failed);
        assert_eq!(logs.lines.len(), 2);
        assert!(logs.lines[1].ends_with("stderr: two"));
    }

    #[test]
    fn a_quiet_stream_without_sentinels_is_a_failure_with_the_stock_notice() {
        let mut c = LogCollector::new(10, true);
        c.push(&line(LogStream::Stdout, "partial"), 0);
        let logs = c.finish(true, false, 1_700_000_000_000);
        assert!(logs.failed);
        assert_eq!(
            logs.lines.last().map(String::as_str),
            Some(
                "2023-11-14T22:13:20.000Z       stderr: There was an issue while collecting your logs. Data might be missing."
            )
        );
    }

    #[test]
    fn output_beyond_the_limit_is_cut_with_a_notice() {
        let mut c = LogCollector::new(1, true);
        let big = "x".repeat(300_000);
        for _ in 0..3 {
            assert!(!c.push(&line(LogStream::Stdout, &big), 0));
        }
        c.push(&line(LogStream::Stdout, &big), 0);
        c.push(&line(LogStream::Stdout, SENTINEL), 0);
        assert!(c.push(&line(LogStream::Stderr, SENTINEL), 0));
        let logs = c.finish(false, false, 0);
        assert!(logs.failed);
        assert_eq!(logs.lines.len(), 4);
        assert!(logs.lines[3].ends_with(&truncation_notice(1 << 20)));
    }

    #[test]
    fn developer_errors_do_not_wait_and_carry_the_warning() {
        let mut c = LogCollector::new(10, false);
        assert!(!c.waits_for_sentinels());
        c.push(&line(LogStream::Stderr, "Traceback"), 0);
        let logs = c.finish(true, true, 0);
        assert!(!logs.failed);
        assert!(logs.lines[1].ends_with(DEVELOPER_ERROR_WARNING));
    }
}
