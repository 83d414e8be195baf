// Memory kinds vs libmemkind, in one run: malloc+free pairs of one size on one thread (the kind's
// thread-cache fast path), and detect-kind on a live pointer. Kinds: default, interleave, hugetlb (needs
// reserved 2 MiB pages), pmem (a file in the temp directory, 1 GiB maximum). One operation = one
// pair or one detection.
using BenchmarkDotNet.Attributes;
using NativeHeap.Kinds;

namespace NativeHeap.Benchmarks.Kinds;

/// <summary>Resolves the benchmark's kind in NativeHeap and in memkind.</summary>
internal static class BenchKinds
{
    internal const long PmemMax = 1L << 30;

    internal static MemoryKind NativeHeapKind(string name, out string? pmemDir)
    {
        pmemDir = null;
        switch (name)
        {
            case "default": return MemoryKind.Default;
            case "interleave": return MemoryKind.Interleave;
            case "hugetlb":
                if (!MemoryKind.HugeTlb.CheckAvailable(out string why)) throw new InvalidOperationException(why);
                return MemoryKind.HugeTlb;
            case "pmem":
                pmemDir = Directory.CreateTempSubdirectory("nheap-bench-pmem").FullName;
                if (!MemoryKind.TryCreatePmem(pmemDir, PmemMax, out MemoryKind? kind, out string error)) throw new InvalidOperationException(error);
                return kind!;
            default: throw new ArgumentException(name);
        }
    }

    internal static nint MemkindKind(MemkindLibrary lib, string name, out string? pmemDir)
    {
        pmemDir = null;
        switch (name)
        {
            case "default": return lib.Kind("MEMKIND_DEFAULT");
            case "interleave": return lib.Kind("MEMKIND_INTERLEAVE");
            case "hugetlb": return lib.Kind("MEMKIND_HUGETLB");
            case "pmem":
                pmemDir = Directory.CreateTempSubdirectory("memkind-bench-pmem").FullName;
                return lib.CreatePmemKind(pmemDir, (nuint)PmemMax);
            default: throw new ArgumentException(name);
        }
    }
}

/// <summary>malloc+free pairs per kind and size, NativeHeap kinds vs libmemkind.</summary>
[BenchmarkCategory("Kinds")]
public unsafe class KindAllocFree
{
    private const int Pairs = 1024;
    private MemoryKind _kind = null!;
    private MemkindLibrary _memkind = null!;
    private nint _mkKind;
    private string? _dir;

    /// <summary>The kind.</summary>
    [Params("default", "interleave", "hugetlb", "pmem")]
    public string Kind { get; set; } = "";

    /// <summary>Block size in bytes.</summary>
    [Params(64, 1024, 65536)]
    public int Size { get; set; }

    /// <summary>NativeHeap's kind.</summary>
    [GlobalSetup(Target = nameof(NativeHeapKind))]
    public void SetupNativeHeap() => _kind = BenchKinds.NativeHeapKind(Kind, out _dir);

    /// <summary>memkind's kind (throws, so the case reports NA, when libmemkind is missing).</summary>
    [GlobalSetup(Target = nameof(Memkind))]
    public void SetupMemkind()
    {
        _memkind = MemkindLibrary.Load();
        _mkKind = BenchKinds.MemkindKind(_memkind, Kind, out _dir);
    }

    /// <summary>Removes the pmem directory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        if (_dir != null) Directory.Delete(_dir, true);
    }

    /// <summary>MemoryKind.Malloc then MemoryKind.Free (bare pointer).</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long NativeHeapKind()
    {
        MemoryKind kind = _kind;
        nuint size = (nuint)Size;
        long sum = 0;
        for (int i = 0; i < Pairs; i++)
        {
            byte* p = (byte*)kind.Malloc(size);
            sum += (nint)p & 0xFF;
            MemoryKind.Free(p);
        }
        return sum;
    }

    /// <summary>memkind_malloc then memkind_free(NULL kind: detected, as MemoryKind.Free does).</summary>
    [Benchmark(OperationsPerInvoke = Pairs, Baseline = true)]
    public long Memkind()
    {
        var malloc = _memkind.Malloc;
        var free = _memkind.Free;
        nint kind = _mkKind;
        nuint size = (nuint)Size;
        long sum = 0;
        for (int i = 0; i < Pairs; i++)
        {
            byte* p = (byte*)malloc(kind, size);
            sum += (nint)p & 0xFF;
            free(0, p);
        }
        return sum;
    }
}

/// <summary>detect-kind on a live 64-byte block, NativeHeap vs libmemkind.</summary>
[BenchmarkCategory("Kinds")]
public unsafe class KindDetect
{
    private const int Lookups = 1024;
    private MemkindLibrary _memkind = null!;
    private nint _mkKind;
    private void* _block;
    private string? _dir;

    /// <summary>The kind.</summary>
    [Params("default", "pmem")]
    public string Kind { get; set; } = "";

    /// <summary>A block of NativeHeap's kind.</summary>
    [GlobalSetup(Target = nameof(NativeHeapDetect))]
    public void SetupNativeHeap() => _block = BenchKinds.NativeHeapKind(Kind, out _dir).Malloc(64);

    /// <summary>A block of memkind's kind.</summary>
    [GlobalSetup(Target = nameof(MemkindDetect))]
    public void SetupMemkind()
    {
        _memkind = MemkindLibrary.Load();
        _mkKind = BenchKinds.MemkindKind(_memkind, Kind, out _dir);
        _block = _memkind.Malloc(_mkKind, 64);
    }

    /// <summary>Removes the pmem directory.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        if (_dir != null) Directory.Delete(_dir, true);
    }

    /// <summary>MemoryKind.DetectKind.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public long NativeHeapDetect()
    {
        void* p = _block;
        long sum = 0;
        for (int i = 0; i < Lookups; i++) sum += MemoryKind.DetectKind((byte*)p + (i & 63))!.Slot;
        return sum;
    }

    /// <summary>memkind_detect_kind.</summary>
    [Benchmark(OperationsPerInvoke = Lookups, Baseline = true)]
    public long MemkindDetect()
    {
        var detect = _memkind.DetectKind;
        void* p = _block;
        long sum = 0;
        for (int i = 0; i < Lookups; i++) sum += detect((byte*)p + (i & 63)) & 0xFF;
        return sum;
    }
}
