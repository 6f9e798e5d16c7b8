//! Typed rows: how `fit`, `evaluate` and the data helpers take `&[[f32; W]]` (width checked by
//! the type) and labels in the shapes Keras users pass them.

/// A fixed-width row of `f32`s: `[f32; W]`.
pub trait Row: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// Values per row.
    const WIDTH: usize;
    /// Rows as one flat slice, row-major.
    fn flat(rows: &[Self]) -> &[f32];
    /// Rows as one flat mutable slice.
    fn flat_mut(rows: &mut [Self]) -> &mut [f32];
    /// A row of zeros.
    fn zeroed() -> Self;
}

impl<const W: usize> Row for [f32; W] {
    const WIDTH: usize = W;
    fn flat(rows: &[Self]) -> &[f32] {
        rows.as_flattened()
    }
    fn flat_mut(rows: &mut [Self]) -> &mut [f32] {
        rows.as_flattened_mut()
    }
    fn zeroed() -> Self {
        [0.0; W]
    }
}

/// Labels for `fit` and `evaluate`: one value per row (`&[f32]`: a binary label or a class id)
/// or fixed-width rows (`&[[f32; C]]`: one-hot labels, several binary outputs, regression targets).
pub trait Labels {
    /// All label values, row-major.
    fn values(&self) -> &[f32];
}

impl Labels for [f32] {
    fn values(&self) -> &[f32] {
        self
    }
}

impl Labels for Vec<f32> {
    fn values(&self) -> &[f32] {
        self
    }
}

impl<const N: usize> Labels for [f32; N] {
    fn values(&self) -> &[f32] {
        self
    }
}

impl<const W: usize> Labels for [[f32; W]] {
    fn values(&self) -> &[f32] {
        self.as_flattened()
    }
}

impl<const W: usize> Labels for Vec<[f32; W]> {
    fn values(&self) -> &[f32] {
        self.as_flattened()
    }
}
