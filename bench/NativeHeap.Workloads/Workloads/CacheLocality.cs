// CacheLocality: Emery Berger's cache-scratch and cache-thrash (from Hoard). Each of T threads
// repeatedly allocates a tiny object, writes and re-reads every byte of it many times, and frees
// it. An allocator that hands threads objects in one shared cache line (passive false sharing, in
// cache-scratch: each thread first frees an object the main thread allocated next to the others'; or
// active false sharing, in cache-thrash) makes the threads fight over that line and scale badly.
// Run with 1 thread and with N threads; the figure is the elapsed time.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Workloads.Workloads;

/// <summary>cache-scratch1/N and cache-thrash1/N: <c>cache-scratch T 1000 1 2000000 N</c>.</summary>
public sealed class CacheLocality : Workload
{
    private readonly bool _scratch;
    private readonly int _threads, _iterations = 1000, _objectSize = 1, _repetitions;

    /// <summary>cache-scratch (when <paramref name="scratch"/>) or cache-thrash, with N threads when <paramref name="multiThreaded"/>, else 1, at <paramref name="size"/>.</summary>
    public CacheLocality(BenchSize size, bool scratch, bool multiThreaded)
        : base((scratch ? "cache-scratch" : "cache-thrash") + (multiThreaded ? "N" : "1"), size)
    {
        _scratch = scratch;
        _threads = multiThreaded ? CoreCount : 1;
        _repetitions = BySize(2_000, 20_000, 2_000_000);
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Time;

    /// <inheritdoc/>
    public override string Unit => "s";

    /// <inheritdoc/>
    public override string Parameters =>
        $"{(_scratch ? "cache-scratch" : "cache-thrash")} {_threads} {_iterations} {_objectSize} {_repetitions} {CoreCount}";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        nuint size = (nuint)_objectSize;
        var initial = new nint[_threads];
        if (_scratch)
        {
            for (int i = 0; i < _threads; i++)
            {
                initial[i] = (nint)Check(allocator.Malloc(size), size);
            }
        }
        long[] checks = new long[_threads];
        long start = Stopwatch.GetTimestamp();
        var threads = new Thread[_threads];
        for (int i = 0; i < _threads; i++)
        {
            int id = i;
            threads[i] = new Thread(() => checks[id] = Work(allocator, (byte*)initial[id], _repetitions / _threads));
            threads[i].Start();
        }
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new WorkloadResult(seconds, (long)_iterations * _threads, checks.Sum());
    }

    private unsafe long Work<TAlloc>(TAlloc allocator, byte* given, int repetitions) where TAlloc : struct, IAllocator
    {
        if (given != null)
        {
            allocator.Free(given); // cache-scratch: free the object the main thread handed over
        }
        nuint size = (nuint)_objectSize;
        int objectSize = _objectSize;
        long check = 0;
        for (int i = 0; i < _iterations; i++)
        {
            byte* obj = (byte*)Check(allocator.Malloc(size), size);
            check += Touch.WriteReadBytes(obj, objectSize, repetitions);
            allocator.Free(obj);
        }
        return check;
    }
}
