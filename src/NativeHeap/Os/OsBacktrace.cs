// OsBacktrace: native call stacks for the heap profiler. backtrace(3) walks the stack with libgcc's
// unwinder (DWARF .eh_frame); it reaches C callers through the NativeAOT library's own frames (ILC
// emits unwind tables) but stops at JIT-compiled frames, which have none — managed callers are
// captured with System.Diagnostics.StackTrace instead (HeapProfiler). Its first call loads
// libgcc_s.so.1, which allocates with malloc: Warm() makes that call early, outside any sample.
using System.Runtime.InteropServices;

namespace NativeHeap.Os;

internal static unsafe class OsBacktrace
{
    /// <summary>Fills <paramref name="frames"/> with return addresses, innermost first; returns how many (0..length). Never fails.</summary>
    internal static int Capture(void** frames, int length) => length <= 0 ? 0 : Libc.backtrace(frames, length);

    /// <summary>
    /// Registers <paramref name="function"/> to run at exit(3), before shared objects' destructors (a C
    /// program's exit raises no .NET ProcessExit in a NativeAOT library). False when libc refuses (no memory).
    /// </summary>
    internal static bool TryRegisterAtExit(delegate* unmanaged<void> function) => Libc.atexit(function) == 0;

    /// <summary>Makes backtrace's one-time initialisation (loading libgcc_s) happen now.</summary>
    internal static void Warm()
    {
        void** buf = stackalloc void*[4];
        Libc.backtrace(buf, 4);
    }

    /// <summary>
    /// The shared object and nearest exported symbol of <paramref name="address"/> (dladdr). False when
    /// no loaded object holds it. <paramref name="symbol"/> is null when no exported symbol precedes it.
    /// </summary>
    internal static bool TryDescribe(nint address, out string? module, out nint moduleBase, out string? symbol, out nint symbolAddress)
    {
        DlInfo info;
        module = symbol = null;
        moduleBase = symbolAddress = 0;
        if (Libc.dladdr((void*)address, &info) == 0) return false;
        module = info.FileName == null ? null : Marshal.PtrToStringUTF8((nint)info.FileName);
        moduleBase = (nint)info.FileBase;
        symbol = info.SymbolName == null ? null : Marshal.PtrToStringUTF8((nint)info.SymbolName);
        symbolAddress = (nint)info.SymbolAddress;
        return true;
    }
}
