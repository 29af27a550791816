//! Typed values in 16-bit registers: U16, S16, U32, S32 and F32 (IEEE 754) over two registers
//! in either word order, with a scale (value × 10^−scale, as the Kipp & Zonen SMP scale-factor
//! register says, or a fixed factor from the profile).

use serde::{Deserialize, Serialize};

/// How a value sits in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Unsigned 16 bit.
    U16,
    /// Signed 16 bit (two's complement).
    S16,
    /// Unsigned 32 bit, two registers.
    U32,
    /// Signed 32 bit, two registers.
    S32,
    /// IEEE 754 single precision, two registers.
    F32,
}

/// Which register of a 32-bit value comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WordOrder {
    /// High word first (big-endian; EKO, Hukseflux, most devices).
    #[default]
    HighFirst,
    /// Low word first ("swapped").
    LowFirst,
}

impl Kind {
    /// Registers it occupies.
    pub fn registers(self) -> usize {
        match self {
            Kind::U16 | Kind::S16 => 1,
            Kind::U32 | Kind::S32 | Kind::F32 => 2,
        }
    }

    /// Decode from `words` (at least [`Kind::registers`] of them). None: too few words.
    pub fn decode(self, words: &[u16], order: WordOrder) -> Option<f64> {
        let pair = || -> Option<u32> {
            let (a, b) = (*words.first()?, *words.get(1)?);
            let (hi, lo) = match order {
                WordOrder::HighFirst => (a, b),
                WordOrder::LowFirst => (b, a),
            };
            Some((u32::from(hi) << 16) | u32::from(lo))
        };
        Some(match self {
            Kind::U16 => f64::from(*words.first()?),
            Kind::S16 => f64::from(*words.first()? as i16),
            Kind::U32 => f64::from(pair()?),
            Kind::S32 => f64::from(pair()? as i32),
            Kind::F32 => f64::from(f32::from_bits(pair()?)),
        })
    }

    /// Encode `value` (the simulated instruments' side; rounded to the nearest integer for the
    /// integer kinds, saturating at their range).
    pub fn encode(self, value: f64, order: WordOrder) -> Vec<u16> {
        let split = |bits: u32| -> Vec<u16> {
            let (hi, lo) = ((bits >> 16) as u16, bits as u16);
            match order {
                WordOrder::HighFirst => vec![hi, lo],
                WordOrder::LowFirst => vec![lo, hi],
            }
        };
        let v = value.round();
        match self {
            Kind::U16 => vec![v.clamp(0.0, f64::from(u16::MAX)) as u16],
            Kind::S16 => vec![v.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16 as u16],
            Kind::U32 => split(v.clamp(0.0, f64::from(u32::MAX)) as u32),
            Kind::S32 => split(v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32 as u32),
            Kind::F32 => split((value as f32).to_bits()),
        }
    }
}

/// A raw register value scaled by a decimal scale factor: raw × 10^−`scale` (SMP register 4:
/// 2 → /100, 1 → /10, 0 → ×1, −1 → ×10).
pub fn scaled(raw: f64, scale: i32) -> f64 {
    // Dividing by the exact power of ten keeps 10234 / 10 = 1023.4 correctly rounded.
    if scale >= 0 {
        raw / 10f64.powi(scale)
    } else {
        raw * 10f64.powi(-scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode_in_both_word_orders_and_round_trip() {
        assert_eq!(
            Kind::S16.decode(&[0xfffe], WordOrder::HighFirst),
            Some(-2.0)
        );
        assert_eq!(
            Kind::U16.decode(&[0xfffe], WordOrder::HighFirst),
            Some(65534.0)
        );
        // 1000.5 as F32 is 0x447A2000.
        assert_eq!(
            Kind::F32.decode(&[0x447a, 0x2000], WordOrder::HighFirst),
            Some(1000.5)
        );
        assert_eq!(
            Kind::F32.decode(&[0x2000, 0x447a], WordOrder::LowFirst),
            Some(1000.5)
        );
        assert_eq!(
            Kind::S32.decode(&[0xffff, 0xfff6], WordOrder::HighFirst),
            Some(-10.0)
        );
        assert_eq!(
            Kind::U32.decode(&[0x0001, 0x0000], WordOrder::HighFirst),
            Some(65536.0)
        );
        assert_eq!(Kind::F32.decode(&[0x447a], WordOrder::HighFirst), None);
        for kind in [Kind::U16, Kind::S16, Kind::U32, Kind::S32, Kind::F32] {
            for order in [WordOrder::HighFirst, WordOrder::LowFirst] {
                let words = kind.encode(1234.0, order);
                assert_eq!(words.len(), kind.registers());
                assert_eq!(
                    kind.decode(&words, order),
                    Some(1234.0),
                    "{kind:?} {order:?}"
                );
            }
        }
        assert_eq!(
            Kind::S16.encode(-40000.0, WordOrder::HighFirst),
            vec![0x8000]
        );
        assert_eq!(scaled(10234.0, 1), 1023.4);
        assert_eq!(scaled(12.0, -1), 120.0);
    }
}
