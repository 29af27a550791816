//! The one integration-test binary (each extra `tests/*.rs` file would be another binary to
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! link, and linking is slow on the build machines).

mod certificates;
mod cli;
mod e2e;
mod engine;
mod faults;
mod fixtures;
mod fuzz;
mod golden;
mod iv_cli;
mod lab;
mod layering;
mod metrology;
mod outdoor;
mod properties;
mod realdata;
mod regression;
mod store;
mod tools;
mod transcripts;
mod tui;
mod uncertainty;
mod uncertainty_cli;
