// Libc.Profiling: the bindings the heap profiler needs — glibc's backtrace(3) for native return
// addresses and dladdr(3) to name them (dladdr is in libc.so.6 itself since glibc 2.34).
using System.Runtime.InteropServices;

namespace NativeHeap.Os;

internal static unsafe partial class Libc
{
    [LibraryImport(LibName, EntryPoint = "backtrace")]
    internal static partial int backtrace(void** buffer, int size);

    [LibraryImport(LibName, EntryPoint = "atexit")]
    internal static partial int atexit(delegate* unmanaged<void> function);

    [LibraryImport(LibName, EntryPoint = "dladdr")]
    internal static partial int dladdr(void* addr, DlInfo* info);
}

/// <summary>glibc's Dl_info (dlfcn.h): four pointers.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DlInfo
{
    public byte* FileName;     // dli_fname: path of the shared object holding the address
    public void* FileBase;     // dli_fbase: its load address
    public byte* SymbolName;   // dli_sname: nearest exported symbol at or below the address, or null
    public void* SymbolAddress; // dli_saddr
}
