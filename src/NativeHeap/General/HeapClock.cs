// HeapClock: the time source of decay, in milliseconds. Injected so tests drive decay without
// sleeping (jemalloc's decay also takes "now" as an argument).
namespace NativeHeap.General;

internal static class HeapClock
{
    private static Func<long>? s_override;

    internal static long Now()
    {
        Func<long>? f = s_override;
        return f is null ? Environment.TickCount64 : f();
    }

    /// <summary>Replaces the clock (tests); null restores the system clock.</summary>
    internal static void Set(Func<long>? clock) => s_override = clock;
}
