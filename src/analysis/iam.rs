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
}
