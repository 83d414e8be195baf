// KindThreadCaches: per-thread, per-kind thread caches (memkind keeps one jemalloc tcache per thread
// and kind for the same reason: a kind's allocation must not take an arena lock per call).
//
// Terms:
//  - state: a native block per thread that used any kind: a GCHandle of its Thread, then
//    MaxSlots ThreadCache pointers, one per kind slot. t_caches points at the pointer array, so the
//    fast path is: [ThreadStatic] load, index by the kind's slot, pop or push on the cache's bin.
//  - a kind cache is a General ThreadCache created with Id = CacheIdBase + slot, bound to the arena
//    the thread hashes to; it only ever holds blocks of that kind (of any of its arenas: a block
//    freed by a thread bound to another arena of the kind is kept as local and reused here).
// Life cycle: a state is created on the thread's first kind call, registered in s_states. A state
// whose thread is no longer alive is reclaimed (its caches flushed back to their arenas, its memory
// freed) when another thread creates its state and on a kind's Purge, GetStats and TryDestroy.
// Destroying a kind drops its slot in every state without flushing (its arenas are destroyed).
// Invariants: caches[slot] is null or a cache of the kind now in that slot; all changes to other
// threads' states happen under s_lock; a thread writes its own slots under s_lock too.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap.Kinds;

internal static unsafe class KindThreadCaches
{
    internal const int MaxSlots = 512;   // memkind's MEMKIND_MAX_KIND
    internal const int CacheIdBase = 0x4000_0000;
    private const int HeaderBytes = 64;

    [ThreadStatic] internal static ThreadCache** t_caches;

    private static readonly Lock s_lock = new();
    private static readonly List<nint> s_states = [];

    private static nint* HandleOf(ThreadCache** caches) => (nint*)((byte*)caches - HeaderBytes);

    /// <summary>This thread's cache for <paramref name="kind"/>, created when missing; null when metadata memory is exhausted or the kind is gone.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static ThreadCache* GetOrCreate(MemoryKind kind)
    {
        ThreadCache** caches = t_caches;
        if (caches == null)
        {
            caches = CreateState();
            if (caches == null) return null;
        }
        ThreadCache* tc = caches[kind.Slot];
        if (tc != null) return tc;
        lock (s_lock)
        {
            if (kind.IsDestroyed) return null;
            Arena* arena = kind.ArenaForThread();
            tc = ThreadCache.Create(arena, CacheIdBase + kind.Slot, Heap.s_cacheEnabled, kind.MaxCachedClass);
            caches[kind.Slot] = tc;
            return tc;
        }
    }

    private static ThreadCache** CreateState()
    {
        Reclaim();
        byte* block = (byte*)MetaAlloc.TryAlloc(HeaderBytes + MaxSlots * (nuint)sizeof(ThreadCache*));
        if (block == null) return null;
        var caches = (ThreadCache**)(block + HeaderBytes);
        *HandleOf(caches) = GCHandle.ToIntPtr(GCHandle.Alloc(Thread.CurrentThread));
        lock (s_lock) s_states.Add((nint)caches);
        t_caches = caches;
        return caches;
    }

    /// <summary>Flushes and frees the states of threads that have finished.</summary>
    internal static void Reclaim()
    {
        lock (s_lock)
        {
            for (int i = s_states.Count - 1; i >= 0; i--)
            {
                var caches = (ThreadCache**)s_states[i];
                GCHandle h = GCHandle.FromIntPtr(*HandleOf(caches));
                if (h.Target is Thread t && t.IsAlive) continue;
                for (int s = 0; s < MaxSlots; s++)
                {
                    if (caches[s] != null) ThreadCache.Destroy(caches[s]);
                }
                h.Free();
                MetaAlloc.Free(HandleOf(caches), HeaderBytes + MaxSlots * (nuint)sizeof(ThreadCache*));
                s_states[i] = s_states[^1];
                s_states.RemoveAt(s_states.Count - 1);
            }
        }
    }

    /// <summary>Removes every thread's cache of a slot without returning its blocks (the kind's arenas are being destroyed).</summary>
    internal static void DropSlot(int slot)
    {
        lock (s_lock)
        {
            foreach (nint s in s_states)
            {
                var caches = (ThreadCache**)s;
                ThreadCache* tc = caches[slot];
                if (tc == null) continue;
                caches[slot] = null;
                MetaAlloc.Free(tc, tc->BlockBytes);
            }
        }
    }

    /// <summary>Returns every block in the calling thread's cache of a slot to the arenas.</summary>
    internal static void FlushCurrent(int slot)
    {
        ThreadCache** caches = t_caches;
        if (caches != null && caches[slot] != null) ThreadCache.FlushAll(caches[slot]);
    }

    /// <summary>How many threads have a cache for the slot.</summary>
    internal static int CountCaches(int slot)
    {
        int n = 0;
        lock (s_lock)
        {
            foreach (nint s in s_states)
                if (((ThreadCache**)s)[slot] != null) n++;
        }
        return n;
    }
}
