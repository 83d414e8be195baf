// ProfilingCost: the heap profiler's cost on the malloc+free pair (issue 16), as an A/B/C in one run:
// the same benchmark in three jobs — without opt.prof (the default: the fast path's sample test is a
// static readonly switch the JIT folds away, so this is the code from before profiling existed), with
// opt.prof but sampling inactive (NATIVEHEAP_CONF=prof:true,prof_active:false: the test is compiled in
// and never fires), and active at jemalloc's default rate (prof:true: a sample per 512 KiB on average).
// `-- --prof-ab [REPS]` runs ProfilingAb, the same three sides in interleaved child processes with
// process CPU time.
using BenchmarkDotNet.Attributes;

namespace NativeHeap.Benchmarks.General;

/// <summary>Heap.Malloc + Heap.Free pairs without opt.prof, with it but inactive, and active; one operation = one pair.</summary>
[BenchmarkCategory("General", "Profiling")]
[Config(typeof(AbcConfig))]
public class ProfilingCost
{
    private const int Pairs = 1024;

    /// <summary>Block size in bytes.</summary>
    [Params(16, 64, 256, 4096)]
    public int Size { get; set; }

    /// <summary>malloc then free (PairAb.Pairs).</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long MallocFree() => PairAb.Pairs((nuint)Size, Pairs);

    private sealed class AbcConfig() : PairAb.EnvJobsConfig("NATIVEHEAP_CONF", ("prof-off", ""), ("prof-inactive", "prof:true,prof_active:false"), ("prof-active", "prof:true"));
}
