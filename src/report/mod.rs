//! Reports: the report model built from stored data, its renderers, and the plots.

pub mod dcc;
pub mod model;
pub mod pdf;
pub mod plot;
pub mod render;
pub mod sign;
