//! Single-diode PV module model for the simulator, with the De Soto irradiance and
//! temperature dependence as pvlib implements it (`pvsystem.calcparams_desoto`; see
//! `../shared/reference/standards.md` §2.2):
//!
//! ```text
//! Tk = T + 273.15;  E_g = EgRef·(1 + dEgdT·(Tk − Tref_k));  nNsVth = a_ref·Tk/Tref_k
//! IL = S/S_ref·(I_L_ref + alpha_sc·(Tk − Tref_k))
//! I0 = I_o_ref·(Tk/Tref_k)³·exp(EgRef/(k·Tref_k) − E_g/(k·Tk))     (k in eV/K)
//! Rsh = R_sh_ref·S_ref/S;  Rs = R_s
//! I = IL − I0·(exp((V + I·Rs)/nNsVth) − 1) − (V + I·Rs)/Rsh
//! ```
//!
//! The implicit equation is solved for I by a bracketed Newton iteration (the residual is
//! strictly decreasing in I, so a bracket always exists).

/// Boltzmann constant [eV/K].
const K_EV: f64 = 8.617_333_262e-5;

/// Reference parameters of a single-diode model (De Soto form).
#[derive(Debug, Clone, PartialEq)]
pub struct SingleDiode {
    /// Cells in series.
    pub cells_in_series: u32,
    /// Temperature coefficient of Isc [A/K].
    pub alpha_sc: f64,
    /// Modified ideality factor at reference conditions (n·Ns·Vth) [V].
    pub a_ref: f64,
    /// Light-generated current at reference conditions [A].
    pub i_l_ref: f64,
    /// Diode saturation current at reference conditions [A].
    pub i_o_ref: f64,
    /// Series resistance [Ω].
    pub r_s: f64,
    /// Shunt resistance at reference irradiance [Ω].
    pub r_sh_ref: f64,
    /// Band gap at reference temperature [eV].
    pub eg_ref: f64,
    /// Relative temperature dependence of the band gap [1/K].
    pub d_eg_dt: f64,
}

/// Parameters of the single-diode equation at one operating condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiodeAt {
    /// Photocurrent [A].
    pub photocurrent: f64,
    /// Saturation current [A].
    pub saturation_current: f64,
    /// Series resistance [Ω].
    pub resistance_series: f64,
    /// Shunt resistance [Ω].
    pub resistance_shunt: f64,
    /// n·Ns·Vth [V].
    pub n_ns_vth: f64,
}

impl SingleDiode {
    /// The Canadian Solar CS5P-220M parameters used in pvlib's `calcparams_desoto` example
    /// (96 cells, ~220 W, Voc ≈ 59.4 V, Isc ≈ 5.1 A at STC).
    pub fn cs5p_220m() -> Self {
        SingleDiode {
            cells_in_series: 96,
            alpha_sc: 0.004539,
            a_ref: 2.6373,
            i_l_ref: 5.114,
            i_o_ref: 8.196e-10,
            r_s: 1.065,
            r_sh_ref: 381.68,
            eg_ref: 1.121,
            d_eg_dt: -0.0002677,
        }
    }

    /// Diode parameters at irradiance `g` [W/m²] and cell temperature `t` [°C].
    pub fn at(&self, g: f64, t: f64) -> DiodeAt {
        let tref = 298.15;
        let tk = t + 273.15;
        let eg = self.eg_ref * (1.0 + self.d_eg_dt * (tk - tref));
        let s = g.max(1e-3);
        DiodeAt {
            photocurrent: s / 1000.0 * (self.i_l_ref + self.alpha_sc * (tk - tref)),
            saturation_current: self.i_o_ref
                * (tk / tref).powi(3)
                * (self.eg_ref / (K_EV * tref) - eg / (K_EV * tk)).exp(),
            resistance_series: self.r_s,
            resistance_shunt: self.r_sh_ref * 1000.0 / s,
            n_ns_vth: self.a_ref * tk / tref,
        }
    }

    /// Current at terminal voltage `v` [V], irradiance `g` [W/m²], temperature `t` [°C] [A].
    pub fn current(&self, v: f64, g: f64, t: f64) -> f64 {
        self.at(g, t).current(v)
    }
}

impl DiodeAt {
    fn residual(&self, v: f64, i: f64) -> (f64, f64) {
        let vd = v + i * self.resistance_series;
        let e = (vd / self.n_ns_vth).min(700.0).exp();
        let f = self.photocurrent
            - self.saturation_current * (e - 1.0)
            - vd / self.resistance_shunt
            - i;
        let df = -self.saturation_current * e * self.resistance_series / self.n_ns_vth
            - self.resistance_series / self.resistance_shunt
            - 1.0;
        (f, df)
    }

    /// Current at terminal voltage `v` [A] (generator convention).
    pub fn current(&self, v: f64) -> f64 {
        // Bracket: the residual decreases strictly in i.
        let span = self.photocurrent.abs() + v.abs() / self.resistance_shunt + 1.0;
        let (mut lo, mut hi) = (-span, span);
        while self.residual(v, lo).0 < 0.0 {
            lo *= 2.0;
        }
        while self.residual(v, hi).0 > 0.0 {
            hi *= 2.0;
        }
        let mut i = self.photocurrent.clamp(lo, hi);
        for _ in 0..100 {
            let (f, df) = self.residual(v, i);
            if f.abs() < 1e-13 {
                break;
            }
            if f > 0.0 {
                lo = i;
            } else {
                hi = i;
            }
            let newton = i - f / df;
            i = if newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if hi - lo < 1e-14 {
                break;
            }
        }
        i
    }

    /// Open-circuit voltage [V], by bisection on `current(v) = 0`.
    pub fn open_circuit_voltage(&self) -> f64 {
        let (mut lo, mut hi) = (0.0, 1.0);
        while self.current(hi) > 0.0 {
            hi *= 2.0;
        }
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if self.current(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stc_values_match_the_datasheet_class() {
        let stc = SingleDiode::cs5p_220m().at(1000.0, 25.0);
        let isc = stc.current(0.0);
        let voc = stc.open_circuit_voltage();
        let pmp = (0..=2000)
            .map(|k| {
                let v = voc * k as f64 / 2000.0;
                v * stc.current(v)
            })
            .fold(0.0, f64::max);
        // pvlib singlediode for these parameters: Isc ≈ 5.10 A, Voc ≈ 59.3 V, Pmp ≈ 219.9 W.
        assert!((isc - 5.10).abs() < 0.02, "{isc}");
        assert!((voc - 59.4).abs() < 0.5, "{voc}");
        assert!((pmp - 220.0).abs() < 2.0, "{pmp}");
        // Fourth quadrant: beyond Voc the module sinks current.
        assert!(stc.current(voc + 1.0) < 0.0);
    }
}
