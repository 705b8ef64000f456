#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time; fails on any crash.
#
#   bash fuzz/run.sh [SECONDS]      (default 30 per target)
#
# Stable Rust: cargo-fuzz passes nightly-only flags (-Zsanitizer=address …),
# which RUSTC_BOOTSTRAP=1 lets the stable compiler accept.
set -euo pipefail

secs="${1:-30}"
case "$secs" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
targets=(filter content_range authorization webhook)

# One build for all targets, so the timed runs measure fuzzing only.
cargo fuzz build

failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    echo "== fuzz/$t: ${secs}s" >&2
    # corpus/$t is the (git-ignored) working corpus; seeds/$t is read only.
    if ! cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz/run.sh: crashes in: ${failed[*]} (inputs under fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "fuzz/run.sh: ${#targets[@]} targets, ${secs}s each, no crashes" >&2
