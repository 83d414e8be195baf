// HeapControl: NativeHeap's control namespace — jemalloc's mallctl in C# form. Names are translated
// to MIBs once (NameToMib) and then accessed by MIB with integer work only; values are typed and
// checked against the node's C type; every call returns a CtlStatus whose values are mallctl's errno
// codes. The tree itself is declared in CtlTree.cs; statistics come from the snapshot of the last
// epoch refresh (RefreshStats / writing "epoch").
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using NativeHeap.Control;
using NativeHeap.General;

namespace NativeHeap;

/// <summary>
/// The control and statistics namespace (jemalloc's <c>mallctl</c>, <c>mallctlnametomib</c>,
/// <c>mallctlbymib</c> and <c>malloc_stats_print</c>). Names and their types are listed in
/// docs/control.md; <see cref="Names"/> enumerates them at run time.
/// </summary>
/// <remarks>
/// Errors are returned, never thrown: <see cref="CtlStatus.NotFound"/> for an unknown name or an index
/// that does not exist, <see cref="CtlStatus.Invalid"/> for a value of the wrong type or size (or an
/// name that stops at an interior node gives NotFound, as jemalloc), <see cref="CtlStatus.ReadOnly"/> for writing a read-only node or reading a
/// write-only one, <see cref="CtlStatus.TryAgain"/> when a limit is reached (arenas, caches),
/// <see cref="CtlStatus.Fault"/> when an action failed on the caller's data. On any error nothing is
/// changed and output values are default. Statistics (<c>stats.*</c>) are those of the last
/// <c>epoch</c> refresh; the first read takes one. All methods are thread-safe.
/// </remarks>
public static unsafe class HeapControl
{
    /// <summary>The arena index that names all arenas at once (jemalloc's MALLCTL_ARENAS_ALL): purge/decay all, merged statistics.</summary>
    public const int ArenasAll = 4096;

    /// <summary>Longest MIB any name translates to.</summary>
    public const int MaxMibLength = 8;

    private static StatsModel? s_snapshot;
    private static ulong s_epoch;
    // The ctl lock (jemalloc's ctl_mtx): serialises snapshot refreshes; its counters are stats.mutexes.ctl.
    private static readonly Core.NativeLock* s_ctlLock = (Core.NativeLock*)Core.StaticMemory.Alloc((nuint)sizeof(Core.NativeLock));
    private static readonly ConcurrentDictionary<string, nint> s_utf8 = new();

    /// <summary>
    /// NativeHeap's version string (the <c>version</c> node), in jemalloc's layout
    /// "major.minor.patch-commits-gSHA" ("1.0.0-0-g" and the 40-digit commit the library was built
    /// from, or zeros when the build did not record it). NativeHeap's own number, not jemalloc's: tools
    /// that parse jemalloc's version keep working, and none is told it talks to jemalloc 5.3.0.
    /// </summary>
    public static string Version { get; } = BuildVersion();

    private static string BuildVersion()
    {
        System.Reflection.Assembly asm = typeof(HeapControl).Assembly;
        string number = asm.GetName().Version?.ToString(3) ?? "0.0.0";
        string? info = (Attribute.GetCustomAttribute(asm, typeof(System.Reflection.AssemblyInformationalVersionAttribute))
            as System.Reflection.AssemblyInformationalVersionAttribute)?.InformationalVersion;
        int plus = info?.IndexOf('+') ?? -1;
        string sha = plus >= 0 ? info![(plus + 1)..] : "";
        if (sha.Length != 40 || !sha.All(char.IsAsciiHexDigit)) sha = new string('0', 40);
        return $"{number}-0-g{sha.ToLowerInvariant()}";
    }

    internal static MutexStats CtlLockStats()
    {
        s_ctlLock->Enter();
        MutexStats m = Heap.ReadLock(s_ctlLock);
        s_ctlLock->Exit();
        return m;
    }

    /// <summary>The ctl lock's counters, read by the refresh that holds it.</summary>
    internal static MutexStats CtlLockStatsHeld() => Heap.ReadLock(s_ctlLock);

    internal static void ResetCtlLockStats()
    {
        s_ctlLock->Enter();
        s_ctlLock->ResetStats();
        s_ctlLock->Exit();
    }

    internal static StatsModel Snapshot => Volatile.Read(ref s_snapshot) ?? RefreshStatsCore();

    /// <summary>Takes a new statistics snapshot (what writing <c>epoch</c> does) and returns the new epoch.</summary>
    public static ulong RefreshStats() => RefreshStatsCore().Epoch;

    private static StatsModel RefreshStatsCore()
    {
        s_ctlLock->Enter();
        try
        {
            var model = new StatsModel(++s_epoch, Heap.GetStats(), Heap.Options, Version, KindSnapshot(), StatsGlobals.Live());
            Volatile.Write(ref s_snapshot, model);
            return model;
        }
        finally
        {
            s_ctlLock->Exit();
        }
    }

    private static List<KindEntry> KindSnapshot()
    {
        var kinds = new List<KindEntry>();
        foreach (Kinds.MemoryKind k in Kinds.MemoryKind.LiveKinds())
        {
            try
            {
                kinds.Add(new KindEntry(k.Id, k.GetStats()));
            }
            catch (ObjectDisposedException)
            {
                // destroyed between the listing and its statistics: not part of this epoch
            }
        }
        return kinds;
    }

    // ---- names and MIBs ------------------------------------------------------------------------------

    /// <summary>
    /// Translates a name (or a prefix of one) to a MIB (mallctlnametomib). Index components may then be
    /// changed in place to reach siblings without translating again.
    /// </summary>
    /// <param name="name">Dot-separated name, e.g. "stats.arenas.0.bins.3.nmalloc".</param>
    /// <param name="mib">Receives the components; must hold at least as many as the name has.</param>
    /// <param name="length">Number of components written.</param>
    public static CtlStatus NameToMib(string name, Span<nuint> mib, out int length)
    {
        length = 0;
        if (string.IsNullOrEmpty(name)) return CtlStatus.NotFound;
        CtlNode node = CtlTree.Root;
        Span<nuint> index = stackalloc nuint[MaxMibLength];
        int nIndex = 0;
        for (int start = 0; start <= name.Length;)      // the dot-separated parts (MemoryExtensions.Split is .NET 9+)
        {
            int dot = name.IndexOf('.', start);
            int end = dot < 0 ? name.Length : dot;
            ReadOnlySpan<char> part = name.AsSpan(start, end - start);
            start = end + 1;
            // A MIB buffer shorter than the name: jemalloc's ctl_lookup stops there and returns the
            // partial MIB (success, *miblenp unchanged); deeper than any name: no such name.
            if (length >= mib.Length) return CtlStatus.Ok;
            if (length >= MaxMibLength) return CtlStatus.NotFound;
            if (node.Indexed != null)
            {
                if (!ulong.TryParse(part, out ulong v) || v > uint.MaxValue) return CtlStatus.NotFound;
                if (!node.IndexCheck!(index[..nIndex], (nuint)v)) return CtlStatus.NotFound;
                index[nIndex++] = (nuint)v;
                mib[length++] = (nuint)v;
                node = node.Indexed;
                continue;
            }
            int ordinal = -1;
            for (int i = 0; i < node.Children.Count; i++)
            {
                if (part.SequenceEqual(node.Children[i].Name))
                {
                    ordinal = i;
                    break;
                }
            }
            if (ordinal < 0) return CtlStatus.NotFound;
            mib[length++] = (nuint)ordinal;
            node = node.Children[ordinal];
        }
        return CtlStatus.Ok;
    }

    /// <summary>The type and access of the leaf a name denotes.</summary>
    public static CtlStatus Describe(string name, out CtlType type, out CtlAccess access)
    {
        type = CtlType.Void;
        access = CtlAccess.None;
        Span<nuint> mib = stackalloc nuint[MaxMibLength];
        CtlStatus st = NameToMib(name, mib, out int n);
        if (st != CtlStatus.Ok) return st;
        Span<nuint> index = stackalloc nuint[MaxMibLength];
        st = Resolve(mib[..n], index, out CtlNode? node, out _);
        if (st != CtlStatus.Ok) return st;
        type = node!.Type;
        access = node.Access;
        return CtlStatus.Ok;
    }

    /// <summary>
    /// Every leaf name that exists now, with indices expanded (existing arenas, every bin and large
    /// class, MALLCTL_ARENAS_ALL), in tree order. Used by tests and tools to walk the namespace.
    /// </summary>
    public static IEnumerable<string> Names()
    {
        var names = new List<string>();
        Walk(CtlTree.Root, "", [], names);
        return names;
    }

    /// <summary>
    /// The declared leaves with their indexed components written as &lt;i&gt; — the namespace's
    /// reference: name pattern, C type, access and one line of documentation.
    /// </summary>
    public static IReadOnlyList<(string Name, CtlType Type, CtlAccess Access, string Doc)> Declarations()
    {
        var list = new List<(string, CtlType, CtlAccess, string)>();
        Declare(CtlTree.Root, "", list);
        return list;
    }

    /// <summary>
    /// The namespace as a Markdown table (name, C type, access, meaning), one row per declared leaf:
    /// what <c>nheap stats --list</c> prints and docs/control.md holds.
    /// </summary>
    public static string FormatNamespaceTable()
    {
        var sb = new StringBuilder();
        sb.Append("| name | type | access | meaning |\n| --- | --- | --- | --- |\n");
        foreach ((string name, CtlType type, CtlAccess access, string doc) in Declarations())
            sb.Append("| `").Append(name).Append("` | ").Append(CTypeName(type)).Append(" | ").Append(AccessName(access)).Append(" | ").Append(doc).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>The C spelling of a node type, as jemalloc's manual writes it ("—" for actions).</summary>
    public static string CTypeName(CtlType type) => type switch
    {
        CtlType.Void => "—",
        CtlType.Bool => "bool",
        CtlType.UInt32 => "unsigned",
        CtlType.UInt64 => "uint64_t",
        CtlType.Size => "size_t",
        CtlType.SSize => "ssize_t",
        CtlType.Int64 => "int64_t",
        CtlType.String => "const char *",
        _ => "pointer",
    };

    private static string AccessName(CtlAccess access) => access switch
    {
        CtlAccess.Read => "r-",
        CtlAccess.Write => "-w",
        CtlAccess.ReadWrite => "rw",
        _ => "x",
    };

    private static void Declare(CtlNode node, string prefix, List<(string, CtlType, CtlAccess, string)> list)
    {
        if (node.IsLeaf)
        {
            list.Add((prefix, node.Type, node.Access, node.Doc));
            return;
        }
        if (node.Indexed != null) Declare(node.Indexed, prefix + ".<i>", list);
        foreach (CtlNode c in node.Children) Declare(c, prefix.Length == 0 ? c.Name : prefix + "." + c.Name, list);
    }

    private static void Walk(CtlNode node, string prefix, List<nuint> index, List<string> names)
    {
        if (node.IsLeaf)
        {
            names.Add(prefix);
            return;
        }
        if (node.Indexed != null)
        {
            // Candidates: 0 .. a bound high enough for every index kind, plus ArenasAll.
            nuint[] before = [.. index];
            for (nuint v = 0; v <= ArenasAll; v = v < 512 ? v + 1 : v == 512 ? ArenasAll : v + 1)
            {
                if (!node.IndexCheck!(before, v)) continue;
                index.Add(v);
                Walk(node.Indexed, prefix + "." + v, index, names);
                index.RemoveAt(index.Count - 1);
            }
            return;
        }
        foreach (CtlNode c in node.Children)
            Walk(c, prefix.Length == 0 ? c.Name : prefix + "." + c.Name, index, names);
    }

    // ---- typed access ---------------------------------------------------------------------------------

    /// <summary>Reads a scalar or pointer node; <typeparamref name="T"/> must have the node's C size (bool, uint/int, ulong/long/nuint, nint...).</summary>
    public static CtlStatus Read<T>(string name, out T value) where T : unmanaged
    {
        value = default;
        Span<nuint> mib = stackalloc nuint[MaxMibLength];
        CtlStatus st = NameToMib(name, mib, out int n);
        return st != CtlStatus.Ok ? st : Read(mib[..n], out value);
    }

    /// <summary>Reads a scalar or pointer node by MIB.</summary>
    public static CtlStatus Read<T>(ReadOnlySpan<nuint> mib, out T value) where T : unmanaged
    {
        value = default;
        T v = default;
        nuint len = (nuint)sizeof(T);
        CtlStatus st = Ctl(mib, &v, &len, null, 0);
        if (st == CtlStatus.Ok) value = v;
        return st;
    }

    /// <summary>Reads a string node (<see cref="CtlType.String"/>).</summary>
    public static CtlStatus Read(string name, out string? value)
    {
        value = null;
        Span<nuint> mib = stackalloc nuint[MaxMibLength];
        CtlStatus st = NameToMib(name, mib, out int n);
        return st != CtlStatus.Ok ? st : Read(mib[..n], out value);
    }

    /// <summary>Reads a string node by MIB.</summary>
    public static CtlStatus Read(ReadOnlySpan<nuint> mib, out string? value)
    {
        value = null;
        Span<nuint> index = stackalloc nuint[MaxMibLength];
        CtlStatus st = Resolve(mib, index, out CtlNode? node, out int nIndex);
        if (st != CtlStatus.Ok) return st;
        if (node!.Type != CtlType.String) return CtlStatus.Invalid;
        var call = new CtlCall { Index = index[..nIndex], WantOld = true };
        st = Invoke(node, ref call);
        if (st == CtlStatus.Ok) value = call.OldString;
        return st;
    }

    /// <summary>Writes a node (or runs a write-only action such as <c>tcache.flush</c>).</summary>
    public static CtlStatus Write<T>(string name, T value) where T : unmanaged
    {
        Span<nuint> mib = stackalloc nuint[MaxMibLength];
        CtlStatus st = NameToMib(name, mib, out int n);
        return st != CtlStatus.Ok ? st : Write(mib[..n], value);
    }

    /// <summary>Writes a node by MIB.</summary>
    public static CtlStatus Write<T>(ReadOnlySpan<nuint> mib, T value) where T : unmanaged
        => Ctl(mib, null, null, &value, (nuint)sizeof(T));

    /// <summary>Reads the old value and writes a new one in one call (as mallctl with both oldp and newp).</summary>
    public static CtlStatus Exchange<T>(string name, T newValue, out T oldValue) where T : unmanaged
    {
        oldValue = default;
        Span<nuint> mib = stackalloc nuint[MaxMibLength];
        CtlStatus st = NameToMib(name, mib, out int n);
        if (st != CtlStatus.Ok) return st;
        T old = default;
        nuint len = (nuint)sizeof(T);
        st = Ctl(mib[..n], &old, &len, &newValue, (nuint)sizeof(T));
        if (st == CtlStatus.Ok) oldValue = old;
        return st;
    }

    /// <summary>Runs an action node (<c>arena.0.purge</c>, <c>thread.tcache.flush</c>...).</summary>
    public static CtlStatus Execute(string name)
    {
        Span<nuint> mib = stackalloc nuint[MaxMibLength];
        CtlStatus st = NameToMib(name, mib, out int n);
        return st != CtlStatus.Ok ? st : Execute(mib[..n]);
    }

    /// <summary>Runs an action node by MIB.</summary>
    public static CtlStatus Execute(ReadOnlySpan<nuint> mib) => Ctl(mib, null, null, null, 0);

    // ---- C semantics (mallctl / mallctlbymib) --------------------------------------------------------

    /// <summary>mallctl: reads into <paramref name="oldp"/> (when not null) and writes from <paramref name="newp"/> (when not null).</summary>
    public static CtlStatus Ctl(string name, void* oldp, nuint* oldlenp, void* newp, nuint newlen)
    {
        Span<nuint> mib = stackalloc nuint[MaxMibLength];
        CtlStatus st = NameToMib(name, mib, out int n);
        return st != CtlStatus.Ok ? st : Ctl(mib[..n], oldp, oldlenp, newp, newlen);
    }

    /// <summary>
    /// mallctlbymib: the byte-level call. A value read is copied to <paramref name="oldp"/> when
    /// <c>*oldlenp</c> equals the node's size; otherwise as many bytes as fit are copied, <c>*oldlenp</c>
    /// is set to that count and <see cref="CtlStatus.Invalid"/> is returned (jemalloc's rule). A string
    /// is read as a pointer to static UTF-8. A new value must be exactly the node's size.
    /// </summary>
    public static CtlStatus Ctl(ReadOnlySpan<nuint> mib, void* oldp, nuint* oldlenp, void* newp, nuint newlen)
    {
        Span<nuint> index = stackalloc nuint[MaxMibLength];
        CtlStatus st = Resolve(mib, index, out CtlNode? node, out int nIndex);
        if (st != CtlStatus.Ok) return st;
        nuint size = SizeOf(node!.Type);
        // jemalloc's order: the access check first (READONLY / WRITEONLY / NEITHER_READ_NOR_WRITE,
        // where a non-zero newlen alone counts as a write and a non-null oldlenp alone as a read),
        // then the sizes.
        bool readAttempt = oldp != null || oldlenp != null;
        bool writeAttempt = newp != null || newlen != 0;
        if (writeAttempt && (node.Access & CtlAccess.Write) == 0) return CtlStatus.ReadOnly;
        if (readAttempt && (node.Access & CtlAccess.Read) == 0) return CtlStatus.ReadOnly;
        bool wantOld = oldp != null && oldlenp != null;
        bool hasNew = newp != null;
        CtlType newType = node.NewType ?? node.Type;
        if (hasNew && newlen != SizeOf(newType)) return CtlStatus.Invalid;
        if (!wantOld && !hasNew && (node.Access & CtlAccess.Execute) == 0 && node.Type != CtlType.Void && !node.RunsWithoutValue)
        {
            // Reading nothing and writing nothing: only meaningful for actions; jemalloc accepts it for
            // readable nodes (a no-op) — but side-effecting reads (arenas.create, tcache.create) must not run.
            return CtlStatus.Ok;
        }
        var call = new CtlCall { Index = index[..nIndex], WantOld = wantOld, HasNew = hasNew };
        if (hasNew) call.New = Load(newp, newType);
        st = Invoke(node, ref call);
        if (st != CtlStatus.Ok || !wantOld) return st;
        ulong bits = node.Type == CtlType.String ? (ulong)Utf8(call.OldString ?? "") : call.Old;
        if (*oldlenp != size)
        {
            nuint copy = Math.Min(*oldlenp, size);
            Buffer.MemoryCopy(&bits, oldp, copy, copy);
            *oldlenp = copy;
            return CtlStatus.Invalid;
        }
        Store(oldp, node.Type, bits);
        return CtlStatus.Ok;
    }

    private static CtlStatus Resolve(ReadOnlySpan<nuint> mib, Span<nuint> index, out CtlNode? leaf, out int nIndex)
    {
        leaf = null;
        nIndex = 0;
        if (mib.Length == 0 || mib.Length > MaxMibLength) return CtlStatus.NotFound;
        CtlNode node = CtlTree.Root;
        foreach (nuint component in mib)
        {
            if (node.Indexed != null)
            {
                if (!node.IndexCheck!(index[..nIndex], component)) return CtlStatus.NotFound;
                index[nIndex++] = component;
                node = node.Indexed;
            }
            else
            {
                if (component >= (nuint)node.Children.Count) return CtlStatus.NotFound;
                node = node.Children[(int)component];
            }
        }
        if (!node.IsLeaf) return CtlStatus.NotFound;    // a partial path (jemalloc: ENOENT)
        leaf = node;
        return CtlStatus.Ok;
    }

    private static CtlStatus Invoke(CtlNode node, ref CtlCall call)
    {
        try
        {
            return node.Handler!(ref call);
        }
        catch (CtlFaultException)
        {
            return CtlStatus.Fault;
        }
        catch (ArgumentOutOfRangeException)
        {
            return CtlStatus.NotFound;
        }
        catch (ArgumentException)
        {
            return CtlStatus.Invalid;
        }
        catch (HeapMisuseException)
        {
            return CtlStatus.Fault;
        }
        catch (OutOfMemoryException)
        {
            return CtlStatus.OutOfMemory;
        }
        catch (InvalidOperationException)
        {
            return CtlStatus.TryAgain;
        }
    }

    internal static nuint SizeOf(CtlType type) => type switch
    {
        CtlType.Void => 0,
        CtlType.Bool => 1,
        CtlType.UInt32 => 4,
        _ => 8,
    };

    private static ulong Load(void* p, CtlType type) => type switch
    {
        CtlType.Bool => *(byte*)p != 0 ? 1UL : 0UL,
        CtlType.UInt32 => *(uint*)p,
        _ => *(ulong*)p,
    };

    private static void Store(void* p, CtlType type, ulong bits)
    {
        switch (type)
        {
            case CtlType.Bool: *(byte*)p = bits != 0 ? (byte)1 : (byte)0; break;
            case CtlType.UInt32: *(uint*)p = (uint)bits; break;
            default: *(ulong*)p = bits; break;
        }
    }

    /// <summary>A process-lifetime NUL-terminated UTF-8 copy of a string (the set of strings read is small and fixed).</summary>
    private static nint Utf8(string s) => s_utf8.GetOrAdd(s, static str =>
    {
        byte[] bytes = Encoding.UTF8.GetBytes(str);
        byte* p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        Marshal.Copy(bytes, 0, (nint)p, bytes.Length);
        p[bytes.Length] = 0;
        return (nint)p;
    });

    // ---- statistics printing ------------------------------------------------------------------------

    /// <summary>
    /// Prints the statistics (malloc_stats_print) after refreshing them. <paramref name="options"/>:
    /// J = JSON (pretty), c = compact JSON, g/m/a/b/l omit the general, merged, per-arena, bin and
    /// large-class sections.
    /// </summary>
    /// <exception cref="ArgumentException">The options string has an unknown character.</exception>
    public static void PrintStats(TextWriter writer, string? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(FormatStats(options));
    }

    /// <summary>The text <see cref="PrintStats"/> writes.</summary>
    /// <exception cref="ArgumentException">The options string has an unknown character.</exception>
    public static string FormatStats(string? options = null)
    {
        if (!StatsEmitter.TryParseOptions(options, out StatsPrintFlags flags))
            throw new ArgumentException($"NativeHeap: stats options \"{options}\" have a character other than J, c, g, m, a, b, l", nameof(options));
        return StatsEmitter.Emit(RefreshStatsCore(), flags);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void PrintStatsAtExit()
    {
        try
        {
            HeapMessages.Write(FormatStats(Heap.Options.StatsPrintOptions));
        }
        catch (Exception e)
        {
            HeapDiagnostics.Warn("<nativeheap>: stats_print failed: " + e.Message);
        }
    }
}
