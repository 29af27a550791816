"""Reference values for the real outdoor curves of pvlib's PVsyst_demo data set (issue 15).

The data: `tests/data/PVsyst_demo.csv` and `PVsyst_demo_model.csv` of the pvlib 0.16.1
source distribution on PyPI (BSD-3-Clause; 3 585 I-V curves of a Mitsubishi PV-UE125MF5N
module measured outdoors, 55-56 points each, with plane-of-array irradiance and cell
temperature; and the PVsyst model parameters fitted to them). `.ci/run` downloads the sdist
and extracts the two files into `target/pvlib-data/`; they are not committed.

Written here, from pvlib itself (not from pvstation):
- the file's SHA-256 (the Rust test checks it reads the same data);
- `pvlib.ivtools.utils.astm_e1036` on every raw curve: p_mp, v_oc, i_sc (null where pvlib
  gives none);
- the module's maximum power at STC (1000 W/m², 25 °C) from the PVsyst model the data set
  ships (`pvsystem.calcparams_pvsyst` + `singlediode`), the independent value the curves
  translated to STC by IEC 60891 procedure 1 are compared with.

Usage: target/refvenv/bin/python tests/reference/pvsyst_demo.py target/pvlib-data
"""

import hashlib
import json
import math
import pathlib
import sys

import numpy as np
from pvlib import pvsystem
from pvlib.ivtools.utils import astm_e1036

data = pathlib.Path(sys.argv[1])
curves_file = data / "PVsyst_demo.csv"
model_file = data / "PVsyst_demo_model.csv"

with curves_file.open() as f:
    ns, alpha_sc, beta_voc, descr = f.readline().split(",")
    n, _m = (int(x) for x in f.readline().split(","))
    p_mp, v_oc, i_sc = [], [], []
    for _ in range(n):
        f.readline()  # the file's own Isc, Imp, Vmp, Voc, POA, Tc, Ee
        v = np.array([float(x) for x in f.readline().split(",")])
        i = np.array([float(x) for x in f.readline().split(",")])
        try:
            r = astm_e1036(v, i)
            vals = [r["pmp"], r["voc"], r["isc"]]
        except Exception:  # noqa: BLE001 - pvlib gives no value: recorded as null
            vals = [math.nan] * 3
        for out, x in zip((p_mp, v_oc, i_sc), vals):
            out.append(None if not math.isfinite(x) else float(x))

with model_file.open() as f:
    f.readline()
    names = ["I_L_ref", "I_o_ref", "EgRef", "R_sh_ref", "R_sh_0", "R_sh_exp", "R_s",
             "gamma_ref", "mu_gamma"]
    model = dict(zip(names, (float(x) for x in f.readline().split(","))))

params = pvsystem.calcparams_pvsyst(
    effective_irradiance=1000.0, temp_cell=25.0, alpha_sc=float(alpha_sc),
    gamma_ref=model["gamma_ref"], mu_gamma=model["mu_gamma"], I_L_ref=model["I_L_ref"],
    I_o_ref=model["I_o_ref"], R_sh_ref=model["R_sh_ref"], R_sh_0=model["R_sh_0"],
    R_s=model["R_s"], cells_in_series=int(ns), R_sh_exp=model["R_sh_exp"],
    EgRef=model["EgRef"])
stc = pvsystem.singlediode(*params)

out = {
    "source": "pvlib 0.16.1 sdist (PyPI), tests/data/PVsyst_demo.csv",
    "sha256": hashlib.sha256(curves_file.read_bytes()).hexdigest(),
    "module": descr.strip(),
    "cells_in_series": int(ns),
    "alpha_sc": float(alpha_sc),
    "beta_voc": float(beta_voc),
    "curves": n,
    "astm_e1036": {"p_mp": p_mp, "v_oc": v_oc, "i_sc": i_sc},
    "pvsyst_model_stc": {k: float(stc[k]) for k in ("p_mp", "i_sc", "v_oc", "i_mp", "v_mp")},
}
target = pathlib.Path(__file__).with_name("pvsyst_demo.json")
target.write_text(json.dumps(out, separators=(",", ":")) + "\n")
missing = sum(x is None for x in p_mp)
print(f"{n} curves, pvlib gives no Pmax for {missing}; PVsyst model at STC: "
      f"{out['pvsyst_model_stc']['p_mp']:.3f} W -> {target}")
