#!/usr/bin/env bash
# The main job: the sample program that exercises the general heap from several threads.
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet run -c Release --project samples/NativeHeap.Sample -- "$@"
