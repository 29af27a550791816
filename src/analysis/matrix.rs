//! The IEC 61853-1 power matrix: Pmax on the standard's irradiance × temperature grid, from a
//! set of measured curves binned onto it.
//!
//! Grid (22 points; standards.md §5 [V: pvlib example, NREL mPERT files]):
//!
//! | T \ G (W/m²) | 100 | 200 | 400 | 600 | 800 | 1000 | 1100 |
//! |---|---|---|---|---|---|---|---|
//! | 15 °C | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | – |
//! | 25 °C | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | 50 °C | – | – | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | 75 °C | – | – | – | ✓ | ✓ | ✓ | ✓ |
//!
//! A curve falls in a cell when its irradiance is within ±`irradiance_tolerance` (relative)
//! and its temperature within ±`temperature_tolerance` [K] of the cell. With a correction
//! method the curve is first translated to the cell's exact conditions (IEC 60891), otherwise
//! its measured Pmax is used as is. Tolerances are [R] defaults, editable.

use serde::Serialize;

use super::AnalysisError;
use super::curve::IvData;
use super::extract::extract;
use super::iec60891::{Conditions, Method, translate_and_extract};

/// Irradiance levels of the grid [W/m²].
pub const IRRADIANCES: [f64; 7] = [100.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1100.0];
/// Temperature levels of the grid [°C].
pub const TEMPERATURES: [f64; 4] = [15.0, 25.0, 50.0, 75.0];

/// Whether a (G, T) cell is part of the IEC 61853-1 matrix.
pub fn in_grid(irradiance: f64, temperature: f64) -> bool {
    match temperature as i64 {
        15 => irradiance <= 1000.0,
        25 => true,
        50 => irradiance >= 400.0,
        75 => irradiance >= 600.0,
        _ => false,
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixCell {
    /// Nominal irradiance [W/m²].
    pub irradiance: f64,
    /// Nominal temperature [°C].
    pub temperature: f64,
    /// Curves binned here.
    pub curves: usize,
    /// Mean Pmax [W] (None when empty).
    pub p_mp: Option<f64>,
    /// Experimental standard deviation of the binned Pmax [W] (None with fewer than 2).
    pub p_mp_sd: Option<f64>,
}

/// Bin `curves` (each with its measured conditions) onto the grid.
pub fn power_matrix(
    curves: &[(&IvData, Conditions)],
    method: Option<&Method>,
    irradiance_tolerance: f64,
    temperature_tolerance: f64,
) -> Result<Vec<MatrixCell>, AnalysisError> {
    let mut cells = Vec::new();
    for &t in &TEMPERATURES {
        for &g in &IRRADIANCES {
            if !in_grid(g, t) {
                continue;
            }
            let mut values = Vec::new();
            for (data, c) in curves {
                if (c.irradiance - g).abs() > irradiance_tolerance * g
                    || (c.temperature - t).abs() > temperature_tolerance
                {
                    continue;
                }
                let p = match method {
                    Some(m) => {
                        translate_and_extract(
                            data,
                            m,
                            Some(*c),
                            Conditions {
                                irradiance: g,
                                temperature: t,
                            },
                        )?
                        .1
                        .p_mp
                    }
                    None => extract(data)?.p_mp,
                };
                values.push(p);
            }
            let n = values.len();
            let mean = (n > 0).then(|| values.iter().sum::<f64>() / n as f64);
            let sd = (n > 1).then(|| {
                let m = mean.unwrap_or(0.0);
                (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
            });
            cells.push(MatrixCell {
                irradiance: g,
                temperature: t,
                curves: n,
                p_mp: mean,
                p_mp_sd: sd,
            });
        }
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_has_22_points() {
        let n = TEMPERATURES
            .iter()
            .map(|t| IRRADIANCES.iter().filter(|g| in_grid(**g, *t)).count())
            .sum::<usize>();
        assert_eq!(n, 22);
    }
}
