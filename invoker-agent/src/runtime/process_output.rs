//! The output of an action process as the engine's log driver would give it: one [`LogLine`]
//! per line, stamped with an RFC 3339 time with nanoseconds when it was read.

use std::time::{SystemTime, UNIX_EPOCH};

use ow_compat::records::format_rfc3339_millis;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use super::{LogLine, LogStream};

/// Longer lines are split, as Docker's json-file driver splits at 16 KiB.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// Where the lines of one process go.
#[derive(Debug)]
pub(super) struct LogSink {
    id: String,
    tx: mpsc::UnboundedSender<LogLine>,
}

impl LogSink {
    pub(super) fn new(id: &str, tx: mpsc::UnboundedSender<LogLine>) -> Self {
        Self {
            id: id.to_owned(),
            tx,
        }
    }
}

/// Reads `output` to its end. Nobody following is no reason to stop: the child must never
/// block on a full pipe.
pub(super) async fn read_lines(output: impl AsyncRead + Unpin, stream: LogStream, sink: LogSink) {
    let mut reader = BufReader::new(output);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(container = %sink.id, stream = stream.as_str(), error = %e, "output unreadable");
                return;
            }
        }
        let time = rfc3339_nanos(SystemTime::now());
        for text in split_line(&buf) {
            let line = LogLine {
                time: time.clone(),
                stream,
                text,
            };
            // A closed receiver (the process was removed) still leaves the pipe to drain.
            let _ = sink.tx.send(line);
        }
    }
}

/// The text of one line read with its newline, in pieces of at most [`MAX_LINE_BYTES`]; bytes
/// that are not UTF-8 become U+FFFD.
fn split_line(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.is_empty() {
        return vec![String::new()];
    }
    raw.chunks(MAX_LINE_BYTES)
        .map(|piece| String::from_utf8_lossy(piece).into_owned())
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, as the engine stamps its log lines.
pub(super) fn rfc3339_nanos(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX / 1000);
    let millis = format_rfc3339_millis(seconds.saturating_mul(1000));
    // `…SS.mmmZ`: keep up to the seconds, then the nanoseconds.
    let whole = millis.strip_suffix(".000Z").unwrap_or(&millis);
    format!("{whole}.{:09}Z", since.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_have_nanoseconds() {
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 180_254_874);
        assert_eq!(rfc3339_nanos(at), "2023-11-14T22:13:20.180254874Z");
        assert_eq!(rfc3339_nanos(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        let line = super::super::parse_log_frame(
            &format!("{} hello\n", rfc3339_nanos(at)),
            LogStream::Stdout,
        );
        assert_eq!(line.time, "2023-11-14T22:13:20.180254874Z");
    }

    #[test]
    fn lines_lose_their_newline_and_long_ones_are_split() {
        assert_eq!(split_line(b"hello\n"), ["hello"]);
        assert_eq!(split_line(b"crlf\r\n"), ["crlf"]);
        assert_eq!(split_line(b"\n"), [""]);
        assert_eq!(
            split_line(b"no newline at the end"),
            ["no newline at the end"]
        );
        assert_eq!(split_line(b"bad \xff byte\n"), ["bad \u{fffd} byte"]);
        let long = vec![b'x'; MAX_LINE_BYTES * 2 + 1];
        let pieces = split_line(&long);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[2], "x");
    }

    #[tokio::test]
    async fn every_line_of_a_stream_arrives_in_order() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let input: &[u8] = b"one\ntwo\nthree";
        read_lines(input, LogStream::Stderr, LogSink::new("c", tx)).await;
        let mut texts = Vec::new();
        while let Ok(line) = rx.try_recv() {
            assert_eq!(line.stream, LogStream::Stderr);
            assert!(
                line.time.ends_with('Z') && line.time.len() == 30,
                "{}",
                line.time
            );
            texts.push(line.text);
        }
        assert_eq!(texts, ["one", "two", "three"]);
    }
}
