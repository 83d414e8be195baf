// Bin: the slabs of one small size class in one arena, and the only place regions move between
// slabs and thread caches.
//
// Terms: a slab is a run of SlabPages pages cut into SlabRegs regions of the class size. A slab
// hands out regions from its free list first, then from Bump (regions never used yet, so a fresh
// slab is never touched before use). Current is the slab being allocated from; Nonfull is a
// SlabHeap (lowest address first) of the other slabs with free regions; full slabs are in no
// structure (a free finds them through the page map).
// Fill and Flush move whole batches under one lock acquisition — the cost of cross-thread frees is
// one lock per batch per bin, never per free.
// Invariants (under Lock): Current, when set, is not in Nonfull; every slab in Nonfull has
// 0 < NFree;
// NFree = (length of FreeList) + (SlabRegs - Bump); no slab in the bin is entirely free (an emptied
// slab, the current one included, goes back to the arena at once).
using System.Runtime.CompilerServices;
using NativeHeap.Core;

namespace NativeHeap.General;

[StructLayout(LayoutKind.Sequential, Size = 128)]
internal unsafe struct Bin
{
    internal NativeLock Lock;
    internal ushort Class;
    internal PageDesc* Current;
    internal PageDesc* Nonfull;
    // Statistics (under Lock), named as jemalloc's stats.arenas.<i>.bins.<j>.*.
    internal long NMalloc;      // regions handed out of slabs
    internal long NDalloc;      // regions returned to slabs
    internal long NRequests;    // allocation requests served (including from thread caches, counted at flush/fill time)
    internal long CurRegs;      // regions currently allocated (including ones sitting in thread caches)
    internal long CurSlabs;
    internal long NSlabs;       // slabs ever created
    internal long NFills;
    internal long NFlushes;

    /// <summary>Blocks a flush found already free and dropped instead of freeing twice (reported by Validate).</summary>
    internal static long s_duplicatesDropped;

    /// <summary>Moves up to <paramref name="want"/> regions into <paramref name="dst"/>; returns how many.</summary>
    internal static int Fill(Arena* a, int cls, void** dst, int want, long requests)
    {
        Bin* b = Arena.BinOf(a, cls);
        nuint size = SizeClasses.s_sizes[cls];
        int got = 0;
        b->Lock.Enter();
        while (got < want)
        {
            PageDesc* d = b->Current;
            if (d == null || d->NFree == 0)
            {
                d = SlabHeap.PopMin(&b->Nonfull);
                if (d == null)
                {
                    d = NewSlab(a, b, cls);
                    if (d == null) break;
                }
                b->Current = d;
            }
            byte* slabBase = d->Address;
            ulong* live = d->Live;
            while (got < want && d->NFree != 0)
            {
                void* p = d->FreeList;
                if (p != null) d->FreeList = *(void**)p;
                else p = slabBase + (nuint)d->Bump++ * size;
                d->NFree--;
                if (live != null)
                {
                    nuint reg = (nuint)((byte*)p - slabBase) / size;
                    live[reg >> 6] |= 1UL << (int)(reg & 63);
                }
                dst[got++] = p;
            }
        }
        b->NMalloc += got;
        b->NRequests += requests;
        b->CurRegs += got;
        b->NFills++;
        b->Lock.Exit();
        return got;
    }

    /// <summary>
    /// Returns <paramref name="n"/> regions of class <paramref name="cls"/> (from any arenas) to their
    /// slabs, taking each arena's bin lock once per run of same-arena items. Reorders <paramref name="items"/>.
    /// </summary>
    internal static void Flush(int cls, void** items, int n, long requests)
    {
        while (n > 0)
        {
            Chunk* c0 = (Chunk*)PageMap.Lookup(items[0]);
            Arena* a = c0->Arena;
            Bin* b = Arena.BinOf(a, cls);
            int kept = 0;
            b->Lock.Enter();
            for (int i = 0; i < n; i++)
            {
                void* p = items[i];
                Chunk* c = (Chunk*)PageMap.Lookup(p);
                if (c->Arena != a)
                {
                    items[kept++] = p;
                    continue;
                }
                PageDesc* d = &c->Pages[Chunk.PageIndexOf(p)];
                if (d->Kind == PageKind.SlabInterior) d = &c->Pages[d->Head];
                // A block cached twice (two threads' caches, or a key the program overwrote after the
                // free) must not be freed twice: its slab may be gone (the run is free), or the block
                // may head the slab's free list (the cheap case of a block already back in its slab).
                if (d->Kind != PageKind.Slab || d->Bin != cls || d->FreeList == p)
                {
                    Interlocked.Increment(ref s_duplicatesDropped);
                    continue;
                }
                FreeRegionLocked(a, b, d, p);
            }
            b->NRequests += requests;
            requests = 0;
            b->NFlushes++;
            b->Lock.Exit();
            n = kept;
        }
    }

    /// <summary>Returns one region to its slab. Bin lock held.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void FreeRegionLocked(Arena* a, Bin* b, PageDesc* d, void* p)
    {
        Debug.Assert(d->Kind == PageKind.Slab && d->Bin == b->Class);
        *(void**)p = d->FreeList;
        d->FreeList = p;
        d->NFree++;
        b->NDalloc++;
        b->CurRegs--;
        if (d->Live != null)
        {
            nuint reg = (nuint)((byte*)p - d->Address) / SizeClasses.s_sizes[b->Class];
            d->Live[reg >> 6] &= ~(1UL << (int)(reg & 63));
        }
        ushort regs = SizeClasses.s_slabRegs[b->Class];
        if (d->NFree == regs)
        {
            // Empty: out of the bin (the current slab, or the non-full heap unless it holds a single
            // region) and back to the arena, as jemalloc does, so empty slabs never pin a chunk.
            if (d == b->Current) b->Current = null;
            else if (regs > 1) SlabHeap.Remove(&b->Nonfull, d);
            ReleaseSlab(a, b, d);
        }
        else if (d->NFree == 1 && d != b->Current)
        {
            // Was full: now has room.
            SlabHeap.Insert(&b->Nonfull, d);
        }
    }

    /// <summary>Takes a run from the arena and makes it a slab of class <paramref name="cls"/>. Bin lock held.</summary>
    private static PageDesc* NewSlab(Arena* a, Bin* b, int cls)
    {
        uint pages = SizeClasses.s_slabPages[cls];
        ushort regs = SizeClasses.s_slabRegs[cls];
        ulong* live = null;
        if (Heap.s_checked)
        {
            live = (ulong*)MetaAlloc.TryAlloc((nuint)((regs + 63) / 64 * 8));
            if (live == null) return null;
        }
        a->Lock.Enter();
        PageDesc* d = Arena.AllocRun(a, pages, 1, out _);
        if (d != null)
        {
            Chunk* c = d->Chunk;
            uint first = d->Index;
            d->Kind = PageKind.Slab;
            d->Bin = (ushort)cls;
            d->NFree = regs;
            d->Bump = 0;
            d->FreeList = null;
            d->Next = d->Prev = d->Child = null;
            d->Live = live;
            for (uint i = 1; i < pages; i++)
            {
                PageDesc* x = &c->Pages[first + i];
                x->Kind = PageKind.SlabInterior;
                x->Head = first;
            }
            if (a->FastFree != 0 && cls < Heap.s_cacheBins)
                NativeMemory.Fill(&c->PageBin[first], pages, (byte)(cls + 1));
            Arena.DecayTick(a);
        }
        a->Lock.Exit();
        if (d == null)
        {
            if (live != null) MetaAlloc.Free(live, (nuint)((regs + 63) / 64 * 8));
            return null;
        }
        b->CurSlabs++;
        b->NSlabs++;
        return d;
    }

    /// <summary>Gives an empty slab back to the arena. Bin lock held.</summary>
    private static void ReleaseSlab(Arena* a, Bin* b, PageDesc* d)
    {
        if (d->Live != null)
        {
            MetaAlloc.Free(d->Live, (nuint)((SizeClasses.s_slabRegs[b->Class] + 63) / 64 * 8));
            d->Live = null;
        }
        b->CurSlabs--;
        a->Lock.Enter();
        Arena.FreeRun(a, d);
        Arena.DecayTick(a);
        a->Lock.Exit();
    }

    /// <summary>Checked mode: is region <paramref name="p"/> of slab <paramref name="d"/> currently allocated?</summary>
    internal static bool IsLive(PageDesc* d, void* p, nuint size)
    {
        nuint reg = (nuint)((byte*)p - d->Address) / size;
        return (d->Live[reg >> 6] & (1UL << (int)(reg & 63))) != 0;
    }
}
