// MemoryKind.Create: kinds' life cycle — the predefined kinds (created on first use), NUMA, pmem and
// user-defined kinds created at run time, destruction with all their memory, the usage policy
// (decay), purging, availability checks and statistics.
// Creation takes a free slot, points the slot's KindSource at the kind's real source, creates the
// kind's explicit arenas over it (one, or ArenaCount for PerThreadHash) and publishes the kind in
// the source-id tables. Destruction is the reverse; its caller guarantees no thread uses the kind.
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Kinds;

public sealed unsafe partial class MemoryKind
{
    private static readonly Lock s_createLock = new();
    private static readonly MemoryKind?[] s_slots = new MemoryKind?[KindThreadCaches.MaxSlots];
    private static readonly KindSource?[] s_slotSources = new KindSource?[KindThreadCaches.MaxSlots];
    private static readonly MemoryKind s_default = new(0, "default", [], null, new KindOptions(), null, lazyPurge: true, predefined: true);

    private static MemoryKind? s_hugeTlb, s_thp, s_interleave, s_hbw, s_hbwPreferred;

    private readonly int[] _arenas;
    private readonly KindSource? _source;
    private readonly string? _unavailable;
    private readonly bool _lazyPurge;
    private readonly bool _predefined;
    private volatile bool _destroyed;

    private MemoryKind(int slot, string name, int[] arenas, KindSource? source, KindOptions options, string? unavailable, bool lazyPurge, bool predefined)
    {
        _slot = slot;
        _isDefault = slot == 0;
        Name = name;
        _arenas = arenas;
        _source = source;
        _unavailable = unavailable;
        _lazyPurge = lazyPurge;
        _predefined = predefined;
        ArenaPolicy = options.ArenaPolicy;
        // memkind's jemalloc caches up to 32 KiB unless told otherwise, whatever the general heap's tcache_max.
        {
            nuint max = options.ThreadCacheMax ?? KindOptions.DefaultThreadCacheMax;
            int cls = max < SizeClasses.TinySize ? -1 : SizeClasses.SizeToIndex(max);
            if (cls >= 0 && SizeClasses.s_sizes[cls] > max) cls--;
            MaxCachedClass = cls;
        }
    }

    /// <summary>The kind's name (predefined kinds: "default", "hugetlb", "thp", "interleave", "hbw", "hbw_preferred").</summary>
    public string Name { get; }

    /// <summary>How the kind's threads are spread over its arenas.</summary>
    public KindArenaPolicy ArenaPolicy { get; }

    /// <summary>Indices of the kind's arenas in the general heap (empty for <see cref="Default"/>, which uses the heap's automatic arenas).</summary>
    public IReadOnlyList<int> ArenaIndices => _arenas;

    /// <summary>True once <see cref="TryDestroy"/> succeeded.</summary>
    public bool IsDestroyed => _destroyed;

    /// <summary>The last failure of the kind's memory source (why an allocation returned null), or null.</summary>
    public string? LastError => _unavailable ?? _source?.LastError;

    /// <summary>tcache_max's class for the kind's caches.</summary>
    internal int MaxCachedClass { get; }

    /// <summary>The kind's memory source as registered (tests read its counters).</summary>
    internal KindSource? Source => _source;

    /// <inheritdoc />
    public override string ToString() => Name;

    // ---- predefined kinds -------------------------------------------------------------------------

    /// <summary>Ordinary memory: the general heap itself (MEMKIND_DEFAULT). <see cref="Heap"/> pointers are of this kind.</summary>
    public static MemoryKind Default => s_default;

    /// <summary>
    /// 2 MiB pages from the hugetlbfs pool (MEMKIND_HUGETLB; MAP_HUGETLB). When no huge pages are
    /// reserved (/proc/sys/vm/nr_hugepages), allocations return null and <see cref="CheckAvailable"/>
    /// says so.
    /// </summary>
    public static MemoryKind HugeTlb => s_hugeTlb ?? Predefined(ref s_hugeTlb, "hugetlb", () => (new HugeTlbKindSource(), null, false));

    /// <summary>Transparent huge pages (MADV_HUGEPAGE on every mapping; needs THP in "always" or "madvise" mode).</summary>
    public static MemoryKind Thp => s_thp ?? Predefined(ref s_thp, "thp", () => (new AnonymousKindSource(true, OsNuma.Mode.Default, []), null, true));

    /// <summary>Pages interleaved over every NUMA node with memory (MEMKIND_INTERLEAVE; MPOL_INTERLEAVE).</summary>
    public static MemoryKind Interleave => s_interleave ?? Predefined(ref s_interleave, "interleave",
        () => (new AnonymousKindSource(false, OsNuma.Mode.Interleave, OsNuma.MemoryNodes()), null, true));

    /// <summary>
    /// High-bandwidth memory only (MEMKIND_HBW; MPOL_BIND to the HBW nodes). On a machine without HBW
    /// nodes (see <see cref="HbwNodeList"/>) every allocation returns null and
    /// <see cref="CheckAvailable"/> explains it.
    /// </summary>
    public static MemoryKind Hbw => s_hbw ?? Predefined(ref s_hbw, "hbw", () =>
    {
        int[] nodes = HbwNodes.Detect(out string origin);
        return nodes.Length == 0
            ? (new AnonymousKindSource(false, OsNuma.Mode.Default, []), $"no high-bandwidth memory: {origin}", true)
            : (new AnonymousKindSource(false, OsNuma.Mode.Bind, nodes), null, true);
    });

    /// <summary>
    /// High-bandwidth memory when there is some, ordinary memory otherwise (MEMKIND_HBW_PREFERRED;
    /// MPOL_PREFERRED on the first HBW node, or the default policy when there is none).
    /// </summary>
    public static MemoryKind HbwPreferred => s_hbwPreferred ?? Predefined(ref s_hbwPreferred, "hbw_preferred", () =>
    {
        int[] nodes = HbwNodes.Detect(out _);
        return nodes.Length == 0
            ? (new AnonymousKindSource(false, OsNuma.Mode.Default, []), null, true)
            : (new AnonymousKindSource(false, OsNuma.Mode.Preferred, [nodes[0]]), null, true);
    });

    /// <summary>The high-bandwidth NUMA nodes (MEMKIND_HBW_NODES, or HMAT bandwidth ≥ MEMKIND_HBW_THRESHOLD MB/s); empty when there are none.</summary>
    public static IReadOnlyList<int> HbwNodeList => HbwNodes.Detect(out _);

    /// <summary>The kind's slot: a small number unique among live kinds (0 = default), reused after destroy (kinds.&lt;i&gt; in the control namespace).</summary>
    public int Id => _slot;

    /// <summary>The kinds that exist now (created and not destroyed), by <see cref="Id"/>; predefined kinds appear once first used.</summary>
    public static IReadOnlyList<MemoryKind> LiveKinds()
    {
        var list = new List<MemoryKind>();
        lock (s_createLock)
        {
            foreach (MemoryKind? k in s_slots)
                if (k != null && !k._destroyed) list.Add(k);
        }
        if (list.Count == 0 || list[0]._slot != 0) list.Insert(0, s_default);
        return list;
    }

    /// <summary>The live kind with this <see cref="Id"/>, or null.</summary>
    public static MemoryKind? FromId(int id)
    {
        if (id == 0) return s_default;
        if ((uint)id >= (uint)s_slots.Length) return null;
        MemoryKind? k = Volatile.Read(ref s_slots[id]);
        return k == null || k._destroyed ? null : k;
    }

    private static MemoryKind Predefined(ref MemoryKind? field, string name, Func<(IMemorySource Source, string? Unavailable, bool LazyPurge)> make)
    {
        lock (s_createLock)
        {
            if (field != null) return field;
            (IMemorySource source, string? unavailable, bool lazy) = make();
            // A kind that can never allocate (strict HBW without HBW nodes) needs no more than one arena.
            var options = unavailable == null ? new KindOptions() : new KindOptions { ArenaPolicy = KindArenaPolicy.Single };
            if (!TryCreateCore(name, source, options, unavailable, lazy, predefined: true, out MemoryKind? kind, out string error))
                throw new InvalidOperationException($"NativeHeap: cannot create the predefined kind '{name}': {error}");
            Volatile.Write(ref field, kind);
            return kind!;
        }
    }

    /// <summary>
    /// Whether the kind can allocate on this machine now (memkind_check_available); when not,
    /// <paramref name="reason"/> says why and how to fix it.
    /// </summary>
    public bool CheckAvailable(out string reason)
    {
        reason = "";
        if (_destroyed) reason = $"kind '{Name}' was destroyed";
        else if (_unavailable != null) reason = _unavailable;
        else if (_source?.Inner is HugeTlbKindSource && HugeTlbKindSource.PoolProblem() is string p) reason = p;
        else if (_source?.Inner is AnonymousKindSource { Transparent: true } && OsHugePages.TransparentMode() is "never") reason = "transparent huge pages are disabled (/sys/kernel/mm/transparent_hugepage/enabled is 'never')";
        return reason.Length == 0;
    }

    // ---- kinds created at run time ----------------------------------------------------------------

    /// <summary>
    /// Creates a kind served by a memory source of your own (memkind_create_kind with your ops): its
    /// arenas get every chunk and huge block from <paramref name="source"/> (which must honour the
    /// <see cref="IMemorySource"/> contract: 4 MiB-aligned chunks, page multiples).
    /// </summary>
    /// <returns>False with <paramref name="error"/> when no kind slot or arena is left.</returns>
    public static bool TryCreate(string name, IMemorySource source, KindOptions? options, out MemoryKind? kind, out string error)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(source);
        (options ??= new KindOptions()).Validate();
        lock (s_createLock) return TryCreateCore(name, source, options, null, lazyPurge: true, predefined: false, out kind, out error);
    }

    /// <summary>
    /// Creates a huge-page kind with options of your own (the predefined <see cref="HugeTlb"/> and
    /// <see cref="Thp"/> use the defaults): hugetlbfs 2 MiB pages, or transparent huge pages when
    /// <paramref name="transparent"/> is true. Creation succeeds even when the pool is empty; check
    /// <see cref="CheckAvailable"/>.
    /// </summary>
    public static bool TryCreateHugePages(string name, bool transparent, KindOptions? options, out MemoryKind? kind, out string error)
    {
        ArgumentNullException.ThrowIfNull(name);
        (options ??= new KindOptions()).Validate();
        IMemorySource source = transparent ? new AnonymousKindSource(true, OsNuma.Mode.Default, []) : new HugeTlbKindSource();
        lock (s_createLock) return TryCreateCore(name, source, options, null, lazyPurge: transparent, predefined: false, out kind, out error);
    }

    /// <summary>
    /// Creates a kind placed on NUMA nodes with mbind (Bind: only there; Preferred: one node first;
    /// Interleave: round-robin). Fails when a node does not exist or has no memory.
    /// </summary>
    public static bool TryCreateNuma(string name, NumaPolicy policy, IReadOnlyList<int> nodes, KindOptions? options, out MemoryKind? kind, out string error)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(nodes);
        (options ??= new KindOptions()).Validate();
        kind = null;
        int[] memNodes = OsNuma.MemoryNodes();
        if (nodes.Count == 0 || (policy == NumaPolicy.Preferred && nodes.Count != 1))
        {
            error = policy == NumaPolicy.Preferred ? "a Preferred kind takes exactly one node" : "a NUMA kind needs at least one node";
            return false;
        }
        foreach (int n in nodes)
        {
            if (Array.IndexOf(memNodes, n) < 0)
            {
                error = $"NUMA node {n} does not exist or has no memory (nodes with memory: {string.Join(",", memNodes)})";
                return false;
            }
        }
        var source = new AnonymousKindSource(false, (OsNuma.Mode)(int)policy, [.. nodes]);
        lock (s_createLock) return TryCreateCore(name, source, options, null, lazyPurge: true, predefined: false, out kind, out error);
    }

    /// <summary>
    /// Creates a file-backed kind (memkind_create_pmem): a temporary file in
    /// <paramref name="directory"/>, removed at once (it never appears in the directory and vanishes
    /// with the kind or the process), mapped shared. At most <paramref name="maxSize"/> bytes are
    /// mapped from it (counted in 4 MiB granules); beyond that allocations return null. Freed pages
    /// are punched out of the file when decay (or <see cref="Purge"/>) returns them.
    /// </summary>
    /// <returns>False with <paramref name="error"/> when the directory, the file system or the size is unsuitable.</returns>
    public static bool TryCreatePmem(string directory, long maxSize, out MemoryKind? kind, out string error)
        => TryCreatePmem(directory, maxSize, null, out kind, out error);

    /// <summary>As <see cref="TryCreatePmem(string, long, out MemoryKind?, out string)"/>, with kind options.</summary>
    public static bool TryCreatePmem(string directory, long maxSize, KindOptions? options, out MemoryKind? kind, out string error)
    {
        ArgumentNullException.ThrowIfNull(directory);
        (options ??= new KindOptions()).Validate();
        kind = null;
        if (!PmemKindSource.TryCreate(directory, maxSize, out PmemKindSource? source, out error))
        {
            t_lastCreateFailure = CreateFailure.Other;
            return false;
        }
        lock (s_createLock)
        {
            if (TryCreateCore($"pmem:{directory}", source!, options, null, lazyPurge: false, predefined: false, out kind, out error)) return true;
        }
        source!.Dispose();
        return false;
    }

    /// <summary>
    /// Creates a kind served from a memory area the caller owns (memkind_create_fixed): a static
    /// array, an mmap of the caller's, memory bound with mbind. NativeHeap hands out the 4 MiB-aligned
    /// granules inside [<paramref name="address"/>, +<paramref name="size"/>) (chunks, and huge blocks
    /// rounded to granules) and never maps, purges or unmaps the area; when it is used up allocations
    /// return null. The area must stay valid until the kind is destroyed; the caller frees it after.
    /// </summary>
    /// <returns>False with <paramref name="error"/> when the area holds no aligned 4 MiB granule, or no kind slot or arena is left.</returns>
    public static bool TryCreateFixed(void* address, nuint size, KindOptions? options, out MemoryKind? kind, out string error)
    {
        (options ??= new KindOptions { ArenaPolicy = KindArenaPolicy.Single }).Validate();
        kind = null;
        if (!FixedKindSource.TryCreate(address, size, out FixedKindSource? source, out error))
        {
            t_lastCreateFailure = CreateFailure.Other;
            return false;
        }
        lock (s_createLock) return TryCreateCore($"fixed:0x{(nuint)address:x}", source!, options, null, lazyPurge: false, predefined: false, out kind, out error);
    }

    /// <summary>Why the calling thread's last failed creation failed (memkind's error codes distinguish these).</summary>
    internal enum CreateFailure { None, NoSlot, NoArenas, Other }

    /// <summary>The reason of the calling thread's last <c>TryCreate*</c> failure (None after a success).</summary>
    [ThreadStatic] internal static CreateFailure t_lastCreateFailure;

    /// <summary>Most kinds that can exist at once, <see cref="Default"/> included (memkind's MEMKIND_MAX_KIND).</summary>
    public const int MaxKinds = KindThreadCaches.MaxSlots;

    private static bool TryCreateCore(string name, IMemorySource inner, KindOptions options, string? unavailable, bool lazyPurge, bool predefined,
        out MemoryKind? kind, out string error)
    {
        Debug.Assert(s_createLock.IsHeldByCurrentThread);
        Heap.EnsureInitialized();
        kind = null;
        t_lastCreateFailure = CreateFailure.None;
        int slot = Array.IndexOf(s_slots, null, 1);
        if (slot < 0)
        {
            t_lastCreateFailure = CreateFailure.NoSlot;
            error = $"all {KindThreadCaches.MaxSlots - 1} memory kind slots are in use (destroy kinds that are no longer needed)";
            return false;
        }
        KindSource source = s_slotSources[slot] ??= new KindSource(slot);
        source.Inner = inner;
        int count = options.ResolvedArenaCount;
        var arenas = new int[count];
        int made = 0;
        try
        {
            for (; made < count; made++) arenas[made] = Heap.CreateArena(source);
        }
        catch (Exception e) when (e is InvalidOperationException or OutOfMemoryException)
        {
            for (int i = 0; i < made; i++) Heap.DestroyArena(arenas[i]);
            t_lastCreateFailure = CreateFailure.NoArenas;
            error = $"cannot create the {count} arenas of kind '{name}': {e.Message}";
            return false;
        }
        kind = new MemoryKind(slot, name, arenas, source, options, unavailable, lazyPurge, predefined);
        kind.ApplyPolicy(options.UsagePolicy);
        s_slots[slot] = kind;
        Publish(MemorySources.Register(source), kind);
        error = "";
        return true;
    }

    /// <summary>Points source id <paramref name="sid"/> at <paramref name="kind"/> in the detection tables (copy-on-write).</summary>
    private static void Publish(int sid, MemoryKind kind)
    {
        MemoryKind[] kinds = s_bySource;
        int[] slots = s_slotBySource;
        int n = Math.Max(kinds.Length, sid + 1);
        var newKinds = new MemoryKind[n];
        var newSlots = new int[n];
        Array.Fill(newKinds, s_default);
        kinds.CopyTo(newKinds, 0);
        slots.CopyTo(newSlots, 0);
        newKinds[sid] = kind;
        newSlots[sid] = kind._slot;
        Volatile.Write(ref s_slotBySource, newSlots);
        Volatile.Write(ref s_bySource, newKinds);
    }

    /// <summary>
    /// Destroys a kind created at run time and all its memory (memkind_destroy_kind): every block of
    /// the kind is freed at once, its arenas are removed, a pmem kind's file is closed (its blocks go
    /// back to the file system) and the kind's slot may be reused. The caller must make sure no
    /// thread uses the kind or any of its blocks during or after the call.
    /// </summary>
    /// <returns>False with <paramref name="error"/> for predefined kinds and kinds already destroyed.</returns>
    public bool TryDestroy(out string error)
    {
        lock (s_createLock)
        {
            if (_predefined)
            {
                error = $"kind '{Name}' is predefined and cannot be destroyed";
                return false;
            }
            if (_destroyed)
            {
                error = $"kind '{Name}' was already destroyed";
                return false;
            }
            _destroyed = true;
            KindThreadCaches.Reclaim();
            KindThreadCaches.DropSlot(_slot);
            foreach (int a in _arenas) Heap.DestroyArena(a);
            if (_source!.Inner is IDisposable d) d.Dispose();
            s_slots[_slot] = null;
        }
        error = "";
        return true;
    }

    // ---- usage policy, purging, statistics ----------------------------------------------------------

    /// <summary>
    /// Sets how fast freed pages of this kind return to the OS or the file
    /// (memkind_update_memory_usage_policy): Default keeps the heap's decay times, Conservative purges at once.
    /// </summary>
    public void SetUsagePolicy(MemoryUsagePolicy policy)
    {
        if (!Enum.IsDefined(policy)) throw new ArgumentOutOfRangeException(nameof(policy));
        ThrowIfDestroyed();
        ApplyPolicy(policy);
    }

    /// <summary>
    /// Sets the decay times of the kind's arenas in ms (-1: never purge, 0: at once). Kinds whose memory
    /// cannot be purged lazily (pmem, hugetlb) ignore <paramref name="muzzyMs"/> and purge dirty pages directly.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A time below -1.</exception>
    /// <exception cref="InvalidOperationException">The kind is <see cref="Default"/> (set the heap's decay with <see cref="HeapOptions"/>).</exception>
    public void SetDecay(long dirtyMs, long muzzyMs)
    {
        if (dirtyMs < -1 || muzzyMs < -1) throw new ArgumentOutOfRangeException(nameof(dirtyMs), "decay times must be -1 or more");
        if (_isDefault) throw new InvalidOperationException("the Default kind uses the heap's automatic arenas: set their decay with HeapOptions");
        ThrowIfDestroyed();
        foreach (int a in _arenas) Heap.SetArenaDecay(a, dirtyMs, _lazyPurge ? muzzyMs : 0);
    }

    private void ApplyPolicy(MemoryUsagePolicy policy)
    {
        if (_isDefault) return;
        HeapOptions o = Heap.Options;
        if (policy == MemoryUsagePolicy.Conservative) SetDecay(0, 0);
        else SetDecay(o.DirtyDecayMs, o.MuzzyDecayMs);
    }

    /// <summary>
    /// Returns the kind's unused pages now: flushes the calling thread's cache of the kind and the
    /// caches of finished threads, purges every free page and unmaps empty chunks (pmem: punches them
    /// out of the file).
    /// </summary>
    public void Purge()
    {
        ThrowIfDestroyed();
        if (_isDefault)
        {
            Heap.Purge();
            return;
        }
        KindThreadCaches.FlushCurrent(_slot);
        KindThreadCaches.Reclaim();
        foreach (int a in _arenas) Heap.PurgeArena(a);
    }

    /// <summary>A snapshot of the kind's statistics (the sum over its arenas, plus its source's counters).</summary>
    public KindStats GetStats()
    {
        ThrowIfDestroyed();
        KindThreadCaches.Reclaim();
        IEnumerable<ArenaStats> arenas = _isDefault
            ? Heap.GetStats().Arenas.Where(a => !a.IsExplicit)
            : _arenas.Select(Heap.GetArenaStats);
        long allocated = 0, active = 0, resident = 0, mapped = 0, dirty = 0, muzzy = 0, purged = 0, huge = 0, dirtyMs = 0, muzzyMs = 0;
        int n = 0;
        foreach (ArenaStats s in arenas)
        {
            n++;
            long hugeActive = (s.HugeAllocated + OsMemory.PageSize - 1) / OsMemory.PageSize * OsMemory.PageSize;
            allocated += s.SmallAllocated + s.LargeAllocated + s.HugeAllocated;
            active += s.ActivePages * OsMemory.PageSize + hugeActive;
            resident += (s.ActivePages + s.DirtyPages + s.MuzzyPages) * OsMemory.PageSize + hugeActive;
            mapped += s.Mapped;
            dirty += s.DirtyPages;
            muzzy += s.MuzzyPages;
            purged += s.PurgedPages;
            huge += s.HugeCount;
            dirtyMs = s.DirtyDecayMs;
            muzzyMs = s.MuzzyDecayMs;
        }
        return new KindStats
        {
            Name = Name,
            Arenas = n,
            ThreadCaches = _isDefault ? 0 : KindThreadCaches.CountCaches(_slot),
            Allocated = allocated,
            Active = active,
            Resident = resident,
            Mapped = mapped,
            DirtyPages = dirty,
            MuzzyPages = muzzy,
            PurgedPages = purged,
            HugeBlocks = huge,
            SourceAllocations = _source?.Allocations ?? 0,
            SourceFailures = _source?.Failures ?? 0,
            LastError = LastError,
            DirtyDecayMs = dirtyMs,
            MuzzyDecayMs = muzzyMs,
        };
    }
}
