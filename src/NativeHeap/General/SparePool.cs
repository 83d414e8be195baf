// SparePool: wholly free chunks handed between automatic arenas. When an automatic arena has more
// than one chunk with no live run, it gives the extra ones here; an arena that needs to grow takes
// one from here before asking its memory source. So memory freed by one thread's arena serves the
// next thread's arena instead of sitting idle (a main thread that built and dropped a large
// structure, say). Pooled chunks keep their page-map entries (owner Arena = null, so a stale pointer
// into one is recognised) and are unmapped when they have been pooled for the decay time, or at
// once by Heap.Purge.
// Locking: the pool lock may be taken while an arena lock is held, never the other way round.
using NativeHeap.Core;

namespace NativeHeap.General;

internal static unsafe class SparePool
{
    private static readonly NativeLock* s_lock = (NativeLock*)StaticMemory.Alloc((nuint)sizeof(NativeLock));
    private static Chunk* s_head;      // newest first, linked through Chunk.Next
    private static int s_count;
    private static int s_cleanCount;
    private static long s_dirtyPages;  // Σ (usable − clean) pages of pooled chunks: an upper bound of their resident pages

    /// <summary>Chunks in the pool.</summary>
    internal static int Count => Volatile.Read(ref s_count);

    /// <summary>Pooled chunks whose usable pages are all clean (not resident).</summary>
    internal static int CleanCount => Volatile.Read(ref s_cleanCount);

    /// <summary>Pages of pooled chunks that may be resident (not purged since last use).</summary>
    internal static long DirtyPages => Volatile.Read(ref s_dirtyPages);

    internal static void Push(Chunk* c, bool clean, long now)
    {
        c->Arena = null;
        c->HugeZeroed = clean ? (byte)1 : (byte)0;
        c->PoolStamp = now;
        s_lock->Enter();
        c->Prev = null;
        c->Next = s_head;
        if (s_head != null) s_head->Prev = c;
        s_head = c;
        s_count++;
        s_dirtyPages += Chunk.UsablePages - c->CleanPages;
        if (clean) s_cleanCount++;
        s_lock->Exit();
    }

    /// <summary>Takes the most recently pooled chunk (warmest pages), or null.</summary>
    internal static Chunk* TryPop(out bool clean)
    {
        clean = false;
        if (Volatile.Read(ref s_count) == 0) return null;
        s_lock->Enter();
        Chunk* c = s_head;
        if (c != null) Unlink(c);
        s_lock->Exit();
        if (c != null) clean = c->HugeZeroed != 0;
        return c;
    }

    /// <summary>Unmaps pooled chunks pooled at or before <paramref name="limit"/> (every one for long.MaxValue).</summary>
    internal static void Release(long limit)
    {
        if (Volatile.Read(ref s_count) == 0) return;
        Chunk* released = null;
        s_lock->Enter();
        for (Chunk* c = s_head; c != null;)
        {
            Chunk* next = c->Next;
            if (c->PoolStamp <= limit)
            {
                Unlink(c);
                c->Next = released;
                released = c;
            }
            c = next;
        }
        s_lock->Exit();
        while (released != null)
        {
            Chunk* next = released->Next;
            PageMap.Set(released, Chunk.Size, null);
            MemorySources.Get(released->SourceId).TryRelease(released, Chunk.Size);
            released = next;
        }
    }

    private static void Unlink(Chunk* c)
    {
        if (c->Prev != null) c->Prev->Next = c->Next; else s_head = c->Next;
        if (c->Next != null) c->Next->Prev = c->Prev;
        c->Next = c->Prev = null;
        s_count--;
        s_dirtyPages -= Chunk.UsablePages - c->CleanPages;
        if (c->HugeZeroed != 0) s_cleanCount--;
    }

    /// <summary>Takes the lock before fork() (Heap.LockAllForFork).</summary>
    internal static void LockForFork() => s_lock->Enter();

    /// <summary>Releases it after fork(), in parent and child.</summary>
    internal static void UnlockAfterFork() => s_lock->Exit();
}
