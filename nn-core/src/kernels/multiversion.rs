//! Element-wise sweeps compiled once per instruction set and picked at run time.
//!
//! A plain loop over slices auto-vectorises to the widest vectors the function is compiled for;
//! a default build compiles for SSE2. `multiversion!` wraps one loop body in AVX-512 and AVX2
//! copies (`#[target_feature]` functions into which the body is inlined) and dispatches on
//! [`Isa::current`](super::isa::Isa::current). Rust never contracts `a * b + c` into an FMA, and
//! sqrt and division are exact in every width, so every copy gives bit-identical results.

/// `multiversion! { /// doc \n pub fn name(a: T, …) { body } }`
#[macro_export]
#[doc(hidden)]
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            unsafe fn avx512($($arg: $ty),*) {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) {
                body($($arg),*)
            }

            match $crate::kernels::isa::Isa::current() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: Isa::current() is Avx512 only when the CPU has AVX-512F.
                $crate::kernels::isa::Isa::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: Isa::current() is Avx2 only when the CPU has AVX2 and FMA.
                $crate::kernels::isa::Isa::Avx2 => unsafe { avx2($($arg),*) },
                _ => body($($arg),*),
            }
        }
    };
}

/// `multiversion!` for a method of a generic type (a nested `fn` cannot name the impl's
/// parameters, so the copies are sibling methods, named by the caller):
/// `multiversion_method! { /// doc \n fn name(&self, a: T, …) => body, avx512_copy, avx2_copy; }`
/// defines `name`, which runs the `#[inline(always)]` method `body` inside an AVX-512 or AVX2
/// copy as [`Isa::current`](super::isa::Isa::current) says. What the body calls through a
/// non-inlined function (a GEMM) dispatches itself; what inlines into it (loops over slices,
/// `wide` vectors, the activations' vector forms) is compiled for the wider registers. The
/// same argument as `multiversion!`'s makes every copy bit-identical.
#[macro_export]
#[doc(hidden)]
macro_rules! multiversion_method {
    ($(#[$meta:meta])* $vis:vis fn $name:ident(&$self:ident $(, $arg:ident: $ty:ty)* $(,)?)
        => $body:ident, $avx512:ident, $avx2:ident;) => {
        $(#[$meta])*
        $vis fn $name(&$self $(, $arg: $ty)*) {
            match $crate::kernels::isa::Isa::current() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: Isa::current() is Avx512 only when the CPU has AVX-512F.
                $crate::kernels::isa::Isa::Avx512 => unsafe { $self.$avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: Isa::current() is Avx2 only when the CPU has AVX2 and FMA.
                $crate::kernels::isa::Isa::Avx2 => unsafe { $self.$avx2($($arg),*) },
                _ => $self.$body($($arg),*),
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $avx512(&$self $(, $arg: $ty)*) {
            $self.$body($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $avx2(&$self $(, $arg: $ty)*) {
            $self.$body($($arg),*)
        }
    };
}
