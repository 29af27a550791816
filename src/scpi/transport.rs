//! Byte transports to instruments: raw TCP socket, serial port, Linux `usbtmc` device file.
//!
//! A transport is just an async byte stream; message framing lives in [`super::framing`] and
//! exchange semantics in [`super::session`]. Serial line settings and terminators are
//! per-instrument configuration (wrong terminators are the most common cause of client
//! timeouts, pyvisa#192/#397), so they come from the station file and never from globals.

use std::io;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};

use super::resource::Resource;

/// An async byte stream to an instrument.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Parity of a serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// No parity bit.
    #[default]
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// Flow control of a serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    /// None.
    #[default]
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

/// Serial line settings (station file table `[instrument.serial]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SerialSettings {
    /// Baud rate [bit/s].
    pub baud: u32,
    /// Data bits (5–8).
    pub data_bits: u8,
    /// Parity bit (none, odd, even).
    pub parity: Parity,
    /// Stop bits (1 or 2).
    pub stop_bits: u8,
    /// Flow control (none, RTS/CTS, XON/XOFF).
    pub flow_control: FlowControl,
}

impl Default for SerialSettings {
    fn default() -> Self {
        SerialSettings {
            baud: 9600,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: 1,
            flow_control: FlowControl::None,
        }
    }
}

impl SerialSettings {
    /// Check the values a UART can actually use; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(5..=8).contains(&self.data_bits) {
            return Err(format!(
                "data_bits = {} must be 5, 6, 7 or 8",
                self.data_bits
            ));
        }
        if !(1..=2).contains(&self.stop_bits) {
            return Err(format!("stop_bits = {} must be 1 or 2", self.stop_bits));
        }
        if self.baud == 0 {
            return Err("baud = 0 is not a baud rate (e.g. 9600, 19200, 38400)".into());
        }
        Ok(())
    }
}

/// Open a byte stream to `resource`.
pub async fn connect(resource: &Resource, serial: &SerialSettings) -> io::Result<Box<dyn Stream>> {
    match resource {
        Resource::Tcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            // Instruments exchange small messages: send them at once.
            stream.set_nodelay(true)?;
            Ok(Box::new(stream))
        }
        Resource::Serial { path } => {
            serial
                .validate()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let builder = tokio_serial::new(path, serial.baud)
                .data_bits(match serial.data_bits {
                    5 => tokio_serial::DataBits::Five,
                    6 => tokio_serial::DataBits::Six,
                    7 => tokio_serial::DataBits::Seven,
                    _ => tokio_serial::DataBits::Eight,
                })
                .parity(match serial.parity {
                    Parity::None => tokio_serial::Parity::None,
                    Parity::Odd => tokio_serial::Parity::Odd,
                    Parity::Even => tokio_serial::Parity::Even,
                })
                .stop_bits(if serial.stop_bits == 2 {
                    tokio_serial::StopBits::Two
                } else {
                    tokio_serial::StopBits::One
                })
                .flow_control(match serial.flow_control {
                    FlowControl::None => tokio_serial::FlowControl::None,
                    FlowControl::Software => tokio_serial::FlowControl::Software,
                    FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
                });
            let port = tokio_serial::SerialStream::open(&builder).map_err(io::Error::from)?;
            Ok(Box::new(port))
        }
        Resource::Usbtmc { path } => {
            // The kernel usbtmc driver frames USBTMC messages: one write() is one
            // DEV_DEP_MSG_OUT, one read() returns the reply.
            let file = tokio::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .await?;
            Ok(Box::new(file))
        }
    }
}
