// MemkindLibrary: libmemkind (Debian libmemkind0) loaded with NativeLibrary for side-by-side
// figures: memkind_malloc / memkind_free / memkind_detect_kind / memkind_create_pmem /
// memkind_destroy_kind through unmanaged function pointers with SuppressGCTransition (the cheapest
// way .NET can call C, so the comparison is not skewed by marshalling). Predefined kinds are exported
// data symbols (`memkind_t MEMKIND_DEFAULT`): their address comes from GetExport and is dereferenced.
using System.Runtime.InteropServices;

namespace NativeHeap.Benchmarks.Kinds;

internal sealed unsafe class MemkindLibrary
{
    internal const string SoName = "libmemkind.so.0";

    private MemkindLibrary(nint handle)
    {
        Handle = handle;
        Malloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, nuint, void*>)NativeLibrary.GetExport(handle, "memkind_malloc");
        Free = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, void*, void>)NativeLibrary.GetExport(handle, "memkind_free");
        DetectKind = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nint>)NativeLibrary.GetExport(handle, "memkind_detect_kind");
        CreatePmem = (delegate* unmanaged[Cdecl]<byte*, nuint, nint*, int>)NativeLibrary.GetExport(handle, "memkind_create_pmem");
        DestroyKind = (delegate* unmanaged[Cdecl]<nint, int>)NativeLibrary.GetExport(handle, "memkind_destroy_kind");
    }

    internal nint Handle { get; }
    internal delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, nuint, void*> Malloc { get; }
    internal delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, void*, void> Free { get; }
    internal delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nint> DetectKind { get; }
    internal delegate* unmanaged[Cdecl]<byte*, nuint, nint*, int> CreatePmem { get; }
    internal delegate* unmanaged[Cdecl]<nint, int> DestroyKind { get; }

    /// <summary>Loads libmemkind; throws with the apt-get line when it is missing.</summary>
    internal static MemkindLibrary Load()
    {
        if (!NativeLibrary.TryLoad(SoName, out nint h))
            throw new InvalidOperationException($"{SoName} is not available: apt-get install libmemkind0 (memkind figures skipped)");
        return new MemkindLibrary(h);
    }

    /// <summary>The value of an exported predefined kind (MEMKIND_DEFAULT, MEMKIND_HUGETLB...).</summary>
    internal nint Kind(string symbol) => *(nint*)NativeLibrary.GetExport(Handle, symbol);

    /// <summary>A pmem kind on <paramref name="directory"/> (memkind_create_pmem).</summary>
    internal nint CreatePmemKind(string directory, nuint maxSize)
    {
        byte[] path = System.Text.Encoding.UTF8.GetBytes(directory + "\0");
        nint kind;
        fixed (byte* p = path)
        {
            int err = CreatePmem(p, maxSize, &kind);
            if (err != 0) throw new InvalidOperationException($"memkind_create_pmem({directory}) failed: {err}");
        }
        return kind;
    }
}
