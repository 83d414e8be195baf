// Arena.Decay: returning unused pages to the memory source. A freed run is dirty; once it has been
// unused for dirty_decay_ms it is purged — lazily (MADV_FREE, state muzzy) when muzzy_decay_ms is not
// 0, else forcibly (MADV_DONTNEED, state clean) — and a muzzy run is purged forcibly after
// muzzy_decay_ms. Chunks that become entirely clean are unmapped (one is kept as a spare). Retained
// huge extents (HugeCache) decay the same way; a purge of everything unmaps them.
// The decision takes "now" from HeapClock, so tests control time.
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.General;

internal unsafe partial struct Arena
{
    private const int DecayTickInterval = 32;

    /// <summary>Counts a slow-path event; every few events applies decay. Lock held.</summary>
    internal static void DecayTick(Arena* a)
    {
        if (++a->DecayTicks < DecayTickInterval) return;
        a->DecayTicks = 0;
        DecayLocked(a, HeapClock.Now());
    }

    /// <summary>Purges what decay says is due at <paramref name="now"/>. Lock held.</summary>
    internal static void DecayLocked(Arena* a, long now)
    {
        if (a->DirtyDecayMs > 0 && a->Dirty.AgeHead != null) PurgeLocked(a, RunState.Dirty, now - a->DirtyDecayMs);
        if (a->MuzzyDecayMs > 0 && a->Muzzy.AgeHead != null) PurgeLocked(a, RunState.Muzzy, now - a->MuzzyDecayMs);
        ReleaseEmptyChunks(a, keep: 1);
        HugeCache.DecayLocked(a, now);
        if (a->SharesChunks != 0 && a->DirtyDecayMs >= 0) SparePool.Release(now - a->DirtyDecayMs);
    }

    /// <summary>Purges every dirty and muzzy run now and unmaps every empty chunk (arena.purge). Lock held.</summary>
    internal static void PurgeAllLocked(Arena* a)
    {
        PurgeLocked(a, RunState.Dirty, long.MaxValue, force: true);
        PurgeLocked(a, RunState.Muzzy, long.MaxValue, force: true);
        ReleaseEmptyChunks(a, keep: 0);
        HugeCache.ReleaseAllLocked(a);
    }

    /// <summary>
    /// Purges runs of state <paramref name="from"/> that entered it at or before <paramref name="limit"/>,
    /// in batches, with the lock released around the source calls. Lock held on entry and exit.
    /// A dirty run goes muzzy through the source's lazy purge when muzzy decay is on (and not forced);
    /// when the lazy purge is refused the forced one is tried. A run whose purge the source refuses
    /// keeps its state and is stamped "now": it is set aside until the pass ends (so one pass never
    /// asks twice, even with limit = long.MaxValue) and decay retries it one decay period later,
    /// as jemalloc keeps a refused extent dirty until a later epoch.
    /// </summary>
    internal static void PurgeLocked(Arena* a, RunState from, long limit, bool force = false)
    {
        const int Batch = 32;
        PageDesc** batch = stackalloc PageDesc*[Batch];
        uint* firsts = stackalloc uint[Batch];
        uint* counts = stackalloc uint[Batch];
        RunState* states = stackalloc RunState[Batch];
        RunState to = !force && from == RunState.Dirty && a->MuzzyDecayMs != 0 ? RunState.Muzzy : RunState.Clean;
        bool didWork = false;
        PageDesc* refused = null;      // busy runs the source would not purge, chained through Next
        while (true)
        {
            FreeSet* set = SetOf(a, from);
            int n = 0;
            while (n < Batch && set->AgeHead != null && set->AgeHead->Stamp <= limit)
            {
                PageDesc* r = set->AgeHead;
                set->Remove(r, aged: true);
                Chunk* c = r->Chunk;
                uint first = r->Index, count = r->Pages;
                TakeFreePages(a, c, count);
                // Busy while purging: neither end looks free, so no neighbour merges with it.
                if (count > 1) c->Pages[first + count - 1].Kind = PageKind.Header;
                r->Kind = PageKind.Busy;
                batch[n] = r;
                firsts[n] = first;
                counts[n] = count;
                n++;
            }
            if (n == 0) break;
            didWork = true;
            a->Purging++;   // a reset waits for this pass: the runs come back into this arena's chunks
            a->Lock.Exit();
            for (int i = 0; i < n; i++)
            {
                Chunk* c = batch[i]->Chunk;
                IMemorySource source = MemorySources.Get(c->SourceId);
                void* addr = (byte*)c + ((nuint)firsts[i] << OsMemory.LgPageSize);
                nuint bytes = (nuint)counts[i] << OsMemory.LgPageSize;
                RunState got = from;
                if (to == RunState.Muzzy && source.TryPurgeLazy(addr, bytes)) got = RunState.Muzzy;
                else if (source.TryPurgeForced(addr, bytes)) got = RunState.Clean;
                states[i] = got;
            }
            a->Lock.Enter();
            a->Purging--;
            long now = HeapClock.Now();
            for (int i = 0; i < n; i++)
            {
                Chunk* c = batch[i]->Chunk;
                a->PurgeMadvise++;
                if (from == RunState.Muzzy) a->MuzzyPurgeMadvise++;
                if (states[i] == from)
                {
                    batch[i]->Next = refused;
                    refused = batch[i];
                    continue;
                }
                a->PurgedPages += counts[i];
                if (from == RunState.Muzzy) a->MuzzyPurgedPages += counts[i];
                InsertFree(a, c, firsts[i], counts[i], states[i], now);
            }
            if (set->AgeHead == null) break;
        }
        if (refused != null)
        {
            long now = HeapClock.Now();
            while (refused != null)
            {
                PageDesc* r = refused;
                refused = r->Next;
                r->Next = null;
                InsertFree(a, r->Chunk, r->Index, r->Pages, from, now);
            }
        }
        if (didWork)
        {
            a->PurgeCalls++;
            if (from == RunState.Muzzy) a->MuzzyPurgeCalls++;
        }
    }

    /// <summary>Unmaps chunks that are entirely clean and free, keeping <paramref name="keep"/> of them. Lock held.</summary>
    internal static void ReleaseEmptyChunks(Arena* a, int keep)
    {
        int kept = 0;
        restart:
        for (Chunk* c = a->Chunks; c != null; c = c->Next)
        {
            if (c->CleanPages != Chunk.UsablePages) continue;
            if (kept < keep)
            {
                kept++;
                continue;
            }
            ReleaseChunk(a, c);
            kept = 0;
            goto restart;
        }
    }
}
