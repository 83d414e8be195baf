// PmemobjPeer: libpmemobj (PMDK's transactional persistent-memory object store) loaded at run time,
// the peer for mapped heaps: pmemobj_create a pool file, pmemobj_alloc / pmemobj_free objects in it.
// Calls go through `delegate* unmanaged` function pointers from NativeLibrary.GetExport. When the
// library is missing, TryLoad says so and names the package (apt-get install libpmemobj1).
using System.Runtime.InteropServices;

namespace NativeHeap.Benchmarks.Peers;

/// <summary>PMEMoid: a persistent object id, the pool's uuid and the object's offset in it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PmemOid
{
    public ulong PoolUuidLo;
    public ulong Offset;
}

internal sealed unsafe class PmemobjPeer : IDisposable
{
    internal const string SoName = "libpmemobj.so.1";
    internal const string AptInstall = "apt-get install libpmemobj1";

    private readonly delegate* unmanaged<byte*, byte*, nuint, uint, void*> _create;
    private readonly delegate* unmanaged<void*, void> _close;
    private readonly delegate* unmanaged<void*, PmemOid*, nuint, ulong, void*, void*, int> _alloc;
    private readonly delegate* unmanaged<PmemOid*, void> _free;
    private readonly delegate* unmanaged<byte*> _errormsg;
    private void* _pool;

    private PmemobjPeer(nint lib)
    {
        _create = (delegate* unmanaged<byte*, byte*, nuint, uint, void*>)NativeLibrary.GetExport(lib, "pmemobj_create");
        _close = (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(lib, "pmemobj_close");
        _alloc = (delegate* unmanaged<void*, PmemOid*, nuint, ulong, void*, void*, int>)NativeLibrary.GetExport(lib, "pmemobj_alloc");
        _free = (delegate* unmanaged<PmemOid*, void>)NativeLibrary.GetExport(lib, "pmemobj_free");
        _errormsg = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(lib, "pmemobj_errormsg");
    }

    /// <summary>Loads libpmemobj and creates a pool of <paramref name="poolSize"/> bytes at <paramref name="path"/> (which must not exist).</summary>
    internal static bool TryCreate(string path, long poolSize, out PmemobjPeer? peer, out string reason)
    {
        peer = null;
        if (!NativeLibrary.TryLoad(SoName, out nint lib))
        {
            reason = $"{SoName} is not installed: {AptInstall}";
            return false;
        }
        var p = new PmemobjPeer(lib);
        byte[] pathBytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        byte[] layout = "nheap-bench\0"u8.ToArray();
        fixed (byte* pp = pathBytes, pl = layout)
        {
            p._pool = p._create(pp, pl, (nuint)poolSize, 0x1A4);
        }
        if (p._pool == null)
        {
            reason = "pmemobj_create failed: " + Marshal.PtrToStringUTF8((nint)p._errormsg());
            return false;
        }
        peer = p;
        reason = "";
        return true;
    }

    /// <summary>pmemobj_alloc without a constructor; false when the pool is full.</summary>
    internal bool TryAlloc(nuint size, PmemOid* oid) => _alloc(_pool, oid, size, 1, null, null) == 0;

    /// <summary>pmemobj_free: frees the object and zeroes the oid.</summary>
    internal void Free(PmemOid* oid) => _free(oid);

    public void Dispose()
    {
        if (_pool != null) _close(_pool);
        _pool = null;
    }
}
