//! The spectral mismatch factor with its uncertainty by Monte Carlo over the spectral data
//! (IEC 60904-7:2019; Metro-PV 19ENG01 and PTB practice, standards.md §12.1: not a fixed
//! allowance).
//!
//! Each trial perturbs the measured spectrum and both spectral responsivities the way their
//! errors behave: a shape error correlated over the wavelength range — a linear tilt about the
//! range's middle, relative amplitude drawn from N(0, u_tilt) at the range's ends — plus an
//! independent error per value drawn from N(0, u_point). A common scale error cancels in the
//! factor and is not drawn. The factor is re-evaluated with `analysis::irradiance::
//! spectral_mismatch`; its standard uncertainty is the trials' standard deviation [U: the split
//! of each stated uncertainty into tilt and per-value parts is this module's model, stated in
//! the result].
//!
//! A spectroradiometer's range is often shorter than the devices' responses (Si array
//! spectrometers stop at 1100 nm, c-Si responds to ~1200 nm). The measured spectrum is then
//! extended over the responses' range with the AM1.5G reference spectrum's shape, scaled to the
//! measured spectrum over its last (first) 50 nm (IEC 60904-7 allows the extension with a
//! reference shape [R]); its uncertainty is rectangular, added in quadrature (see below).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::analysis::irradiance::{Spectrum, spectral_mismatch};

use super::UncertaintyError;

/// How one spectral data set may be wrong: relative tilt and per-value standard uncertainties.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpectralErrors {
    /// Relative error at the ends of the range, correlated (a tilt) [1].
    pub u_tilt: f64,
    /// Independent relative error of each value [1].
    pub u_point: f64,
}

/// The factor and its Monte Carlo standard uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MismatchResult {
    /// SMM at the measured data [1].
    pub smm: f64,
    /// Standard uncertainty [1].
    pub u: f64,
    /// Trials.
    pub trials: usize,
    /// The error models used (spectrum, DUT, reference).
    pub errors: [SpectralErrors; 3],
    /// The wavelengths [nm] the measured spectrum was extended to, when it was.
    pub extended_to: Option<[f64; 2]>,
    /// The extension's standard uncertainty (included in `u`) [1].
    pub u_extension: f64,
}

/// `measured` extended to `[lo, hi]` [nm] on the reference spectrum's wavelengths, with the
/// reference's shape scaled to the measured spectrum over 50 nm at each end.
fn extend(measured: &Spectrum, reference: &Spectrum, lo: f64, hi: f64) -> Spectrum {
    let w = &measured.wavelength;
    let (first, last) = (w[0], w[w.len() - 1]);
    let scale = |from: f64, to: f64| -> f64 {
        let (mut m, mut r) = (0.0, 0.0);
        for (x, v) in w.iter().zip(&measured.value) {
            if *x >= from && *x <= to {
                m += v;
                r += reference.at(*x);
            }
        }
        if r > 0.0 { m / r } else { 0.0 }
    };
    let (below, above) = (scale(first, first + 50.0), scale(last - 50.0, last));
    let mut points: Vec<(f64, f64)> = reference
        .wavelength
        .iter()
        .filter(|x| **x >= lo && **x < first)
        .map(|x| (*x, reference.at(*x) * below))
        .collect();
    points.extend(w.iter().copied().zip(measured.value.iter().copied()));
    points.extend(
        reference
            .wavelength
            .iter()
            .filter(|x| **x > last && **x <= hi)
            .map(|x| (*x, reference.at(*x) * above)),
    );
    Spectrum {
        wavelength: points.iter().map(|p| p.0).collect(),
        value: points.iter().map(|p| p.1).collect(),
    }
}

fn perturbed(s: &Spectrum, e: SpectralErrors, rng: &mut StdRng) -> Spectrum {
    let (lo, hi) = (s.wavelength[0], s.wavelength[s.wavelength.len() - 1]);
    let (mid, half) = (0.5 * (lo + hi), (0.5 * (hi - lo)).max(1e-9));
    let tilt = Normal::new(0.0, e.u_tilt).map_or(0.0, |d| d.sample(rng));
    let point = Normal::new(0.0, e.u_point).ok();
    Spectrum {
        wavelength: s.wavelength.clone(),
        value: s
            .wavelength
            .iter()
            .zip(&s.value)
            .map(|(w, v)| {
                let p = point.map_or(0.0, |d| d.sample(rng));
                (v * (1.0 + tilt * (w - mid) / half + p)).max(0.0)
            })
            .collect(),
    }
}

/// SMM of `measured` (spectral irradiance) for a DUT of responsivity `sr_dut` against a
/// reference of responsivity `sr_ref`, AM1.5G `reference` spectrum, with `trials` Monte Carlo
/// draws from `seed`.
pub fn mismatch_with_uncertainty(
    measured: (&Spectrum, SpectralErrors),
    sr_dut: (&Spectrum, SpectralErrors),
    sr_ref: (&Spectrum, SpectralErrors),
    reference: &Spectrum,
    trials: usize,
    seed: u64,
) -> Result<MismatchResult, UncertaintyError> {
    let invalid = |e: crate::analysis::AnalysisError| UncertaintyError::Invalid(e.to_string());
    // The responses' range beyond the measured one.
    let ends = |s: &Spectrum| (s.wavelength[0], s.wavelength[s.wavelength.len() - 1]);
    let (m_lo, m_hi) = ends(measured.0);
    let ((d_lo, d_hi), (r_lo, r_hi)) = (ends(sr_dut.0), ends(sr_ref.0));
    let (lo, hi) = (d_lo.min(r_lo), d_hi.max(r_hi));
    let extended_to = (lo < m_lo || hi > m_hi).then_some([lo.min(m_lo), hi.max(m_hi)]);
    let widen = |s: &Spectrum| match extended_to {
        Some([a, b]) => extend(s, reference, a, b),
        None => s.clone(),
    };
    let smm = spectral_mismatch(&widen(measured.0), reference, sr_dut.0, Some(sr_ref.0))
        .map_err(invalid)?;
    // The extension's half-width: the change it makes, or the difference between the two
    // devices' response fractions outside the measured range under AM1.5G, whichever is larger
    // (the unmeasured light may differ from the reference shape as much as it holds: the water
    // band at 1130 nm moves with the day's precipitable water) [U: a conservative bound of ours;
    // on the simulated plateau the truncation changed the factor by 0.14 %, this bound is 0.34 %].
    let u_extension = match extended_to {
        Some(_) => {
            let bare = spectral_mismatch(measured.0, reference, sr_dut.0, Some(sr_ref.0))
                .map_err(invalid)?;
            let outside = |sr: &Spectrum| -> f64 {
                let all = reference.integral(&|w| sr.at(w), f64::NEG_INFINITY, f64::INFINITY);
                let inside = reference.integral(&|w| sr.at(w), m_lo, m_hi);
                if all > 0.0 { 1.0 - inside / all } else { 0.0 }
            };
            let fractions = (outside(sr_dut.0) - outside(sr_ref.0)).abs();
            (smm - bare).abs().max(fractions) / 3f64.sqrt()
        }
        None => 0.0,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(trials);
    for _ in 0..trials.max(2) {
        let m = widen(&perturbed(measured.0, measured.1, &mut rng));
        let d = perturbed(sr_dut.0, sr_dut.1, &mut rng);
        let r = perturbed(sr_ref.0, sr_ref.1, &mut rng);
        if let Ok(v) = spectral_mismatch(&m, reference, &d, Some(&r)) {
            values.push(v);
        }
    }
    let n = values.len() as f64;
    if n < 2.0 {
        return Err(UncertaintyError::Invalid(
            "the spectral mismatch factor could not be evaluated in the trials".into(),
        ));
    }
    let mean = values.iter().sum::<f64>() / n;
    let u_data = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Ok(MismatchResult {
        smm,
        u: u_data.hypot(u_extension),
        trials: values.len(),
        errors: [measured.1, sr_dut.1, sr_ref.1],
        extended_to,
        u_extension,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_devices_have_unit_mismatch_and_their_shared_errors_cancel() {
        let am = Spectrum::am15g();
        let sr = Spectrum::new(vec![300.0, 700.0, 1100.0, 1200.0], vec![0.1, 0.6, 1.0, 0.0])
            .expect("sr");
        let red = Spectrum::new(
            am.wavelength
                .iter()
                .copied()
                .filter(|w| (300.0..=1100.0).contains(w))
                .collect(),
            am.wavelength
                .iter()
                .zip(&am.value)
                .filter(|(w, _)| (300.0..=1100.0).contains(*w))
                .map(|(w, v)| v * (1.0 + (w - 700.0) / 2000.0))
                .collect(),
        )
        .expect("measured");
        let none = SpectralErrors {
            u_tilt: 0.0,
            u_point: 0.0,
        };
        let some = SpectralErrors {
            u_tilt: 0.02,
            u_point: 0.01,
        };
        let r = mismatch_with_uncertainty((&red, some), (&sr, none), (&sr, none), &am, 500, 1)
            .expect("smm");
        // Same responsivity: SMM = 1 whatever the spectrum, so its errors do not matter.
        assert!((r.smm - 1.0).abs() < 1e-12 && r.u < 1e-12, "{r:?}");
        // A blue-only DUT against a red-heavy reference: the responsivity errors matter.
        let blue = Spectrum::new(vec![300.0, 500.0, 800.0], vec![0.2, 1.0, 0.0]).expect("sr");
        let r = mismatch_with_uncertainty((&red, some), (&blue, some), (&sr, some), &am, 500, 1)
            .expect("smm");
        assert!(r.smm < 1.0 && r.u > 1e-4 && r.u < 0.05, "{r:?}");
    }
}
