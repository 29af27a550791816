#!/usr/bin/env bash
# Run every fuzz target (or the TARGETs named) for SECONDS (default 60) each and print the
# executions it made: ./run.sh [SECONDS [TARGET...]]
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain is asked for its
# nightly-only sanitizer flags with RUSTC_BOOTSTRAP=1. A crash leaves its input under
# fuzz/artifacts/TARGET/: fix the cause, then copy the input into fuzz/corpus/TARGET/ so that
# `cargo test` replays it for ever after.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scpi_reply ieee_block curve_csv station_toml module_toml model_toml procedure)
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "target/corpus/$target"
  log="target/fuzz-$target.log"
  # New inputs go to a scratch corpus under target/; the committed seeds are only read.
  if cargo fuzz run "$target" "target/corpus/$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 >"$log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo "?")
    echo "$target: $runs executions in ${seconds} s, no crash"
  else
    echo "$target: FAILED — the whole log is $PWD/$log; the failure:"
    grep -E -A12 'panicked|ERROR: libFuzzer|SUMMARY|==ERROR' "$log" | head -n 40
    exit 1
  fi
done
