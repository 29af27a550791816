//! The fonts of the reports and plots, shipped in `reports/fonts/` and embedded here.

/// DejaVu Sans 2.37.
pub const REGULAR: &[u8] = include_bytes!("../../reports/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold 2.37.
pub const BOLD: &[u8] = include_bytes!("../../reports/fonts/DejaVuSans-Bold.ttf");
