//! The two PNGs: TPS against the number of actions (log–log), and latency CDFs. Text is drawn
//! with DejaVu Sans read at run time; without it the plots are still written, without text.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use super::csv::sorted;
use super::design_name;
use super::matrix::{ACTIONS, Row};
use crate::results::{Design, Mode};

const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1100, 700);

/// The talk's figures at 100 users: the old design at 1, 10, 100 actions, the new at 100.
const TALK_OLD: [(f64, f64); 3] = [(1.0, 20_000.0), (10.0, 6_000.0), (100.0, 30.0)];
const TALK_NEW: (f64, f64) = (100.0, 14_000.0);

/// Registers the font once; false when it cannot be read.
pub fn font_available() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        let Ok(bytes) = std::fs::read(FONT_PATH) else {
            tracing::warn!(
                path = FONT_PATH,
                "font missing: plots are drawn without text"
            );
            return false;
        };
        // plotters keeps fonts for the life of the process: leaking the one copy is the point.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_ok()
    })
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// A named series of (x, y) points.
struct Series {
    name: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    line: bool,
}

fn color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(200, 40, 40),
        RGBColor(30, 90, 200),
        RGBColor(240, 140, 40),
        RGBColor(60, 170, 200),
        RGBColor(40, 150, 60),
        RGBColor(130, 60, 170),
        RGBColor(90, 90, 90),
        RGBColor(0, 0, 0),
    ];
    COLORS[i % COLORS.len()]
}

fn tps_series(rows: &[Row]) -> Vec<Series> {
    let mut series = Vec::new();
    for costs in ["talk", "measured"] {
        for design in [Design::Old, Design::New] {
            let points = ACTIONS
                .iter()
                .filter_map(|&a| {
                    super::matrix::tps_of(rows, design, costs, 100, a).map(|t| (f64::from(a), t))
                })
                .collect();
            let name = format!("{} design, model, {costs} costs", design_name(design));
            series.push(Series {
                name,
                color: color(series.len()),
                points,
                line: true,
            });
        }
    }
    let mut labels: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.result.mode != Mode::Model) {
        if !labels.contains(&r.costs.as_str()) {
            labels.push(&r.costs);
        }
    }
    for label in labels {
        let live: Vec<&Row> = rows.iter().filter(|r| r.costs == label).collect();
        let mut points: Vec<(f64, f64)> = live
            .iter()
            .map(|r| (f64::from(r.result.actions), r.result.tps))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let name = format!("new design, {label}, {} users", live[0].result.users);
        series.push(Series {
            name,
            color: color(series.len()),
            points,
            line: true,
        });
    }
    series.push(Series {
        name: "talk: old design".into(),
        color: color(6),
        points: TALK_OLD.to_vec(),
        line: false,
    });
    series.push(Series {
        name: "talk: new design".into(),
        color: color(7),
        points: vec![TALK_NEW],
        line: false,
    });
    series
}

/// `tps_vs_actions.png`: TPS at 100 users (live rows at their own scale) against actions.
pub fn tps_vs_actions(rows: &[Row], path: &Path) -> PlotResult {
    let text = font_available();
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80);
    if text {
        builder.caption(
            "Throughput vs number of actions (100 closed-loop users)",
            (FONT, 24),
        );
    }
    let mut chart = builder.build_cartesian_2d(
        (0.8f64..130f64).log_scale(),
        (10f64..100_000f64).log_scale(),
    )?;
    configure_mesh(&mut chart, text, "actions", "activations per second")?;
    for s in tps_series(rows) {
        draw(&mut chart, &s, text)?;
    }
    legend(&mut chart, text, SeriesLabelPosition::LowerLeft)?;
    root.present()?;
    Ok(())
}

/// `latency_cdf.png`: end-to-end latency CDFs at 100 users, talk costs, and the live rows.
pub fn latency_cdf(rows: &[Row], path: &Path) -> PlotResult {
    let text = font_available();
    let mut series = Vec::new();
    for r in rows.iter().filter(|r| cdf_wanted(r)) {
        let name = match r.result.mode {
            Mode::Model => format!(
                "{} design, model, {} actions",
                design_name(r.result.design),
                r.result.actions
            ),
            _ => format!("{}, {} actions", r.costs, r.result.actions),
        };
        series.push(Series {
            name,
            color: color(series.len()),
            points: cdf(&r.result.latencies_ms),
            line: true,
        });
    }
    let max_x = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(10.0f64, f64::max)
        * 1.5;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60);
    if text {
        builder.caption(
            "End-to-end latency CDF (100 users; model with the talk's costs, and live)",
            (FONT, 24),
        );
    }
    let mut chart = builder.build_cartesian_2d((0.5f64..max_x).log_scale(), 0f64..1f64)?;
    configure_mesh(&mut chart, text, "latency (ms)", "fraction of activations")?;
    for s in &series {
        draw(&mut chart, s, text)?;
    }
    legend(&mut chart, text, SeriesLabelPosition::LowerRight)?;
    root.present()?;
    Ok(())
}

fn cdf_wanted(r: &Row) -> bool {
    let model = r.result.mode == Mode::Model && r.costs == "talk" && r.result.users == 100;
    (model || r.result.mode != Mode::Model) && !r.result.latencies_ms.is_empty()
}

/// At most ~400 (latency, fraction) points of the empirical CDF.
fn cdf(latencies: &[f64]) -> Vec<(f64, f64)> {
    let sorted = sorted(latencies);
    let n = sorted.len();
    let stride = (n / 400).max(1);
    let mut points: Vec<(f64, f64)> = (0..n)
        .step_by(stride)
        .map(|i| (sorted[i].max(0.5), (i + 1) as f64 / n as f64))
        .collect();
    if let Some(&last) = sorted.last() {
        points.push((last.max(0.5), 1.0));
    }
    points
}

type Chart<'a, X, Y> = ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>;

fn configure_mesh<X, Y>(chart: &mut Chart<'_, X, Y>, text: bool, x: &str, y: &str) -> PlotResult
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc(x).y_desc(y).label_style((FONT, 15));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    Ok(())
}

fn draw<X, Y>(chart: &mut Chart<'_, X, Y>, s: &Series, text: bool) -> PlotResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = s.color.stroke_width(2);
    let color = s.color;
    let points = s.points.clone();
    let annotation = if s.line {
        // Markers only where they show the measured cells, not on dense CDF lines.
        if points.len() <= 20 {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        chart.draw_series(LineSeries::new(points.clone(), style))?
    } else {
        chart.draw_series(
            points
                .iter()
                .map(|&p| Cross::new(p, 8, color.stroke_width(3))),
        )?
    };
    if text {
        annotation.label(s.name.clone()).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
        });
    }
    Ok(())
}

fn legend<X, Y>(
    chart: &mut Chart<'_, X, Y>,
    text: bool,
    position: SeriesLabelPosition,
) -> PlotResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    if text {
        chart
            .configure_series_labels()
            .position(position)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_is_monotone_and_ends_at_one() {
        let latencies: Vec<f64> = (0..10_000).map(|i| f64::from(i % 97) + 1.0).collect();
        let points = cdf(&latencies);
        assert!(points.len() <= 402);
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        assert_eq!(points.last().map(|p| p.1), Some(1.0));
        assert!(cdf(&[]).is_empty());
    }
}
