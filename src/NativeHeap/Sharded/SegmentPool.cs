// SegmentPool: the shared pool of free pages and the segments behind them (docs/core-v2.md).
//
// Terms:
//  - free page: a page of a live segment that no heap owns (Heap == PoolHeap, Class == FreeClass),
//    linked in the free list of its segment kind. Empty pages come here as soon as a heap retires them.
//  - empty segment: a segment whose pages are all free. One per kind is kept (it absorbs thread churn
//    and malloc/free of a page's worth); any other is unmapped at once.
//  - purged page: a free page whose memory was returned to the OS (MADV_DONTNEED) by Purge or by
//    decay; it reads zeroes when reused. Free lists are LIFO (a heap takes the most recently freed
//    page), so the pages that waited longest sit at the tail, where decay looks.
// Every operation takes the pool lock (a NativeLock in native memory): pages move once per page, never
// per block, so the lock is on no fast path. LockEntries counts acquisitions so tests can prove that.
// Invariants: a segment's UsedPages == its pages not in a free list; EmptySegments[k] <= 1 counts the
// segments of kind k with UsedPages == 0; every live segment is on the segment list and in the PageMap.
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Sharded;

internal static unsafe class SegmentPool
{
    private static readonly NativeLock* s_lock = (NativeLock*)StaticMemory.Alloc((nuint)sizeof(NativeLock));
    private static readonly Page** s_free = (Page**)StaticMemory.Alloc(Segment.PagedKinds * (nuint)sizeof(Page*));
    private static readonly int* s_freeCount = (int*)StaticMemory.Alloc(Segment.PagedKinds * sizeof(int));
    private static readonly int* s_emptySegments = (int*)StaticMemory.Alloc(Segment.PagedKinds * sizeof(int));
    private static Segment* s_segments;
    private static long s_segmentCount, s_hugeCount, s_hugeBytes, s_lockEntries;

    /// <summary>Live segments (small, medium, large; huge ones counted apart).</summary>
    internal static long SegmentCount => Volatile.Read(ref s_segmentCount);

    /// <summary>Live huge blocks and their mapped bytes.</summary>
    internal static long HugeCount => Volatile.Read(ref s_hugeCount);
    internal static long HugeBytes => Volatile.Read(ref s_hugeBytes);

    /// <summary>Times the pool lock was taken (tests: the fast paths never take it).</summary>
    internal static long LockEntries => Volatile.Read(ref s_lockEntries);

    /// <summary>Free pages of a kind.</summary>
    internal static int FreePages(SegmentKind kind) => Volatile.Read(ref s_freeCount[(int)kind]);

    internal static void Enter()
    {
        s_lock->Enter();
        s_lockEntries++;
    }

    internal static void Exit() => s_lock->Exit();

    /// <summary>Takes a free page of <paramref name="kind"/>, mapping a segment when none is free; null when the OS refuses.</summary>
    internal static Page* Take(SegmentKind kind)
    {
        Enter();
        Page* page = PopFree(kind);
        Exit();
        if (page != null) return page;
        Segment* seg = MapSegment(kind);
        if (seg == null) return null;
        Enter();
        for (int i = 0; i < seg->PageCount; i++) PushFree(seg->Pages + i);
        s_emptySegments[(int)kind]++;
        LinkSegment(seg);
        page = PopFree(kind);
        Exit();
        return page;
    }

    /// <summary>Returns an empty page (no blocks out, lists cleared by the caller) to the pool.</summary>
    internal static void Release(Page* page)
    {
        Segment* unmap = null;
        Enter();
        Page.SetHeap(page, ShardedHeap.s_poolHeap);
        page->Class = Page.FreeClass;
        page->Purged = 0;
        page->FreedAt = (int)HeapClock.Now();
        PushFree(page);
        Segment* seg = Segment.Of(page);
        if (--seg->UsedPages == 0)
        {
            int k = (int)seg->Kind;
            if (s_emptySegments[k] >= 1)
            {
                for (int i = 0; i < seg->PageCount; i++) UnlinkFree(seg->Pages + i);
                UnlinkSegment(seg);
                unmap = seg;
            }
            else
            {
                s_emptySegments[k]++;
            }
        }
        bool decay = ++s_releases % DecayEvery == 0;
        Exit();
        if (unmap != null) UnmapSegment(unmap);
        if (decay) Decay(HeapClock.Now());
    }

    // ---- returning free pages to the OS ----------------------------------------------------------

    /// <summary>Releases between two decay passes (a pass is one walk of the free lists' tails).</summary>
    private const int DecayEvery = 64;
    private static long s_releases, s_purgedPages;

    /// <summary>Milliseconds a free page stays resident before decay purges it (the jemalloc core's dirty_decay_ms; -1: never).</summary>
    internal static long DecayMs = 10_000;

    /// <summary>Free pages purged so far (by Purge and by decay).</summary>
    internal static long PurgedPages => Volatile.Read(ref s_purgedPages);

    /// <summary>Returns the memory of every free page to the OS now; the count of pages purged.</summary>
    internal static long Purge() => PurgeWhere(long.MaxValue);

    /// <summary>Purges the free pages that have waited at least <see cref="DecayMs"/>; the count purged.</summary>
    internal static long Decay(long now) => DecayMs < 0 ? 0 : PurgeWhere(now - DecayMs);

    /// <summary>
    /// Purges the unpurged free pages that entered the pool at or before <paramref name="freedBy"/>
    /// (long.MaxValue: all), under the pool lock: a page being purged must not be taken (its new owner's
    /// writes would race with MADV_DONTNEED), and hiding it from Take instead would make a heap that needs a
    /// page map a new segment meanwhile. Purged pages move to the tail of their list, so Take keeps
    /// preferring resident ones. Decay passes purge few pages; Purge is an explicit, rare call.
    /// </summary>
    private static long PurgeWhere(long freedBy)
    {
        long n = 0;
        Enter();
        for (int k = 0; k < Segment.PagedKinds; k++)
        {
            Page* tail = s_free[k];
            while (tail != null && tail->Next != null) tail = tail->Next;
            Page* purgedTail = tail;
            for (Page* p = tail; p != null;)
            {
                Page* prev = p->Prev;
                if (p->Purged == 0)
                {
                    if (freedBy != long.MaxValue && (int)((int)freedBy - p->FreedAt) < 0) break;   // newer from here to the head (wrap-safe ms compare)
                    Page.Bounds(p, out byte* start, out byte* end);
                    if (OsMemory.TryPurgeForced(start, (nuint)(end - start), out _))
                    {
                        p->Purged = 1;
                        n++;
                        if (p != purgedTail)
                        {
                            UnlinkFree(p);                       // behind the original tail: this walk (backwards from it) never meets it again
                            AppendFree(p, ref purgedTail);
                        }
                    }
                }
                p = prev;
            }
        }
        s_purgedPages += n;
        Exit();
        return n;
    }

    /// <summary>Appends a page at the tail of its kind's free list (<paramref name="tail"/>: the current tail, updated).</summary>
    private static void AppendFree(Page* page, ref Page* tail)
    {
        if (tail == null)
        {
            PushFree(page);
        }
        else
        {
            page->Next = null;
            page->Prev = tail;
            tail->Next = page;
            s_freeCount[(int)page->Kind]++;
        }
        tail = page;
    }

    private static Page* PopFree(SegmentKind kind)
    {
        Page* page = s_free[(int)kind];
        if (page == null) return null;
        UnlinkFree(page);
        Segment* seg = Segment.Of(page);
        if (seg->UsedPages++ == 0) s_emptySegments[(int)kind]--;
        return page;
    }

    private static void PushFree(Page* page)
    {
        int k = (int)page->Kind;
        page->Prev = null;
        page->Next = s_free[k];
        if (page->Next != null) page->Next->Prev = page;
        s_free[k] = page;
        s_freeCount[k]++;
    }

    private static void UnlinkFree(Page* page)
    {
        int k = (int)page->Kind;
        if (page->Prev != null) page->Prev->Next = page->Next; else s_free[k] = page->Next;
        if (page->Next != null) page->Next->Prev = page->Prev;
        page->Next = page->Prev = null;
        s_freeCount[k]--;
    }

    private static void LinkSegment(Segment* seg)
    {
        seg->Prev = null;
        seg->Next = s_segments;
        if (s_segments != null) s_segments->Prev = seg;
        s_segments = seg;
        s_segmentCount++;
    }

    private static void UnlinkSegment(Segment* seg)
    {
        if (seg->Prev != null) seg->Prev->Next = seg->Next; else s_segments = seg->Next;
        if (seg->Next != null) seg->Next->Prev = seg->Prev;
        s_segmentCount--;
    }

    /// <summary>Maps and formats a segment of <paramref name="kind"/> (all pages free); null when the OS refuses.</summary>
    private static Segment* MapSegment(SegmentKind kind)
    {
        if (!OsMemory.TryMapAligned(Segment.Size, Segment.Size, out void* m, out _)) return null;
        Segment* seg = (Segment*)m;
        seg->Tag = Segment.V2Tag;
        seg->Kind = kind;
        seg->PageShift = (byte)Segment.PageShiftOf(kind);
        seg->PageCount = (int)(Segment.Size >> seg->PageShift);
        seg->MapSize = Segment.Size;
        for (int i = 0; i < seg->PageCount; i++)
        {
            Page* page = seg->Pages + i;
            page->Index = (byte)i;
            page->Kind = kind;
            page->Class = Page.FreeClass;
            page->Heap = ShardedHeap.s_poolHeap;
        }
        PageMap.Set(seg, Segment.Size, seg);
        return seg;
    }

    private static void UnmapSegment(Segment* seg)
    {
        PageMap.Set(seg, seg->MapSize, null);
        if (!OsMemory.TryUnmap(seg, seg->MapSize, out OsError error))
            throw new InvalidOperationException("NativeHeap: cannot unmap a segment: " + error);
    }

    // ---- huge blocks ---------------------------------------------------------------------------

    /// <summary>Maps a huge segment holding one block of <paramref name="usable"/> bytes; null when the OS refuses.</summary>
    internal static void* AllocHuge(nuint usable)
    {
        nuint map = usable + Segment.HugeHeaderSize;
        map = (map + OsMemory.PageSize - 1) & ~(nuint)(OsMemory.PageSize - 1);
        if (map < usable || !OsMemory.TryMapAligned(map, Segment.Size, out void* m, out _)) return null;
        Segment* seg = (Segment*)m;
        seg->Tag = Segment.V2Tag;
        seg->Kind = SegmentKind.Huge;
        seg->PageShift = 22;                    // every pointer of the first granule is page 0
        seg->PageCount = 1;
        seg->UsedPages = 1;
        seg->MapSize = map;
        seg->HugeUsable = usable;
        Page* page = seg->Pages;
        page->Kind = SegmentKind.Huge;
        page->Start = (byte*)seg + Segment.HugeHeaderSize;
        page->Class = Page.FreeClass;
        page->Heap = ShardedHeap.s_hugeHeap;
        PageMap.Set(seg, map, seg);
        Interlocked.Increment(ref s_hugeCount);
        Interlocked.Add(ref s_hugeBytes, (long)map);
        return page->Start;
    }

    /// <summary>Unmaps a huge segment (the caller checked that p is its block).</summary>
    internal static void FreeHuge(Segment* seg)
    {
        Interlocked.Decrement(ref s_hugeCount);
        Interlocked.Add(ref s_hugeBytes, -(long)seg->MapSize);
        UnmapSegment(seg);
    }

    // ---- validation ----------------------------------------------------------------------------

    /// <summary>Calls <paramref name="visit"/> for every live paged segment and checks the pool's counts (pool lock held by the caller).</summary>
    internal static string? ValidateLocked(Func<nint, string?> visit)
    {
        long n = 0;
        int* empty = stackalloc int[Segment.PagedKinds];
        for (Segment* seg = s_segments; seg != null; seg = seg->Next)
        {
            n++;
            if (((nuint)seg & Segment.Mask) != 0) return $"segment {(nuint)seg:x} is not 4 MiB-aligned";
            if (PageMap.Lookup(seg) != seg) return $"segment {(nuint)seg:x} is not in the page map";
            if (seg->Tag != Segment.V2Tag || seg->CompatArena != null) return $"segment {(nuint)seg:x}: bad compatibility fields";
            int used = 0;
            for (int i = 0; i < seg->PageCount; i++)
                if (seg->Pages[i].Class != Page.FreeClass) used++;
            if (used != seg->UsedPages) return $"segment {(nuint)seg:x}: UsedPages {seg->UsedPages} but {used} pages owned";
            if (used == 0) empty[(int)seg->Kind]++;
            if (visit((nint)seg) is string e) return e;
        }
        if (n != s_segmentCount) return $"segment count {s_segmentCount} but {n} listed";
        for (int k = 0; k < Segment.PagedKinds; k++)
        {
            if (empty[k] != s_emptySegments[k] || empty[k] > 1) return $"kind {(SegmentKind)k}: {empty[k]} empty segments, counter {s_emptySegments[k]}";
            int free = 0;
            for (Page* p = s_free[k]; p != null; p = p->Next)
            {
                if (p->Class != Page.FreeClass || p->Heap != ShardedHeap.s_poolHeap || p->Kind != (SegmentKind)k) return $"pool page {(nuint)p:x} is not free";
                if (++free > s_freeCount[k]) return $"kind {(SegmentKind)k}: pool list longer than its count";
            }
            if (free != s_freeCount[k]) return $"kind {(SegmentKind)k}: {free} pool pages, counter {s_freeCount[k]}";
        }
        return null;
    }
}
