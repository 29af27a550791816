//! Incidence-angle modifiers: how much of the light arriving at angle θ a glass-covered
//! device converts, relative to normal incidence. The Martin–Ruiz model (Martin, N. and
//! Ruiz, J. M. (2001), "Calculation of the PV modules angular losses under field conditions
//! by means of an analytical model", Sol. Energy Mater. Sol. Cells 70, 25–38; IEC 61853-2:2016
//! §7 fits it to measured angular responses; IEC 61853-3:2018 §7.2 gives its diffuse
//! integrals), as pvlib `iam.martin_ruiz` / `iam.martin_ruiz_diffuse` implement it; checked
//! against pvlib 0.16.1 (tests/reference/spectrl2.py).
//!
//! The angular-loss coefficient `a_r` [1] is the device's: ~0.16 for plain module glass,
//! ~0.14 for anti-reflective glass, larger for worse glass.

/// Beam IAM at angle of incidence `aoi` [°]: (1 − e^(−cos θ / a_r)) / (1 − e^(−1 / a_r)); 0 from
/// 90° on (light from behind the plane).
pub fn martin_ruiz(aoi: f64, a_r: f64) -> f64 {
    if aoi.is_nan() || aoi.abs() >= 90.0 {
        return 0.0;
    }
    (1.0 - (-aoi.to_radians().cos() / a_r).exp()) / (1.0 - (-1.0 / a_r).exp())
}

/// IAMs of isotropic sky-diffuse and ground-reflected light on a plane tilted `tilt` [°]:
/// (sky, ground). IEC 61853-3:2018 §7.2 with c1 = 4/(3π) = 0.4244 and c2 = 0.5·a_r − 0.154.
pub fn martin_ruiz_diffuse(tilt: f64, a_r: f64) -> (f64, f64) {
    // A horizontal (or upside-down) plane sees no ground: nudge off the singular tilts.
    let tilt = if tilt == 0.0 {
        1e-6
    } else if tilt == 180.0 {
        180.0 - 1e-6
    } else {
        tilt
    };
    let (c1, c2) = (0.4244, 0.5 * a_r - 0.154);
    let beta = tilt.to_radians();
    let pi = std::f64::consts::PI;
    let sin_beta = if tilt < 90.0 {
        beta.sin()
    } else {
        (pi - beta).sin()
    };
    let sky = sin_beta + (pi - beta - sin_beta) / (1.0 + beta.cos());
    let ground = sin_beta + (beta - sin_beta) / (1.0 - beta.cos());
    let f = |x: f64| 1.0 - (-(c1 + c2 * x) * x / a_r).exp();
    (f(sky), f(ground))
}

/// Relative difference between the irradiance a device under test converts and the one a
/// reference device reads, from their angular responses alone (both calibrated at normal
/// incidence), for a beam at `aoi` [°] and a share `diffuse_fraction` [1] of isotropic sky
/// diffuse light on a plane tilted `tilt` [°]:
/// `[(1 − f)·IAM_dut(θ) + f·D_dut] / [(1 − f)·IAM_ref(θ) + f·D_ref] − 1` [1].
///
/// The angular-response difference under direct and diffuse light of standards.md §12.1 (PTB,
/// Plag et al., Solar Energy 174 (2018) 431–444 [R]); Martin–Ruiz responses (above).
pub fn angular_mismatch(
    aoi: f64,
    diffuse_fraction: f64,
    tilt: f64,
    a_r_dut: f64,
    a_r_reference: f64,
) -> f64 {
    let f = diffuse_fraction.clamp(0.0, 1.0);
    let seen = |a_r: f64| (1.0 - f) * martin_ruiz(aoi, a_r) + f * martin_ruiz_diffuse(tilt, a_r).0;
    seen(a_r_dut) / seen(a_r_reference) - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_incidence_loses_nothing_and_grazing_light_is_lost() {
        assert!((martin_ruiz(0.0, 0.16) - 1.0).abs() < 1e-15);
        assert_eq!(martin_ruiz(90.0, 0.16), 0.0);
        assert_eq!(martin_ruiz(120.0, 0.16), 0.0);
        assert!(martin_ruiz(60.0, 0.14) > martin_ruiz(60.0, 0.16));
        let (sky, ground) = martin_ruiz_diffuse(35.0, 0.16);
        assert!(sky > 0.9 && sky < 1.0 && ground < sky, "{sky} {ground}");
    }

    /// Equal responses: no difference at any angle; a better (AR) module glass converts more
    /// of the diffuse light than the reference window, and the difference grows with it.
    #[test]
    fn angular_mismatch_vanishes_for_equal_responses_and_grows_with_diffuse_light() {
        assert!(angular_mismatch(30.0, 0.3, 30.0, 0.16, 0.16).abs() < 1e-15);
        assert!(angular_mismatch(0.0, 0.0, 30.0, 0.14, 0.17).abs() < 1e-15);
        let clear = angular_mismatch(5.0, 0.1, 30.0, 0.14, 0.17);
        let hazy = angular_mismatch(5.0, 0.3, 30.0, 0.14, 0.17);
        assert!(clear > 0.0 && hazy > 2.0 * clear, "{clear} {hazy}");
        // By hand: beam IAMs at 5°, sky IAMs at 30° tilt, weights 0.9/0.1.
        let (d, r) = (
            martin_ruiz_diffuse(30.0, 0.14).0,
            martin_ruiz_diffuse(30.0, 0.17).0,
        );
        let want =
            (0.9 * martin_ruiz(5.0, 0.14) + 0.1 * d) / (0.9 * martin_ruiz(5.0, 0.17) + 0.1 * r);
        assert!((clear - (want - 1.0)).abs() < 1e-15);
    }
}
