#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for SECONDS (default 30); fails if any
# target crashes (the crashing input is then in fuzz/artifacts/<target>/).
#
#   ci/fuzz.sh [SECONDS] [TARGET...]
#
# On the stable toolchain: cargo-fuzz hands rustc nightly-only flags (-Zsanitizer=address and
# the sancov -C llvm-args), which stable accepts with RUSTC_BOOTSTRAP=1; stable's rust-std
# ships the ASan runtime, so the default sanitizer (address) works. FUZZ_SANITIZER=none
# builds without ASan (about twice the executions per second; the Rust code is checked anyway).
# The corpus (fuzz/corpus/<target>, not in git) starts from the seeds in fuzz/seeds/<target>
# (in git; fuzz/seeds/gen.py writes them), with fuzz/dict/<target>.dict when there is one.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs=${1:-30}
shift || true
sanitizer=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "ci/fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

# The ikev1_engine seeds are a real initiator's exchanges: they must still take the responder
# through them, or the fuzzer no longer reaches its encrypted paths.
if printf '%s\n' "${targets[@]}" | grep -qx ikev1_engine; then
  echo "== ikev1_engine seeds (cargo test --test ikev1_engine_seeds)"
  cargo test --release --quiet --test ikev1_engine_seeds
fi

echo "== cargo fuzz build (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"

logs=target/fuzz-logs
mkdir -p "$logs"
failed=()
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s"
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  extra=()
  [ -f "dict/$t.dict" ] && extra=("-dict=dict/$t.dict")
  # New inputs go to the first directory only: the seeds stay as they are.
  if cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" \
    >"$logs/$t.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log")
    echo "   ok: ${runs:-?} runs, corpus $(find "corpus/$t" -type f | wc -l) inputs"
  else
    failed+=("$t")
    echo "   FAILED: see fuzz/$logs/$t.log and fuzz/artifacts/$t/"
    grep -E -m 12 "panicked|ERROR|SUMMARY|artifact_prefix|Test unit written" "$logs/$t.log" || true
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "ci/fuzz.sh: crashes in ${failed[*]}" >&2
  exit 1
fi
echo "ci/fuzz.sh: ${#targets[@]} targets, ${secs}s each, no crash"
