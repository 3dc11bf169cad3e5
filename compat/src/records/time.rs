//! `Instant` on the wire: epoch milliseconds, or an ISO-8601 instant on read.

use crate::json::{DecodeError, Path, Value, Wire, read_kind};

/// Reads epoch milliseconds from a number, or from an ISO-8601 UTC instant such as
/// `2023-11-14T22:13:20.180Z`.
pub fn read_instant(v: &Value, at: Path<'_>) -> Result<i64, DecodeError> {
    match v {
        Value::Number(_) => i64::read(v, at),
        Value::String(s) => parse_rfc3339_millis(s)
            .ok_or_else(|| at.error(format!("{s:?} is not an ISO-8601 instant"))),
        other => Err(at.error(format!(
            "expected epoch milliseconds, found {}",
            read_kind(other)
        ))),
    }
}

fn parse_rfc3339_millis(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    // Java's Instant covers years -1000000000..=1000000000; anything else is not an instant.
    if !(-1_000_000_000..=1_000_000_000).contains(&year) {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = format!("{frac:0<3}").get(..3)?.parse::<i64>().ok()?;
    let days = days_from_civil(year, month, day);
    days.checked_mul(86_400_000)?
        .checked_add(((h * 60 + m) * 60 + sec) * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Renders epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339_millis(epoch_millis: i64) -> String {
    let days = epoch_millis.div_euclid(86_400_000);
    let ms = epoch_millis.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_instants_round_trip() {
        let ms = parse_rfc3339_millis("2023-11-14T22:13:20.180254874Z");
        assert_eq!(ms, Some(1_700_000_000_180));
        assert_eq!(
            format_rfc3339_millis(1_700_000_000_180),
            "2023-11-14T22:13:20.180Z"
        );
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_millis("yesterday"), None);
    }
}
