//! The few data-parallel operations the kernels, inference and training use, on rayon's pool
//! with feature `parallel` and as plain sequential iteration without it.
//!
//! Call sites import [`prelude`] and write rayon's names (`par_chunks`, `par_chunks_mut`,
//! `par_iter_mut`, `into_par_iter`, `try_for_each_init`) and ask [`current_num_threads`] whether a
//! split is worth it. Every caller cuts its work into pieces whose size does not depend on the
//! thread count and combines them in a fixed order, so both builds give the same results, bit
//! for bit; without the feature there is one thread and the sequential branches run.

/// How many threads a parallel operation may use: rayon's pool size, or 1 without `parallel`.
#[inline]
pub(crate) fn current_num_threads() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// The parallel-iterator traits: rayon's, or the sequential stand-ins below.
pub(crate) mod prelude {
    #[cfg(feature = "parallel")]
    pub(crate) use rayon::prelude::*;

    #[cfg(not(feature = "parallel"))]
    pub(crate) use super::sequential::{
        ForEachInit as _, IntoParIter as _, ParSlice as _, ParSliceMut as _,
    };
}

/// rayon's method names over the standard sequential iterators: pieces run one after another on
/// the calling thread, in order.
#[cfg(not(feature = "parallel"))]
mod sequential {
    use core::ops::Range;
    use core::slice::{Chunks, ChunksMut, IterMut};

    pub(crate) trait ParSlice<T> {
        fn par_chunks(&self, size: usize) -> Chunks<'_, T>;
    }

    impl<T> ParSlice<T> for [T] {
        #[inline]
        fn par_chunks(&self, size: usize) -> Chunks<'_, T> {
            self.chunks(size)
        }
    }

    pub(crate) trait ParSliceMut<T> {
        fn par_chunks_mut(&mut self, size: usize) -> ChunksMut<'_, T>;
        fn par_iter_mut(&mut self) -> IterMut<'_, T>;
    }

    impl<T> ParSliceMut<T> for [T] {
        #[inline]
        fn par_chunks_mut(&mut self, size: usize) -> ChunksMut<'_, T> {
            self.chunks_mut(size)
        }
        #[inline]
        fn par_iter_mut(&mut self) -> IterMut<'_, T> {
            self.iter_mut()
        }
    }

    pub(crate) trait IntoParIter {
        fn into_par_iter(self) -> Range<usize>;
    }

    impl IntoParIter for Range<usize> {
        #[inline]
        fn into_par_iter(self) -> Range<usize> {
            self
        }
    }

    /// rayon's `try_for_each_init`: one state for the whole (sequential) run.
    pub(crate) trait ForEachInit: Iterator + Sized {
        /// rayon's `try_for_each_init`: stops at the first error, as rayon does (rayon may
        /// have run later pieces by then; nothing here depends on which ran).
        #[inline]
        fn try_for_each_init<S, E>(
            self,
            init: impl FnOnce() -> S,
            mut f: impl FnMut(&mut S, Self::Item) -> Result<(), E>,
        ) -> Result<(), E> {
            let mut state = init();
            self.into_iter().try_for_each(|item| f(&mut state, item))
        }
    }

    impl<I: Iterator> ForEachInit for I {}
}

#[cfg(test)]
mod tests {
    use super::prelude::*;

    #[test]
    fn pieces_cover_the_slices_in_order() {
        let x: Vec<u32> = (0..10).collect();
        let mut y = vec![0u32; 10];
        x.par_chunks(3)
            .zip(y.par_chunks_mut(3))
            .for_each(|(x, y)| y.iter_mut().zip(x).for_each(|(y, x)| *y = 2 * x));
        assert_eq!(y, (0..10).map(|v| 2 * v).collect::<Vec<_>>());
        y.par_iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v += i as u32);
        assert_eq!(y, (0..10).map(|v| 3 * v).collect::<Vec<_>>());
        let mut seen = vec![0usize; 4];
        let result: Result<(), ()> = seen
            .par_chunks_mut(1)
            .zip((0..4).into_par_iter())
            .try_for_each_init(
                || 1usize,
                |k, (s, i)| {
                    s[0] = i + *k;
                    Ok(())
                },
            );
        assert_eq!(result, Ok(()));
        assert_eq!(seen, [1, 2, 3, 4]);
    }
}
