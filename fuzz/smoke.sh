#!/usr/bin/env bash
# Runs every fuzz target for a short while on stable Rust, without a sanitizer, from copies of
# the committed seed corpora (the tree stays clean). Exits non-zero if any target fails.
#
#   bash fuzz/smoke.sh            # 30 seconds per target
#   SMOKE_SECONDS=5 bash fuzz/smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${SMOKE_SECONDS:-30}"
targets=(parse roundtrip differential verify config bolt)
unset CARGO_TARGET_DIR # the fuzz crate builds into fuzz/target
stable=()
if rustup toolchain list 2>/dev/null | grep -q '^stable'; then
    stable=(+stable)
fi

if [[ "$(cargo fuzz --version 2>/dev/null || true)" != *"0.13.2"* ]]; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

dict_for() {
    case "$1" in
        parse | roundtrip) echo "-dict=fuzz/dict/policy.dict" ;;
        config) echo "-dict=fuzz/dict/config.dict" ;;
    esac
}

build_start=$SECONDS
cargo "${stable[@]}" fuzz build --sanitizer none
echo "smoke: built the targets in $((SECONDS - build_start)) s"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    cp -R "fuzz/corpus/$target/." "$scratch/$target/"
    start=$SECONDS
    # shellcheck disable=SC2046 # the dictionary flag is one word, or none
    if cargo "${stable[@]}" fuzz run "$target" --sanitizer none "$scratch/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 $(dict_for "$target") \
        >"$scratch/$target.log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        tail -n 60 "$scratch/$target.log"
    fi
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$target.log" | grep -o '[0-9]*$' || echo '?')"
    echo "smoke: $target $status in $((SECONDS - start)) s, $runs executions"
done

# The large input shapes (corpus/config-large, 18-37 KB each) run once each: fuzzing them would
# set the config target's -max_len to their size for every input (see fuzz/README.md).
start=$SECONDS
if cargo "${stable[@]}" fuzz run config --sanitizer none fuzz/corpus/config-large -- -runs=0 \
    >"$scratch/config-large.log" 2>&1; then
    echo "smoke: config-large ok in $((SECONDS - start)) s"
else
    failed+=(config-large)
    tail -n 60 "$scratch/config-large.log"
fi

if ((${#failed[@]})); then
    echo "smoke: failing targets: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "smoke: every target ran clean"
