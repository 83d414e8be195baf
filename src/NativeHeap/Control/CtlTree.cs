// CtlTree: the control namespace declared as data — one line per leaf. Names follow jemalloc's
// mallctl namespace wherever the concept exists (see docs/control.md for the list and types).
//
// Terms: a path such as "stats.arenas.<i>.bins.<j>.nmalloc" declares a leaf; "<i>"/"<j>" are indexed
// components whose valid values are declared with Index(...). Statistics leaves read the snapshot
// taken at the last epoch refresh (HeapControl.Snapshot), so a set of reads between two refreshes is
// consistent; everything else reads live state.
// Invariants: every path is declared once; every indexed component has an index check.
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Control;

internal delegate ulong CtlGet(ReadOnlySpan<nuint> index);
internal delegate string CtlGetString(ReadOnlySpan<nuint> index);
internal delegate void CtlSet(ReadOnlySpan<nuint> index, ulong value);
internal delegate void CtlAct(ReadOnlySpan<nuint> index);

internal static unsafe partial class CtlTree
{
    internal static readonly CtlNode Root = Build();

    private static CtlNode Build()
    {
        var t = new Builder();

        t.Ro("version", CtlType.String, _ => HeapControl.Version, "NativeHeap's version");
        t.Leaf("epoch", CtlType.UInt64, CtlAccess.ReadWrite, Epoch, "write anything to refresh the statistics snapshot; reads the current epoch");
        t.Rw("background_thread", CtlType.Bool, _ => B(Heap.BackgroundThreadEnabled), (_, v) => Heap.BackgroundThreadEnabled = v != 0,
            "whether the background purging thread runs");

        // opt.*: every option, read-only (the values in force after NATIVEHEAP_CONF).
        t.Ro("opt.dirty_decay_ms", CtlType.SSize, _ => (ulong)Heap.Options.DirtyDecayMs, "option dirty_decay_ms (README, Options)");
        t.Ro("opt.muzzy_decay_ms", CtlType.SSize, _ => (ulong)Heap.Options.MuzzyDecayMs, "option muzzy_decay_ms");
        t.Ro("opt.narenas", CtlType.UInt32, _ => (ulong)Heap.AutomaticArenaCount, "number of automatic arenas (narenas, resolved)");
        t.Ro("opt.tcache", CtlType.Bool, _ => B(Heap.Options.ThreadCache), "option tcache");
        t.Ro("opt.tcache_max", CtlType.Size, _ => Heap.Options.ThreadCacheMax, "option tcache_max");
        t.Ro("opt.checked", CtlType.Bool, _ => B(Heap.Options.Checked), "option checked");
        t.Ro("opt.core", CtlType.String, _ => Heap.ActiveCore == HeapCore.Sharded ? "sharded" : "jemalloc", "core behind the plain calls: \"jemalloc\" or \"sharded\" (core v2, docs/core-v2.md), fixed at start");
        t.Ro("opt.junk", CtlType.String, _ => HeapOptions.JunkName(Heap.Options.Junk), "junk: \"true\", \"false\", \"alloc\" or \"free\"");
        t.Ro("opt.zero", CtlType.Bool, _ => B(Heap.Options.Zero), "option zero");
        t.Ro("opt.oom", CtlType.String, _ => HeapOptions.OomName(Heap.Options.Oom), "oom: \"null\", \"throw\" or \"abort\"");
        t.Ro("opt.xmalloc", CtlType.Bool, _ => B(Heap.Options.Oom == OomBehavior.Abort), "xmalloc (oom:abort)");
        t.Ro("opt.background_thread", CtlType.Bool, _ => B(Heap.Options.BackgroundThread), "background_thread at start");
        t.Ro("opt.stats_print", CtlType.Bool, _ => B(Heap.Options.StatsPrint), "option stats_print");
        t.Ro("opt.stats_print_opts", CtlType.String, _ => Heap.Options.StatsPrintOptions, "option stats_print_opts");

        // arenas.*: constants and arena creation.
        t.Ro("arenas.narenas", CtlType.UInt32, _ => (ulong)Heap.ArenaCount, "arena slots in use (automatic + explicit, destroyed ones included)");
        t.Leaf("arenas.create", CtlType.UInt32, CtlAccess.ReadWrite, CreateArena, "read: creates an explicit arena and returns its index; the value written (optional) is an extent_hooks_t* for it", CtlType.Pointer);
        t.Ro("arenas.page", CtlType.Size, _ => (ulong)OsMemory.PageSize, "page size");
        t.Ro("arenas.quantum", CtlType.Size, _ => (ulong)SizeClasses.Quantum, "quantum (alignment of blocks of 16 bytes and more)");
        t.Ro("arenas.tcache_max", CtlType.Size, _ => Heap.ThreadCacheMaxSize, "largest cached size class");
        t.Ro("arenas.nhbins", CtlType.UInt32, _ => (ulong)Heap.CachedClassCount, "size classes thread caches hold");
        t.Ro("arenas.nbins", CtlType.UInt32, _ => SizeClasses.NBins, "small size classes");
        t.Index("arenas.bin", (_, i) => i < SizeClasses.NBins);
        t.Ro("arenas.bin.<i>.size", CtlType.Size, x => SizeClasses.s_sizes[(int)x[0]], "region size of small class i");
        t.Ro("arenas.bin.<i>.nregs", CtlType.UInt32, x => SizeClasses.s_slabRegs[(int)x[0]], "regions per slab");
        t.Ro("arenas.bin.<i>.slab_size", CtlType.Size, x => (ulong)SizeClasses.s_slabPages[(int)x[0]] * OsMemory.PageSize, "slab size");
        t.Ro("arenas.nlextents", CtlType.UInt32, _ => Arena.NLarge, "large size classes (16 KiB to 7 × 2^60)");
        t.Index("arenas.lextent", (_, i) => i < Arena.NLarge);
        t.Ro("arenas.lextent.<i>.size", CtlType.Size, x => SizeClasses.s_sizes[SizeClasses.NBins + (int)x[0]], "size of large class i");
        t.Leaf("arenas.lookup", CtlType.UInt32, CtlAccess.ReadWrite, Lookup, "write a pointer (void *), read back the index of the arena that owns it", CtlType.Pointer);

        // arena.<i>.*: actions and settings of one arena (MALLCTL_ARENAS_ALL = 4096 for purge/decay).
        t.Index("arena", (_, i) => i == HeapControl.ArenasAll || (i < Heap.MaxArenas && Heap.ArenaExists((int)i)));
        t.Act("arena.<i>.purge", x => { if (All(x)) Heap.Purge(); else Heap.PurgeArena(A(x)); }, "purge all unused dirty and muzzy pages now");
        t.Act("arena.<i>.decay", x => { if (All(x)) Heap.Decay(); else Heap.DecayArena(A(x)); }, "purge what the decay schedule says is due");
        t.Act("arena.<i>.reset", x => Heap.ResetArena(NotAll(x)), "free every block of an explicit arena");
        t.Leaf("arena.<i>.destroy", CtlType.Void, CtlAccess.Execute, DestroyArena, "reset and destroy an explicit arena (EFAULT while a thread's arena is this one)");
        t.Rw("arena.<i>.dirty_decay_ms", CtlType.SSize, x => (ulong)GetDecay(x).Dirty, (x, v) => SetDecay(x, (long)v, null),
            "dirty decay time of the arena (ms; -1 never); for 4096, the default read and every arena written");
        t.Rw("arena.<i>.muzzy_decay_ms", CtlType.SSize, x => (ulong)GetDecay(x).Muzzy, (x, v) => SetDecay(x, null, (long)v),
            "muzzy decay time of the arena (ms; -1 never); for 4096, the default read and every arena written");
        t.Rw("arena.<i>.extent_hooks", CtlType.Pointer, x => (ulong)ExtentHooks.TableFor(All(x) ? Heap.GetArenaMemorySource(0) : Heap.GetArenaMemorySource(A(x))),
            (x, v) => SetHooks(NotAll(x), (nint)v), "the arena's extent_hooks_t* (memory source); 4096 reads the automatic arenas' hooks");

        // thread.*: the calling thread.
        t.Rw("thread.arena", CtlType.UInt32, _ => (ulong)Heap.CurrentThreadArena, (_, v) => Heap.CurrentThreadArena = v <= int.MaxValue ? (int)v : throw new ArgumentOutOfRangeException(nameof(v)),
            "the thread's arena: any initialised arena, automatic or made by arenas.create");
        t.Ro("thread.allocated", CtlType.UInt64, _ => Heap.ThreadAllocatedBytes, "bytes the thread allocated (usable sizes)");
        t.Ro("thread.allocatedp", CtlType.Pointer, _ => (ulong)Heap.ThreadAllocatedPointer, "uint64_t* to the thread's allocated counter");
        t.Ro("thread.deallocated", CtlType.UInt64, _ => Heap.ThreadDeallocatedBytes, "bytes the thread freed (usable sizes)");
        t.Ro("thread.deallocatedp", CtlType.Pointer, _ => (ulong)Heap.ThreadDeallocatedPointer, "uint64_t* to the thread's deallocated counter");
        t.Rw("thread.tcache.enabled", CtlType.Bool, _ => B(Heap.CurrentThreadCacheEnabled), (_, v) => Heap.CurrentThreadCacheEnabled = v != 0, "whether the thread's cache is used");
        t.Act("thread.tcache.flush", _ => Heap.FlushCurrentThreadCache(), "return the thread's cached blocks to their arenas");

        // tcache.*: explicit caches.
        t.Ro("tcache.create", CtlType.UInt32, _ => (ulong)Heap.CreateThreadCache(), "creates an explicit thread cache and returns its id");
        t.Wo("tcache.flush", CtlType.UInt32, (_, v) => Heap.FlushThreadCache((int)(uint)v), "flushes the explicit cache written");
        t.Wo("tcache.destroy", CtlType.UInt32, (_, v) => Heap.DestroyThreadCache((int)(uint)v), "flushes and destroys the explicit cache written");

        // stats.*: the snapshot of the last epoch.
        t.Ro("stats.allocated", CtlType.Size, _ => (ulong)Snap.Stats.Allocated, "bytes in live blocks (usable sizes, cached blocks included)");
        t.Ro("stats.active", CtlType.Size, _ => (ulong)Snap.Stats.Active, "bytes in active pages");
        t.Ro("stats.metadata", CtlType.Size, _ => (ulong)Snap.Stats.Metadata, "bytes of metadata");
        t.Ro("stats.resident", CtlType.Size, _ => (ulong)Snap.Stats.Resident, "bytes resident (estimate: active, dirty, muzzy, metadata)");
        t.Ro("stats.mapped", CtlType.Size, _ => (ulong)Snap.Stats.Mapped, "bytes mapped");
        t.Ro("stats.retained", CtlType.Size, _ => (ulong)Snap.Stats.Retained, "bytes of address space kept for reuse: purged retained huge extents (opt.retain), not in stats.mapped");
        t.Ro("stats.spare_chunks", CtlType.Size, _ => (ulong)Snap.Stats.SpareChunks, "wholly free 4 MiB chunks pooled between automatic arenas");
        t.Ro("stats.spare_clean_chunks", CtlType.Size, _ => (ulong)Snap.Stats.SpareCleanChunks, "pooled chunks whose pages are all purged");
        t.Ro("stats.nthreads", CtlType.UInt32, _ => (ulong)Snap.Threads, "threads with a cache");
        t.Index("stats.arenas", (_, i) => Snap.Arena((int)Math.Min(i, int.MaxValue)) != null);
        t.SA("nthreads", CtlType.UInt32, a => a.Threads);
        t.SA("dirty_decay_ms", CtlType.SSize, a => a.DirtyDecayMs);
        t.SA("muzzy_decay_ms", CtlType.SSize, a => a.MuzzyDecayMs);
        t.SA("pactive", CtlType.Size, a => a.ActivePages);
        t.SA("pdirty", CtlType.Size, a => a.DirtyPages);
        t.SA("pmuzzy", CtlType.Size, a => a.MuzzyPages);
        t.SA("pclean", CtlType.Size, a => a.CleanPages);
        t.SA("mapped", CtlType.Size, a => a.Mapped);
        t.SA("retained", CtlType.Size, a => a.Retained);
        t.SA("resident", CtlType.Size, StatsModel.ArenaResident);
        t.SA("nchunks", CtlType.Size, a => a.Chunks);
        t.SA("dirty_npurge", CtlType.UInt64, a => a.PurgePasses - a.MuzzyPurgePasses);
        t.SA("dirty_nmadvise", CtlType.UInt64, a => a.PurgeCalls - a.MuzzyPurgeCalls);
        t.SA("dirty_purged", CtlType.UInt64, a => a.PurgedPages - a.MuzzyPurgedPages);
        t.SA("small.allocated", CtlType.Size, a => a.SmallAllocated);
        t.SA("small.nmalloc", CtlType.UInt64, a => a.SmallNMalloc);
        t.SA("small.ndalloc", CtlType.UInt64, a => a.SmallNDalloc);
        t.SA("small.nrequests", CtlType.UInt64, a => a.SmallNRequests);
        t.SA("large.allocated", CtlType.Size, a => a.LargeAllocated);
        t.SA("large.nmalloc", CtlType.UInt64, a => a.LargeNMalloc);
        t.SA("large.ndalloc", CtlType.UInt64, a => a.LargeNDalloc);
        t.SA("huge.allocated", CtlType.Size, a => a.HugeAllocated);
        t.SA("huge.nmalloc", CtlType.UInt64, a => a.HugeNMalloc);
        t.SA("huge.ndalloc", CtlType.UInt64, a => a.HugeNDalloc);
        t.SA("huge.curhuge", CtlType.Size, a => a.HugeCount);
        t.Index("stats.arenas.<i>.bins", (_, j) => j < SizeClasses.NBins);
        t.SB("nmalloc", CtlType.UInt64, b => b.NMalloc);
        t.SB("ndalloc", CtlType.UInt64, b => b.NDalloc);
        t.SB("nrequests", CtlType.UInt64, b => b.NRequests);
        t.SB("curregs", CtlType.Size, b => b.CurRegs);
        t.SB("curslabs", CtlType.Size, b => b.CurSlabs);
        t.SB("nslabs", CtlType.UInt64, b => b.NSlabs);
        t.SB("nfills", CtlType.UInt64, b => b.NFills);
        t.SB("nflushes", CtlType.UInt64, b => b.NFlushes);
        t.Index("stats.arenas.<i>.lextents", (_, j) => j < Arena.NLarge);
        t.SL("nmalloc", CtlType.UInt64, l => l.NMalloc);
        t.SL("ndalloc", CtlType.UInt64, l => l.NDalloc);
        t.SL("curlextents", CtlType.Size, l => l.CurExtents);

        // Memory kinds (NativeHeap.Kinds): kinds.* (count, lookup), kind.<i>.* (name, actions),
        // stats.kinds.<i>.* (statistics of the snapshot) — the shape of arenas.*, arena.<i>.*, stats.arenas.<i>.*.
        t.Ro("kinds.count", CtlType.UInt32, _ => (ulong)Snap.Kinds.Count, "memory kinds alive at the last epoch");
        t.Leaf("kinds.lookup", CtlType.UInt32, CtlAccess.ReadWrite, KindLookup, "write a pointer (void *), read back the id of its memory kind", CtlType.Pointer);
        t.Index("kind", (_, i) => i <= int.MaxValue && Snap.Kind((int)i) != null);
        t.Ro("kind.<i>.name", CtlType.String, x => K(x).Name, "the kind's name");
        t.Ro("kind.<i>.last_error", CtlType.String, x => K(x).LastError ?? "", "the kind's last memory-source failure (empty when none)");
        t.Act("kind.<i>.purge", x => (MemoryKind.FromId((int)x[0]) ?? throw new ArgumentOutOfRangeException(nameof(x), "kind destroyed")).Purge(),
            "purge the kind's unused pages now");
        t.Index("stats.kinds", (_, i) => i <= int.MaxValue && Snap.Kind((int)i) != null);
        t.SK("arenas", CtlType.UInt32, k => k.Arenas);
        t.SK("nthreads", CtlType.UInt32, k => k.ThreadCaches);
        t.SK("allocated", CtlType.Size, k => k.Allocated);
        t.SK("active", CtlType.Size, k => k.Active);
        t.SK("resident", CtlType.Size, k => k.Resident);
        t.SK("mapped", CtlType.Size, k => k.Mapped);
        t.SK("pdirty", CtlType.Size, k => k.DirtyPages);
        t.SK("pmuzzy", CtlType.Size, k => k.MuzzyPages);
        t.SK("purged", CtlType.UInt64, k => k.PurgedPages);
        t.SK("curhuge", CtlType.Size, k => k.HugeBlocks);
        t.SK("source_allocations", CtlType.UInt64, k => k.SourceAllocations);
        t.SK("source_failures", CtlType.UInt64, k => k.SourceFailures);
        t.SK("dirty_decay_ms", CtlType.SSize, k => k.DirtyDecayMs);
        t.SK("muzzy_decay_ms", CtlType.SSize, k => k.MuzzyDecayMs);
        DeclareJemalloc(t);
        DeclareProf(t);
        return t.Root;
    }

    private static StatsModel Snap => HeapControl.Snapshot;

    private static KindStats K(ReadOnlySpan<nuint> x) => Snap.Kind((int)x[0])!;

    private static CtlStatus KindLookup(ref CtlCall c)
    {
        if (!c.HasNew) return CtlStatus.Invalid;
        MemoryKind? kind = MemoryKind.DetectKind((void*)c.New);
        if (kind == null) return CtlStatus.Invalid;
        c.Old = (ulong)kind.Id;
        return CtlStatus.Ok;
    }

    private static ulong B(bool b) => b ? 1UL : 0UL;

    private static bool All(ReadOnlySpan<nuint> x) => x[0] == HeapControl.ArenasAll;

    private static int A(ReadOnlySpan<nuint> x) => (int)x[0];

    private static int NotAll(ReadOnlySpan<nuint> x)
        => All(x) ? throw new ArgumentOutOfRangeException(nameof(x), "NativeHeap: this node does not accept MALLCTL_ARENAS_ALL") : (int)x[0];

    private static CtlStatus Epoch(ref CtlCall c)
    {
        if (c.HasNew) HeapControl.RefreshStats();
        c.Old = HeapControl.Snapshot.Epoch;
        return CtlStatus.Ok;
    }

    private static CtlStatus DestroyArena(ref CtlCall c)
    {
        if (c.WantOld || c.HasNew) return CtlStatus.ReadOnly;
        int arena = NotAll(c.Index);
        if (Heap.ArenaThreadCount(arena) != 0) return CtlStatus.Fault;   // jemalloc: EFAULT while threads use it
        Heap.DestroyArena(arena);
        return CtlStatus.Ok;
    }

    private static CtlStatus CreateArena(ref CtlCall c)
    {
        IMemorySource? source = c.HasNew && c.New != 0 ? ExtentHooks.SourceFor((nint)c.New) : null;
        int index = Heap.CreateArena(source);
        if (source is CExtentHooksSource cs) cs.ArenaIndex = (uint)index;
        c.Old = (ulong)index;
        return CtlStatus.Ok;
    }

    private static (long Dirty, long Muzzy) GetDecay(ReadOnlySpan<nuint> x)
    {
        if (!All(x)) return Heap.GetArenaDecay(A(x));
        HeapOptions o = Heap.Options;
        return (o.DirtyDecayMs, o.MuzzyDecayMs);
    }

    private static void SetDecay(ReadOnlySpan<nuint> x, long? dirty, long? muzzy)
    {
        // jemalloc answers EFAULT for a decay time below -1 (arena_decay_ms_set fails).
        if (dirty < -1 || muzzy < -1) throw new CtlFaultException("NativeHeap: decay times must be -1 or more");
        if (!All(x))
        {
            (long d, long m) = Heap.GetArenaDecay(A(x));
            Heap.SetArenaDecay(A(x), dirty ?? d, muzzy ?? m);
            return;
        }
        for (int i = 0; i < Heap.ArenaCount; i++)
        {
            if (!Heap.ArenaExists(i)) continue;
            (long d, long m) = Heap.GetArenaDecay(i);
            Heap.SetArenaDecay(i, dirty ?? d, muzzy ?? m);
        }
    }

    private static void SetHooks(int arena, nint table)
    {
        IMemorySource source = ExtentHooks.SourceFor(table);
        if (source is CExtentHooksSource cs) cs.ArenaIndex = (uint)arena;
        Heap.SetArenaMemorySource(arena, source);
    }

    private static CtlStatus Lookup(ref CtlCall c)
    {
        if (!c.HasNew) return CtlStatus.Invalid;
        int arena = Heap.ArenaOf((void*)c.New);
        if (arena < 0) return CtlStatus.Invalid;
        c.Old = (ulong)arena;
        return CtlStatus.Ok;
    }

    /// <summary>Declares leaves by path; builds the tree.</summary>
    internal sealed class Builder(CtlNode root)
    {
        public Builder() : this(new CtlNode("")) { }

        public CtlNode Root { get; } = root;

        public void Leaf(string path, CtlType type, CtlAccess access, CtlHandler handler, string doc, CtlType? newType = null)
        {
            CtlNode n = NodeAt(path, create: true)!;
            if (n.IsLeaf || n.Children.Count != 0 || n.Indexed != null) throw new InvalidOperationException($"control node {path} declared twice or inside a leaf");
            n.Type = type;
            n.Access = access;
            n.Handler = handler;
            n.Doc = doc;
            n.NewType = newType;
        }

        public void Ro(string path, CtlType type, CtlGet get, string doc)
            => Leaf(path, type, CtlAccess.Read, (ref CtlCall c) =>
            {
                if (c.HasNew) return CtlStatus.ReadOnly;
                c.Old = get(c.Index);
                return CtlStatus.Ok;
            }, doc);

        public void Ro(string path, CtlType type, CtlGetString get, string doc)
            => Leaf(path, type, CtlAccess.Read, (ref CtlCall c) =>
            {
                if (c.HasNew) return CtlStatus.ReadOnly;
                c.OldString = get(c.Index);
                return CtlStatus.Ok;
            }, doc);

        public void Rw(string path, CtlType type, CtlGet get, CtlSet set, string doc)
            => Leaf(path, type, CtlAccess.ReadWrite, (ref CtlCall c) =>
            {
                if (c.WantOld) c.Old = get(c.Index);
                if (c.HasNew) set(c.Index, c.New);
                return CtlStatus.Ok;
            }, doc);

        public void Wo(string path, CtlType type, CtlSet set, string doc)
            => Leaf(path, type, CtlAccess.Write, (ref CtlCall c) =>
            {
                if (c.WantOld) return CtlStatus.ReadOnly;
                if (!c.HasNew) return CtlStatus.Invalid;
                set(c.Index, c.New);
                return CtlStatus.Ok;
            }, doc);

        public void Act(string path, CtlAct act, string doc)
            => Leaf(path, CtlType.Void, CtlAccess.Execute, (ref CtlCall c) =>
            {
                if (c.WantOld || c.HasNew) return CtlStatus.ReadOnly;
                act(c.Index);
                return CtlStatus.Ok;
            }, doc);

        /// <summary>A per-arena statistic under stats.arenas.&lt;i&gt;.</summary>
        public void SA(string name, CtlType type, Func<ArenaStats, long> get)
            => Ro("stats.arenas.<i>." + name, type, x => (ulong)get(HeapControl.Snapshot.Arena((int)x[0])!), "per-arena statistic " + name);

        /// <summary>A per-bin statistic under stats.arenas.&lt;i&gt;.bins.&lt;j&gt;.</summary>
        public void SB(string name, CtlType type, Func<BinStats, long> get)
            => Ro("stats.arenas.<i>.bins.<j>." + name, type, x => (ulong)get(HeapControl.Snapshot.Arena((int)x[0])!.Bins[(int)x[1]]), "per-bin statistic " + name);

        /// <summary>A per-large-class statistic under stats.arenas.&lt;i&gt;.lextents.&lt;j&gt;.</summary>
        public void SL(string name, CtlType type, Func<LargeStats, long> get)
            => Ro("stats.arenas.<i>.lextents.<j>." + name, type,
                x => (ulong)get(HeapControl.Snapshot.Arena((int)x[0])!.LargeClass((int)x[1], (long)SizeClasses.s_sizes[SizeClasses.NBins + (int)x[1]])),
                "per-large-class statistic " + name);

        /// <summary>A free-run statistic under stats.arenas.&lt;i&gt;.extents.&lt;j&gt; (null list: always 0, e.g. retained).</summary>
        public void SE(string name, Func<ArenaStats, IReadOnlyList<long>?> get)
            => Ro("stats.arenas.<i>.extents.<j>." + name, CtlType.Size, x =>
            {
                IReadOnlyList<long>? l = get(HeapControl.Snapshot.Arena((int)x[0])!);
                return l == null || (int)x[1] >= l.Count ? 0 : (ulong)l[(int)x[1]];
            }, name == "nretained" || name == "retained_bytes" ? "purged retained huge extents of page-size class j: " + name : "free runs of page-size class j: " + name);

        /// <summary>A per-kind statistic under stats.kinds.&lt;i&gt;.</summary>
        public void SK(string name, CtlType type, Func<KindStats, long> get)
            => Ro("stats.kinds.<i>." + name, type, x => (ulong)get(HeapControl.Snapshot.Kind((int)x[0])!), "per-kind statistic " + name);

        /// <summary>Declares that the children of <paramref name="path"/> are numbers accepted by <paramref name="check"/>.</summary>
        public void Index(string path, CtlIndexCheck check)
        {
            CtlNode n = NodeAt(path, create: true)!;
            if (n.Children.Count != 0 || n.IsLeaf) throw new InvalidOperationException($"control node {path} has named children; it cannot be indexed");
            n.Indexed ??= new CtlNode("<i>");
            n.IndexCheck = check;
        }

        internal CtlNode? NodeAt(string path, bool create)
        {
            CtlNode n = Root;
            foreach (string part in path.Split('.'))
            {
                if (part.Length > 2 && part[0] == '<' && part[^1] == '>')
                {
                    if (n.Indexed == null) throw new InvalidOperationException($"control path {path}: declare Index for the node before {part}");
                    n = n.Indexed;
                    continue;
                }
                CtlNode? c = n.Child(part);
                if (c == null)
                {
                    if (!create) return null;
                    if (n.Indexed != null || n.IsLeaf) throw new InvalidOperationException($"control path {path}: {part} under an indexed node or a leaf");
                    c = new CtlNode(part);
                    n.Children.Add(c);
                }
                n = c;
            }
            return n;
        }
    }
}
