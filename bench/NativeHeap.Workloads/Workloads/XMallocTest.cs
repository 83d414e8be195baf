// XMallocTest: Lever and Boreham's producer/consumer test (mimalloc-bench `xmalloc-test`). N
// producer threads fill batches of 4,096 blocks of 64 bytes (writing the first bytes of each) and
// queue them (at most 100 queued, under one lock with two conditions); N consumer threads take
// batches and free every block, so nearly every free is a cross-thread free. Runs for a fixed
// time; the figure is frees per second.
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Workloads.Workloads;

/// <summary>xmalloc-testN: <c>xmalloc-test -w N -t 5 -s 64</c>.</summary>
public sealed class XMallocTest : Workload
{
    private const int ObjectsPerBatch = 4096, BatchLimit = 100;
    private readonly int _workers, _objectSize = 64;
    private readonly double _seconds;

    /// <summary>xmalloc-testN at <paramref name="size"/>.</summary>
    public XMallocTest(BenchSize size) : base("xmalloc-testN", size)
    {
        _workers = CoreCount;
        _seconds = BySize(0.05, 0.2, 5.0);
    }

    /// <inheritdoc/>
    public override MetricKind Kind => MetricKind.Throughput;

    /// <inheritdoc/>
    public override string Unit => "frees/s";

    /// <inheritdoc/>
    public override string Parameters => $"xmalloc-test -w {_workers} -t {_seconds} -s {_objectSize}";

    /// <inheritdoc/>
    public override unsafe WorkloadResult Run<TAlloc>(TAlloc allocator)
    {
        var queue = new BatchQueue();
        long[] counters = new long[_workers * 16]; // one cache line apart, as the original's aligned counters
        var threads = new List<Thread>();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < _workers; i++)
        {
            int id = i;
            threads.Add(new Thread(() => Release(allocator, queue, counters, id * 16)));
            threads.Add(new Thread(() => Produce(allocator, queue)));
        }
        foreach (Thread thread in threads)
        {
            thread.Start();
        }
        while (Stopwatch.GetElapsedTime(start).TotalSeconds <= _seconds)
        {
            Thread.Sleep(1);
        }
        queue.Finish();
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long total = 0;
        for (int i = 0; i < _workers; i++)
        {
            total += counters[i * 16];
        }
        // Free what is still queued (not timed).
        for (nint batch = queue.TakeAll(); batch != 0;)
        {
            nint* b = (nint*)batch;
            for (int i = 1; i <= ObjectsPerBatch; i++)
            {
                allocator.Free((void*)b[i]);
            }
            batch = b[0];
            allocator.Free(b);
        }
        return new WorkloadResult(seconds, total, total);
    }

    // A batch is [next, object 0 .. object 4095], allocated from the allocator under test.
    private unsafe void Produce<TAlloc>(TAlloc allocator, BatchQueue queue) where TAlloc : struct, IAllocator
    {
        nuint batchBytes = (nuint)(sizeof(nint) * (ObjectsPerBatch + 1));
        nuint size = (nuint)_objectSize;
        int touched = Math.Min(_objectSize, 128);
        while (!queue.Done)
        {
            nint* b = (nint*)Check(allocator.Malloc(batchBytes), batchBytes);
            for (int i = 0; i < ObjectsPerBatch; i++)
            {
                byte* p = (byte*)Check(allocator.Malloc(size), size);
                new Span<byte>(p, touched).Fill((byte)(i % 256));
                b[i + 1] = (nint)p;
            }
            queue.Enqueue(b);
        }
    }

    private static unsafe void Release<TAlloc>(TAlloc allocator, BatchQueue queue, long[] counters, int slot) where TAlloc : struct, IAllocator
    {
        while (!queue.Done)
        {
            nint* b = queue.Dequeue();
            if (b != null)
            {
                for (int i = 1; i <= ObjectsPerBatch; i++)
                {
                    allocator.Free((void*)b[i]);
                }
                allocator.Free(b);
            }
            counters[slot] += ObjectsPerBatch; // counted as the original does, also on the final empty take
        }
    }

    /// <summary>The bounded LIFO of batches, one lock with "not empty" and "not full" waits.</summary>
    private sealed unsafe class BatchQueue
    {
        private readonly object _lock = new();
        private nint _head;
        private int _count;
        private volatile bool _done;

        public bool Done => _done;

        public void Enqueue(nint* batch)
        {
            lock (_lock)
            {
                while (_count >= BatchLimit && !_done)
                {
                    Monitor.Wait(_lock);
                }
                batch[0] = _head;
                _head = (nint)batch;
                _count++;
                Monitor.PulseAll(_lock);
            }
        }

        public nint* Dequeue()
        {
            lock (_lock)
            {
                while (_head == 0 && !_done)
                {
                    Monitor.Wait(_lock);
                }
                nint* result = (nint*)_head;
                if (result != null)
                {
                    _head = result[0];
                    _count--;
                    Monitor.PulseAll(_lock);
                }
                return result;
            }
        }

        public void Finish()
        {
            lock (_lock)
            {
                _done = true;
                Monitor.PulseAll(_lock);
            }
        }

        public nint TakeAll()
        {
            lock (_lock)
            {
                nint head = _head;
                _head = 0;
                _count = 0;
                return head;
            }
        }
    }
}
