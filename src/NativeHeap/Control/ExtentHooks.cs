// ExtentHooks: the bridge between jemalloc's C extent hooks (extent_hooks_t, nine function pointers)
// and NativeHeap's IMemorySource, in both directions, for arena.<i>.extent_hooks and arenas.create.
//
//  - C → C#: CExtentHooksSource wraps a caller's extent_hooks_t* as an IMemorySource. jemalloc's hooks
//    return false on success ("true = failed / opted out"); a null hook means "not supported".
//  - C# → C: TableFor(source) returns an extent_hooks_t* whose functions call the managed source; the
//    table is followed by the source's registry id, so one set of trampolines serves every source.
//    Reading arena.0.extent_hooks from C therefore gives working default hooks that a program can wrap,
//    or copy and partly override, as jemalloc users do (a copied table reaches the default source).
// Invariants: a trampoline table lives for the process (tables are few: one per source read); a
// trampoline never lets an exception cross into C (it reports failure instead).
using System.Runtime.InteropServices;
using NativeHeap.General;

namespace NativeHeap.Control;

/// <summary>jemalloc's extent_hooks_t layout.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ExtentHooksTable
{
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, nuint, byte*, byte*, uint, void*> Alloc;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, byte, uint, byte> Dalloc;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, byte, uint, void> Destroy;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, nuint, nuint, uint, byte> Commit;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, nuint, nuint, uint, byte> Decommit;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, nuint, nuint, uint, byte> PurgeLazy;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, nuint, nuint, uint, byte> PurgeForced;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, nuint, nuint, byte, uint, byte> Split;
    public delegate* unmanaged<ExtentHooksTable*, void*, nuint, void*, nuint, byte, uint, byte> Merge;
}

/// <summary>A trampoline table: the C view, then the id of the managed source it calls.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TrampolineTable
{
    public ExtentHooksTable Hooks;
    public int SourceId;
}

/// <summary>An IMemorySource that calls a C program's extent hooks.</summary>
internal sealed unsafe class CExtentHooksSource(ExtentHooksTable* table) : IMemorySource
{
    public ExtentHooksTable* Table { get; } = table;

    /// <summary>The arena index passed to the hooks (the arena the source was created for).</summary>
    public uint ArenaIndex { get; set; }

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = false;
        if (Table->Alloc == null) return null;
        byte zero = 0, commit = 1;
        void* p = Table->Alloc(Table, at, size, alignment, &zero, &commit, ArenaIndex);
        if (p == null) return null;
        if (commit == 0 && (Table->Commit == null || Table->Commit(Table, p, size, 0, size, ArenaIndex) != 0))
        {
            TryRelease(p, size);
            return null;
        }
        zeroed = zero != 0;
        return p;
    }

    public bool TryRelease(void* address, nuint size)
        => Table->Dalloc != null && Table->Dalloc(Table, address, size, 1, ArenaIndex) == 0;

    public bool TryCommit(void* address, nuint size)
        => Table->Commit != null && Table->Commit(Table, address, size, 0, size, ArenaIndex) == 0;

    public bool TryDecommit(void* address, nuint size)
        => Table->Decommit != null && Table->Decommit(Table, address, size, 0, size, ArenaIndex) == 0;

    public bool TryPurgeLazy(void* address, nuint size)
        => Table->PurgeLazy != null && Table->PurgeLazy(Table, address, size, 0, size, ArenaIndex) == 0;

    public bool TryPurgeForced(void* address, nuint size)
        => Table->PurgeForced != null && Table->PurgeForced(Table, address, size, 0, size, ArenaIndex) == 0;

    public bool TrySplit(void* address, nuint size, nuint firstSize)
        => Table->Split != null && Table->Split(Table, address, size, firstSize, size - firstSize, 1, ArenaIndex) == 0;

    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize)
        => Table->Merge != null && Table->Merge(Table, first, firstSize, second, secondSize, 1, ArenaIndex) == 0;
}

internal static unsafe class ExtentHooks
{
    private static readonly Dictionary<int, nint> s_tables = [];
    private static readonly HashSet<nint> s_ours = [];
    private static readonly Lock s_lock = new();

    /// <summary>The extent_hooks_t* that stands for <paramref name="source"/> (its own table for C hooks).</summary>
    public static nint TableFor(IMemorySource source)
    {
        if (source is CExtentHooksSource c) return (nint)c.Table;
        int id = MemorySources.Register(source);
        lock (s_lock)
        {
            if (s_tables.TryGetValue(id, out nint existing)) return existing;
            var t = (TrampolineTable*)NativeMemory.AllocZeroed((nuint)sizeof(TrampolineTable));
            t->Hooks.Alloc = &AllocHook;
            t->Hooks.Dalloc = &DallocHook;
            t->Hooks.Destroy = &DestroyHook;
            t->Hooks.Commit = &CommitHook;
            t->Hooks.Decommit = &DecommitHook;
            t->Hooks.PurgeLazy = &PurgeLazyHook;
            t->Hooks.PurgeForced = &PurgeForcedHook;
            t->Hooks.Split = &SplitHook;
            t->Hooks.Merge = &MergeHook;
            t->SourceId = id;
            s_tables[id] = (nint)t;
            s_ours.Add((nint)t);
            return (nint)t;
        }
    }

    /// <summary>The memory source for an extent_hooks_t* written by a caller (ours map back to their managed source).</summary>
    /// <exception cref="ArgumentException">The pointer is null.</exception>
    public static IMemorySource SourceFor(nint table)
    {
        if (table == 0) throw new ArgumentException("NativeHeap: extent_hooks_t* must not be null");
        lock (s_lock)
        {
            if (s_ours.Contains(table)) return MemorySources.Get(((TrampolineTable*)table)->SourceId);
        }
        return new CExtentHooksSource((ExtentHooksTable*)table);
    }

    /// <summary>
    /// The managed source a trampoline serves. A program may copy a table it read (to override a few
    /// hooks, as jemalloc's users do) and call the copied functions with its own table as the first
    /// argument, which then has no source id after it: those calls go to the heap's default source,
    /// as jemalloc's default hooks ignore their table argument.
    /// </summary>
    private static IMemorySource Of(ExtentHooksTable* t)
    {
        lock (s_lock)
        {
            if (s_ours.Contains((nint)t)) return MemorySources.Get(((TrampolineTable*)t)->SourceId);
        }
        return MemorySources.Get(Heap.DefaultSourceId);
    }

    private static byte Fail(bool ok) => ok ? (byte)0 : (byte)1;

    [UnmanagedCallersOnly]
    private static void* AllocHook(ExtentHooksTable* t, void* at, nuint size, nuint alignment, byte* zero, byte* commit, uint arena)
    {
        try
        {
            void* p = Of(t).Allocate(at, size, alignment, out bool zeroed);
            if (p != null)
            {
                *zero = zeroed ? (byte)1 : (byte)0;
                *commit = 1;
            }
            return p;
        }
        catch (Exception)
        {
            return null;
        }
    }

    [UnmanagedCallersOnly]
    private static byte DallocHook(ExtentHooksTable* t, void* addr, nuint size, byte committed, uint arena)
    {
        try { return Fail(Of(t).TryRelease(addr, size)); } catch (Exception) { return 1; }
    }

    [UnmanagedCallersOnly]
    private static void DestroyHook(ExtentHooksTable* t, void* addr, nuint size, byte committed, uint arena)
    {
        try { Of(t).TryRelease(addr, size); } catch (Exception) { /* nothing can be reported to the caller */ }
    }

    [UnmanagedCallersOnly]
    private static byte CommitHook(ExtentHooksTable* t, void* addr, nuint size, nuint offset, nuint length, uint arena)
    {
        try { return Fail(Of(t).TryCommit((byte*)addr + offset, length)); } catch (Exception) { return 1; }
    }

    [UnmanagedCallersOnly]
    private static byte DecommitHook(ExtentHooksTable* t, void* addr, nuint size, nuint offset, nuint length, uint arena)
    {
        try { return Fail(Of(t).TryDecommit((byte*)addr + offset, length)); } catch (Exception) { return 1; }
    }

    [UnmanagedCallersOnly]
    private static byte PurgeLazyHook(ExtentHooksTable* t, void* addr, nuint size, nuint offset, nuint length, uint arena)
    {
        try { return Fail(Of(t).TryPurgeLazy((byte*)addr + offset, length)); } catch (Exception) { return 1; }
    }

    [UnmanagedCallersOnly]
    private static byte PurgeForcedHook(ExtentHooksTable* t, void* addr, nuint size, nuint offset, nuint length, uint arena)
    {
        try { return Fail(Of(t).TryPurgeForced((byte*)addr + offset, length)); } catch (Exception) { return 1; }
    }

    [UnmanagedCallersOnly]
    private static byte SplitHook(ExtentHooksTable* t, void* addr, nuint size, nuint sizeA, nuint sizeB, byte committed, uint arena)
    {
        try { return Fail(Of(t).TrySplit(addr, size, sizeA)); } catch (Exception) { return 1; }
    }

    [UnmanagedCallersOnly]
    private static byte MergeHook(ExtentHooksTable* t, void* a, nuint sizeA, void* b, nuint sizeB, byte committed, uint arena)
    {
        try { return Fail(Of(t).TryMerge(a, sizeA, b, sizeB)); } catch (Exception) { return 1; }
    }
}
