// HeapMessages: where the heap's messages go (option warnings, statistics printed at exit): stderr,
// unless a front end installs a sink — the C library routes them to jemalloc's malloc_message hook.
namespace NativeHeap.General;

internal static unsafe class HeapMessages
{
    /// <summary>Receives each message (text with its newlines); null: stderr.</summary>
    internal static Action<string>? Sink;

    /// <summary>Writes <paramref name="text"/> to the sink, or stderr.</summary>
    internal static void Write(string text)
    {
        Action<string>? sink = Sink;
        if (sink != null)
        {
            sink(text);
            return;
        }
        Console.Error.Write(text);
        Console.Error.Flush();
    }

    /// <summary>
    /// Writes <paramref name="text"/> through a C callback (jemalloc's <c>write_cb(cbopaque, s)</c>) in
    /// NUL-terminated pieces of whole lines, at most ~4,000 characters each (jemalloc's emitter buffers
    /// the same way); to stderr when <paramref name="writeCb"/> is null. Not on any allocation path.
    /// </summary>
    internal static void WriteTo(string text, delegate* unmanaged<void*, byte*, void> writeCb, void* cbopaque)
    {
        if (writeCb == null)
        {
            Console.Error.Write(text);
            Console.Error.Flush();
            return;
        }
        int start = 0;
        while (start < text.Length)
        {
            int end = Math.Min(text.Length, start + 4000);
            if (end < text.Length)
            {
                int nl = text.LastIndexOf('\n', end - 1, end - start);
                if (nl >= start) end = nl + 1;
            }
            byte[] bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(start, end - start)) + 1];
            System.Text.Encoding.UTF8.GetBytes(text.AsSpan(start, end - start), bytes);
            fixed (byte* buf = bytes) writeCb(cbopaque, buf);   // the array's last byte is the NUL
            start = end;
        }
    }
}
