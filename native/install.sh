#!/usr/bin/env bash
# Installs the C ABI under a prefix (default /usr/local), as a distribution package would:
#   PREFIX/lib/libnativeheap.so.1.0.0           the library (SONAME libnativeheap.so.1, set at link time)
#   PREFIX/lib/libnativeheap.so.1 -> .so.1.0.0   the name programs record and the loader looks for
#   PREFIX/lib/libnativeheap.so   -> .so.1       the name -lnativeheap finds when linking
#   PREFIX/lib/pkgconfig/nativeheap.pc           pkg-config --cflags --libs nativeheap
#   PREFIX/include/nativeheap/                   the headers of include/ (nativeheap.h, jemalloc/jemalloc.h,
#                                                memkind.h, hbwmalloc.h, mmalloc.h, atomic_ops_malloc.h),
#                                                in a directory of their own so they never shadow a real
#                                                jemalloc's or memkind's headers
# Usage: bash native/install.sh [PREFIX]   (LIBDIR=... overrides PREFIX/lib; DESTDIR is honoured).
# Builds the library with native/build.sh first when artifacts/native/libnativeheap.so is missing or
# NH_INSTALL_REBUILD=1. After installing into a prefix the loader does not search, run programs with
# LD_LIBRARY_PATH=PREFIX/lib (or link them with -Wl,-rpath,PREFIX/lib).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
prefix="${1:-/usr/local}"
libdir="${LIBDIR:-$prefix/lib}"
dest="${DESTDIR:-}"
abi=1.0.0
lib=artifacts/native/libnativeheap.so
if [ ! -f "$lib" ] || [ "${NH_INSTALL_REBUILD:-0}" = 1 ]; then bash native/build.sh >&2; fi
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libnativeheap.so.${abi%%.*}" ] || { echo "install.sh: $lib has SONAME '$soname', expected libnativeheap.so.${abi%%.*} (rebuild: NH_INSTALL_REBUILD=1)" >&2; exit 1; }
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)"
install -d "$dest$libdir/pkgconfig" "$dest$prefix/include/nativeheap"
install -m 755 "$lib" "$dest$libdir/libnativeheap.so.$abi"
ln -sfn "libnativeheap.so.$abi" "$dest$libdir/$soname"
ln -sfn "$soname" "$dest$libdir/libnativeheap.so"
cp -R include/. "$dest$prefix/include/nativeheap/"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" -e "s|@VERSION@|$version|g" native/nativeheap.pc.in >"$dest$libdir/pkgconfig/nativeheap.pc"
echo "install.sh: installed libnativeheap.so.$abi ($soname), headers and nativeheap.pc under $dest$prefix"
