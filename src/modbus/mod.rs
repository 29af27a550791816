//! Modbus (RTU over RS-485 serial lines, and TCP): the protocol of digital pyranometers,
//! weather stations and our spectroradiometer, beside `scpi` for the bench instruments.
//! `frame` is the wire format shared with the simulated instruments, `registers` the typed
//! values, `resource` the resource strings of the station file.

pub mod frame;
pub mod registers;
pub mod resource;

pub use frame::{Exception, Request, Response};
pub use registers::{Kind, WordOrder};
pub use resource::ModbusResource;
