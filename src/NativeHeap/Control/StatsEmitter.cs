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

/// <summary>Rows of figures with the same columns (per bin, per large class); JSON writes an array of objects.</summary>
internal sealed record StatsTable(string Key, string Label, IReadOnlyList<string> Columns, IReadOnlyList<object[]> Rows) : StatsNode(Key, Label);

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
        if (f.General)
        {
            top.Add(new StatsValue("version", "Version", m.Version));
            HeapOptions o = m.Options;
            top.Add(new StatsGroup("opt", "Options", [
                new StatsValue("dirty_decay_ms", "opt.dirty_decay_ms", o.DirtyDecayMs),
                new StatsValue("muzzy_decay_ms", "opt.muzzy_decay_ms", o.MuzzyDecayMs),
                new StatsValue("narenas", "opt.narenas", (long)o.Arenas),
                new StatsValue("tcache", "opt.tcache", o.ThreadCache),
                new StatsValue("tcache_max", "opt.tcache_max", (long)o.ThreadCacheMax),
                new StatsValue("checked", "opt.checked", o.Checked),
                new StatsValue("junk", "opt.junk", HeapOptions.JunkName(o.Junk)),
                new StatsValue("zero", "opt.zero", o.Zero),
                new StatsValue("oom", "opt.oom", HeapOptions.OomName(o.Oom)),
                new StatsValue("background_thread", "opt.background_thread", o.BackgroundThread),
                new StatsValue("stats_print", "opt.stats_print", o.StatsPrint),
                new StatsValue("stats_print_opts", "opt.stats_print_opts", o.StatsPrintOptions),
            ]));
            var bins = new List<object[]>();
            for (int j = 0; j < SizeClasses.NBins; j++)
                bins.Add([(long)j, (long)SizeClasses.s_sizes[j], (long)SizeClasses.s_slabRegs[j], (long)SizeClasses.s_slabPages[j] * OsMemory.PageSize]);
            var lextents = new List<object[]>();
            for (int j = 0; j < Arena.NLarge; j++) lextents.Add([(long)j, (long)SizeClasses.s_sizes[SizeClasses.NBins + j]]);
            var arenas = new List<StatsNode>
            {
                new StatsValue("narenas", "Arenas", (long)m.Stats.Arenas.Count),
                new StatsValue("page", "Page size", (long)OsMemory.PageSize),
                new StatsValue("quantum", "Quantum", (long)SizeClasses.Quantum),
                new StatsValue("nbins", "Small classes", (long)SizeClasses.NBins),
                new StatsValue("nlextents", "Large classes", (long)Arena.NLarge),
            };
            if (f.Bins) arenas.Add(new StatsTable("bin", "Small size classes", ["index", "size", "nregs", "slab_size"], bins));
            if (f.Large) arenas.Add(new StatsTable("lextent", "Large size classes", ["index", "size"], lextents));
            top.Add(new StatsGroup("arenas", "Constants", arenas));
        }
        HeapStats s = m.Stats;
        top.Add(new StatsGroup("stats", "Totals", [
            new StatsValue("allocated", "allocated", s.Allocated),
            new StatsValue("active", "active", s.Active),
            new StatsValue("metadata", "metadata", s.Metadata),
            new StatsValue("resident", "resident", s.Resident),
            new StatsValue("mapped", "mapped", s.Mapped),
            new StatsValue("retained", "retained", s.Retained),
        ]));
        var perArena = new List<StatsNode>();
        if (f.Merged) perArena.Add(DescribeArena("merged", "Merged arenas", m.Merged, f));
        if (f.PerArena)
            foreach (ArenaStats a in s.Arenas)
                perArena.Add(DescribeArena(a.Index.ToString(CultureInfo.InvariantCulture), $"Arena {a.Index}{(a.IsExplicit ? " (explicit)" : "")}", a, f));
        if (perArena.Count != 0) top.Add(new StatsGroup("stats.arenas", "Arenas", perArena));
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
        return new StatsGroup("nativeheap", "NativeHeap statistics", top);
    }

    private static StatsGroup DescribeArena(string key, string label, ArenaStats a, StatsPrintFlags f)
    {
        var items = new List<StatsNode>
        {
            new StatsValue("nthreads", "threads", (long)a.Threads),
            new StatsValue("dirty_decay_ms", "dirty decay (ms)", a.DirtyDecayMs),
            new StatsValue("muzzy_decay_ms", "muzzy decay (ms)", a.MuzzyDecayMs),
            new StatsValue("pactive", "active pages", a.ActivePages),
            new StatsValue("pdirty", "dirty pages", a.DirtyPages),
            new StatsValue("pmuzzy", "muzzy pages", a.MuzzyPages),
            new StatsValue("pclean", "clean pages", a.CleanPages),
            new StatsValue("mapped", "mapped", a.Mapped),
            new StatsValue("resident", "resident", StatsModel.ArenaResident(a)),
            new StatsValue("nchunks", "chunks", (long)a.Chunks),
            new StatsValue("dirty_npurge", "purge passes", a.PurgePasses),
            new StatsValue("dirty_nmadvise", "purge calls", a.PurgeCalls),
            new StatsValue("dirty_purged", "purged pages", a.PurgedPages),
            new StatsGroup("small", "small", [
                new StatsValue("allocated", "allocated", a.SmallAllocated),
                new StatsValue("nmalloc", "nmalloc", a.SmallNMalloc),
                new StatsValue("ndalloc", "ndalloc", a.SmallNDalloc),
                new StatsValue("nrequests", "nrequests", a.SmallNRequests),
            ]),
            new StatsGroup("large", "large", [
                new StatsValue("allocated", "allocated", a.LargeAllocated),
                new StatsValue("nmalloc", "nmalloc", a.LargeNMalloc),
                new StatsValue("ndalloc", "ndalloc", a.LargeNDalloc),
            ]),
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
                if (b.NMalloc != 0 || b.CurRegs != 0)
                    rows.Add([(long)b.Index, b.Size, b.NMalloc, b.NDalloc, b.NRequests, b.CurRegs, b.CurSlabs, b.NSlabs, b.NFills, b.NFlushes]);
            items.Add(new StatsTable("bins", "bins", ["index", "size", "nmalloc", "ndalloc", "nrequests", "curregs", "curslabs", "nslabs", "nfills", "nflushes"], rows));
        }
        if (f.Large)
        {
            var rows = new List<object[]>();
            foreach (LargeStats l in a.Large) rows.Add([(long)l.Index, l.Size, l.NMalloc, l.NDalloc, l.CurExtents]);
            items.Add(new StatsTable("lextents", "large classes", ["index", "size", "nmalloc", "ndalloc", "curlextents"], rows));
        }
        return new StatsGroup(key, label, items);
    }

    // ---- text ---------------------------------------------------------------------------------------

    private static string WriteText(StatsGroup root)
    {
        var sb = new StringBuilder();
        sb.Append("___ Begin ").Append(root.Label).Append(" ___\n");
        foreach (StatsNode n in root.Items) WriteTextNode(sb, n, 0);
        sb.Append("___ End ").Append(root.Label).Append(" ___\n");
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
                // A group of plain values prints on one line when it is short (small/large/huge).
                if (depth > 0 && g.Items.Count <= 4 && g.Items.All(i => i is StatsValue))
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
                if (t.Rows.Count == 0)
                {
                    sb.Append(indent).Append("  (none)\n");
                    break;
                }
                var widths = new int[t.Columns.Count];
                for (int c = 0; c < widths.Length; c++)
                {
                    widths[c] = t.Columns[c].Length;
                    foreach (object[] r in t.Rows) widths[c] = Math.Max(widths[c], Format(r[c]).Length);
                }
                sb.Append(indent).Append("  ");
                for (int c = 0; c < widths.Length; c++) sb.Append(t.Columns[c].PadLeft(widths[c] + (c == 0 ? 0 : 2)));
                sb.Append('\n');
                foreach (object[] r in t.Rows)
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
                    for (int c = 0; c < t.Columns.Count; c++)
                    {
                        w.WritePropertyName(t.Columns[c]);
                        WriteJsonValue(w, r[c]);
                    }
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
