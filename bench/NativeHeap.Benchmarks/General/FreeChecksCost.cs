// FreeChecksCost: the cost of default mode's free checks (issue 15: the thread-cache key against
// double frees and the alignment test against interior pointers) on the malloc+free pair, as an A/B
// in one run: the same benchmark in two jobs, one with NATIVEHEAP_FREE_CHECKS=0 (checks compiled out
// by the JIT: the switch is a static readonly field) and one with the default.
using BenchmarkDotNet.Attributes;

namespace NativeHeap.Benchmarks.General;

/// <summary>Heap.Malloc + Heap.Free pairs with the free checks on and off; one operation = one pair.</summary>
[BenchmarkCategory("General", "FreeChecks")]
[Config(typeof(AbConfig))]
public class FreeChecksCost
{
    private const int Pairs = 1024;

    /// <summary>Block size in bytes.</summary>
    [Params(16, 64, 256, 1024)]
    public int Size { get; set; }

    /// <summary>malloc then free (PairAb.Pairs).</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long MallocFree() => PairAb.Pairs((nuint)Size, Pairs);

    private sealed class AbConfig() : PairAb.EnvJobsConfig("NATIVEHEAP_FREE_CHECKS", ("checks-off", "0"), ("checks-on", "1"));
}
