//! Irradiance from a reference device, equivalent cell temperature from Voc, and the
//! spectral mismatch factor with the AM1.5G reference spectrum.

use super::AnalysisError;

/// Irradiance at standard test conditions [W/m²].
pub const G_STC: f64 = 1000.0;

/// Irradiance from a reference device's short-circuit current.
///
/// # Equations
/// `G = G_STC · I_sc,meas / ( CV · [1 + α_rel,ref·(T_ref − 25 °C)] ) · SMM`
///
/// * `short_circuit_current` I_sc,meas [A] (shunt voltage / shunt resistance);
/// * `calibration_value` CV [A]: Isc of the reference device at STC from its certificate;
/// * `alpha_rel` α_rel,ref [1/K], `cell_temperature` T_ref [°C];
/// * `mismatch` SMM [1] (1 for a spectrally matched device): the irradiance *as seen by the
///   device under test*, G_eff = SMM·G (IEC 60904-7).
///
/// # References
/// standards.md §3.1 [R] — standard practice consistent with IEC 60891, IEC 60904-1 and
/// IEC 60904-2:2023 (built-in shunt, §4.4); SMM use per §3.2.
pub fn irradiance_from_reference(
    short_circuit_current: f64,
    calibration_value: f64,
    alpha_rel: f64,
    cell_temperature: f64,
    mismatch: f64,
) -> f64 {
    G_STC * short_circuit_current * mismatch
        / (calibration_value * (1.0 + alpha_rel * (cell_temperature - 25.0)))
}

/// Boltzmann constant over elementary charge [V/K] (CODATA 2018 exact).
const K_OVER_Q: f64 = 1.380_649e-23 / 1.602_176_634e-19;

/// The reference measurement of an equivalent-cell-temperature determination and the
/// device's Voc model parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VocReference {
    /// Voc1 of the reference measurement [V] (usually at STC).
    pub v_oc: f64,
    /// G1 [W/m²].
    pub irradiance: f64,
    /// T1 [°C].
    pub temperature: f64,
    /// β [V/K].
    pub beta: f64,
    /// Cells in series Ns.
    pub cells_in_series: u32,
    /// Diode ideality n [1].
    pub ideality: f64,
}

/// Equivalent cell temperature from Voc, absolute-coefficient form.
///
/// # Equations
/// `T = T1 + [Voc − Voc1 − Ns·n·(k·T_K/q)·ln(G/G1)] / β`, iterated once for the weak T
/// dependence of the thermal voltage (T_K first at T1, then at the first estimate).
///
/// * `v_oc` [V] measured at `irradiance` [W/m²]; the reference measurement and β [V/K],
///   Ns, n in `reference`.
///
/// # References
/// IEC 60904-5:2011+AMD1:2022 (formulae "in line with IEC 60891"); exact text [R],
/// standards.md §3.4: follows from the IEC 60891 procedure-2 and SAPM Voc models.
pub fn equivalent_cell_temperature(
    v_oc: f64,
    irradiance: f64,
    reference: &VocReference,
) -> Result<f64, AnalysisError> {
    let r = reference;
    if r.beta.is_nan()
        || r.beta >= 0.0
        || irradiance.is_nan()
        || irradiance <= 0.0
        || r.irradiance.is_nan()
        || r.irradiance <= 0.0
    {
        return Err(AnalysisError::Invalid(
            "equivalent cell temperature needs β < 0 and positive irradiances".into(),
        ));
    }
    let log_ratio = (irradiance / r.irradiance).ln();
    let mut t = r.temperature;
    for _ in 0..2 {
        let thermal = f64::from(r.cells_in_series) * r.ideality * K_OVER_Q * (t + 273.15);
        t = r.temperature + (v_oc - r.v_oc - thermal * log_ratio) / r.beta;
    }
    Ok(t)
}

pub use crate::model::spectrum::Spectrum;

/// Spectral mismatch factor (IEC 60904-7:2019).
///
/// # Equations
/// `SMM = [∫E_ref·s_ref dλ · ∫E_meas·s_DUT dλ] / [∫E_meas·s_ref dλ · ∫E_ref·s_DUT dλ]`
///
/// with E_ref the reference spectrum (AM1.5G), E_meas the measured spectrum, s_ref and
/// s_DUT the spectral responsivities of the reference device and the device under test
/// (relative values suffice). `s_ref = None` means a broadband (thermopile) reference,
/// s_ref ≡ 1. Integrals use the trapezoid rule on each spectrum's own wavelengths with the
/// responsivities interpolated to them ("interpolate the SR to the wavelengths of the
/// spectral-irradiance measurement, not vice versa"), and the reference spectrum sampled at
/// the measured wavelengths (as pvlib does).
///
/// # References
/// standards.md §3.2: [V] broadband case (pvlib `spectrum.calc_spectral_mismatch_field`,
/// PVPMC); two-device form [R], consistent with ASTM E973-16.
pub fn spectral_mismatch(
    measured: &Spectrum,
    reference: &Spectrum,
    sr_dut: &Spectrum,
    sr_ref: Option<&Spectrum>,
) -> Result<f64, AnalysisError> {
    // The reference spectrum sampled at the measured wavelengths (as pvlib does), so that
    // both integrals see the same spectral sampling.
    let reference = Spectrum {
        wavelength: measured.wavelength.clone(),
        value: measured
            .wavelength
            .iter()
            .map(|w| reference.at(*w))
            .collect(),
    };
    let all = (f64::NEG_INFINITY, f64::INFINITY);
    let s_dut = |wl: f64| sr_dut.at(wl);
    let s_ref = |wl: f64| sr_ref.map(|s| s.at(wl)).unwrap_or(1.0);
    let ref_ref = reference.integral(&s_ref, all.0, all.1);
    let meas_dut = measured.integral(&s_dut, all.0, all.1);
    let meas_ref = measured.integral(&s_ref, all.0, all.1);
    let ref_dut = reference.integral(&s_dut, all.0, all.1);
    let smm = ref_ref * meas_dut / (meas_ref * ref_dut);
    if !smm.is_finite() || smm <= 0.0 {
        return Err(AnalysisError::Invalid(
            "spectral mismatch undefined: the responsivities and spectra do not overlap".into(),
        ));
    }
    Ok(smm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irradiance_equation() {
        // At 25 °C the correction vanishes: G = 1000·Isc/CV.
        assert!(
            (irradiance_from_reference(0.1213, 0.1213, 0.0005, 25.0, 1.0) - 1000.0).abs() < 1e-9
        );
        // A warm cell overstates Isc by α·ΔT; the correction removes it.
        let isc = 0.1213 * 0.8 * (1.0 + 0.0005 * 20.0);
        assert!((irradiance_from_reference(isc, 0.1213, 0.0005, 45.0, 1.0) - 800.0).abs() < 1e-9);
        assert!((irradiance_from_reference(0.1213, 0.1213, 0.0, 25.0, 0.98) - 980.0).abs() < 1e-9);
    }

    #[test]
    fn am15g_integrates_to_1000_w() {
        let s = Spectrum::am15g();
        assert_eq!(s.wavelength.len(), 2002);
        // standards.md §3.3: trapezoid integral of the global column 1000.371 W/m².
        assert!((s.total() - 1000.371).abs() < 1e-3, "{}", s.total());
    }

    #[test]
    fn matched_devices_have_unit_mismatch() {
        let reference = Spectrum::am15g();
        let sr = Spectrum::new(vec![300.0, 700.0, 1100.0, 1200.0], vec![0.1, 0.6, 1.0, 0.0])
            .expect("sr");
        let measured = Spectrum::new(
            reference.wavelength.clone(),
            reference
                .wavelength
                .iter()
                .zip(&reference.value)
                .map(|(w, v)| v * (1.0 + (w - 700.0) / 2000.0))
                .collect(),
        )
        .expect("measured");
        assert!(
            (spectral_mismatch(&measured, &reference, &sr, Some(&sr)).expect("smm") - 1.0).abs()
                < 1e-12
        );
        assert!(
            (spectral_mismatch(&reference, &reference, &sr, None).expect("smm") - 1.0).abs()
                < 1e-12
        );
    }

    #[test]
    fn ect_inverts_the_voc_model() {
        // Voc(G, T) = Voc1 + Ns·n·Vt·ln(G/G1) + β·(T − T1) with Vt at T: ECT returns T.
        let (voc1, beta, ns, n) = (59.4, -0.2222, 96, 1.05);
        let t_true: f64 = 47.0;
        let g: f64 = 850.0;
        let vt = K_OVER_Q * (t_true + 273.15);
        let voc = voc1 + f64::from(ns) * n * vt * (g / 1000.0).ln() + beta * (t_true - 25.0);
        let reference = VocReference {
            v_oc: voc1,
            irradiance: 1000.0,
            temperature: 25.0,
            beta,
            cells_in_series: ns,
            ideality: n,
        };
        let t = equivalent_cell_temperature(voc, g, &reference).expect("ect");
        assert!((t - t_true).abs() < 0.02, "{t}");
        assert!(
            equivalent_cell_temperature(
                voc,
                g,
                &VocReference {
                    beta: 0.1,
                    ..reference
                }
            )
            .is_err()
        );
    }
}
