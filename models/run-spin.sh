#!/usr/bin/env bash
# Model-checks models/lockfree_stack.pml (the tagged Treiber stack: the partial lists) and
# models/michael_anchor.pml (the superblock anchor, credits, partial list and pool protocol) with spin
# (Debian package `spin`) and gcc.
# Usage: bash models/run-spin.sh [--long]
# Each check states what spin must answer; the script exits non-zero if any answer differs, so the
# negative controls (NOTAG, SPINLOCK) prove that the checks can fail.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
model="$here/lockfree_stack.pml"
anchor="$here/michael_anchor.pml"
command -v spin >/dev/null || { echo "spin not found: apt-get install spin"; exit 2; }
command -v gcc >/dev/null || { echo "gcc not found: apt-get install gcc"; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$model" "$anchor" "$work/"
cd "$work"
failures=0

# check NAME EXPECT SPIN_DEFINES GCC_FLAGS PAN_FLAGS [MODEL]
#   EXPECT: ok (errors: 0 and the search was complete) or fail:<text that must appear>
check() {
    local name="$1" expect="$2" defs="$3" cflags="$4" panflags="$5" file="${6:-lockfree_stack.pml}"
    rm -f pan pan.* ./*.trail
    if ! spin -a $defs "$file" >spin.log 2>&1; then
        echo "FAIL $name: spin -a $defs: $(cat spin.log)"; failures=$((failures + 1)); return
    fi
    if ! gcc -w -O2 $cflags -o pan pan.c >gcc.log 2>&1; then
        echo "FAIL $name: gcc $cflags: $(head -5 gcc.log)"; failures=$((failures + 1)); return
    fi
    local t0=$SECONDS
    ./pan $panflags >pan.log 2>&1
    local states errors
    states=$(grep -oE '^ *[0-9.e+]+ states, stored' pan.log | head -1 | awk '{print $1}')
    errors=$(grep -oE 'errors: [0-9]+' pan.log | head -1)
    local verdict="$errors, $states states, $((SECONDS - t0)) s"
    if [ "$expect" = ok ]; then
        if [ "$errors" = "errors: 0" ] && ! grep -q "max search depth too small\|out of memory" pan.log; then
            echo "ok   $name ($verdict)"
        else
            echo "FAIL $name: expected a complete search without errors ($verdict)"; grep -E "violated|cycle|too small|out of memory" pan.log | head -3
            failures=$((failures + 1))
        fi
    else
        local want="${expect#fail:}"
        if grep -q "$want" pan.log; then
            echo "ok   $name (found as expected: $(grep -m1 "$want" pan.log | sed 's/^ *//'))"
        else
            echo "FAIL $name: expected spin to find '$want' ($verdict)"; failures=$((failures + 1))
        fi
    fi
}

echo "spin model check of $model and $anchor"
# Safety: S1-S5 for every interleaving of 2 threads, 3 blocks, 3 operations each.
check "safety: 2 threads, 3 blocks, 3 ops each" ok "" "-DSAFETY" "-m1000000"
# Safety for runs of any length (OPS=0), 2 threads, 2 blocks.
check "safety: 2 threads, 2 blocks, unbounded runs" ok "-DOPS=0 -DNB=2" "-DSAFETY -DCOLLAPSE" "-m3000000"
# Lock-freedom: no cycle in which no thread completes an operation.
check "progress: no non-progress cycle, 2 threads, 2 blocks, unbounded" ok "-DOPS=0 -DNB=2" "-DNP -DCOLLAPSE" "-l -m3000000"
# Negative controls: the same checks catch ABA without tags and blocking with a spin lock.
check "control: without tags spin finds the ABA violation" "fail:assertion violated" "-DNOTAG" "-DSAFETY" "-m1000000"
check "control: with a spin lock spin finds a non-progress cycle" "fail:non-progress cycle" "-DOPS=0 -DNB=2 -DSPINLOCK" "-DNP" "-l -m3000000"
# The superblock protocol (michael_anchor.pml): A1-A4 for every interleaving, lock-freedom, and the
# control: without the anchor's tag spin finds a block handed out twice.
check "anchor safety: 2 threads, 3 blocks, 3 ops each" ok "" "-DSAFETY" "-m1000000" michael_anchor.pml
check "anchor progress: no non-progress cycle, 2 threads, 2 blocks, unbounded" ok "-DOPS=0 -DNB=2" "-DNP -DCOLLAPSE" "-l -m3000000" michael_anchor.pml
check "anchor control: without the anchor tag spin finds a block handed out twice" "fail:assertion violated" "-DNOTAG -DNTHREADS=3 -DOPS=2" "-DSAFETY -DCOLLAPSE" "-m1000000" michael_anchor.pml
if [ "${1:-}" = "--long" ]; then
    # Tens of millions of states (more than 19 million after 400 s here): long mode only.
    check "anchor safety: 3 threads, 3 blocks, 2 ops each" ok "-DNTHREADS=3 -DOPS=2" "-DSAFETY -DCOLLAPSE" "-m1000000" michael_anchor.pml
    check "safety: 2 threads, 3 blocks, 4 ops each" ok "-DOPS=4" "-DSAFETY -DCOLLAPSE" "-m1000000"
    check "safety: 3 threads, 3 blocks, 2 ops each" ok "-DNTHREADS=3 -DOPS=2" "-DSAFETY -DCOLLAPSE" "-m1000000"
fi
if [ "$failures" -ne 0 ]; then echo "spin: $failures check(s) failed"; exit 1; fi
echo "spin: all checks passed"
