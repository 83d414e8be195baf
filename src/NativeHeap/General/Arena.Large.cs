// Arena.Large: large blocks — size classes from 16 KiB up to LargeMax — as page runs inside chunks,
// including in-place growth into the free runs that follow (new blocks are carved from the low end of
// a free run, so the newest block has the rest of the run above it) and in-place shrinking.
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.General;

internal unsafe partial struct Arena
{
    /// <summary>Largest class served from chunk runs; bigger blocks are huge (mapped on their own).</summary>
    internal const nuint LargeMax = 2 * 1024 * 1024;

    /// <summary>Allocates a large block of class <paramref name="cls"/>; null when memory is exhausted.</summary>
    internal static void* LargeAlloc(Arena* a, int cls, nuint usize, nuint alignment, bool zero)
    {
        uint pages = (uint)(usize >> OsMemory.LgPageSize);
        uint alignPages = alignment <= OsMemory.PageSize ? 1 : (uint)(alignment >> OsMemory.LgPageSize);
        a->Lock.Enter();
        PageDesc* d = AllocRun(a, pages, alignPages, out bool zeroed);
        if (d != null)
        {
            d->Kind = PageKind.Large;
            d->Bin = (ushort)cls;
            d->Chunk->PageBin[d->Index] = a->FastFree != 0 && cls < Heap.s_cacheBins ? (byte)(cls + 1) : (byte)0;
            a->LargeNMalloc[cls - SizeClasses.NBins]++;
            a->LargeCur[cls - SizeClasses.NBins]++;
            a->LargeRequests++;
            DecayTick(a);
        }
        a->Lock.Exit();
        if (d == null) return null;
        void* p = d->Address;
        if (zero && !zeroed) NativeMemory.Clear(p, usize);
        return p;
    }

    /// <summary>Frees a large block whose head descriptor is <paramref name="d"/>.</summary>
    internal static void LargeFree(Arena* a, PageDesc* d)
    {
        a->Lock.Enter();
        LargeFreeLocked(a, d);
        DecayTick(a);
        a->Lock.Exit();
    }

    internal static void LargeFreeLocked(Arena* a, PageDesc* d)
    {
        Debug.Assert(d->Kind == PageKind.Large);
        int slot = d->Bin - SizeClasses.NBins;
        a->LargeNDalloc[slot]++;
        a->LargeCur[slot]--;
        FreeRun(a, d);
    }

    /// <summary>
    /// Resizes a large block in place to class <paramref name="newCls"/> (also large): shrinking frees the
    /// tail pages, growing takes pages from a free run that directly follows. False when it cannot.
    /// </summary>
    internal static bool LargeResizeInPlace(Arena* a, PageDesc* d, int newCls, nuint newUsize, bool zero)
    {
        uint oldPages = d->Pages, newPages = (uint)(newUsize >> OsMemory.LgPageSize);
        if (newPages == oldPages) return true;
        Chunk* c = d->Chunk;
        uint head = d->Index;
        bool cacheable = a->FastFree != 0 && newCls < Heap.s_cacheBins;
        a->Lock.Enter();
        try
        {
            if (newPages < oldPages)
            {
                uint tailFirst = head + newPages, tailCount = oldPages - newPages;
                ChangeClass(a, d, newCls, newPages, cacheable);
                a->ActivePages -= tailCount;
                // The block's new last page was an interior page with a stale kind: make it a plain
                // boundary so the freed tail cannot coalesce into the live block.
                if (newPages > 1) c->Pages[head + newPages - 1].Kind = PageKind.Header;
                c->Pages[tailFirst].Kind = PageKind.Header;
                c->Pages[head + oldPages - 1].Kind = PageKind.Header;
                InsertFree(a, c, tailFirst, tailCount, RunState.Dirty, HeapClock.Now());
                if (a->DirtyDecayMs == 0) PurgeLocked(a, RunState.Dirty, long.MaxValue);
                return true;
            }
            // Grow into the free runs that directly follow: one run, or several of different states
            // (a dirty tail freed by a shrink, then the clean rest of the chunk).
            uint next = head + oldPages, extra = newPages - oldPages, end = next + extra;
            if (end > Chunk.PagesPerChunk) return false;
            uint avail = 0;
            for (uint at = next; avail < extra && at < Chunk.PagesPerChunk;)
            {
                PageDesc* r = &c->Pages[at];
                if (r->Kind != PageKind.Free) break;
                avail += r->Pages;
                at += r->Pages;
            }
            if (avail < extra) return false;
            for (uint at = next; at < end;)
            {
                PageDesc* run = &c->Pages[at];
                uint take = Math.Min(run->Pages, end - at);
                RunState state = Carve(a, run, at, take);
                c->Pages[at].Kind = PageKind.Header;
                c->Pages[at + take - 1].Kind = PageKind.Header;
                // Bytes gained in place read as zeroes with MALLOCX_ZERO (clean pages already do).
                if (zero && state != RunState.Clean)
                    NativeMemory.Clear((byte*)c + ((nuint)at << OsMemory.LgPageSize), (nuint)take << OsMemory.LgPageSize);
                at += take;
            }
            a->ActivePages += extra;
            ChangeClass(a, d, newCls, newPages, cacheable);
            return true;
        }
        finally
        {
            a->Lock.Exit();
        }
    }

    private static void ChangeClass(Arena* a, PageDesc* d, int newCls, uint newPages, bool cacheable)
    {
        int oldSlot = d->Bin - SizeClasses.NBins, newSlot = newCls - SizeClasses.NBins;
        a->LargeNDalloc[oldSlot]++;
        a->LargeCur[oldSlot]--;
        a->LargeNMalloc[newSlot]++;
        a->LargeCur[newSlot]++;
        d->Bin = (ushort)newCls;
        d->Pages = newPages;
        d->Chunk->PageBin[d->Index] = cacheable ? (byte)(newCls + 1) : (byte)0;
    }
}
