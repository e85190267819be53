//! Text formatting shared by `update` (status messages) and `view`.

/// Thousands separators: 120000 -> "120,000".
pub use crate::text::thousands as num;
