// HeapDiagnostics: where NativeHeap's warnings go (a NATIVEHEAP_CONF key it does not know, a failed
// stats print at exit). Each warning is written, in this order, to the "NativeHeap" EventSource
// (dotnet-trace, EventListener), to the Warning event (a plain callback, no logging framework
// needed) and to stderr as "<nativeheap>: ..." lines (as jemalloc does; C programs and LD_PRELOAD
// users have nothing else; in the C library, jemalloc's malloc_message hook when the program sets one),
// unless WarningsToStandardError is turned off.
// Not on any allocation path. In NativeAOT builds without EventSource support the event source is
// never created.
using System.Diagnostics.Tracing;

namespace NativeHeap;

/// <summary>Where NativeHeap's warnings go: the <see cref="NativeHeapEventSource"/>, the <see cref="Warning"/> event, and stderr.</summary>
public static class HeapDiagnostics
{
    private static readonly bool s_eventSourceSupported =
        !AppContext.TryGetSwitch("System.Diagnostics.Tracing.EventSource.IsSupported", out bool supported) || supported;

    /// <summary>Raised for every warning, with its text (e.g. <c>&lt;nativeheap&gt;: Invalid conf pair: bogus:1; ignored</c>). Handlers must not throw.</summary>
    public static event Action<string>? Warning;

    /// <summary>
    /// Whether warnings are also written to stderr (default true, as jemalloc does). Set it to false
    /// before the heap's first use to keep stderr clean and take warnings from the
    /// <see cref="NativeHeapEventSource"/> or the <see cref="Warning"/> event only.
    /// </summary>
    public static bool WarningsToStandardError { get; set; } = true;

    /// <summary>Reports a warning to every destination.</summary>
    internal static void Warn(string message)
    {
        if (s_eventSourceSupported) NativeHeapEventSource.Log.Warning(message);
        try
        {
            Warning?.Invoke(message);
        }
        catch (Exception e)
        {
            if (WarningsToStandardError) General.HeapMessages.Write("<nativeheap>: a Warning handler threw " + e.GetType().Name + "\n");
        }
        if (WarningsToStandardError) General.HeapMessages.Write(message + "\n");   // stderr, or the C library's malloc_message hook
    }
}

/// <summary>
/// The "NativeHeap" <see cref="EventSource"/>: warnings as events (id 1, level Warning). Collect them with
/// <c>dotnet-trace collect --providers NativeHeap</c> or an in-process <see cref="EventListener"/>.
/// </summary>
[EventSource(Name = "NativeHeap")]
public sealed class NativeHeapEventSource : EventSource
{
    /// <summary>The one instance.</summary>
    public static readonly NativeHeapEventSource Log = new();

    private NativeHeapEventSource() { }

    /// <summary>A warning (the same text <see cref="HeapDiagnostics.Warning"/> and stderr get).</summary>
    [Event(1, Level = EventLevel.Warning, Message = "{0}")]
    public void Warning(string message)
    {
        if (IsEnabled(EventLevel.Warning, EventKeywords.All)) WriteEvent(1, message);
    }
}
