//! The simulated world's spectral sky, and what each detector makes of it.
//!
//! The clear sky is SPECTRL2 (`sim::spectrl2`, checked against pvlib) for the site's sun
//! (Michalsky's Astronomical Almanac algorithm, below: ±0.01°, independent of the NREL SPA the
//! station computes with, so the station's sun is checked against a different one), station
//! pressure (ISO 2533 at the site's altitude) and an
//! atmosphere drawn per local day from the seed: aerosol optical depth at 500 nm 0.03–0.15,
//! precipitable water 0.3–1.3 cm, ozone 0.28–0.34 atm-cm (a clean, dry plateau [U: the simulated
//! site's climate, not a measurement]). Clouds change the level *and* the shape: a cloud takes
//! beam light away (or, at its edge, adds some) and scatters a quarter of what it takes
//! greyly into the diffuse light; the clear sky's Rayleigh-blue diffuse stays, so the global
//! spectrum turns blue as a cloud passes [U: a simulated sky's rule].
//!
//! Every detector sees the light through its own spectral response and its own angular
//! response, and is calibrated the way real ones are: it reads 1000 W/m² under the AM1.5G
//! reference spectrum (ASTM G173-03, IEC 60904-3) at normal incidence. So a detector's reading
//! is its *effective* irradiance, `G_eff = 1000 · ∫E·s dλ / ∫E_AM1.5·s dλ` with the beam,
//! sky-diffuse and ground-reflected parts each weighted by the device's incidence-angle
//! modifier (glass physics: Fresnel reflection and absorption, below); both integrals use the trapezoid rule on the
//! SPECTRL2 wavelengths (the AM1.5G spectrum sampled there, as IEC 60904-7's mismatch
//! integrals are evaluated on the measured spectrum's grid). The ratio of two detectors'
//! readings is then exactly the IEC 60904-7 spectral mismatch factor times their angular
//! difference — the quantity the station must measure and correct.
//!
//! The clear sky is evaluated on a 60 s grid and interpolated (the sun moves 0.25° a minute).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::spectrl2::{Atmosphere, Geometry, spectrl2, wavelengths};
use crate::model::Date;
use crate::model::spectrum::Spectrum;

/// A site: latitude [°, north +], longitude [°, east +], altitude [m].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    /// Latitude [°].
    pub latitude: f64,
    /// Longitude [°], east positive.
    pub longitude: f64,
    /// Altitude [m].
    pub altitude: f64,
}

/// The sun seen from `site` at `t` [s since the Unix epoch, UT]: (zenith without refraction,
/// apparent zenith, azimuth eastward from north) [°].
///
/// Michalsky, J. J. (1988), "The Astronomical Almanac's algorithm for approximate solar
/// position (1950–2050)", Solar Energy 40(3), 227–235: mean longitude and anomaly, ecliptic
/// longitude, obliquity, right ascension and declination, Greenwich mean sidereal time, hour
/// angle; stated accuracy 0.01°. Refraction: Bennett (1982), scaled for pressure [hPa] and
/// temperature [°C] as in the Almanac.
pub fn sun(t: f64, site: Site, pressure_hpa: f64, temperature: f64) -> (f64, f64, f64) {
    let n = t / 86_400.0 + 2_440_587.5 - 2_451_545.0; // days from J2000.0
    let mean_longitude = (280.460 + 0.985_647_4 * n).rem_euclid(360.0);
    let g = (357.528 + 0.985_600_3 * n).rem_euclid(360.0).to_radians();
    let ecliptic = (mean_longitude + 1.915 * g.sin() + 0.020 * (2.0 * g).sin()).to_radians();
    let obliquity = (23.439 - 0.000_000_4 * n).to_radians();
    let ra = (obliquity.cos() * ecliptic.sin()).atan2(ecliptic.cos());
    let dec = (obliquity.sin() * ecliptic.sin()).asin();
    let ut_hours = (t / 3600.0).rem_euclid(24.0);
    let gmst = (6.697_375 + 0.065_709_824_2 * (n - ut_hours / 24.0) + 1.002_737_909 * ut_hours)
        .rem_euclid(24.0);
    let lmst = (gmst + site.longitude / 15.0).rem_euclid(24.0);
    let ha = (lmst * 15.0).to_radians() - ra;
    let lat = site.latitude.to_radians();
    let sin_el = dec.sin() * lat.sin() + dec.cos() * lat.cos() * ha.cos();
    let el = sin_el.clamp(-1.0, 1.0).asin();
    let az = (-ha.sin()).atan2(dec.tan() * lat.cos() - lat.sin() * ha.cos());
    let el_deg = el.to_degrees();
    let refraction = if el_deg > -1.0 {
        let arcmin = 1.0 / (el_deg + 7.31 / (el_deg + 4.4)).to_radians().tan();
        arcmin / 60.0 * (pressure_hpa / 1010.0) * (283.0 / (273.0 + temperature))
    } else {
        0.0
    };
    (
        90.0 - el_deg,
        90.0 - el_deg - refraction,
        az.to_degrees().rem_euclid(360.0),
    )
}

/// Angle between the sun at (zenith, azimuth) and the normal of a plane (tilt, azimuth) [°].
fn incidence(zenith: f64, azimuth: f64, tilt: f64, plane_azimuth: f64) -> f64 {
    let (z, b) = (zenith.to_radians(), tilt.to_radians());
    let cos = z.cos() * b.cos() + z.sin() * b.sin() * (azimuth - plane_azimuth).to_radians().cos();
    cos.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Relative optical air mass at apparent zenith `z` [°]: Kasten & Young (1989), Appl. Opt. 28.
fn air_mass(z: f64) -> f64 {
    1.0 / (z.to_radians().cos() + 0.50572 * (96.07995 - z).powf(-1.6364))
}

/// The glass in front of a detector: refractive index, optional anti-reflective coating index,
/// and absorption (extinction coefficient × thickness).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glass {
    /// Refractive index [1].
    pub n: f64,
    /// Index of an anti-reflective coating, if any [1].
    pub n_ar: Option<f64>,
    /// Extinction coefficient × thickness [1] (4 m⁻¹ × 2 mm).
    pub kl: f64,
}

impl Glass {
    /// Transmittance of unpolarised light at `aoi` [°] relative to normal incidence: Fresnel
    /// reflection of the s and p components at each interface (with the coating's multiple
    /// reflections) and Bouguer absorption along the refracted path (Duffie, J. A. and
    /// Beckman, W. A., Solar Engineering of Thermal Processes, 4th ed. (2013), §5.1–5.3; De Soto
    /// et al. (2006); pvlib `iam.physical`, which the test compares with).
    pub fn iam(&self, aoi: f64) -> f64 {
        if aoi.is_nan() || aoi.abs() >= 90.0 {
            return 0.0;
        }
        let transmitted = |cos1: f64| -> f64 {
            let n2 = self.n_ar.unwrap_or(self.n);
            let sin1 = (1.0 - cos1 * cos1).max(0.0).sqrt();
            let sin2 = sin1 / n2;
            let cos2 = (1.0 - sin2 * sin2).sqrt();
            let fresnel = |a: f64, ca: f64, b: f64, cb: f64| -> (f64, f64) {
                let s = ((a * ca - b * cb) / (a * ca + b * cb)).powi(2);
                let p = ((a * cb - b * ca) / (a * cb + b * ca)).powi(2);
                (s, p)
            };
            let (r12s, r12p) = fresnel(1.0, cos1, n2, cos2);
            let (mut ts, mut tp) = (1.0 - r12s, 1.0 - r12p);
            let mut cos_inside = cos2;
            if self.n_ar.is_some() {
                let sin3 = sin2 * n2 / self.n;
                let cos3 = (1.0 - sin3 * sin3).sqrt();
                let (r23s, r23p) = fresnel(n2, cos2, self.n, cos3);
                ts *= (1.0 - r23s) / (1.0 - r23s * r12s);
                tp *= (1.0 - r23p) / (1.0 - r23p * r12p);
                cos_inside = cos3;
            }
            0.5 * (ts + tp) * (-self.kl / cos_inside).exp()
        };
        transmitted(aoi.to_radians().cos()) / transmitted(1.0)
    }

    /// IAMs of isotropic sky-diffuse and ground-reflected light on a plane tilted `tilt` [°]:
    /// ∫IAM(θ)·cos θ dΩ / ∫cos θ dΩ over the part of the plane's hemisphere above (sky) or below
    /// (ground) the horizon, by the midpoint rule on 1° × 2° cells.
    pub fn diffuse(&self, tilt: f64) -> (f64, f64) {
        let b = tilt.to_radians();
        let (mut sky, mut sky_w, mut ground, mut ground_w) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..90 {
            let theta = i as f64 + 0.5;
            let (st, ct) = (theta.to_radians().sin(), theta.to_radians().cos());
            let iam = self.iam(theta);
            for j in 0..180 {
                let phi = ((j as f64 + 0.5) * 2.0).to_radians();
                // Height above the horizon of the direction (θ from the normal, φ around it,
                // φ = 0 up the slope).
                let up = ct * b.cos() + st * phi.cos() * b.sin();
                let w = ct * st; // cos θ · dΩ / (dθ dφ)
                if up > 0.0 {
                    sky += iam * w;
                    sky_w += w;
                } else {
                    ground += iam * w;
                    ground_w += w;
                }
            }
        }
        let ratio = |a: f64, w: f64| if w > 0.0 { a / w } else { 0.0 };
        (ratio(sky, sky_w), ratio(ground, ground_w))
    }
}

/// The plane the module, reference cells and plane-of-array pyranometer are mounted in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plane {
    /// A two-axis tracker pointing at the sun.
    Tracker,
    /// A fixed rack: tilt from horizontal [°], azimuth it faces [°, eastward from north].
    Fixed {
        /// Tilt [°].
        tilt: f64,
        /// Azimuth [°].
        azimuth: f64,
    },
}

/// The detectors of the simulated station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detector {
    /// The c-Si module under test: glass and EVA cut the UV; plain glass.
    Module,
    /// The WPVS-type c-Si reference cells (working and check): quartz window, better blue.
    ReferenceCell,
    /// A thermopile pyranometer: spectrally flat 285–2800 nm under its domes, ideal cosine.
    Thermopile,
    /// A CdTe thin-film module under test: window-layer blue loss, band edge near 850 nm, plain
    /// front glass.
    ThinFilmModule,
}

/// How many detectors [`Detector`] has.
const DETECTORS: usize = 4;

/// Every detector, in index order.
const ALL: [Detector; DETECTORS] = [
    Detector::Module,
    Detector::ReferenceCell,
    Detector::Thermopile,
    Detector::ThinFilmModule,
];

impl Detector {
    fn index(self) -> usize {
        self as usize
    }

    /// Relative spectral responsivity at `wl` [nm] (A/W up to a constant; the thermopile
    /// W/W). The c-Si devices: an external quantum efficiency rising past a UV edge and falling
    /// to the silicon band edge, times λ/1239.84 [U: typical shapes of the simulated devices,
    /// not any product's data].
    pub fn responsivity(self, wl: f64) -> f64 {
        let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
        let eqe = |uv: f64, uv_width: f64, ir: f64, ir_width: f64| {
            0.92 * logistic((wl - uv) / uv_width) * logistic((ir - wl) / ir_width)
        };
        match self {
            Detector::Module => eqe(372.0, 12.0, 1075.0, 34.0) * wl / 1239.84,
            Detector::ReferenceCell => eqe(335.0, 18.0, 1062.0, 30.0) * wl / 1239.84,
            // CdTe (E_g ≈ 1.45 eV): the CdS window absorbs below ~510 nm, the band edge
            // falls steeply at ~850 nm [U: typical shape, not any product's data].
            Detector::ThinFilmModule => {
                (0.55 * logistic((wl - 385.0) / 10.0) + 0.35 * logistic((wl - 505.0) / 12.0))
                    * logistic((845.0 - wl) / 9.0)
                    * wl
                    / 1239.84
            }
            Detector::Thermopile => {
                if (285.0..=2800.0).contains(&wl) {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// The glass in front of the detector, or `None` for an ideal cosine response: the module
    /// behind anti-reflective-coated 3.2 mm solar glass, the reference cell behind a plain
    /// fused-silica window [U: typical of the kinds, not any product's data].
    pub fn glass(self) -> Option<Glass> {
        match self {
            Detector::Module => Some(Glass {
                n: 1.526,
                n_ar: Some(1.29),
                kl: 4.0 * 0.0032,
            }),
            Detector::ThinFilmModule => Some(Glass {
                n: 1.526,
                n_ar: None,
                kl: 4.0 * 0.0032,
            }),
            Detector::ReferenceCell => Some(Glass {
                n: 1.46,
                n_ar: None,
                kl: 0.0,
            }),
            Detector::Thermopile => None,
        }
    }

    /// The responsivity as a tabulated spectrum 280–1200 nm (c-Si) or 285–2800 nm, 5 nm steps.
    pub fn responsivity_spectrum(self) -> Spectrum {
        let (lo, hi) = match self {
            Detector::Thermopile => (285.0, 2800.0),
            _ => (280.0, 1200.0),
        };
        let n = ((hi - lo) / 5.0) as usize + 1;
        let wavelength: Vec<f64> = (0..n).map(|k| lo + 5.0 * k as f64).collect();
        let value = wavelength.iter().map(|w| self.responsivity(*w)).collect();
        Spectrum { wavelength, value }
    }
}

/// One clear-sky node: the spectra on the plane, and each detector's weighted integrals.
#[derive(Debug)]
pub struct ClearSky {
    /// Beam on the plane [W·m⁻²·nm⁻¹] on the SPECTRL2 wavelengths.
    pub beam: Vec<f64>,
    /// Sky diffuse on the plane.
    pub sky: Vec<f64>,
    /// Ground-reflected on the plane.
    pub ground: Vec<f64>,
    /// Angle of incidence of the beam [°].
    pub aoi: f64,
    /// Plane tilt [°].
    pub tilt: f64,
    /// Broadband beam, sky, ground on the plane, 300–4000 nm [W/m²].
    totals: [f64; 3],
    /// Per detector: effective beam, sky, ground [W/m²] (already angle-weighted).
    effective: [[f64; 3]; DETECTORS],
}

impl ClearSky {
    fn dark() -> ClearSky {
        let n = wavelengths().len();
        ClearSky {
            beam: vec![0.0; n],
            sky: vec![0.0; n],
            ground: vec![0.0; n],
            aoi: 90.0,
            tilt: 0.0,
            totals: [0.0; 3],
            effective: [[0.0; 3]; DETECTORS],
        }
    }
}

/// The atmosphere of one local day.
fn atmosphere(seed: u64, day: i64, pressure_pa: f64) -> Atmosphere {
    let mut rng =
        StdRng::seed_from_u64(seed ^ 0x5350_4543 ^ (day as u64).wrapping_mul(0x9E37_79B9));
    Atmosphere::rural(
        pressure_pa,
        rng.random_range(0.3..1.3),
        rng.random_range(0.28..0.34),
        rng.random_range(0.03..0.15),
    )
}

/// Trapezoid weights of the SPECTRL2 grid: ∫f dλ ≈ Σ wₖ·f(λₖ).
fn trapezoid_weights(wl: &[f64]) -> Vec<f64> {
    let n = wl.len();
    (0..n)
        .map(|k| {
            let left = if k > 0 { wl[k] - wl[k - 1] } else { 0.0 };
            let right = if k + 1 < n { wl[k + 1] - wl[k] } else { 0.0 };
            0.5 * (left + right)
        })
        .collect()
}

/// The sky of one site: its nodes, cached.
#[derive(Debug)]
pub struct Sky {
    site: Site,
    plane: Plane,
    seed: u64,
    pressure_hpa: f64,
    utc_offset_hours: f64,
    /// Per detector: trapezoid weight × responsivity on the SPECTRL2 grid, and the AM1.5G
    /// normalisation Σ wₖ·s(λₖ)·E_AM1.5(λₖ).
    weights: [(Vec<f64>, f64); DETECTORS],
    /// Trapezoid weights of the SPECTRL2 grid.
    trapezoid: Vec<f64>,
    nodes: Mutex<HashMap<i64, Arc<ClearSky>>>,
    /// Diffuse IAMs per detector and whole degree of tilt.
    diffuse: Mutex<HashMap<(Detector, i32), (f64, f64)>>,
}

/// Seconds between clear-sky nodes.
const NODE_STEP: f64 = 60.0;

impl Sky {
    /// The sky over `site` seen in `plane`, atmosphere drawn from `seed`.
    pub fn new(site: Site, plane: Plane, seed: u64, pressure_hpa: f64) -> Sky {
        let wl = wavelengths();
        let trapezoid = trapezoid_weights(wl);
        let am15 = Spectrum::am15g();
        let weights = ALL.map(|d| {
            let w: Vec<f64> = wl
                .iter()
                .zip(&trapezoid)
                .map(|(l, t)| t * d.responsivity(*l))
                .collect();
            let norm = w.iter().zip(wl).map(|(w, l)| w * am15.at(*l)).sum::<f64>();
            (w, norm)
        });
        Sky {
            site,
            plane,
            seed,
            pressure_hpa,
            utc_offset_hours: site.longitude / 15.0,
            weights,
            trapezoid,
            nodes: Mutex::new(HashMap::new()),
            diffuse: Mutex::new(HashMap::new()),
        }
    }

    /// Diffuse IAMs of `detector` at `tilt` [°], interpolated between whole degrees (each
    /// degree integrated once).
    fn diffuse_iam(&self, detector: Detector, glass: Glass, tilt: f64) -> (f64, f64) {
        let at = |degree: i32| -> (f64, f64) {
            if let Some(v) = super::world::lock(&self.diffuse).get(&(detector, degree)) {
                return *v;
            }
            let v = glass.diffuse(f64::from(degree));
            super::world::lock(&self.diffuse).insert((detector, degree), v);
            v
        };
        let tilt = tilt.clamp(0.0, 180.0);
        let lo = tilt.floor() as i32;
        let f = tilt - f64::from(lo);
        let (a, b) = (at(lo), at((lo + 1).min(180)));
        (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
    }

    /// The clear sky at node `k` (time `k·NODE_STEP`).
    fn node(&self, k: i64) -> Arc<ClearSky> {
        if let Some(n) = super::world::lock(&self.nodes).get(&k) {
            return n.clone();
        }
        let node = Arc::new(self.compute(k as f64 * NODE_STEP));
        let mut nodes = super::world::lock(&self.nodes);
        // Long accelerated runs: forget the past rather than grow without bound.
        if nodes.len() > 20_000 {
            nodes.clear();
        }
        nodes.insert(k, node.clone());
        node
    }

    fn compute(&self, t: f64) -> ClearSky {
        let (_, apparent_zenith, azimuth) = sun(t, self.site, self.pressure_hpa, 12.0);
        if apparent_zenith >= 89.0 {
            return ClearSky::dark();
        }
        let (tilt, aoi) = match self.plane {
            Plane::Tracker => (apparent_zenith, 0.0),
            Plane::Fixed {
                tilt,
                azimuth: facing,
            } => (tilt, incidence(apparent_zenith, azimuth, tilt, facing)),
        };
        let local_day = ((t / 3600.0 + self.utc_offset_hours) / 24.0).floor() as i64;
        let date = Date::from_unix_seconds(t);
        let new_year = Date {
            month: 1,
            day: 1,
            ..date
        };
        let day_of_year = (date.days_since_epoch() - new_year.days_since_epoch() + 1) as f64;
        let s = spectrl2(
            &Geometry {
                apparent_zenith,
                aoi,
                tilt,
                relative_air_mass: air_mass(apparent_zenith),
                day_of_year,
                ground_albedo: 0.2,
            },
            &atmosphere(self.seed, local_day, self.pressure_hpa * 100.0),
        );
        let trapezoid = &self.trapezoid;
        let dot = |w: &[f64], x: &[f64]| w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
        let totals = [
            dot(trapezoid, &s.poa_direct),
            dot(trapezoid, &s.poa_sky_diffuse),
            dot(trapezoid, &s.poa_ground_diffuse),
        ];
        let mut effective = [[0.0; 3]; DETECTORS];
        for d in ALL {
            let (w, norm) = &self.weights[d.index()];
            let (beam_iam, sky_iam, ground_iam) = match d.glass() {
                Some(glass) => {
                    let (sky, ground) = self.diffuse_iam(d, glass, tilt);
                    (glass.iam(aoi), sky, ground)
                }
                None => (1.0, 1.0, 1.0),
            };
            effective[d.index()] = [
                1000.0 * beam_iam * dot(w, &s.poa_direct) / norm,
                1000.0 * sky_iam * dot(w, &s.poa_sky_diffuse) / norm,
                1000.0 * ground_iam * dot(w, &s.poa_ground_diffuse) / norm,
            ];
        }
        ClearSky {
            beam: s.poa_direct,
            sky: s.poa_sky_diffuse,
            ground: s.poa_ground_diffuse,
            aoi,
            tilt,
            totals,
            effective,
        }
    }

    /// The two nodes around `t` and the weight of the later one.
    fn around(&self, t: f64) -> (Arc<ClearSky>, Arc<ClearSky>, f64) {
        let x = t / NODE_STEP;
        let k = x.floor();
        (self.node(k as i64), self.node(k as i64 + 1), x - k)
    }

    /// Interpolate three-part values at `t`.
    fn parts(&self, t: f64, of: impl Fn(&ClearSky) -> [f64; 3]) -> [f64; 3] {
        let (a, b, f) = self.around(t);
        let (a, b) = (of(&a), of(&b));
        std::array::from_fn(|k| a[k] + f * (b[k] - a[k]))
    }

    /// Clear-sky broadband beam, sky-diffuse and ground-reflected on the plane at `t` [W/m²].
    pub fn clear_parts(&self, t: f64) -> [f64; 3] {
        self.parts(t, |n| n.totals)
    }

    /// Clear-sky effective beam, sky, ground for `detector` at `t` [W/m²].
    pub fn effective_parts(&self, detector: Detector, t: f64) -> [f64; 3] {
        self.parts(t, |n| n.effective[detector.index()])
    }

    /// Clear-sky spectra on the plane at `t`: (beam, sky, ground) on the SPECTRL2 grid.
    pub fn clear_spectra(&self, t: f64) -> [Vec<f64>; 3] {
        let (a, b, f) = self.around(t);
        let mix = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p + f * (q - p)).collect();
        [
            mix(&a.beam, &b.beam),
            mix(&a.sky, &b.sky),
            mix(&a.ground, &b.ground),
        ]
    }

    /// Angle of incidence of the beam on the plane at `t` [°].
    pub fn aoi(&self, t: f64) -> f64 {
        let (a, b, f) = self.around(t);
        a.aoi + f * (b.aoi - a.aoi)
    }
}

/// Combine clear-sky parts (beam, sky diffuse, ground) with a cloud of transmission `cloud`
/// [1] (> 1 at an edge): the beam × `cloud`, and a quarter of the beam the cloud removes
/// scattered forward into the diffuse light with the beam's own spectral shape (droplets
/// scatter greyly). Returns (global, diffuse) on the plane.
pub fn clouded(parts: [f64; 3], cloud: f64) -> (f64, f64) {
    let scattered = 0.25 * (1.0 - cloud.min(1.0)) * parts[0];
    let diffuse = parts[1] + parts[2] + scattered;
    (parts[0] * cloud + diffuse, diffuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plateau(plane: Plane) -> Sky {
        Sky::new(
            Site {
                latitude: 36.62,
                longitude: 101.77,
                altitude: 2260.0,
            },
            plane,
            1,
            770.0,
        )
    }

    #[test]
    fn detectors_read_1000_under_am15g_by_construction_and_differ_under_the_plateau_sky() {
        let sky = plateau(Plane::Tracker);
        // Plateau noon, 2026-06-21 05:20 UTC.
        let t = 1_782_019_200.0;
        let total: f64 = sky.clear_parts(t).iter().sum();
        assert!((1000.0..1250.0).contains(&total), "{total}");
        let g = |d| sky.effective_parts(d, t).iter().sum::<f64>();
        let (module, cell, pyranometer) = (
            g(Detector::Module),
            g(Detector::ReferenceCell),
            g(Detector::Thermopile),
        );
        // A blue, thin-air spectrum: the c-Si devices read a little differently from the
        // thermopile and from each other — the spectral mismatch the station corrects.
        assert!(
            (module / cell - 1.0).abs() > 1e-4 && (module / cell - 1.0).abs() < 0.03,
            "{module} {cell}"
        );
        assert!(
            (pyranometer / total - 1.0).abs() < 0.03,
            "{pyranometer} {total}"
        );
        // Night.
        assert_eq!(sky.clear_parts(t + 12.0 * 3600.0), [0.0; 3]);
    }

    #[test]
    fn a_fixed_rack_loses_light_at_incidence_and_a_cloud_turns_the_light_blue() {
        let tracker = plateau(Plane::Tracker);
        let rack = plateau(Plane::Fixed {
            tilt: 35.0,
            azimuth: 180.0,
        });
        let morning = 1_782_019_200.0 - 4.0 * 3600.0;
        assert!(rack.aoi(morning) > 30.0);
        assert!(rack.clear_parts(morning)[0] < tracker.clear_parts(morning)[0]);
        // A cloud that removes 60 % of the beam: less light, and a bluer share of it.
        let t = 1_782_019_200.0;
        let [beam, sky, ground] = tracker.clear_spectra(t);
        let wl = wavelengths();
        let band = |lo: f64, hi: f64, cloud: f64| -> f64 {
            wl.iter()
                .enumerate()
                .filter(|(_, w)| (lo..hi).contains(*w))
                .map(|(k, _)| clouded([beam[k], sky[k], ground[k]], cloud).0)
                .sum()
        };
        let blue_share = |cloud| band(400.0, 500.0, cloud) / band(700.0, 900.0, cloud);
        assert!(band(300.0, 4000.0, 0.4) < 0.7 * band(300.0, 4000.0, 1.0));
        assert!(
            blue_share(0.4) > 1.02 * blue_share(1.0),
            "{} {}",
            blue_share(0.4),
            blue_share(1.0)
        );
    }
}
