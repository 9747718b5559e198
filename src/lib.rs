pub use memo_core::*;
pub use memo_macros::memoize;
