//! Modbus application data units as bytes: the PDU of function codes 03, 04, 06 and 16 with
//! exception responses (Modbus Application Protocol Specification V1.1b3, §6.3, 6.4, 6.6,
//! 6.12, §7), framed for RTU (unit address + PDU + CRC-16, Modbus over Serial Line V1.02
//! §2.5.1) or TCP (MBAP header, Modbus Messaging on TCP/IP V1.0b §3.1.3).
//!
//! Written here rather than taken from tokio-modbus: the same codec serves the client and the
//! simulated instruments, and the client needs the exact bytes of every frame for the run's
//! I/O log (ISO/IEC 17025 7.5), which a higher-level crate does not hand out.

/// CRC-16/MODBUS (polynomial 0xA001 reflected, initial 0xFFFF; Serial Line V1.02 §6.2.2),
/// sent low byte first.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xffffu16;
    for b in bytes {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// A request PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// 03: read `count` holding registers from `address`.
    ReadHolding {
        /// First register (PDU address, from 0).
        address: u16,
        /// How many (1–125).
        count: u16,
    },
    /// 04: read `count` input registers from `address`.
    ReadInput {
        /// First register.
        address: u16,
        /// How many (1–125).
        count: u16,
    },
    /// 06: write one holding register.
    WriteSingle {
        /// Register.
        address: u16,
        /// Value.
        value: u16,
    },
    /// 16: write consecutive holding registers.
    WriteMultiple {
        /// First register.
        address: u16,
        /// Values (1–123).
        values: Vec<u16>,
    },
}

impl Request {
    /// Its function code.
    pub fn function(&self) -> u8 {
        match self {
            Request::ReadHolding { .. } => 0x03,
            Request::ReadInput { .. } => 0x04,
            Request::WriteSingle { .. } => 0x06,
            Request::WriteMultiple { .. } => 0x10,
        }
    }

    /// The first register it addresses.
    pub fn address(&self) -> u16 {
        match self {
            Request::ReadHolding { address, .. }
            | Request::ReadInput { address, .. }
            | Request::WriteSingle { address, .. }
            | Request::WriteMultiple { address, .. } => *address,
        }
    }

    /// The PDU bytes.
    pub fn pdu(&self) -> Vec<u8> {
        let mut out = vec![self.function()];
        match self {
            Request::ReadHolding { address, count } | Request::ReadInput { address, count } => {
                out.extend(address.to_be_bytes());
                out.extend(count.to_be_bytes());
            }
            Request::WriteSingle { address, value } => {
                out.extend(address.to_be_bytes());
                out.extend(value.to_be_bytes());
            }
            Request::WriteMultiple { address, values } => {
                out.extend(address.to_be_bytes());
                out.extend((values.len() as u16).to_be_bytes());
                out.push((2 * values.len()) as u8);
                for v in values {
                    out.extend(v.to_be_bytes());
                }
            }
        }
        out
    }

    /// Parse a request PDU (the simulated instruments' side).
    pub fn parse(pdu: &[u8]) -> Result<Request, Exception> {
        let word = |k: usize| -> Option<u16> {
            Some(u16::from_be_bytes([*pdu.get(k)?, *pdu.get(k + 1)?]))
        };
        let bad = Exception::IllegalDataValue;
        match pdu.first() {
            Some(0x03) | Some(0x04) => {
                let (address, count) = (word(1).ok_or(bad)?, word(3).ok_or(bad)?);
                if !(1..=125).contains(&count) || pdu.len() != 5 {
                    return Err(bad);
                }
                Ok(if pdu[0] == 0x03 {
                    Request::ReadHolding { address, count }
                } else {
                    Request::ReadInput { address, count }
                })
            }
            Some(0x06) if pdu.len() == 5 => Ok(Request::WriteSingle {
                address: word(1).ok_or(bad)?,
                value: word(3).ok_or(bad)?,
            }),
            Some(0x10) => {
                let (address, count) = (word(1).ok_or(bad)?, word(3).ok_or(bad)?);
                let bytes = usize::from(*pdu.get(5).ok_or(bad)?);
                if !(1..=123).contains(&count)
                    || bytes != 2 * usize::from(count)
                    || pdu.len() != 6 + bytes
                {
                    return Err(bad);
                }
                let values = (0..usize::from(count))
                    .filter_map(|k| word(6 + 2 * k))
                    .collect();
                Ok(Request::WriteMultiple { address, values })
            }
            _ => Err(Exception::IllegalFunction),
        }
    }
}

/// A Modbus exception code (Application Protocol V1.1b3 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    /// 01: the function is not supported.
    IllegalFunction,
    /// 02: the register address is not allowed.
    IllegalDataAddress,
    /// 03: a value in the request is not allowed.
    IllegalDataValue,
    /// 04: the device failed while performing the action.
    DeviceFailure,
    /// 05: accepted, the result comes later.
    Acknowledge,
    /// 06: busy with a long command.
    DeviceBusy,
    /// Any other code.
    Other(u8),
}

impl Exception {
    /// From its code.
    pub fn from_code(code: u8) -> Exception {
        match code {
            1 => Exception::IllegalFunction,
            2 => Exception::IllegalDataAddress,
            3 => Exception::IllegalDataValue,
            4 => Exception::DeviceFailure,
            5 => Exception::Acknowledge,
            6 => Exception::DeviceBusy,
            c => Exception::Other(c),
        }
    }

    /// Its code.
    pub fn code(self) -> u8 {
        match self {
            Exception::IllegalFunction => 1,
            Exception::IllegalDataAddress => 2,
            Exception::IllegalDataValue => 3,
            Exception::DeviceFailure => 4,
            Exception::Acknowledge => 5,
            Exception::DeviceBusy => 6,
            Exception::Other(c) => c,
        }
    }
}

impl std::fmt::Display for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Exception::IllegalFunction => "illegal function",
            Exception::IllegalDataAddress => "illegal data address",
            Exception::IllegalDataValue => "illegal data value",
            Exception::DeviceFailure => "server device failure",
            Exception::Acknowledge => "acknowledge (still working)",
            Exception::DeviceBusy => "server device busy",
            Exception::Other(_) => "unknown exception",
        };
        write!(f, "exception {:02} ({text})", self.code())
    }
}

/// What a response PDU said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Registers read (03, 04).
    Registers(Vec<u16>),
    /// A write acknowledged (06, 16): the address and the value or count echoed.
    Written {
        /// Register.
        address: u16,
        /// Value (06) or count (16).
        value: u16,
    },
    /// An exception response.
    Exception(Exception),
}

/// A response PDU that does not answer the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Modbus response: {0}")]
pub struct Malformed(pub String);

impl Response {
    /// The PDU answering `request` (the simulated instruments' side).
    pub fn pdu(&self, request: &Request) -> Vec<u8> {
        let f = request.function();
        match self {
            Response::Registers(values) => {
                let mut out = vec![f, (2 * values.len()) as u8];
                for v in values {
                    out.extend(v.to_be_bytes());
                }
                out
            }
            Response::Written { address, value } => {
                let mut out = vec![f];
                out.extend(address.to_be_bytes());
                out.extend(value.to_be_bytes());
                out
            }
            Response::Exception(e) => vec![f | 0x80, e.code()],
        }
    }

    /// Parse the response PDU to `request`, checking that it answers it.
    pub fn parse(request: &Request, pdu: &[u8]) -> Result<Response, Malformed> {
        let f = request.function();
        let bad = |what: &str| Malformed(format!("{what} ({})", hex(pdu)));
        match pdu.first() {
            Some(&c) if c == f | 0x80 => Ok(Response::Exception(Exception::from_code(
                *pdu.get(1).ok_or_else(|| bad("exception without a code"))?,
            ))),
            Some(&c) if c == f => match request {
                Request::ReadHolding { count, .. } | Request::ReadInput { count, .. } => {
                    let n = usize::from(*pdu.get(1).ok_or_else(|| bad("no byte count"))?);
                    if n != 2 * usize::from(*count) || pdu.len() != 2 + n {
                        return Err(bad(&format!("{n} bytes for {count} registers")));
                    }
                    Ok(Response::Registers(
                        pdu[2..]
                            .chunks(2)
                            .map(|w| u16::from_be_bytes([w[0], w[1]]))
                            .collect(),
                    ))
                }
                Request::WriteSingle { .. } | Request::WriteMultiple { .. } => {
                    if pdu.len() != 5 {
                        return Err(bad("a write echo is 5 bytes"));
                    }
                    Ok(Response::Written {
                        address: u16::from_be_bytes([pdu[1], pdu[2]]),
                        value: u16::from_be_bytes([pdu[3], pdu[4]]),
                    })
                }
            },
            Some(c) => Err(bad(&format!("function {c:#04x} answers function {f:#04x}"))),
            None => Err(bad("empty")),
        }
    }

    /// How long the response PDU to `request` is, once its first `seen` bytes are known (RTU
    /// has no length field; the reader needs it to find the frame's end). None: not yet known.
    pub fn expected_len(request: &Request, seen: &[u8]) -> Option<usize> {
        let f = *seen.first()?;
        if f & 0x80 != 0 {
            return Some(2);
        }
        match request {
            Request::ReadHolding { .. } | Request::ReadInput { .. } => {
                seen.get(1).map(|n| 2 + usize::from(*n))
            }
            _ => Some(5),
        }
    }
}

/// Bytes as spaced hex ("01 03 00 05").
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An RTU frame: unit address, PDU, CRC-16 (low byte first).
pub fn rtu(unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = vec![unit];
    out.extend_from_slice(pdu);
    let crc = crc16(&out);
    out.extend(crc.to_le_bytes());
    out
}

/// The PDU of an RTU frame from `unit`, after checking the address and the CRC.
pub fn rtu_pdu(unit: u8, frame: &[u8]) -> Result<&[u8], Malformed> {
    if frame.len() < 4 {
        return Err(Malformed(format!("RTU frame too short ({})", hex(frame))));
    }
    let (body, crc) = frame.split_at(frame.len() - 2);
    if crc16(body).to_le_bytes() != [crc[0], crc[1]] {
        return Err(Malformed(format!("CRC error ({})", hex(frame))));
    }
    if body[0] != unit {
        return Err(Malformed(format!(
            "answer from unit {} to a request for unit {unit}",
            body[0]
        )));
    }
    Ok(&body[1..])
}

/// A TCP frame: MBAP header (transaction, protocol 0, length, unit) and PDU.
pub fn tcp(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 + pdu.len());
    out.extend(transaction.to_be_bytes());
    out.extend([0, 0]);
    out.extend(((pdu.len() + 1) as u16).to_be_bytes());
    out.push(unit);
    out.extend_from_slice(pdu);
    out
}

/// A parsed MBAP header: (transaction, unit, PDU length).
pub fn mbap(header: &[u8; 7]) -> Result<(u16, u8, usize), Malformed> {
    let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if header[2..4] != [0, 0] || !(2..=254).contains(&length) {
        return Err(Malformed(format!("bad MBAP header ({})", hex(header))));
    }
    Ok((
        u16::from_be_bytes([header[0], header[1]]),
        header[6],
        length - 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_specifications_examples() {
        // Serial Line V1.02 / EKO MS-60 manual: read 2 holding registers from 2 at unit 1.
        let read = Request::ReadHolding {
            address: 2,
            count: 2,
        };
        assert_eq!(hex(&rtu(1, &read.pdu())), "01 03 00 02 00 02 65 CB");
        // The frame every Modbus tutorial shows: read input register 0 of unit 1.
        let input = Request::ReadInput {
            address: 0,
            count: 1,
        };
        assert_eq!(hex(&rtu(1, &input.pdu())), "01 04 00 00 00 01 31 CA");
        // Application Protocol §6.3 example: registers 108–110 → 022B 0000 0064.
        let r = Request::ReadHolding {
            address: 107,
            count: 3,
        };
        let pdu = [0x03, 0x06, 0x02, 0x2b, 0x00, 0x00, 0x00, 0x64];
        assert_eq!(
            Response::parse(&r, &pdu),
            Ok(Response::Registers(vec![0x022b, 0, 0x64]))
        );
        assert_eq!(Response::expected_len(&r, &pdu[..2]), Some(8));
        assert_eq!(
            Response::parse(&r, &[0x83, 0x02]),
            Ok(Response::Exception(Exception::IllegalDataAddress))
        );
        assert!(Response::parse(&r, &[0x04, 0x02, 0, 0]).is_err());
        // Write multiple (§6.12 example): 2 registers at 1 → 000A 0102.
        let w = Request::WriteMultiple {
            address: 1,
            values: vec![0x000a, 0x0102],
        };
        assert_eq!(hex(&w.pdu()), "10 00 01 00 02 04 00 0A 01 02");
        assert_eq!(Request::parse(&w.pdu()), Ok(w.clone()));
        let frame = rtu(1, &read.pdu());
        assert_eq!(rtu_pdu(1, &frame), Ok(&read.pdu()[..]));
        let mut broken = frame.clone();
        broken[3] ^= 1;
        assert!(rtu_pdu(1, &broken).unwrap_err().0.contains("CRC"));
        assert!(rtu_pdu(2, &frame).is_err());
        let t = tcp(0x1234, 1, &read.pdu());
        assert_eq!(hex(&t), "12 34 00 00 00 06 01 03 00 02 00 02");
        let header: [u8; 7] = t[..7].try_into().expect("seven bytes");
        assert_eq!(mbap(&header), Ok((0x1234, 1, 5)));
        assert_eq!(
            Request::parse(&[0x2b, 0x0e]),
            Err(Exception::IllegalFunction)
        );
    }
}
