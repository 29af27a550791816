//! VISA-style resource strings.
//!
//! Supported forms (case-insensitive interface keyword, as in NI-VISA):
//! - `TCPIP[n]::host::port::SOCKET` — raw socket, usually port 5025;
//! - `ASRL<device path>::INSTR` — a serial port (`ASRL/dev/ttyUSB0::INSTR`); the line settings
//!   come from the station file, not the resource string;
//! - `USB[n]::<device path>::INSTR` where the path is a Linux `usbtmc` character device
//!   (`USB::/dev/usbtmc0::INSTR`); the kernel driver does the USBTMC framing.
//!
//! VXI-11 (`TCPIP::host::INSTR`), HiSLIP and GPIB are rejected with a message naming the part.

use std::fmt;

/// A parsed resource string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Raw TCP socket.
    Tcp {
        /// Host name or address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// Serial port by device path.
    Serial {
        /// Device path, e.g. `/dev/ttyUSB0` or `/dev/pts/3`.
        path: String,
    },
    /// Linux `usbtmc` character device.
    Usbtmc {
        /// Device path, e.g. `/dev/usbtmc0`.
        path: String,
    },
}

/// Why a resource string was rejected; the message names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad resource string `{resource}`: {problem}")]
pub struct ResourceError {
    /// The full resource string as given.
    pub resource: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl Resource {
    /// Parse a VISA resource string.
    pub fn parse(text: &str) -> Result<Self, ResourceError> {
        let fail = |problem: String| ResourceError {
            resource: text.to_string(),
            problem,
        };
        let parts: Vec<&str> = text.trim().split("::").collect();
        let first = parts.first().copied().unwrap_or_default();
        let upper = first.to_ascii_uppercase();
        if let Some(board) = upper.strip_prefix("TCPIP") {
            if !board.chars().all(|c| c.is_ascii_digit()) {
                return Err(fail(format!(
                    "interface part `{first}` must be `TCPIP` or `TCPIP<board number>`"
                )));
            }
            match parts.as_slice() {
                [_, host, port, class] if class.eq_ignore_ascii_case("SOCKET") => {
                    if host.is_empty() {
                        return Err(fail("host part is empty".into()));
                    }
                    let port: u16 = port.parse().map_err(|_| {
                        fail(format!(
                            "port part `{port}` is not a TCP port number (1-65535)"
                        ))
                    })?;
                    if port == 0 {
                        return Err(fail("port part `0` is not a usable TCP port".into()));
                    }
                    Ok(Resource::Tcp {
                        host: host.to_string(),
                        port,
                    })
                }
                [_, _, class] if class.eq_ignore_ascii_case("INSTR") => Err(fail(
                    "VXI-11 (`TCPIP::host::INSTR`) is not supported; use the raw socket form \
                     `TCPIP::host::5025::SOCKET`"
                        .into(),
                )),
                [_, _, _, class] => Err(fail(format!(
                    "resource class part `{class}` must be `SOCKET` for a TCP resource"
                ))),
                _ => Err(fail(
                    "a TCP resource has four parts: `TCPIP::host::port::SOCKET`".into(),
                )),
            }
        } else if upper.starts_with("ASRL") {
            let path = &first[4..];
            match parts.as_slice() {
                [_, class] if class.eq_ignore_ascii_case("INSTR") => {
                    if path.is_empty() {
                        return Err(fail(
                            "device path after `ASRL` is empty; write e.g. `ASRL/dev/ttyUSB0::INSTR`"
                                .into(),
                        ));
                    }
                    Ok(Resource::Serial {
                        path: path.to_string(),
                    })
                }
                [_, class] => Err(fail(format!(
                    "resource class part `{class}` must be `INSTR` for a serial resource"
                ))),
                _ => Err(fail(
                    "a serial resource has two parts: `ASRL<device path>::INSTR`".into(),
                )),
            }
        } else if let Some(board) = upper.strip_prefix("USB") {
            if !board.chars().all(|c| c.is_ascii_digit()) {
                return Err(fail(format!(
                    "interface part `{first}` must be `USB` or `USB<board number>`"
                )));
            }
            match parts.as_slice() {
                [_, path, class] if class.eq_ignore_ascii_case("INSTR") => {
                    if !path.starts_with('/') {
                        return Err(fail(format!(
                            "device part `{path}` must be the path of a Linux usbtmc device, \
                             e.g. `/dev/usbtmc0` (vendor::product::serial addressing needs a VISA library)"
                        )));
                    }
                    Ok(Resource::Usbtmc {
                        path: path.to_string(),
                    })
                }
                _ => Err(fail(
                    "a USBTMC resource has three parts: `USB::/dev/usbtmcN::INSTR`".into(),
                )),
            }
        } else if first.is_empty() {
            Err(fail("resource string is empty".into()))
        } else {
            Err(fail(format!(
                "interface part `{first}` is not supported; use `TCPIP`, `ASRL` or `USB`"
            )))
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Tcp { host, port } => write!(f, "TCPIP::{host}::{port}::SOCKET"),
            Resource::Serial { path } => write!(f, "ASRL{path}::INSTR"),
            Resource::Usbtmc { path } => write!(f, "USB::{path}::INSTR"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            Resource::parse("TCPIP0::192.168.1.5::5025::SOCKET"),
            Ok(Resource::Tcp {
                host: "192.168.1.5".into(),
                port: 5025
            })
        );
        assert_eq!(
            Resource::parse("tcpip::localhost::5025::socket").map(|r| r.to_string()),
            Ok("TCPIP::localhost::5025::SOCKET".into())
        );
        assert_eq!(
            Resource::parse("ASRL/dev/ttyUSB0::INSTR"),
            Ok(Resource::Serial {
                path: "/dev/ttyUSB0".into()
            })
        );
        assert_eq!(
            Resource::parse("USB0::/dev/usbtmc1::INSTR"),
            Ok(Resource::Usbtmc {
                path: "/dev/usbtmc1".into()
            })
        );
    }

    #[test]
    fn errors_name_the_bad_part() {
        let cases = [
            ("TCPIP::host::50x25::SOCKET", "port part `50x25`"),
            ("TCPIP::host::5025::SOCK", "resource class part `SOCK`"),
            ("TCPIP::host::INSTR", "VXI-11"),
            ("TCPIPx::host::5025::SOCKET", "interface part `TCPIPx`"),
            ("ASRL::INSTR", "device path after `ASRL` is empty"),
            ("ASRL/dev/ttyS0::SOCKET", "resource class part `SOCKET`"),
            ("GPIB0::12::INSTR", "interface part `GPIB0`"),
            (
                "USB::0x05E6::0x2450::INSTR",
                "a USBTMC resource has three parts",
            ),
            ("USB::0x2450::INSTR", "device part `0x2450`"),
            ("", "empty"),
        ];
        for (text, expected) in cases {
            let err = Resource::parse(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
