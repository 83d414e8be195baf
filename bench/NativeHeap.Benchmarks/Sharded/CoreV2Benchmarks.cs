// CoreV2Benchmarks: BenchmarkDotNet view of core v2 against the current Heap and the native peers
// (issue 13): same-thread pairs 16 B – 512 KiB (batches of 1000: CoreV2Batches). The interleaved CPU-time harness
// (`-- --corev2`, CoreV2Harness.cs) is what docs/benchmarks.md quotes on this shared machine; this
// class gives the same kernels BenchmarkDotNet's statistics.
// Run: dotnet run -c Release --project bench/NativeHeap.Benchmarks -- --filter '*CoreV2Benchmarks*' --job short
using BenchmarkDotNet.Attributes;
using NativeHeap.Benchmarks.General;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.Sharded;

/// <summary>Core v2 vs peers; one operation = one malloc+free pair.</summary>
[BenchmarkCategory("General", "CoreV2")]
public unsafe class CoreV2Benchmarks
{
    private const int Ops = 4000;   // divisible by the batch of 1000
    private AllocatorBinding _binding = null!;
    private PairsJob _pairs = null!;

    /// <summary>Allocator under test.</summary>
    [ParamsSource(nameof(Allocators))]
    public string Allocator { get; set; } = "";

    /// <summary>Block size of the pairs.</summary>
    [Params(16, 64, 256, 1024, 4096, 32768, 65536, 262144, 524288)]
    public int Size { get; set; }

    /// <summary>core v2, the current Heap and the native peers that load here.</summary>
    public static IEnumerable<string> Allocators()
    {
        yield return CoreV2Binding.CoreV2Name;
        foreach (string name in new[] { AllocatorCatalog.NativeHeapName, "jemalloc", "mimalloc", "tcmalloc" })
        {
            if (AllocatorCatalog.TryGet(name, out _, out string reason)) yield return name;
            else Console.Error.WriteLine($"// {name} not benchmarked: {reason}");
        }
    }

    /// <summary>Loads the allocator.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _binding = Allocator == CoreV2Binding.CoreV2Name ? new CoreV2Binding() : BenchAllocators.Get(Allocator);
                _pairs = new PairsJob((nuint)Size);
    }

    /// <summary>malloc(Size) then free, back to back.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public long Pair() => _binding.Run(_pairs);

    private sealed class PairsJob(nuint size) : IAllocatorJob<long>
    {
        public long Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator
        {
            long sum = 0;
            for (int i = 0; i < Ops; i++)
            {
                byte* p = (byte*)allocator.Malloc(size);
                *p = 1;
                sum += (nint)p & 0xFF;
                allocator.Free(p);
            }
            return sum;
        }
    }
}
