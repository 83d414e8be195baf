// MallocFreePairs: same-thread malloc + free of one size, back to back (the fast path of every
// allocator: thread cache hit). Also with the sized free where the allocator has one.
using BenchmarkDotNet.Attributes;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>malloc+free pairs per size and allocator; one operation = one pair.</summary>
[BenchmarkCategory("General", "Pairs")]
public class MallocFreePairs
{
    private const int Pairs = 1024;
    private AllocatorBinding _binding = null!;
    private PairsJob _plain = null!, _sized = null!;

    /// <summary>Allocator under test.</summary>
    [ParamsSource(nameof(Allocators))]
    public string Allocator { get; set; } = "";

    /// <summary>Block size in bytes.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>16 B … 1 MiB, or the comma-separated sizes in NH_PAIR_SIZES (e.g. only the large classes: 40960,65536,1048576).</summary>
    public static IEnumerable<int> Sizes()
        => Environment.GetEnvironmentVariable("NH_PAIR_SIZES") is { Length: > 0 } list
            ? list.Split(',').Select(int.Parse)
            : [16, 64, 256, 1024, 4096, 40960, 65536, 1 << 20];

    /// <summary>The allocators that load here.</summary>
    public static IEnumerable<string> Allocators() => BenchAllocators.All();

    /// <summary>Loads the allocator.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _binding = BenchAllocators.Get(Allocator);
        _plain = new PairsJob((nuint)Size, sized: false);
        _sized = new PairsJob((nuint)Size, sized: true);
    }

    /// <summary>malloc then free.</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long MallocFree() => _binding.Run(_plain);

    /// <summary>malloc then sized free (sdallocx, mi_free_size, tc_free_sized; plain free for glibc).</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long MallocSizedFree() => _binding.Run(_sized);

    private sealed unsafe class PairsJob(nuint size, bool sized) : IAllocatorJob<long>
    {
        public long Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator
        {
            long sum = 0;
            for (int i = 0; i < Pairs; i++)
            {
                byte* p = (byte*)allocator.Malloc(size);
                sum += (nint)p & 0xFF;
                if (sized)
                {
                    allocator.SizedFree(p, size);
                }
                else
                {
                    allocator.Free(p);
                }
            }
            return sum;
        }
    }
}
