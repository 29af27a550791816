//! Where the sun is: the NREL Solar Position Algorithm (Reda, I. and Andreas, A. (2004), Solar
//! position algorithm for solar radiation applications, NREL/TP-560-34302; uncertainty
//! ±0.0003° for −2000 … 6000), topocentric, with atmospheric refraction; then the angle of
//! incidence on a module plane and the air mass.
//!
//! The equation numbers below are the report's (§3.1–3.15). Angles in degrees unless said;
//! the periodic terms of Tables A4.2 and A4.3 are data (`data/spa-periodic-terms.csv`).
//! Checked against pvlib's `solarposition.spa_python` at 1 200 times and places to ≤ 0.001°
//! (tests/reference/spa.py).

use std::sync::OnceLock;

/// A site: latitude [°, north +], longitude [°, east +], altitude [m].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    /// Geodetic latitude [°].
    pub latitude: f64,
    /// Longitude [°], east positive.
    pub longitude: f64,
    /// Elevation above sea level [m].
    pub altitude: f64,
}

/// The sun seen from a site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunPosition {
    /// Topocentric zenith angle without refraction [°].
    pub zenith: f64,
    /// Zenith angle with atmospheric refraction [°].
    pub apparent_zenith: f64,
    /// Azimuth, eastward from north [°].
    pub azimuth: f64,
    /// Topocentric declination [°].
    pub declination: f64,
    /// Earth–sun distance [AU].
    pub distance: f64,
}

struct Terms {
    /// L0…L5, B0…B1, R0…R4: rows of (A, B, C).
    series: Vec<Vec<(f64, f64, f64)>>,
    /// Nutation: (Y0…Y4, a, b, c, d).
    nutation: Vec<([f64; 5], [f64; 4])>,
}

const SERIES: [&str; 13] = [
    "L0", "L1", "L2", "L3", "L4", "L5", "B0", "B1", "R0", "R1", "R2", "R3", "R4",
];

fn terms() -> &'static Terms {
    static TERMS: OnceLock<Terms> = OnceLock::new();
    TERMS.get_or_init(|| {
        let text = include_str!("../../data/spa-periodic-terms.csv");
        let mut series = vec![Vec::new(); SERIES.len()];
        let mut nutation = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("series"))
        {
            let mut parts = line.split(',');
            let name = parts.next().unwrap_or_default();
            let v: Vec<f64> = parts.filter_map(|p| p.parse().ok()).collect();
            if name == "NU" && v.len() == 9 {
                nutation.push(([v[0], v[1], v[2], v[3], v[4]], [v[5], v[6], v[7], v[8]]));
            } else if let (Some(k), [a, b, c, ..]) =
                (SERIES.iter().position(|s| *s == name), v.as_slice())
            {
                series[k].push((*a, *b, *c));
            }
        }
        Terms { series, nutation }
    })
}

/// Σ A·cos(B + C·JME) of one series (eq. 9).
fn sum(series: &[(f64, f64, f64)], jme: f64) -> f64 {
    series.iter().map(|(a, b, c)| a * (b + c * jme).cos()).sum()
}

/// Σ_i L_i·JME^i / 10⁸ of series `from..to` (eq. 11), radians.
fn polynomial(t: &Terms, from: usize, to: usize, jme: f64) -> f64 {
    t.series[from..to]
        .iter()
        .enumerate()
        .map(|(i, s)| sum(s, jme) * jme.powi(i as i32))
        .sum::<f64>()
        / 1e8
}

fn limit(deg: f64) -> f64 {
    deg.rem_euclid(360.0)
}

/// The sun's position at `unix_s` [s, UTC] from `site`, with pressure [hPa] and temperature
/// [°C] for the refraction, and ΔT = TT − UT [s].
pub fn sun_position(
    unix_s: f64,
    site: Site,
    pressure_hpa: f64,
    temperature_c: f64,
    delta_t: f64,
) -> SunPosition {
    let t = terms();
    let (rad, deg) = (f64::to_radians, f64::to_degrees);
    // §3.1 time scales (eq. 4–7).
    let jd = unix_s / 86_400.0 + 2_440_587.5;
    let jde = jd + delta_t / 86_400.0;
    let jc = (jd - 2_451_545.0) / 36_525.0;
    let jce = (jde - 2_451_545.0) / 36_525.0;
    let jme = jce / 10.0;
    // §3.2 heliocentric longitude, latitude, radius (eq. 9–14).
    let l = limit(deg(polynomial(t, 0, 6, jme)));
    let b = deg(polynomial(t, 6, 8, jme));
    let r = polynomial(t, 8, 13, jme);
    // §3.3 geocentric (eq. 13–14).
    let theta = limit(l + 180.0);
    let beta = -b;
    // §3.4 nutation (eq. 15–23).
    let x = [
        297.85036 + 445_267.111_480 * jce - 0.001_914_2 * jce.powi(2) + jce.powi(3) / 189_474.0,
        357.52772 + 35_999.050_340 * jce - 0.000_160_3 * jce.powi(2) - jce.powi(3) / 300_000.0,
        134.96298 + 477_198.867_398 * jce + 0.008_697_2 * jce.powi(2) + jce.powi(3) / 56_250.0,
        93.27191 + 483_202.017_538 * jce - 0.003_682_5 * jce.powi(2) + jce.powi(3) / 327_270.0,
        125.04452 - 1_934.136_261 * jce + 0.002_070_8 * jce.powi(2) + jce.powi(3) / 450_000.0,
    ];
    let (mut dpsi, mut deps) = (0.0, 0.0);
    for (y, [a, bb, c, d]) in &t.nutation {
        let arg = rad(y.iter().zip(&x).map(|(yi, xi)| yi * xi).sum::<f64>());
        dpsi += (a + bb * jce) * arg.sin();
        deps += (c + d * jce) * arg.cos();
    }
    let (dpsi, deps) = (dpsi / 36_000_000.0, deps / 36_000_000.0);
    // §3.5 obliquity of the ecliptic (eq. 24–25).
    let u = jme / 10.0;
    let eps0 = [
        84_381.448, -4_680.93, -1.55, 1_999.25, -51.38, -249.67, -39.05, 7.12, 27.87, 5.79, 2.45,
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| c * u.powi(i as i32))
    .sum::<f64>();
    let eps = eps0 / 3600.0 + deps;
    // §3.6–3.7 aberration and apparent longitude (eq. 26–27).
    let dtau = -20.4898 / (3600.0 * r);
    let lambda = theta + dpsi + dtau;
    // §3.8 apparent sidereal time at Greenwich (eq. 28–29).
    let nu0 = limit(
        280.460_618_37 + 360.985_647_366_29 * (jd - 2_451_545.0) + 0.000_387_933 * jc.powi(2)
            - jc.powi(3) / 38_710_000.0,
    );
    let nu = nu0 + dpsi * rad(eps).cos();
    // §3.9–3.10 geocentric right ascension and declination (eq. 30–31).
    let (lr, er, br) = (rad(lambda), rad(eps), rad(beta));
    let alpha = limit(deg(
        (lr.sin() * er.cos() - br.tan() * er.sin()).atan2(lr.cos())
    ));
    let delta = deg((br.sin() * er.cos() + br.cos() * er.sin() * lr.sin()).asin());
    // §3.11 local hour angle (eq. 32).
    let h = limit(nu + site.longitude - alpha);
    // §3.12 topocentric (eq. 33–38).
    let xi = rad(8.794 / (3600.0 * r));
    let phi = rad(site.latitude);
    let uu = (0.996_647_19 * phi.tan()).atan();
    let xx = uu.cos() + site.altitude / 6_378_140.0 * phi.cos();
    let yy = 0.996_647_19 * uu.sin() + site.altitude / 6_378_140.0 * phi.sin();
    let (hr, dr) = (rad(h), rad(delta));
    let dalpha = (-xx * xi.sin() * hr.sin()).atan2(dr.cos() - xx * xi.sin() * hr.cos());
    let delta_p =
        ((dr.sin() - yy * xi.sin()) * dalpha.cos()).atan2(dr.cos() - xx * xi.sin() * hr.cos());
    let h_p = hr - dalpha;
    // §3.14 elevation, refraction, zenith (eq. 41–44).
    let e0 = deg((phi.sin() * delta_p.sin() + phi.cos() * delta_p.cos() * h_p.cos()).asin());
    // The refraction applies while the sun's upper limb can be above the horizon (SPA uses
    // −(0.26667 + 0.5667)°, the sun's radius and the refraction at the horizon).
    let de = if e0 >= -(0.266_67 + 0.566_7) {
        (pressure_hpa / 1010.0) * (283.0 / (273.0 + temperature_c)) * 1.02
            / (60.0 * rad(e0 + 10.3 / (e0 + 5.11)).tan())
    } else {
        0.0
    };
    // §3.15 azimuth (eq. 45–46).
    let gamma = deg(h_p
        .sin()
        .atan2(h_p.cos() * phi.sin() - delta_p.tan() * phi.cos()));
    SunPosition {
        zenith: 90.0 - e0,
        apparent_zenith: 90.0 - (e0 + de),
        azimuth: limit(gamma + 180.0),
        declination: deg(delta_p),
        distance: r,
    }
}

/// Angle of incidence [°] of the sun on a plane tilted `tilt` [°] from horizontal, facing
/// `surface_azimuth` [°, eastward from north] (SPA eq. 47; pvlib `irradiance.aoi`).
pub fn angle_of_incidence(zenith: f64, azimuth: f64, tilt: f64, surface_azimuth: f64) -> f64 {
    let (z, t) = (zenith.to_radians(), tilt.to_radians());
    let cos =
        z.cos() * t.cos() + z.sin() * t.sin() * (azimuth - surface_azimuth).to_radians().cos();
    cos.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Relative optical air mass at an apparent zenith angle [°]: Kasten, F. and Young, A. T.
/// (1989), Revised optical air mass tables and approximation formula, Applied Optics 28,
/// 4735–4738 (pvlib `atmosphere.get_relative_airmass(model='kastenyoung1989')`). None with
/// the sun below the horizon.
pub fn relative_air_mass(apparent_zenith: f64) -> Option<f64> {
    (apparent_zenith < 90.0).then(|| {
        1.0 / (apparent_zenith.to_radians().cos()
            + 0.50572 * (96.07995 - apparent_zenith).powf(-1.6364))
    })
}

/// Absolute (pressure-corrected) air mass: relative × p / 1013.25 hPa (pvlib
/// `atmosphere.get_absolute_airmass`).
pub fn absolute_air_mass(relative: f64, pressure_hpa: f64) -> f64 {
    relative * pressure_hpa / 1013.25
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reports_example_is_reproduced() {
        // Reda & Andreas (2004) Table A5.1: 2003-10-17 12:30:30 local (UTC−7), 39.742476 N,
        // −105.1786 E, 1830.14 m, 820 hPa, 11 °C, ΔT 67 s → zenith 50.11162°, azimuth
        // 194.34024°.
        let unix = 1_066_419_030.0;
        let p = sun_position(
            unix,
            Site {
                latitude: 39.742476,
                longitude: -105.1786,
                altitude: 1830.14,
            },
            820.0,
            11.0,
            67.0,
        );
        assert!((p.apparent_zenith - 50.11162).abs() < 2e-5, "{p:?}");
        assert!((p.azimuth - 194.34024).abs() < 2e-5, "{p:?}");
    }

    #[test]
    fn incidence_and_air_mass() {
        assert!((angle_of_incidence(30.0, 180.0, 30.0, 180.0)).abs() < 1e-9);
        assert!((angle_of_incidence(0.0, 0.0, 35.0, 180.0) - 35.0).abs() < 1e-9);
        let am = relative_air_mass(48.19).expect("sun up");
        assert!((am - 1.4986).abs() < 1e-3, "{am}");
        assert!(relative_air_mass(91.0).is_none());
        assert!((absolute_air_mass(1.5, 770.0) - 1.5 * 770.0 / 1013.25).abs() < 1e-12);
    }
}
