#!/usr/bin/env bash
# Drop-in comparison (docs/benchmarks.md, "Drop-in (LD_PRELOAD)"): the same programs under LD_PRELOAD of
# NativeHeap, jemalloc, mimalloc, tcmalloc and under glibc, in one run:
#   - redis-server + redis-benchmark -r 1000000 -n 100000 -P 16 -q -t lpush,lrange_100 (mimalloc-bench's
#     parameters): requests/s of each test and the server's peak RSS (VmHWM just before SHUTDOWN);
#   - python3 bench/preload/alloc.py ROUNDS 4: wall time and peak RSS (/usr/bin/time).
# Each allocator runs REPEATS times (default 3), interleaved; the median is printed.
# Usage: bash bench/preload/run.sh [REPEATS] [ROUNDS]. Needs redis-server, redis-tools, python3, gcc.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
repeats="${1:-3}"
rounds="${2:-12}"
libdir=/usr/lib/x86_64-linux-gnu
nh="${NH_PRELOAD_LIB:-}"
if [ -z "$nh" ]; then nh="$(bash "$root/native/build-preload.sh" | tail -n1)"; fi
work="$(mktemp -d /tmp/nh-preload-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Debian's redis-server links jemalloc, so "no preload" is jemalloc there. The glibc row preloads a
# forwarder to glibc's own allocator instead, which interposes the same way the others do.
cat > "$work/glibc.c" <<'C'
#include <dlfcn.h>
#include <stddef.h>
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t), *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
void *malloc(size_t n) { return __libc_malloc(n); }
void *calloc(size_t c, size_t n) { return __libc_calloc(c, n); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { return __libc_memalign(a, n); }
int posix_memalign(void **r, size_t a, size_t n) { void *p = __libc_memalign(a, n); if (!p) return 12; *r = p; return 0; }
/* libc's own (redis links jemalloc, whose malloc_usable_size would come first otherwise) */
size_t malloc_usable_size(void *p) {
  static size_t (*f)(void *);
  if (!f) f = (size_t (*)(void *))dlsym(dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), "malloc_usable_size");
  return p ? f(p) : 0;
}
C
gcc -O2 -shared -fPIC -o "$work/libglibc-forward.so" "$work/glibc.c" -ldl

names=(glibc nativeheap jemalloc mimalloc tcmalloc)
declare -A lib=([glibc]="$work/libglibc-forward.so" [nativeheap]="$nh" [jemalloc]="$libdir/libjemalloc.so.2"
  [mimalloc]="$libdir/libmimalloc.so.2" [tcmalloc]="$libdir/libtcmalloc_minimal.so.4")
for n in "${names[@]}"; do [ -f "${lib[$n]}" ] || { echo "skip $n: ${lib[$n]} missing" >&2; unset "lib[$n]"; }; done

port=$((20000 + RANDOM % 20000))
redis_once() {   # $1 = allocator; prints "lpush lrange hwm_kib"
  local l="${lib[$1]}" pid out hwm
  port=$((port + 1))
  LD_PRELOAD="$l" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null || { echo "redis-server under $1 died: $(tail -n3 "$work/redis.log")" >&2; echo "- - -"; return; }
  out="$(timeout 300 redis-benchmark -p "$port" -r 1000000 -n 100000 -P 16 -q -t lpush,lrange_100 2>/dev/null | tr '\r' '\n')"
  hwm="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo -)"
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || true
  echo "$(sed -n 's/^LPUSH: \([0-9.]*\) requests per second.*/\1/p' <<<"$out") $(sed -n 's/^LRANGE_100 (first 100 elements): \([0-9.]*\) requests per second.*/\1/p' <<<"$out") $hwm"
}
python_once() {   # prints "seconds maxrss_kib"
  local l="${lib[$1]}"
  LD_PRELOAD="$l" /usr/bin/time -f "%e %M" -o "$work/time.txt" python3 "$root/bench/preload/alloc.py" "$rounds" 4 >"$work/py.out"
  cat "$work/time.txt"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); repeats $repeats; python rounds $rounds"
declare -A r1 r2 r3 p1 p2
for rep in $(seq 1 "$repeats"); do
  for n in "${names[@]}"; do
    [ -n "${lib[$n]:-}" ] || continue
    read -r a b c <<<"$(redis_once "$n")"; r1[$n]+="$a "; r2[$n]+="$b "; r3[$n]+="$c "
    read -r s m <<<"$(python_once "$n")"; p1[$n]+="$s "; p2[$n]+="$m "
  done
done
printf '%-11s %14s %14s %16s %12s %16s\n' allocator "LPUSH req/s" "LRANGE_100 r/s" "redis VmHWM KiB" "python s" "python RSS KiB"
for n in "${names[@]}"; do
  [ -n "${lib[$n]:-}" ] || continue
  printf '%-11s %14s %14s %16s %12s %16s\n' "$n" \
    "$(tr ' ' '\n' <<<"${r1[$n]}" | grep . | median)" "$(tr ' ' '\n' <<<"${r2[$n]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${r3[$n]}" | grep . | median)" "$(tr ' ' '\n' <<<"${p1[$n]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${p2[$n]}" | grep . | median)"
done
