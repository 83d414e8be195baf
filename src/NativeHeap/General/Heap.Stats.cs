// Heap.Stats: builds HeapStats snapshots from the arenas' counters.
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>Takes a snapshot of the heap's statistics. Flushes nothing; cached blocks count as allocated.</summary>
    public static HeapStats GetStats()
    {
        EnsureInitialized();
        ReclaimExitedCaches();
        var arenas = new List<ArenaStats>();
        long allocated = 0, active = 0, mapped = 0, resident = 0, headers = 0, retained = 0;
        int n = Volatile.Read(ref s_arenaCount);
        for (int i = 0; i < n; i++)
        {
            Arena* a = s_arenas[i];
            if (a == null || a->Destroyed != 0) continue;
            ArenaStats s = ArenaSnapshot(a);
            arenas.Add(s);
            allocated += s.SmallAllocated + s.LargeAllocated + s.HugeAllocated;
            long hugeActive = (s.HugeAllocated + OsMemory.PageSize - 1) / OsMemory.PageSize * OsMemory.PageSize;
            active += s.ActivePages * OsMemory.PageSize + hugeActive;
            mapped += s.Mapped;
            // Retained huge extents keep their header page resident (clean ones too).
            headers += (long)s.Chunks * Chunk.HeaderPages * OsMemory.PageSize + (s.HugeCount + s.RetainedExtents) * OsMemory.PageSize;
            retained += s.Retained;
            resident += (s.ActivePages + s.DirtyPages + s.MuzzyPages) * OsMemory.PageSize + hugeActive;
        }
        // Spare chunks between arenas: mapped; their dirty pages are resident.
        long spare = (long)SparePool.Count * (long)Chunk.Size;
        mapped += spare;
        headers += (long)SparePool.Count * Chunk.HeaderPages * OsMemory.PageSize;
        resident += SparePool.DirtyPages * OsMemory.PageSize;
        long metadata = headers + MetaAlloc.Mapped;
        return new HeapStats
        {
            Allocated = allocated,
            Active = active,
            Metadata = metadata,
            Resident = resident + metadata,
            Mapped = mapped + MetaAlloc.Mapped,
            Retained = retained,
            SpareChunks = SparePool.Count,
            SpareCleanChunks = SparePool.CleanCount,
            Arenas = arenas,
        };
    }

    /// <summary>A snapshot of one arena's statistics (memory kinds aggregate their arenas with it).</summary>
    internal static ArenaStats GetArenaStats(int index) => ArenaSnapshot(ArenaForIndex(index));

    /// <summary>Slabs in a bin's non-full heap (a pairing heap: Child and Next links). Bin lock held.</summary>
    private static long CountNodes(PageDesc* root)
    {
        if (root == null) return 0;
        var stack = new Stack<nint>();
        stack.Push((nint)root);
        long n = 0;
        while (stack.Count > 0)
        {
            var d = (PageDesc*)stack.Pop();
            n++;
            if (d->Child != null) stack.Push((nint)d->Child);
            if (d->Next != null) stack.Push((nint)d->Next);
        }
        return n;
    }

    private static ArenaStats ArenaSnapshot(Arena* a)
    {
        var bins = new BinStats[SizeClasses.NBins];
        var binLocks = new MutexStats[SizeClasses.NBins];
        long small = 0;
        for (int j = 0; j < SizeClasses.NBins; j++)
        {
            Bin* b = Arena.BinOf(a, j);
            b->Lock.Enter();
            long size = (long)SizeClasses.s_sizes[j];
            bins[j] = new BinStats(j, size, SizeClasses.s_slabRegs[j], (long)SizeClasses.s_slabPages[j] * OsMemory.PageSize,
                b->NMalloc, b->NDalloc, b->NRequests, b->CurRegs, b->CurSlabs, b->NSlabs, b->NFills, b->NFlushes, CountNodes(b->Nonfull));
            small += b->CurRegs * size;
            binLocks[j] = ReadLock(&b->Lock);
            b->Lock.Exit();
        }
        var large = new List<LargeStats>();
        long largeBytes = 0;
        a->Lock.Enter();
        try
        {
            int np = NPageSizeClasses;
            long[] dirty = new long[np], dirtyBytes = new long[np], muzzy = new long[np], muzzyBytes = new long[np];
            long[] clean = new long[np], cleanBytes = new long[np];
            for (Chunk* x = a->HugeCached; x != null; x = x->Next)
            {
                // A retained extent's pages after its header, by the class of their length (the header is metadata).
                uint body = (uint)((x->MapSize >> OsMemory.LgPageSize) - 1);
                int j = PageClassFloor(body);
                long bytes = (long)body * OsMemory.PageSize;
                if (x->CacheState == RunState.Dirty) { dirty[j]++; dirtyBytes[j] += bytes; }
                else if (x->CacheState == RunState.Muzzy) { muzzy[j]++; muzzyBytes[j] += bytes; }
                else { clean[j]++; cleanBytes[j] += (long)x->MapSize; }
            }
            for (Chunk* c = a->Chunks; c != null; c = c->Next)
            {
                for (uint i = Chunk.HeaderPages; i < Chunk.PagesPerChunk;)
                {
                    PageDesc* d = &c->Pages[i];
                    if (d->Pages == 0) break;
                    if (d->Kind == PageKind.Free && d->State != RunState.Clean)
                    {
                        int j = PageClassFloor(d->Pages);
                        long bytes = (long)d->Pages * OsMemory.PageSize;
                        if (d->State == RunState.Dirty) { dirty[j]++; dirtyBytes[j] += bytes; }
                        else { muzzy[j]++; muzzyBytes[j] += bytes; }
                    }
                    i += d->Pages;
                }
            }
            for (int k = 0; k < Arena.NLarge; k++)
            {
                if (a->LargeNMalloc[k] == 0) continue;
                long size = (long)SizeClasses.s_sizes[k + SizeClasses.NBins];
                large.Add(new LargeStats(k, size, a->LargeNMalloc[k], a->LargeNDalloc[k], a->LargeCur[k]));
                largeBytes += a->LargeCur[k] * size;
            }
            return new ArenaStats
            {
                Index = a->Index,
                IsExplicit = a->Explicit != 0,
                Threads = Volatile.Read(ref a->NThreads),
                Mapped = a->MappedBytes,
                ActivePages = a->ActivePages,
                DirtyPages = a->Dirty.Pages + a->HugeCachedDirtyPages,
                MuzzyPages = a->Muzzy.Pages + a->HugeCachedMuzzyPages,
                CleanPages = a->Clean.Pages,
                Chunks = a->NChunks,
                PurgePasses = a->PurgeCalls,
                PurgeCalls = a->PurgeMadvise,
                PurgedPages = a->PurgedPages,
                SmallAllocated = small,
                LargeAllocated = largeBytes,
                HugeAllocated = a->HugeBytes,
                HugeCount = a->HugeCount,
                HugeNMalloc = a->HugeNMalloc,
                HugeNDalloc = a->HugeNDalloc,
                Retained = a->RetainedBytes,
                RetainedExtents = a->HugeCachedCount,
                RetainedExtentBytes = a->HugeCachedBytes,
                HugeReuses = a->HugeReuses,
                HugeMaps = a->HugeMaps,
                RetainedRuns = clean,
                RetainedRunBytes = cleanBytes,
                UptimeNs = UptimeNs(a),
                MuzzyPurgePasses = a->MuzzyPurgeCalls,
                MuzzyPurgeCalls = a->MuzzyPurgeMadvise,
                MuzzyPurgedPages = a->MuzzyPurgedPages,
                Lock = ReadLock(&a->Lock),
                BinLocks = binLocks,
                DirtyRuns = dirty,
                DirtyRunBytes = dirtyBytes,
                MuzzyRuns = muzzy,
                MuzzyRunBytes = muzzyBytes,
                DirtyDecayMs = a->DirtyDecayMs,
                MuzzyDecayMs = a->MuzzyDecayMs,
                Bins = bins,
                Large = large,
            };
        }
        finally
        {
            a->Lock.Exit();
        }
    }
}
