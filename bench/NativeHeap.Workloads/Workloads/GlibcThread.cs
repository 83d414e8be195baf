// GlibcThread: glibc's bench-malloc-thread (mimalloc-bench `glibc-thread`). Each of N threads keeps a
// working set of 1,024 slots and, until the time is up, frees a slot and refills it with a block of
// an inverse-square-distributed size in [4, 32768], writing every byte. Sizes and slots come from
// tables filled by glibc's rand() from its default seed, as in the C program. Figure: iterations/s.
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Random;

namespace NativeHeap.Workloads.Workloads;

/// <summary>glibc-thread: <c>bench-malloc-thread N</c> (2 s).</summary>
public sealed class GlibcThread : Workload
{
    private const int WorkingSet = 1024, BlockSizes = 8000, Offsets = WorkingSet * 4;
    private const float MinSize = 4, MaxSize = 32768;
    private readonly int _threads;
    private readonly double _seconds;
    private readonly uint[] _sizes = new uint[BlockSizes];
    private readonly uint[] _offsets = new uint[Offsets];

    /// <summary>glibc-thread at <paramref name="size"/>.</summary>
    public GlibcThread(BenchSize size) : base("glibc-thread", size)
    {
        _threads = CoreCount;
        _seconds = BySize(0.05, 0.2, 2.0);
        var rand = new GlibcRandom(1);
        for (int i = 0; i < BlockSizes; i++)
        {
            _sizes[i] = BlockSize(rand.Next());
        }
        for (int i = 0; i < Offsets; i++)
        {
            _offsets[i] = (uint)(rand.Next() % WorkingSet);
        }
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Throughput;

    /// <inheritdoc/>
    public override string Unit => "iterations/s";

    /// <inheritdoc/>
    public override string Parameters => $"glibc-thread {_threads} ({_seconds} s)";

    // Inverse-square distribution over [MinSize, MaxSize], in float as the C code computes it.
    private static uint BlockSize(int randomValue)
    {
        const float exponent = -2;
        float minPow = MathF.Pow(MinSize, exponent + 1);
        float maxPow = MathF.Pow(MaxSize, exponent + 1);
        float r = (float)randomValue / GlibcRandom.RandMax;
        return (uint)MathF.Pow((maxPow - minPow) * r + minPow, 1 / (exponent + 1));
    }

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        var stop = new StopFlag();
        long[] iterations = new long[_threads];
        var threads = new Thread[_threads];
        long start = Stopwatch.GetTimestamp();
        for (int t = 0; t < _threads; t++)
        {
            int id = t;
            threads[t] = new Thread(() => iterations[id] = Loop(allocator, stop));
            threads[t].Start();
        }
        Thread.Sleep(TimeSpan.FromSeconds(_seconds));
        stop.Set = true;
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long total = iterations.Sum();
        return new WorkloadResult(seconds, total, total);
    }

    private unsafe long Loop<TAlloc>(TAlloc allocator, StopFlag stop) where TAlloc : struct, IAllocator
    {
        byte** slots = (byte**)NativeMemory.AllocZeroed(WorkingSet, (nuint)sizeof(nint));
        uint offsetState = 0, sizeState = 0;
        long iterations = 0;
        uint[] sizes = _sizes, offsets = _offsets;
        while (!stop.Set)
        {
            offsetState = offsetState >= Offsets - 1 ? 0 : offsetState + 1;
            sizeState = sizeState >= BlockSizes - 1 ? 0 : sizeState + 1;
            uint slot = offsets[offsetState];
            uint size = sizes[sizeState];
            allocator.Free(slots[slot]);
            byte* p = (byte*)Check(allocator.Malloc(size), size);
            slots[slot] = p;
            Touch.IndexBytes(p, size); // touch the allocated memory
            iterations++;
        }
        for (int i = 0; i < WorkingSet; i++)
        {
            allocator.Free(slots[i]);
        }
        NativeMemory.Free(slots);
        return iterations;
    }

    private sealed class StopFlag
    {
        public volatile bool Set;
    }
}
