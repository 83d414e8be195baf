// Arena: one independent allocator — its chunks, free page runs, large blocks, huge blocks and the
// bins of small classes — living in native memory (MetaAlloc) so locks and lists never move.
//
// Terms and locking:
//  - Lock protects the page layer: the chunk list, the three free sets (dirty, muzzy, clean), page
//    descriptors of runs, large and huge blocks, decay state and the arena's page statistics.
//  - Each Bin (trailing the Arena struct, one per small class) has its own lock for its slabs; a bin
//    lock may be held while taking the arena lock, never the other way round.
//  - OS / memory-source calls (map, purge, release) are made with the arena lock released; runs
//    being purged are marked busy (Kind Header) so no neighbour coalesces with them meanwhile.
// Descriptors of pages inside a run keep stale contents; only run heads and the two boundary pages
// (a free run's tail, an allocated run's last page) are meaningful, and every operation that makes
// an interior page a boundary rewrites it.
// Invariants: every page of a chunk is in exactly one run (see Chunk); MappedBytes equals the bytes
// of its chunks, huge mappings and dirty or muzzy retained huge extents (clean ones are RetainedBytes); ActivePages equals the pages of live slabs and large blocks.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.General;

internal unsafe partial struct Arena
{
    internal const int NLarge = SizeClasses.NClasses - SizeClasses.NBins;

    internal NativeLock Lock;
    internal int Index;
    internal int SourceId;
    internal byte Explicit;          // created by CreateArena: frees never use the implicit thread caches
    internal byte Destroyed;
    internal byte FastFree;          // PageBin entries may be set (tcache on, no checked/junk modes)
    internal long DirtyDecayMs;
    internal long MuzzyDecayMs;
    internal long CreatedTicks;      // Stopwatch timestamp at creation (stats.arenas.<i>.uptime)
    internal long MuzzyPurgeCalls;   // the share of PurgeCalls / PurgeMadvise / PurgedPages that purged muzzy runs
    internal long MuzzyPurgeMadvise;
    internal long MuzzyPurgedPages;
    internal int DecayTicks;
    internal int NChunks;
    internal int NThreads;           // threads whose cache is attached to this arena
    internal int EmptyChunks;        // chunks with no live run (every usable page free)
    internal int Purging;            // purge passes that dropped Lock around source calls and will reinsert runs
    internal byte SharesChunks;      // automatic arena: gives extra empty chunks to SparePool and takes from it
    internal Chunk* Chunks;
    internal Chunk* HugeList;
    internal FreeSet Dirty;
    internal FreeSet Muzzy;
    internal FreeSet Clean;

    // Statistics (under Lock).
    internal long MappedBytes;
    internal long ActivePages;
    internal long HugeBytes;         // usable bytes of live huge blocks
    internal long HugeCount;
    internal long HugeNMalloc;       // huge blocks ever allocated / freed in this arena
    internal long HugeNDalloc;
    internal long PurgeCalls;        // purge passes that did work
    internal long PurgeMadvise;      // source purge calls
    internal long PurgedPages;
    internal long LargeRequests;
    internal Chunk* HugeCached;      // retained huge extents (HugeCache), newest first
    internal int HugeCachedCount;
    internal long HugeCachedBytes;   // bytes of the retained extents' mappings, every state
    internal long HugeCachedDirtyPages;  // pages after the header of dirty / muzzy retained extents
    internal long HugeCachedMuzzyPages;
    internal long RetainedBytes;     // mappings of clean retained extents (stats.retained; not in MappedBytes)
    internal long HugeRetainLimit;   // byte budget of the retained extents (0: opt.retain off)
    internal long HugeReuses;        // huge blocks served from a retained extent
    internal long HugeMaps;          // huge blocks that needed a new mapping from the source
    internal fixed long LargeNMalloc[NLarge];
    internal fixed long LargeNDalloc[NLarge];
    internal fixed long LargeCur[NLarge];

    internal static readonly int BinsOffset = (sizeof(Arena) + 63) & ~63;
    internal static int TotalSize => BinsOffset + SizeClasses.NBins * sizeof(Bin);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Bin* BinOf(Arena* a, int cls) => (Bin*)((byte*)a + BinsOffset) + cls;

    internal static FreeSet* SetOf(Arena* a, RunState s)
        => s == RunState.Dirty ? &a->Dirty : s == RunState.Muzzy ? &a->Muzzy : &a->Clean;

    /// <summary>Creates an arena in metadata memory; null when metadata memory is exhausted.</summary>
    internal static Arena* Create(int index, int sourceId, bool isExplicit, HeapOptions o)
    {
        Arena* a = (Arena*)MetaAlloc.TryAlloc((nuint)TotalSize);
        if (a == null) return null;
        Init(a, index, sourceId, isExplicit, o);
        return a;
    }

    /// <summary>
    /// Re-initialises a destroyed arena's memory in place for a new arena in the same slot, so
    /// create/destroy cycles reuse one metadata block instead of leaking it (nothing may use a
    /// destroyed arena, and its chunks were released by the destroy).
    /// </summary>
    /// <remarks>
    /// Walkers of every arena (purge, decay, stats, validation) may have read the pointer just before the
    /// destroy and be waiting on, or holding, its locks: the locks are kept and taken (bins, then the
    /// arena, the usual order) while everything else is cleared and set, so such a walker sees either
    /// the destroyed arena or the new one, never a half-made one or a wiped lock.
    /// </remarks>
    internal static void Reuse(Arena* a, int index, int sourceId, bool isExplicit, HeapOptions o)
    {
        for (int i = 0; i < SizeClasses.NBins; i++) BinOf(a, i)->Lock.Enter();
        a->Lock.Enter();
        Debug.Assert(a->Destroyed != 0 && a->Chunks == null && a->HugeList == null && a->HugeCached == null);
        nuint lockBytes = (nuint)sizeof(NativeLock);
        NativeMemory.Clear((byte*)a + lockBytes, (nuint)sizeof(Arena) - lockBytes);
        for (int i = 0; i < SizeClasses.NBins; i++) NativeMemory.Clear((byte*)BinOf(a, i) + lockBytes, (nuint)sizeof(Bin) - lockBytes);
        Init(a, index, sourceId, isExplicit, o);
        a->Lock.Exit();
        for (int i = SizeClasses.NBins - 1; i >= 0; i--) BinOf(a, i)->Lock.Exit();
    }

    private static void Init(Arena* a, int index, int sourceId, bool isExplicit, HeapOptions o)
    {
        a->Index = index;
        a->SourceId = sourceId;
        a->Explicit = isExplicit ? (byte)1 : (byte)0;
        a->FastFree = (byte)(!isExplicit && o.ThreadCache && !o.Checked && o.Junk == JunkFill.None && !o.Zero ? 1 : 0);
        a->SharesChunks = isExplicit ? (byte)0 : (byte)1;
        a->DirtyDecayMs = o.DirtyDecayMs;
        a->MuzzyDecayMs = o.MuzzyDecayMs;
        a->HugeRetainLimit = o.Retain ? HugeCache.DefaultLimit : 0;
        a->CreatedTicks = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < SizeClasses.NBins; i++) BinOf(a, i)->Class = (ushort)i;
    }

    // ---- chunks -------------------------------------------------------------------------------

    /// <summary>Maps a new chunk and adds its pages as one free run. Called with the lock held; drops it meanwhile.</summary>
    private static bool TryGrow(Arena* a)
    {
        if (a->SharesChunks != 0)
        {
            Chunk* spare = SparePool.TryPop(out bool clean);
            if (spare != null)
            {
                // Old run boundaries inside the chunk must not look like free runs to coalescing.
                for (uint i = Chunk.HeaderPages; i < Chunk.PagesPerChunk; i++) spare->Pages[i].Kind = PageKind.Header;
                Adopt(a, spare);
                InsertFree(a, spare, Chunk.HeaderPages, Chunk.UsablePages, clean ? RunState.Clean : RunState.Dirty, HeapClock.Now());
                return true;
            }
        }
        IMemorySource source = MemorySources.Get(a->SourceId);
        a->Lock.Exit();
        void* mem = source.Allocate(null, Chunk.Size, Chunk.Size, out bool zeroed);
        a->Lock.Enter();
        if (mem == null) return false;
        if (((nuint)mem & (Chunk.Size - 1)) != 0)
        {
            source.TryRelease(mem, Chunk.Size);
            throw new InvalidOperationException($"memory source {source.GetType().Name} returned a block that is not aligned to {Chunk.Size} bytes");
        }
        Chunk* c = (Chunk*)mem;
        if (!zeroed) NativeMemory.Clear(c, (nuint)(Chunk.HeaderPages * OsMemory.PageSize));
        c->Kind = ChunkKind.Arena;
        c->SourceId = a->SourceId;
        c->MapSize = Chunk.Size;
        PageDesc* pages = c->Pages;
        for (int i = 0; i < Chunk.PagesPerChunk; i++) pages[i].Chunk = c;
        Adopt(a, c);
        PageMap.Set(c, Chunk.Size, c);
        InsertFree(a, c, Chunk.HeaderPages, Chunk.UsablePages, zeroed ? RunState.Clean : RunState.Dirty, HeapClock.Now());
        return true;
    }

    /// <summary>Links a chunk with no runs yet into the arena. Lock held.</summary>
    private static void Adopt(Arena* a, Chunk* c)
    {
        c->Arena = a;
        c->FreePages = c->CleanPages = 0;
        c->Prev = null;
        c->Next = a->Chunks;
        if (a->Chunks != null) a->Chunks->Prev = c;
        a->Chunks = c;
        a->NChunks++;
        a->MappedBytes += (long)Chunk.Size;
    }

    /// <summary>Takes a chunk with no live run out of the arena and hands it to SparePool. Lock held.</summary>
    private static void Donate(Arena* a, Chunk* c)
    {
        Debug.Assert(c->FreePages == Chunk.UsablePages);
        PageDesc* pages = c->Pages;
        for (uint i = Chunk.HeaderPages; i < Chunk.PagesPerChunk;)
        {
            PageDesc* r = &pages[i];
            Debug.Assert(r->Kind == PageKind.Free);
            SetOf(a, r->State)->Remove(r, r->State != RunState.Clean);
            i += r->Pages;
        }
        bool clean = c->CleanPages == Chunk.UsablePages;
        a->EmptyChunks--;
        if (c->Prev != null) c->Prev->Next = c->Next; else a->Chunks = c->Next;
        if (c->Next != null) c->Next->Prev = c->Prev;
        a->NChunks--;
        a->MappedBytes -= (long)Chunk.Size;
        SparePool.Push(c, clean, HeapClock.Now());
    }

    /// <summary>Pages leave the free runs of chunk c (carved or taken for purging). Lock held.</summary>
    private static void TakeFreePages(Arena* a, Chunk* c, uint count)
    {
        if (c->FreePages == Chunk.UsablePages) a->EmptyChunks--;
        c->FreePages -= count;
    }

    /// <summary>Returns a chunk that is one clean free run to its source. Called with the lock held; drops it meanwhile.</summary>
    private static void ReleaseChunk(Arena* a, Chunk* c)
    {
        PageDesc* run = &c->Pages[Chunk.HeaderPages];
        Debug.Assert(run->Kind == PageKind.Free && run->Pages == Chunk.UsablePages && run->State == RunState.Clean);
        a->Clean.Remove(run, aged: false);
        a->EmptyChunks--;
        c->FreePages = c->CleanPages = 0;
        if (c->Prev != null) c->Prev->Next = c->Next; else a->Chunks = c->Next;
        if (c->Next != null) c->Next->Prev = c->Prev;
        a->NChunks--;
        a->MappedBytes -= (long)Chunk.Size;
        PageMap.Set(c, Chunk.Size, null);
        IMemorySource source = MemorySources.Get(c->SourceId);
        a->Lock.Exit();
        source.TryRelease(c, Chunk.Size);
        a->Lock.Enter();
    }

    // ---- runs ---------------------------------------------------------------------------------

    /// <summary>
    /// Adds pages [first, first+count) of chunk c as a free run of the given state, merging with free
    /// neighbours of the same state. Lock held.
    /// </summary>
    internal static void InsertFree(Arena* a, Chunk* c, uint first, uint count, RunState state, long stamp)
    {
        PageDesc* pages = c->Pages;
        c->FreePages += count;
        if (c->FreePages == Chunk.UsablePages) a->EmptyChunks++;
        if (state == RunState.Clean) c->CleanPages += count;
        bool aged = state != RunState.Clean;
        FreeSet* set = SetOf(a, state);
        if (first > Chunk.HeaderPages)
        {
            PageDesc* prevTail = &pages[first - 1];
            if (prevTail->Kind == PageKind.Free && prevTail->State == state)
            {
                PageDesc* prev = &pages[prevTail->Head];
                set->Remove(prev, aged);
                if (prev->Stamp > stamp) stamp = prev->Stamp;
                prevTail->Kind = PageKind.Header;
                count += first - prevTail->Head;
                first = prevTail->Head;
            }
        }
        uint end = first + count;
        if (end < Chunk.PagesPerChunk)
        {
            PageDesc* next = &pages[end];
            if (next->Kind == PageKind.Free && next->State == state)
            {
                set->Remove(next, aged);
                if (next->Stamp > stamp) stamp = next->Stamp;
                next->Kind = PageKind.Header;
                count += next->Pages;
                end = first + count;
            }
        }
        PageDesc* head = &pages[first];
        head->Kind = PageKind.Free;
        head->State = state;
        head->Pages = count;
        head->Head = first;
        head->Stamp = stamp;
        PageDesc* tail = &pages[end - 1];
        tail->Kind = PageKind.Free;
        tail->State = state;
        tail->Pages = count;
        tail->Head = first;
        set->Insert(head, aged);
    }

    /// <summary>
    /// Carves pages [start, start+count) out of free run <paramref name="run"/>, leaving the pieces
    /// before and after as free runs of the same state. Returns the state the pages had. Lock held.
    /// </summary>
    private static RunState Carve(Arena* a, PageDesc* run, uint start, uint count)
    {
        Chunk* c = run->Chunk;
        PageDesc* pages = c->Pages;
        RunState state = run->State;
        bool aged = state != RunState.Clean;
        FreeSet* set = SetOf(a, state);
        uint head = run->Index, total = run->Pages, end = head + total;
        Debug.Assert(start >= head && start + count <= end);
        TakeFreePages(a, c, count);
        if (state == RunState.Clean) c->CleanPages -= count;
        if (start > head)
        {
            // The leading piece keeps the head descriptor and its age position.
            uint lead = start - head;
            run->Pages = lead;
            set->Rebucket(run, total);
            PageDesc* tail = &pages[start - 1];
            tail->Kind = PageKind.Free;
            tail->State = state;
            tail->Pages = lead;
            tail->Head = head;
        }
        else
        {
            set->Remove(run, aged);
        }
        uint after = start + count;
        if (after < end)
        {
            PageDesc* t = &pages[after];
            t->Kind = PageKind.Free;
            t->State = state;
            t->Pages = end - after;
            t->Head = after;
            t->Stamp = run->Stamp;
            PageDesc* tt = &pages[end - 1];
            tt->Kind = PageKind.Free;
            tt->State = state;
            tt->Pages = end - after;
            tt->Head = after;
            set->Insert(t, aged);
        }
        return state;
    }

    /// <summary>
    /// Finds and carves <paramref name="pages"/> pages aligned to <paramref name="alignPages"/>,
    /// growing the arena when nothing fits. Returns the head descriptor (not yet typed) and whether the
    /// pages are known zero, or null when the memory source is exhausted. Lock held.
    /// </summary>
    internal static PageDesc* AllocRun(Arena* a, uint pages, uint alignPages, out bool zeroed)
    {
        Debug.Assert(pages + alignPages - 1 <= Chunk.UsablePages);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            PageDesc* run = a->Dirty.Find(pages, alignPages);
            if (run == null) run = a->Muzzy.Find(pages, alignPages);
            if (run == null) run = a->Clean.Find(pages, alignPages);
            if (run != null)
            {
                uint start = FreeSet.AlignedStart(run, pages, alignPages);
                RunState state = Carve(a, run, start, pages);
                zeroed = state == RunState.Clean;
                PageDesc* d = &run->Chunk->Pages[start];
                d->Kind = PageKind.Header;          // the caller types the head (Slab or Large)
                if (pages > 1) d[pages - 1].Kind = PageKind.Header;
                d->Pages = pages;
                d->Head = start;
                a->ActivePages += pages;
                return d;
            }
            if (!TryGrow(a)) break;
        }
        zeroed = false;
        return null;
    }

    /// <summary>Frees a run (slab or large block) back to the dirty set, purging at once when decay is 0. Lock held.</summary>
    internal static void FreeRun(Arena* a, PageDesc* d)
    {
        Chunk* c = d->Chunk;
        uint first = d->Index, count = d->Pages;
        a->ActivePages -= count;
        if (d->Kind == PageKind.Slab)
        {
            NativeMemory.Clear(&c->PageBin[first], count);
            for (uint i = first; i < first + count; i++) c->Pages[i].Kind = PageKind.Header;
        }
        else
        {
            c->PageBin[first] = 0;
            d->Kind = PageKind.Header;
        }
        InsertFree(a, c, first, count, RunState.Dirty, HeapClock.Now());
        if (a->DirtyDecayMs == 0) PurgeLocked(a, RunState.Dirty, long.MaxValue);
        if (a->EmptyChunks > 1 && a->SharesChunks != 0 && c->FreePages == Chunk.UsablePages && c->Arena == a) Donate(a, c);
    }
}
