//! Tabulated spectra: spectral irradiance [W·m⁻²·nm⁻¹] or relative spectral responsivity on
//! ascending wavelengths [nm], and the AM1.5G reference spectrum of IEC 60904-3 (ASTM G173-03
//! global tilt). Shared by the metrology core (spectral mismatch), the instruments (a
//! spectroradiometer's reading) and the simulated world (its detectors' calibration).

/// A tabulated spectrum or responsivity: wavelength [nm] ascending, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Wavelengths [nm], strictly ascending.
    pub wavelength: Vec<f64>,
    /// Values (spectral irradiance [W·m⁻²·nm⁻¹] or relative responsivity).
    pub value: Vec<f64>,
}

/// ASTM G173-03 global tilt, the IEC 60904-3 AM1.5G shape (provenance in the file header).
const AM15G_CSV: &str = include_str!("../../data/astm_g173_03_global.csv");

impl Spectrum {
    /// Build a spectrum, checking the wavelengths ascend and the values are finite.
    pub fn new(wavelength: Vec<f64>, value: Vec<f64>) -> Result<Spectrum, String> {
        if wavelength.len() != value.len() || wavelength.len() < 2 {
            return Err("a spectrum needs at least two (wavelength, value) pairs".to_string());
        }
        if !wavelength.windows(2).all(|w| w[1] > w[0]) {
            return Err("spectrum wavelengths must be strictly ascending".to_string());
        }
        if let Some(k) = value.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(format!("spectrum value {k} is negative or not a number"));
        }
        Ok(Spectrum { wavelength, value })
    }

    /// The AM1.5G reference spectrum (ASTM G173-03 global, 280–4000 nm), parsed once.
    pub fn am15g() -> Spectrum {
        static AM15G: std::sync::OnceLock<Spectrum> = std::sync::OnceLock::new();
        AM15G
            .get_or_init(|| {
                let mut wavelength = Vec::with_capacity(2002);
                let mut value = Vec::with_capacity(2002);
                for line in AM15G_CSV.lines().filter(|l| !l.starts_with('#')).skip(1) {
                    if let Some((w, v)) = line.split_once(',')
                        && let (Ok(w), Ok(v)) = (w.parse(), v.parse())
                    {
                        wavelength.push(w);
                        value.push(v);
                    }
                }
                Spectrum { wavelength, value }
            })
            .clone()
    }

    /// Linear interpolation at `wl` [nm]; 0 outside the tabulated range.
    pub fn at(&self, wl: f64) -> f64 {
        let w = &self.wavelength;
        if wl < w[0] || wl > w[w.len() - 1] {
            return 0.0;
        }
        let j = w.partition_point(|x| *x < wl).clamp(1, w.len() - 1);
        let (x0, x1) = (w[j - 1], w[j]);
        self.value[j - 1] + (self.value[j] - self.value[j - 1]) * (wl - x0) / (x1 - x0)
    }

    /// ∫ self(λ)·weight(λ) dλ by the trapezoid rule on this spectrum's wavelengths, restricted
    /// to `[lo, hi]` [nm].
    pub fn integral(&self, weight: &dyn Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
        let w = &self.wavelength;
        let mut sum = 0.0;
        for k in 1..w.len() {
            if w[k - 1] < lo || w[k] > hi {
                continue;
            }
            let a = self.value[k - 1] * weight(w[k - 1]);
            let b = self.value[k] * weight(w[k]);
            sum += 0.5 * (a + b) * (w[k] - w[k - 1]);
        }
        sum
    }

    /// Total: ∫ value dλ.
    pub fn total(&self) -> f64 {
        self.integral(&|_| 1.0, f64::NEG_INFINITY, f64::INFINITY)
    }
}

/// A relative spectral responsivity as a certificate or datasheet gives it: wavelengths [nm],
/// values (relative; the scale cancels in the mismatch factor), and the relative standard
/// uncertainty of the shape [1] (`[spectral_response]` in station and module files).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseTable {
    /// Wavelengths [nm], strictly ascending.
    pub wavelength: Vec<f64>,
    /// Relative responsivity at each wavelength, ≥ 0.
    pub value: Vec<f64>,
    /// Relative standard uncertainty of each value (k = 1) [1].
    pub u_relative: f64,
}

impl ResponseTable {
    /// Check the table; the problem in words.
    pub fn check(&self) -> Result<(), String> {
        Spectrum::new(self.wavelength.clone(), self.value.clone())?;
        if !(self.u_relative.is_finite() && (0.0..1.0).contains(&self.u_relative)) {
            return Err(format!(
                "u_relative = {}: give the relative standard uncertainty of the values, 0 ≤ u < 1",
                self.u_relative
            ));
        }
        Ok(())
    }

    /// As a spectrum.
    pub fn spectrum(&self) -> Spectrum {
        Spectrum {
            wavelength: self.wavelength.clone(),
            value: self.value.clone(),
        }
    }
}
