//! Keras' `model.summary()` table, drawn the way Keras 3 draws it (heavy header, light rows),
//! with the totals and their memory size in Keras' units.

use crate::spec::ModelSpec;

/// Minimum inner widths of the three columns, as Keras draws a default summary.
const MIN_WIDTHS: [usize; 3] = [31, 22, 13];

/// The summary as text, ending in a newline.
pub fn render(spec: &ModelSpec) -> String {
    let mut rows: Vec<[String; 3]> = Vec::new();
    if spec.input.explicit {
        rows.push([
            format!("{} (InputLayer)", spec.input.name),
            shape_text(&spec.input.shape),
            "0".into(),
        ]);
    }
    for layer in &spec.layers {
        rows.push([
            format!("{} ({})", layer.name, layer.class_name),
            shape_text(&layer.output_shape),
            thousands(layer.param_count()),
        ]);
    }
    let header = ["Layer (type)", "Output Shape", "Param #"];
    let mut widths = MIN_WIDTHS;
    for row in rows
        .iter()
        .map(|r| r.each_ref().map(String::as_str))
        .chain([header])
    {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }

    let rule = |left: &str, fill: &str, mid: &str, right: &str| {
        let parts: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
        format!("{left}{}{right}\n", parts.join(mid))
    };
    let line = |sep: &str, cells: [&str; 3]| {
        format!(
            "{sep} {:<w0$} {sep} {:<w1$} {sep} {:>w2$} {sep}\n",
            cells[0],
            cells[1],
            cells[2],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        )
    };

    let mut out = format!("Model: \"{}\"\n", spec.name);
    out += &rule("┏", "━", "┳", "┓");
    out += &line("┃", header);
    out += &rule("┡", "━", "╇", "┩");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out += &rule("├", "─", "┼", "┤");
        }
        out += &line("│", row.each_ref().map(String::as_str));
    }
    out += &rule("└", "─", "┴", "┘");

    let total = spec.param_count();
    let trainable = spec.trainable_param_count();
    // By each weight's dtype: a quantized model's int8 kernels take one byte a value.
    let (total_bytes, trainable_bytes) = spec.param_bytes();
    for (label, count, bytes) in [
        ("Total params", total, total_bytes),
        ("Trainable params", trainable, trainable_bytes),
        (
            "Non-trainable params",
            total - trainable,
            total_bytes - trainable_bytes,
        ),
    ] {
        out += &format!(" {label}: {} ({})\n", thousands(count), memory_size(bytes));
    }
    out
}

/// `(None, 64)`: the batch dimension first, as Keras prints it.
pub fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("(None, {})", dims.join(", "))
}

/// 2817 → "2,817".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras' `readable_memory_size`: 11268 bytes → "11.00 KB", powers of 1024, two decimals.
pub fn memory_size(bytes: usize) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut size = bytes as f64;
    for unit in UNITS {
        if size / 1024.0 < 1.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} PB")
}
