#!/usr/bin/env bash
# Runs every test suite and prints one closing line "tests: N passed, N failed, N skipped".
# GLIBC_TUNABLES lets libjemalloc.so.2 load into the test process (for the nallocx comparison).
set -uo pipefail
cd "$(dirname "$0")"
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
rm -rf TestResults
dotnet test NativeHeap.slnx -c Release --logger "trx;LogFilePrefix=r" --results-directory TestResults \
  --logger "console;verbosity=normal" "$@"
rc=$?
passed=0; failed=0; skipped=0
for f in TestResults/*.trx; do
  [ -f "$f" ] || continue
  line=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  p=$(echo "$line" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); p=${p:-0}
  fl=$(echo "$line" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p'); fl=${fl:-0}
  tot=$(echo "$line" | sed -n 's/.* total="\([0-9]*\)".*/\1/p'); tot=${tot:-0}
  ex=$(echo "$line" | sed -n 's/.* executed="\([0-9]*\)".*/\1/p'); ex=${ex:-0}
  nx=$((tot - ex))
  passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + nx))
done
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
