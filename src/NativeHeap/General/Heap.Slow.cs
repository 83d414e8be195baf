// Heap.Slow: everything off the fast paths — initialisation, cache creation, the general allocation
// and free paths (alignment, zeroing, explicit arenas and caches, large and huge blocks), realloc,
// in-place resizing, usable size and out-of-memory handling. All of it is out of line.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Sharded;
using NativeHeap.Os;

namespace NativeHeap;

public static unsafe partial class Heap
{
    // Settings frozen at initialisation (not readonly: they are set once, after the type is loaded).
    internal static bool s_checked;
    internal static bool s_cacheEnabled;
    internal static int s_cacheBins = SizeClasses.SizeToIndex(SizeClasses.LookupMax) + 1;
    internal static int s_maxCachedClass;
    internal static JunkFill s_junk;
    internal static bool s_zero;
    internal static OomBehavior s_oom;

    private static readonly Lock s_initLock = new();
    private static volatile bool s_initialized;
    private static HeapOptions? s_pending;
    private static HeapOptions s_options = new();
    private static uint s_exitKey;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* MallocSlow(nuint size) => AllocCore(size, 1, zero: false, arenaIndex: -1, cacheId: -1);

    /// <summary>
    /// Sets the heap's options. Must be called before the first allocation; NATIVEHEAP_CONF is applied
    /// on top at first use.
    /// </summary>
    /// <exception cref="InvalidOperationException">The heap is already in use.</exception>
    /// <exception cref="ArgumentException">The options contradict each other or are out of range.</exception>
    public static void Configure(HeapOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        lock (s_initLock)
        {
            if (s_initialized) throw new InvalidOperationException("NativeHeap.Heap.Configure must be called before the heap's first use");
            s_pending = options.Clone();
        }
    }

    /// <summary>
    /// Whether opt.prof will be on (the code's options, then NATIVEHEAP_CONF), read when ThreadCache's
    /// fast-path switch is initialised. NATIVEHEAP_PROF_FASTPATH=1/0 forces it (benchmarks only).
    /// </summary>
    internal static bool ProfilingRequestedAtStart()
    {
        string? force = Environment.GetEnvironmentVariable("NATIVEHEAP_PROF_FASTPATH");
        if (force is "0" or "1") return force == "1";
        HeapOptions o = s_pending?.Clone() ?? new HeapOptions();
        o.Apply(Environment.GetEnvironmentVariable(HeapOptions.EnvironmentVariable), _ => { });
        return o.Prof;
    }

    /// <summary>The options in force (after NATIVEHEAP_CONF was applied). Initialises the heap.</summary>
    public static HeapOptions Options
    {
        get
        {
            EnsureInitialized();
            return s_options.Clone();
        }
    }

    internal static void EnsureInitialized()
    {
        if (s_initialized) return;
        Initialize();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Initialize()
    {
        lock (s_initLock)
        {
            if (s_initialized) return;
            HeapOptions o = s_pending?.Clone() ?? new HeapOptions();
            o.Apply(Environment.GetEnvironmentVariable(HeapOptions.EnvironmentVariable));
            o.Validate();
            if (s_sharded && (o.Checked || o.Junk != JunkFill.None || o.Zero || o.Prof))
                throw new ArgumentException("NativeHeap: core:sharded does not support checked, junk, zero or prof yet (docs/core-v2.md); choose one or the other");
            s_options = o;
            SegmentPool.DecayMs = o.DirtyDecayMs;     // core v2's free pages decay as the arenas' dirty pages do
            s_checked = o.Checked;
            s_junk = o.Junk;
            s_zero = o.Zero;
            s_oom = o.Oom;
            s_cacheEnabled = o.ThreadCache && !o.Checked && o.Junk == JunkFill.None && !o.Zero;
            int maxCls = -1;
            if (o.ThreadCacheMax >= SizeClasses.TinySize)
            {
                maxCls = SizeClasses.SizeToIndex(o.ThreadCacheMax);
                if (SizeClasses.s_sizes[maxCls] > o.ThreadCacheMax) maxCls--;
            }
            s_maxCachedClass = maxCls;
            s_cacheBins = Math.Max(SizeClasses.SizeToIndex(SizeClasses.LookupMax) + 1, maxCls + 1);
            InitArenas(o);
            if (!OsThread.TryCreateExitKey(out s_exitKey, out OsError error))
                throw new InvalidOperationException("NativeHeap: cannot create the thread-exit key: " + error);
            if (o.BackgroundThread) StartBackgroundThread();
            if (o.StatsPrint) AppDomain.CurrentDomain.ProcessExit += (_, _) => HeapControl.PrintStatsAtExit();
            Profiling.Sampler.Configure(o);
            s_initialized = true;
        }
        // The Meter's instruments take ~20 ms to build (System.Diagnostics.Metrics and a reflection read
        // of the version, JIT-compiled): off the first allocation's path, on a pool thread. A listener
        // started before or after sees them when they are published; HeapMetrics.Meter builds them at once.
        if (HeapMetrics.IsSupported) ThreadPool.UnsafeQueueUserWorkItem(static _ => HeapMetrics.EnsureCreated(), null);
    }

    // ---- thread caches ---------------------------------------------------------------------------

    /// <summary>This thread's cache, created on first use; null only when metadata memory is exhausted.</summary>
    private static ThreadCache* CurrentCache()
    {
        ThreadCache* tc = t_cache;
        return tc != null ? tc : CreateCurrentCache();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ThreadCache* CreateCurrentCache()
    {
        EnsureInitialized();
        ReclaimExitedCaches();
        Arena* a = ChooseAutomaticArena();
        if (a == null) return null;
        ThreadCache* tc = ThreadCache.Create(a, -1, s_cacheEnabled);
        if (tc == null) return null;
        if (!TryInstallCache(tc))
        {
            MetaAlloc.Free(tc, tc->BlockBytes);
            return null;
        }
        return tc;
    }

    /// <summary>Makes <paramref name="tc"/> the calling thread's cache: registry, exit semaphore, pthread key.</summary>
    private static bool TryInstallCache(ThreadCache* tc)
    {
        if (!OsThread.TryInitExitSemaphore(tc->ExitSemaphore, out _)) return false;
        tc->ThreadHandle = GCHandle.ToIntPtr(GCHandle.Alloc(Thread.CurrentThread));
        Interlocked.Increment(ref tc->Arena->NThreads);
        s_registryLock->Enter();
        tc->RegistryPrev = null;
        tc->RegistryNext = s_registry;
        if (s_registry != null) s_registry->RegistryPrev = tc;
        s_registry = tc;
        s_registryLock->Exit();
        OsThread.SetKeyValue(s_exitKey, tc->ExitSemaphore);
        ProfInitCache(tc);
        t_cache = tc;
        return true;
    }

    /// <summary>Takes a live thread's cache out of the registry and destroys it (the thread gets another or none).</summary>
    private static void UninstallCache(ThreadCache* tc)
    {
        s_registryLock->Enter();
        if (tc->RegistryPrev != null) tc->RegistryPrev->RegistryNext = tc->RegistryNext; else s_registry = tc->RegistryNext;
        if (tc->RegistryNext != null) tc->RegistryNext->RegistryPrev = tc->RegistryPrev;
        s_registryLock->Exit();
        Interlocked.Decrement(ref tc->Arena->NThreads);
        GCHandle.FromIntPtr(tc->ThreadHandle).Free();
        OsThread.DestroyExitSemaphore(tc->ExitSemaphore);
        ThreadCache.Destroy(tc);
    }

    private static ThreadCache* CurrentCacheOrThrow()
        => CurrentCache() is var tc && tc != null ? tc : throw new OutOfMemoryException("NativeHeap: cannot create a thread cache");

    // Every thread's cache, so the caches of exited threads can be found and reclaimed.
    private static readonly NativeLock* s_registryLock = (NativeLock*)StaticMemory.Alloc((nuint)sizeof(NativeLock));
    private static ThreadCache* s_registry;

    /// <summary>
    /// Reclaims the caches of threads that have finished. A cache whose managed thread is no longer
    /// alive (Thread.IsAlive turns false when Join returns, before the OS thread has run its exit
    /// destructors) is flushed at once and its arena's thread count dropped, so a thread started right
    /// after a Join finds that arena free; its memory is freed once the exit semaphore is posted (the
    /// destructor still writes to it). Called when a thread creates its cache and on purge, decay and stats.
    /// </summary>
    internal static void ReclaimExitedCaches()
    {
        ThreadCache* dead = null;
        s_registryLock->Enter();
        for (ThreadCache* tc = s_registry; tc != null;)
        {
            ThreadCache* next = tc->RegistryNext;
            bool exited = OsThread.HasExited(tc->ExitSemaphore);
            if (exited || (tc->Retired == 0 && !IsThreadAlive(tc)))
            {
                if (tc->Retired == 0)
                {
                    tc->Retired = 1;
                    Interlocked.Decrement(ref tc->Arena->NThreads);
                    ThreadCache.FlushAll(tc);
                }
                if (exited)
                {
                    if (tc->RegistryPrev != null) tc->RegistryPrev->RegistryNext = next; else s_registry = next;
                    if (next != null) next->RegistryPrev = tc->RegistryPrev;
                    tc->RegistryNext = dead;
                    dead = tc;
                }
            }
            tc = next;
        }
        s_registryLock->Exit();
        while (dead != null)
        {
            ThreadCache* next = dead->RegistryNext;
            GCHandle.FromIntPtr(dead->ThreadHandle).Free();
            OsThread.DestroyExitSemaphore(dead->ExitSemaphore);
            MetaAlloc.Free(dead, dead->BlockBytes);
            dead = next;
        }
    }

    private static bool IsThreadAlive(ThreadCache* tc)
        => GCHandle.FromIntPtr(tc->ThreadHandle).Target is not Thread t || t.IsAlive;

    // ---- allocation ------------------------------------------------------------------------------

    /// <summary>
    /// The general allocation path. <paramref name="arenaIndex"/> -1 is the thread's arena;
    /// <paramref name="cacheId"/> -1 the thread's cache, -2 none, otherwise an explicit cache.
    /// </summary>
    internal static void* AllocCore(nuint size, nuint alignment, bool zero, int arenaIndex, int cacheId)
    {
        EnsureInitialized();
        zero |= s_zero;
        nuint usize = alignment <= 1 ? SizeClasses.RoundUp(size == 0 ? 1 : size) : SizeClasses.RoundUpAligned(size, alignment);
        if (usize == 0) return HandleOom(size);
        ThreadCache* own = CurrentCache();
        if (own == null) return HandleOom(size);
        Arena* a;
        ThreadCache* tc;
        if (arenaIndex >= 0)
        {
            a = ArenaForIndex(arenaIndex);
            tc = cacheId >= 0 ? ExplicitCache(cacheId) : null;   // explicit arenas never use the thread's cache
        }
        else if (usize >= s_oversizeThreshold && s_oversizeThreshold != 0)
        {
            a = OversizeArena();                                   // opt.oversize_threshold: never cached
            tc = null;
        }
        else
        {
            a = own->Arena;
            tc = cacheId == -1 ? own : cacheId == -2 ? null : ExplicitCache(cacheId);
        }
        int cls = SizeClasses.SizeToIndex(usize);
        void* p;
        bool pZeroed = false;
        if (cls < SizeClasses.NBins)
        {
            p = tc != null ? CachePop(tc, a, cls) : SingleFromBin(a, cls);
        }
        else if (usize <= Arena.LargeMax && FitsInChunk(usize, alignment))
        {
            if (tc != null && alignment <= OsMemory.PageSize && cls < tc->NBins && ThreadCache.CapOf(tc, cls) != 0)
            {
                p = CachePop(tc, a, cls);
            }
            else
            {
                p = Arena.LargeAlloc(a, cls, usize, alignment, zero);
                pZeroed = zero;
            }
        }
        else
        {
            p = Huge.Alloc(a, usize, alignment, zero);
            pZeroed = zero;
        }
        if (p == null) return HandleOom(size);
        if (zero && !pZeroed) NativeMemory.Clear(p, usize);
        else if (!zero && (s_junk & JunkFill.Alloc) != 0) NativeMemory.Fill(p, usize, 0xa5);
        if (s_checked && cls < SizeClasses.NBins) Debug.Assert(CheckedIsLive(p));
        own->Allocated += usize;
        if (own->Allocated >= own->ProfNext) ProfThreshold(own, p, usize);
        if (cls >= SizeClasses.NBins) SamplePeak(own);
        return p;
    }

    private static bool FitsInChunk(nuint usize, nuint alignment)
    {
        nuint alignPages = alignment <= OsMemory.PageSize ? 1 : alignment >> OsMemory.LgPageSize;
        return (usize >> OsMemory.LgPageSize) + alignPages - 1 <= Chunk.UsablePages;
    }

    private static void* CachePop(ThreadCache* tc, Arena* a, int cls)
    {
        if (cls >= tc->NBins || ThreadCache.CapOf(tc, cls) == 0)
            return cls < SizeClasses.NBins ? SingleFromBin(a, cls) : Arena.LargeAlloc(a, cls, SizeClasses.s_sizes[cls], 1, false);
        CacheBin* cb = ThreadCache.BinsOf(tc) + cls;
        if (cb->Cur != cb->Empty)
        {
            cb->Requests++;
            void* p = *cb->Cur++;
            if (ThreadCache.FreeChecks) *(ulong*)p = 0;
            return p;
        }
        return ThreadCache.AllocMiss(tc, a, cls);
    }

    private static void* SingleFromBin(Arena* a, int cls)
    {
        void* p;
        return Bin.Fill(a, cls, &p, 1, 1) == 1 ? p : null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* HandleOom(ulong size)
    {
        switch (s_oom)
        {
            case OomBehavior.Throw:
                throw new OutOfMemoryException(size == ulong.MaxValue
                    ? "NativeHeap: allocation size overflows"
                    : $"NativeHeap: cannot allocate {size} bytes");
            case OomBehavior.Abort:
                Environment.FailFast($"<nativeheap>: out of memory allocating {size} bytes (oom:abort)");
                return null;
            default:
                return null;
        }
    }

    // ---- free ------------------------------------------------------------------------------------

    /// <summary>
    /// The general free path. <paramref name="sizeHint"/> is 0 or the size given to a sized free, and
    /// <paramref name="sizeAlignment"/> the alignment its flags name (1 when they name none).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void FreeSlow(void* ptr, int cacheId, nuint sizeHint, nuint sizeAlignment = 1)
    {
        if (ptr == null) return;
        if (s_sharded && ShardedHeap.TryFree(ptr)) return;      // a core v2 block (dallocx/sdallocx with flags)
        if (Volatile.Read(ref Profiling.SamplerGate.LiveSamples) != 0) Profiling.Sampler.OnFree(ptr);
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c == null) throw HeapMisuseException.NotOwned(ptr);
        if (c->Quarantined != 0) throw HeapMisuseException.AfterReset(ptr);
        if (c->Arena == null) throw HeapMisuseException.NotABlock(ptr);   // a pooled spare chunk: nothing live in it
        if (c->Kind == ChunkKind.Huge)
        {
            if (ptr != c->HugeBlock) throw HeapMisuseException.NotABlock(ptr);
            if (sizeHint != 0 && s_checked) CheckSize(ptr, sizeHint, c->HugeUsable, sizeAlignment);
            nuint hu = c->HugeUsable;
            if ((s_junk & JunkFill.Free) != 0) NativeMemory.Fill(ptr, hu, 0x5a);
            Huge.Free(c);
            CountFree(hu);
            return;
        }
        PageDesc* d = s_checked ? CheckedFind(c, ptr, sizeHint, sizeAlignment) : FindBlock(c, ptr);
        Arena* a = c->Arena;
        int cls = d->Bin;
        nuint usize = SizeClasses.s_sizes[cls];
        if ((s_junk & JunkFill.Free) != 0) NativeMemory.Fill(ptr, usize, 0x5a);
        ThreadCache* tc = null;
        if (cacheId >= 0) tc = ExplicitCache(cacheId);
        else if (cacheId == -1 && a->Explicit == 0 && s_cacheEnabled) tc = CurrentCache();
        bool cached = tc != null && cls < tc->NBins && (d->Kind == PageKind.Slab || d->Address == ptr)
            && (tc->Id < 0 && a != tc->Arena ? ThreadCache.PushRemote(tc, cls, ptr) : ThreadCache.PushSlow(tc, cls, ptr));
        if (!cached)
        {
            if (d->Kind == PageKind.Slab)
            {
                Bin* b = Arena.BinOf(a, cls);
                b->Lock.Enter();
                // The cheap case of a double free that reached the slab: the block heads its free list.
                if (ThreadCache.FreeChecks && d->FreeList == ptr)
                {
                    b->Lock.Exit();
                    throw HeapMisuseException.DoubleFree(ptr);
                }
                Bin.FreeRegionLocked(a, b, d, ptr);
                b->Lock.Exit();
            }
            else
            {
                Arena.LargeFree(a, d);
            }
        }
        CountFree(usize);
    }

    private static void CountFree(nuint usize)
    {
        ThreadCache* own = t_cache;
        if (own != null) own->Deallocated += usize;
    }

    /// <summary>The head descriptor of the slab or large block holding <paramref name="ptr"/> (trusted pointer).</summary>
    private static PageDesc* FindBlock(Chunk* c, void* ptr)
    {
        PageDesc* d = &c->Pages[Chunk.PageIndexOf(ptr)];
        if (d->Kind == PageKind.SlabInterior) d = &c->Pages[d->Head];
        if (d->Kind == PageKind.Large && d->Address == ptr) return d;
        // A slab's region must start at a multiple of the class size (the free checks: no interior pointer).
        if (d->Kind == PageKind.Slab && (!ThreadCache.FreeChecks || (nuint)((byte*)ptr - d->Address) % SizeClasses.s_sizes[d->Bin] == 0)) return d;
        throw HeapMisuseException.NotABlock(ptr);
    }

    // ---- sizes and resizing ----------------------------------------------------------------------

    private static nuint UsableSizeCore(void* ptr)
    {
        if (s_sharded && ShardedHeap.UsableSize(ptr) is var u && u != 0) return u;
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c == null || c->Quarantined != 0 || c->Arena == null) return 0;
        if (c->Kind == ChunkKind.Huge) return ptr == c->HugeBlock ? c->HugeUsable : 0;
        PageDesc* d = &c->Pages[Chunk.PageIndexOf(ptr)];
        if (d->Kind == PageKind.SlabInterior) d = &c->Pages[d->Head];
        return d->Kind is PageKind.Slab or PageKind.Large ? SizeClasses.s_sizes[d->Bin] : 0;
    }

    private static void* ReallocCore(void* ptr, nuint size, nuint alignment, bool zero, int arenaIndex, int cacheId)
    {
        EnsureInitialized();
        nuint old = UsableSizeCore(ptr);
        if (old == 0) throw HeapMisuseException.NotOwned(ptr);
        nuint want = alignment <= 1 ? SizeClasses.RoundUp(size) : SizeClasses.RoundUpAligned(size, alignment);
        if (want == 0) return HandleOom(size);
        bool aligned = ((nuint)ptr & (alignment - 1)) == 0;
        if (aligned && arenaIndex < 0)
        {
            if (want == old) return ptr;
            nuint got = ResizeInPlaceCore(ptr, size, 0, alignment, zero);
            if (got >= size && got == want) return ptr;
        }
        void* p = AllocCore(size, alignment, zero, arenaIndex, cacheId);
        if (p == null) return null;
        Buffer.MemoryCopy(ptr, p, want, Math.Min(old, size));
        FreeSlow(ptr, cacheId, 0);
        return p;
    }

    /// <summary>Resizes in place (large and huge blocks; small ones only within their class). Returns the resulting usable size.</summary>
    private static nuint ResizeInPlaceCore(void* ptr, nuint size, nuint extra, nuint alignment, bool zero)
    {
        EnsureInitialized();
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c == null || c->Quarantined != 0 || c->Arena == null) throw HeapMisuseException.NotOwned(ptr);
        nuint old = UsableSizeCore(ptr);
        if (old == 0) throw HeapMisuseException.NotABlock(ptr);
        nuint target = size + extra < size ? nuint.MaxValue : size + extra;
        nuint want = alignment <= 1 ? SizeClasses.RoundUp(size) : SizeClasses.RoundUpAligned(size, alignment);
        if (want == 0) return old;
        if (c->Kind == ChunkKind.Huge)
        {
            nuint wantMax = SizeClasses.RoundUp(target) is var m && m != 0 ? m : want;
            return Huge.ResizeInPlace(c, want, wantMax, zero) ? c->HugeUsable : old;
        }
        PageDesc* d = FindBlock(c, ptr);
        if (d->Kind == PageKind.Slab) return old;               // small blocks keep their class
        // A large block never becomes small in place: when even size + extra is a small size, jemalloc's
        // xallocx refuses (the block keeps its size); otherwise the smallest large class is the floor.
        nuint upper = SizeClasses.RoundUp(target);
        if (upper != 0 && upper <= SizeClasses.SmallMax) return old;
        if (want <= SizeClasses.SmallMax) want = SizeClasses.LargeMin;
        if (upper == 0 || upper > Arena.LargeMax) upper = Arena.LargeMax;
        if (want > Arena.LargeMax) return old;
        // Try the largest size in [want, upper] first, then fall back to want.
        for (int attempt = 0; attempt < 2; attempt++)
        {
            nuint u = attempt == 0 ? upper : want;
            if (u < want) continue;
            int cls = SizeClasses.SizeToIndex(u);
            if (Arena.LargeResizeInPlace(c->Arena, d, cls, u, zero))
            {
                if (Volatile.Read(ref Profiling.SamplerGate.LiveSamples) != 0) Profiling.Sampler.OnResizedInPlace(ptr);
                if (u > old) CountAlloc(u - old); else CountFree(old - u);
                return u;
            }
        }
        return old;
    }

    private static void CountAlloc(nuint bytes)
    {
        ThreadCache* own = t_cache;
        if (own != null) own->Allocated += bytes;
    }
}
