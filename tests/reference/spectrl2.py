#!/usr/bin/env python3
"""Reference data for the clear-sky spectral model (src/analysis/spectrl2.rs), with pvlib 0.16.1.

1. data/spectrl2-coefficients.csv: the SPECTRL2 tables of Bird, R. and Riordan, C. (1986),
   "Simple solar spectral model for direct and diffuse irradiance on horizontal and tilted
   planes at the earth's surface for cloudless atmospheres", J. Climate Appl. Meteor. 25,
   87-97 (SERI/TR-215-2436, 1984), Table 1: 122 wavelengths 300-4000 nm, extraterrestrial
   spectral irradiance [W m-2 nm-1], water-vapour, ozone and uniformly-mixed-gas absorption
   coefficients, as pvlib.spectrum.spectrl2 carries them (public data of the report).
2. tests/reference/spectrl2_reference.json: pvlib.spectrum.spectrl2 for three sun positions
   on the plateau (Xining, 2 260 m, ~770 hPa): poa_global, dni, dhi per wavelength; and the
   Martin-Ruiz incidence-angle modifiers (pvlib.iam.martin_ruiz, martin_ruiz_diffuse) that
   the station's analysis models angular losses with; and the physical (Fresnel + absorption)
   modifiers of the simulated world's glass (pvlib.iam.physical, iam.marion_diffuse).

Run from the repository root: target/refvenv/bin/python tests/reference/spectrl2.py
"""
import json
import pathlib

import numpy as np
import pvlib
import importlib

module = importlib.import_module("pvlib.spectrum.spectrl2")

ROOT = pathlib.Path(__file__).resolve().parents[2]


def coefficients():
    c = module._SPECTRL2_COEFFS
    lines = [
        "# SPECTRL2 (Bird & Riordan 1986, SERI/TR-215-2436 Table 1): wavelength [nm],",
        "# extraterrestrial spectral irradiance at 1 AU [W m-2 nm-1], absorption coefficients of",
        "# water vapour [cm-1], ozone [cm-1] and uniformly mixed gases [km-1]. Written by",
        f"# tests/reference/spectrl2.py from pvlib {pvlib.__version__}, which carries the report's table.",
        "wavelength,et,water,ozone,mixed",
    ]
    for row in c:
        lines.append(",".join(repr(float(x)) for x in row))
    (ROOT / "data" / "spectrl2-coefficients.csv").write_text("\n".join(lines) + "\n")


def reference():
    pressure = pvlib.atmosphere.alt2pres(2260.0)
    cases = []
    # (apparent zenith, aoi, tilt, day of year, precipitable water [cm], AOD500, ozone [atm-cm])
    for zen, aoi, tilt, doy, pw, aod, oz in [
        (15.0, 0.0, 15.0, 172, 0.8, 0.07, 0.30),   # summer noon, tracker
        (45.0, 12.0, 35.0, 80, 0.5, 0.10, 0.32),   # equinox morning, fixed rack
        (72.0, 40.0, 35.0, 355, 0.3, 0.05, 0.28),  # winter afternoon, low sun
    ]:
        am = pvlib.atmosphere.get_relative_airmass(zen, model="kastenyoung1989")
        out = pvlib.spectrum.spectrl2(
            apparent_zenith=zen, aoi=aoi, surface_tilt=tilt, ground_albedo=0.2,
            surface_pressure=pressure, relative_airmass=am, precipitable_water=pw,
            ozone=oz, aerosol_turbidity_500nm=aod, dayofyear=doy)
        cases.append({
            "apparent_zenith": zen, "aoi": aoi, "surface_tilt": tilt, "dayofyear": doy,
            "precipitable_water": pw, "aerosol_turbidity_500nm": aod, "ozone": oz,
            "ground_albedo": 0.2, "surface_pressure": float(pressure),
            "relative_airmass": float(am),
            "poa_global": [float(x) for x in np.ravel(out["poa_global"])],
            "dni": [float(x) for x in np.ravel(out["dni"])],
            "dhi": [float(x) for x in np.ravel(out["dhi"])],
        })
    aoi = [0.0, 10.0, 30.0, 45.0, 60.0, 70.0, 80.0, 85.0, 89.0, 90.0, 95.0]
    tilts = [0.0, 15.0, 35.0, 60.0, 90.0]
    iam = {
        "aoi": aoi,
        "tilt": tilts,
        "cases": [
            {
                "a_r": a_r,
                "beam": [float(x) for x in pvlib.iam.martin_ruiz(np.array(aoi), a_r=a_r)],
                "sky": [float(pvlib.iam.martin_ruiz_diffuse(t, a_r=a_r)["sky"]) for t in tilts],
                "ground": [float(pvlib.iam.martin_ruiz_diffuse(t, a_r=a_r)["ground"]) for t in tilts],
            }
            for a_r in (0.16, 0.14, 0.20)
        ],
    }
    physical = []
    for n, n_ar in ((1.526, None), (1.526, 1.29), (1.46, None)):
        kw = dict(n=n, K=4.0, L=0.002, n_ar=n_ar)
        diffuse = [pvlib.iam.marion_diffuse("physical", t, **kw) for t in tilts]
        physical.append({
            "n": n, "n_ar": n_ar, "K": 4.0, "L": 0.002,
            "beam": [float(x) for x in pvlib.iam.physical(np.array(aoi), **kw)],
            "sky": [float(d["sky"]) for d in diffuse],
            "ground": [float(d["ground"]) for d in diffuse],
        })
    iam["physical"] = physical
    data = {
        "pvlib_version": pvlib.__version__,
        "function": "pvlib.spectrum.spectrl2 (defaults: scattering albedo 0.945, alpha 1.14, "
                    "wavelength variation 0.095, asymmetry 0.65)",
        "wavelength": [float(x) for x in module._SPECTRL2_COEFFS["wavelength"]],
        "cases": cases,
        "iam": iam,
    }
    (ROOT / "tests" / "reference" / "spectrl2_reference.json").write_text(json.dumps(data) + "\n")


if __name__ == "__main__":
    coefficients()
    reference()
