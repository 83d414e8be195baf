// The C path (native/nh_ao_malloc.c) and the C# heap share one format (LockFreeLayout.cs). These tests
// compile the C file on its own into a small shared library (gcc, no .NET runtime inside), then
//  - compare every entry of its exported table nh_ao_layout (offsetof/sizeof of the shared structs and
//    every constant) with the C# view (Marshal.OffsetOf, sizeof, the constants), and
//  - attach a C# LockFreeHeap to the C library's static heap (nh_ao_heap) and allocate and free across
//    the two sides, checking contents and the shared heap's own accounting (Validate).
using System.Runtime.InteropServices;
using NativeHeap.LockFree;
using NativeHeap.Tests.Native;

namespace NativeHeap.Tests.LockFree;

public sealed unsafe class LockFreeLayoutTests
{
    private static readonly Lazy<nint> s_library = new(() =>
    {
        string dir = Path.Combine(Path.GetTempPath(), $"nh-ao-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string so = Path.Combine(dir, "libnh_ao_malloc.so");
        string root = NativeBuild.RepoRoot;
        NativeBuild.Result r = NativeBuild.Run("gcc",
            ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-I" + Path.Combine(root, "include"),
             Path.Combine(root, "native", "nh_ao_malloc.c"), "-o", so], TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.ToString());
        return NativeLibrary.Load(so);
    });

    private static Dictionary<string, long> CTable()
    {
        var table = (nint*)NativeLibrary.GetExport(s_library.Value, "nh_ao_layout");
        var values = new Dictionary<string, long>();
        for (nint* e = table; e[0] != 0; e += 2) values.Add(Marshal.PtrToStringUTF8(e[0])!, (long)e[1]);
        return values;
    }

    private static long Off<T>(string field) => (long)Marshal.OffsetOf<T>(field);

    private static Dictionary<string, long> CSharpView() => new()
    {
        ["sizeof(HeapHeader)"] = sizeof(HeapHeader),
        ["nh_heap.magic"] = Off<HeapHeader>(nameof(HeapHeader.Magic)),
        ["nh_heap.arena"] = Off<HeapHeader>(nameof(HeapHeader.Arena)),
        ["nh_heap.descs"] = Off<HeapHeader>(nameof(HeapHeader.Descs)),
        ["nh_heap.bitmap"] = Off<HeapHeader>(nameof(HeapHeader.Bitmap)),
        ["nh_heap.actives"] = Off<HeapHeader>(nameof(HeapHeader.Actives)),
        ["nh_heap.partial"] = Off<HeapHeader>(nameof(HeapHeader.Partial)),
        ["nh_heap.chunks"] = Off<HeapHeader>(nameof(HeapHeader.Chunks)),
        ["nh_heap.chunk_hash"] = Off<HeapHeader>(nameof(HeapHeader.ChunkHash)),
        ["nh_heap.arena_units"] = Off<HeapHeader>(nameof(HeapHeader.ArenaUnits)),
        ["nh_heap.chunk_unit_base"] = Off<HeapHeader>(nameof(HeapHeader.ChunkUnitBase)),
        ["nh_heap.max_chunks"] = Off<HeapHeader>(nameof(HeapHeader.MaxChunks)),
        ["nh_heap.row_mask"] = Off<HeapHeader>(nameof(HeapHeader.RowMask)),
        ["nh_heap.chunk_count"] = Off<HeapHeader>(nameof(HeapHeader.ChunkCount)),
        ["nh_heap.mmap_enabled"] = Off<HeapHeader>(nameof(HeapHeader.MmapEnabled)),
        ["nh_heap.large_count"] = Off<HeapHeader>(nameof(HeapHeader.LargeCount)),
        ["nh_heap.large_bytes"] = Off<HeapHeader>(nameof(HeapHeader.LargeBytes)),
        ["nh_heap.rejected_frees"] = Off<HeapHeader>(nameof(HeapHeader.RejectedFrees)),
        ["nh_heap.mapping_size"] = Off<HeapHeader>(nameof(HeapHeader.MappingSize)),
        ["nh_heap.arena_size"] = Off<HeapHeader>(nameof(HeapHeader.ArenaSize)),
        ["sizeof(Descriptor)"] = sizeof(Descriptor),
        ["nh_desc.anchor"] = Off<Descriptor>(nameof(Descriptor.Anchor)),
        ["nh_desc.next"] = Off<Descriptor>(nameof(Descriptor.Next)),
        ["nh_desc.kind"] = Off<Descriptor>(nameof(Descriptor.Kind)),
        ["nh_desc.size_class"] = Off<Descriptor>(nameof(Descriptor.SizeClass)),
        ["nh_desc.block_size"] = Off<Descriptor>(nameof(Descriptor.BlockSize)),
        ["nh_desc.max_count"] = Off<Descriptor>(nameof(Descriptor.MaxCount)),
        ["nh_desc.units"] = Off<Descriptor>(nameof(Descriptor.Units)),
        ["Magic"] = unchecked((long)LockFreeLayout.Magic),
        ["UnitShift"] = LockFreeLayout.UnitShift,
        ["SuperblockClassCount"] = LockFreeLayout.SuperblockClassCount,
        ["ClassCount"] = LockFreeSizeClasses.Count,
        ["MaxCredits"] = LockFreeLayout.MaxCredits,
        ["ChunkShift"] = LockFreeLayout.ChunkShift,
        ["MaxChunks"] = LockFreeLayout.MaxChunks,
        ["ChunkHashSlots"] = LockFreeLayout.ChunkHashSlots,
        ["ActiveRowWords"] = LockFreeLayout.ActiveRowWords,
        ["PartialStrideWords"] = LockFreeLayout.PartialStrideWords,
        ["AvailMask"] = (long)LockFreeLayout.AvailMask,
        ["CountShift"] = LockFreeLayout.CountShift,
        ["StateShift"] = LockFreeLayout.StateShift,
        ["TagOne"] = (long)LockFreeLayout.TagOne,
        ["Active"] = (long)LockFreeLayout.Active,
        ["Full"] = (long)LockFreeLayout.Full,
        ["Partial"] = (long)LockFreeLayout.Partial,
        ["Empty"] = (long)LockFreeLayout.Empty,
        ["KindFree"] = LockFreeLayout.KindFree,
        ["KindSuperblock"] = LockFreeLayout.KindSuperblock,
        ["KindRun"] = LockFreeLayout.KindRun,
        ["KindRunContinuation"] = LockFreeLayout.KindRunContinuation,
        ["MaxSmallSize"] = LockFreeHeap.MaxSmallSize,
        ["MaxSuperblockSize"] = LockFreeSizeClasses.MaxSuperblockSize,
        ["LargeHeaderSize"] = LockFreeLargeObjects.HeaderSize,
    };

    [CAbiFact]
    public void CAndCSharpAgreeOnEveryOffsetSizeAndConstant()
    {
        Dictionary<string, long> c = CTable(), cs = CSharpView();
        Assert.Equal(cs.Keys.Order(), c.Keys.Order()); // nothing exported by one side only
        foreach ((string name, long value) in cs) Assert.True(c[name] == value, $"{name}: C says {c[name]}, C# says {value}");
    }

    [CAbiFact]
    public void CSharpAndCShareOneHeap()
    {
        nint lib = s_library.Value;
        var aoMalloc = (delegate* unmanaged<nuint, void*>)NativeLibrary.GetExport(lib, "AO_malloc");
        var aoFree = (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(lib, "AO_free");
        var aoHeap = (delegate* unmanaged<void*>)NativeLibrary.GetExport(lib, "nh_ao_heap");
        var aoEnableMmap = (delegate* unmanaged<void>)NativeLibrary.GetExport(lib, "AO_malloc_enable_mmap");
        // AO_free keeps small blocks in a per-thread cache (C only); this returns them to the shared heap.
        var aoFlush = (delegate* unmanaged<void>)NativeLibrary.GetExport(lib, "nh_ao_thread_flush");
        using LockFreeHeap shared = LockFreeHeap.Attach(aoHeap());
        Assert.Equal((nuint)LockFreeHeap.DefaultHeapSize, shared.HeapSize);

        // Blocks allocated in C are freed by C# and the other way round, for every class.
        var fromC = new List<nint>();
        var fromCs = new List<nint>();
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++)
        {
            nuint size = Math.Min(LockFreeHeap.SizeClassBlockSize(c), LockFreeHeap.MaxSmallSize);
            for (int i = 0; i < 4; i++)
            {
                var a = (byte*)aoMalloc(size);
                var b = (byte*)shared.Allocate(size);
                Assert.True(a != null && b != null, $"class {c}");
                Assert.True(shared.ArenaContains(a) && shared.ArenaContains(b));
                new Span<byte>(a, (int)size).Fill((byte)(c + 1));
                new Span<byte>(b, (int)size).Fill((byte)(c + 101));
                fromC.Add((nint)a);
                fromCs.Add((nint)b);
            }
        }
        aoFlush(); // the C refills took more blocks than they returned: back to the superblocks
        LockFreeHeapStats live = shared.Validate();
        Assert.Equal(8, live.LiveBlocks(0));
        foreach (nint p in fromC) Assert.True(shared.TryFree((void*)p));
        foreach (nint p in fromCs) aoFree((void*)p);
        aoFlush();
        LockFreeHeapStats after = shared.Validate();
        for (int c = 0; c < LockFreeHeap.SizeClassCount; c++) Assert.Equal(0, after.LiveBlocks(c));
        Assert.Equal(0, after.RejectedFrees);

        // A large object mapped by C (after AO_malloc_enable_mmap) is unmapped by C#.
        aoEnableMmap();
        Assert.True(shared.IsMmapEnabled);
        void* big = aoMalloc(1 << 20);
        Assert.True(big != null);
        Assert.Equal(1, shared.Validate().LargeObjects);
        Assert.True(shared.TryFree(big));
        Assert.Equal(0, shared.Validate().LargeObjects);
    }
}
