using System.Collections.Concurrent;
using NativeHeap.Sharded;

namespace NativeHeap.Tests.Sharded;

/// <summary>Multi-threaded stress of core v2 with content checks and fixed seeds, then Validate().</summary>
[Collection("Sharded")]
public unsafe class ShardedStressTests
{
    private static ulong Stamp(nint p, nuint size) => (ulong)p * 0x9E3779B97F4A7C15UL ^ size;

    private static void Fill(nint p, nuint size)
    {
        ulong s = Stamp(p, size);
        *(ulong*)p = s;
        if (size >= 16) *(ulong*)((byte*)p + size - 8) = ~s;
    }

    private static void Check(nint p, nuint size)
    {
        ulong s = Stamp(p, size);
        if (*(ulong*)p != s) throw new InvalidOperationException($"block {p:x} ({size} B): head overwritten");
        if (size >= 16 && *(ulong*)((byte*)p + size - 8) != ~s) throw new InvalidOperationException($"block {p:x} ({size} B): tail overwritten");
    }

    private static nuint PickSize(Random r)
    {
        int k = r.Next(1000);
        if (k < 700) return (nuint)r.Next(1, 1025);
        if (k < 950) return (nuint)r.Next(1025, 32 * 1024 + 1);
        if (k < 998) return (nuint)r.Next(32 * 1024 + 1, 512 * 1024 + 1);
        return (nuint)r.Next(512 * 1024 + 1, 3 << 20);
    }

    [Theory]
    [InlineData(4, 1)]
    [InlineData(3, 7)]
    public void LocalAndRemoteFreesKeepEveryBlockIntact(int threads, int seed)
    {
        int ops = Environment.GetEnvironmentVariable("NATIVEHEAP_LONG") == "1" ? 400_000 : 60_000;
        var handoff = new ConcurrentQueue<(nint P, nuint Size)>[threads];
        for (int t = 0; t < threads; t++) handoff[t] = new();
        TestThreads.Run(threads, t =>
        {
            var r = new Random(seed * 1000 + t);
            var slots = new (nint P, nuint Size)[1500];
            for (int i = 0; i < ops; i++)
            {
                int s = r.Next(slots.Length);
                if (slots[s].P != 0)
                {
                    Check(slots[s].P, slots[s].Size);
                    if (r.Next(3) == 0) handoff[(t + 1 + r.Next(threads - 1)) % threads].Enqueue(slots[s]);
                    else ShardedHeap.Free((void*)slots[s].P);
                    slots[s] = default;
                }
                else
                {
                    nuint size = PickSize(r);
                    nint p = (nint)ShardedHeap.Malloc(size);
                    if (p == 0) throw new OutOfMemoryException();
                    if (ShardedHeap.UsableSize((void*)p) < size) throw new InvalidOperationException("usable size below the request");
                    Fill(p, size);
                    slots[s] = (p, size);
                }
                if ((i & 63) == 0)
                {
                    while (handoff[t].TryDequeue(out var b))
                    {
                        Check(b.P, b.Size);
                        ShardedHeap.Free((void*)b.P);     // usually a remote free
                    }
                }
            }
            foreach (var b in slots)
            {
                if (b.P == 0) continue;
                Check(b.P, b.Size);
                ShardedHeap.Free((void*)b.P);
            }
        });
        TestThreads.Run(() =>
        {
            foreach (var q in handoff)
            {
                while (q.TryDequeue(out var b))
                {
                    Check(b.P, b.Size);
                    ShardedHeap.Free((void*)b.P);
                }
            }
        });
        ShardedHeap.Validate();
    }

    [Fact]
    public void ProducerToConsumerThroughFullPagesAndNews()
    {
        const int N = 300_000, Ring = 1024;
        var ring = new nint[Ring];
        long head = 0, tail = 0;   // producer writes head, consumer writes tail
        TestThreads.Run(2, t =>
        {
            if (t == 0)
            {
                for (long i = 0; i < N; i++)
                {
                    long* p = (long*)ShardedHeap.Malloc(64);
                    p[0] = i;
                    p[7] = ~i;
                    while (i - Volatile.Read(ref tail) >= Ring) Thread.Yield();
                    Volatile.Write(ref ring[i % Ring], (nint)p);
                    Volatile.Write(ref head, i + 1);
                }
            }
            else
            {
                for (long i = 0; i < N; i++)
                {
                    while (Volatile.Read(ref head) <= i) Thread.Yield();
                    long* p = (long*)Volatile.Read(ref ring[i % Ring]);
                    if (p[0] != i || p[7] != ~i) throw new InvalidOperationException($"block {i} corrupted");
                    ShardedHeap.Free(p);
                    Volatile.Write(ref tail, i + 1);
                }
            }
        });
        ShardedHeap.Validate();
    }
}
