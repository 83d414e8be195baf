// ZeroedAllocFree: calloc(1, size) + free pairs (zeroing cost, and whether the allocator knows
// fresh pages are already zero).
using BenchmarkDotNet.Attributes;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>calloc+free pairs; one operation = one pair.</summary>
[BenchmarkCategory("General", "Zeroed")]
public class ZeroedAllocFree
{
    private const int Pairs = 1024;
    private AllocatorBinding _binding = null!;
    private ZeroedJob _job = null!;

    /// <summary>Allocator under test.</summary>
    [ParamsSource(nameof(Allocators))]
    public string Allocator { get; set; } = "";

    /// <summary>Block size in bytes.</summary>
    [Params(64, 1024, 4096, 65536)]
    public int Size { get; set; }

    /// <summary>The allocators that load here.</summary>
    public static IEnumerable<string> Allocators() => BenchAllocators.All();

    /// <summary>Loads the allocator.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _binding = BenchAllocators.Get(Allocator);
        _job = new ZeroedJob((nuint)Size);
    }

    /// <summary>calloc(1, size) then free.</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long CallocThenFree() => _binding.Run(_job);

    private sealed unsafe class ZeroedJob(nuint size) : IAllocatorJob<long>
    {
        public long Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator
        {
            long sum = 0;
            for (int i = 0; i < Pairs; i++)
            {
                byte* p = (byte*)allocator.Calloc(1, size);
                sum += p[size - 1];
                allocator.Free(p);
            }
            return sum;
        }
    }
}
