#!/usr/bin/env python3
"""Closure test of the outdoor Pmax chain against the simulator's truth (issue 15).

Runs `pvstation run outdoor-pmax` on a simulated station for several seeds, seasons and times
of day (`--sim-start`), compares every result with `pvstation sim truth` and reports, per
station and time of day: runs, the share with normalised error E_n = |y - y_true| / U <= 1
(ISO 13528, U_X = 0 for a simulated truth), the mean relative error and the mean U/y. Exits 1
when a station's E_n <= 1 share is below 95 %.

    python3 benches/closure.py [--binary target/release/pvstation] [--seeds 20] [--spread]
                               [--station instruments/stations/demo-sim.toml ...]
                               [--set mismatch=none ...] [--speed 200]

Without --spread every seed runs in every (season, time) cell; with it seed k runs in cell
(k - 1) mod 6 only, so --seeds 24 --spread gives 24 distinct days, 4 per cell. The default
stations are both simulated ones (c-Si demo station and CdTe thin-film station).

Standard library only; every run's database in a temporary directory.
"""
import argparse
import calendar
import json
import os
import subprocess
import sys
import tempfile

# Local mean solar time = UTC + longitude/15 h; the plateau site is at 101.77 deg E.
SEASONS = {"summer": (2026, 6, 21), "winter": (2026, 12, 21)}
TIMES = {
    "summer": {"morning": 9.5, "noon": 12.0, "afternoon": 14.5},
    "winter": {"morning": 10.5, "noon": 12.0, "afternoon": 13.5},
}


def start_of(season, local_hour, longitude=101.77):
    y, m, d = SEASONS[season]
    midnight = calendar.timegm((y, m, d, 0, 0, 0))
    return midnight + (local_hour - longitude / 15.0) * 3600.0


def truth(binary, station):
    out = subprocess.run([binary, "sim", "truth", "--json", "--station", station],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def run_once(binary, station, seed, start, sets, speed, db):
    args = [binary, "run", "outdoor-pmax", "--json", "--headless", "--station", station,
            "--db", db, "--seed", str(seed), "--sim-start", str(start), "--speed", str(speed)]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    finished = None
    for line in out.stdout.splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if e.get("event") == "finished":
            finished = e
    if not finished or finished.get("status") != "completed":
        return None, (finished or {}).get("reason") or out.stderr.strip()[-300:]
    r = finished["results"]["p_mp_stc"]
    return (r["value"], r["U"]), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/pvstation")
    ap.add_argument("--station", action="append")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--speed", type=float, default=200.0)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--seasons", default="summer,winter")
    ap.add_argument("--spread", action="store_true")
    args = ap.parse_args()
    stations = args.station or ["instruments/stations/demo-sim.toml",
                                "instruments/stations/plateau-thinfilm-sim.toml"]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'station':<28} {'season':<7} {'time':<10} {'runs':>4} {'E_n<=1':>7} "
              f"{'mean |err|/y':>12} {'mean err/y':>10} {'mean U/y':>9} {'max E_n':>7} "
              f"{'failed':>6}")
        for station in stations:
            t = truth(args.binary, station)["p_mp"]
            all_en = []
            cells = [(season, name, hour) for season in args.seasons.split(",")
                     for name, hour in TIMES[season].items()]
            for c, (season, name, hour) in enumerate(cells):
                en, err, signed, rel_u, failed = [], [], [], [], []
                seeds = [k for k in range(1, args.seeds + 1)
                         if not args.spread or (k - 1) % len(cells) == c]
                for seed in seeds:
                    db = os.path.join(tmp, f"{len(all_en)}-{season}-{name}-{seed}.db")
                    res, why = run_once(args.binary, station, seed, start_of(season, hour),
                                        args.set, args.speed, db)
                    if res is None:
                        failed.append((seed, why))
                        continue
                    y, u = res
                    en.append(abs(y - t) / u)
                    err.append(abs(y - t) / t)
                    signed.append((y - t) / t)
                    rel_u.append(u / y)
                all_en += en
                share = sum(1 for x in en if x <= 1.0) / len(en) if en else float("nan")
                mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
                print(f"{os.path.basename(station):<28} {season:<7} {name:<10} {len(en):>4} "
                      f"{share:>7.0%} {mean(err):>12.3%} {mean(signed):>+10.3%} "
                      f"{mean(rel_u):>9.3%} {max(en, default=float('nan')):>7.2f} "
                      f"{len(failed):>6}", flush=True)
                for seed, why in failed[:2]:
                    print(f"    seed {seed} failed: {why}", flush=True)
            share = sum(1 for x in all_en if x <= 1.0) / len(all_en) if all_en else 0.0
            print(f"{os.path.basename(station)}: truth {t:.4f} W; E_n <= 1 in {share:.1%} "
                  f"of {len(all_en)} runs", flush=True)
            ok &= share >= 0.95
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
