//! pvstation: control software of a photovoltaic metrology test station.
//!
//! Layers (each depends only on layers below it, enforced by `tests/it/layering.rs`):
//!
//! ```text
//! cli                      operator face: clap commands
//! instruments   sim        roles + drivers + profiles + station | simulated world + devices
//! scpi                     client: resources, transports, framing, blocks, session, I/O log
//! model                    shared types (no I/O)
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod app;
pub mod cli;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod instruments;
pub mod model;
pub mod report;
pub mod scpi;
pub mod sim;
pub mod store;
pub mod tui;
pub mod uncertainty;
