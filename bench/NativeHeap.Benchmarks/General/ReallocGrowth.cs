// ReallocGrowth: a buffer grown by realloc in 256 equal steps up to a maximum size (a growing
// string or list), touching the new tail each time, then freed.
using BenchmarkDotNet.Attributes;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>Growth by realloc; one operation = one realloc.</summary>
[BenchmarkCategory("General", "Realloc")]
public class ReallocGrowth
{
    private const int Steps = 256;
    private AllocatorBinding _binding = null!;
    private GrowthJob _job = null!;

    /// <summary>Allocator under test.</summary>
    [ParamsSource(nameof(Allocators))]
    public string Allocator { get; set; } = "";

    /// <summary>Final size in bytes.</summary>
    [Params(4096, 65536, 1 << 20)]
    public int MaxSize { get; set; }

    /// <summary>The allocators that load here.</summary>
    public static IEnumerable<string> Allocators() => BenchAllocators.All();

    /// <summary>Loads the allocator.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _binding = BenchAllocators.Get(Allocator);
        _job = new GrowthJob((nuint)MaxSize);
    }

    /// <summary>malloc(step), 255 reallocs growing by one step each, free.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public long GrowByRealloc() => _binding.Run(_job);

    private sealed unsafe class GrowthJob(nuint maxSize) : IAllocatorJob<long>
    {
        public long Run<TAlloc>(TAlloc allocator) where TAlloc : struct, IAllocator
        {
            nuint step = maxSize / Steps;
            byte* p = (byte*)allocator.Malloc(step);
            p[step - 1] = 1;
            for (nuint size = 2 * step; size <= maxSize; size += step)
            {
                p = (byte*)allocator.Realloc(p, size);
                p[size - 1] = 1;
            }
            long last = p[maxSize - 1];
            allocator.Free(p);
            return last;
        }
    }
}
