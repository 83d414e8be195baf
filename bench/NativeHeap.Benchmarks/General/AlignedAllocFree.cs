// AlignedAllocFree: aligned allocation + free pairs for small and page alignments.
using BenchmarkDotNet.Attributes;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>aligned_alloc+free pairs; one operation = one pair.</summary>
[BenchmarkCategory("General", "Aligned")]
public class AlignedAllocFree
{
    private const int Pairs = 1024;
    private AllocatorBinding _binding = null!;
    private AlignedJob _job = null!;

    /// <summary>Allocator under test.</summary>
    [ParamsSource(nameof(Allocators))]
    public string Allocator { get; set; } = "";

    /// <summary>Alignment in bytes.</summary>
    [Params(16, 64, 256, 4096)]
    public int Alignment { get; set; }

    /// <summary>Block size in bytes.</summary>
    [Params(64, 1024)]
    public int Size { get; set; }

    /// <summary>The allocators that load here and free aligned blocks with plain free.</summary>
    public static IEnumerable<string> Allocators() => BenchAllocators.WithAlignedAlloc();

    /// <summary>Loads the allocator.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _binding = BenchAllocators.Get(Allocator);
        _job = new AlignedJob((nuint)Alignment, (nuint)Size);
    }

    /// <summary>aligned_alloc then free.</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long AlignedAllocThenFree() => _binding.Run(_job);

    private sealed unsafe class AlignedJob(nuint alignment, nuint size) : IAllocatorJob<long>
    {
        public long Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator
        {
            long misaligned = 0;
            for (int i = 0; i < Pairs; i++)
            {
                void* p = allocator.AlignedAlloc(alignment, size);
                misaligned += (long)((nuint)p & (alignment - 1));
                allocator.Free(p);
            }
            return misaligned;
        }
    }
}
