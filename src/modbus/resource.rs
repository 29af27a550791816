//! Modbus resource strings (a contract, beside the VISA-style ones of `scpi`):
//! `MODBUS-RTU::/dev/ttyUSB0::UNIT` (serial settings from the station file's serial table) and
//! `MODBUS-TCP::HOST::PORT::UNIT`.

/// Where a Modbus instrument is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModbusResource {
    /// RTU over a serial line (RS-485 adapter).
    Rtu {
        /// Device path.
        path: String,
        /// Unit (slave) address, 1–247.
        unit: u8,
    },
    /// Modbus TCP.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port (502 by default on devices).
        port: u16,
        /// Unit identifier, 0–255.
        unit: u8,
    },
}

impl ModbusResource {
    /// Parse a resource string; the error names the bad part and shows the right form.
    pub fn parse(text: &str) -> Result<ModbusResource, String> {
        let parts: Vec<&str> = text.trim().split("::").collect();
        let form = "MODBUS-RTU::/dev/ttyUSB0::UNIT or MODBUS-TCP::HOST::PORT::UNIT";
        let unit = |s: &str, max: u8, min: u8| -> Result<u8, String> {
            s.parse::<u8>()
                .ok()
                .filter(|u| (min..=max).contains(u))
                .ok_or_else(|| format!("`{text}`: unit `{s}` must be {min}–{max} ({form})"))
        };
        match parts.first().map(|p| p.to_ascii_uppercase()).as_deref() {
            Some("MODBUS-RTU") => match parts[1..] {
                [path, u] if !path.is_empty() => Ok(ModbusResource::Rtu {
                    path: path.to_string(),
                    unit: unit(u, 247, 1)?,
                }),
                _ => Err(format!("`{text}`: give {form}")),
            },
            Some("MODBUS-TCP") => match parts[1..] {
                [host, port, u] if !host.is_empty() => Ok(ModbusResource::Tcp {
                    host: host.to_string(),
                    port: port
                        .parse()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| format!("`{text}`: port `{port}` is not 1–65535"))?,
                    unit: unit(u, 255, 0)?,
                }),
                _ => Err(format!("`{text}`: give {form}")),
            },
            _ => Err(format!("`{text}` is not a Modbus resource: give {form}")),
        }
    }

    /// The unit address.
    pub fn unit(&self) -> u8 {
        match self {
            ModbusResource::Rtu { unit, .. } | ModbusResource::Tcp { unit, .. } => *unit,
        }
    }
}

impl std::fmt::Display for ModbusResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModbusResource::Rtu { path, unit } => write!(f, "MODBUS-RTU::{path}::{unit}"),
            ModbusResource::Tcp { host, port, unit } => {
                write!(f, "MODBUS-TCP::{host}::{port}::{unit}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_print_back_and_bad_parts_are_named() {
        for text in [
            "MODBUS-RTU::/dev/ttyUSB0::1",
            "MODBUS-TCP::127.0.0.1::5020::0",
        ] {
            assert_eq!(ModbusResource::parse(text).expect(text).to_string(), text);
        }
        assert_eq!(
            ModbusResource::parse("modbus-rtu::/dev/ttyS1::247").map(|r| r.unit()),
            Ok(247)
        );
        let e = ModbusResource::parse("MODBUS-RTU::/dev/ttyUSB0::0").unwrap_err();
        assert!(e.contains("unit `0` must be 1–247"), "{e}");
        let e = ModbusResource::parse("MODBUS-TCP::host::http::1").unwrap_err();
        assert!(e.contains("port `http`"), "{e}");
        assert!(ModbusResource::parse("TCPIP::1.2.3.4::5025::SOCKET").is_err());
        assert!(ModbusResource::parse("MODBUS-TCP::host::502").is_err());
    }
}
