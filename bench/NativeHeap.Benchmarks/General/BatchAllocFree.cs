// BatchAllocFree: allocate k blocks, then free the k blocks (glibc-simple's pattern): exercises the
// thread cache's capacity and its refill/flush paths as k grows past it.
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>Batches of k allocations then k frees; one operation = one malloc+free pair.</summary>
[BenchmarkCategory("General", "Batch")]
public unsafe class BatchAllocFree
{
    private const int PairsPerInvoke = 6400; // divisible by every k below
    private AllocatorBinding _binding = null!;
    private BatchJob _job = null!;
    private void** _slots;

    /// <summary>Allocator under test.</summary>
    [ParamsSource(nameof(Allocators))]
    public string Allocator { get; set; } = "";

    /// <summary>Blocks per batch.</summary>
    [Params(25, 100, 400, 1600)]
    public int K { get; set; }

    /// <summary>Block size in bytes.</summary>
    [Params(16, 64, 256, 1024)]
    public int Size { get; set; }

    /// <summary>The allocators that load here.</summary>
    public static IEnumerable<string> Allocators() => BenchAllocators.All();

    /// <summary>Loads the allocator and the slot array (outside the allocator under test).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _binding = BenchAllocators.Get(Allocator);
        _slots = (void**)NativeMemory.AllocZeroed((nuint)K, (nuint)sizeof(nint));
        _job = new BatchJob(_slots, K, (nuint)Size);
    }

    /// <summary>Frees the slot array.</summary>
    [GlobalCleanup]
    public void Cleanup() => NativeMemory.Free(_slots);

    /// <summary>k mallocs then k frees, repeated to 6,400 pairs.</summary>
    [Benchmark(OperationsPerInvoke = PairsPerInvoke)]
    public long AllocateKThenFreeK() => _binding.Run(_job);

    private sealed class BatchJob(void** slots, int k, nuint size) : IAllocatorJob<long>
    {
        public long Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator
        {
            long sum = 0;
            for (int round = PairsPerInvoke / k; round > 0; round--)
            {
                for (int i = 0; i < k; i++)
                {
                    slots[i] = allocator.Malloc(size);
                }
                for (int i = 0; i < k; i++)
                {
                    sum += (nint)slots[i] & 0xFF;
                    allocator.Free(slots[i]);
                }
            }
            return sum;
        }
    }
}
