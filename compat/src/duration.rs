//! HOCON durations as the stock components' configuration and Scala's `Duration` strings write
//! them (`100 milliseconds`, `10 s`, `10 minutes`, `2 minutes` of a prewarm ttl, a namespace's
//! `warmedContainerKeepingTimeout`).

use std::time::Duration;

/// A number with an optional unit; a bare number is milliseconds, as in HOCON.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().ok()?;
    let millis_per_unit = match unit.trim() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1.0,
        "us" | "micro" | "micros" | "microsecond" | "microseconds" => 0.001,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 0.000_001,
        "s" | "second" | "seconds" => 1_000.0,
        "m" | "minute" | "minutes" => 60_000.0,
        "h" | "hour" | "hours" => 3_600_000.0,
        "d" | "day" | "days" => 86_400_000.0,
        _ => return None,
    };
    let ms = n * millis_per_unit;
    // `try_from` rather than `from_secs_f64`: an absurdly large value is an error, not a panic.
    Duration::try_from_secs_f64(ms / 1000.0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_numbers() {
        assert_eq!(parse_duration("10 s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("10 minutes"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("2 minutes"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("50"), Some(Duration::from_millis(50)));
        assert_eq!(parse_duration("1.5 h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("ten seconds"), None);
        assert_eq!(parse_duration("99999999999999999999999999 d"), None);
        assert_eq!(parse_duration("-1 s"), None);
        assert_eq!(parse_duration("5 fortnights"), None);
    }
}
