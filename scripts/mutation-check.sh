#!/usr/bin/env bash
# Shows that the forward-secrecy and post-compromise tests can fail: applies
# each planted fault of scripts/mutations/ (one at a time) to a scratch copy
# of the working tree, runs those tests there, and reports whether the fault
# was caught. The working tree itself is never modified.
#
# Run on demand, not in CI:  scripts/mutation-check.sh
# MUTATION_TARGET_DIR picks the cargo target directory (default:
# target/mutation-check, kept apart from the normal build so that a mutated
# build can never be mistaken for a clean one).
set -euo pipefail

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
mutations_dir="$repo/scripts/mutations"
target_dir=${MUTATION_TARGET_DIR:-$repo/target/mutation-check}
test_filter=crypto::group::tests::compromise

scratch=$(mktemp -d "${TMPDIR:-/tmp}/mutation-check.XXXXXX")
cleanup() { rm -rf "$scratch"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

tree="$scratch/tree"
log="$scratch/test.log"

# A fresh copy of the tracked and untracked (not ignored) files. Every file
# gets a new modification time (tar -m): cargo decides what to rebuild from
# times, and a file restored with its old time after a mutated build would
# leave the mutated binary in place.
fresh_copy() {
    rm -rf "$tree"
    mkdir -p "$tree"
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
        (cd "$repo" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
        tar -m -xf - -C "$tree"
}

# Runs the property tests in the scratch copy; 0 when they pass, 1 when a
# test fails, 2 when the copy does not build.
run_tests() {
    if ! (cd "$tree" && CARGO_TARGET_DIR="$target_dir" cargo test --locked --lib --no-run) \
        >"$log" 2>&1; then
        return 2
    fi
    if (cd "$tree" && CARGO_TARGET_DIR="$target_dir" cargo test --locked --lib "$test_filter") \
        >"$log" 2>&1; then
        return 0
    fi
    return 1
}

failed_tests() {
    grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' |
        sed "s/^$test_filter:://" | paste -sd, -
}

echo "baseline (no fault)"
fresh_copy
status=0
run_tests || status=$?
if [ "$status" -ne 0 ]; then
    echo "  the unmodified tree does not pass (status $status); see below" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
echo "  passes: $(grep -E '^test result' "$log" | head -n 1)"

missed=0
for patch_file in "$mutations_dir"/*.patch; do
    name=$(basename "$patch_file" .patch)
    fresh_copy
    if ! patch -d "$tree" -p1 --forward --quiet <"$patch_file"; then
        echo "fault $name: patch does not apply (re-base it)"
        missed=$((missed + 1))
        continue
    fi
    status=0
    run_tests || status=$?
    case "$status" in
        1)
            echo "fault $name: CAUGHT by $(failed_tests)"
            grep -m 1 -E '^Test failed: ' "$log" | cut -c 1-200 | sed 's/^/  /' || true
            ;;
        0) echo "fault $name: MISSED (all tests pass)"; missed=$((missed + 1)) ;;
        *) echo "fault $name: does not build (re-base it)"; missed=$((missed + 1)) ;;
    esac
done

if [ "$missed" -ne 0 ]; then
    echo "$missed fault(s) not caught"
    exit 1
fi
echo "every planted fault was caught"
