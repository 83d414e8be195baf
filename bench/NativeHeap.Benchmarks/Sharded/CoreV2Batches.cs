// CoreV2Batches: BenchmarkDotNet view of core v2 against the current Heap and the native peers
// (issue 13): batches of 1000 (64 B, and 16–1024 B with fixed-seed sizes). The interleaved CPU-time harness
// (`-- --corev2`, CoreV2Harness.cs) is what docs/benchmarks.md quotes on this shared machine; this
// class gives the same kernels BenchmarkDotNet's statistics.
// Run: dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --filter '*CoreV2Batches*' --job short
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using NativeHeap.Benchmarks.General;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.Sharded;

/// <summary>Core v2 vs peers on batches; one operation = one malloc+free pair.</summary>
[BenchmarkCategory("General", "CoreV2")]
public unsafe class CoreV2Batches
{
    private const int Ops = 4000;   // divisible by the batch of 1000
    private AllocatorBinding _binding = null!;
    private BatchJob _batch64 = null!, _batchMixed = null!;
    private void** _slots;
    private nuint* _sizes;

    /// <summary>Allocator under test.</summary>
    [ParamsSource(nameof(Allocators))]
    public string Allocator { get; set; } = "";

    /// <summary>core v2, the current Heap and the native peers that load here.</summary>
    public static IEnumerable<string> Allocators() => CoreV2Benchmarks.Allocators();

    /// <summary>Loads the allocator and the slot and size arrays (outside the allocator under test).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _binding = Allocator == CoreV2Binding.CoreV2Name ? new CoreV2Binding() : BenchAllocators.Get(Allocator);
        _slots = (void**)NativeMemory.AllocZeroed(1000, (nuint)sizeof(void*));
        _sizes = (nuint*)NativeMemory.Alloc(1000, (nuint)sizeof(nuint));
        var r = new Random(42);
        for (int i = 0; i < 1000; i++) _sizes[i] = (nuint)r.Next(16, 1025);
        _batch64 = new BatchJob(_slots, null, 64);
        _batchMixed = new BatchJob(_slots, _sizes, 0);
    }

    /// <summary>Frees the arrays.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.Free(_slots);
        NativeMemory.Free(_sizes);
    }

    /// <summary>1000 × malloc(64), then the 1000 frees.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public long Batch64() => _binding.Run(_batch64);

    /// <summary>1000 × malloc(16..1024, fixed seed), then the 1000 frees.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public long BatchMixed() => _binding.Run(_batchMixed);

    private sealed class BatchJob(void** slots, nuint* sizes, nuint size) : IAllocatorJob<long>
    {
        public long Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator
        {
            long sum = 0;
            for (int round = 0; round < Ops / 1000; round++)
            {
                for (int i = 0; i < 1000; i++) slots[i] = allocator.Malloc(sizes == null ? size : sizes[i]);
                for (int i = 0; i < 1000; i++)
                {
                    sum += (nint)slots[i] & 0xFF;
                    allocator.Free(slots[i]);
                }
            }
            return sum;
        }
    }
}
