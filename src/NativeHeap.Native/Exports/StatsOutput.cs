// StatsOutput: where text for the C caller goes — a write callback, or jemalloc's malloc_message hook
// (a data symbol the program may set, native/nh_jemalloc.c), or stderr — in pieces of whole lines.
using NativeHeap.General;

namespace NativeHeap.Native.Exports;

internal static unsafe partial class StatsOutput
{
    /// <summary>The address of the malloc_message variable (native/nh_jemalloc.c).</summary>
    [System.Runtime.InteropServices.LibraryImport("nh_jemalloc")]
    private static partial delegate* unmanaged<void*, byte*, void>* nh_malloc_message_slot();

    /// <summary>The program's malloc_conf string (native/nh_jemalloc.c), or null.</summary>
    [System.Runtime.InteropServices.LibraryImport("nh_jemalloc")]
    internal static partial byte* nh_malloc_conf_value();

    /// <summary>The program's malloc_message hook, or null.</summary>
    internal static delegate* unmanaged<void*, byte*, void> MessageHook => *nh_malloc_message_slot();

    /// <summary>Writes <paramref name="text"/> through <paramref name="writeCb"/>, else malloc_message, else stderr.</summary>
    internal static void Write(string text, delegate* unmanaged<void*, byte*, void> writeCb, void* cbopaque)
    {
        if (writeCb == null)
        {
            writeCb = MessageHook;
            cbopaque = null;
        }
        HeapMessages.WriteTo(text, writeCb, cbopaque);
    }
}
