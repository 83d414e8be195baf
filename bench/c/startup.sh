#!/usr/bin/env bash
# Start-up cost per process (docs/benchmarks.md, "Start-up"): a trivial program (one malloc + free)
# started N times (default 50) under each allocator, interleaved, with bench/c/nh_startup.c (wall
# time, CPU time, peak RSS), then once more each for its memory at exit (Rss, Pss, Private_Dirty):
#   glibc        the plain program
#   nativeheap   the program linked to libnativeheap.so (nh_malloc), artifacts/native
#   dropin       the plain program under LD_PRELOAD=libnativeheap-preload.so, artifacts/preload
#   jemalloc, mimalloc, tcmalloc   the plain program under LD_PRELOAD of the Debian library
# Run it under the bench lock: flock /tmp/nh-bench.lock bash bench/c/startup.sh [N]
# Builds what is missing (native/build.sh --c-only needs artifacts/native/libnativeheap.so; run
# native/build.sh and native/build-preload.sh first for fresh libraries). Extra environment for the
# NativeHeap runs can be given as NH_ENV="DOTNET_X=1 ..." (it applies to every configuration).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-50}"
work="$(mktemp -d /tmp/nh-startup.XXXXXX)"
trap 'rm -rf "$work"' EXIT
nh="$root/artifacts/native"
pre="$root/artifacts/preload/libnativeheap-preload.so"
[ -f "$nh/libnativeheap.so" ] || bash "$root/native/build.sh" >/dev/null
[ -f "$pre" ] || bash "$root/native/build-preload.sh" >/dev/null
gcc -O2 -o "$work/nh_startup" "$root/bench/c/nh_startup.c"
gcc -O2 -o "$work/plain" "$root/bench/c/startup_trivial.c"
gcc -O2 -DUSE_NH -I"$root/include" -o "$work/nh" "$root/bench/c/startup_trivial.c" -L"$nh" -lnativeheap -Wl,-rpath,"$nh"
lib=/usr/lib/x86_64-linux-gnu
configs=("glibc=-:$work/plain" "nativeheap=-:$work/nh" "dropin=$pre:$work/plain")
[ -f "$lib/libjemalloc.so.2" ] && configs+=("jemalloc=$lib/libjemalloc.so.2:$work/plain")
[ -f "$lib/libmimalloc.so.2" ] && configs+=("mimalloc=$lib/libmimalloc.so.2:$work/plain")
[ -f "$lib/libtcmalloc_minimal.so.4" ] && configs+=("tcmalloc=$lib/libtcmalloc_minimal.so.4:$work/plain")
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $n starts each, interleaved${NH_ENV:+; env $NH_ENV}"
env ${NH_ENV:-} "$work/nh_startup" "$n" "${configs[@]}"
# Memory at exit of one start each (kB, /proc/self/smaps_rollup): Private_Dirty is what the process
# adds on its own; Rss also counts file pages of the libraries, shared between processes.
printf '%-14s %10s %10s %14s\n' config "Rss kB" "Pss kB" "Private_Dirty"
for c in "${configs[@]}"; do
  name="${c%%=*}"; rest="${c#*=}"; pl="${rest%%:*}"; prog="${rest#*:}"
  if [ "$pl" = - ]; then r="$(env ${NH_ENV:-} STARTUP_ROLLUP=1 "$prog")"; else r="$(env ${NH_ENV:-} STARTUP_ROLLUP=1 LD_PRELOAD="$pl" "$prog")"; fi
  read -r rss pss dirty <<<"$r"
  printf '%-14s %10s %10s %14s\n' "$name" "$rss" "$pss" "$dirty"
done
