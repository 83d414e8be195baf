// ProfilingAb: the heap profiler's cost on the malloc+free pair as an interleaved A/B/C (PairAb):
// children rotate between the three sides of ProfilingCost — no opt.prof (the sample test folded
// away), prof:true,prof_active:false, and prof:true at the default rate. `-- --prof-ab [REPS]` runs it.
namespace NativeHeap.Benchmarks.General;

internal static class ProfilingAb
{
    private static readonly int[] Sizes = [16, 64, 256, 4096];

    internal static int Run(string[] args) => PairAb.Run(args.Length > 0 ? int.Parse(args[0]) : 6, Sizes, "--prof-child",
    [
        new("off", new Dictionary<string, string?> { ["NATIVEHEAP_CONF"] = null, ["NATIVEHEAP_PROF_FASTPATH"] = null }),
        new("inactive", new Dictionary<string, string?> { ["NATIVEHEAP_CONF"] = "prof:true,prof_active:false", ["NATIVEHEAP_PROF_FASTPATH"] = null }),
        new("active", new Dictionary<string, string?> { ["NATIVEHEAP_CONF"] = "prof:true", ["NATIVEHEAP_PROF_FASTPATH"] = null }),
    ]);

    internal static int Child() => PairAb.Child(Sizes);
}
