// Heap.Arenas: arenas and explicit thread caches as the API exposes them — automatic arenas
// (4 × CPU count by default, threads spread round-robin), explicit arenas created at run time with a
// memory source, reset and destroy, purge and decay, explicit caches (tcache.create/flush/destroy),
// and the optional background purging thread.
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Sharded;
using NativeHeap.Os;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>Most arenas that can exist at once (automatic and explicit), as jemalloc's MALLOCX_ARENA allows.</summary>
    public const int MaxArenas = 4095;

    /// <summary>Most explicit thread caches that can exist at once.</summary>
    public const int MaxThreadCaches = 4094;

    private static Arena** s_arenas;
    private static int s_autoArenas;
    private static int s_arenaCount;
    private static int s_defaultSourceId;
    private static ThreadCache** s_explicitCaches;
    private static readonly Lock s_arenaLock = new();
    private static readonly Chunk*[] s_quarantine = new Chunk*[64];
    private static int s_quarantineNext;

    private static void InitArenas(HeapOptions o)
    {
        s_arenas = (Arena**)StaticMemory.Alloc((nuint)(MaxArenas + 1) * (nuint)sizeof(Arena*));
        s_explicitCaches = (ThreadCache**)StaticMemory.Alloc((nuint)MaxThreadCaches * (nuint)sizeof(ThreadCache*));
        s_perCpu = o.PerCpuArena != "disabled";
        // percpu_arena: one automatic arena per CPU unless narenas says otherwise (as jemalloc).
        s_autoArenas = o.Arenas > 0 ? o.Arenas : s_perCpu ? OsMemory.CpuCount : 4 * OsMemory.CpuCount;
        s_oversizeThreshold = o.OversizeThreshold;
        s_newDirtyDecayMs = o.DirtyDecayMs;
        s_newMuzzyDecayMs = o.MuzzyDecayMs;
        s_arenaCount = s_autoArenas;
        s_defaultSourceId = o.MemorySource is null ? 0 : MemorySources.Register(o.MemorySource);
        // Arena 0 exists from the start (as jemalloc's): stats.arenas.0.* and arena.0.initialized
        // answer before any allocation. Only metadata is allocated; chunks come on first use.
        s_arenas[0] = Arena.Create(0, s_defaultSourceId, isExplicit: false, o);
    }

    /// <summary>True when the arena's metadata exists (arena.&lt;i&gt;.initialized): arena 0, used automatic arenas, live explicit ones.</summary>
    internal static bool ArenaInitialized(int index)
        => ArenaExists(index) && s_arenas[index] != null;

    /// <summary>Threads whose cache is attached to the arena (thread.arena); 0 for an arena not initialised.</summary>
    internal static int ArenaThreadCount(int index)
    {
        Arena* a = ArenaExists(index) ? s_arenas[index] : null;
        return a == null ? 0 : Volatile.Read(ref a->NThreads);
    }

    /// <summary>The registry id of the source automatic arenas use (HeapOptions.MemorySource, or the OS).</summary>
    internal static int DefaultSourceId
    {
        get
        {
            EnsureInitialized();
            return s_defaultSourceId;
        }
    }

    /// <summary>Number of arenas (automatic ones plus those created; arenas.narenas).</summary>
    public static int ArenaCount
    {
        get
        {
            EnsureInitialized();
            return Volatile.Read(ref s_arenaCount);
        }
    }

    /// <summary>Number of automatic arenas (opt.narenas).</summary>
    public static int AutomaticArenaCount
    {
        get
        {
            EnsureInitialized();
            return s_autoArenas;
        }
    }

    /// <summary>
    /// The automatic arena with the fewest threads (lowest index on ties; an arena not created yet has
    /// none), as jemalloc chooses: successive short-lived threads reuse the same arenas instead of
    /// spreading partly used slabs and dirty pages over all of them.
    /// </summary>
    private static Arena* ChooseAutomaticArena()
    {
        if (s_perCpu) return GetOrCreateAutomatic(CurrentCpuArena());
        int best = 0, bestThreads = int.MaxValue;
        for (int i = 0; i < s_autoArenas; i++)
        {
            Arena* a = s_arenas[i];
            int n = a == null ? 0 : Volatile.Read(ref a->NThreads);
            if (n < bestThreads)
            {
                best = i;
                bestThreads = n;
                if (n == 0) break;
            }
        }
        return GetOrCreateAutomatic(best);
    }

    private static Arena* GetOrCreateAutomatic(int i)
    {
        Arena* a = s_arenas[i];
        if (a != null) return a;
        lock (s_arenaLock)
        {
            a = s_arenas[i];
            if (a == null)
            {
                a = Arena.Create(i, s_defaultSourceId, isExplicit: false, s_options);
                if (a != null) ApplyNewArenaDecay(a);
                Volatile.Write(ref *(nint*)&s_arenas[i], (nint)a);
            }
        }
        return a;
    }

    /// <summary>The arena with this index; throws for an index that names no arena.</summary>
    internal static Arena* ArenaForIndex(int index)
    {
        EnsureInitialized();
        if ((uint)index >= (uint)Volatile.Read(ref s_arenaCount))
            throw new ArgumentOutOfRangeException(nameof(index), $"NativeHeap: arena {index} does not exist (there are {s_arenaCount})");
        if (index < s_autoArenas) return GetOrCreateAutomatic(index);
        Arena* a = s_arenas[index];
        if (a == null || a->Destroyed != 0)
            throw new ArgumentOutOfRangeException(nameof(index), $"NativeHeap: arena {index} was destroyed");
        return a;
    }

    /// <summary>
    /// Creates an explicit arena (arenas.create), optionally over a memory source of your own, and
    /// returns its index for <see cref="MallocFlags.Arena"/>. Blocks of explicit arenas never enter the
    /// implicit thread caches, so <see cref="ResetArena"/> and <see cref="DestroyArena"/> are safe to
    /// call from any thread once the blocks are no longer used.
    /// </summary>
    /// <exception cref="InvalidOperationException">All <see cref="MaxArenas"/> arena slots are in use.</exception>
    public static int CreateArena(IMemorySource? source = null)
    {
        EnsureInitialized();
        int sourceId = source is null ? s_defaultSourceId : MemorySources.Register(source);
        lock (s_arenaLock)
        {
            int index = -1;
            for (int i = s_autoArenas; i < s_arenaCount; i++)
            {
                if (s_arenas[i] != null && s_arenas[i]->Destroyed != 0)
                {
                    index = i;
                    break;
                }
            }
            if (index < 0)
            {
                if (s_arenaCount >= MaxArenas) throw new InvalidOperationException($"NativeHeap: all {MaxArenas} arenas are in use");
                index = s_arenaCount;
            }
            Arena* a = index < s_arenaCount ? s_arenas[index] : null;
            if (a != null) Arena.Reuse(a, index, sourceId, isExplicit: true, s_options);   // no metadata leak per create/destroy cycle
            else a = Arena.Create(index, sourceId, isExplicit: true, s_options);
            if (a == null) throw new OutOfMemoryException("NativeHeap: cannot allocate arena metadata");
            ApplyNewArenaDecay(a);
            Volatile.Write(ref *(nint*)&s_arenas[index], (nint)a);
            if (index == s_arenaCount) Volatile.Write(ref s_arenaCount, index + 1);
            return index;
        }
    }

    /// <summary>
    /// Frees every block of an explicit arena at once (arena.&lt;i&gt;.reset). Blocks of the arena held in
    /// explicit thread caches are dropped. Using a block of the arena afterwards is an error; in checked
    /// mode a free of such a block throws <see cref="HeapMisuseException"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The arena is automatic (only explicit arenas can be reset).</exception>
    public static void ResetArena(int index) => ResetCore(index, destroy: false);

    /// <summary>Resets an explicit arena and removes it (arena.&lt;i&gt;.destroy); its index may be reused by <see cref="CreateArena"/>.</summary>
    /// <exception cref="InvalidOperationException">A thread's arena is this one (thread.arena); jemalloc refuses with EFAULT.</exception>
    public static void DestroyArena(int index) => ResetCore(index, destroy: true);

    private static void ResetCore(int index, bool destroy)
    {
        Arena* a = ArenaForIndex(index);
        if (a->Explicit == 0 || index == s_oversizeArena) throw new ArgumentException($"NativeHeap: arena {index} is automatic; only arenas made by CreateArena can be reset or destroyed", nameof(index));
        if (destroy && Volatile.Read(ref a->NThreads) != 0)
            throw new InvalidOperationException($"NativeHeap: arena {index} is the arena of {a->NThreads} thread(s) (thread.arena); move them before destroying it");
        // The calling thread's own cache may hold blocks of the arena (thread.arena set to it).
        if (t_cache != null) ThreadCache.DropArena(t_cache, a);
        if (Volatile.Read(ref Profiling.SamplerGate.LiveSamples) != 0) Profiling.Sampler.ForgetArena(a);
        lock (s_arenaLock)
        {
            for (int i = 0; i < MaxThreadCaches; i++)
                if (s_explicitCaches[i] != null) ThreadCache.DropArena(s_explicitCaches[i], a);
        }
        for (int i = 0; i < SizeClasses.NBins; i++) Arena.BinOf(a, i)->Lock.Enter();
        a->Lock.Enter();
        while (a->Purging != 0)
        {
            // A purge from another thread (Purge, Decay, the background thread) dropped the arena lock
            // around its source calls and will put its runs back into these chunks: let it finish.
            a->Lock.Exit();
            for (int i = SizeClasses.NBins - 1; i >= 0; i--) Arena.BinOf(a, i)->Lock.Exit();
            Thread.Sleep(0);
            for (int i = 0; i < SizeClasses.NBins; i++) Arena.BinOf(a, i)->Lock.Enter();
            a->Lock.Enter();
        }
        Chunk* chunks = a->Chunks, huge = a->HugeList;
        Chunk* retained = HugeCache.Detach(a);
        a->Chunks = a->HugeList = null;
        a->NChunks = 0;
        a->EmptyChunks = 0;
        a->Dirty = default;
        a->Muzzy = default;
        a->Clean = default;
        a->MappedBytes = a->ActivePages = a->HugeBytes = a->HugeCount = 0;
        for (int i = 0; i < Arena.NLarge; i++) a->LargeCur[i] = 0;
        if (destroy) a->Destroyed = 1;
        for (int i = 0; i < SizeClasses.NBins; i++)
        {
            Bin* b = Arena.BinOf(a, i);
            b->Current = b->Nonfull = null;
            b->CurRegs = b->CurSlabs = 0;
        }
        a->Lock.Exit();
        for (int i = SizeClasses.NBins - 1; i >= 0; i--) Arena.BinOf(a, i)->Lock.Exit();

        while (huge != null)
        {
            Chunk* next = huge->Next;
            Huge.Release(huge);
            huge = next;
        }
        HugeCache.Release(retained);
        while (chunks != null)
        {
            Chunk* next = chunks->Next;
            FreeSlabBitmaps(chunks);
            // Checked mode, and the free checks for chunks of the OS source (a source of the user's may
            // need its memory back at once): keep the header so a stale free is recognised.
            if (s_checked || (ThreadCache.FreeChecks && chunks->SourceId == 0)) Quarantine(chunks);
            else
            {
                PageMap.Set(chunks, Chunk.Size, null);
                MemorySources.Get(chunks->SourceId).TryRelease(chunks, Chunk.Size);
            }
            chunks = next;
        }
    }

    private static void FreeSlabBitmaps(Chunk* c)
    {
        for (uint i = Chunk.HeaderPages; i < Chunk.PagesPerChunk;)
        {
            PageDesc* d = &c->Pages[i];
            if (d->Pages == 0) break;
            if (d->Kind == PageKind.Slab && d->Live != null)
            {
                MetaAlloc.Free(d->Live, (nuint)((SizeClasses.s_slabRegs[d->Bin] + 63) / 64 * 8));
                d->Live = null;
            }
            i += d->Pages;
        }
    }

    /// <summary>
    /// Keeps a reset chunk's first page mapped (its PageBin is all 0 and Quarantined is set, so a stale
    /// free is recognised as one) and the rest inaccessible, for the next 63 chunks that are reset; then
    /// it goes back to its source. The address cannot be reused meanwhile, so a stale pointer into a
    /// reset arena never lands in a newer block.
    /// </summary>
    private static void Quarantine(Chunk* c)
    {
        IMemorySource source = MemorySources.Get(c->SourceId);
        nuint keep = (nuint)OsMemory.PageSize;   // the page-0 fields: PageBin, Arena, Kind, Quarantined, SourceId
        NativeMemory.Clear(c->PageBin, Chunk.PagesPerChunk);
        source.TryDecommit((byte*)c + keep, Chunk.Size - keep);
        c->Quarantined = 1;
        Chunk* evicted;
        lock (s_arenaLock)
        {
            int slot = s_quarantineNext++ % s_quarantine.Length;
            evicted = s_quarantine[slot];
            s_quarantine[slot] = c;
        }
        if (evicted != null)
        {
            PageMap.Set(evicted, Chunk.Size, null);
            MemorySources.Get(evicted->SourceId).TryRelease(evicted, Chunk.Size);
        }
    }

    /// <summary>
    /// Returns unused memory to the OS now (arena.&lt;i&gt;.purge for every arena): flushes the calling
    /// thread's cache and the caches of exited threads, purges every dirty and muzzy page, and unmaps
    /// empty chunks.
    /// </summary>
    public static void Purge()
    {
        EnsureInitialized();
        FlushCurrentThreadCache();
        ReclaimExitedCaches();
        int n = Volatile.Read(ref s_arenaCount);
        for (int i = 0; i < n; i++)
        {
            Arena* a = s_arenas[i];
            if (a == null || a->Destroyed != 0) continue;
            PurgeOne(a);
        }
        SparePool.Release(long.MaxValue);
        if (s_sharded)
        {
            if (ShardedHeap.CurrentThreadHasHeap) ShardedHeap.Collect();    // the caller's empty pages go to the pool first
            SegmentPool.Purge();
        }
    }

    private static void PurgeOne(Arena* a)
    {
        a->Lock.Enter();
        Arena.PurgeAllLocked(a);
        a->Lock.Exit();
    }

    /// <summary>Purges one arena's unused pages now (arena.&lt;i&gt;.purge).</summary>
    public static void PurgeArena(int index)
    {
        PurgeOne(ArenaForIndex(index));
    }

    /// <summary>Purges what decay says is due now, in every arena (arena.&lt;i&gt;.decay).</summary>
    public static void Decay()
    {
        EnsureInitialized();
        ReclaimExitedCaches();
        long now = HeapClock.Now();
        int n = Volatile.Read(ref s_arenaCount);
        for (int i = 0; i < n; i++)
        {
            Arena* a = s_arenas[i];
            if (a == null || a->Destroyed != 0) continue;
            a->Lock.Enter();
            Arena.DecayLocked(a, now);
            a->Lock.Exit();
        }
        if (s_sharded) SegmentPool.Decay(now);
    }

    /// <summary>Gets an arena's decay times in ms (arena.&lt;i&gt;.dirty_decay_ms / muzzy_decay_ms).</summary>
    public static (long DirtyMs, long MuzzyMs) GetArenaDecay(int index)
    {
        Arena* a = ArenaForIndex(index);
        return (a->DirtyDecayMs, a->MuzzyDecayMs);
    }

    /// <summary>Sets an arena's decay times in ms; -1 disables purging, 0 purges at once.</summary>
    public static void SetArenaDecay(int index, long dirtyMs, long muzzyMs)
    {
        if (dirtyMs < -1 || muzzyMs < -1) throw new ArgumentOutOfRangeException(nameof(dirtyMs), "decay times must be -1 or more");
        Arena* a = ArenaForIndex(index);
        a->Lock.Enter();
        a->DirtyDecayMs = dirtyMs;
        a->MuzzyDecayMs = muzzyMs;
        Arena.DecayLocked(a, HeapClock.Now());
        if (dirtyMs == 0) Arena.PurgeLocked(a, RunState.Dirty, long.MaxValue);
        a->Lock.Exit();
    }

    // ---- thread caches ---------------------------------------------------------------------------

    /// <summary>Returns everything in the calling thread's cache to the arenas (thread.tcache.flush).</summary>
    public static void FlushCurrentThreadCache()
    {
        ThreadCache* tc = t_cache;
        if (tc != null) ThreadCache.FlushAll(tc);
    }

    /// <summary>Whether the calling thread uses its cache (thread.tcache.enabled).</summary>
    public static bool CurrentThreadCacheEnabled
    {
        get
        {
            ThreadCache* tc = CurrentCacheOrThrow();
            return ThreadCache.CapOf(tc, 0) != 0;
        }
        set
        {
            ThreadCache* old = CurrentCacheOrThrow();
            bool now = ThreadCache.CapOf(old, 0) != 0;
            if (now == value || (value && !s_cacheEnabled)) return;
            ThreadCache* tc = ThreadCache.Create(old->Arena, -1, value);
            if (tc == null) throw new OutOfMemoryException("NativeHeap: cannot create a thread cache");
            tc->Allocated = old->Allocated;
            tc->Deallocated = old->Deallocated;
            if (!TryInstallCache(tc))
            {
                MetaAlloc.Free(tc, tc->BlockBytes);
                throw new InvalidOperationException("NativeHeap: cannot set up the thread's new cache");
            }
            UninstallCache(old);
        }
    }

    /// <summary>
    /// The calling thread's arena index (thread.arena): any existing arena, automatic or made by
    /// <see cref="CreateArena"/> (as jemalloc). With an explicit arena the thread's cache keeps blocks
    /// of it; flush the cache (thread.tcache.flush) before resetting that arena, and move the thread
    /// elsewhere before destroying it (destroying an arena threads are attached to fails).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The arena does not exist.</exception>
    public static int CurrentThreadArena
    {
        get => CurrentCacheOrThrow()->Arena->Index;
        set
        {
            Arena* a = ArenaForIndex(value);
            ThreadCache* tc = CurrentCacheOrThrow();
            if (tc->Arena == a) return;
            ThreadCache.FlushAll(tc);
            Interlocked.Decrement(ref tc->Arena->NThreads);
            tc->Arena = a;
            Interlocked.Increment(ref a->NThreads);
        }
    }

    /// <summary>Creates an explicit thread cache (tcache.create) and returns its id for <see cref="MallocFlags.ThreadCache"/>.</summary>
    /// <remarks>An explicit cache may be used by one thread at a time; the caller synchronises.</remarks>
    public static int CreateThreadCache()
    {
        EnsureInitialized();
        lock (s_arenaLock)
        {
            for (int i = 0; i < MaxThreadCaches; i++)
            {
                if (s_explicitCaches[i] != null) continue;
                ThreadCache* tc = ThreadCache.Create(GetOrCreateAutomatic(0), i, s_cacheEnabled);
                if (tc == null) throw new OutOfMemoryException("NativeHeap: cannot create a thread cache");
                s_explicitCaches[i] = tc;
                return i;
            }
        }
        throw new InvalidOperationException($"NativeHeap: all {MaxThreadCaches} explicit thread caches are in use");
    }

    /// <summary>Returns everything in an explicit cache to the arenas (tcache.flush).</summary>
    public static void FlushThreadCache(int id) => ThreadCache.FlushAll(ExplicitCache(id));

    /// <summary>Flushes and destroys an explicit cache (tcache.destroy); its id may be reused.</summary>
    public static void DestroyThreadCache(int id)
    {
        ThreadCache* tc = ExplicitCache(id);
        lock (s_arenaLock) s_explicitCaches[id] = null;
        ThreadCache.Destroy(tc);
    }

    internal static ThreadCache* ExplicitCache(int id)
    {
        EnsureInitialized();
        ThreadCache* tc = (uint)id < MaxThreadCaches ? s_explicitCaches[id] : null;
        if (tc == null) throw new ArgumentOutOfRangeException(nameof(id), $"NativeHeap: thread cache {id} does not exist");
        return tc;
    }

    // ---- background purging ----------------------------------------------------------------------

    private static volatile bool s_backgroundEnabled;
    private static Thread? s_backgroundThread;

    /// <summary>
    /// Whether a background thread applies decay every second (background_thread). Setting it at run
    /// time starts or stops the thread.
    /// </summary>
    public static bool BackgroundThreadEnabled
    {
        get => s_backgroundEnabled;
        set
        {
            EnsureInitialized();
            lock (s_arenaLock)
            {
                s_backgroundEnabled = value;
                if (value && s_backgroundThread == null) StartBackgroundThread();
            }
        }
    }

    private static void StartBackgroundThread()
    {
        s_backgroundEnabled = true;
        var t = new Thread(() =>
        {
            while (s_backgroundEnabled)
            {
                Thread.Sleep(1000);
                if (s_backgroundEnabled)
                {
                    s_backgroundLock->Enter();
                    Decay();
                    s_backgroundRuns++;
                    s_backgroundLock->Exit();
                }
            }
            lock (s_arenaLock)
            {
                s_backgroundThread = null;
                // Re-enabled while this thread was leaving: start a fresh one.
                if (s_backgroundEnabled) StartBackgroundThread();
            }
        })
        {
            IsBackground = true,
            Name = "NativeHeap background purge",
        };
        s_backgroundThread = t;
        t.Start();
    }

    /// <summary>True when arena <paramref name="index"/> exists (created and not destroyed).</summary>
    public static bool ArenaExists(int index)
    {
        EnsureInitialized();
        if ((uint)index >= (uint)Volatile.Read(ref s_arenaCount)) return false;
        if (index < s_autoArenas) return true;
        Arena* a = s_arenas[index];
        return a != null && a->Destroyed == 0;
    }

    /// <summary>The memory source arena <paramref name="index"/> takes new chunks and huge blocks from (arena.&lt;i&gt;.extent_hooks).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The arena does not exist.</exception>
    public static IMemorySource GetArenaMemorySource(int index) => MemorySources.Get(ArenaForIndex(index)->SourceId);

    /// <summary>
    /// Replaces the memory source of an arena for memory it obtains from now on; memory already
    /// obtained is still returned to the source that provided it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The arena does not exist.</exception>
    public static void SetArenaMemorySource(int index, IMemorySource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Arena* a = ArenaForIndex(index);
        int id = MemorySources.Register(source);
        a->Lock.Enter();
        a->SourceId = id;
        a->Lock.Exit();
    }
}
