#!/usr/bin/env python3
"""Reference data for the solar position (src/analysis/sun.rs), with pvlib 0.16.1.

1. data/spa-periodic-terms.csv: the periodic terms of the NREL Solar Position Algorithm,
   Reda & Andreas (2004), NREL/TP-560-34302, Table A4.2 (Earth heliocentric longitude L0-L5,
   latitude B0-B1, radius R0-R4: A, B, C) and Table A4.3 (nutation: Y0-Y4 multipliers and
   a, b, c, d coefficients), as pvlib.spa carries them (public-domain data of the paper).
2. tests/reference/spa_reference.csv: pvlib.solarposition.spa_python at 1 200 times and
   places (random over 1990-2060, latitudes +-66 deg, altitudes 0-4 500 m, the plateau site
   Xining 36.62 N 101.77 E 2 260 m among them), with delta_t = 69.0 s, pressure and
   temperature per row: zenith, apparent zenith, azimuth, declination.

Run from the repository root: target/refvenv/bin/python tests/reference/spa.py
"""
import pathlib

import numpy as np
import pandas as pd
import pvlib
from pvlib import spa

ROOT = pathlib.Path(__file__).resolve().parents[2]


def terms():
    out = ROOT / "data" / "spa-periodic-terms.csv"
    lines = [
        "# Periodic terms of the NREL Solar Position Algorithm: Reda, I. and Andreas, A. (2004),",
        "# Solar position algorithm for solar radiation applications, NREL/TP-560-34302,",
        "# Table A4.2 (L0-L5, B0-B1, R0-R4: A, B [rad], C [rad/millennium]) and Table A4.3",
        f"# (nutation NU: Y0-Y4, a, b, c, d). Written by tests/reference/spa.py from pvlib {pvlib.__version__}",
        "# (pvlib.spa), which carries the paper's tables.",
        "series,a,b,c,d,e,f,g,h,i",
    ]
    for name in ["L0", "L1", "L2", "L3", "L4", "L5", "B0", "B1", "R0", "R1", "R2", "R3", "R4"]:
        for row in np.asarray(getattr(spa, name)):
            lines.append(",".join([name] + [repr(float(x)) for x in row] + [""] * 6))
    for y, abcd in zip(np.asarray(spa.NUTATION_YTERM_ARRAY), np.asarray(spa.NUTATION_ABCD_ARRAY)):
        lines.append(",".join(["NU"] + [repr(float(x)) for x in list(y) + list(abcd)]))
    out.write_text("\n".join(lines) + "\n")
    print(f"{out}: {len(lines) - 6} rows")


def reference():
    rng = np.random.default_rng(20261201)
    n = 1200
    t0 = pd.Timestamp("1990-01-01", tz="UTC").value / 1e9
    t1 = pd.Timestamp("2060-01-01", tz="UTC").value / 1e9
    rows = []
    for k in range(n):
        if k < 48:
            # The plateau site every half hour of one day.
            t = pd.Timestamp("2026-06-21", tz="UTC").value / 1e9 + k * 1800.0
            lat, lon, alt = 36.62, 101.77, 2260.0
        else:
            t = float(rng.uniform(t0, t1))
            lat, lon, alt = float(rng.uniform(-66, 66)), float(rng.uniform(-180, 180)), float(rng.uniform(0, 4500))
        pressure = float(101325.0 * (1 - 2.25577e-5 * alt) ** 5.25588)
        temperature = float(rng.uniform(-10, 35))
        time = pd.DatetimeIndex([pd.Timestamp(t, unit="s", tz="UTC")])
        p = pvlib.solarposition.spa_python(time, lat, lon, altitude=alt, pressure=pressure,
                                           temperature=temperature, delta_t=69.0, how="numpy")
        rows.append((repr(t), lat, lon, alt, pressure, temperature,
                     float(p["zenith"].iloc[0]), float(p["apparent_zenith"].iloc[0]),
                     float(p["azimuth"].iloc[0])))
    out = ROOT / "tests" / "reference" / "spa_reference.csv"
    with open(out, "w") as f:
        f.write(f"# pvlib {pvlib.__version__} solarposition.spa_python(delta_t=69.0): tests/reference/spa.py\n")
        f.write("unix_s,latitude,longitude,altitude_m,pressure_pa,temperature_c,zenith,apparent_zenith,azimuth\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    print(f"{out}: {len(rows)} rows")


if __name__ == "__main__":
    terms()
    reference()
