// Heap.Retain: the per-arena budget of retained huge extents (opt.retain, HugeCache) as the control
// namespace exposes it (arena.<i>.retain_grow_limit).
using NativeHeap.General;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>The byte budget of retained huge extents of arena <paramref name="index"/> (0 when opt.retain is off).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The arena does not exist.</exception>
    internal static long GetRetainLimit(int index) => Volatile.Read(ref ArenaForIndex(index)->HugeRetainLimit);

    /// <summary>Sets that budget; extents that no longer fit are unmapped, oldest first.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The arena does not exist or the limit is negative.</exception>
    /// <exception cref="InvalidOperationException">opt.retain is off.</exception>
    internal static void SetRetainLimit(int index, long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (!s_options.Retain) throw new InvalidOperationException("NativeHeap: opt.retain is off; arenas retain nothing");
        HugeCache.SetLimit(ArenaForIndex(index), limit);
    }
}
