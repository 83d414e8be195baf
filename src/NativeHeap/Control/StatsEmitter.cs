// StatsEmitter: prints a StatsModel as a human-readable table or as JSON (pretty or compact) from one
// description. Describe() turns the model into a tree of StatsNode (groups, values, tables); the
// text and JSON writers only walk that tree, so a figure added to the description appears in every
// format at once.
//
// Options (jemalloc's malloc_stats_print opts where they exist): J = JSON (pretty, as jemalloc's),
// c = compact JSON (with J), g = omit the general section (version, options, constants),
// m = omit merged arena statistics, a = omit per-arena statistics, b = omit per-bin tables,
// l = omit per-large-class tables, k = omit the memory-kinds table. Any other character is an error.
using System.Globalization;
using System.Text;
using System.Text.Json;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Control;

/// <summary>Which parts of the statistics to print, parsed from an options string.</summary>
internal readonly record struct StatsPrintFlags(bool Json, bool Compact, bool General, bool Merged, bool PerArena, bool Bins, bool Large, bool Kinds);

internal abstract record StatsNode(string Key, string Label);

internal sealed record StatsValue(string Key, string Label, object Value) : StatsNode(Key, Label);

internal sealed record StatsGroup(string Key, string Label, IReadOnlyList<StatsNode> Items) : StatsNode(Key, Label);

/// <summary>
/// Rows of figures with the same columns (per bin, per large class); JSON writes an array of objects
/// from column <see cref="JsonFrom"/> on (a column "a.b" becomes member b of an object a, as jemalloc's
/// bins[].mutex), text prints the first <see cref="TextColumns"/> columns of the rows <see cref="TextRow"/> keeps.
/// </summary>
internal sealed record StatsTable(string Key, string Label, IReadOnlyList<string> Columns, IReadOnlyList<object[]> Rows) : StatsNode(Key, Label)
{
    public int JsonFrom { get; init; }
    public int TextColumns { get; init; } = int.MaxValue;
    public Func<object[], bool>? TextRow { get; init; }
}

internal static unsafe class StatsEmitter
{
    /// <summary>Parses a malloc_stats_print options string; false names no valid option set.</summary>
    public static bool TryParseOptions(string? opts, out StatsPrintFlags flags)
    {
        bool json = false, compact = false, g = true, m = true, a = true, b = true, l = true, k = true;
        foreach (char ch in opts ?? "")
        {
            switch (ch)
            {
                case 'J': json = true; break;
                case 'c': compact = true; break;
                case 'g': g = false; break;
                case 'm': m = false; break;
                case 'a': a = false; break;
                case 'b': b = false; break;
                case 'l': l = false; break;
                case 'k': k = false; break;
                default:
                    flags = default;
                    return false;
            }
        }
        flags = new StatsPrintFlags(json, compact, g, m, a, b, l, k);
        return true;
    }

    public static string Emit(StatsModel model, StatsPrintFlags flags)
    {
        StatsGroup root = Describe(model, flags);
        return flags.Json ? WriteJson(root, !flags.Compact) : WriteText(root);
    }

    // ---- the description --------------------------------------------------------------------------

    internal static StatsGroup Describe(StatsModel m, StatsPrintFlags f)
    {
        var top = new List<StatsNode>();
        StatsGlobals gl = m.Globals;
        HeapOptions o = m.Options;
        if (f.General)
        {
            top.Add(new StatsValue("version", "Version", m.Version));
            top.Add(new StatsGroup("config", "Build-time option settings", [
                B("cache_oblivious", "config", false), B("debug", "config", IsDebug), B("fill", "config", true), B("lazy_lock", "config", false),
                new StatsValue("malloc_conf", "config.malloc_conf", ""), B("opt_safety_checks", "config", false), B("prof", "config", true),
                B("prof_libgcc", "config", false), B("prof_libunwind", "config", false), B("stats", "config", true),
                B("utrace", "config", false), B("xmalloc", "config", true),
            ]));
            top.Add(new StatsGroup("opt", "Run-time option settings", [
                B("abort", "opt", false), B("abort_conf", "opt", false), B("cache_oblivious", "opt", false), B("confirm_conf", "opt", false),
                B("retain", "opt", o.Retain), new StatsValue("dss", "opt.dss", "disabled"),
                new StatsValue("narenas", "opt.narenas", (long)(gl.AutomaticArenas != 0 ? gl.AutomaticArenas : o.Arenas)),
                new StatsValue("percpu_arena", "opt.percpu_arena", o.PerCpuArena),
                new StatsValue("oversize_threshold", "opt.oversize_threshold", (long)o.OversizeThreshold),
                B("hpa", "opt", false), new StatsValue("metadata_thp", "opt.metadata_thp", "disabled"),
                new StatsValue("mutex_max_spin", "opt.mutex_max_spin", (long)NativeLock.MaxSpin),
                B("background_thread", "opt", o.BackgroundThread), new StatsValue("max_background_threads", "opt.max_background_threads", 1L),
                new StatsValue("dirty_decay_ms", "opt.dirty_decay_ms", o.DirtyDecayMs),
                new StatsValue("muzzy_decay_ms", "opt.muzzy_decay_ms", o.MuzzyDecayMs),
                new StatsValue("lg_extent_max_active_fit", "opt.lg_extent_max_active_fit", 63L),
                new StatsValue("junk", "opt.junk", HeapOptions.JunkName(o.Junk)), B("zero", "opt", o.Zero), B("utrace", "opt", false),
                B("xmalloc", "opt", o.Oom == OomBehavior.Abort), B("tcache", "opt", o.ThreadCache),
                new StatsValue("tcache_max", "opt.tcache_max", (long)o.ThreadCacheMax), new StatsValue("thp", "opt.thp", "default"),
                B("prof", "opt", o.Prof), B("stats_print", "opt", o.StatsPrint),
                new StatsValue("stats_print_opts", "opt.stats_print_opts", o.StatsPrintOptions),
                new StatsValue("stats_interval", "opt.stats_interval", -1L), new StatsValue("stats_interval_opts", "opt.stats_interval_opts", ""),
                new StatsValue("zero_realloc", "opt.zero_realloc", "free"),
                // NativeHeap's own options.
                B("checked", "opt", o.Checked), new StatsValue("oom", "opt.oom", HeapOptions.OomName(o.Oom)),
            ]));
            var bins = new List<object[]>();
            for (int j = 0; j < SizeClasses.NBins; j++)
                bins.Add([(long)j, (long)SizeClasses.s_sizes[j], (long)SizeClasses.s_slabRegs[j], (long)SizeClasses.s_slabPages[j] * OsMemory.PageSize, 1L]);
            var lextents = new List<object[]>();
            for (int j = 0; j < Arena.NLarge; j++) lextents.Add([(long)j, (long)SizeClasses.s_sizes[SizeClasses.NBins + j]]);
            var arenas = new List<StatsNode>
            {
                new StatsValue("narenas", "Arenas", (long)m.Stats.Arenas.Count),
                new StatsValue("dirty_decay_ms", "Unused dirty page decay time", gl.NewDirtyDecayMs),
                new StatsValue("muzzy_decay_ms", "Unused muzzy page decay time", gl.NewMuzzyDecayMs),
                new StatsValue("quantum", "Quantum size", (long)SizeClasses.Quantum),
                new StatsValue("page", "Page size", (long)OsMemory.PageSize),
                new StatsValue("tcache_max", "Maximum thread-cached size class", gl.ThreadCacheMax),
                new StatsValue("nbins", "Number of bin size classes", (long)SizeClasses.NBins),
                new StatsValue("nhbins", "Number of thread-cache bin size classes", (long)gl.CachedClasses),
                new StatsValue("nlextents", "Number of large size classes", (long)Arena.NLarge),
            };
            if (f.Bins) arenas.Add(new StatsTable("bin", "Small size classes", ["index", "size", "nregs", "slab_size", "nshards"], bins) { JsonFrom = 1 });
            if (f.Large) arenas.Add(new StatsTable("lextent", "Large size classes", ["index", "size"], lextents) { JsonFrom = 1 });
            top.Add(new StatsGroup("arenas", "Arenas", arenas));
        }
        HeapStats s = m.Stats;
        top.Add(new StatsGroup("stats", "Totals", [
            new StatsValue("allocated", "allocated", s.Allocated),
            new StatsValue("active", "active", s.Active),
            new StatsValue("metadata", "metadata", s.Metadata),
            new StatsValue("metadata_thp", "metadata_thp", 0L),
            new StatsValue("resident", "resident", s.Resident),
            new StatsValue("mapped", "mapped", s.Mapped),
            new StatsValue("retained", "retained", s.Retained),
            new StatsValue("zero_reallocs", "realloc(non-null-ptr, 0) calls", gl.ZeroReallocs),
            new StatsGroup("background_thread", "Background threads", [
                new StatsValue("num_threads", "num_threads", (long)gl.BackgroundThreads),
                new StatsValue("num_runs", "num_runs", gl.BackgroundRuns),
                new StatsValue("run_interval", "run_interval", gl.BackgroundRuns > 0 ? 1_000_000_000L : 0L),
            ]),
            new StatsGroup("mutexes", "Global locks", [
                Mutex("background_thread", gl.BackgroundLock), Mutex("ctl", gl.CtlLock), Mutex("prof", MutexStats.Zero),
            ]),
            // NativeHeap's own: the chunk pool shared by automatic arenas.
            new StatsValue("spare_chunks", "spare chunks", (long)s.SpareChunks),
            new StatsValue("spare_clean_chunks", "spare clean chunks", (long)s.SpareCleanChunks),
        ]));
        var perArena = new List<StatsNode>();
        if (f.Merged) perArena.Add(DescribeArena("merged", "Merged arenas", m.Merged, f));
        if (f.PerArena)
            foreach (ArenaStats a in s.Arenas)
                perArena.Add(DescribeArena(a.Index.ToString(CultureInfo.InvariantCulture), $"Arena {a.Index}{(a.IsExplicit ? " (explicit)" : "")}", a, f));
        if (perArena.Count != 0) top.Add(new StatsGroup("stats.arenas", "Arena statistics", perArena));
        if (f.Kinds && m.Kinds.Count != 0)
        {
            var rows = new List<object[]>();
            foreach (KindEntry k in m.Kinds)
            {
                Kinds.KindStats ks = k.Stats;
                rows.Add([(long)k.Id, ks.Name, (long)ks.Arenas, ks.Allocated, ks.Active, ks.Resident, ks.Mapped, ks.DirtyPages, ks.PurgedPages, ks.SourceFailures]);
            }
            top.Add(new StatsTable("kinds", "Memory kinds", ["id", "name", "arenas", "allocated", "active", "resident", "mapped", "pdirty", "purged", "source_failures"], rows));
        }
        return new StatsGroup("jemalloc", "jemalloc statistics", top);
    }

#if DEBUG
    private const bool IsDebug = true;
#else
    private const bool IsDebug = false;
#endif

    private static StatsValue B(string key, string prefix, bool value) => new(key, prefix + "." + key, value);

    private static StatsGroup Mutex(string key, MutexStats ms) => new(key, key, [
        new StatsValue("num_ops", "num_ops", ms.Ops),
        new StatsValue("num_wait", "num_wait", ms.Waits),
        new StatsValue("num_spin_acq", "num_spin_acq", ms.SpinAcquired),
        new StatsValue("num_owner_switch", "num_owner_switch", ms.OwnerSwitches),
        new StatsValue("total_wait_time", "total_wait_time", ms.TotalWaitNs),
        new StatsValue("max_wait_time", "max_wait_time", ms.MaxWaitNs),
        new StatsValue("max_num_thds", "max_num_thds", (long)ms.MaxThreads),
    ]);

    private static object[] MutexColumns(MutexStats ms) =>
        [ms.Ops, ms.Waits, ms.SpinAcquired, ms.OwnerSwitches, ms.TotalWaitNs, ms.MaxWaitNs, (long)ms.MaxThreads];

    private static readonly string[] s_mutexColumns =
        ["mutex.num_ops", "mutex.num_wait", "mutex.num_spin_acq", "mutex.num_owner_switch", "mutex.total_wait_time", "mutex.max_wait_time", "mutex.max_num_thds"];

    private static StatsGroup DescribeArena(string key, string label, ArenaStats a, StatsPrintFlags f)
    {
        long largeNFills = 0, largeNFlushes = 0;
        var items = new List<StatsNode>
        {
            new StatsValue("nthreads", "assigned threads", (long)a.Threads),
            new StatsValue("uptime_ns", "uptime (ns)", a.UptimeNs),
            new StatsValue("dss", "dss allocation precedence", "disabled"),
            new StatsValue("dirty_decay_ms", "dirty decay (ms)", a.DirtyDecayMs),
            new StatsValue("muzzy_decay_ms", "muzzy decay (ms)", a.MuzzyDecayMs),
            new StatsValue("pactive", "active pages", a.ActivePages),
            new StatsValue("pdirty", "dirty pages", a.DirtyPages),
            new StatsValue("pmuzzy", "muzzy pages", a.MuzzyPages),
            new StatsValue("dirty_npurge", "dirty purge sweeps", a.PurgePasses - a.MuzzyPurgePasses),
            new StatsValue("dirty_nmadvise", "dirty madvises", a.PurgeCalls - a.MuzzyPurgeCalls),
            new StatsValue("dirty_purged", "dirty pages purged", a.PurgedPages - a.MuzzyPurgedPages),
            new StatsValue("muzzy_npurge", "muzzy purge sweeps", a.MuzzyPurgePasses),
            new StatsValue("muzzy_nmadvise", "muzzy madvises", a.MuzzyPurgeCalls),
            new StatsValue("muzzy_purged", "muzzy pages purged", a.MuzzyPurgedPages),
            new StatsGroup("small", "small", [
                new StatsValue("allocated", "allocated", a.SmallAllocated),
                new StatsValue("nmalloc", "nmalloc", a.SmallNMalloc),
                new StatsValue("ndalloc", "ndalloc", a.SmallNDalloc),
                new StatsValue("nrequests", "nrequests", a.SmallNRequests),
                new StatsValue("nfills", "nfills", a.Bins.Sum(b => b.NFills)),
                new StatsValue("nflushes", "nflushes", a.Bins.Sum(b => b.NFlushes)),
            ]),
            new StatsGroup("large", "large", [
                new StatsValue("allocated", "allocated", a.LargeAllocated),
                new StatsValue("nmalloc", "nmalloc", a.LargeNMalloc),
                new StatsValue("ndalloc", "ndalloc", a.LargeNDalloc),
                new StatsValue("nrequests", "nrequests", a.LargeNMalloc),
                new StatsValue("nfills", "nfills", largeNFills),
                new StatsValue("nflushes", "nflushes", largeNFlushes),
            ]),
            new StatsValue("mapped", "mapped", a.Mapped),
            new StatsValue("retained", "retained", a.Retained),
            new StatsValue("base", "base", (long)a.Chunks * Chunk.HeaderPages * OsMemory.PageSize + (long)Arena.TotalSize),
            new StatsValue("internal", "internal", 0L),
            new StatsValue("metadata_thp", "metadata_thp", 0L),
            new StatsValue("tcache_bytes", "tcache_bytes", 0L),
            new StatsValue("tcache_stashed_bytes", "tcache_stashed_bytes", 0L),
            new StatsValue("resident", "resident", StatsModel.ArenaResident(a)),
            new StatsValue("abandoned_vm", "abandoned_vm", 0L),
            new StatsValue("extent_avail", "extent_avail", 0L),
            new StatsGroup("mutexes", "locks", [.. CtlTree.ArenaMutexes.Select(n => Mutex(n, n == "large" ? a.Lock : MutexStats.Zero))]),
            // NativeHeap's own.
            new StatsValue("pclean", "clean pages", a.CleanPages),
            new StatsValue("nchunks", "chunks", (long)a.Chunks),
            new StatsGroup("huge", "huge", [
                new StatsValue("allocated", "allocated", a.HugeAllocated),
                new StatsValue("nmalloc", "nmalloc", a.HugeNMalloc),
                new StatsValue("ndalloc", "ndalloc", a.HugeNDalloc),
                new StatsValue("curhuge", "curhuge", a.HugeCount),
            ]),
        };
        if (f.Bins)
        {
            var rows = new List<object[]>();
            foreach (BinStats b in a.Bins)
            {
                MutexStats ms = b.Index < a.BinLocks.Count ? a.BinLocks[b.Index] : MutexStats.Zero;
                rows.Add([(long)b.Index, b.Size, b.NMalloc, b.NDalloc, b.CurRegs, b.NRequests, b.NFills, b.NFlushes, 0L, b.CurSlabs, b.NonfullSlabs, b.NSlabs,
                    .. MutexColumns(ms)]);
            }
            items.Add(new StatsTable("bins", "bins",
                ["index", "size", "nmalloc", "ndalloc", "curregs", "nrequests", "nfills", "nflushes", "nreslabs", "curslabs", "nonfull_slabs", "nslabs", .. s_mutexColumns], rows)
            {
                JsonFrom = 2,
                TextColumns = 12,
                TextRow = r => (long)r[2] != 0 || (long)r[4] != 0,
            });
        }
        if (f.Large)
        {
            var rows = new List<object[]>();
            for (int j = 0; j < Arena.NLarge; j++)
            {
                LargeStats l = a.LargeClass(j, (long)SizeClasses.s_sizes[SizeClasses.NBins + j]);
                rows.Add([(long)j, l.Size, l.NMalloc, l.NDalloc, l.NMalloc, l.CurExtents]);
            }
            items.Add(new StatsTable("lextents", "large classes", ["index", "size", "nmalloc", "ndalloc", "nrequests", "curlextents"], rows)
            {
                JsonFrom = 5,
                TextRow = r => (long)r[2] != 0 || (long)r[5] != 0,
            });
            var extents = new List<object[]>();
            for (int j = 0; j < Heap.NPageSizeClasses; j++)
            {
                long nd = j < a.DirtyRuns.Count ? a.DirtyRuns[j] : 0, nm = j < a.MuzzyRuns.Count ? a.MuzzyRuns[j] : 0;
                long bd = j < a.DirtyRunBytes.Count ? a.DirtyRunBytes[j] : 0, bm = j < a.MuzzyRunBytes.Count ? a.MuzzyRunBytes[j] : 0;
                long nr = j < a.RetainedRuns.Count ? a.RetainedRuns[j] : 0, br = j < a.RetainedRunBytes.Count ? a.RetainedRunBytes[j] : 0;
                extents.Add([(long)j, (long)Heap.PageClassPages(j) * OsMemory.PageSize, nd, nm, nr, bd, bm, br]);
            }
            items.Add(new StatsTable("extents", "free runs (extents)", ["index", "size", "ndirty", "nmuzzy", "nretained", "dirty_bytes", "muzzy_bytes", "retained_bytes"], extents)
            {
                JsonFrom = 2,
                TextRow = r => (long)r[2] != 0 || (long)r[3] != 0,
            });
        }
        return new StatsGroup(key, label, items);
    }

    // ---- text ---------------------------------------------------------------------------------------

    private static string WriteText(StatsGroup root)
    {
        var sb = new StringBuilder();
        sb.Append("___ Begin ").Append(root.Label).Append(" ___\n");
        foreach (StatsNode n in root.Items) WriteTextNode(sb, n, 0);
        sb.Append("--- End ").Append(root.Label).Append(" ---\n");   // jemalloc's closing line
        return sb.ToString();
    }

    private static void WriteTextNode(StringBuilder sb, StatsNode node, int depth)
    {
        string indent = new(' ', depth * 2);
        switch (node)
        {
            case StatsValue v:
                sb.Append(indent).Append(v.Label).Append(": ").Append(v.Value is "" ? "\"\"" : Format(v.Value)).Append('\n');
                break;
            case StatsGroup g:
                // A group of plain values prints on one line when it is short (small/large/huge), as
                // "small: allocated N, nmalloc N, ..." — tools (and the preload tests) read those lines.
                if (depth > 0 && g.Items.Count <= 6 && g.Items.All(i => i is StatsValue))
                {
                    sb.Append(indent).Append(g.Label).Append(':');
                    foreach (StatsValue v in g.Items.Cast<StatsValue>()) sb.Append(' ').Append(v.Label).Append(' ').Append(Format(v.Value)).Append(',');
                    sb.Length--;
                    sb.Append('\n');
                    break;
                }
                sb.Append(indent).Append(g.Label).Append(":\n");
                foreach (StatsNode n in g.Items) WriteTextNode(sb, n, depth + 1);
                break;
            case StatsTable t:
                sb.Append(indent).Append(t.Label).Append(":\n");
                List<object[]> rows = t.TextRow == null ? [.. t.Rows] : [.. t.Rows.Where(t.TextRow)];
                if (rows.Count == 0)
                {
                    sb.Append(indent).Append("  (none)\n");
                    break;
                }
                var widths = new int[Math.Min(t.Columns.Count, t.TextColumns)];
                for (int c = 0; c < widths.Length; c++)
                {
                    widths[c] = t.Columns[c].Length;
                    foreach (object[] r in rows) widths[c] = Math.Max(widths[c], Format(r[c]).Length);
                }
                sb.Append(indent).Append("  ");
                for (int c = 0; c < widths.Length; c++) sb.Append(t.Columns[c].PadLeft(widths[c] + (c == 0 ? 0 : 2)));
                sb.Append('\n');
                foreach (object[] r in rows)
                {
                    sb.Append(indent).Append("  ");
                    for (int c = 0; c < widths.Length; c++) sb.Append(Format(r[c]).PadLeft(widths[c] + (c == 0 ? 0 : 2)));
                    sb.Append('\n');
                }
                break;
        }
    }

    private static string Format(object v) => v switch
    {
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s => s,
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    // ---- JSON ---------------------------------------------------------------------------------------

    private static string WriteJson(StatsGroup root, bool pretty)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = pretty }))
        {
            w.WriteStartObject();
            WriteJsonNode(w, root);
            w.WriteEndObject();
        }
        string json = Encoding.UTF8.GetString(stream.ToArray());
        return json.ReplaceLineEndings("\n") + "\n";
    }

    private static void WriteJsonNode(Utf8JsonWriter w, StatsNode node)
    {
        switch (node)
        {
            case StatsValue v:
                w.WritePropertyName(v.Key);
                WriteJsonValue(w, v.Value);
                break;
            case StatsGroup g:
                w.WriteStartObject(g.Key);
                foreach (StatsNode n in g.Items) WriteJsonNode(w, n);
                w.WriteEndObject();
                break;
            case StatsTable t:
                w.WriteStartArray(t.Key);
                foreach (object[] r in t.Rows)
                {
                    w.WriteStartObject();
                    string? open = null;
                    for (int c = t.JsonFrom; c < t.Columns.Count; c++)
                    {
                        string col = t.Columns[c];
                        int dot = col.IndexOf('.');
                        string? group = dot < 0 ? null : col[..dot];
                        if (group != open)
                        {
                            if (open != null) w.WriteEndObject();
                            if (group != null) w.WriteStartObject(group);
                            open = group;
                        }
                        w.WritePropertyName(dot < 0 ? col : col[(dot + 1)..]);
                        WriteJsonValue(w, r[c]);
                    }
                    if (open != null) w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                break;
        }
    }

    private static void WriteJsonValue(Utf8JsonWriter w, object v)
    {
        switch (v)
        {
            case bool b: w.WriteBooleanValue(b); break;
            case long l: w.WriteNumberValue(l); break;
            default: w.WriteStringValue(Format(v)); break;
        }
    }
}
