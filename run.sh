#!/usr/bin/env bash
# The main job: `nheap bench --quick`, the mimalloc-bench workloads on NativeHeap (both cores) and the peer
# allocators (glibc, jemalloc, mimalloc, tcmalloc; missing peers are skipped with the apt-get line),
# interleaved, 5 repeats, one child process per allocator and repeat; prints a table per workload.
# Extra arguments go to `nheap bench` (e.g. --json out.json --svg out.svg, --workload larsonN).
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet run -c Release --project tools/NativeHeap.Cli -- bench --quick "$@"
