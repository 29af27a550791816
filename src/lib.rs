//! pvstation: control software of a photovoltaic metrology test station.
//!
//! Layers, top to bottom (each uses only layers below it; enforced by `tests/it/layering.rs`,
//! which also keeps the device stack apart from the metrology core and the core pure):
//!
//! ```text
//! cli            clap commands; builds the bench (real or simulated) and hands it down
//! tui            the operator's console: state, keys -> actions -> state, drawing from &state
//! app            services both faces share: start / dry-run / resume a run, drafts, queue runner
//! engine         procedures (Rhai), host API by capability, journal + replay, gates
//! report         typed report model from stored data -> PDF / HTML / JSON / DCC
//! store          SQLite: runs, journal, raw, audit, refs, reports, queue; curve files; exports
//! sim            simulated world + devices (uses instrument and station types)
//! instruments    roles + drivers + profiles + station files
//! scpi           protocol client: resources, transports, framing, blocks, session, I/O log
//! uncertainty    GUM, MCM, budgets, decision rules, station models, parameter fits
//! analysis       pure I-V metrology: extraction, IEC 60891, irradiance, ECT, SMM
//! model          shared types, statuses, Clock (no I/O)
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod app;
pub mod cli;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod instruments;
pub mod modbus;
pub mod model;
pub mod report;
pub mod scpi;
pub mod sim;
pub mod store;
pub mod tui;
pub mod uncertainty;
