// Heap.Validate: the invariant walker tests use. For every arena, under its bin and arena locks, it
// checks that runs tile each chunk, free runs are coalesced and accounted in their sets, slab free
// lists are well formed and agree with NFree, bins' lists hold their own slabs, and the page map
// points at every chunk and huge block; and that no block is twice in the caches it may read (the
// calling thread's and the explicit ones) or both cached and on a slab's free list. Returns the first
// violation found.
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Sharded;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>Checks every internal invariant; throws <see cref="InvalidOperationException"/> describing the first violation.</summary>
    /// <remarks>
    /// Arenas are walked under their locks, so other threads may allocate and free meanwhile; explicit
    /// thread caches (<see cref="CreateThreadCache"/>) have no lock (each is used by one thread at a time),
    /// so call it while no other thread is using one, or it may see a cache half-changed and report a
    /// false double free.
    /// </remarks>
    public static void Validate()
    {
        if (!TryValidate(out string? error)) throw new InvalidOperationException("NativeHeap: heap is inconsistent: " + error);
    }

    /// <summary>Checks every internal invariant; false with a description of the first violation (see <see cref="Validate"/> for explicit caches).</summary>
    public static bool TryValidate(out string? error)
    {
        EnsureInitialized();
        if (s_sharded && !ShardedHeap.TryValidate(out string v2Error))
        {
            error = "core v2: " + v2Error;
            return false;
        }
        HashSet<nint> cached = new();
        error = CollectCachedBlocks(cached);
        if (error != null) return false;
        long dropped = Volatile.Read(ref Bin.s_duplicatesDropped);
        if (dropped != 0)
        {
            error = $"{dropped} block(s) were freed twice (found already free when a thread cache was flushed, and dropped)";
            return false;
        }
        int n = Volatile.Read(ref s_arenaCount);
        for (int i = 0; i < n; i++)
        {
            Arena* a = s_arenas[i];
            if (a == null || a->Destroyed != 0) continue;
            for (int j = 0; j < SizeClasses.NBins; j++) Arena.BinOf(a, j)->Lock.Enter();
            a->Lock.Enter();
            error = ValidateArena(a, cached);
            a->Lock.Exit();
            for (int j = SizeClasses.NBins - 1; j >= 0; j--) Arena.BinOf(a, j)->Lock.Exit();
            if (error != null)
            {
                error = $"arena {i}: {error}";
                return false;
            }
        }
        error = null;
        return true;
    }

    /// <summary>
    /// The blocks in the calling thread's cache and in the explicit caches (caches of other running
    /// threads change without a lock and are not read): none may be there twice.
    /// </summary>
    private static string? CollectCachedBlocks(HashSet<nint> cached)
    {
        string? Add(ThreadCache* tc, string which)
        {
            CacheBin* bins = ThreadCache.BinsOf(tc);
            for (int i = 0; i < tc->NBins; i++)
            {
                CacheBin* cb = bins + i;
                void** b = cb->Empty - ThreadCache.CapOf(tc, i);
                for (void** r = b; r < cb->Empty; r++)
                {
                    if (r >= cb->Full && r < cb->Cur) continue;   // the unused middle of the two-ended stack
                    if (!cached.Add((nint)(*r))) return $"block 0x{(nuint)(*r):x} is twice in {which} (double free)";
                }
            }
            return null;
        }
        ThreadCache* own = t_cache;
        string? e = own == null ? null : Add(own, "the calling thread's cache or another cache");
        if (e != null) return e;
        lock (s_arenaLock)
        {
            for (int i = 0; i < MaxThreadCaches && s_explicitCaches != null; i++)
            {
                if (s_explicitCaches[i] == null) continue;
                e = Add(s_explicitCaches[i], $"explicit cache {i} or another cache");
                if (e != null) return e;
            }
        }
        return null;
    }

    private static string? ValidateArena(Arena* a, HashSet<nint> cached)
    {
        long free0 = 0, free1 = 0, free2 = 0, runs0 = 0, runs1 = 0, runs2 = 0, active = 0, mapped = 0;
        int chunks = 0, empty = 0;
        for (Chunk* c = a->Chunks; c != null; c = c->Next)
        {
            chunks++;
            if (c->FreePages == Chunk.UsablePages) empty++;
            mapped += (long)Chunk.Size;
            if (PageMap.Lookup(c) != c) return $"chunk {(nuint)c:x} is not in the page map";
            if (c->Arena != a || c->Kind != ChunkKind.Arena) return $"chunk {(nuint)c:x} has the wrong owner or kind";
            PageDesc* pages = c->Pages;
            uint i = Chunk.HeaderPages, freePages = 0, cleanPages = 0;
            PageKind prevKind = PageKind.Header;
            RunState prevState = RunState.Dirty;
            while (i < Chunk.PagesPerChunk)
            {
                PageDesc* d = &pages[i];
                uint len = d->Pages;
                if (len == 0 || i + len > Chunk.PagesPerChunk) return $"chunk {(nuint)c:x} page {i}: bad run length {len}";
                switch (d->Kind)
                {
                    case PageKind.Free:
                        PageDesc* tail = &pages[i + len - 1];
                        if (tail->Kind != PageKind.Free || tail->Head != i || tail->Pages != len || tail->State != d->State)
                            return $"chunk {(nuint)c:x} page {i}: free run's tail does not match its head";
                        if (prevKind == PageKind.Free && prevState == d->State)
                            return $"chunk {(nuint)c:x} page {i}: two adjacent free runs of state {d->State} were not coalesced";
                        freePages += len;
                        if (d->State == RunState.Clean) { cleanPages += len; free2 += len; runs2++; }
                        else if (d->State == RunState.Muzzy) { free1 += len; runs1++; }
                        else { free0 += len; runs0++; }
                        for (uint k = i; k < i + len; k++)
                            if (c->PageBin[k] != 0) return $"chunk {(nuint)c:x} page {k}: free page has a fast-free entry";
                        break;
                    case PageKind.Slab:
                        string? e = ValidateSlab(c, d, i, cached);
                        if (e != null) return e;
                        active += len;
                        break;
                    case PageKind.Busy:
                        break;   // being purged by another thread; counted nowhere until it is reinserted
                    case PageKind.Large:
                        if (d->Bin < SizeClasses.NBins || SizeClasses.s_sizes[d->Bin] != (nuint)len * 4096)
                            return $"chunk {(nuint)c:x} page {i}: large run of {len} pages has class {d->Bin}";
                        active += len;
                        break;
                    default:
                        return $"chunk {(nuint)c:x} page {i}: run head has kind {d->Kind}";
                }
                prevKind = d->Kind;
                prevState = d->State;
                i += len;
            }
            if (c->FreePages != freePages || c->CleanPages != cleanPages)
                return $"chunk {(nuint)c:x}: free page counts {c->FreePages}/{c->CleanPages} but runs hold {freePages}/{cleanPages}";
        }
        foreach (nint x in cached)
        {
            Chunk* c = (Chunk*)PageMap.Lookup((void*)x);
            if (c == null || c->Arena != a || c->Kind != ChunkKind.Arena || c->Quarantined != 0) continue;
            PageDesc* run = RunContaining(c, Chunk.PageIndexOf((void*)x));
            if (run == null || (run->Kind != PageKind.Slab && run->Kind != PageKind.Large))
                return $"block 0x{(nuint)x:x} is in a thread cache but its pages are free (double free)";
        }
        if (chunks != a->NChunks) return $"{chunks} chunks listed but NChunks is {a->NChunks}";
        if (empty != a->EmptyChunks) return $"{empty} chunks are empty but EmptyChunks is {a->EmptyChunks}";
        if (a->Dirty.Pages != free0 || a->Muzzy.Pages != free1 || a->Clean.Pages != free2)
            return $"free sets count {a->Dirty.Pages}/{a->Muzzy.Pages}/{a->Clean.Pages} pages but chunks hold {free0}/{free1}/{free2}";
        if (a->Dirty.Runs != runs0 || a->Muzzy.Runs != runs1 || a->Clean.Runs != runs2)
            return $"free sets count {a->Dirty.Runs}/{a->Muzzy.Runs}/{a->Clean.Runs} runs but chunks hold {runs0}/{runs1}/{runs2}";
        if (a->ActivePages != active) return $"ActivePages is {a->ActivePages} but live runs hold {active}";
        long hugeBytes = 0, hugeCount = 0;
        for (Chunk* h = a->HugeList; h != null; h = h->Next)
        {
            if (PageMap.Lookup(h) != h || PageMap.Lookup((byte*)h + h->MapSize - 1) != h) return $"huge block {(nuint)h:x} is not in the page map";
            hugeBytes += (long)h->HugeUsable;
            hugeCount++;
            mapped += (long)h->MapSize;
        }
        if (hugeBytes != a->HugeBytes || hugeCount != a->HugeCount) return "huge block accounting differs from the huge list";
        // Retained huge extents being purged or reused are off the list and out of the counters alike.
        string? cacheError = HugeCache.Validate(a, out long cachedMapped);
        if (cacheError != null) return cacheError;
        mapped += cachedMapped;
        if (mapped != a->MappedBytes) return $"MappedBytes is {a->MappedBytes} but chunks, huge blocks and retained extents map {mapped}";
        for (int j = 0; j < SizeClasses.NBins; j++)
        {
            Bin* b = Arena.BinOf(a, j);
            string? heapError = null;
            PageDesc* current = b->Current;
            int cls = j;
            bool ok = SlabHeap.ForEach(b->Nonfull, x =>
            {
                PageDesc* d = (PageDesc*)x;
                if (d->Kind != PageKind.Slab || d->Bin != cls) heapError = "non-full heap holds a run that is not one of its slabs";
                else if (d == current) heapError = "the current slab is also in the non-full heap";
                else if (d->NFree == 0) heapError = "a full slab is in the non-full heap";
                return heapError == null;
            }, 10_000_000);
            if (!ok) return $"bin {j}: {heapError ?? "non-full heap is malformed (order or links)"}";
            if (b->Current != null && (b->Current->Kind != PageKind.Slab || b->Current->Bin != j)) return $"bin {j}: current slab is not one of its slabs";
        }
        return null;
    }

    private static string? ValidateSlab(Chunk* c, PageDesc* d, uint head, HashSet<nint> cached)
    {
        int cls = d->Bin;
        if (cls >= SizeClasses.NBins || d->Pages != SizeClasses.s_slabPages[cls]) return $"slab at page {head} has class {cls} and {d->Pages} pages";
        ushort regs = SizeClasses.s_slabRegs[cls];
        nuint size = SizeClasses.s_sizes[cls];
        // A page holding a live heap-profiler sample has its entry cleared; the sampler keeps the real one.
        byte fast = Profiling.Sampler.EffectivePageBin(c, head);
        for (uint k = 1; k < d->Pages; k++)
        {
            PageDesc* x = &c->Pages[head + k];
            if (x->Kind != PageKind.SlabInterior || x->Head != head) return $"slab at page {head}: page {head + k} does not point back to it";
            if (Profiling.Sampler.EffectivePageBin(c, head + k) != fast) return $"slab at page {head}: fast-free entries differ across its pages";
        }
        if (fast != 0 && fast != cls + 1) return $"slab at page {head}: fast-free entry {fast} does not match class {cls}";
        if (d->Bump > regs || d->NFree > regs) return $"slab at page {head}: bump {d->Bump} / nfree {d->NFree} exceed {regs} regions";
        byte* start = d->Address;
        int listed = 0;
        for (void* p = d->FreeList; p != null; p = *(void**)p)
        {
            nuint off = (nuint)((byte*)p - start);
            if ((byte*)p < start || off % size != 0 || off / size >= d->Bump)
                return $"slab at page {head}: free list entry 0x{(nuint)p:x} is not a used region of the slab";
            if (++listed > regs) return $"slab at page {head}: free list is longer than the slab (a block freed twice makes a cycle)";
            if (cached.Count != 0 && cached.Contains((nint)p)) return $"block 0x{(nuint)p:x} is both in a thread cache and on its slab's free list (double free)";
        }
        if (listed + (regs - d->Bump) != d->NFree) return $"slab at page {head}: NFree {d->NFree} but free list {listed} + unused {regs - d->Bump}";
        return null;
    }
}
