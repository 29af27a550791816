"""Reference data for the metrology core, generated with pvlib (PyPI `pvlib` 0.16.1).

Run from the repository root with pvlib installed:

    python3 tests/reference/generate.py

Writes (all small CSV/TOML/JSON fixtures, committed):
- cs5p_220m/*.csv: curves of the CEC module Canadian_Solar_Inc__CS5P_220M from
  `calcparams_cec` + `i_from_v` on `linspace(0, v_oc, 301)` (the recipe of standards.md §1.11):
  the 800 W/m² / 45 °C curve to correct, the procedure-3 pairs, an irradiance series at 25 °C
  (400..1000 W/m²) and a temperature series at 1000 W/m² (25..70 °C) for parameter fitting.
- cs5p_220m/module.toml: the module file (α, β from the CEC record; IEC 60891 parameters of
  standards.md §1.11).
- cs5p_220m/reference.json: the CEC record (the simulator's module), single-diode truth at STC
  and other conditions, the OLS temperature coefficients of the temperature series, and the
  procedure-4 Rs from `fit_sandia_simple`.
- synthetic_knee.json: pvlib's ASTM E1036 extraction of an ideal-diode curve (extract.rs).
- extraction_curves.csv + extraction_expected.csv: 120 curves of different technologies,
  noise levels and point counts with `astm_e1036(*rectify_iv_curve(v, i))` results.

Only pvlib's outputs are committed, never its code.
"""

import json
import os

import numpy as np
import pvlib
from pvlib import pvsystem
from pvlib.ivtools.sde import fit_sandia_simple
from pvlib.ivtools.utils import astm_e1036, rectify_iv_curve

HERE = os.path.dirname(os.path.abspath(__file__))
CEC = pvsystem.retrieve_sam("CECMod")


def cec_curve(mod, g, t, points=301, v_lo=0.0, v_hi_factor=1.0):
    il, i0, rs, rsh, nnsvth = pvsystem.calcparams_cec(
        g, t, mod["alpha_sc"], mod["a_ref"], mod["I_L_ref"], mod["I_o_ref"],
        mod["R_sh_ref"], mod["R_s"], mod["Adjust"],
    )
    voc = pvsystem.singlediode(il, i0, rs, rsh, nnsvth)["v_oc"]
    v = np.linspace(v_lo, voc * v_hi_factor, points)
    i = pvsystem.i_from_v(v, il, i0, rs, rsh, nnsvth)
    return v, np.asarray(i), (il, i0, rs, rsh, nnsvth)


def write_curve(path, v, i, g, t):
    with open(path, "w") as f:
        f.write("voltage,current,irradiance,temperature\n")
        for vv, ii in zip(v, i):
            f.write(f"{float(vv)!r},{float(ii)!r},{float(g)!r},{float(t)!r}\n")


def cs5p():
    out = os.path.join(HERE, "cs5p_220m")
    os.makedirs(out, exist_ok=True)
    mod = CEC["Canadian_Solar_Inc__CS5P_220M"]
    curves = {"g800_t45": (800, 45)}
    for g in (400, 500, 600, 700, 800, 900, 1000, 1100):
        curves[f"g{g}_t25"] = (g, 25)
    for t in (30, 35, 40, 45, 50, 55, 60, 65, 70):
        curves[f"g1000_t{t}"] = (1000, t)
    for name, (g, t) in curves.items():
        v, i, _ = cec_curve(mod, g, t)
        write_curve(os.path.join(out, name + ".csv"), v, i, g, t)
    il, i0, rs, rsh, nnsvth = pvsystem.calcparams_cec(
        1000, 25, mod["alpha_sc"], mod["a_ref"], mod["I_L_ref"], mod["I_o_ref"],
        mod["R_sh_ref"], mod["R_s"], mod["Adjust"],
    )
    truth = pvsystem.singlediode(il, i0, rs, rsh, nnsvth)
    v, i, _ = cec_curve(mod, 800, 45)
    p4_rs = float(fit_sandia_simple(v, i)[2])
    e301 = astm_e1036(*rectify_iv_curve(v, i))
    v_ref, i_ref, _ = cec_curve(mod, 800, 45, points=201)
    e = astm_e1036(*rectify_iv_curve(v_ref, i_ref))
    # The simulator's module is this CEC record (src/sim/diode.rs): its parameters and pvlib's
    # single-diode truth at several conditions, for the simulator to be checked against.
    def truth_at(g, t):
        p = pvsystem.calcparams_cec(
            g, t, mod["alpha_sc"], mod["a_ref"], mod["I_L_ref"], mod["I_o_ref"],
            mod["R_sh_ref"], mod["R_s"], mod["Adjust"],
        )
        sd = pvsystem.singlediode(*p)
        return {"irradiance": g, "temperature": t,
                **{k: float(sd[k]) for k in ("p_mp", "v_oc", "i_sc", "v_mp", "i_mp")}}
    # Temperature coefficients as an ordinary least-squares line through the ASTM E1036
    # parameters of the temperature series (what `iv tempco` computes), with the standard
    # uncertainties of the slopes (numpy polyfit covariance scaled as in OLS).
    temps = (25, 30, 35, 40, 45, 50, 55, 60, 65, 70)
    rows = []
    for t in temps:
        vt, it, _ = cec_curve(mod, 1000, t)
        et = astm_e1036(*rectify_iv_curve(vt, it))
        rows.append((t, et["isc"], et["voc"], et["pmp"]))
    rows = np.array(rows)

    def ols(y):
        x = rows[:, 0]
        n = len(x)
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (slope * x + intercept)
        s2 = float(np.sum(resid ** 2) / (n - 2))
        u = float(np.sqrt(s2 / np.sum((x - x.mean()) ** 2)))
        return {"value": float(slope), "u": u}
    reference = {
        "pvlib_version": pvlib.__version__,
        "cec_record": {k: float(mod[k]) for k in (
            "alpha_sc", "a_ref", "I_L_ref", "I_o_ref", "R_s", "R_sh_ref", "Adjust")},
        "truth_at": [truth_at(g, t) for g, t in (
            (1000, 25), (800, 45), (1000, 35), (1100, 10), (200, 5), (600, 60))],
        "tempco_astm_e1036_ols": {
            "series": "g1000_t25 … g1000_t70 (301 points each)",
            "alpha_isc": ols(rows[:, 1]), "beta_voc": ols(rows[:, 2]), "gamma_pmp": ols(rows[:, 3]),
        },
        "stc_truth": {k: float(truth[k]) for k in ("p_mp", "v_oc", "i_sc", "v_mp", "i_mp")},
        "procedure4_rs_fit_sandia_simple": p4_rs,
        "astm_e1036_800_45_201_points": {k: float(e[k]) for k in ("pmp", "voc", "isc", "ff")},
        "astm_e1036_g800_t45_csv": {k: float(e301[k]) for k in ("pmp", "voc", "isc", "ff")},
        "alpha_sc": float(mod["alpha_sc"]),
        "beta_oc": float(mod["beta_oc"]),
        "cells_in_series": int(mod["N_s"]),
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=2)
    with open(os.path.join(out, "module.toml"), "w") as f:
        f.write(f"""# Canadian Solar CS5P-220M (CEC record Canadian_Solar_Inc__CS5P_220M, pvlib {pvlib.__version__});
# IEC 60891 parameters from standards.md §1.11 (fitted per §1.8 on these curves).
name = "CS5P-220M"
cells_in_series = {int(mod["N_s"])}
alpha_isc = {float(mod["alpha_sc"])!r}     # A/K
beta_voc = {float(mod["beta_oc"])!r}     # V/K
isc_stc = {float(truth["i_sc"])!r}      # A
voc_stc = {float(truth["v_oc"])!r}      # V
p_mp_stc = 220.0

[procedure1]
rs = 1.290
kappa = 0.0093

[procedure2]
a = 0.046
rs = 1.080
kappa = 0.0177

[procedure4]
epsilon = 1.232
rs = {p4_rs!r}   # from fit_sandia_simple on the 800 W/m2 / 45 C curve, as ivcorrection does
""")


def synthetic_knee():
    """pvlib's extraction of the ideal-diode-like curve of src/analysis/extract.rs's unit test:
    I = 5·(1 − exp((V − 40)/2)) on 401 points from 0 to 40 V."""
    v = np.array([40.0 * k / 400 for k in range(401)])
    i = 5.0 * (1.0 - np.exp((v - 40.0) / 2.0))
    e = astm_e1036(*rectify_iv_curve(v, i))
    with open(os.path.join(HERE, "synthetic_knee.json"), "w") as f:
        json.dump({
            "pvlib_version": pvlib.__version__,
            "curve": "I = 5 (1 - exp((V - 40)/2)), V = 40 k/400, k = 0..400",
            "function": "pvlib.ivtools.utils.astm_e1036(*rectify_iv_curve(v, i))",
            **{k: float(e[k]) for k in ("isc", "voc", "imp", "vmp", "pmp", "ff")},
        }, f, indent=2)


def extraction_set():
    rng = np.random.default_rng(20261127)
    # Equal shares of the five technologies of the CEC database (CdTe and CIGS are rare
    # there: 20 and 8 records).
    technologies = ["Mono-c-Si", "Multi-c-Si", "Thin Film", "CdTe", "CIGS"]
    by_tech = {t: list(CEC.columns[CEC.loc["Technology"] == t]) for t in technologies}
    curves = []
    expected = []
    k = 0
    while len(expected) < 120:
        names = by_tech[technologies[len(expected) % len(technologies)]]
        mod = CEC[names[rng.integers(len(names))]]
        g = float(rng.uniform(200, 1200))
        t = float(rng.uniform(5, 70))
        points = int(rng.choice([40, 60, 100, 200, 300]))
        noise = float(rng.choice([0.0, 0.0005, 0.002]))
        v_lo = float(rng.choice([0.0, -0.01]))
        v_hi = float(rng.choice([1.0, 1.03]))
        try:
            v, i, _ = cec_curve(mod, g, t, points=points, v_hi_factor=v_hi)
        except Exception:
            continue
        v = v + v_lo * v.max()
        isc = i.max()
        i = i + rng.normal(0.0, noise * isc, i.shape)
        v = np.array([float(f"{x:.12g}") for x in v])
        i = np.array([float(f"{x:.12g}") for x in i])
        try:
            e = astm_e1036(*rectify_iv_curve(v, i))
        except Exception:
            continue
        if not np.isfinite(e["pmp"]):
            continue
        cid = f"c{k:03d}"
        k += 1
        curves.append((cid, v, i))
        expected.append((cid, mod["Technology"], points, noise, e))
    with open(os.path.join(HERE, "extraction_curves.csv"), "w") as f:
        f.write("curve_id,voltage,current\n")
        for cid, v, i in curves:
            for vv, ii in zip(v, i):
                # 12 significant digits keep the file small; the expected values are
                # computed from these rounded numbers, so nothing is lost.
                f.write(f"{cid},{vv:.12g},{ii:.12g}\n")
    with open(os.path.join(HERE, "extraction_expected.csv"), "w") as f:
        f.write("curve_id,technology,points,noise,i_sc,v_oc,i_mp,v_mp,p_mp,ff\n")
        for cid, techname, points, noise, e in expected:
            vals = ",".join(repr(float(e[k])) for k in ("isc", "voc", "imp", "vmp", "pmp", "ff"))
            f.write(f"{cid},{techname},{points},{noise},{vals}\n")


def spectra():
    """The AM1.5G reference spectrum shipped with the product, and a spectral-mismatch
    reference value from pvlib's `calc_spectral_mismatch_field`."""
    s = pvlib.spectrum.get_reference_spectra(standard="ASTM G173-03")
    path = os.path.join(HERE, "..", "..", "data", "astm_g173_03_global.csv")
    with open(path, "w") as f:
        f.write("# ASTM G173-03 reference spectrum, global tilt (37 deg), AM1.5: the IEC 60904-3 shape\n")
        f.write("# (IEC tabulates the same SMARTS 2.9.2 spectrum slightly scaled down; the scale cancels\n")
        f.write("# in the spectral mismatch factor). Extracted with pvlib %s\n" % pvlib.__version__)
        f.write("# spectrum.get_reference_spectra(standard='ASTM G173-03') from NREL's public G173 table.\n")
        f.write("# 2002 rows, 280-4000 nm; trapezoid integral 1000.371 W/m2.\n")
        f.write("wavelength,global\n")
        for wl, g in zip(s.index, s["global"]):
            f.write(f"{float(wl)!r},{float(g)!r}\n")
    # A c-Si-like relative spectral responsivity and a red-shifted measured spectrum.
    wl_sr = np.arange(300.0, 1201.0, 10.0)
    sr = np.clip((wl_sr - 300.0) / 700.0, 0, None) * np.where(wl_sr < 1000, 1.0, np.clip((1200 - wl_sr) / 200, 0, 1))
    wl_sun = np.arange(300.0, 1800.5, 5.0)
    ref = np.interp(wl_sun, s.index, s["global"])
    e_sun = ref * (1.0 + 0.25 * (wl_sun - 800.0) / 1000.0)
    import pandas as pd
    smm = pvlib.spectrum.calc_spectral_mismatch_field(pd.Series(sr, index=wl_sr), pd.Series(e_sun, index=wl_sun))
    with open(os.path.join(HERE, "spectral_mismatch.json"), "w") as f:
        json.dump({
            "pvlib_version": pvlib.__version__,
            "function": "pvlib.spectrum.calc_spectral_mismatch_field(sr, e_sun) (broadband reference)",
            "sr_wavelength": wl_sr.tolist(), "sr": sr.tolist(),
            "sun_wavelength": wl_sun.tolist(), "sun": e_sun.tolist(),
            "smm": float(smm),
        }, f)


if __name__ == "__main__":
    cs5p()
    synthetic_knee()
    extraction_set()
    spectra()
    print("reference data written")
