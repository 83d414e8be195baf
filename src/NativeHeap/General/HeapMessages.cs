// HeapMessages: where the heap's messages go (option warnings, statistics printed at exit): stderr,
// unless a front end installs a sink — the C library routes them to jemalloc's malloc_message hook.
namespace NativeHeap.General;

internal static class HeapMessages
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
}
