//! The Mersenne Twister MT19937 as NumPy's legacy `RandomState` runs it, so that
//! [`train_test_split`](super::train_test_split) draws the permutation scikit-learn draws.
//!
//! `RandomState(seed)` with an integer seed is Matsumoto and Nishimura's `init_genrand(seed)`
//! (NumPy's `mt19937_seed`); `shuffle` is Fisher–Yates from the last element down, each index
//! drawn by `random_interval`: 32-bit outputs masked to the smallest all-ones mask covering the
//! bound, redrawn while above it.

/// Words of state.
const N: usize = 624;
/// The twist's offset.
const M: usize = 397;

/// MT19937 state.
pub(crate) struct Mt19937 {
    key: [u32; N],
    pos: usize,
}

impl Mt19937 {
    /// `init_genrand(seed)`: NumPy's `RandomState(seed)` for an integer seed.
    pub(crate) fn new(seed: u32) -> Self {
        let mut key = [0u32; N];
        let mut s = seed;
        for (i, k) in (1u32..).zip(key.iter_mut()) {
            *k = s;
            s = 1_812_433_253u32.wrapping_mul(s ^ (s >> 30)).wrapping_add(i);
        }
        Mt19937 { key, pos: N }
    }

    /// `genrand_int32`: the next 32-bit output.
    pub(crate) fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.twist();
        }
        let mut y = self.key.get(self.pos).copied().unwrap_or_default();
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Regenerates all N words.
    fn twist(&mut self) {
        for i in 0..N {
            let word = |j: usize| self.key.get(j % N).copied().unwrap_or_default();
            let y = (word(i) & 0x8000_0000) | (word(i + 1) & 0x7fff_ffff);
            let mut next = word(i + M) ^ (y >> 1);
            if y & 1 == 1 {
                next ^= 0x9908_b0df;
            }
            if let Some(k) = self.key.get_mut(i) {
                *k = next;
            }
        }
        self.pos = 0;
    }

    /// NumPy's legacy `random_interval(max)` for `max` < 2³²: uniform in `0..=max`.
    pub(crate) fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        loop {
            let value = self.next_u32() & mask;
            if value <= max {
                return value;
            }
        }
    }

    /// NumPy's legacy `RandomState.permutation(n)`: `arange(n)` shuffled in place.
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            // `train_test_split` checks n < 2³² before drawing, so `i` fits; the draw is ≤ i.
            let j = self.interval(u32::try_from(i).unwrap_or(u32::MAX)) as usize;
            order.swap(i, j.min(i));
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::Mt19937;

    #[test]
    fn reference_outputs_of_init_genrand() {
        // The reference implementation's default seed: first output 3499211612.
        let mut mt = Mt19937::new(5489);
        assert_eq!(mt.next_u32(), 3_499_211_612);
        // Past the first twist: the 10000th output of the default seed (C++ std::mt19937).
        let mut mt = Mt19937::new(5489);
        let last = (0..10_000).map(|_| mt.next_u32()).last();
        assert_eq!(last, Some(4_123_659_995));
    }

    #[test]
    fn numpy_permutation_of_seed_42() {
        // np.random.RandomState(42).permutation(10)
        assert_eq!(
            Mt19937::new(42).permutation(10),
            [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]
        );
    }
}
