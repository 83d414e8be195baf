// FreeChecksAb: default mode's free checks on the malloc+free pair as an interleaved A/B (PairAb):
// children alternate between NATIVEHEAP_FREE_CHECKS=0 (the checks compiled out) and the default.
// `-- --free-checks-ab [REPS]` runs it; BenchmarkDotNet's FreeChecksCost is the same pair in two jobs.
namespace NativeHeap.Benchmarks.General;

internal static class FreeChecksAb
{
    private static readonly int[] Sizes = [16, 64, 256, 1024];

    internal static int Run(string[] args) => PairAb.Run(args.Length > 0 ? int.Parse(args[0]) : 6, Sizes, "--free-checks-child",
    [
        new("off", new Dictionary<string, string?> { ["NATIVEHEAP_FREE_CHECKS"] = "0" }),
        new("on", new Dictionary<string, string?> { ["NATIVEHEAP_FREE_CHECKS"] = "1" }),
    ]);

    internal static int Child() => PairAb.Child(Sizes);
}
