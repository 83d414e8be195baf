// Heap: the general-purpose allocator's public API (jemalloc's standard and extended calls) and its
// fast paths.
//
// Fast paths (inlined into callers; no lock, no Interlocked, no managed allocation):
//  - Malloc: thread cache → size-class lookup table → pop the bin's stack. One branch for "no cache
//    yet", one for "size above the table", one for "bin empty"; anything else is MallocSlow.
//  - Free: page map → the chunk's PageBin byte for the page → push on the thread cache's stack when
//    the chunk belongs to the thread's arena. PageBin is 0 for anything that needs more care (huge,
//    explicit arenas, non-cacheable large, checked/junk modes), so one compare routes all of those to
//    FreeSlow; a block of another arena goes to FreeRemote, which parks it for a batched return home.
// A thread that never allocated has no cache (t_cache is null) and simply takes the slow path once.
// With opt.prof (heap profiling requested at start) the pop also misses when the thread's sample is
// due (Heap.Profiling.cs); a sampled block's page has PageBin 0 while it lives, so its free is slow.
// Everything else lives in Heap.Slow.cs (out of line), Huge.cs, Heap.Arenas.cs and Heap.Checked.cs.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Sharded;

namespace NativeHeap;

/// <summary>
/// The general-purpose native heap: a scalable allocator with jemalloc's size classes, thread caches,
/// arenas and decay-based purging. All methods are thread-safe.
/// </summary>
/// <remarks>
/// Errors: an allocation that cannot be satisfied (out of memory, or a size above 7 × 2^60) returns
/// null, or throws / aborts as <see cref="HeapOptions.Oom"/> says. Freeing a pointer that no NativeHeap
/// arena owns throws <see cref="HeapMisuseException"/> and changes nothing. By default the cheap
/// misuses also throw it with nothing changed: an immediate double free, a double free through an
/// explicit cache or of a large/huge block, an interior pointer on any path but the thread cache's
/// fast push, a stale free into a recently reset arena (docs/general-heap.md lists what is and is not
/// caught). With <see cref="HeapOptions.Checked"/> on, every double free, interior pointer, free after
/// an arena reset and wrong size given to a sized free throws; the rest is undefined behaviour, as in C.
/// </remarks>
public static unsafe partial class Heap
{
    [ThreadStatic] private static ThreadCache* t_cache;

    // ---- standard calls -------------------------------------------------------------------------

    /// <summary>Allocates <paramref name="size"/> bytes (malloc). A size of 0 gets the smallest block.</summary>
    /// <returns>The block, 16-byte aligned for sizes of 16 and more; null when out of memory.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void* Malloc(nuint size)
    {
        if (s_sharded && size <= ShardedHeap.MaxPaged) return MallocV2(size);
        void* p = TryMallocCached(size);
        return p != null ? p : MallocSlow(size);
    }

    /// <summary>Frees a block from any NativeHeap call (free). Null is a no-op.</summary>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap (or, in checked mode, not a live block).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Free(void* ptr)
    {
        if (s_sharded && ShardedHeap.TryFree(ptr)) return;
        FreeIn((Chunk*)PageMap.Lookup(ptr), ptr);
    }

    /// <summary>Free with the page-map lookup already done (<paramref name="c"/> = PageMap.Lookup(ptr)): for callers that looked first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void FreeIn(Chunk* c, void* ptr)
    {
        if (c != null)
        {
            uint bin = c->PageBin[Chunk.PageIndexOf(ptr)];
            ThreadCache* tc = t_cache;
            if (bin != 0 && tc != null)
            {
                if (c->Arena != tc->Arena)
                {
                    FreeRemote(tc, (int)bin - 1, ptr);
                    return;
                }
                if (ThreadCache.TryPush(tc, (int)bin - 1, ptr)) return;
            }
        }
        FreeSlow(ptr, -1, 0);
    }

    /// <summary>Free of a cacheable block owned by another arena: parked at the bin's remote end.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeRemote(ThreadCache* tc, int bin, void* ptr)
    {
        if (ThreadCache.PushRemote(tc, bin, ptr)) tc->Deallocated += (ThreadCache.BinsOf(tc) + bin)->ItemSize;
        else FreeSlow(ptr, -2, 0);
    }

    /// <summary>Frees a block whose requested (or usable) size the caller knows (sdallocx with no flags).</summary>
    /// <remarks>The size must be between the size requested and the usable size; checked mode verifies it.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SizedFree(void* ptr, nuint size)
    {
        if (s_checked) FreeSlow(ptr, -1, size);
        else Free(ptr);
    }

    /// <summary>Allocates <paramref name="count"/> × <paramref name="size"/> zeroed bytes (calloc).</summary>
    /// <returns>The block, or null when the product overflows or memory is exhausted.</returns>
    public static void* Calloc(nuint count, nuint size)
    {
        ulong hi = Math.BigMul((ulong)count, (ulong)size, out ulong total);
        if (hi != 0) return HandleOom(ulong.MaxValue);
        if (s_sharded && total <= ShardedHeap.MaxPaged) return CallocV2((nuint)total);
        if (total <= SizeClasses.SmallMax)
        {
            void* p = Malloc((nuint)total);
            if (p != null) NativeMemory.Clear(p, (nuint)total);
            return p;
        }
        return AllocCore((nuint)total, 1, zero: true, arenaIndex: -1, cacheId: -1);
    }

    /// <summary>
    /// Resizes a block (realloc): contents are kept up to the smaller size. A null pointer allocates; a
    /// size of 0 frees and returns null. On failure the old block is untouched and null is returned.
    /// </summary>
    public static void* Realloc(void* ptr, nuint size)
    {
        if (ptr == null) return Malloc(size);
        if (size == 0)
        {
            Interlocked.Increment(ref s_zeroReallocs);   // stats.zero_reallocs
            Free(ptr);
            return null;
        }
        if (s_sharded && ShardedHeap.UsableSize(ptr) is var u && u != 0) return ReallocV2(ptr, u, size, default);
        return ReallocCore(ptr, size, 1, zero: false, arenaIndex: -1, cacheId: -1);
    }

    /// <summary>
    /// Allocates <paramref name="size"/> bytes aligned to <paramref name="alignment"/>, any power of two
    /// (aligned_alloc / posix_memalign). Returns null when the alignment is not a power of two.
    /// </summary>
    public static void* AlignedAlloc(nuint alignment, nuint size)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) return null;
        if (alignment <= SizeClasses.Quantum && size >= alignment) return Malloc(size);
        if (s_sharded && TryAlignedAllocV2(alignment, size, out void* v2)) return v2;
        return AllocCore(size, alignment, zero: false, arenaIndex: -1, cacheId: -1);
    }

    /// <summary>The usable size of a block (malloc_usable_size): every byte up to it may be written. 0 for null or a pointer NativeHeap does not own.</summary>
    public static nuint UsableSize(void* ptr) => UsableSizeCore(ptr);

    // ---- extended calls (jemalloc's *allocx) ----------------------------------------------------

    /// <summary>mallocx: allocates at least <paramref name="size"/> bytes as <paramref name="flags"/> say (alignment, zero, cache, arena).</summary>
    /// <returns>The block, or null on failure (also for a size of 0, as jemalloc leaves that undefined).</returns>
    public static void* MallocX(nuint size, MallocFlags flags)
    {
        if (flags.Value == 0) return Malloc(size);
        if (size == 0) return null;
        return AllocCore(size, flags.Alignment, flags.IsZero, flags.ArenaIndex, flags.ThreadCacheId);
    }

    /// <summary>rallocx: resizes, moving when needed; null on failure with the old block untouched.</summary>
    public static void* RallocX(void* ptr, nuint size, MallocFlags flags)
    {
        if (ptr == null || size == 0) return null;
        if (s_sharded && ShardedHeap.UsableSize(ptr) is var u && u != 0) return ReallocV2(ptr, u, size, flags);
        return ReallocCore(ptr, size, flags.Alignment, flags.IsZero, flags.ArenaIndex, flags.ThreadCacheId);
    }

    /// <summary>
    /// xallocx: resizes in place only, to at least <paramref name="size"/> and if possible up to
    /// <paramref name="size"/> + <paramref name="extra"/>; never moves. Returns the resulting usable size
    /// (the old one when nothing could be done).
    /// </summary>
    public static nuint XallocX(void* ptr, nuint size, nuint extra, MallocFlags flags)
        => ptr == null ? 0
            : s_sharded && ShardedHeap.UsableSize(ptr) is var u && u != 0 ? u     // a core v2 block keeps its class
            : ResizeInPlaceCore(ptr, size, extra, flags.Alignment, flags.IsZero);

    /// <summary>sallocx: the usable size of a block.</summary>
    public static nuint SallocX(void* ptr, MallocFlags flags) => UsableSizeCore(ptr);

    /// <summary>dallocx: frees, through the cache the flags name.</summary>
    public static void DallocX(void* ptr, MallocFlags flags)
    {
        if (flags.Value == 0) Free(ptr);
        else FreeSlow(ptr, flags.ThreadCacheId, 0);
    }

    /// <summary>sdallocx: sized free; the size must be between the size asked for and the usable size.</summary>
    public static void SdallocX(void* ptr, nuint size, MallocFlags flags)
    {
        if (flags.Value == 0 && !s_checked) Free(ptr);
        else FreeSlow(ptr, flags.ThreadCacheId, size == 0 ? 1 : size, flags.Alignment);
    }

    /// <summary>nallocx: the usable size <see cref="MallocX"/> would return for this request, without allocating; 0 when impossible.</summary>
    public static nuint NallocX(nuint size, MallocFlags flags)
    {
        if (size == 0) size = 1;
        return flags.LgAlignment == 0 ? SizeClasses.RoundUp(size) : SizeClasses.RoundUpAligned(size, flags.Alignment);
    }

    // ---- per-thread counters ---------------------------------------------------------------------

    /// <summary>Bytes this thread has allocated (thread.allocated), by usable size.</summary>
    public static ulong ThreadAllocatedBytes
    {
        get
        {
            ThreadCache* tc = t_cache;
            return tc == null ? 0 : tc->Allocated;
        }
    }

    /// <summary>Bytes this thread has freed (thread.deallocated), by usable size.</summary>
    public static ulong ThreadDeallocatedBytes
    {
        get
        {
            ThreadCache* tc = t_cache;
            return tc == null ? 0 : tc->Deallocated;
        }
    }

    /// <summary>A pointer to this thread's allocated-bytes counter (thread.allocatedp), valid while the thread lives.</summary>
    public static ulong* ThreadAllocatedPointer => &CurrentCacheOrThrow()->Allocated;

    /// <summary>A pointer to this thread's deallocated-bytes counter (thread.deallocatedp), valid while the thread lives.</summary>
    public static ulong* ThreadDeallocatedPointer => &CurrentCacheOrThrow()->Deallocated;
}
