//! Modbus (RTU over RS-485 serial lines, and TCP): the protocol of digital pyranometers,
//! weather stations and our spectroradiometer, beside `scpi` for the bench instruments.
//! `frame` is the wire format shared with the simulated instruments, `client` the exchanges
//! (timeouts, retries, typed exceptions, every frame tapped for the I/O log), `registers` the
//! typed values, `resource` the resource strings of the station file.

pub mod client;
pub mod frame;
pub mod registers;
pub mod resource;

pub use client::{Client, Framing, ModbusError, Tap};
pub use frame::{Exception, Request, Response};
pub use registers::{Kind, WordOrder};
pub use resource::ModbusResource;
