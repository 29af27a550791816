"""An independent evaluation of the outdoor Pmax-at-STC uncertainty budget (numpy + pvlib),
against which the Rust model (src/uncertainty/station.rs, `PmaxModel`) and GUM engine
(src/uncertainty/gum.rs) are checked in tests/it/uncertainty.rs.

The model is written here from its description, not from the Rust code:
- irradiance from the reference cell, standards.md §3.1:
  G = 1000 · (V_shunt + δV_dmm) / R_shunt · SMM / (CV · (1 + α_ref (T_ref − 25))) · (1 + δG_inst)
- cell temperature T = T_module + δT_sensor + δT_nonuniformity + ΔT_back-to-cell;
- the I-V tracer's gain and offset errors on every point: V' = V (1 + g_V) + o_V, same for I;
- IEC 60891 procedure 1 (standards.md §1.4) point by point, with Isc1 from the perturbed curve:
  I2 = I1 + Isc1 (G2/G1 − 1) + α (T2 − T1),  V2 = V1 − Rs (I2 − I1) − κ I2 (T2 − T1) + β (T2 − T1)
- Pmax of the translated curve by pvlib's `astm_e1036(*rectify_iv_curve(v, i))`, times
  (1 + δ_fit) (1 + δ_repeatability).
GUM (JCGM 100:2008 §5, G.4): sensitivities by central differences with h = u/100 refined by one
Richardson extrapolation, u_c² = Σ c_i² u_i², ν_eff by Welch–Satterthwaite, k = t_0.975(ν_eff)
(scipy). Inputs are those of tests/it/uncertainty.rs `pmax_setup()` (typical instrument
specifications assumed for the test).

Run from the repository root with pvlib installed:  python3 tests/reference/pmax_budget.py
Writes tests/reference/pmax_budget.json.
"""

import json
import os

import numpy as np
from pvlib.ivtools.utils import astm_e1036, rectify_iv_curve
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))

curve = np.loadtxt(os.path.join(HERE, "cs5p_220m", "g800_t45.csv"), delimiter=",", skiprows=1)
V, I = curve[:, 0], curve[:, 1]

# The set-up of tests/it/uncertainty.rs `pmax_setup()`.
cv, r_shunt, alpha_ref, t_ref = 0.1213, 1.0002, 0.0005, 38.0
shunt_voltage = 0.8 * cv * (1.0 + alpha_ref * (t_ref - 25.0)) * r_shunt
alpha, beta, rs, kappa = 0.004539, -0.222156, 1.290, 0.0093
module_temperature = 44.0
repeated = np.array([219.7, 219.9, 219.8, 220.1, 219.6])
dmm = (30e-6, 7e-6, 1.0)          # reading, range, full scale
tracer_v = (150e-6, 50e-6, 100.0)
tracer_i = (500e-6, 200e-6, 7.0)


def mp_fit_residual(v, i):
    """RMS residual of the 4th-order P(V) fit over the ASTM E1036 window (pvlib's rules)."""
    v, i = rectify_iv_curve(v, i)
    p = v * i
    k = np.argmax(p)
    vm, im = v[k], i[k]
    w = (i >= 0.75 * im) & (i <= 1.15 * im) & (v >= 0.75 * vm) & (v <= 1.15 * vm)
    fit = np.polynomial.Polynomial.fit(v[w], p[w], 4)
    return float(np.sqrt(np.mean((p[w] - fit(v[w])) ** 2)))


measured = astm_e1036(*rectify_iv_curve(V, I))
vmax, imax = np.max(np.abs(V)), np.max(np.abs(I))
rel = repeated / repeated.mean() - 1.0
u_repeat = float(np.std(rel, ddof=1) / np.sqrt(len(rel)))

# name, estimate, standard uncertainty, degrees of freedom (inf = Type B)
rect = lambda half: half / np.sqrt(3.0)
inputs = [
    ("cv", cv, 0.0011 / 2.0, np.inf),
    ("r_shunt", r_shunt, 0.0001, np.inf),
    ("dmm_shunt_voltage", 0.0, rect(dmm[0] * shunt_voltage + dmm[1] * dmm[2]), np.inf),
    ("alpha_ref", alpha_ref, 0.0001, np.inf),
    ("t_ref", t_ref, 0.5, np.inf),
    ("smm", 1.0, 0.004, np.inf),
    ("irradiance_instability", 0.0, rect(0.002), np.inf),
    ("t_sensor", 0.0, 0.3, np.inf),
    ("t_nonuniformity", 0.0, rect(0.4), np.inf),
    ("t_back_to_cell", 1.0, rect(1.0), np.inf),
    ("tracer_v_gain", 0.0, rect(tracer_v[0]), np.inf),
    ("tracer_v_offset", 0.0, rect(tracer_v[1] * max(tracer_v[2], vmax)), np.inf),
    ("tracer_i_gain", 0.0, rect(tracer_i[0]), np.inf),
    ("tracer_i_offset", 0.0, rect(tracer_i[1] * max(tracer_i[2], imax)), np.inf),
    ("alpha", alpha, 0.0002, np.inf),
    ("beta", beta, 0.004, np.inf),
    ("rs", rs, 0.05, np.inf),
    ("kappa", kappa, 0.001, np.inf),
    ("mp_fit", 0.0, mp_fit_residual(V, I) / measured["pmp"], np.inf),
    ("repeatability", 0.0, u_repeat, len(rel) - 1.0),
]
names = [x[0] for x in inputs]


def model(x):
    p = dict(zip(names, x))
    g1 = (1000.0 * (shunt_voltage + p["dmm_shunt_voltage"]) / p["r_shunt"] * p["smm"]
          / (p["cv"] * (1.0 + p["alpha_ref"] * (p["t_ref"] - 25.0)))
          * (1.0 + p["irradiance_instability"]))
    t1 = module_temperature + p["t_sensor"] + p["t_nonuniformity"] + p["t_back_to_cell"]
    v = V * (1.0 + p["tracer_v_gain"]) + p["tracer_v_offset"]
    i = I * (1.0 + p["tracer_i_gain"]) + p["tracer_i_offset"]
    isc1 = astm_e1036(*rectify_iv_curve(v, i))["isc"]
    dt = 25.0 - t1
    i2 = i + isc1 * (1000.0 / g1 - 1.0) + p["alpha"] * dt
    v2 = v - p["rs"] * (i2 - i) - p["kappa"] * i2 * dt + p["beta"] * dt
    pmp = astm_e1036(*rectify_iv_curve(v2, i2))["pmp"]
    return pmp * (1.0 + p["mp_fit"]) * (1.0 + p["repeatability"])


x0 = np.array([x[1] for x in inputs], dtype=float)
u = np.array([x[2] for x in inputs], dtype=float)
dof = np.array([x[3] for x in inputs], dtype=float)
y = model(x0)
c = np.zeros(len(x0))
for k in range(len(x0)):
    h = u[k] / 100.0 if u[k] > 0 else 1e-6 * max(abs(x0[k]), 1.0)

    def d(step):
        xp, xm = x0.copy(), x0.copy()
        xp[k] += step
        xm[k] -= step
        return (model(xp) - model(xm)) / (2.0 * step)
    c[k] = (4.0 * d(h / 2.0) - d(h)) / 3.0
contrib = np.abs(c * u)
uc = float(np.sqrt(np.sum(contrib ** 2)))
finite = np.isfinite(dof)
nu_eff = float(uc ** 4 / np.sum(contrib[finite] ** 4 / dof[finite]))
k = float(stats.t.ppf(0.975, nu_eff))
out = {
    "generated_by": "tests/reference/pmax_budget.py (numpy, scipy, pvlib astm_e1036)",
    "y": float(y), "u": uc, "nu_eff": nu_eff, "k": k, "U": k * uc,
    "contributions": {n: float(v) for n, v in zip(names, contrib)},
    "sensitivities": {n: float(v) for n, v in zip(names, c)},
}
with open(os.path.join(HERE, "pmax_budget.json"), "w") as f:
    json.dump(out, f, indent=2)
print(f"Pmax {y:.4f} W, u {uc:.4f} W, nu_eff {nu_eff:.1f}, k {k:.4f}, U {k * uc:.4f} W")
