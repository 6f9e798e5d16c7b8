//! What every peer benchmark shares: timing, medians, data, the CSV all of them append to.

use std::io::Write;
use std::time::Instant;

/// Best wall time in seconds of `reps` calls of `f`, after one warm-up call.
pub fn time_best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The value after `flag` on the command line, parsed.
pub fn arg<T: std::str::FromStr>(args: &[String], flag: &str) -> Option<T> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

/// The CPU's model name from /proc/cpuinfo, or "unknown CPU".
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Rows `benchmark, workload, threads, framework, value, unit`, appended to the file `--csv`
/// names (created with a header when new); nothing without `--csv`.
pub struct Csv(Option<std::fs::File>);

impl Csv {
    /// The CSV `--csv PATH` asks for.
    pub fn from_args(args: &[String]) -> Csv {
        let Some(path) = arg::<String>(args, "--csv") else {
            return Csv(None);
        };
        let new = !std::path::Path::new(&path).exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
        if new {
            writeln!(file, "benchmark,workload,threads,framework,value,unit")
                .expect("write the CSV header");
        }
        Csv(Some(file))
    }

    /// One row; fields must not contain commas.
    pub fn row(&mut self, fields: &[&str]) {
        if let Some(file) = &mut self.0 {
            writeln!(file, "{}", fields.join(",")).expect("write a CSV row");
        }
    }
}
