// ThreadCache: a per-thread (or explicit, per-id) stack of free blocks for each cached size class,
// so most allocations and frees touch no shared memory, take no lock and do no atomic operation.
//
// Terms: a CacheBin owns the slots [Base, Empty), Base = Empty - Cap. It is a two-ended stack:
//  - local blocks (of the cache's own arena) are [Cur, Empty): pushed and popped at Cur, so
//    Cur == Empty means no local block;
//  - remote blocks (freed by this thread but owned by another arena) are [Base, Full): pushed at
//    Full and never handed out here — they go back to their owners in batches of at most
//    RemoteBatch, so a thread never reuses another thread's memory (no false sharing, the owner
//    keeps its locality) and never pins many of another arena's slabs;
//  - Cur == Full means the bin is full. The fast free path pushes local blocks while Cur != Full.
// A miss refills up to half a bin from the arena's Bin (one lock); an overflow sends all remote
// blocks and the older half of the local ones back (one lock per arena bin touched). Every
// GcInterval slow-path events one bin is visited: if it did not miss since the last visit, half its
// local blocks go back (jemalloc's tcache GC, simplified), so idle caches shrink. A thread's cache is
// reclaimed after the thread exits: its pthread key destructor (libc's sem_post) posts
// ExitSemaphore, and Heap.ReclaimExitedCaches finds posted caches in the registry list.
// Free checks (on by default; NATIVEHEAP_FREE_CHECKS=0 turns them off, for A/B benchmarks):
//  - fast path (TryPush): a block equal to the bin's newest block (the immediate double free) goes to
//    the slow path. One load from the stack's own cache line and a compare: no store, nothing on the
//    pop side (measured within noise on the pair benchmark; an alignment test against interior
//    pointers here cost ~10 % and was left to the slow paths, see docs/general-heap.md).
//  - slow paths (PushSlow, PushRemote: overflows, explicit caches, cross-arena frees): a block that
//    enters a cache there gets FreeKey, a random odd 64-bit value, in its first word (glibc's tcache
//    key; the cache's slots are a separate array, so the block's memory is unused while cached), and
//    the slow pops (CachePop, AllocMiss) clear it. A push that finds the key scans the bin and throws
//    HeapMisuseException when the block is there; a stale key (left by a fast pop, or a user value
//    equal to it) only costs that scan. CheckFree also verifies the block start exactly.
// The fast pop never clears a key, so the fast path pays nothing for the slow path's key.
// Heap profiling (Heap.Profiling.cs): ProfNext is the Allocated value at which the thread's next
// sample is due; with opt.prof the fast pop misses (returns null) when Allocated + size would reach
// it, and AllocCore takes the sample. It is ulong.MaxValue when nothing is due (always, without
// opt.prof, and for explicit and kinds' caches).
// Invariants: Base <= Full <= Cur <= Empty; local blocks belong to Arena (for a thread's cache);
// a thread cache never holds blocks of an explicit arena. Memory kinds' caches (Kinds/KindThreadCaches,
// Id >= KindThreadCaches.CacheIdBase, possibly a larger tcache_max) hold blocks of any arena of their
// one kind, all as local blocks.
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.General;

[StructLayout(LayoutKind.Sequential, Size = 32)]
internal unsafe struct CacheBin
{
    internal void** Cur;      // top of the local stack (grows down from Empty)
    internal void** Empty;    // end of the slots
    internal void** Full;     // top of the remote stack (grows up from Base); local pushes stop here
    internal uint ItemSize;
    internal uint Requests;   // allocations served since the last fill/flush (merged into bin stats)

    internal readonly int LocalCount => (int)(Empty - Cur);
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ThreadCache
{
    internal const int HeaderBytes = 192;
    private const int RemoteBatch = 16;
    private const int GcInterval = 64;

    internal ulong Allocated;          // thread.allocated (bytes); stays at offset 0
    internal ulong Deallocated;        // thread.deallocated; offset 8
    internal ulong ProfNext;           // heap profiling: Allocated value at which the next sample is due (ulong.MaxValue: never; offset 16)
    internal Arena* Arena;
    internal ThreadCache* RegistryNext;  // list of threads' caches (Heap.s_registry), under Heap's registry lock
    internal ThreadCache* RegistryPrev;
    internal nuint BlockBytes;
    internal int Id;                   // explicit cache id, or -1 for a thread's own cache
    internal int NBins;
    internal int GcCursor;
    internal int Events;
    internal fixed byte ExitSemaphore[Os.OsThread.ExitSemaphoreBytes];
    internal nint ThreadHandle;        // GCHandle of the owning managed Thread (IsAlive turns false as Join returns)
    internal int Retired;              // flushed after its thread finished; memory kept until ExitSemaphore is posted
    internal ulong ProfRng;            // heap profiling: the thread's xorshift64* state for sample intervals
    internal int ProfEpoch;            // heap profiling: HeapProfiler's epoch when ProfNext was last armed
    internal int ProfThreadInactive;   // heap profiling: thread.prof.active written false (1)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static CacheBin* BinsOf(ThreadCache* tc) => (CacheBin*)((byte*)tc + HeaderBytes);

    /// <summary>Whether frees check for double frees and misaligned pointers (NATIVEHEAP_FREE_CHECKS=0 turns it off; read once, so the JIT folds it).</summary>
    internal static readonly bool FreeChecks = Environment.GetEnvironmentVariable("NATIVEHEAP_FREE_CHECKS") != "0";

    /// <summary>
    /// Whether the allocation fast path tests the heap profiler's sample threshold: only when profiling
    /// was requested at start (opt.prof: NATIVEHEAP_CONF=prof:true, or HeapOptions.Prof given to
    /// Heap.Configure before first use), as jemalloc's opt.prof. Read once, so the JIT folds it: without
    /// opt.prof the fast path is the code it was before profiling existed.
    /// </summary>
    internal static readonly bool ProfFastPath = Heap.ProfilingRequestedAtStart();

    /// <summary>The value a cached block carries in its first word: random and odd, so it is never a free-list link.</summary>
    internal static readonly ulong FreeKey = (ulong)Random.Shared.NextInt64() << 1 | 1;

    /// <summary>Low address bits every block of a class of size <paramref name="size"/> has clear (blocks start at multiples of size's lowest set bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nuint AlignMask(uint size) => (nuint)((size & (0u - size)) - 1);

    /// <summary>
    /// The allocation fast path's pop: the newest local block of class <paramref name="cls"/>, or null
    /// when the bin is empty or (with opt.prof) the heap profiler's sample is due (Allocated would reach
    /// ProfNext: the slow path takes the sample). Counts the request and the allocated bytes. No lock, no atomic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void* TryPop(ThreadCache* tc, int cls)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        void** cur = cb->Cur;
        if (cur == cb->Empty) return null;
        if (ProfFastPath)
        {
            // The sum is kept, so the counter is not read again after the stores below (they may alias it for the JIT).
            ulong allocated = tc->Allocated + cb->ItemSize;
            if (allocated >= tc->ProfNext) return null;
            cb->Cur = cur + 1;
            cb->Requests++;
            tc->Allocated = allocated;
            return *cur;
        }
        cb->Cur = cur + 1;
        cb->Requests++;
        tc->Allocated += cb->ItemSize;
        return *cur;
    }

    /// <summary>
    /// The free fast path's push: a local block of class <paramref name="cls"/> onto its bin; false
    /// (nothing done) when the bin is full. Counts the deallocated bytes. No lock, no atomic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryPush(ThreadCache* tc, int cls, void* p)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        void** cur = cb->Cur;
        // A possible double free (p is the bin's newest block; *Empty is a spare slot, so the load is
        // always in bounds): the slow path decides.
        if (FreeChecks && *cur == p) return false;
        if (cur == cb->Full) return false;
        cb->Cur = cur - 1;
        cur[-1] = p;
        tc->Deallocated += cb->ItemSize;
        return true;
    }

    /// <summary>
    /// The free checks' slow half, before <paramref name="p"/> (of class <paramref name="cls"/>) enters
    /// this cache: throws <see cref="HeapMisuseException"/> when p is not the start of a block of its
    /// slab or large run, or is already in this cache. Nothing has changed when it throws.
    /// </summary>
    internal static void CheckFree(ThreadCache* tc, int cls, void* p)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(p);
        if (c != null && c->Kind == ChunkKind.Arena)
        {
            PageDesc* d = &c->Pages[Chunk.PageIndexOf(p)];
            if (d->Kind == PageKind.SlabInterior) d = &c->Pages[d->Head];
            bool start = d->Kind == PageKind.Slab
                ? (nuint)((byte*)p - d->Address) % SizeClasses.s_sizes[d->Bin] == 0
                : d->Kind == PageKind.Large && d->Address == p;
            if (!start) throw HeapMisuseException.NotABlock(p);
        }
        CacheBin* cb = BinsOf(tc) + cls;
        if ((*(ulong*)p == FreeKey || (cb->Cur != cb->Empty && *cb->Cur == p)) && Contains(tc, cls, p)) throw HeapMisuseException.DoubleFree(p);
    }

    /// <summary>Whether <paramref name="p"/> is in bin <paramref name="cls"/> of the cache (local or remote end).</summary>
    internal static bool Contains(ThreadCache* tc, int cls, void* p)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        for (void** r = cb->Cur; r < cb->Empty; r++) if (*r == p) return true;
        for (void** r = BaseOf(tc, cls); r < cb->Full; r++) if (*r == p) return true;
        return false;
    }

    private static ushort* Caps(ThreadCache* tc) => (ushort*)(BinsOf(tc) + tc->NBins);

    private static byte* MissFlags(ThreadCache* tc) => (byte*)(Caps(tc) + tc->NBins);

    private static nuint TrailerBytes(int nbins) => ((nuint)nbins * 3 + 7) & ~(nuint)7;

    internal static int CapOf(ThreadCache* tc, int cls) => Caps(tc)[cls];

    private static void** BaseOf(ThreadCache* tc, int cls)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        return cb->Empty - Caps(tc)[cls];
    }

    /// <summary>Large classes up to this size keep 20 slots (jemalloc's tcache_nslots_large); larger ones hold at most LargeBinBytes.</summary>
    private const nuint LargeFullCapMax = 32 * 1024, LargeBinBytes = 512 * 1024;

    internal static int CapOf(int cls, bool enabled, int maxCachedClass)
    {
        if (!enabled || cls > maxCachedClass) return 0;
        if (cls < SizeClasses.NBins) return Math.Clamp(2 * SizeClasses.s_slabRegs[cls], 20, 200);
        return SizeClasses.s_sizes[cls] <= LargeFullCapMax ? 20 : (int)Math.Clamp(LargeBinBytes / SizeClasses.s_sizes[cls], 1, 20);
    }

    /// <summary>
    /// Creates a cache bound to <paramref name="arena"/>; null when metadata memory is exhausted.
    /// <paramref name="maxCachedClass"/> overrides tcache_max's class (memory kinds' caches); -2 keeps the heap's.
    /// </summary>
    internal static ThreadCache* Create(Arena* arena, int id, bool enabled, int maxCachedClass = -2)
    {
        int maxCls = maxCachedClass == -2 ? Heap.s_maxCachedClass : maxCachedClass;
        int nbins = Math.Max(Heap.s_cacheBins, maxCls + 1);
        nuint slots = 0;
        for (int i = 0; i < nbins; i++) slots += (nuint)CapOf(i, enabled, maxCls);
        // One spare slot after the last bin: the fast free path reads *Cur even when the bin is empty.
        nuint bytes = HeaderBytes + (nuint)nbins * (nuint)sizeof(CacheBin) + TrailerBytes(nbins) + (slots + 1) * (nuint)sizeof(void*);
        Debug.Assert(sizeof(ThreadCache) <= HeaderBytes);
        ThreadCache* tc = (ThreadCache*)MetaAlloc.TryAlloc(bytes);
        if (tc == null) return null;
        tc->Arena = arena;
        tc->Id = id;
        tc->NBins = nbins;
        tc->BlockBytes = bytes;
        tc->ProfNext = ulong.MaxValue;     // explicit and kinds' caches are never sampled; Heap arms a thread's own cache
        CacheBin* bins = BinsOf(tc);
        void** slot = (void**)((byte*)Caps(tc) + TrailerBytes(nbins));
        for (int i = 0; i < nbins; i++)
        {
            int cap = CapOf(i, enabled, maxCls);
            Caps(tc)[i] = (ushort)cap;
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
        int cap = Caps(tc)[cls];
        void* p;
        if (cap == 0)
        {
            p = null;
        }
        else if (cls < SizeClasses.NBins)
        {
            Debug.Assert(cb->Cur == cb->Empty);
            if (cb->Full == cb->Empty) FlushRemote(tc, cls);
            int want = Math.Max(1, Math.Min(cap >> 1, (int)(cb->Empty - cb->Full)));
            void** dst = cb->Empty - want;
            int got = Bin.Fill(arena, cls, dst, want, cb->Requests + 1);
            cb->Requests = 0;
            if (got != want && got != 0) Buffer.MemoryCopy(dst, cb->Empty - got, (nuint)got * 8, (nuint)got * 8);
            if (got == 0) return null;
            cb->Cur = cb->Empty - got;
            p = *cb->Cur++;
            if (FreeChecks) *(ulong*)p = 0;
        }
        else
        {
            p = General.Arena.LargeAlloc(arena, cls, SizeClasses.s_sizes[cls], 1, zero: false);
        }
        MissFlags(tc)[cls] = 1;
        Event(tc);
        Heap.OnCacheMiss(tc);
        return p;
    }

    /// <summary>Local free overflow (or a cache without room): make room, then push <paramref name="p"/> as local.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool PushSlow(ThreadCache* tc, int cls, void* p)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        if (Caps(tc)[cls] == 0) return false;
        if (FreeChecks) CheckFree(tc, cls, p);
        if (cb->Cur == cb->Full) MakeRoom(tc, cls);
        *--cb->Cur = p;
        if (FreeChecks) *(ulong*)p = FreeKey;
        Event(tc);
        return true;
    }

    /// <summary>Free of a block owned by another arena: park it at the remote end for a batched return.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool PushRemote(ThreadCache* tc, int cls, void* p)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        if (Caps(tc)[cls] == 0) return false;
        if (FreeChecks && ((*(ulong*)p == FreeKey) | (((nuint)p & AlignMask(cb->ItemSize)) != 0) | (cb->Full[-1] == p))) CheckFree(tc, cls, p);
        if (cb->Cur == cb->Full) MakeRoom(tc, cls);
        *cb->Full++ = p;
        if (FreeChecks) *(ulong*)p = FreeKey;
        // Parked blocks pin their owners' slabs: send them home in small batches.
        if (cb->Full - BaseOf(tc, cls) >= Math.Min(RemoteBatch, Caps(tc)[cls] >> 1)) FlushRemote(tc, cls);
        return true;
    }

    /// <summary>A full bin: send every remote block home, and the older half of the local ones when that is not enough.</summary>
    private static void MakeRoom(ThreadCache* tc, int cls)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        FlushRemote(tc, cls);
        if (cb->Cur == cb->Full) FlushBin(tc, cls, Math.Max(1, cb->LocalCount >> 1));
    }

    /// <summary>Returns every remote block of a bin to its owner.</summary>
    internal static void FlushRemote(ThreadCache* tc, int cls)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        void** b = BaseOf(tc, cls);
        int n = (int)(cb->Full - b);
        if (n == 0) return;
        ReturnBlocks(cls, b, n, 0);
        cb->Full = b;
    }

    /// <summary>Returns the <paramref name="n"/> oldest local blocks of a bin to their arena.</summary>
    internal static void FlushBin(ThreadCache* tc, int cls, int n)
    {
        CacheBin* cb = BinsOf(tc) + cls;
        n = Math.Min(n, cb->LocalCount);
        if (n == 0) return;
        void** oldest = cb->Empty - n;
        ReturnBlocks(cls, oldest, n, cb->Requests);
        cb->Requests = 0;
        int keep = cb->LocalCount - n;
        if (keep > 0) Buffer.MemoryCopy(cb->Cur, cb->Cur + n, (nuint)keep * 8, (nuint)keep * 8);
        cb->Cur += n;
    }

    private static void ReturnBlocks(int cls, void** items, int n, long requests)
    {
        if (cls < SizeClasses.NBins)
        {
            Bin.Flush(cls, items, n, requests);
            return;
        }
        for (int i = 0; i < n; i++)
        {
            if (FreeChecks) *(ulong*)items[i] = 0;   // leaves the cache: no stale key in a freed large run
            Chunk* c = (Chunk*)PageMap.Lookup(items[i]);
            General.Arena.LargeFree(c->Arena, &c->Pages[Chunk.PageIndexOf(items[i])]);
        }
    }

    /// <summary>Returns every cached item (tcache.flush, thread exit, purge).</summary>
    internal static void FlushAll(ThreadCache* tc)
    {
        CacheBin* bins = BinsOf(tc);
        for (int i = 0; i < tc->NBins; i++)
        {
            FlushRemote(tc, i);
            if (bins[i].LocalCount != 0) FlushBin(tc, i, bins[i].LocalCount);
        }
    }

    /// <summary>
    /// Removes cached items that belong to arena <paramref name="a"/> without freeing them (arena reset).
    /// A bin is only rewritten when it holds such an item: the reset runs on another thread than the
    /// cache's user, who may be pushing and popping blocks of other arenas meanwhile (found by the mixed
    /// stress: rewriting every bin duplicated and lost that thread's blocks).
    /// </summary>
    internal static void DropArena(ThreadCache* tc, Arena* a)
    {
        CacheBin* bins = BinsOf(tc);
        for (int i = 0; i < tc->NBins; i++)
        {
            CacheBin* cb = bins + i;
            bool holds = false;
            for (void** r = cb->Cur; r < cb->Empty && !holds; r++) holds = OwnedBy(*r, a);
            for (void** r = BaseOf(tc, i); r < cb->Full && !holds; r++) holds = OwnedBy(*r, a);
            if (!holds) continue;
            void** w = cb->Empty;
            for (void** r = cb->Empty - 1; r >= cb->Cur; r--)
            {
                Chunk* c = (Chunk*)PageMap.Lookup(*r);
                if (c != null && c->Arena == a) continue;
                *--w = *r;
            }
            // Local survivors were copied towards Empty in order and now occupy [w, Empty).
            cb->Cur = w;
            void** b = BaseOf(tc, i), keep = b;
            for (void** r = b; r < cb->Full; r++)
            {
                Chunk* c = (Chunk*)PageMap.Lookup(*r);
                if (c != null && c->Arena == a) continue;
                *keep++ = *r;
            }
            cb->Full = keep;
        }
    }

    private static bool OwnedBy(void* p, Arena* a)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(p);
        return c != null && c->Arena == a;
    }

    private static void Event(ThreadCache* tc)
    {
        if (++tc->Events < GcInterval) return;
        tc->Events = 0;
        int i = tc->GcCursor;
        tc->GcCursor = i + 1 < tc->NBins ? i + 1 : 0;
        byte* missed = MissFlags(tc);
        CacheBin* cb = BinsOf(tc) + i;
        for (int k = 0; k < tc->NBins; k++) FlushRemote(tc, k);
        if (missed[i] == 0 && cb->LocalCount > 1) FlushBin(tc, i, cb->LocalCount >> 1);
        missed[i] = 0;
    }
}
