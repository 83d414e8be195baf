// Page: a slab of blocks of one size class, with its three free lists (docs/core-v2.md).
//
// Terms:
//  - Free: blocks malloc pops and the owner's frees push (owner only, LIFO). There is no separate
//    local-free list (docs/core-v2.md, "Choices": mimalloc keeps one as a heartbeat for deferred
//    work core v2 does not have; without it a malloc/free pair of any size cycles one block).
//    ThreadFree: blocks other threads free, pushed with one CAS; bit 0 is the full flag.
//  - Used: blocks out of Free (blocks in ThreadFree still count). Capacity: blocks carved
//    so far (lazily, ExtendBytes at a time). Reserved: blocks the page can hold.
//  - SlowAt: the value of Used after a local free that sends the free to the slow path: -1 for the
//    head of its class queue, 0 for other queued pages, Reserved - 1 for a full page, int.MinValue
//    for a full page whose flag a remote freer took (waiting for the news).
// Layout (256 bytes, three cache lines used): line 0 holds what everyone reads and nobody writes on
// a fast path (Heap, Start, BlockSize, Class); line 1 what the owner reads and writes on every call
// (Free, Used, SlowAt, Capacity, list links); line 2 what other threads write (ThreadFree, NewsNext).
// So a remote freer reading Heap does not pull the owner's hot line away, and its CAS does not either.
// Invariants: |Free| + Used == Capacity <= Reserved; Used == 0 implies ThreadFree is
// empty; a pool page has Heap == the pool sentinel and Class == FreeClass.
using System.Runtime.CompilerServices;

namespace NativeHeap.Sharded;

[StructLayout(LayoutKind.Explicit, Size = 256)]
internal unsafe struct Page
{
    internal const int LgSize = 8;
    internal const byte FreeClass = 0xFF;
    internal const nint FullFlag = 1;
    internal const int ExtendBytes = 16 * 1024;

    // ---- line 0: read by everyone, written only when the page changes hands ----
    [FieldOffset(0)] public ThreadHeap* Heap;
    [FieldOffset(8)] public byte* Start;          // first block
    [FieldOffset(16)] public uint BlockSize;
    [FieldOffset(20)] public byte Class;
    [FieldOffset(21)] public byte Index;          // page index in its segment
    [FieldOffset(22)] public SegmentKind Kind;

    // ---- line 1: the owner's ----
    [FieldOffset(64)] public void* Free;
    [FieldOffset(72)] public int Used;
    [FieldOffset(76)] public int SlowAt;
    [FieldOffset(80)] public int Capacity;
    [FieldOffset(84)] public int Reserved;
    [FieldOffset(88)] public byte InFull;
    [FieldOffset(89)] public byte Purged;         // pool page whose memory went back to the OS (SegmentPool.Purge)
    [FieldOffset(92)] public int FreedAt;         // pool page: HeapClock time (ms, low 32 bits) it entered the pool
    [FieldOffset(96)] public Page* Next;          // class queue, full list or pool list
    [FieldOffset(104)] public Page* Prev;

    // ---- line 2: written by other threads ----
    [FieldOffset(128)] public nint ThreadFree;    // block list | FullFlag
    [FieldOffset(136)] public Page* NewsNext;     // link in the owner's news list

    /// <summary>Carves up to ExtendBytes of new blocks onto the (empty) free list.</summary>
    internal static void Extend(Page* page)
    {
        Debug.Assert(page->Free == null && page->Capacity < page->Reserved);
        uint bs = page->BlockSize;
        int n = Math.Min(page->Reserved - page->Capacity, Math.Max(1, ExtendBytes / (int)Math.Min(bs, (uint)ExtendBytes)));
        byte* first = page->Start + (nuint)page->Capacity * bs;
        byte* b = first;
        for (int i = 1; i < n; i++, b += bs) *(void**)b = b + bs;
        *(void**)b = null;
        page->Free = first;
        page->Capacity += n;
    }

    /// <summary>
    /// Owner: moves the thread-free list onto an empty Free list. The page must not be flagged full
    /// (its flag is only set while it sits in the full list).
    /// </summary>
    internal static void Collect(Page* page)
    {
        Debug.Assert(page->Free == null && page->InFull == 0);
        if (Volatile.Read(ref page->ThreadFree) != 0) CollectThreadFree(page);
    }

    /// <summary>Owner: takes the whole thread-free list with one exchange and puts it in front of Free.</summary>
    internal static void CollectThreadFree(Page* page)
    {
        nint list = Interlocked.Exchange(ref page->ThreadFree, 0);
        Debug.Assert((list & FullFlag) == 0);
        if (list == 0) return;
        int count = 1;
        void* tail = (void*)list;
        while (*(void**)tail != null)
        {
            tail = *(void**)tail;
            count++;
        }
        *(void**)tail = page->Free;
        page->Free = (void*)list;
        page->Used -= count;
        Debug.Assert(page->Used >= 0);
    }

    /// <summary>Owner: makes the page hold blocks of class <paramref name="cls"/> for <paramref name="heap"/>.</summary>
    internal static void Init(Page* page, int cls, uint blockSize, ThreadHeap* heap)
    {
        Bounds(page, out byte* start, out byte* end);
        page->Start = start;
        page->BlockSize = blockSize;
        page->Reserved = (int)((nuint)(end - start) / blockSize);
        page->Capacity = 0;
        page->Used = 0;
        page->Free = null;
        page->Class = (byte)cls;
        page->InFull = 0;
        page->SlowAt = 0;
        Volatile.Write(ref page->ThreadFree, 0);
        SetHeap(page, heap);
    }

    /// <summary>Publishes a new owner (read by remote freers without a lock).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SetHeap(Page* page, ThreadHeap* heap) => Volatile.Write(ref *(nint*)&page->Heap, (nint)heap);

    /// <summary>Reads the owner with acquire semantics.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ThreadHeap* ReadHeap(Page* page) => (ThreadHeap*)Volatile.Read(ref *(nint*)&page->Heap);

    /// <summary>The page's block area: [start, end) (page 0 of a segment starts after the header).</summary>
    internal static void Bounds(Page* page, out byte* start, out byte* end)
    {
        Segment* seg = Segment.Of(page);
        byte* pageStart = (byte*)seg + ((nuint)page->Index << seg->PageShift);
        start = page->Index == 0 ? (byte*)seg + Segment.HeaderSize : pageStart;
        end = pageStart + ((nuint)1 << seg->PageShift);
    }

    /// <summary>True when <paramref name="p"/> is a block boundary of a carved block of this page.</summary>
    internal static bool IsBlock(Page* page, void* p)
    {
        nuint off = (nuint)p - (nuint)page->Start;
        return (nuint)p >= (nuint)page->Start && off % page->BlockSize == 0 && off / page->BlockSize < (nuint)page->Capacity;
    }
}
