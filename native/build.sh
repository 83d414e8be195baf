#!/usr/bin/env bash
# Builds the C ABI: libnativeheap.so (NativeAOT publish of src/NativeHeap.Native, net10.0) into
# artifacts/native/, then every C test in tests/c/ and the C benchmark in bench/c/ against include/
# and that library (artifacts/native/bin/). Needs the .NET SDK, gcc and libc6-dev. See docs/c-abi.md.
#   bash native/build.sh            # library + tests + benchmark
#   bash native/build.sh --c-only   # only the C programs (library already built)
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/native
if [ "${1:-}" != "--c-only" ]; then
  dotnet publish src/NativeHeap.Native/NativeHeap.Native.csproj -c Release -r linux-x64 -o "$out" -nologo
fi
[ -f "$out/libnativeheap.so" ] || { echo "build.sh: $out/libnativeheap.so is missing" >&2; exit 1; }
# The library's SONAME is libnativeheap.so.1 (the C ABI's major version): programs linked below need
# that name at run time, found through their rpath ($ORIGIN/..) as this link.
ln -sf libnativeheap.so "$out/libnativeheap.so.1"
mkdir -p "$out/bin"
cflags=(-O2 -g -Wall -Wextra -Werror -std=gnu11 -Iinclude -pthread)
for src in tests/c/test_*.c; do
  name=$(basename "$src" .c)
  if [ "$name" = test_dlopen ]; then
    gcc "${cflags[@]}" "$src" -o "$out/bin/$name" -ldl   # loads the library itself
  else
    gcc "${cflags[@]}" "$src" -o "$out/bin/$name" -L"$out" -lnativeheap -Wl,-rpath,'$ORIGIN/..'
  fi
done
# The benchmark loads both allocators with dlopen, so it does not link either.
gcc "${cflags[@]}" bench/c/nh_bench.c -o "$out/bin/nh_bench" -ldl
gcc "${cflags[@]}" bench/c/nh_realloc_bench.c -o "$out/bin/nh_realloc_bench" -ldl
echo "build.sh: built $out/libnativeheap.so and $(ls "$out/bin" | wc -l) C programs in $out/bin"
