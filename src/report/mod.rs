//! Reports and their graphics. For now: the plots.

pub mod plot;
