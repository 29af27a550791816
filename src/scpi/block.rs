//! IEEE 488.2 arbitrary block response data (§8.7.9/§8.7.10 of the standard; see
//! `../shared/reference/instruments.md` §1.7) and REAL,32 / REAL,64 payload decoding.
//!
//! Definite form: `#<n><len><bytes>` with `n` one non-zero digit giving the number of length
//! digits. Indefinite form: `#0<bytes>` ended by the message terminator. Blocks may contain
//! any byte, including the terminator, so they are always read by length.

/// Byte order of binary REAL data (`FORMat:BORDer NORMal|SWAPped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Most significant byte first (`NORMal`, the IEEE 488.2 default).
    BigEndian,
    /// Least significant byte first (`SWAPped`).
    LittleEndian,
}

/// A malformed block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The data does not start with `#`.
    #[error("block data must start with `#`")]
    NoHash,
    /// The digit after `#` or a length digit is missing or not a digit.
    #[error("block header is malformed: {0}")]
    BadHeader(&'static str),
    /// Fewer bytes than the header announced.
    #[error("block announced {announced} bytes but only {available} are present")]
    Truncated {
        /// Bytes announced by the header.
        announced: usize,
        /// Bytes present.
        available: usize,
    },
    /// The payload length is not a multiple of the value size.
    #[error("block of {len} bytes is not a whole number of {size}-byte values")]
    Ragged {
        /// Payload length.
        len: usize,
        /// Size of one value.
        size: usize,
    },
}

/// Location of a definite block's payload in a buffer starting with `#`.
///
/// Returns `(payload_start, payload_len)`. An indefinite block (`#0`) returns
/// `payload_len = None`: its payload runs to the message terminator.
pub fn block_header(data: &[u8]) -> Result<(usize, Option<usize>), BlockError> {
    if data.first() != Some(&b'#') {
        return Err(BlockError::NoHash);
    }
    let n = match data.get(1) {
        Some(d) if d.is_ascii_digit() => usize::from(d - b'0'),
        Some(_) => return Err(BlockError::BadHeader("the byte after `#` is not a digit")),
        None => return Err(BlockError::BadHeader("nothing after `#`")),
    };
    if n == 0 {
        return Ok((2, None));
    }
    let digits = data
        .get(2..2 + n)
        .ok_or(BlockError::BadHeader("fewer length digits than announced"))?;
    let mut len = 0usize;
    for d in digits {
        if !d.is_ascii_digit() {
            return Err(BlockError::BadHeader("a length digit is not a digit"));
        }
        len = len * 10 + usize::from(d - b'0');
    }
    Ok((2 + n, Some(len)))
}

/// The payload of a complete definite or indefinite block (`terminator` ends an indefinite one).
pub fn block_payload<'a>(data: &'a [u8], terminator: &[u8]) -> Result<&'a [u8], BlockError> {
    let (start, len) = block_header(data)?;
    match len {
        Some(len) => data.get(start..start + len).ok_or(BlockError::Truncated {
            announced: len,
            available: data.len().saturating_sub(start),
        }),
        None => {
            let rest = &data[start..];
            Ok(rest.strip_suffix(terminator).unwrap_or(rest))
        }
    }
}

/// Decode fixed-size values, checking the payload is a whole number of them. Generic over
/// the conversion so that each byte order compiles to its own tight loop.
fn decode<const N: usize>(
    payload: &[u8],
    convert: impl Fn([u8; N]) -> f64,
) -> Result<Vec<f64>, BlockError> {
    if !payload.len().is_multiple_of(N) {
        return Err(BlockError::Ragged {
            len: payload.len(),
            size: N,
        });
    }
    Ok(payload
        .chunks_exact(N)
        .map(|c| {
            let mut bytes = [0u8; N];
            bytes.copy_from_slice(c);
            convert(bytes)
        })
        .collect())
}

/// Decode REAL,64 values.
pub fn decode_real64(payload: &[u8], order: ByteOrder) -> Result<Vec<f64>, BlockError> {
    match order {
        ByteOrder::BigEndian => decode(payload, f64::from_be_bytes),
        ByteOrder::LittleEndian => decode(payload, f64::from_le_bytes),
    }
}

/// Decode REAL,32 values (widened to `f64`).
pub fn decode_real32(payload: &[u8], order: ByteOrder) -> Result<Vec<f64>, BlockError> {
    match order {
        ByteOrder::BigEndian => decode(payload, |b| f64::from(f32::from_be_bytes(b))),
        ByteOrder::LittleEndian => decode(payload, |b| f64::from(f32::from_le_bytes(b))),
    }
}

/// Encode values as a definite REAL,64 block (used by the simulators and tests).
pub fn encode_real64_block(values: &[f64], order: ByteOrder) -> Vec<u8> {
    let len = values.len() * 8;
    let digits = len.to_string();
    let mut out = Vec::with_capacity(2 + digits.len() + len);
    out.push(b'#');
    out.extend_from_slice(digits.len().to_string().as_bytes());
    out.extend_from_slice(digits.as_bytes());
    for v in values {
        match order {
            ByteOrder::BigEndian => out.extend_from_slice(&v.to_be_bytes()),
            ByteOrder::LittleEndian => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

/// Encode values as a definite REAL,32 block.
pub fn encode_real32_block(values: &[f64], order: ByteOrder) -> Vec<u8> {
    let len = values.len() * 4;
    let digits = len.to_string();
    let mut out = Vec::with_capacity(2 + digits.len() + len);
    out.push(b'#');
    out.extend_from_slice(digits.len().to_string().as_bytes());
    out.extend_from_slice(digits.as_bytes());
    for v in values {
        // Narrowing is the point of REAL,32.
        let v = *v as f32;
        match order {
            ByteOrder::BigEndian => out.extend_from_slice(&v.to_be_bytes()),
            ByteOrder::LittleEndian => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite() {
        assert_eq!(block_header(b"#240"), Ok((4, Some(40))));
        assert_eq!(block_payload(b"#14AB\nC", b"\n"), Ok(&b"AB\nC"[..]));
        assert_eq!(block_payload(b"#0xyz\n", b"\n"), Ok(&b"xyz"[..]));
        assert_eq!(
            block_payload(b"#15AB", b"\n"),
            Err(BlockError::Truncated {
                announced: 5,
                available: 2
            })
        );
        assert!(matches!(block_header(b"#x"), Err(BlockError::BadHeader(_))));
        assert!(matches!(
            block_header(b"#3 1"),
            Err(BlockError::BadHeader(_))
        ));
    }

    #[test]
    fn real_round_trips_in_both_orders() {
        let values = [1.5, -2.25e-9, 1e300, 0.0];
        for order in [ByteOrder::BigEndian, ByteOrder::LittleEndian] {
            let block = encode_real64_block(&values, order);
            let payload = block_payload(&block, b"\n").expect("complete block");
            assert_eq!(decode_real64(payload, order).expect("whole values"), values);
            let block = encode_real32_block(&[1.5, -0.25], order);
            let payload = block_payload(&block, b"\n").expect("complete block");
            assert_eq!(
                decode_real32(payload, order).expect("whole values"),
                [1.5, -0.25]
            );
        }
        // Known bytes: 1.0 as big-endian f64.
        let one = [0x3f, 0xf0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode_real64(&one, ByteOrder::BigEndian), Ok(vec![1.0]));
        assert!(matches!(
            decode_real64(&one[..7], ByteOrder::BigEndian),
            Err(BlockError::Ragged { .. })
        ));
    }
}
