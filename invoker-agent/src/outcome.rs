//! What an action container's answer means (spec 10.2, 10.3): the stock classification into
//! success, application error, developer error and whisk error, and the cases where the
//! activation is handed back to the scheduler instead. Pure.

use std::time::Duration;

use ow_compat::json::{Map, Value};
use ow_compat::records::{ActivationResponse, StatusCode};

/// The action did not answer a run in a usable way.
pub const ABNORMAL_RUN: &str =
    "The action did not produce a valid response and exited unexpectedly.";
/// The action did not answer `/init` in a usable way.
pub const ABNORMAL_INIT: &str = "The action did not initialize and exited unexpectedly.";
/// The kernel killed the container for its memory.
pub const MEMORY_EXHAUSTED: &str = "The action exhausted its memory and was aborted.";

/// How an HTTP exchange with the action container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpOutcome {
    /// An answer; `truncated` holds (actual length, limit) in bytes when the body was cut.
    Response {
        status: u16,
        body: String,
        truncated: Option<(u64, u64)>,
    },
    /// The connection was refused or had no route: the container does not listen (any more).
    Refused,
    /// The connection broke after it was made.
    Lost,
    /// No answer within the time limit.
    TimedOut,
}

/// What to do with an activation after `/init` or `/run`.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The activation is complete with this response.
    Done(ActivationResponse),
    /// The container is unhealthy (HTTP 503 or refused run): give the activation back.
    Reschedule,
}

/// The verdict on a failed `/init`, `None` when it succeeded.
pub fn init_verdict(
    outcome: &HttpOutcome,
    elapsed: Duration,
    timeout: Duration,
    oom_killed: bool,
) -> Option<Verdict> {
    if let HttpOutcome::Response { status: 200, .. } = outcome {
        return None;
    }
    if matches!(outcome, HttpOutcome::Response { status: 503, .. }) {
        return Some(Verdict::Reschedule);
    }
    if elapsed >= timeout {
        return Some(developer(timed_out(timeout, true), None));
    }
    Some(match outcome {
        HttpOutcome::Response {
            body,
            truncated: Some((len, max)),
            ..
        } => developer(truncated_response(body, *len, *max), Some(*len)),
        HttpOutcome::Response { body, .. } => {
            let size = Some(utf16_len(body));
            match parse_object(body).and_then(|mut o| o.remove("error")) {
                Some(error) => Verdict::Done(with_error(StatusCode::DeveloperError, error, size)),
                None => developer(invalid_init_response(body), size),
            }
        }
        _ if oom_killed => developer(MEMORY_EXHAUSTED.into(), None),
        _ => developer(ABNORMAL_INIT.into(), None),
    })
}

/// The verdict on a `/run`.
pub fn run_verdict(
    outcome: &HttpOutcome,
    elapsed: Duration,
    timeout: Duration,
    oom_killed: bool,
) -> Verdict {
    match outcome {
        HttpOutcome::Response { status: 503, .. } | HttpOutcome::Refused => Verdict::Reschedule,
        _ if elapsed >= timeout => developer(timed_out(timeout, false), None),
        HttpOutcome::Response {
            body,
            truncated: Some((len, max)),
            ..
        } => Verdict::Done(with_error(
            StatusCode::ApplicationError,
            Value::String(truncated_response(body, *len, *max)),
            Some(*len),
        )),
        HttpOutcome::Response { status, body, .. } => Verdict::Done(run_response(*status, body)),
        HttpOutcome::TimedOut => developer(timed_out(timeout, false), None),
        HttpOutcome::Lost if oom_killed => developer(MEMORY_EXHAUSTED.into(), None),
        HttpOutcome::Lost => developer(ABNORMAL_RUN.into(), None),
    }
}

/// A complete `/run` answer: an object (with or without `error`) or an array on 200 is the
/// action's result; anything else is a developer error.
fn run_response(status: u16, body: &str) -> ActivationResponse {
    let size = Some(utf16_len(body));
    let signed = size.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    match ow_compat::json::parse(body.as_bytes()) {
        Ok(Value::Object(mut fields)) => match (status == 200, fields.remove("error")) {
            (true, Some(error)) => with_error(StatusCode::ApplicationError, error, size),
            (true, None) => ActivationResponse::success(Value::Object(fields), signed),
            (false, Some(error)) => with_error(StatusCode::DeveloperError, error, size),
            (false, None) => {
                error_text(StatusCode::DeveloperError, invalid_run_response(body), size)
            }
        },
        Ok(array @ Value::Array(_)) if status == 200 => ActivationResponse::success(array, signed),
        _ => error_text(StatusCode::DeveloperError, invalid_run_response(body), size),
    }
}

fn developer(message: String, size: Option<u64>) -> Verdict {
    Verdict::Done(error_text(StatusCode::DeveloperError, message, size))
}

fn error_text(code: StatusCode, message: String, size: Option<u64>) -> ActivationResponse {
    with_error(code, Value::String(message), size)
}

fn with_error(code: StatusCode, error: Value, size: Option<u64>) -> ActivationResponse {
    let mut m = Map::new();
    m.insert("error".into(), error);
    ActivationResponse {
        status_code: code,
        result: Some(Value::Object(m)),
        size: size.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
    }
}

fn parse_object(body: &str) -> Option<Map<String, Value>> {
    match ow_compat::json::parse(body.as_bytes()) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// `response.size`: the length of the raw answer in UTF-16 code units, as Java counts it.
pub fn utf16_len(text: &str) -> u64 {
    text.encode_utf16().count() as u64
}

/// "The action exceeded its time limits of <ms> milliseconds[ during initialization]."
pub fn timed_out(timeout: Duration, init: bool) -> String {
    let tail = if init { " during initialization." } else { "." };
    format!(
        "The action exceeded its time limits of {} milliseconds{tail}",
        timeout.as_millis()
    )
}

fn invalid_init_response(body: &str) -> String {
    with_body("The action failed during initialization", body)
}

fn invalid_run_response(body: &str) -> String {
    with_body(
        "The action did not produce a valid JSON or JSON Array response",
        body,
    )
}

fn with_body(text: &str, body: &str) -> String {
    if body.is_empty() {
        format!("{text}.")
    } else {
        format!("{text}: {body}")
    }
}

fn truncated_response(trunk: &str, len: u64, max: u64) -> String {
    format!(
        "The action produced a response that exceeded the allowed length: {len} > {max} bytes. The truncated response was: {trunk}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(60);
    const FAST: Duration = Duration::from_millis(5);

    fn ok(status: u16, body: &str) -> HttpOutcome {
        HttpOutcome::Response {
            status,
            body: body.into(),
            truncated: None,
        }
    }

    fn done(v: Verdict) -> ActivationResponse {
        match v {
            Verdict::Done(r) => r,
            Verdict::Reschedule => panic!("unexpected reschedule"),
        }
    }

    fn result_json(r: &ActivationResponse) -> String {
        ow_compat::json::compact(r.result.as_ref().unwrap_or(&Value::Null))
    }

    #[test]
    fn a_200_object_is_a_success_and_its_size_counts_utf16_units() {
        let r = done(run_verdict(
            &ok(200, r#"{"greeting":"héllo 😀"}"#),
            FAST,
            T,
            false,
        ));
        assert_eq!(r.status_code, StatusCode::Success);
        assert_eq!(result_json(&r), r#"{"greeting":"héllo 😀"}"#);
        assert_eq!(r.size, Some(23));
    }

    #[test]
    fn an_error_field_on_200_is_an_application_error_keeping_only_the_error() {
        let r = done(run_verdict(
            &ok(200, r#"{"error":"boom","x":1}"#),
            FAST,
            T,
            false,
        ));
        assert_eq!(r.status_code, StatusCode::ApplicationError);
        assert_eq!(result_json(&r), r#"{"error":"boom"}"#);
    }

    #[test]
    fn arrays_succeed_and_other_bodies_are_developer_errors() {
        let r = done(run_verdict(&ok(200, "[1,2]"), FAST, T, false));
        assert_eq!(
            (r.status_code, result_json(&r).as_str()),
            (StatusCode::Success, "[1,2]")
        );
        let null = done(run_verdict(&ok(200, "null"), FAST, T, false));
        assert_eq!(null.status_code, StatusCode::DeveloperError);
        assert_eq!(
            result_json(&null),
            r#"{"error":"The action did not produce a valid JSON or JSON Array response: null"}"#
        );
        let failed = done(run_verdict(&ok(502, r#"{"error":"bad"}"#), FAST, T, false));
        assert_eq!(
            (failed.status_code, result_json(&failed).as_str()),
            (StatusCode::DeveloperError, r#"{"error":"bad"}"#)
        );
        let empty = done(run_verdict(&ok(500, ""), FAST, T, false));
        assert_eq!(
            result_json(&empty),
            r#"{"error":"The action did not produce a valid JSON or JSON Array response."}"#
        );
    }

    #[test]
    fn a_run_at_or_beyond_the_time_limit_is_a_developer_error() {
        let r = done(run_verdict(&HttpOutcome::TimedOut, T, T, false));
        assert_eq!(
            result_json(&r),
            r#"{"error":"The action exceeded its time limits of 60000 milliseconds."}"#
        );
        let late = done(run_verdict(&ok(200, "{}"), T, T, false));
        assert_eq!(late.status_code, StatusCode::DeveloperError);
    }

    #[test]
    fn broken_connections_and_oom() {
        let lost = done(run_verdict(&HttpOutcome::Lost, FAST, T, false));
        assert_eq!(
            result_json(&lost),
            format!(r#"{{"error":"{ABNORMAL_RUN}"}}"#)
        );
        let oom = done(run_verdict(&HttpOutcome::Lost, FAST, T, true));
        assert_eq!(
            result_json(&oom),
            format!(r#"{{"error":"{MEMORY_EXHAUSTED}"}}"#)
        );
        assert_eq!(
            run_verdict(&HttpOutcome::Refused, FAST, T, false),
            Verdict::Reschedule
        );
        assert_eq!(
            run_verdict(&ok(503, ""), FAST, T, false),
            Verdict::Reschedule
        );
    }

    #[test]
    fn a_too_long_answer_is_an_application_error_with_the_stock_text() {
        let cut = HttpOutcome::Response {
            status: 200,
            body: "{\"a\":\"xx".into(),
            truncated: Some((2_000_000, 1_048_576)),
        };
        let r = done(run_verdict(&cut, FAST, T, false));
        assert_eq!(r.status_code, StatusCode::ApplicationError);
        assert_eq!(r.size, Some(2_000_000));
        assert!(result_json(&r).contains(
            "exceeded the allowed length: 2000000 > 1048576 bytes. The truncated response was: {"
        ));
    }

    #[test]
    fn init_failures() {
        assert_eq!(
            init_verdict(&ok(200, "{\"ok\":true}"), FAST, T, false),
            None
        );
        let bad = done(
            init_verdict(&ok(502, r#"{"error":"SyntaxError: x"}"#), FAST, T, false).expect("fails"),
        );
        assert_eq!(result_json(&bad), r#"{"error":"SyntaxError: x"}"#);
        let text = done(init_verdict(&ok(500, "oops"), FAST, T, false).expect("fails"));
        assert_eq!(
            result_json(&text),
            r#"{"error":"The action failed during initialization: oops"}"#
        );
        let slow = done(init_verdict(&HttpOutcome::Refused, T, T, false).expect("fails"));
        assert_eq!(
            result_json(&slow),
            r#"{"error":"The action exceeded its time limits of 60000 milliseconds during initialization."}"#
        );
        assert_eq!(
            init_verdict(&ok(503, ""), FAST, T, false),
            Some(Verdict::Reschedule)
        );
        let gone = done(init_verdict(&HttpOutcome::Lost, FAST, T, false).expect("fails"));
        assert_eq!(
            result_json(&gone),
            format!(r#"{{"error":"{ABNORMAL_INIT}"}}"#)
        );
    }
}
