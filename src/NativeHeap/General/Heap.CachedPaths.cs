// Heap.CachedPaths: the thread-cache hits of Malloc and Free on their own, for callers that must do
// something before a slow path runs and cannot afford it on every call: the C ABI saves and restores
// the caller's errno only around slow paths (those make libc calls, whose .NET stubs clear errno);
// the cached paths touch nothing but the thread's cache and the chunk header.
//
// Terms and invariants: a "cached hit" is the work of the fast path of Malloc or Free in Heap.cs —
// Malloc is TryMallocCached followed by its slow path, and Free pushes through the same
// ThreadCache.TryPush — pop a block of the size's class from the thread's cache, or push a block of the thread's own arena
// onto a non-full cache bin; counters are updated the same way. A miss changes nothing, and the
// caller then calls Malloc/Free, which repeats the test and takes its slow path.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>
    /// Malloc's thread-cache hit only: a block for <paramref name="size"/> bytes from the calling thread's
    /// cache, or null when Malloc would take its slow path (no cache yet, a size above the lookup table,
    /// an empty bin). Makes no OS call and cannot fail otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void* TryMallocCached(nuint size)
    {
        ThreadCache* tc = t_cache;
        return tc == null || size > SizeClasses.LookupMax ? null : ThreadCache.TryPop(tc, SizeClasses.s_lookup[(size + 7) >> 3]);
    }

    /// <summary>
    /// Free's thread-cache hit only: pushes <paramref name="ptr"/> onto the calling thread's cache when it
    /// is a cacheable block of the thread's own arena and the bin has room; false (nothing done)
    /// otherwise — null, a foreign pointer, another arena's block, a block that needs the slow path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryFreeCached(void* ptr)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c == null) return false;
        uint bin = c->PageBin[Chunk.PageIndexOf(ptr)];
        ThreadCache* tc = t_cache;
        return bin != 0 && tc != null && c->Arena == tc->Arena && ThreadCache.TryPush(tc, (int)bin - 1, ptr);
    }
}
