namespace NativeHeap.Tests.General;

/// <summary>
/// Multi-threaded randomized stress with cross-thread frees. Every block is filled with a pattern
/// derived from its address and size and checked before it is freed, so any overlap between two live
/// blocks or any corruption by the heap shows up; at the end the live blocks are also checked pairwise
/// for overlap and the heap is validated. 10^7 operations in CI; NATIVEHEAP_LONG=1 runs 10^9.
/// </summary>
public unsafe class StressTests
{
    private const int Threads = 4;

    [Fact]
    public void TenMillionOperationsWithCrossThreadFrees() => Run(10_000_000, seed: 20261122);

    [LongFact]
    public void OneBillionOperations() => Run(1_000_000_000, seed: 1);

    private static ulong Pattern(nint p, int i) => ((ulong)p * 0x9E3779B97F4A7C15UL) ^ (ulong)i;

    private static void Fill(byte* p, nuint size)
    {
        ulong* w = (ulong*)p;
        nuint words = size / 8;
        // Fill at most the first and last 256 words of big blocks: enough to catch overlap and stray writes.
        for (nuint i = 0; i < words; i++)
        {
            if (i == 256 && words > 512) i = words - 256;
            w[i] = Pattern((nint)p, (int)i);
        }
        for (nuint i = words * 8; i < size; i++) p[i] = (byte)(nint)p;
    }

    private static void Check(byte* p, nuint size)
    {
        ulong* w = (ulong*)p;
        nuint words = size / 8;
        for (nuint i = 0; i < words; i++)
        {
            if (i == 256 && words > 512) i = words - 256;
            if (w[i] != Pattern((nint)p, (int)i))
                throw new InvalidOperationException($"block 0x{(nuint)p:x} of {size} bytes: word {i} corrupted");
        }
        for (nuint i = words * 8; i < size; i++)
            if (p[i] != (byte)(nint)p) throw new InvalidOperationException($"block 0x{(nuint)p:x}: tail byte {i} corrupted");
    }

    private static nuint NextSize(Random rng)
    {
        int r = rng.Next(1000);
        if (r < 700) return (nuint)rng.Next(1, 512);
        if (r < 950) return (nuint)rng.Next(512, 16 * 1024);
        if (r < 998) return (nuint)rng.Next(16 * 1024, 1 << 20);
        return (nuint)rng.Next(1 << 20, 6 << 20);
    }

    private static void Run(long totalOps, int seed)
    {
        // Each thread owns slots; a freed slot's block is sometimes handed to the next thread's inbox,
        // which frees it (a cross-thread free). Inboxes are bounded single-producer single-consumer rings.
        const int Slots = 4096, Ring = 1 << 12;
        var inbox = new nint[Threads][];
        var inboxSizes = new nuint[Threads][];
        var heads = new long[Threads * 16];
        var tails = new long[Threads * 16];
        for (int t = 0; t < Threads; t++)
        {
            inbox[t] = new nint[Ring];
            inboxSizes[t] = new nuint[Ring];
        }
        var liveAtEnd = new List<(nint, nuint)>[Threads];
        long opsPerThread = totalOps / Threads;
        TestThreads.Run(Threads, id =>
        {
            var rng = new Random(seed + id);
            var ptr = new nint[Slots];
            var size = new nuint[Slots];
            int next = (id + 1) % Threads;
            for (long op = 0; op < opsPerThread; op++)
            {
                // Drain our inbox: blocks allocated by the previous thread.
                long h = Volatile.Read(ref heads[id * 16]);
                while (h != Volatile.Read(ref tails[id * 16]))
                {
                    int k = (int)(h & (Ring - 1));
                    Check((byte*)inbox[id][k], inboxSizes[id][k]);
                    if ((h & 1) == 0) Heap.Free((void*)inbox[id][k]);
                    else Heap.SizedFree((void*)inbox[id][k], inboxSizes[id][k]);
                    h++;
                    Volatile.Write(ref heads[id * 16], h);
                }
                int slot = rng.Next(Slots);
                if (ptr[slot] != 0)
                {
                    Check((byte*)ptr[slot], size[slot]);
                    long tail = tails[next * 16];
                    if ((op & 7) == 0 && tail - Volatile.Read(ref heads[next * 16]) < Ring)
                    {
                        int k = (int)(tail & (Ring - 1));
                        inbox[next][k] = ptr[slot];
                        inboxSizes[next][k] = size[slot];
                        Volatile.Write(ref tails[next * 16], tail + 1);
                    }
                    else if ((op & 3) == 1)
                    {
                        // Realloc keeps the prefix: check it moved intact, then refill for the new size.
                        nuint ns = NextSize(rng);
                        nint old = ptr[slot];
                        byte* q = (byte*)Heap.Realloc((void*)old, ns);
                        if (q == null) throw new OutOfMemoryException();
                        nuint keptWords = Math.Min(Math.Min(size[slot], ns) / 8, 256);
                        for (nuint i = 0; i < keptWords; i++)
                            if (((ulong*)q)[i] != Pattern(old, (int)i)) throw new InvalidOperationException($"realloc lost word {i}");
                        ptr[slot] = (nint)q;
                        size[slot] = ns;
                        Fill(q, ns);
                        continue;
                    }
                    else
                    {
                        Heap.Free((void*)ptr[slot]);
                    }
                    ptr[slot] = 0;
                }
                nuint s = NextSize(rng);
                byte* p = (op & 15) == 3 ? (byte*)Heap.Calloc(1, s) : (byte*)Heap.Malloc(s);
                if (p == null) throw new OutOfMemoryException();
                if (Heap.UsableSize(p) < s) throw new InvalidOperationException("usable size below the request");
                Fill(p, s);
                ptr[slot] = (nint)p;
                size[slot] = s;
            }
            var mine = new List<(nint, nuint)>();
            for (int i = 0; i < Slots; i++) if (ptr[i] != 0) mine.Add((ptr[i], size[i]));
            liveAtEnd[id] = mine;
        });
        // No two live blocks overlap.
        var all = liveAtEnd.SelectMany(x => x).OrderBy(x => (ulong)x.Item1).ToList();
        for (int i = 1; i < all.Count; i++)
            Assert.True((ulong)all[i - 1].Item1 + (ulong)all[i - 1].Item2 <= (ulong)all[i].Item1, "two live blocks overlap");
        foreach (var (p, s) in all)
        {
            Check((byte*)p, s);
            Heap.Free((void*)p);
        }
        for (int t = 0; t < Threads; t++)
            for (long h = heads[t * 16]; h != tails[t * 16]; h++) Heap.Free((void*)inbox[t][(int)(h & (Ring - 1))]);
        Heap.Validate();
    }
}
