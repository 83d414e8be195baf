// ShardedHeap.Slow: core v2's out-of-line paths (docs/core-v2.md, "Paths"): the generic malloc
// (collect, extend, mark full, take a page), the local free of an emptied or full page, the remote
// free (one CAS), huge blocks, misuse, news and retirement.
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.Sharded;

internal static unsafe partial class ShardedHeap
{
    /// <summary>Every malloc the fast path does not finish: no heap yet, an empty free list, a size above 32 KiB.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* MallocSlow(nuint size)
    {
        ThreadHeap* h = t_heap;
        if (h == null)
        {
            h = CreateHeapForThread();
            if (h == null) return null;
        }
        if (size > ThreadHeap.MaxPaged)
        {
            nuint usable = SizeClasses.RoundUp(size);
            return usable == 0 ? null : SegmentPool.AllocHuge(usable);
        }
        int cls = SizeClasses.SizeToIndex(size == 0 ? 1 : size);
        Page* page = (Page*)h->Direct[cls];
        void* b = page->Free;
        if (b != null)
        {
            page->Free = *(void**)b;
            page->Used++;
            return b;
        }
        return MallocGeneric(h, cls);
    }

    /// <summary>Refills class <paramref name="cls"/>'s direct page and pops a block; null when out of memory.</summary>
    private static void* MallocGeneric(ThreadHeap* h, int cls)
    {
        if (Volatile.Read(ref h->News) != 0) DrainNews(h);
        while (true)
        {
            Page* page = (Page*)h->QFirst[cls];
            if (page == null)
            {
                page = AcquirePage(h, cls);
                if (page == null) return null;
            }
            if (page->Free == null) Page.Collect(page);
            if (page->Free == null && page->Capacity < page->Reserved) Page.Extend(page);
            void* b = page->Free;
            if (b != null)
            {
                page->Free = *(void**)b;
                page->Used++;
                return b;
            }
            // Exhausted: flag it full (fails when a remote free just arrived: collect that instead).
            Debug.Assert(page->Used == page->Reserved);
            if (Interlocked.CompareExchange(ref page->ThreadFree, Page.FullFlag, 0) != 0) continue;
            ThreadHeap.QueueRemove(h, cls, page);
            page->InFull = 1;
            page->SlowAt = page->Reserved - 1;
            ThreadHeap.FullPush(h, page);
        }
    }

    /// <summary>A page for class <paramref name="cls"/> at the head of its queue: absorbed from an exited thread, from the pool, or a new segment.</summary>
    private static Page* AcquirePage(ThreadHeap* h, int cls)
    {
        if (Volatile.Read(ref s_abandoned) != 0)
        {
            AbsorbAbandoned(h);
            if (h->QFirst[cls] != 0) return (Page*)h->QFirst[cls];
        }
        SegmentKind kind = ThreadHeap.KindOf(cls);
        if (SegmentPool.FreePages(kind) == 0 && ScanExitedThreads() && AbsorbAbandoned(h) && h->QFirst[cls] != 0)
            return (Page*)h->QFirst[cls];
        Page* page = SegmentPool.Take(kind);
        if (page == null) return null;
        Page.Init(page, cls, (uint)SizeClasses.s_sizes[cls], h);
        ThreadHeap.QueueStart(h, cls, page);
        return page;
    }

    /// <summary>A local free made Used reach SlowAt: the page emptied (leaves for the pool) or was full (rejoins its queue).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeLocalSlow(Page* page)
    {
        ThreadHeap* h = page->Heap;
        int cls = page->Class;
        if (page->InFull != 0)
        {
            // Clear our own full flag; if a remote freer took it first, the page comes back through the news.
            if (Interlocked.CompareExchange(ref page->ThreadFree, 0, Page.FullFlag) == Page.FullFlag)
            {
                ThreadHeap.FullRemove(h, page);
                page->InFull = 0;
                Enqueue(h, cls, page);
            }
            else
            {
                page->SlowAt = int.MinValue;
            }
            return;
        }
        Debug.Assert(page->Used == 0 && page->SlowAt == 0);
        RetireIfEmpty(h, page);
    }

    /// <summary>Appends a page to its class queue; with no block out (and not the head) it goes to the pool instead.</summary>
    private static void Enqueue(ThreadHeap* h, int cls, Page* page)
    {
        ThreadHeap.QueuePush(h, cls, page);
        RetireIfEmpty(h, page);
    }

    /// <summary>Sends a queued page with no block out to the pool, unless it is its queue's head (the page malloc serves from).</summary>
    private static void RetireIfEmpty(ThreadHeap* h, Page* page)
    {
        if (page->Used != 0 || (Page*)h->QFirst[page->Class] == page) return;
        ThreadHeap.QueueRemove(h, page->Class, page);
        Retire(page);
    }

    /// <summary>Returns a page with no block out (in no list) to the pool.</summary>
    private static void Retire(Page* page)
    {
        Debug.Assert(page->Used == 0 && Volatile.Read(ref page->ThreadFree) == 0);
        page->Free = null;
        page->Capacity = 0;
        page->InFull = 0;
        SegmentPool.Release(page);
    }

    /// <summary>Owner: moves the pages remote freers took out of the full state back into their queues.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DrainNews(ThreadHeap* h)
    {
        Page* page = (Page*)Interlocked.Exchange(ref h->News, 0);
        while (page != null)
        {
            Page* next = page->NewsNext;
            Debug.Assert(page->InFull == 1 && page->Heap == h);
            ThreadHeap.FullRemove(h, page);
            page->InFull = 0;
            Page.CollectThreadFree(page);
            Enqueue(h, page->Class, page);
            page = next;
        }
    }

    /// <summary>Free of a block whose page is not the calling thread's: remote free, huge block, or misuse.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeOther(Page* page, void* p)
    {
        ThreadHeap* owner = Page.ReadHeap(page);
        if (owner == t_heap && owner != null) throw HeapMisuseException.DoubleFree(p);   // TryFreeIn: p is the page's newest free block
        if (owner == s_hugeHeap)
        {
            if (p != page->Start) throw HeapMisuseException.NotABlock(p);
            SegmentPool.FreeHuge(Segment.Of(page));
            return;
        }
        if (owner == s_poolHeap || (nuint)p < (nuint)page->Start) throw HeapMisuseException.NotABlock(p);
        ThreadHeap* self = t_heap;
        if (self != null) self->RemoteFrees++;
        nint old = Volatile.Read(ref page->ThreadFree);
        while (true)
        {
            *(nint*)p = old & ~Page.FullFlag;
            nint seen = Interlocked.CompareExchange(ref page->ThreadFree, (nint)p, old);
            if (seen == old) break;
            old = seen;
        }
        // We cleared the full flag: the page is ours to announce. Its heap cannot change while the
        // flag is taken, so read it now (an absorber may have re-owned the page before the flag was set).
        if ((old & Page.FullFlag) != 0) ThreadHeap.PushNews(Page.ReadHeap(page), page);
    }

    /// <summary>A pointer whose segment is not in the page map (or null): no-op for null, otherwise misuse.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeUnowned(void* p)
    {
        if (p == null) return;
        Segment* owner = (Segment*)PageMap.Lookup(p);
        if (owner != null && owner->Tag == Segment.V2Tag && owner->Kind == SegmentKind.Huge) throw HeapMisuseException.NotABlock(p);
        throw HeapMisuseException.NotOwned(p);
    }
}
