"""The lab store's export bundle read by pyarrow (issue 16): every file's SHA-256 as the
manifest states, both Parquet datasets readable with the stated rows and columns, every DCC
file listed. Usage: lab_export_pyarrow.py BUNDLE_DIR (tests/it/lab.rs writes one to
target/tmp/lab-export-bundle)."""

import hashlib
import json
import pathlib
import sys

import pyarrow
import pyarrow.parquet as pq

bundle = pathlib.Path(sys.argv[1])
manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
assert manifest["format"] == "pvstation-lab-export/1", manifest["format"]
for name, f in manifest["files"].items():
    digest = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    assert digest == f["sha256"], f"{name}: {digest} != {f['sha256']}"
for name, dataset in manifest["datasets"].items():
    table = pq.read_table(bundle / name)
    assert table.num_rows == dataset["rows"], (name, table.num_rows, dataset["rows"])
    stated = [c["name"] for c in dataset["columns"]]
    assert table.column_names == stated, (name, table.column_names, stated)
results = pq.read_table(bundle / "results.parquet").to_pylist()
pmax = [r for r in results if r["quantity"] == "p_mp_stc"]
assert pmax and all(r["expanded_uncertainty"] > 0 and r["coverage_factor"] > 0 for r in pmax), pmax
for c in manifest["certificates"]:
    assert (bundle / c["file"]).is_file(), c["file"]
print(
    f"pyarrow {pyarrow.__version__}: {len(manifest['files'])} files verified, "
    f"{len(results)} result rows ({len(pmax)} Pmax with U and k), "
    f"{manifest['datasets']['iv_points.parquet']['rows']} I-V points, "
    f"{len(manifest['certificates'])} DCC certificates"
)
