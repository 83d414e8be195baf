// Arena.Decay: returning unused pages to the memory source. A freed run is dirty; once it has been
// unused for dirty_decay_ms it is purged — lazily (MADV_FREE, state muzzy) when muzzy_decay_ms is not
// 0, else forcibly (MADV_DONTNEED, state clean) — and a muzzy run is purged forcibly after
// muzzy_decay_ms. Chunks that become entirely clean are unmapped (one is kept as a spare).
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
        if (a->SharesChunks != 0 && a->DirtyDecayMs >= 0) SparePool.Release(now - a->DirtyDecayMs);
    }

    /// <summary>Purges every dirty and muzzy run now and unmaps every empty chunk (arena.purge). Lock held.</summary>
    internal static void PurgeAllLocked(Arena* a)
    {
        PurgeLocked(a, RunState.Dirty, long.MaxValue, force: true);
        PurgeLocked(a, RunState.Muzzy, long.MaxValue, force: true);
        ReleaseEmptyChunks(a, keep: 0);
    }

    /// <summary>
    /// Purges runs of state <paramref name="from"/> that entered it at or before <paramref name="limit"/>,
    /// in batches, with the lock released around the source calls. Lock held on entry and exit.
    /// </summary>
    internal static void PurgeLocked(Arena* a, RunState from, long limit, bool force = false)
    {
        const int Batch = 32;
        PageDesc** batch = stackalloc PageDesc*[Batch];
        uint* firsts = stackalloc uint[Batch];
        uint* counts = stackalloc uint[Batch];
        RunState to = !force && from == RunState.Dirty && a->MuzzyDecayMs != 0 ? RunState.Muzzy : RunState.Clean;
        bool didWork = false;
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
                bool ok = to == RunState.Muzzy ? source.TryPurgeLazy(addr, bytes) : source.TryPurgeForced(addr, bytes);
                if (!ok) counts[i] |= 0x8000_0000;   // purge refused: the run stays as it was
            }
            a->Lock.Enter();
            a->Purging--;
            long now = HeapClock.Now();
            for (int i = 0; i < n; i++)
            {
                Chunk* c = batch[i]->Chunk;
                bool failed = (counts[i] & 0x8000_0000) != 0;
                uint count = counts[i] & 0x7fff_ffff;
                a->PurgeMadvise++;
                if (!failed) a->PurgedPages += count;
                // A refused purge leaves the run in its old state, aged as new so it is not retried at once.
                InsertFree(a, c, firsts[i], count, failed ? from : to, now);
            }
            if (set->AgeHead == null) break;
        }
        if (didWork) a->PurgeCalls++;
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
