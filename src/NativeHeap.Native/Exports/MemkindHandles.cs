// MemkindHandles: the mapping between memkind's C handles (memkind_t = struct memkind *) and
// NativeHeap's MemoryKind objects.
//
// A handle points to a `struct memkind { int nh_code; }`. Predefined handles are C data
// (native/nh_kinds.c): code -1 - i for memkind.h's i-th predefined kind. Handles of kinds created at
// run time are allocated here (native memory, code = MemoryKind.Id) and freed when the kind is
// destroyed. Invariants: s_byId[id] is the live handle of kind id or 0; a predefined code maps to one
// fixed MemoryKind (or to "unavailable" for memkind kinds NativeHeap does not provide).
using System.Runtime.InteropServices;
using NativeHeap.Kinds;

namespace NativeHeap.Native.Exports;

internal static unsafe partial class MemkindHandles
{
    internal const int Predefined = 15;

    private static readonly nint[] s_byId = new nint[1024];
    private static readonly Lock s_lock = new();

    /// <summary>memkind.h's predefined kinds, in its order.</summary>
    private static readonly string[] s_names =
    [
        "MEMKIND_REGULAR", "MEMKIND_DEFAULT", "MEMKIND_HUGETLB", "MEMKIND_HBW", "MEMKIND_HBW_ALL", "MEMKIND_HBW_PREFERRED",
        "MEMKIND_HBW_HUGETLB", "MEMKIND_HBW_ALL_HUGETLB", "MEMKIND_HBW_PREFERRED_HUGETLB", "MEMKIND_HBW_INTERLEAVE",
        "MEMKIND_INTERLEAVE", "MEMKIND_DAX_KMEM", "MEMKIND_DAX_KMEM_ALL", "MEMKIND_DAX_KMEM_PREFERRED", "MEMKIND_DAX_KMEM_INTERLEAVE",
    ];

    /// <summary>The predefined handle with this index (native/nh_kinds.c).</summary>
    [LibraryImport("nh_kinds")]
    private static partial int* nh_memkind_predefined(int index);

    /// <summary>
    /// The MemoryKind a handle stands for, or null with <paramref name="unavailable"/> set when the
    /// handle is a memkind kind NativeHeap does not provide (HBW+hugetlb combinations, HBW interleave,
    /// DAX KMEM) or a destroyed/unknown kind.
    /// </summary>
    internal static MemoryKind? KindOf(void* handle, out bool unavailable)
    {
        unavailable = false;
        if (handle == null) return MemoryKind.Default;
        int code = *(int*)handle;
        if (code >= 0)
        {
            MemoryKind? k = (uint)code < (uint)s_byId.Length && s_byId[code] == (nint)handle ? MemoryKind.FromId(code) : null;
            unavailable = k == null;
            return k;
        }
        MemoryKind? kind = (-code - 1) switch
        {
            0 or 1 => MemoryKind.Default,          // REGULAR: general-purpose memory of the CPUs' nodes = the heap's default
            2 => MemoryKind.HugeTlb,
            3 or 4 => MemoryKind.Hbw,
            5 => MemoryKind.HbwPreferred,
            10 => MemoryKind.Interleave,
            _ => null,
        };
        unavailable = kind == null;
        return kind;
    }

    /// <summary>The name memkind gives a predefined handle, for messages.</summary>
    internal static string NameOf(void* handle)
    {
        if (handle == null) return "NULL";
        int code = *(int*)handle;
        return code < 0 && -code - 1 < Predefined ? s_names[-code - 1] : $"kind {code}";
    }

    /// <summary>The handle that stands for a kind (the predefined handle for predefined kinds).</summary>
    internal static void* HandleOf(MemoryKind kind)
    {
        if (kind == MemoryKind.Default) return nh_memkind_predefined(1);
        if (kind.Name == "hugetlb" && kind == MemoryKind.HugeTlb) return nh_memkind_predefined(2);
        if (kind.Name == "hbw" && kind == MemoryKind.Hbw) return nh_memkind_predefined(3);
        if (kind.Name == "hbw_preferred" && kind == MemoryKind.HbwPreferred) return nh_memkind_predefined(5);
        if (kind.Name == "interleave" && kind == MemoryKind.Interleave) return nh_memkind_predefined(10);
        lock (s_lock)
        {
            int id = kind.Id;
            if (s_byId[id] == 0)
            {
                int* h = (int*)NativeMemory.Alloc(sizeof(int));
                *h = id;
                s_byId[id] = (nint)h;
            }
            return (void*)s_byId[id];
        }
    }

    /// <summary>Forgets (and frees) the handle of a destroyed kind.</summary>
    internal static void Release(void* handle)
    {
        int code = *(int*)handle;
        if (code < 0) return;
        lock (s_lock)
        {
            if ((uint)code < (uint)s_byId.Length && s_byId[code] == (nint)handle)
            {
                s_byId[code] = 0;
                NativeMemory.Free(handle);
            }
        }
    }
}
