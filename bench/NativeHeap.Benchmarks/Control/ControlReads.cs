// ControlReads: the cost of control-namespace reads by name (string parsing + tree walk) and by a MIB
// translated once (integer walk only), next to jemalloc's mallctl/mallctlbymib when libjemalloc loads.
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace NativeHeap.Benchmarks.Control;

/// <summary>One operation = one read of <c>thread.allocated</c> (live) or <c>stats.allocated</c> (snapshot).</summary>
[BenchmarkCategory("Control")]
public unsafe class ControlReads
{
    private readonly nuint[] _threadMib = new nuint[HeapControl.MaxMibLength];
    private readonly nuint[] _statsMib = new nuint[HeapControl.MaxMibLength];
    private int _threadLen, _statsLen;
    private delegate* unmanaged<byte*, void*, nuint*, void*, nuint, int> _jeMallctl;
    private delegate* unmanaged<nuint*, nuint, void*, nuint*, void*, nuint, int> _jeByMib;
    private delegate* unmanaged<byte*, nuint*, nuint*, int> _jeNameToMib;
    private readonly nuint[] _jeMib = new nuint[8];
    private nuint _jeMibLen;
    private nint _jeName;

    /// <summary>Translates the names once; loads jemalloc when present.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Heap.Free(Heap.Malloc(16));
        HeapControl.NameToMib("thread.allocated", _threadMib, out _threadLen);
        HeapControl.NameToMib("stats.allocated", _statsMib, out _statsLen);
        HeapControl.RefreshStats();
        if (NativeLibrary.TryLoad("libjemalloc.so.2", out nint lib)
            && NativeLibrary.TryGetExport(lib, "mallctl", out nint ctl)
            && NativeLibrary.TryGetExport(lib, "mallctlbymib", out nint bymib)
            && NativeLibrary.TryGetExport(lib, "mallctlnametomib", out nint n2m))
        {
            _jeMallctl = (delegate* unmanaged<byte*, void*, nuint*, void*, nuint, int>)ctl;
            _jeByMib = (delegate* unmanaged<nuint*, nuint, void*, nuint*, void*, nuint, int>)bymib;
            _jeNameToMib = (delegate* unmanaged<byte*, nuint*, nuint*, int>)n2m;
            _jeName = Marshal.StringToCoTaskMemUTF8("thread.allocated");
            nuint len = 8;
            fixed (nuint* m = _jeMib) _jeNameToMib((byte*)_jeName, m, &len);
            _jeMibLen = len;
        }
        else
        {
            Console.WriteLine("libjemalloc.so.2 not loadable (apt-get install libjemalloc2; GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384): jemalloc rows report 0");
        }
    }

    /// <summary>NativeHeap: thread.allocated by name.</summary>
    [Benchmark]
    public ulong ThreadAllocatedByName()
    {
        HeapControl.Read("thread.allocated", out ulong v);
        return v;
    }

    /// <summary>NativeHeap: thread.allocated by MIB.</summary>
    [Benchmark(Baseline = true)]
    public ulong ThreadAllocatedByMib()
    {
        HeapControl.Read(_threadMib.AsSpan(0, _threadLen), out ulong v);
        return v;
    }

    /// <summary>NativeHeap: stats.allocated (snapshot) by MIB.</summary>
    [Benchmark]
    public ulong StatsAllocatedByMib()
    {
        HeapControl.Read(_statsMib.AsSpan(0, _statsLen), out ulong v);
        return v;
    }

    /// <summary>jemalloc: mallctl("thread.allocated").</summary>
    [Benchmark]
    public ulong JemallocThreadAllocatedByName()
    {
        if (_jeMallctl == null) return 0;
        ulong v = 0;
        nuint len = 8;
        _jeMallctl((byte*)_jeName, &v, &len, null, 0);
        return v;
    }

    /// <summary>jemalloc: mallctlbymib(thread.allocated).</summary>
    [Benchmark]
    public ulong JemallocThreadAllocatedByMib()
    {
        if (_jeByMib == null) return 0;
        ulong v = 0;
        nuint len = 8;
        fixed (nuint* m = _jeMib) _jeByMib(m, _jeMibLen, &v, &len, null, 0);
        return v;
    }
}
