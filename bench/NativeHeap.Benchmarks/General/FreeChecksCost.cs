// FreeChecksCost: the cost of default mode's free checks (issue 15: the thread-cache key against
// double frees and the alignment test against interior pointers) on the malloc+free pair, as an A/B
// in one run: the same benchmark in two jobs, one with NATIVEHEAP_FREE_CHECKS=0 (checks compiled out
// by the JIT: the switch is a static readonly field) and one with the default.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace NativeHeap.Benchmarks.General;

/// <summary>Heap.Malloc + Heap.Free pairs with the free checks on and off; one operation = one pair.</summary>
[BenchmarkCategory("General", "FreeChecks")]
[Config(typeof(AbConfig))]
public unsafe class FreeChecksCost
{
    private const int Pairs = 1024;

    /// <summary>Block size in bytes.</summary>
    [Params(16, 64, 256, 1024)]
    public int Size { get; set; }

    /// <summary>malloc then free, the block's first word written as a program would.</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long MallocFree()
    {
        long sum = 0;
        nuint size = (nuint)Size;
        for (int i = 0; i < Pairs; i++)
        {
            byte* p = (byte*)Heap.Malloc(size);
            sum += (nint)p & 0xFF;
            Heap.Free(p);
        }
        return sum;
    }

    private sealed class AbConfig : ManualConfig
    {
        public AbConfig()
        {
            Job baseJob = Job.ShortRun.WithLaunchCount(2);
            AddJob(baseJob.WithEnvironmentVariables(new EnvironmentVariable("NATIVEHEAP_FREE_CHECKS", "0")).WithId("checks-off"));
            AddJob(baseJob.WithEnvironmentVariables(new EnvironmentVariable("NATIVEHEAP_FREE_CHECKS", "1")).WithId("checks-on"));
        }
    }
}
