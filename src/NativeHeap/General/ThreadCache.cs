// ThreadCache: a per-thread (or explicit, per-id) stack of free regions for each cached size class,
// so most allocations and frees touch no shared memory, take no lock and do no atomic operation.
//
// Terms: a CacheBin is a bounded stack of pointers in the slots [Full, Empty): items are
// [Cur, Empty), so Cur == Empty means empty and Cur == Full means full; Cap = Empty - Full. A miss
// refills half a bin from the arena's Bin (one lock); an overflow flushes the older half back (one
// lock per arena bin touched). Every GcInterval slow-path events one bin is visited: if it did not
// miss since the last visit, half its items go back (jemalloc's tcache GC, simplified), so idle
// caches shrink. A thread's cache is orphaned at thread exit (pthread key destructor) and drained by
// a later slow path on any thread.
// Invariants: Full <= Cur <= Empty; every item is a free region or large block of the bin's class;
// a thread cache never holds blocks of an explicit arena.
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.General;

[StructLayout(LayoutKind.Sequential, Size = 32)]
internal unsafe struct CacheBin
{
    internal void** Cur;
    internal void** Empty;
    internal void** Full;
    internal uint ItemSize;
    internal uint Requests;   // allocations served since the last fill/flush (merged into bin stats)

    internal readonly int Count => (int)(Empty - Cur);
    internal readonly int Cap => (int)(Empty - Full);
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ThreadCache
{
    internal const int HeaderBytes = 64;
    private const int GcInterval = 64;

    internal ulong Allocated;          // thread.allocated (bytes); stays at offset 0
    internal ulong Deallocated;        // thread.deallocated; offset 8
    internal Arena* Arena;
    internal ThreadCache* NextOrphan;
    internal nuint BlockBytes;
    internal int Id;                   // explicit cache id, or -1 for a thread's own cache
    internal int NBins;
    internal int GcCursor;
    internal int Events;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static CacheBin* BinsOf(ThreadCache* tc) => (CacheBin*)((byte*)tc + HeaderBytes);

    private static byte* MissFlags(ThreadCache* tc) => (byte*)(BinsOf(tc) + tc->NBins);

    internal static int CapOf(int cls, bool enabled, int maxCachedClass)
    {
        if (!enabled || cls > maxCachedClass) return 0;
        if (cls < SizeClasses.NBins) return Math.Clamp(2 * SizeClasses.s_slabRegs[cls], 20, 200);
        return 20;
    }

    /// <summary>Creates a cache bound to <paramref name="arena"/>; null when metadata memory is exhausted.</summary>
    internal static ThreadCache* Create(Arena* arena, int id, bool enabled)
    {
        int nbins = Heap.s_cacheBins;
        int maxCls = Heap.s_maxCachedClass;
        nuint slots = 0;
        for (int i = 0; i < nbins; i++) slots += (nuint)CapOf(i, enabled, maxCls);
        nuint bytes = HeaderBytes + (nuint)nbins * (nuint)sizeof(CacheBin) + (((nuint)nbins + 7) & ~(nuint)7) + slots * (nuint)sizeof(void*);
        ThreadCache* tc = (ThreadCache*)MetaAlloc.TryAlloc(bytes);
        if (tc == null) return null;
        tc->Arena = arena;
        tc->Id = id;
        tc->NBins = nbins;
        tc->BlockBytes = bytes;
        CacheBin* bins = BinsOf(tc);
        void** slot = (void**)(MissFlags(tc) + (((nuint)nbins + 7) & ~(nuint)7));
        for (int i = 0; i < nbins; i++)
        {
            int cap = CapOf(i, enabled, maxCls);
            bins[i].Full = slot;
            slot += cap;
            bins[i].Empty = slot;
            bins[i].Cur = slot;
            bins[i].ItemSize = (uint)SizeClasses.s_sizes[i];
        }
        return tc;
    }

    /// <summary>Returns everything cached and frees the cache's memory.</summary>
    internal static void Destroy(ThreadCache* tc)
    {
        FlushAll(tc);
        MetaAlloc.Free(tc, tc->BlockBytes);
    }

    /// <summary>Allocation miss for a cached class: refill the bin and hand out one item; null on OOM.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void* AllocMiss(ThreadCache* tc, Arena* arena, int cls)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        void* p;
        if (cb->Cap == 0)
        {
            p = null;
        }
        else if (cls < SizeClasses.NBins)
        {
            Debug.Assert(cb->Cur == cb->Empty);
            int want = Math.Max(1, cb->Cap >> 1);
            void** dst = cb->Empty - want;
            int got = Bin.Fill(arena, cls, dst, want, cb->Requests + 1);
            cb->Requests = 0;
            if (got != want && got != 0) Buffer.MemoryCopy(dst, cb->Empty - got, (nuint)got * 8, (nuint)got * 8);
            if (got == 0) return null;
            cb->Cur = cb->Empty - got;
            p = *cb->Cur++;
        }
        else
        {
            p = General.Arena.LargeAlloc(arena, cls, SizeClasses.s_sizes[cls], 1, zero: false);
        }
        MissFlags(tc)[cls] = 1;
        Event(tc);
        return p;
    }

    /// <summary>Free overflow: flush the older half of the bin, then push <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool PushSlow(ThreadCache* tc, int cls, void* p)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        if (cb->Cap == 0) return false;
        if (cb->Cur == cb->Full) FlushBin(tc, cls, Math.Max(1, cb->Cap >> 1));
        *--cb->Cur = p;
        Event(tc);
        return true;
    }

    /// <summary>Returns the <paramref name="n"/> oldest items of a bin to their arenas.</summary>
    internal static void FlushBin(ThreadCache* tc, int cls, int n)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        n = Math.Min(n, cb->Count);
        if (n == 0) return;
        void** oldest = cb->Empty - n;
        if (cls < SizeClasses.NBins)
        {
            Bin.Flush(cls, oldest, n, cb->Requests);
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                Chunk* c = (Chunk*)PageMap.Lookup(oldest[i]);
                General.Arena.LargeFree(c->Arena, &c->Pages[Chunk.PageIndexOf(oldest[i])]);
            }
        }
        cb->Requests = 0;
        int keep = cb->Count - n;
        if (keep > 0) Buffer.MemoryCopy(cb->Cur, cb->Cur + n, (nuint)keep * 8, (nuint)keep * 8);
        cb->Cur += n;
    }

    /// <summary>Returns every cached item (tcache.flush, thread exit, purge).</summary>
    internal static void FlushAll(ThreadCache* tc)
    {
        CacheBin* bins = BinsOf(tc);
        for (int i = 0; i < tc->NBins; i++)
            if (bins[i].Count != 0) FlushBin(tc, i, bins[i].Count);
    }

    /// <summary>Removes cached items that belong to arena <paramref name="a"/> without freeing them (arena reset).</summary>
    internal static void DropArena(ThreadCache* tc, Arena* a)
    {
        CacheBin* bins = BinsOf(tc);
        for (int i = 0; i < tc->NBins; i++)
        {
            CacheBin* cb = bins + i;
            void** w = cb->Empty;
            for (void** r = cb->Empty - 1; r >= cb->Cur; r--)
            {
                Chunk* c = (Chunk*)PageMap.Lookup(*r);
                if (c != null && c->Arena == a) continue;
                *--w = *r;
            }
            // Items kept were copied bottom-up in order; the survivors now occupy [w, Empty).
            cb->Cur = w;
        }
    }

    private static void Event(ThreadCache* tc)
    {
        if (++tc->Events < GcInterval) return;
        tc->Events = 0;
        int i = tc->GcCursor;
        tc->GcCursor = i + 1 < tc->NBins ? i + 1 : 0;
        byte* missed = MissFlags(tc);
        CacheBin* cb = BinsOf(tc) + i;
        if (missed[i] == 0 && cb->Count > 1) FlushBin(tc, i, cb->Count >> 1);
        missed[i] = 0;
    }
}
