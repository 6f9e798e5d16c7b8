//! Keras' names: a class name in snake_case (`MaxPooling2D` → `max_pooling2d`), which is both
//! a layer's default name and its group in a `.weights.h5` file, numbered per class in model
//! order (`dense`, `dense_1`, `conv2d`, …).

use std::collections::HashMap;

/// Keras' `to_snake_case` of a class name: `MaxPooling2D` → `max_pooling2d`.
pub fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p).copied());
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        // Keras: "(.)([A-Z][a-z]+)" → "\1_\2", then "([a-z])([A-Z])" → "\1_\2".
        let split = c.is_ascii_uppercase()
            && prev.is_some()
            && (next_lower || prev.is_some_and(|p| p.is_ascii_lowercase()));
        if split {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Keras' default layer names, counted per class in model order as Keras counts them: the
/// first `Dense` is `dense`, the second `dense_1`.
#[derive(Debug, Default)]
pub struct DefaultNames {
    counts: HashMap<String, usize>,
}

impl DefaultNames {
    /// The default name the next unnamed layer of `class` gets, without taking it.
    pub fn peek(&self, class: &str) -> String {
        let key = snake_case(class);
        match self.counts.get(&key).copied().unwrap_or(0) {
            0 => key,
            k => format!("{key}_{k}"),
        }
    }

    /// The next default name for a layer of `class` (`"Dense"` → `dense`, then `dense_1`).
    pub fn next(&mut self, class: &str) -> String {
        let key = snake_case(class);
        let n = self.counts.entry(key.clone()).or_insert(0);
        let name = match *n {
            0 => key,
            k => format!("{key}_{k}"),
        };
        *n += 1;
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_follows_keras() {
        for (class, key) in [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("MaxPooling2D", "max_pooling2d"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("BatchNormalization", "batch_normalization"),
            ("LSTM", "lstm"),
            ("SimpleRNN", "simple_rnn"),
            ("Conv1D", "conv1d"),
        ] {
            assert_eq!(snake_case(class), key, "{class}");
        }
    }

    #[test]
    fn default_names_count_per_class() {
        let mut names = DefaultNames::default();
        let got: Vec<String> = ["Dense", "Conv2D", "Dense", "Dense", "Conv2D"]
            .iter()
            .map(|c| names.next(c))
            .collect();
        assert_eq!(got, ["dense", "conv2d", "dense_1", "dense_2", "conv2d_1"]);
        assert_eq!(names.peek("Dense"), "dense_3");
        assert_eq!(names.peek("Dense"), "dense_3");
        assert_eq!(names.peek("Flatten"), "flatten");
    }
}
