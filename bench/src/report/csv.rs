//! `results.csv`: one line per row, model and live.

use super::matrix::Row;
use super::{design_name, mode_name, percentile};

const HEADER: &str = "mode,design,costs,users,actions,tps,tps_min,tps_max,p50_ms,p90_ms,p99_ms,\
queue_wait_p50_ms,queue_wait_p99_ms,cold_starts,creations,completed,scheduler_cpu_us_per_activation,notes";

/// The CSV text for `rows`.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for row in rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}

fn line(row: &Row) -> String {
    let r = &row.result;
    let lat = sorted(&r.latencies_ms);
    let wait = sorted(&r.queue_wait_ms);
    let (lo, hi) = row
        .tps_range
        .map_or((String::new(), String::new()), |(a, b)| (f1(a), f1(b)));
    let cpu = r.scheduler_cpu_us_per_activation.map_or(String::new(), f1);
    [
        mode_name(r.mode).to_string(),
        design_name(r.design).to_string(),
        quote(&row.costs),
        r.users.to_string(),
        r.actions.to_string(),
        f1(r.tps),
        lo,
        hi,
        f2(percentile(&lat, 0.5)),
        f2(percentile(&lat, 0.9)),
        f2(percentile(&lat, 0.99)),
        f2(percentile(&wait, 0.5)),
        f2(percentile(&wait, 0.99)),
        r.cold_starts.to_string(),
        r.creations.to_string(),
        r.completed.to_string(),
        cpu,
        quote(&r.notes),
    ]
    .join(",")
}

pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

fn f2(v: f64) -> String {
    format!("{v:.2}")
}

/// RFC 4180 quoting when needed.
fn quote(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("talk"), "talk");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote("say \"x\""), "\"say \"\"x\"\"\"");
    }

    #[test]
    fn header_and_line_have_the_same_columns() {
        let columns = HEADER.split(',').count();
        let row = Row {
            result: crate::results::RunResult {
                design: crate::results::Design::New,
                mode: crate::results::Mode::Model,
                users: 100,
                actions: 10,
                tps: 1234.5,
                latencies_ms: vec![1.0, 2.0, 3.0],
                queue_wait_ms: vec![0.0],
                cold_starts: 1,
                creations: 2,
                scheduler_cpu_us_per_activation: None,
                completed: 3,
                notes: "model, talk costs".into(),
            },
            costs: "talk".into(),
            tps_range: Some((1.0, 2.0)),
        };
        let text = render(&[row]);
        let second = text.lines().nth(1).unwrap_or_default();
        assert!(second.starts_with("model,new,talk,100,10,1234.5,1.0,2.0,2.00,3.00,3.00,"));
        assert_eq!(
            second
                .replace("\"model, talk costs\"", "x")
                .split(',')
                .count(),
            columns
        );
    }
}
