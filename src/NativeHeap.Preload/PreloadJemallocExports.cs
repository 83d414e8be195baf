// PreloadJemallocExports: jemalloc's extended API (mallocx ... nallocx, the mallctl family,
// malloc_stats_print) for the drop-in library. native/preload/shim.c owns the public names and calls
// these only when the calling thread may enter C# and, for calls taking a pointer, the pointer is ours
// (NativeHeap's page map says so). Semantics are libnativeheap.so's (docs/c-abi.md): flags are
// jemalloc's bits (MallocFlags), no call sets errno (the shim restores it), a size of 0 is served as
// 1 byte, failures return NULL / 0 / the unchanged size; the mallctl family returns HeapControl's
// status (jemalloc's errno values), EFAULT for an unexpected failure.
using System.Runtime.InteropServices;
using NativeHeap.General;

namespace NativeHeap.Preload;

internal static unsafe class PreloadJemallocExports
{
    [UnmanagedCallersOnly(EntryPoint = "nhp_mallocx")]
    private static void* MallocX(nuint size, int flags)
    {
        try
        {
            return Heap.MallocX(size == 0 ? 1 : size, new MallocFlags(flags));
        }
        catch (Exception e) when (e is not HeapMisuseException)
        {
            return null;   // an arena or cache that does not exist, out of memory with oom:throw
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "nhp_rallocx")]
    private static void* RallocX(void* ptr, nuint size, int flags)
    {
        try
        {
            return Heap.RallocX(ptr, size == 0 ? 1 : size, new MallocFlags(flags));
        }
        catch (Exception e) when (e is not HeapMisuseException)
        {
            return null;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "nhp_xallocx")]
    private static nuint XallocX(void* ptr, nuint size, nuint extra, int flags)
    {
        try
        {
            return Heap.XallocX(ptr, size == 0 ? 1 : size, extra, new MallocFlags(flags));
        }
        catch (Exception e) when (e is not HeapMisuseException)
        {
            return Heap.UsableSize(ptr);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "nhp_sallocx")]
    private static nuint SallocX(void* ptr, int flags) => Heap.SallocX(ptr, new MallocFlags(flags));

    [UnmanagedCallersOnly(EntryPoint = "nhp_dallocx")]
    private static void DallocX(void* ptr, int flags) => Heap.DallocX(ptr, new MallocFlags(flags));

    [UnmanagedCallersOnly(EntryPoint = "nhp_sdallocx")]
    private static void SdallocX(void* ptr, nuint size, int flags) => Heap.SdallocX(ptr, size, new MallocFlags(flags));

    [UnmanagedCallersOnly(EntryPoint = "nhp_nallocx")]
    private static nuint NallocX(nuint size, int flags) => Heap.NallocX(size, new MallocFlags(flags));

    [UnmanagedCallersOnly(EntryPoint = "nhp_mallctl")]
    private static int Mallctl(byte* name, void* oldp, nuint* oldlenp, void* newp, nuint newlen)
    {
        try
        {
            return name == null ? 22 : (int)HeapControl.Ctl(Marshal.PtrToStringUTF8((nint)name)!, oldp, oldlenp, newp, newlen);
        }
        catch (Exception)
        {
            return 14;   // EFAULT
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "nhp_mallctlnametomib")]
    private static int NameToMib(byte* name, nuint* mibp, nuint* miblenp)
    {
        try
        {
            if (name == null || mibp == null || miblenp == null) return 22;
            var mib = new Span<nuint>(mibp, (int)Math.Min(*miblenp, (nuint)HeapControl.MaxMibLength));
            int rc = (int)HeapControl.NameToMib(Marshal.PtrToStringUTF8((nint)name)!, mib, out int n);
            if (rc == 0) *miblenp = (nuint)n;
            return rc;
        }
        catch (Exception)
        {
            return 14;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "nhp_mallctlbymib")]
    private static int ByMib(nuint* mib, nuint miblen, void* oldp, nuint* oldlenp, void* newp, nuint newlen)
    {
        try
        {
            if (mib == null) return 22;
            if (miblen > (nuint)HeapControl.MaxMibLength) return 2;   // ENOENT: deeper than any name
            return (int)HeapControl.Ctl(new ReadOnlySpan<nuint>(mib, (int)miblen), oldp, oldlenp, newp, newlen);
        }
        catch (Exception)
        {
            return 14;
        }
    }

    /// <summary>The statistics through write_cb (the shim passes malloc_message when the program gave none; stderr when neither), in pieces of whole lines.</summary>
    [UnmanagedCallersOnly(EntryPoint = "nhp_malloc_stats_print")]
    private static void StatsPrint(delegate* unmanaged<void*, byte*, void> writeCb, void* cbopaque, byte* opts)
    {
        try
        {
            string o = opts == null ? "" : new string(Marshal.PtrToStringUTF8((nint)opts)!.Where(c => "Jcgmabl".Contains(c)).ToArray());
            HeapMessages.WriteTo(HeapControl.FormatStats(o), writeCb, cbopaque);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("<nativeheap>: malloc_stats_print failed: " + e.Message);
        }
    }
}
