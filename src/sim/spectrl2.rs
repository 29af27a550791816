//! The clear-sky solar spectrum: the Bird Simple Spectral Model, SPECTRL2 (Bird, R. and
//! Riordan, C. (1986), "Simple solar spectral model for direct and diffuse irradiance on
//! horizontal and tilted planes at the earth's surface for cloudless atmospheres",
//! J. Climate Appl. Meteor. 25, 87–97; SERI/TR-215-2436, 1984).
//!
//! Why this model: it is public, cited by IEC 60904-3's background literature, gives the
//! direct, sky-diffuse and ground-reflected spectra on a tilted plane from a handful of
//! atmospheric inputs (pressure, precipitable water, ozone, aerosol optical depth), and it is
//! what pvlib implements (`spectrum.spectrl2`), so it can be checked independently. It is the
//! simulated world's sky (`sim::sky`); the station's own analysis never needs it (the station
//! measures its spectrum), and the simulator's truth stays apart from the code it checks.
//!
//! Equation numbers are the report's. Where the report, its code appendix and NREL's
//! `spectrl2_2.c` differ, this follows `spectrl2_2.c` as pvlib does (Rayleigh constant 1.3366,
//! mixed-gas constant 118.3, Kasten–Young air mass, Tu′ in Eq 3-8, the cloudless-sky factor
//! Cs applied once to the total scattered light), and, like pvlib, clips cos(AOI) at 0 and
//! spreads the sky diffuse on the plane with the Hay–Davies model (Hay, J. E. and
//! Davies, J. A. (1980)). One Ångström exponent over all wavelengths (pvlib's choice; the
//! report splits it at 500 nm). Tables (122 wavelengths, 300–4000 nm) are data:
//! `data/spectrl2-coefficients.csv`, written by tests/reference/spectrl2.py. Checked against
//! pvlib 0.16.1 per wavelength for three plateau sun positions (tests/reference/).

use std::sync::OnceLock;

/// The report's Table 1: wavelength [nm], extraterrestrial spectral irradiance at 1 AU
/// [W·m⁻²·nm⁻¹], absorption coefficients of water vapour, ozone and mixed gases.
#[derive(Debug)]
struct Table {
    wavelength: Vec<f64>,
    et: Vec<f64>,
    water: Vec<f64>,
    ozone: Vec<f64>,
    mixed: Vec<f64>,
}

const TABLE_CSV: &str = include_str!("../../data/spectrl2-coefficients.csv");

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Table {
            wavelength: Vec::new(),
            et: Vec::new(),
            water: Vec::new(),
            ozone: Vec::new(),
            mixed: Vec::new(),
        };
        for line in TABLE_CSV.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let v: Vec<f64> = line.split(',').filter_map(|x| x.parse().ok()).collect();
            if let [w, e, h2o, o3, mix] = v[..] {
                t.wavelength.push(w);
                t.et.push(e);
                t.water.push(h2o);
                t.ozone.push(o3);
                t.mixed.push(mix);
            }
        }
        t
    })
}

/// The model's wavelengths [nm]: 122 values, 300–4000 nm (≈ 10 nm steps below 1 µm).
pub fn wavelengths() -> &'static [f64] {
    &table().wavelength
}

/// The atmosphere above the site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Atmosphere {
    /// Surface (station) pressure [Pa].
    pub pressure: f64,
    /// Precipitable water [cm].
    pub precipitable_water: f64,
    /// Total ozone [atm-cm].
    pub ozone: f64,
    /// Aerosol optical depth at 500 nm [1].
    pub aod500: f64,
    /// Ångström exponent [1] (rural aerosol: 1.14).
    pub alpha: f64,
    /// Aerosol single-scattering albedo at 400 nm [1] (rural: 0.945).
    pub scattering_albedo_400: f64,
    /// Wavelength-variation factor of the single-scattering albedo [1] (0.095).
    pub wavelength_variation: f64,
    /// Aerosol asymmetry factor [1] (0.65).
    pub asymmetry: f64,
}

impl Atmosphere {
    /// The report's rural aerosol with the given pressure [Pa], water [cm], ozone [atm-cm] and
    /// AOD at 500 nm.
    pub fn rural(pressure: f64, precipitable_water: f64, ozone: f64, aod500: f64) -> Self {
        Atmosphere {
            pressure,
            precipitable_water,
            ozone,
            aod500,
            alpha: 1.14,
            scattering_albedo_400: 0.945,
            wavelength_variation: 0.095,
            asymmetry: 0.65,
        }
    }
}

/// Sun and plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Apparent (refracted) solar zenith [°].
    pub apparent_zenith: f64,
    /// Angle of incidence of the beam on the plane [°].
    pub aoi: f64,
    /// Plane tilt from horizontal [°].
    pub tilt: f64,
    /// Relative optical air mass [1] (Kasten–Young 1989).
    pub relative_air_mass: f64,
    /// Day of the year, 1–366 (Earth–sun distance).
    pub day_of_year: f64,
    /// Ground albedo [1].
    pub ground_albedo: f64,
}

/// Spectral irradiances on the model's wavelengths [W·m⁻²·nm⁻¹].
#[derive(Debug, Clone, PartialEq)]
pub struct SkySpectrum {
    /// Direct normal.
    pub dni: Vec<f64>,
    /// Diffuse horizontal.
    pub dhi: Vec<f64>,
    /// Beam on the plane.
    pub poa_direct: Vec<f64>,
    /// Sky diffuse on the plane (Hay–Davies).
    pub poa_sky_diffuse: Vec<f64>,
    /// Ground-reflected on the plane.
    pub poa_ground_diffuse: Vec<f64>,
    /// Global on the plane: the sum of the three.
    pub poa_global: Vec<f64>,
}

/// Transmittances of §2 at relative air mass `m` for wavelength index `k`: (Rayleigh,
/// aerosol, water, ozone, mixed gas, aerosol scattering, aerosol absorption).
#[allow(clippy::too_many_arguments)]
fn transmittances(
    t: &Table,
    k: usize,
    m: f64,
    cos_zenith: f64,
    atm: &Atmosphere,
    tau_a: f64,
    omega: f64,
) -> [f64; 7] {
    // Pressure-corrected air mass; the report's 101 300 Pa (spectrl2_2.c) [Pa].
    let m_p = m * atm.pressure / 101_300.0;
    let um = t.wavelength[k] / 1000.0;
    let tr = (-m_p / (um.powi(4) * (115.6406 - 1.3366 / (um * um)))).exp(); // Eq 2-4
    let ta = (-tau_a * m).exp(); // Eq 2-6
    let aw = t.water[k] * atm.precipitable_water * m;
    let tw = (-0.2385 * aw / (1.0 + 20.07 * aw).powf(0.45)).exp(); // Eq 2-8
    // Ozone mass, Eq 2-10: ozone layer at 22 km, Earth radius 6370 km.
    let h0 = 22.0 / 6370.0;
    let m_o = (1.0 + h0) / (cos_zenith * cos_zenith + 2.0 * h0).sqrt();
    let to = (-t.ozone[k] * atm.ozone * m_o).exp(); // Eq 2-9
    let au = t.mixed[k] * m_p;
    let tu = (-1.41 * au / (1.0 + 118.3 * au).powf(0.45)).exp(); // Eq 2-11
    let tas = (-omega * tau_a * m).exp(); // Eq 3-9
    let taa = (-(1.0 - omega) * tau_a * m).exp(); // Eq 3-10
    [tr, ta, tw, to, tu, tas, taa]
}

/// The clear-sky spectrum on the plane, on [`wavelengths`].
pub fn spectrl2(g: &Geometry, atm: &Atmosphere) -> SkySpectrum {
    let t = table();
    let n = t.wavelength.len();
    let cos_z = g.apparent_zenith.to_radians().cos();
    // Earth–sun distance correction, Spencer (1971) as pvlib `get_extra_radiation` (Eq 2-2/2-3).
    let b = std::f64::consts::TAU * (g.day_of_year - 1.0) / 365.0;
    let d = 1.00011
        + 0.034221 * b.cos()
        + 0.00128 * b.sin()
        + 0.000719 * (2.0 * b).cos()
        + 0.000077 * (2.0 * b).sin();
    // Aerosol scattering: Eq 3-11 … 3-15.
    let alg = (1.0 - atm.asymmetry).ln();
    let afs = alg * (1.459 + alg * (0.1595 + alg * 0.4129));
    let bfs = alg * (0.0783 + alg * (-0.3824 - alg * 0.5874));
    let fs = 1.0 - 0.5 * ((afs + bfs * cos_z) * cos_z).exp();
    let fsp = 1.0 - 0.5 * ((afs + bfs / 1.8) / 1.8).exp();
    let cos_aoi = g.aoi.to_radians().cos().max(0.0);
    let projection = cos_aoi / cos_z.max(0.01745);
    let cos_tilt = g.tilt.to_radians().cos();
    let mut out = SkySpectrum {
        dni: vec![0.0; n],
        dhi: vec![0.0; n],
        poa_direct: vec![0.0; n],
        poa_sky_diffuse: vec![0.0; n],
        poa_ground_diffuse: vec![0.0; n],
        poa_global: vec![0.0; n],
    };
    for k in 0..n {
        let wl = t.wavelength[k];
        // Aerosol optical depth by Ångström's law (Eq 2-7) and single-scattering albedo (Eq 3-16).
        let tau_a = atm.aod500 * (wl / 500.0).powf(-atm.alpha);
        let omega = atm.scattering_albedo_400
            * (-atm.wavelength_variation * (wl / 400.0).ln().powi(2)).exp();
        let [tr, ta, tw, to, tu, tas, taa] =
            transmittances(t, k, g.relative_air_mass, cos_z, atm, tau_a, omega);
        // The primed terms of Eq 3-8: transmittances at air mass 1.8.
        let [trp, _, twp, _, tup, tasp, taap] = transmittances(t, k, 1.8, cos_z, atm, tau_a, omega);
        let et = t.et[k] * d;
        let id = et * tr * ta * tw * to * tu; // Eq 2-1
        let cs = if wl <= 450.0 {
            ((wl + 550.0) / 1000.0).powf(1.8)
        } else {
            1.0
        }; // Eq 3-17
        let rs = tup * twp * taap * (0.5 * (1.0 - trp) + (1.0 - fsp) * trp * (1.0 - tasp)); // Eq 3-8
        let common = et * cos_z * to * tu * tw * taa;
        let ir = common * (1.0 - tr.powf(0.95)) * 0.5; // Eq 3-5
        let ia = common * tr.powf(1.5) * (1.0 - tas) * fs; // Eq 3-6
        let rg = g.ground_albedo;
        let ig = (id * cos_z + ir + ia) * rs * rg / (1.0 - rs * rg); // Eq 3-7
        let is = (ir + ia + ig) * cs; // Eq 3-1
        // The plane, Eq 3-18: beam, Hay–Davies sky diffuse, isotropic ground reflection.
        let beam = id * cos_aoi;
        let ai = id / et;
        let sky =
            (is * (1.0 - ai) * 0.5 * (1.0 + cos_tilt)).max(0.0) + (is * ai * projection).max(0.0);
        let ground = (id * cos_z + is) * rg * (1.0 - cos_tilt) * 0.5;
        out.dni[k] = id;
        out.dhi[k] = is;
        out.poa_direct[k] = beam;
        out.poa_sky_diffuse[k] = sky;
        out.poa_ground_diffuse[k] = ground;
        out.poa_global[k] = beam + sky + ground;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_122_wavelengths_from_300_to_4000_nm() {
        let w = wavelengths();
        assert_eq!(w.len(), 122);
        assert_eq!((w[0], w[121]), (300.0, 4000.0));
        assert!(w.windows(2).all(|p| p[1] > p[0]));
    }

    #[test]
    fn a_low_sun_is_redder_and_dimmer() {
        let atm = Atmosphere::rural(77_000.0, 0.8, 0.3, 0.08);
        let sky = |zen: f64| {
            spectrl2(
                &Geometry {
                    apparent_zenith: zen,
                    aoi: 0.0,
                    tilt: zen,
                    relative_air_mass: 1.0 / zen.to_radians().cos(),
                    day_of_year: 172.0,
                    ground_albedo: 0.2,
                },
                &atm,
            )
        };
        let (high, low) = (sky(10.0), sky(70.0));
        let w = wavelengths();
        let at =
            |s: &SkySpectrum, nm: f64| s.poa_global[w.iter().position(|x| *x == nm).unwrap_or(0)];
        assert!(at(&low, 500.0) < at(&high, 500.0));
        // Blue falls faster than red as the path lengthens (Rayleigh, λ⁻⁴).
        assert!(at(&low, 450.0) / at(&high, 450.0) < at(&low, 800.0) / at(&high, 800.0));
    }
}
