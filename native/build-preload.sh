#!/usr/bin/env bash
# Builds libnativeheap-preload.so, the drop-in malloc for LD_PRELOAD (docs/preload.md):
#   1. compiles the bootstrap shim (native/preload/shim.c) to a position-independent object;
#   2. publishes src/NativeHeap.Preload as a NativeAOT shared library (net10.0), whose link step takes
#      the shim object (NativeLibrary item) and an unversioned version script exporting the malloc family.
# Output: artifacts/preload/libnativeheap-preload.so (or $1/libnativeheap-preload.so). Needs gcc and the .NET SDK.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/artifacts/preload}"
obj="$root/artifacts/preload/obj"
mkdir -p "$obj" "$out"
gcc -std=gnu11 -O2 -fPIC -fvisibility=hidden -Wall -Wextra -Werror -c "$root/native/preload/shim.c" -o "$obj/shim.o"
dotnet publish "$root/src/NativeHeap.Preload/NativeHeap.Preload.csproj" -c Release -r linux-x64 \
  -o "$obj/publish" -p:PreloadShimObject="$obj/shim.o" -nologo -v:q >"$obj/publish.log" 2>&1 \
  || { cat "$obj/publish.log"; exit 1; }
# Replace atomically: a running program may have the old library mapped.
cp "$obj/publish/libnativeheap-preload.so" "$out/.libnativeheap-preload.so.tmp"
mv -f "$out/.libnativeheap-preload.so.tmp" "$out/libnativeheap-preload.so"
# The malloc family must be exported without a symbol version, or it does not interpose.
if nm -D --defined-only "$out/libnativeheap-preload.so" | grep -E ' T (malloc|free)@' >/dev/null; then
  echo "build-preload: malloc is versioned in $out/libnativeheap-preload.so" >&2; exit 1
fi
echo "$out/libnativeheap-preload.so"
