//! Typed rows: how `fit`, `evaluate` and the data helpers take `&[[f32; W]]` (width checked by
//! the type) and labels in the shapes Keras users pass them.

/// A fixed-size row of `f32`s: `[f32; W]`, or an image `[[[f32; C]; W]; H]` (or `[[f32; W]; H]`)
/// whose values are read row-major, channels last, as Keras' NHWC layout stores them..
pub trait Row: bytemuck::Pod + Send + Sync + std::fmt::Debug + 'static {
    /// Values per row.
    const WIDTH: usize;
    /// Rows as one flat slice, row-major.
    fn flat(rows: &[Self]) -> &[f32] {
        bytemuck::cast_slice(rows)
    }
    /// Rows as one flat mutable slice.
    fn flat_mut(rows: &mut [Self]) -> &mut [f32] {
        bytemuck::cast_slice_mut(rows)
    }
    /// A row of zeros.
    fn zeros() -> Self {
        <Self as bytemuck::Zeroable>::zeroed()
    }
    /// One row's values.
    fn as_flat(&self) -> &[f32] {
        bytemuck::cast_slice(std::slice::from_ref(self))
    }
}

impl<const W: usize> Row for [f32; W] {
    const WIDTH: usize = W;
}

/// A row of token ids, the input of a model whose first layer is Embedding. The flat views
/// carry each id's bits in an `f32` slot (exact for any id); only the Embedding reads them, as
/// ids (`error::token_id`), and the input checks ask for ids in range rather than finite floats.
impl<const W: usize> Row for [i32; W] {
    const WIDTH: usize = W;
}

impl<const W: usize, const H: usize> Row for [[f32; W]; H] {
    const WIDTH: usize = H * W;
}

impl<const C: usize, const W: usize, const H: usize> Row for [[[f32; C]; W]; H] {
    const WIDTH: usize = H * W * C;
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
