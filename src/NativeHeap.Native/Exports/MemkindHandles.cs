// MemkindHandles: the mapping between memkind's C handles (memkind_t = struct memkind *) and
// NativeHeap's MemoryKind objects.
//
// A handle points to a MemkindHandle (the C layout of include/memkind/internal/memkind_arena.h and
// native/nh_kinds.c: code, flags, ops, name[64], priv). Predefined handles are C data: code -1 - i
// for the i-th name of s_names. Handles of kinds created at run time are allocated here (native
// memory, code = MemoryKind.Id; kinds made by memkind_create start with code 0 until
// memkind_arena_create_map gives them arenas) and freed when the kind is destroyed.
// Invariants: s_byId[id] is the live handle of kind id (for a predefined kind, its C handle) or 0;
// it is written under s_lock and read without it; a predefined code maps to one fixed
// MemoryKind, created on first use, or to "unavailable" with memkind's check_available code.
using System.Runtime.InteropServices;
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Native.Exports;

/// <summary>struct memkind as NativeHeap lays it out (88 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MemkindHandle
{
    public int Code;
    public int Flags;
    public MemkindOps* Ops;
    public fixed byte Name[64];
    public void* Priv;
}

/// <summary>memkind's struct memkind_ops (member order of memkind 1.14).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MemkindOps
{
    public delegate* unmanaged<MemkindHandle*, MemkindOps*, byte*, int> Create;
    public delegate* unmanaged<MemkindHandle*, int> Destroy;
    public delegate* unmanaged<MemkindHandle*, nuint, void*> Malloc;
    public delegate* unmanaged<MemkindHandle*, nuint, nuint, void*> Calloc;
    public delegate* unmanaged<MemkindHandle*, void**, nuint, nuint, int> PosixMemalign;
    public delegate* unmanaged<MemkindHandle*, void*, nuint, void*> Realloc;
    public delegate* unmanaged<MemkindHandle*, void*, void> Free;
    public delegate* unmanaged<MemkindHandle*, void*, nuint, void*> Mmap;
    public delegate* unmanaged<MemkindHandle*, void*, nuint, int> Mbind;
    public delegate* unmanaged<MemkindHandle*, void*, nuint, int> Madvise;
    public delegate* unmanaged<MemkindHandle*, int*, int> GetMmapFlags;
    public delegate* unmanaged<MemkindHandle*, int*, int> GetMbindMode;
    public delegate* unmanaged<MemkindHandle*, ulong*, ulong, int> GetMbindNodemask;
    public delegate* unmanaged<MemkindHandle*, uint*, nuint, int> GetArena;
    public delegate* unmanaged<MemkindHandle*, int> CheckAvailable;
    public delegate* unmanaged<void> InitOnce;
    public delegate* unmanaged<MemkindHandle*, int> Finalize;
    public delegate* unmanaged<MemkindHandle*, void*, nuint> MallocUsableSize;
    public delegate* unmanaged<MemkindHandle*, int, int> UpdateMemoryUsagePolicy;
    public delegate* unmanaged<MemkindHandle*, int, nuint*, int> GetStat;
    public delegate* unmanaged<MemkindHandle*, void*, void*> DefragReallocate;
}

internal static unsafe partial class MemkindHandles
{
    internal const int Predefined = 26;
    internal const int MEMKIND_SUCCESS = 0, MEMKIND_ERROR_UNAVAILABLE = -1, MEMKIND_ERROR_MMAP = -3, MEMKIND_ERROR_INVALID = -13,
        MEMKIND_ERROR_TOOMANY = -15, MEMKIND_ERROR_BADOPS = -17, MEMKIND_ERROR_HUGETLB = -18, MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE = -20,
        MEMKIND_ERROR_OPERATION_FAILED = -21, MEMKIND_ERROR_ARENAS_CREATE = -22, MEMKIND_ERROR_RUNTIME = -255;

    /// <summary>Flags: the handle was allocated by the library (freed by memkind_destroy_kind).</summary>
    internal const int FlagAllocated = 1;

    private static readonly nint[] s_byId = new nint[MemoryKind.MaxKinds];
    private static readonly MemoryKind?[] s_predefined = new MemoryKind?[Predefined];
    private static readonly string?[] s_unavailable = new string?[Predefined];
    private static readonly Lock s_lock = new();

    /// <summary>memkind.h's predefined kinds, in native/nh_kinds.c's order.</summary>
    private static readonly string[] s_names =
    [
        "MEMKIND_REGULAR", "MEMKIND_DEFAULT", "MEMKIND_HUGETLB", "MEMKIND_HBW", "MEMKIND_HBW_ALL", "MEMKIND_HBW_PREFERRED",
        "MEMKIND_HBW_HUGETLB", "MEMKIND_HBW_ALL_HUGETLB", "MEMKIND_HBW_PREFERRED_HUGETLB", "MEMKIND_HBW_INTERLEAVE",
        "MEMKIND_INTERLEAVE", "MEMKIND_DAX_KMEM", "MEMKIND_DAX_KMEM_ALL", "MEMKIND_DAX_KMEM_PREFERRED", "MEMKIND_DAX_KMEM_INTERLEAVE",
        "MEMKIND_HIGHEST_CAPACITY", "MEMKIND_HIGHEST_CAPACITY_PREFERRED", "MEMKIND_HIGHEST_CAPACITY_LOCAL",
        "MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED", "MEMKIND_LOWEST_LATENCY_LOCAL", "MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED",
        "MEMKIND_HIGHEST_BANDWIDTH_LOCAL", "MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED",
        "MEMKIND_GBTLB", "MEMKIND_HBW_GBTLB", "MEMKIND_HBW_PREFERRED_GBTLB",
    ];

    internal const int Regular = 0, Default = 1, HugeTlb = 2, Hbw = 3, HbwAll = 4, HbwPreferred = 5, HbwHugeTlb = 6, HbwAllHugeTlb = 7,
        HbwPreferredHugeTlb = 8, HbwInterleave = 9, Interleave = 10, DaxKmem = 11, DaxKmemInterleave = 14, HighestCapacity = 15,
        HighestCapacityPreferred = 16, HighestCapacityLocal = 17, HighestCapacityLocalPreferred = 18, LowestLatencyLocal = 19,
        LowestLatencyLocalPreferred = 20, HighestBandwidthLocal = 21, HighestBandwidthLocalPreferred = 22, Gbtlb = 23;

    /// <summary>The predefined handle with this index (native/nh_kinds.c).</summary>
    [LibraryImport("nh_kinds")]
    internal static partial MemkindHandle* nh_memkind_predefined(int index);

    /// <summary>The predefined index of a handle, or -1.</summary>
    internal static int PredefinedIndex(void* handle)
    {
        if (handle == null) return -1;
        int code = ((MemkindHandle*)handle)->Code;
        return code < 0 && -code - 1 < Predefined ? -code - 1 : -1;
    }

    /// <summary>The handle's operations when it is a kind made by memkind_create, else null.</summary>
    internal static MemkindOps* OpsOf(void* handle) => handle == null ? null : ((MemkindHandle*)handle)->Ops;

    /// <summary>
    /// The MemoryKind a handle stands for; null (<paramref name="unavailable"/> set) when it is a
    /// memkind kind this machine cannot serve, or a destroyed/unknown kind. A NULL handle is Default.
    /// </summary>
    internal static MemoryKind? KindOf(void* handle, out bool unavailable)
    {
        unavailable = false;
        if (handle == null) return MemoryKind.Default;
        int code = ((MemkindHandle*)handle)->Code;
        if (code >= 0)
        {
            MemoryKind? k = code > 0 && (uint)code < (uint)s_byId.Length && s_byId[code] == (nint)handle ? MemoryKind.FromId(code) : null;
            unavailable = k == null;
            return k;
        }
        int index = -code - 1;
        if (index >= Predefined)
        {
            unavailable = true;
            return null;
        }
        MemoryKind? kind = Volatile.Read(ref s_predefined[index]) ?? CreatePredefined(index);
        unavailable = kind == null;
        return kind;
    }

    /// <summary>memkind_check_available's answer for a predefined kind, with memkind's codes.</summary>
    internal static int CheckPredefined(int index)
    {
        MemoryKind? kind = KindOf(nh_memkind_predefined(index), out _);
        bool hbw = MemoryKind.HbwNodeList.Count > 0;
        switch (index)
        {
            case Hbw or HbwAll or HbwPreferred or HbwInterleave:
                return hbw && index != HbwInterleave ? MEMKIND_SUCCESS : MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE;
            case HbwHugeTlb or HbwAllHugeTlb or HbwPreferredHugeTlb:
                return !hbw ? MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE : MEMKIND_ERROR_HUGETLB;
            case HugeTlb:
                return kind != null && kind.CheckAvailable(out _) ? MEMKIND_SUCCESS : MEMKIND_ERROR_HUGETLB;
            case >= Gbtlb:
                return hbw || index == Gbtlb ? MEMKIND_ERROR_HUGETLB : MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE;
            case >= DaxKmem and <= DaxKmemInterleave:
                return MEMKIND_ERROR_UNAVAILABLE;
            default:
                return kind != null && kind.CheckAvailable(out _) ? MEMKIND_SUCCESS : MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE;
        }
    }

    /// <summary>Why a predefined kind is unavailable (for messages), or null.</summary>
    internal static string? WhyUnavailable(int index) => index >= 0 && index < Predefined ? s_unavailable[index] : null;

    private static MemoryKind? CreatePredefined(int index)
    {
        lock (s_lock)
        {
            if (s_predefined[index] is MemoryKind existing) return existing;
            if (s_unavailable[index] != null) return null;
            MemoryKind? kind = null;
            string? why = null;
            switch (index)
            {
                case Regular or Default:
                    kind = MemoryKind.Default;   // REGULAR: the CPUs' general-purpose memory = the heap's default
                    break;
                case HugeTlb: kind = MemoryKind.HugeTlb; break;
                case Hbw or HbwAll: kind = MemoryKind.Hbw; break;
                case HbwPreferred: kind = MemoryKind.HbwPreferred; break;
                case Interleave: kind = MemoryKind.Interleave; break;
                case HighestCapacity or HighestCapacityLocal or HighestCapacityPreferred or HighestCapacityLocalPreferred:
                {
                    List<(int Node, long Bytes)> caps = OsNuma.NodeCapacities();
                    long max = caps.Count == 0 ? 0 : caps.Max(c => c.Bytes);
                    int[] nodes = [.. caps.Where(c => c.Bytes == max).Select(c => c.Node)];
                    bool preferred = index is HighestCapacityPreferred or HighestCapacityLocalPreferred;
                    if (nodes.Length == 0) why = "no NUMA node reports its capacity";
                    else if (preferred && nodes.Length > 1) why = $"nodes {string.Join(",", nodes)} share the highest capacity (a preferred kind needs one)";
                    else kind = Numa(index, preferred ? NumaPolicy.Preferred : NumaPolicy.Bind, nodes, ref why);
                    break;
                }
                case LowestLatencyLocal or LowestLatencyLocalPreferred or HighestBandwidthLocal or HighestBandwidthLocalPreferred:
                {
                    bool latency = index is LowestLatencyLocal or LowestLatencyLocalPreferred;
                    List<(int Node, long Value)> values = OsNuma.ReadNodeValues("/sys/devices/system/node",
                        Path.Combine("access0", "initiators", latency ? "read_latency" : "read_bandwidth"));
                    if (values.Count == 0)
                    {
                        why = $"the firmware describes no node's {(latency ? "latency" : "bandwidth")} (no HMAT memory attributes in /sys/devices/system/node/node*/access0)";
                        break;
                    }
                    long best = latency ? values.Min(v => v.Value) : values.Max(v => v.Value);
                    int[] nodes = [.. values.Where(v => v.Value == best).Select(v => v.Node)];
                    bool preferred = index is LowestLatencyLocalPreferred or HighestBandwidthLocalPreferred;
                    kind = Numa(index, preferred ? NumaPolicy.Preferred : NumaPolicy.Bind, preferred ? [nodes[0]] : nodes, ref why);
                    break;
                }
                default:
                    why = index >= DaxKmem && index <= DaxKmemInterleave
                        ? "no DAX KMEM (persistent memory as a NUMA node) support in NativeHeap"
                        : "NativeHeap has no high-bandwidth huge-page, high-bandwidth interleave or 1 GiB-page kinds";
                    break;
            }
            if (kind == null)
            {
                s_unavailable[index] = why ?? "unavailable";
                return null;
            }
            Volatile.Write(ref s_predefined[index], kind);
            return kind;
        }
    }

    private static MemoryKind? Numa(int index, NumaPolicy policy, int[] nodes, ref string? why)
    {
        if (MemoryKind.TryCreateNuma(s_names[index]["MEMKIND_".Length..].ToLowerInvariant(), policy, nodes, null, out MemoryKind? k, out string error)) return k;
        why = error;
        return null;
    }

    /// <summary>The name memkind gives a handle, for messages.</summary>
    internal static string NameOf(void* handle)
    {
        int i = PredefinedIndex(handle);
        if (handle == null) return "NULL";
        return i >= 0 ? s_names[i] : Marshal.PtrToStringUTF8((nint)((MemkindHandle*)handle)->Name) ?? "kind";
    }

    /// <summary>The handle that stands for a kind (the predefined handle for predefined kinds, else the one registered for it).</summary>
    internal static void* HandleOf(MemoryKind kind)
    {
        if (kind == MemoryKind.Default) return nh_memkind_predefined(Default);
        int id = kind.Id;
        nint known = Volatile.Read(ref s_byId[id]);   // no lock on the common path (detect, free with a NULL kind)
        if (known != 0) return (void*)known;
        lock (s_lock)
        {
            if (s_byId[id] != 0) return (void*)s_byId[id];
            for (int i = 0; i < Predefined; i++)
            {
                if (s_predefined[i] == kind)
                {
                    // Cached like the others; KindOf never accepts a predefined handle through s_byId (its code is negative).
                    MemkindHandle* p = nh_memkind_predefined(i);
                    Volatile.Write(ref s_byId[id], (nint)p);
                    return p;
                }
            }
            MemkindHandle* h = NewHandle(kind.Name);
            h->Code = id;
            Volatile.Write(ref s_byId[id], (nint)h);
            return h;
        }
    }

    /// <summary>A new, zeroed handle owned by the library, with a name (truncated to 63 bytes).</summary>
    internal static MemkindHandle* NewHandle(string name)
    {
        var h = (MemkindHandle*)NativeMemory.AllocZeroed((nuint)sizeof(MemkindHandle));
        h->Flags = FlagAllocated;
        SetName(h, name);
        return h;
    }

    internal static void SetName(MemkindHandle* h, string name)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(name);
        int n = Math.Min(bytes.Length, 63);
        for (int i = 0; i < n; i++) h->Name[i] = bytes[i];
        h->Name[n] = 0;
    }

    /// <summary>Makes <paramref name="handle"/> (a caller's or ours) the handle of <paramref name="kind"/>.</summary>
    internal static void Bind(MemkindHandle* handle, MemoryKind kind)
    {
        lock (s_lock)
        {
            handle->Code = kind.Id;
            Volatile.Write(ref s_byId[kind.Id], (nint)handle);
        }
    }

    /// <summary>Forgets the kind of a handle (its kind was destroyed); the handle itself stays.</summary>
    internal static void Unbind(void* handle)
    {
        var h = (MemkindHandle*)handle;
        lock (s_lock)
        {
            if (h->Code > 0 && (uint)h->Code < (uint)s_byId.Length && s_byId[h->Code] == (nint)h) Volatile.Write(ref s_byId[h->Code], 0);
            h->Code = 0;
        }
    }

    /// <summary>Forgets and frees a handle the library allocated.</summary>
    internal static void Release(void* handle)
    {
        var h = (MemkindHandle*)handle;
        if (h->Code < 0) return;
        Unbind(handle);
        if ((h->Flags & FlagAllocated) != 0) NativeMemory.Free(handle);
    }

    /// <summary>The handle of the kind that owns general-heap arena <paramref name="arena"/>, or null.</summary>
    internal static void* HandleOfArena(int arena)
    {
        foreach (MemoryKind k in MemoryKind.LiveKinds())
            if (k.ArenaIndices.Contains(arena)) return HandleOf(k);
        return null;
    }
}
