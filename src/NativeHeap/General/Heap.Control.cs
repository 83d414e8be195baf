// Heap.Control: small queries and actions the control namespace (HeapControl) needs that are not
// part of the allocation API: thread-cache limits, per-arena decay, pointer → arena lookup.
using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>The largest size class thread caches hold (arenas.tcache_max); 0 when caching is off.</summary>
    public static ulong ThreadCacheMaxSize
    {
        get
        {
            EnsureInitialized();
            return s_maxCachedClass < 0 || !s_cacheEnabled ? 0 : SizeClasses.s_sizes[s_maxCachedClass];
        }
    }

    /// <summary>How many size classes thread caches hold (arenas.nhbins).</summary>
    public static int CachedClassCount
    {
        get
        {
            EnsureInitialized();
            return s_cacheEnabled ? s_maxCachedClass + 1 : 0;
        }
    }

    /// <summary>Purges what decay says is due now in one arena (arena.&lt;i&gt;.decay).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The arena does not exist.</exception>
    public static void DecayArena(int index)
    {
        Arena* a = ArenaForIndex(index);
        long now = HeapClock.Now();
        a->Lock.Enter();
        Arena.DecayLocked(a, now);
        a->Lock.Exit();
    }

    /// <summary>
    /// The index of the arena that owns <paramref name="ptr"/> (arenas.lookup), or -1 when NativeHeap's
    /// general heap does not own it. O(1): one page-map read. Interior pointers are attributed too.
    /// </summary>
    public static int ArenaOf(void* ptr)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c == null || c->Quarantined != 0 || c->Arena == null) return -1;
        return c->Arena->Index;
    }
}
