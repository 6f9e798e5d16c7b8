//! Bar charts (SVG) of the peer CSV: per chart, seqnet's speed over the best other framework's,
//! with a line at 1.0 (above it seqnet is faster).
//!
//! Charts: one per workload of the `models` benchmark (`models` and `tools/peers.py` write
//! those), a bar per thread count; one per other benchmark (`sgemm`), a bar per workload and
//! thread count. Each bar is labelled with its ratio and the framework it is compared with.
//! "Speed" reads the unit: samples/s and GFLOP/s are higher-is-better, µs per row (`us/row`) is
//! lower-is-better and is inverted. When the CSV holds a figure more than once (runs appended,
//! alternating with tools/peers.py), the median of its values counts.
//!
//! Run (from benches/peers): `cargo run --release --features charts --bin charts -- --csv
//! results/zen3.csv --out results/ [--tables]`; `--tables` also prints every framework's figures
//! as Markdown tables.

use plotters::prelude::*;
use std::collections::BTreeMap;

/// One figure: (benchmark, workload, threads, framework) → (value, unit), the median of the
/// rows that give it.
type Figures = BTreeMap<Key, (f64, String)>;

/// (benchmark, workload, threads, framework).
type Key = (String, String, usize, String);

/// The figures of one (benchmark, workload, threads): framework → (value, unit).
type Group = BTreeMap<String, (f64, String)>;

fn read(path: &str) -> Figures {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut runs: BTreeMap<Key, (Vec<f64>, String)> = BTreeMap::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [benchmark, workload, threads, framework, value, unit] = f[..] else {
            panic!("{path}:{}: expected 6 fields: {line}", n + 1);
        };
        let (Ok(threads), Ok(value)) = (threads.parse(), value.parse()) else {
            panic!("{path}:{}: bad threads or value: {line}", n + 1);
        };
        runs.entry((benchmark.into(), workload.into(), threads, framework.into()))
            .or_insert_with(|| (Vec::new(), unit.into()))
            .0
            .push(value);
    }
    runs.into_iter()
        .map(|(key, (values, unit))| (key, (seqnet_peers::median(&values), unit)))
        .collect()
}

fn lower_is_better(unit: &str) -> bool {
    ["us", "ms", "ns", "s"]
        .iter()
        .any(|u| unit == *u || unit.starts_with(&format!("{u}/")))
}

/// A bar: its label, seqnet's speed ratio and the best other framework.
struct Bar {
    label: String,
    ratio: f64,
    peer: String,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let csv: String = seqnet_peers::arg(&args, "--csv").expect("--csv PATH");
    let out: String = seqnet_peers::arg(&args, "--out").unwrap_or_else(|| ".".into());
    std::fs::create_dir_all(&out).expect("create the output folder");
    let figures = read(&csv);

    // (benchmark, workload, threads) → framework → (value, unit).
    let mut groups: BTreeMap<(String, String, usize), Group> = BTreeMap::new();
    for ((b, w, t, f), v) in &figures {
        groups
            .entry((b.clone(), w.clone(), *t))
            .or_default()
            .insert(f.clone(), v.clone());
    }
    // Chart name → (title, bars).
    let mut charts: BTreeMap<String, (String, Vec<Bar>)> = BTreeMap::new();
    for ((benchmark, workload, threads), row) in &groups {
        let Some((ours, unit)) = row.get("seqnet") else {
            continue;
        };
        let lower = lower_is_better(unit);
        let speed = |v: f64| if lower { 1.0 / v } else { v };
        let Some((peer, (theirs, _))) = row
            .iter()
            .filter(|(f, _)| f.as_str() != "seqnet")
            .max_by(|a, b| speed(a.1 .0).total_cmp(&speed(b.1 .0)))
        else {
            continue;
        };
        let (name, label) = if benchmark == "models" {
            (workload.clone(), format!("{threads} thread(s)"))
        } else {
            (benchmark.clone(), format!("{workload} ({threads}T)"))
        };
        let title = if benchmark == "models" {
            format!("{workload}: seqnet ÷ best other ({unit})")
        } else {
            format!("{benchmark}: seqnet ÷ best other ({unit})")
        };
        charts
            .entry(name)
            .or_insert((title, Vec::new()))
            .1
            .push(Bar {
                label,
                ratio: speed(*ours) / speed(*theirs),
                peer: peer.clone(),
            });
    }
    for (name, (title, bars)) in &charts {
        let path = std::path::Path::new(&out).join(format!("{name}.svg"));
        let path = path.to_string_lossy();
        draw(&path, title, bars).unwrap_or_else(|e| panic!("drawing {path}: {e}"));
        println!("wrote {path}");
    }
    if args.iter().any(|a| a == "--tables") {
        print_tables(&groups);
    }
}

/// `--tables`: every framework's figure side by side, one Markdown table per workload of the
/// `models` benchmark (the Rust peers and tools/peers.py ran in separate processes, so this is
/// the one place they meet).
fn print_tables(groups: &BTreeMap<(String, String, usize), Group>) {
    let mut workloads: BTreeMap<&str, Vec<(usize, &Group)>> = BTreeMap::new();
    for ((benchmark, workload, threads), row) in groups {
        if benchmark == "models" {
            workloads.entry(workload).or_default().push((*threads, row));
        }
    }
    for (workload, rows) in workloads {
        // The order `models` and tools/peers.py run them in, then anything else.
        let mut frameworks: Vec<&str> = vec![
            "seqnet",
            "dfdx",
            "candle",
            "burn-flex",
            "burn-ndarray",
            "onnxruntime",
            "pytorch",
        ];
        frameworks.retain(|f| rows.iter().any(|(_, row)| row.contains_key(*f)));
        for (_, row) in &rows {
            for f in row.keys() {
                if !frameworks.contains(&f.as_str()) {
                    frameworks.push(f);
                }
            }
        }
        let unit = rows[0].1.values().next().map_or("", |v| v.1.as_str());
        println!("\n### {workload} ({unit})\n");
        println!(
            "| threads | {} | seqnet ÷ best other |",
            frameworks.join(" | ")
        );
        println!("|---|{}---|", "---|".repeat(frameworks.len()));
        for (threads, row) in rows {
            let speed = |v: f64| if lower_is_better(unit) { 1.0 / v } else { v };
            let cells: Vec<String> = frameworks
                .iter()
                .map(|f| row.get(*f).map_or("-".into(), |v| format_value(v.0, unit)))
                .collect();
            let best = row
                .iter()
                .filter(|(f, _)| f.as_str() != "seqnet")
                .max_by(|a, b| speed(a.1 .0).total_cmp(&speed(b.1 .0)));
            let ratio = match (row.get("seqnet"), best) {
                (Some(ours), Some((f, theirs))) => {
                    format!("{:.2}× ({f})", speed(ours.0) / speed(theirs.0))
                }
                _ => "-".into(),
            };
            println!("| {threads} | {} | {ratio} |", cells.join(" | "));
        }
    }
}

fn format_value(v: f64, unit: &str) -> String {
    if lower_is_better(unit) {
        format!("{v:.2}")
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.2}")
    }
}

fn draw(path: &str, title: &str, bars: &[Bar]) -> Result<(), Box<dyn std::error::Error>> {
    let width = (160 + 110 * bars.len()).max(520) as u32;
    let root = SVGBackend::new(path, (width, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars.iter().map(|b| b.ratio).fold(1.0, f64::max) * 1.25;
    let n = bars.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..n, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .y_desc("seqnet ÷ best other (speed)")
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let colour = if b.ratio >= 1.0 {
            RGBColor(46, 125, 50)
        } else {
            RGBColor(230, 126, 34)
        };
        Rectangle::new(
            [(i as f64 + 0.2, 0.0), (i as f64 + 0.8, b.ratio)],
            colour.filled(),
        )
    }))?;
    // Labels: the ratio and its peer above each bar, the bar's name under the axis.
    let style = ("sans-serif", 13).into_font().color(&BLACK);
    for (i, b) in bars.iter().enumerate() {
        let centre = i as f64 + 0.5;
        chart.draw_series(std::iter::once(Text::new(
            format!("{:.2}× vs {}", b.ratio, b.peer),
            (centre - 0.35, b.ratio + top * 0.03),
            style.clone(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            b.label.clone(),
            (centre - 0.3, -top * 0.02),
            style.clone(),
        )))?;
    }
    chart.draw_series(LineSeries::new([(0.0, 1.0), (n, 1.0)], RED.stroke_width(2)))?;
    root.present()?;
    Ok(())
}
