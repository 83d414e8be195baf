// StatsOutput: where text for the C caller goes — a write callback, or jemalloc's malloc_message hook
// (a data symbol the program may set, native/nh_jemalloc.c), or stderr — in pieces of whole lines.
using System.Text;

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
        if (writeCb == null)
        {
            Console.Error.Write(text);
            Console.Error.Flush();
            return;
        }
        // Whole lines, at most ~4 KiB per call (jemalloc's emitter buffers the same way).
        int start = 0;
        while (start < text.Length)
        {
            int end = Math.Min(text.Length, start + 4000);
            if (end < text.Length)
            {
                int nl = text.LastIndexOf('\n', end - 1, end - start);
                if (nl >= start) end = nl + 1;
            }
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text.AsSpan(start, end - start)) + 1];
            Encoding.UTF8.GetBytes(text.AsSpan(start, end - start), bytes);
            fixed (byte* buf = bytes) writeCb(cbopaque, buf);   // the array's last byte is the NUL
            start = end;
        }
    }
}
