// HugeCache: freed huge mappings kept by their arena and reused for later huge blocks (jemalloc's
// opt.retain with its extent decay; mimalloc's segment cache), so a program that frees and allocates
// blocks of several MiB again and again does not map, unmap and fault in fresh pages every time.
//
// Terms:
//  - retained extent: a whole huge mapping [c, c + MapSize) whose block was freed. Its first page
//    keeps a Chunk header (Kind Huge, Arena, SourceId, MapSize, CacheState, PoolStamp, Next/Prev) and
//    stays resident; the pages after it ("body") are in CacheState:
//      Dirty  just freed, resident, old contents;
//      Muzzy  purged lazily (MADV_FREE) after dirty_decay_ms;
//      Clean  purged forcibly (MADV_DONTNEED) after muzzy_decay_ms (or dirty_decay_ms when muzzy
//             decay is 0): reads as zeroes, nothing resident. Clean extents are jemalloc's "retained"
//             memory: address space only, counted in RetainedBytes and not in MappedBytes.
//  - budget: HugeRetainLimit bytes of mappings per arena (0 = opt.retain off), at most MaxExtents
//    extents; a freed mapping larger than half the budget is unmapped at once. Going over the budget
//    unmaps the oldest extents.
// A retained extent has no page-map entries, so a stale pointer into it is "not owned" (as after an
// unmap). Reuse takes the best-fitting extent of a suitable alignment and splits off the rest (the
// rest stays retained, in the same state); freeing next to a retained extent of the same state and
// source merges the two. Source calls (purge, split, merge, release) are made with the arena lock
// released, on extents that are off the list meanwhile.
// Invariants (Heap.Validate): HugeCachedCount and HugeCachedBytes count the list; dirty and muzzy
// extents' bytes are in MappedBytes and their body pages in HugeCachedDirtyPages / HugeCachedMuzzyPages;
// clean extents' bytes are RetainedBytes.
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.General;

internal static unsafe class HugeCache
{
    /// <summary>Byte budget of the retained extents of one arena when opt.retain is on.</summary>
    internal const long DefaultLimit = 256L << 20;

    /// <summary>Most retained extents of one arena.</summary>
    internal const int MaxExtents = 64;

    private static nuint Body(Chunk* c) => c->MapSize - (nuint)OsMemory.PageSize;

    /// <summary>Adds a retained extent to the list and its counters. Lock held.</summary>
    private static void Link(Arena* a, Chunk* c)
    {
        c->Prev = null;
        c->Next = a->HugeCached;
        if (a->HugeCached != null) a->HugeCached->Prev = c;
        a->HugeCached = c;
        a->HugeCachedCount++;
        a->HugeCachedBytes += (long)c->MapSize;
        long pages = (long)(Body(c) >> OsMemory.LgPageSize);
        switch (c->CacheState)
        {
            case RunState.Dirty: a->HugeCachedDirtyPages += pages; a->MappedBytes += (long)c->MapSize; break;
            case RunState.Muzzy: a->HugeCachedMuzzyPages += pages; a->MappedBytes += (long)c->MapSize; break;
            default: a->RetainedBytes += (long)c->MapSize; break;
        }
    }

    /// <summary>Takes a retained extent off the list and out of its counters. Lock held.</summary>
    private static void Unlink(Arena* a, Chunk* c)
    {
        if (c->Prev != null) c->Prev->Next = c->Next; else a->HugeCached = c->Next;
        if (c->Next != null) c->Next->Prev = c->Prev;
        c->Next = c->Prev = null;
        a->HugeCachedCount--;
        a->HugeCachedBytes -= (long)c->MapSize;
        long pages = (long)(Body(c) >> OsMemory.LgPageSize);
        switch (c->CacheState)
        {
            case RunState.Dirty: a->HugeCachedDirtyPages -= pages; a->MappedBytes -= (long)c->MapSize; break;
            case RunState.Muzzy: a->HugeCachedMuzzyPages -= pages; a->MappedBytes -= (long)c->MapSize; break;
            default: a->RetainedBytes -= (long)c->MapSize; break;
        }
    }

    private static void WriteHeader(Chunk* c, Arena* a, int sourceId, nuint mapSize, RunState state, long stamp)
    {
        c->Kind = ChunkKind.Huge;
        c->Arena = a;
        c->SourceId = sourceId;
        c->MapSize = mapSize;
        c->HugeUsable = 0;
        c->HugeOffset = 0;
        c->CacheState = state;
        c->PoolStamp = stamp;
    }

    /// <summary>
    /// A retained extent of exactly <paramref name="mapSize"/> bytes aligned to <paramref name="mapAlign"/>
    /// for a new huge block (split off a larger one when needed), or null. Its page-map entries are not set
    /// and its header is stale. <paramref name="zeroed"/> tells whether the pages after the header read as zeroes.
    /// </summary>
    internal static Chunk* TryTake(Arena* a, nuint mapSize, nuint mapAlign, out bool zeroed)
    {
        zeroed = false;
        if (a->HugeRetainLimit == 0 || Volatile.Read(ref a->HugeCachedCount) == 0) return null;
        a->Lock.Enter();
        Chunk* best = null;
        for (Chunk* x = a->HugeCached; x != null; x = x->Next)
        {
            if (x->MapSize < mapSize || ((nuint)x & (mapAlign - 1)) != 0) continue;
            // Best fit; among equal sizes the warmest (dirty before muzzy before clean, newest first).
            if (best == null || x->MapSize < best->MapSize || (x->MapSize == best->MapSize && x->CacheState < best->CacheState)) best = x;
        }
        if (best != null) Unlink(a, best);
        a->Lock.Exit();
        if (best == null) return null;
        if (best->MapSize > mapSize)
        {
            IMemorySource source = MemorySources.Get(best->SourceId);
            if (source.TrySplit(best, best->MapSize, mapSize))
            {
                Chunk* tail = (Chunk*)((byte*)best + mapSize);
                WriteHeader(tail, a, best->SourceId, best->MapSize - mapSize, best->CacheState, best->PoolStamp);
                best->MapSize = mapSize;
                a->Lock.Enter();
                Link(a, tail);
                a->Lock.Exit();
            }
            else if (best->MapSize - mapSize >= mapSize)
            {
                // The source keeps the mapping whole and using it would waste more than the block: keep it retained.
                a->Lock.Enter();
                Link(a, best);
                a->Lock.Exit();
                return null;
            }
        }
        zeroed = best->CacheState == RunState.Clean;
        a->Lock.Enter();
        a->HugeReuses++;
        a->Lock.Exit();
        return best;
    }

    /// <summary>
    /// Keeps a freed huge mapping (already off the huge list, its page-map entries cleared) as a retained
    /// extent; false when the arena does not retain it (opt.retain off, too big, or a purge that decay 0
    /// asks for was refused) and the caller must release it.
    /// </summary>
    internal static bool TryKeep(Arena* a, Chunk* c)
    {
        long limit = a->HugeRetainLimit;
        if (limit == 0 || (long)c->MapSize > limit / 2) return false;
        IMemorySource source = MemorySources.Get(c->SourceId);
        RunState state = RunState.Dirty;
        if (a->DirtyDecayMs == 0)
        {
            // Decay 0: the pages go back at once; the address space is still reused.
            void* body = (byte*)c + OsMemory.PageSize;
            if (a->MuzzyDecayMs != 0 && source.TryPurgeLazy(body, Body(c))) state = RunState.Muzzy;
            else if (source.TryPurgeForced(body, Body(c))) state = RunState.Clean;
            else return false;
            CountPurge(a, c, state, locked: false);
        }
        WriteHeader(c, a, c->SourceId, c->MapSize, state, HeapClock.Now());
        // Merge with retained neighbours of the same state and source (taken off the list first, so the
        // source is asked with the lock released).
        Chunk* before = null, after = null;
        a->Lock.Enter();
        for (Chunk* x = a->HugeCached; x != null; x = x->Next)
        {
            if (x->CacheState != state || x->SourceId != c->SourceId) continue;
            if ((byte*)x + x->MapSize == (byte*)c) before = x;
            else if ((byte*)c + c->MapSize == (byte*)x) after = x;
        }
        if (before != null) Unlink(a, before);
        if (after != null) Unlink(a, after);
        a->Lock.Exit();
        if (before != null && source.TryMerge(before, before->MapSize, c, c->MapSize))
        {
            before->MapSize += c->MapSize;
            before->PoolStamp = Math.Max(before->PoolStamp, c->PoolStamp);
            c = before;
            before = null;
        }
        if (after != null && source.TryMerge(c, c->MapSize, after, after->MapSize))
        {
            c->MapSize += after->MapSize;
            c->PoolStamp = Math.Max(c->PoolStamp, after->PoolStamp);
            after = null;
        }
        a->Lock.Enter();
        if (before != null) Link(a, before);
        if (after != null) Link(a, after);
        Link(a, c);
        Chunk* evicted = EvictOverLimitLocked(a);
        a->Lock.Exit();
        ReleaseList(evicted);
        return true;
    }

    private static void CountPurge(Arena* a, Chunk* c, RunState from, bool locked)
    {
        if (!locked) a->Lock.Enter();
        a->PurgeMadvise++;
        a->PurgedPages += (long)(Body(c) >> OsMemory.LgPageSize);
        if (from == RunState.Muzzy)
        {
            a->MuzzyPurgeMadvise++;
            a->MuzzyPurgedPages += (long)(Body(c) >> OsMemory.LgPageSize);
        }
        if (!locked) a->Lock.Exit();
    }

    /// <summary>Returns a list of extents (linked through Next, off every list) to their sources.</summary>
    private static void ReleaseList(Chunk* list)
    {
        while (list != null)
        {
            Chunk* next = list->Next;
            MemorySources.Get(list->SourceId).TryRelease(list, list->MapSize);
            list = next;
        }
    }

    /// <summary>
    /// Purges the retained extents whose decay time has passed at <paramref name="now"/>: dirty ones
    /// after dirty_decay_ms (lazily when muzzy decay is on), muzzy ones after muzzy_decay_ms. Lock held
    /// on entry and exit; dropped around the source calls.
    /// </summary>
    internal static void DecayLocked(Arena* a, long now, bool force = false)
    {
        if (a->HugeCached == null) return;
        Chunk* due = null;
        for (Chunk* x = a->HugeCached; x != null;)
        {
            Chunk* next = x->Next;
            bool take = x->CacheState switch
            {
                RunState.Dirty => force || (a->DirtyDecayMs >= 0 && x->PoolStamp <= now - a->DirtyDecayMs),
                RunState.Muzzy => force || (a->MuzzyDecayMs >= 0 && x->PoolStamp <= now - a->MuzzyDecayMs),
                _ => false,
            };
            if (take)
            {
                Unlink(a, x);
                x->Next = due;
                due = x;
            }
            x = next;
        }
        if (due == null) return;
        a->Purging++;   // a reset waits for this pass: the extents come back to this arena
        a->Lock.Exit();
        for (Chunk* x = due; x != null; x = x->Next)
        {
            IMemorySource source = MemorySources.Get(x->SourceId);
            void* body = (byte*)x + OsMemory.PageSize;
            RunState from = x->CacheState;
            // The state the purge reached; the old state when the source refused (retried one period later).
            if (!force && from == RunState.Dirty && a->MuzzyDecayMs != 0 && source.TryPurgeLazy(body, Body(x))) x->CacheState = RunState.Muzzy;
            else if (source.TryPurgeForced(body, Body(x))) x->CacheState = RunState.Clean;
            // HugeZeroed (unused by retained extents) carries the old state to the counting below.
            x->HugeZeroed = (byte)from;
        }
        a->Lock.Enter();
        a->Purging--;
        long stamp = HeapClock.Now();
        bool didWork = false, didMuzzy = false;
        while (due != null)
        {
            Chunk* x = due;
            due = x->Next;
            RunState from = (RunState)x->HugeZeroed;
            x->HugeZeroed = 0;
            if (x->CacheState != from)
            {
                CountPurge(a, x, from, locked: true);
                didWork = true;
                didMuzzy |= from == RunState.Muzzy;
            }
            x->PoolStamp = stamp;
            Link(a, x);
        }
        if (didWork) a->PurgeCalls++;
        if (didMuzzy) a->MuzzyPurgeCalls++;
    }

    /// <summary>Unmaps every retained extent (arena.purge, Heap.Purge). Lock held on entry and exit; dropped meanwhile.</summary>
    internal static void ReleaseAllLocked(Arena* a)
    {
        Chunk* list = Detach(a);
        if (list == null) return;
        a->Lock.Exit();
        ReleaseList(list);
        a->Lock.Enter();
    }

    /// <summary>Takes every retained extent off the arena (linked through Next) and out of its counters. Lock held.</summary>
    internal static Chunk* Detach(Arena* a)
    {
        Chunk* list = null;
        while (a->HugeCached != null)
        {
            Chunk* x = a->HugeCached;
            Unlink(a, x);
            x->Next = list;
            list = x;
        }
        return list;
    }

    /// <summary>Sets the arena's budget (arena.&lt;i&gt;.retain_grow_limit), unmapping the oldest extents that no longer fit. No lock held.</summary>
    internal static void SetLimit(Arena* a, long limit)
    {
        a->Lock.Enter();
        a->HugeRetainLimit = limit;
        Chunk* evicted = EvictOverLimitLocked(a);
        a->Lock.Exit();
        ReleaseList(evicted);
    }

    /// <summary>Under the arena lock: unlinks the oldest extents until the cache is within its byte budget and extent count; the list of them, for ReleaseList once the lock is dropped.</summary>
    private static Chunk* EvictOverLimitLocked(Arena* a)
    {
        Chunk* evicted = null;
        while (a->HugeCached != null && (a->HugeCachedBytes > a->HugeRetainLimit || a->HugeCachedCount > MaxExtents))
        {
            Chunk* oldest = a->HugeCached;
            while (oldest->Next != null) oldest = oldest->Next;
            Unlink(a, oldest);
            oldest->Next = evicted;
            evicted = oldest;
        }
        return evicted;
    }

    /// <summary>Returns a detached list (<see cref="Detach"/>) to the sources. No lock needed.</summary>
    internal static void Release(Chunk* list) => ReleaseList(list);

    /// <summary>Checks the list against the counters; null when they agree. Lock held.</summary>
    internal static string? Validate(Arena* a, out long mapped)
    {
        mapped = 0;
        long count = 0, bytes = 0, dirty = 0, muzzy = 0, retained = 0;
        for (Chunk* x = a->HugeCached; x != null; x = x->Next)
        {
            if (++count > MaxExtents + 1) return "the retained huge extent list is longer than its bound (a cycle?)";
            if (x->Kind != ChunkKind.Huge || x->Arena != a) return $"retained huge extent {(nuint)x:x} has a wrong header";
            if (PageMap.Lookup(x) != null) return $"retained huge extent {(nuint)x:x} is still in the page map";
            bytes += (long)x->MapSize;
            long pages = (long)(Body(x) >> OsMemory.LgPageSize);
            if (x->CacheState == RunState.Dirty) { dirty += pages; mapped += (long)x->MapSize; }
            else if (x->CacheState == RunState.Muzzy) { muzzy += pages; mapped += (long)x->MapSize; }
            else retained += (long)x->MapSize;
        }
        if (count != a->HugeCachedCount || bytes != a->HugeCachedBytes) return $"retained huge extents: {count} / {bytes} B listed but counters say {a->HugeCachedCount} / {a->HugeCachedBytes}";
        if (dirty != a->HugeCachedDirtyPages || muzzy != a->HugeCachedMuzzyPages || retained != a->RetainedBytes)
            return $"retained huge extents: {dirty}/{muzzy} pages, {retained} B clean listed but counters say {a->HugeCachedDirtyPages}/{a->HugeCachedMuzzyPages}, {a->RetainedBytes}";
        if (bytes > a->HugeRetainLimit && a->HugeRetainLimit > 0) return $"retained huge extents hold {bytes} B, over the budget {a->HugeRetainLimit}";
        return null;
    }
}
