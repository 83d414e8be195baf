// The per-thread cache in front of LockFreeHeap (LockFreeThreadCache): a hit changes no shared word,
// refills take half the capacity, a full stack gives half back, FlushThreadCache returns everything, a
// re-entrant call (BusyBit set) bypasses the cache, exited threads' caches go back to the heap (on demand
// and when the heap runs out), live threads' caches stay theirs until they flush, Dispose leaves no
// cache behind, and a new thread's first calls allocate no managed memory. Every check reads the
// heap's own structures and counters (Validate, the cache, the anchors), never the clock; waits for a
// thread's exit to be signalled poll with a generous deadline.
using NativeHeap.LockFree;
using static NativeHeap.LockFree.LockFreeLayout;

namespace NativeHeap.Tests.LockFree;

public sealed unsafe class LockFreeThreadCacheTests
{
    private const int C64 = 2; // the class of 64-byte blocks

    private static uint Cap(int c) => LockFreeThreadCache.Cap(c);

    private static long Sum(IReadOnlyList<long> v) => v.Sum();

    [Fact]
    public void RefillTakesHalfTheCapacityAndHitsChangeNoSharedWord()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 1);
        byte* first = (byte*)heap.Allocate(64);
        Assert.True(first != null);
        ThreadCache* tc = heap.CurrentCacheForTest;
        Assert.True(tc != null);
        uint n = tc->Count[C64];
        Assert.Equal(Cap(C64) / 2 - 1, n); // one refill of half the capacity, one block handed out

        HeapHeader* h = heap.Header;
        Descriptor* d = h->Descs + LockFreeCore.UnitOf(h, first);
        ulong anchor = Volatile.Read(ref d->Anchor), active = Volatile.Read(ref h->Actives[C64]);
        var got = new nint[n];
        for (uint i = 0; i < n; i++)
        {
            nint top = (nint)tc->Blocks[C64 * LockFreeThreadCache.MaxPerClass + (int)(n - 1 - i)];
            got[i] = (nint)heap.Allocate(64);
            Assert.Equal(top, got[i]); // served from the top of the stack
        }
        Assert.Equal(0u, tc->Count[C64]);
        foreach (nint p in got) heap.Free((void*)p);
        Assert.Equal(n, tc->Count[C64]);
        // Neither the superblock's anchor nor the active word saw a CAS (every CAS bumps the anchor's tag).
        Assert.Equal(anchor, Volatile.Read(ref d->Anchor));
        Assert.Equal(active, Volatile.Read(ref h->Actives[C64]));

        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(n, stats.CachedBlocks[C64]);
        Assert.Equal(1, stats.LiveBlocks(C64));
        Assert.Equal(1, stats.ThreadCaches);
        heap.Free(first);
    }

    [Fact]
    public void AFullStackGivesHalfBackAndCountsStayExact()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 1);
        const int N = 200;
        var ptrs = new nint[N];
        for (int i = 0; i < N; i++) Assert.True((ptrs[i] = (nint)heap.Allocate(64)) != 0);
        ThreadCache* tc = heap.CurrentCacheForTest;
        LockFreeHeapStats mid = heap.Validate();
        Assert.Equal(N, mid.LiveBlocks(C64));
        uint max = 0;
        foreach (nint p in ptrs)
        {
            heap.Free((void*)p);
            max = Math.Max(max, tc->Count[C64]);
        }
        Assert.Equal(Cap(C64), max);                                  // it filled up ...
        Assert.InRange(tc->Count[C64], Cap(C64) / 2, Cap(C64));        // ... and gave half back each time
        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(tc->Count[C64], stats.CachedBlocks[C64]);
        Assert.Equal(0, stats.LiveBlocks(C64));
        Assert.Equal(stats.Blocks[C64], stats.FreeBlocks[C64] + stats.CachedBlocks[C64]);
    }

    [Fact]
    public void FlushThreadCacheReturnsEveryBlock()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize * 8, shards: 1);
        var ptrs = new List<nint>();
        for (int c = 0; c < SuperblockClassCount; c++)
        {
            for (int i = 0; i < 20; i++) ptrs.Add((nint)heap.Allocate((nuint)(16 << c)));
        }
        foreach (nint p in ptrs) heap.Free((void*)p);
        LockFreeHeapStats before = heap.Validate();
        Assert.True(Sum(before.CachedBlocks) > 0);
        heap.FlushThreadCache();
        LockFreeHeapStats after = heap.Validate();
        Assert.Equal(0, Sum(after.CachedBlocks));
        Assert.Equal(0, after.ThreadCaches);
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++)
        {
            Assert.Equal(0, after.LiveBlocks(c));
            Assert.Equal(after.Blocks[c], after.FreeBlocks[c]);
        }
    }

    [Fact]
    public void AReentrantCallBypassesTheCache()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 1);
        heap.Free(heap.Allocate(64));
        ThreadCache* tc = heap.CurrentCacheForTest;
        uint n = tc->Count[C64];
        Assert.True(n > 0);
        var cached = new HashSet<nint>();
        for (uint i = 0; i < n; i++) cached.Add((nint)tc->Blocks[C64 * LockFreeThreadCache.MaxPerClass + (int)i]);
        long freeBefore = heap.Validate().FreeBlocks[C64];

        ulong key = tc->Key;
        tc->Key = key | LockFreeThreadCache.BusyBit; // as if this call had interrupted an operation on the cache (a signal handler)
        try
        {
            byte* p = (byte*)heap.Allocate(64);
            Assert.True(p != null);
            Assert.DoesNotContain((nint)p, cached);      // not from the cache ...
            Assert.Equal(n, tc->Count[C64]);              // ... which is untouched
            heap.Free(p);
            Assert.Equal(n, tc->Count[C64]);              // the free went to the superblock
            heap.FlushThreadCache();                      // a re-entrant flush does nothing
            Assert.Equal(n, tc->Count[C64]);
        }
        finally
        {
            tc->Key = key;
        }
        LockFreeHeapStats stats = heap.Validate();
        Assert.Equal(freeBefore, stats.FreeBlocks[C64]);
        Assert.Equal(n, stats.CachedBlocks[C64]);
        Assert.Equal(0, stats.LiveBlocks(C64));
    }

    /// <summary>Runs <paramref name="body"/> on a new thread, returns that thread's key, and joins it.</summary>
    private static ulong OnThread(Action body)
    {
        ulong key = 0;
        var t = new Thread(() =>
        {
            body();
            key = LockFreeThreads.t_key;
        });
        t.Start();
        t.Join();
        Assert.NotEqual(0UL, key);
        return key;
    }

    private static void WaitUntilExitIsSeen(ulong key)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            LockFreeThreads.ScanExits();
            if (!LockFreeThreads.IsAlive(key)) return;
            Assert.True(DateTime.UtcNow < deadline, "the exited thread's semaphore was never posted");
            Thread.Sleep(5);
        }
    }

    [Fact]
    public void AnExitedThreadsCacheGoesBackToTheHeap()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize * 8, shards: 1);
        ulong key = OnThread(() =>
        {
            var ptrs = new nint[SuperblockClassCount * 10];
            for (int i = 0; i < ptrs.Length; i++) ptrs[i] = (nint)heap.Allocate((nuint)(16 << (i % SuperblockClassCount)));
            foreach (nint p in ptrs) heap.Free((void*)p);
        });
        LockFreeHeapStats held = heap.Validate();
        Assert.True(Sum(held.CachedBlocks) > 0);   // the exited thread's cache still holds blocks ...
        Assert.Equal(1, held.ThreadCaches);
        WaitUntilExitIsSeen(key);
        Assert.Equal(1, heap.ReclaimExitedThreadCaches());
        LockFreeHeapStats after = heap.Validate();   // ... until it is reclaimed
        Assert.Equal(0, Sum(after.CachedBlocks));
        Assert.Equal(0, after.ThreadCaches);
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++) Assert.Equal(0, after.LiveBlocks(c));
        Assert.Equal(0, heap.ReclaimExitedThreadCaches());
    }

    [Fact]
    public void AnExhaustedHeapReclaimsExitedThreadsCaches()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        ulong key = OnThread(() =>
        {
            var ptrs = new List<nint>();
            for (void* p; (p = heap.Allocate(1000)) != null;) ptrs.Add((nint)p);
            foreach (nint p in ptrs) heap.Free((void*)p);
        });
        Assert.True(heap.Validate().CachedBlocks[6] > 0);
        WaitUntilExitIsSeen(key);
        // The whole arena again (64 blocks of 1 KiB): the allocation that finds it full drains the dead cache.
        var mine = new List<nint>();
        for (void* p; (p = heap.Allocate(1000)) != null;) mine.Add((nint)p);
        Assert.Equal(64, mine.Count);
        foreach (nint p in mine) heap.Free((void*)p);
        heap.Validate();
    }

    [Fact]
    public void ALiveThreadsCacheStaysItsOwnUntilItFlushes()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize, shards: 1);
        using var filled = new ManualResetEventSlim();
        using var flush = new ManualResetEventSlim();
        using var flushed = new ManualResetEventSlim();
        var worker = new Thread(() =>
        {
            var ptrs = new List<nint>();
            for (void* p; (p = heap.Allocate(1000)) != null;) ptrs.Add((nint)p);
            foreach (nint p in ptrs) heap.Free((void*)p);
            filled.Set();
            flush.Wait();
            heap.FlushThreadCache();
            flushed.Set();
        });
        worker.Start();
        filled.Wait();
        long held = heap.Validate().CachedBlocks[6];
        Assert.True(held > 0);
        var mine = new List<nint>();
        for (void* p; (p = heap.Allocate(1000)) != null;) mine.Add((nint)p);
        Assert.Equal(64 - held, mine.Count); // the live worker's cached blocks are not available to this thread
        foreach (nint p in mine) heap.Free((void*)p);
        flush.Set();
        flushed.Wait();
        heap.FlushThreadCache();
        mine.Clear();
        for (void* p; (p = heap.Allocate(1000)) != null;) mine.Add((nint)p);
        Assert.Equal(64, mine.Count);
        foreach (nint p in mine) heap.Free((void*)p);
        worker.Join();
    }

    [Fact]
    public void DisposeLeavesNoCacheBehind()
    {
        var gone = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 1);
        for (int i = 0; i < 10; i++) gone.Free(gone.Allocate(64)); // this thread now has a cache in it
        gone.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gone.Allocate(64));
        Assert.Throws<ObjectDisposedException>(() => gone.FlushThreadCache());
        Assert.Throws<ObjectDisposedException>(() => gone.ReclaimExitedThreadCaches());

        // A new heap (whose cache region may reuse the same addresses) starts with an empty cache.
        using var fresh = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 1);
        void* p = fresh.Allocate(64);
        Assert.Equal(Cap(C64) / 2 - 1, fresh.CurrentCacheForTest->Count[C64]);
        LockFreeHeapStats stats = fresh.Validate();
        Assert.Equal(1, stats.LiveBlocks(C64));
        Assert.Equal(Cap(C64) / 2 - 1, stats.CachedBlocks[C64]);
        fresh.Free(p);
    }

    [Fact]
    public void DisposingAnAttachedHeapReturnsItsCaches()
    {
        using var owner = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 1);
        LockFreeHeap attached = LockFreeHeap.Attach(owner.Header);
        for (int i = 0; i < 10; i++) attached.Free(attached.Allocate(64));
        Assert.True(owner.Validate().LiveBlocks(C64) > 0);   // the attached object's cache looks live from here
        attached.Dispose();
        LockFreeHeapStats stats = owner.Validate();
        Assert.Equal(0, stats.LiveBlocks(C64));
        Assert.Equal(stats.Blocks[C64], stats.FreeBlocks[C64]);
    }

    [Fact]
    public void ANewThreadsFirstCallsAllocateNoManagedMemory()
    {
        using var heap = new LockFreeHeap(LockFreeHeap.MinHeapSize * 4, shards: 1);
        // A first thread absorbs what happens once per process (the thread table and key, JIT, P/Invoke
        // binding, the runtime's own lazy set-up); the second one's first calls are what every new thread pays.
        long[] bytes = [-1, -1];
        for (int round = 0; round < 2; round++)
        {
            int r = round;
            var t = new Thread(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 100; i++) heap.Free(heap.Allocate((nuint)(16 + 80 * i))); // claim, bind, refill, drain
                heap.FlushThreadCache();
                heap.ReclaimExitedThreadCaches();
                bytes[r] = GC.GetAllocatedBytesForCurrentThread() - before;
            });
            t.Start();
            t.Join();
        }
        Assert.Equal(0, bytes[1]);
    }
}
