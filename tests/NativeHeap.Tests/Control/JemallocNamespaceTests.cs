using NativeHeap.Control;

namespace NativeHeap.Tests.Control;

/// <summary>
/// The control tree against jemalloc 5.3.0's documented names (Data/jemalloc-5.3-mallctl.tsv, written
/// from jemalloc(3)): every name resolves with jemalloc's type and access, and the behaviour-bearing
/// ones do what jemalloc documents.
/// </summary>
// Uses explicit thread caches, which Heap.Validate reads: runs apart from the tests that validate
// while it works (an explicit cache is used by one thread at a time, so another thread's Validate
// would see it half-changed and report a false double free).
[Collection("Serial")]
public unsafe class JemallocNamespaceTests
{
    internal sealed record Documented(string Name, string CType, string Access, string Group);

    internal static IReadOnlyList<Documented> Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Control", "Data", "jemalloc-5.3-mallctl.tsv");
        var list = new List<Documented>();
        foreach (string line in File.ReadAllLines(path))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            string[] f = line.Split('\t');
            list.Add(new Documented(f[0], f[1], f[2], f.Length > 3 ? f[3] : ""));
        }
        return list;
    }

    private static CtlType TypeOf(string c) => c switch
    {
        "bool" => CtlType.Bool,
        "unsigned" or "uint32_t" => CtlType.UInt32,
        "uint64_t" => CtlType.UInt64,
        "size_t" => CtlType.Size,
        "ssize_t" => CtlType.SSize,
        "int64_t" => CtlType.Int64,
        "const char *" => CtlType.String,
        "void" => CtlType.Void,
        _ when c.EndsWith('*') => CtlType.Pointer,
        _ => throw new InvalidDataException("unknown C type " + c),
    };

    private static CtlAccess AccessOf(string a) => a switch
    {
        "r-" => CtlAccess.Read,
        "rw" => CtlAccess.ReadWrite,
        "-w" => CtlAccess.Write,
        "--" => CtlAccess.Execute,
        _ => throw new InvalidDataException("unknown access " + a),
    };

    /// <summary>A concrete name for a pattern: arena 0, bin/class/extent index 1.</summary>
    private static string Concrete(string pattern)
    {
        int k = pattern.IndexOf("<i>", StringComparison.Ordinal);
        if (k >= 0) pattern = pattern[..k] + "0" + pattern[(k + 3)..];
        return pattern.Replace("<j>", "1");
    }

    [Fact]
    public void EveryDocumentedNameResolvesWithJemallocsTypeAndAccess()
    {
        IReadOnlyList<Documented> documented = Load();
        Assert.True(documented.Count > 250, $"the list has {documented.Count} names");
        var declared = HeapControl.Declarations().ToDictionary(d => d.Name.Replace(".<i>.bins.<i>.", ".<i>.bins.<j>.")
            .Replace(".<i>.lextents.<i>.", ".<i>.lextents.<j>.").Replace(".<i>.extents.<i>.", ".<i>.extents.<j>."));
        var problems = new List<string>();
        foreach (Documented d in documented)
        {
            if (!declared.TryGetValue(d.Name, out var decl))
            {
                problems.Add(d.Name + ": not declared");
                continue;
            }
            if (decl.Type != TypeOf(d.CType)) problems.Add($"{d.Name}: type {decl.Type}, jemalloc {d.CType}");
            CtlAccess want = AccessOf(d.Access);
            if (decl.Access != want) problems.Add($"{d.Name}: access {decl.Access}, jemalloc {d.Access}");
            CtlStatus st = HeapControl.Describe(Concrete(d.Name), out CtlType t, out CtlAccess a);
            if (st != CtlStatus.Ok) problems.Add($"{Concrete(d.Name)}: {st}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("config.prof", out bool prof));
        Assert.True(prof);   // built with profiling: the "prof" group resolves like the rest
    }

    [Fact]
    public void EveryReadableDocumentedNameReadsAndEveryReadOnlyOneRefusesWrites()
    {
        foreach (Documented d in Load())
        {
            if (d.Access is "--" or "-w") continue;
            string name = Concrete(d.Name);
            if (name is "arenas.create" or "tcache.create" or "arenas.lookup") continue;   // side effects / need input
            ulong v = 0;
            nuint len = HeapControl.SizeOf(TypeOf(d.CType));
            CtlStatus st = HeapControl.Ctl(name, &v, &len, null, 0);
            Assert.True(st == CtlStatus.Ok, $"{name}: {st}");
            if (d.Access == "r-")
            {
                ulong w = 0;
                Assert.Equal(CtlStatus.ReadOnly, HeapControl.Ctl(name, null, null, &w, 3));
            }
        }
    }

    [Fact]
    public void VersionHasJemallocsLayout()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("version", out string? v));
        Assert.Matches(@"^\d+\.\d+\.\d+-\d+-g[0-9a-f]{40}$", v);
        Assert.StartsWith(typeof(HeapControl).Assembly.GetName().Version!.ToString(3) + "-", v);
    }

    [Fact]
    public void StrategiesNativeHeapLacksReportHonestValuesAndRefuseWrites()
    {
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.dss", out string? dss));
        Assert.Equal("disabled", dss);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.thp", out string? thp));
        Assert.Equal("default", thp);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.metadata_thp", out string? mthp));
        Assert.Equal("disabled", mthp);
        Assert.Equal(CtlStatus.Ok, HeapControl.Read("opt.hpa", out bool hpa));
        Assert.False(hpa);
        nint primary = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8("primary");
        nint disabled = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8("disabled");
        nint bogus = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8("bogus");
        try
        {
            Assert.Equal(CtlStatus.Fault, HeapControl.Write("arena.0.dss", primary));
            Assert.Equal(CtlStatus.Ok, HeapControl.Write("arena.0.dss", disabled));
            Assert.Equal(CtlStatus.Invalid, HeapControl.Write("arena.0.dss", bogus));
        }
        finally
        {
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(primary);
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(disabled);
            System.Runtime.InteropServices.Marshal.FreeCoTaskMem(bogus);
        }
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Write("opt.dss", disabled));
        Assert.Equal(CtlStatus.ReadOnly, HeapControl.Write("opt.retain", false));
    }

    [Fact]
    public void ThreadPeakFollowsTheThreadsHoldings()
    {
        TestThreads.Run(() =>
        {
            Heap.Free(Heap.Malloc(8));
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute("thread.peak.reset"));
            var blocks = new List<nint>();
            for (int i = 0; i < 40; i++) blocks.Add((nint)Heap.Malloc(100_000));        // 40 × 114,688 usable
            foreach (nint p in blocks) Heap.Free((void*)p);
            Assert.Equal(CtlStatus.Ok, HeapControl.Read("thread.peak.read", out ulong peak));
            Assert.InRange(peak, 39UL * 114_688, 41UL * 114_688);
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute("thread.peak.reset"));
            HeapControl.Read("thread.peak.read", out ulong after);
            Assert.Equal(0UL, after);
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute("thread.idle"));
        });
    }

    [Fact]
    public void ArenasDecayTimesApplyToArenasCreatedAfterwards() => ChildProcess.AssertOk("ctl-arenas-decay");   // process-wide setting

    [Fact]
    public void UptimeMutexAndExtentStatisticsAreLive()
    {
        HeapControl.Read("arenas.create", out uint arena);
        try
        {
            var blocks = new List<nint>();
            for (int i = 0; i < 8; i++) blocks.Add((nint)Heap.MallocX(40_000, MallocFlags.Arena((int)arena) | MallocFlags.NoThreadCache));
            Heap.DallocX((void*)blocks[3], MallocFlags.NoThreadCache);   // one 40 KiB (10-page) dirty run between live blocks
            HeapControl.Write("epoch", 1UL);
            Assert.Equal(CtlStatus.Ok, HeapControl.Read($"stats.arenas.{arena}.uptime", out ulong up1));
            Assert.Equal(CtlStatus.Ok, HeapControl.Read($"stats.arenas.{arena}.mutexes.large.num_ops", out ulong ops1));
            Assert.True(ops1 >= 9, $"arena lock ops {ops1}");
            // extents.<j>: the dirty 10-page run is counted in its page-size class (40 KiB).
            ulong total = 0, bytes = 0;
            int classes = 0;
            for (int j = 0; HeapControl.Read($"stats.arenas.{arena}.extents.{j}.ndirty", out ulong n) == CtlStatus.Ok; j++)
            {
                total += n;
                HeapControl.Read($"stats.arenas.{arena}.extents.{j}.dirty_bytes", out ulong b);
                bytes += b;
                classes++;
            }
            HeapControl.Read($"stats.arenas.{arena}.pdirty", out ulong pdirty);
            Assert.True(classes > 150, $"{classes} page-size classes");
            Assert.True(total >= 1);
            Assert.Equal(pdirty * 4096, bytes);
            for (int i = 0; i < 8; i++) if (i != 3) Heap.DallocX((void*)blocks[i], MallocFlags.NoThreadCache);
            Thread.Sleep(2);
            HeapControl.Write("epoch", 1UL);
            HeapControl.Read($"stats.arenas.{arena}.uptime", out ulong up2);
            Assert.True(up2 > up1);
            HeapControl.Read($"stats.arenas.{arena}.mutexes.large.num_ops", out ulong ops2);
            Assert.True(ops2 > ops1);
            Assert.Equal(CtlStatus.Ok, HeapControl.Read("stats.mutexes.ctl.num_ops", out ulong ctlOps));
            Assert.True(ctlOps >= 1);
            Assert.Equal(CtlStatus.Ok, HeapControl.Execute("stats.mutexes.reset"));
            HeapControl.Read("stats.arenas.0.bins.0.mutex.max_num_thds", out uint _);
        }
        finally
        {
            HeapControl.Execute($"arena.{arena}.destroy");
        }
    }
}

/// <summary>docs/control.md's namespace table is the tree's own (regenerate with <c>nheap stats --list</c>).</summary>
public class NamespaceDocTests
{
    [Fact]
    public void ControlMdTableMatchesTheTree()
    {
        string doc = Path.GetFullPath(Path.Combine(SourceDir(), "..", "..", "..", "docs", "control.md"));
        Assert.True(File.Exists(doc), doc);
        string text = File.ReadAllText(doc);
        const string Begin = "<!-- namespace table: generated by nheap stats --list -->\n", End = "<!-- end of namespace table -->";
        int a = text.IndexOf(Begin, StringComparison.Ordinal), b = text.IndexOf(End, StringComparison.Ordinal);
        Assert.True(a >= 0 && b > a, "docs/control.md lacks the table markers");
        Assert.Equal(HeapControl.FormatNamespaceTable(), text[(a + Begin.Length)..b]);
    }

    private static string SourceDir([System.Runtime.CompilerServices.CallerFilePath] string source = "") => Path.GetDirectoryName(source)!;
}
