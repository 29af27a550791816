"""Speed of pvstation's ASTM E1036 extraction against pvlib's `astm_e1036`, on the same
curves, in the same run (issue 3 target: pvstation ≥ 300× faster per curve).

    python3 benches/pvlib_compare.py [path/to/pvstation]     # default target/release/pvstation

Both sides run on one core: pvlib in this process, pvstation as `iv batch --threads 1` over
the whole file. The ratio is reported twice: on the analysis alone (sign check, validation,
rectification, ASTM E1036 extraction — what pvlib's loop does), as `iv batch` times it, and
end to end including pvstation's CSV reading and Parquet writing (which favours pvlib). The
script also checks the two agree on a sample of curves.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from pvlib import pvsystem
from pvlib.ivtools.utils import astm_e1036, rectify_iv_curve

N_CURVES = 20000      # pvstation processes all of them
N_PVLIB = 1000        # pvlib is timed on the first ones (it would take minutes on all)
POINTS = 200


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/pvstation"
    mod = pvsystem.retrieve_sam("CECMod")["Canadian_Solar_Inc__CS5P_220M"]
    rng = np.random.default_rng(1)
    curves = []
    for k in range(N_CURVES):
        g, t = rng.uniform(300, 1200), rng.uniform(5, 65)
        p = pvsystem.calcparams_cec(g, t, mod["alpha_sc"], mod["a_ref"], mod["I_L_ref"], mod["I_o_ref"],
                                    mod["R_sh_ref"], mod["R_s"], mod["Adjust"])
        voc = pvsystem.singlediode(*p)["v_oc"]
        v = np.linspace(0, 1.02 * voc, POINTS)
        i = pvsystem.i_from_v(v, *p) + rng.normal(0, 0.001 * p[0], POINTS)
        curves.append((v, np.asarray(i)))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "curves.csv")
        with open(path, "w") as f:
            f.write("curve_id,voltage,current\n")
            for k, (v, i) in enumerate(curves):
                f.write("".join(f"{k},{a!r},{b!r}\n" for a, b in zip(v.tolist(), i.tolist())))
        started = time.perf_counter()
        pvlib_results = [astm_e1036(*rectify_iv_curve(v, i)) for v, i in curves[:N_PVLIB]]
        pvlib_per_curve = (time.perf_counter() - started) / N_PVLIB

        out = os.path.join(tmp, "out.parquet")
        started = time.perf_counter()
        run = subprocess.run([binary, "iv", "batch", path, "--out", out, "--threads", "1"], check=True,
                             stderr=subprocess.PIPE, text=True)
        end_to_end_per_curve = (time.perf_counter() - started) / N_CURVES
        analysis = float(run.stderr.split("analysis ")[1].split(" s")[0])
        pvstation_per_curve = analysis / N_CURVES

        sample = os.path.join(tmp, "sample.csv")
        with open(path) as src, open(sample, "w") as dst:
            for line in src:
                if line.startswith("curve_id") or int(line.split(",", 1)[0]) < 50:
                    dst.write(line)
        got = subprocess.run([binary, "iv", "params", sample, "--json"], check=True,
                             capture_output=True, text=True).stdout.splitlines()
        worst = max(abs(json.loads(line)["p_mp"] / pvlib_results[k]["pmp"] - 1) for k, line in enumerate(got))

    print(f"pvlib {__import__('pvlib').__version__} astm_e1036: {pvlib_per_curve * 1e6:.1f} µs/curve "
          f"({N_PVLIB} curves of {POINTS} points, one core)")
    print(f"pvstation iv batch --threads 1: {pvstation_per_curve * 1e6:.2f} µs/curve analysis, "
          f"{end_to_end_per_curve * 1e6:.2f} µs/curve end to end ({N_CURVES} curves, CSV in, Parquet out)")
    print(f"ratio on the analysis: {pvlib_per_curve / pvstation_per_curve:.0f}x (target >= 300x); "
          f"end to end: {pvlib_per_curve / end_to_end_per_curve:.0f}x; "
          f"largest Pmax difference on 50 curves: {worst:.1e}")


if __name__ == "__main__":
    main()
