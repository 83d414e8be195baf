// ShardedHeap: core v2's entry points and fast paths (docs/core-v2.md). Internal: nothing in
// NativeHeap.Heap routes here yet; tests and benchmarks call it directly.
//
// Fast paths (inlined; no lock, no Interlocked, no managed allocation, no statistics):
//  - Malloc (sizes up to 512 KiB): t_heap → class from a lookup table (8-byte steps up to 32 KiB,
//    4 KiB steps up to 512 KiB) → Direct[class] → pop Free, Used++. An empty Free list (or no heap
//    yet: t_heap null, or the shared empty page) → MallocSlow, which also maps huge blocks.
//  - Free: mask the pointer to its segment, confirm with one PageMap load that the granule is a
//    heap's (a foreign pointer is rejected before anything is dereferenced) and with one load of the
//    segment's tag word that it is core v2's (not a current-core chunk), index the page descriptor;
//    when the page's heap is the thread's: push on Free, --Used, and one compare with SlowAt
//    (empty page, or first free of a full page) → FreeLocalSlow. Otherwise FreeOther: the remote free
//    (one CAS on the page's thread-free list), huge blocks, and misuse.
// Everything else: ShardedHeap.Slow.cs, ShardedHeap.Threads.cs, ShardedHeap.Validate.cs.
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.Sharded;

internal static unsafe partial class ShardedHeap
{
    [ThreadStatic] private static ThreadHeap* t_heap;

    /// <summary>True when the calling thread has a heap (also makes the runtime create this class's thread-static block).</summary>
    internal static bool CurrentThreadHasHeap => t_heap != null;

    /// <summary>(size + 4095) >> 12 → class index for 32 KiB &lt; size ≤ 512 KiB (every class there is a 4 KiB multiple).</summary>
    private static readonly byte* s_pageLookup = BuildPageLookup();

    private static byte* BuildPageLookup()
    {
        int n = (int)(ThreadHeap.MaxPaged >> 12) + 1;
        byte* t = (byte*)StaticMemory.Alloc((nuint)n);
        for (int i = 0; i < n; i++) t[i] = (byte)SizeClasses.ComputeIndex((nuint)Math.Max(1, i << 12));
        return t;
    }

    /// <summary>The shared empty page every unused class points at: its Free is always null.</summary>
    internal static readonly Page* s_emptyPage = (Page*)StaticMemory.Alloc((nuint)sizeof(Page));

    /// <summary>Owner of free pages in the pool (never a thread's heap, so a stray free of one is caught).</summary>
    internal static readonly ThreadHeap* s_poolHeap = (ThreadHeap*)StaticMemory.Alloc((nuint)sizeof(ThreadHeap));

    /// <summary>Owner of huge blocks (never a thread's heap, so their frees reach FreeOther).</summary>
    internal static readonly ThreadHeap* s_hugeHeap = (ThreadHeap*)StaticMemory.Alloc((nuint)sizeof(ThreadHeap));

    /// <summary>Allocates <paramref name="size"/> bytes (0 gets the smallest block); null when out of memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void* Malloc(nuint size) => MallocIn(t_heap, size);

    /// <summary>Frees a block of this heap; null is a no-op.</summary>
    /// <exception cref="HeapMisuseException">The pointer is not a block of core v2.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Free(void* p) => FreeIn(t_heap, p);

    /// <summary>Frees <paramref name="p"/> when it is a block of core v2 (true); false, with nothing done, for any other pointer (null included).</summary>
    /// <exception cref="HeapMisuseException">The pointer lies in a core v2 segment but is not a live block there (a pool page, a huge block's interior, the newest free block again).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryFree(void* p) => TryFreeIn(t_heap, p);

    /// <summary>The largest size served from pages (above it: huge segments, or the jemalloc core when Heap routes here).</summary>
    internal const nuint MaxPaged = ThreadHeap.MaxPaged;

    /// <summary>Malloc with the thread's heap already in hand (null: not created yet).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void* MallocIn(ThreadHeap* h, nuint size)
    {
        if (h != null)
        {
            nuint cls;
            if (size <= SizeClasses.LookupMax) cls = SizeClasses.s_lookup[(size + 7) >> 3];
            else if (size <= ThreadHeap.MaxPaged) cls = s_pageLookup[(size + 4095) >> 12];
            else return MallocSlow(size);
            Page* page = (Page*)h->Direct[cls];
            void* b = page->Free;
            if (b != null)
            {
                page->Free = *(void**)b;
                page->Used++;
                return b;
            }
        }
        return MallocSlow(size);
    }

    /// <summary>Free with the thread's heap already in hand (null: not created yet).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void FreeIn(ThreadHeap* h, void* p)
    {
        if (!TryFreeIn(h, p)) FreeUnowned(p);
    }

    /// <summary>
    /// TryFree with the thread's heap in hand. The local push compares the block with the page's newest
    /// free block first (the cheap double-free check the jemalloc core's fast path makes too): equal
    /// means the block was just freed, and FreeOther reports it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryFreeIn(ThreadHeap* h, void* p)
    {
        Segment* seg = (Segment*)((nuint)p & ~Segment.Mask);
        if ((PageMap.Lookup(p) == seg) & (seg != null) && (byte)Segment.TagWord(seg) == Segment.V2Tag)
        {
            Page* page = Segment.PageOf(seg, p, Segment.TagWord(seg));
            void* head = page->Free;
            if (page->Heap == h && head != p)
            {
                *(void**)p = head;
                page->Free = p;
                if (--page->Used == page->SlowAt) FreeLocalSlow(page);
                return true;
            }
            FreeOther(page, p);
            return true;
        }
        return false;
    }

    /// <summary>The usable size of a block (its class size); 0 for null or a pointer core v2 does not own.</summary>
    internal static nuint UsableSize(void* p)
    {
        Segment* seg = (Segment*)((nuint)p & ~Segment.Mask);
        if (seg == null || PageMap.Lookup(p) != seg || seg->Tag != Segment.V2Tag) return 0;
        Page* page = Segment.PageOf(seg, p);
        if (page->Heap == s_hugeHeap) return p == page->Start ? seg->HugeUsable : 0;
        return page->Class == Page.FreeClass ? 0 : page->BlockSize;
    }

    /// <summary>
    /// The calling thread's heap as a handle: loops that call <see cref="ShardedThreadHandle.Malloc"/> and
    /// <see cref="ShardedThreadHandle.Free"/> on it read no thread-local storage at all. The handle must
    /// not leave the thread (it is a ref struct: it cannot be stored on the heap or captured).
    /// </summary>
    internal static ShardedThreadHandle ForThisThread() => new(CurrentHeapOrThrow());
}

/// <summary>A thread's core v2 heap held in a local: malloc and free without a thread-local read.</summary>
internal readonly unsafe ref struct ShardedThreadHandle
{
    private readonly ThreadHeap* _heap;

    internal ShardedThreadHandle(ThreadHeap* heap) => _heap = heap;

    /// <summary>The heap this handle stands for.</summary>
    internal ThreadHeap* Heap => _heap;

    /// <summary>Allocates from this thread's heap (see <see cref="ShardedHeap.Malloc"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Malloc(nuint size) => ShardedHeap.MallocIn(_heap, size);

    /// <summary>Frees a block (see <see cref="ShardedHeap.Free"/>); blocks of other heaps take the remote path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* p) => ShardedHeap.FreeIn(_heap, p);
}
