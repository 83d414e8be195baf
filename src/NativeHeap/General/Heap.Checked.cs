// Heap.Checked: checked mode (opt.checked). Every free is verified against the arena's own
// bookkeeping before anything changes: the pointer must be the start of a live region of a slab
// (per-slab bitmap of allocated regions) or of a live large block, and a sized free must name a
// size of the block's class. Thread caches are bypassed in this mode, so the bookkeeping is exact.
// The default mode pays nothing for this: its fast path never reaches this file.
using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>Finds the live block at <paramref name="ptr"/> or throws <see cref="HeapMisuseException"/>.</summary>
    private static PageDesc* CheckedFind(Chunk* c, void* ptr, nuint sizeHint, nuint sizeAlignment)
    {
        Arena* a = c->Arena;
        uint idx = Chunk.PageIndexOf(ptr);
        HeapMisuseException? error = null;
        PageDesc* found = null;
        a->Lock.Enter();
        PageDesc* run = RunContaining(c, idx);
        if (run == null)
        {
            error = HeapMisuseException.NotOwned(ptr);
        }
        else if (run->Kind == PageKind.Slab)
        {
            nuint size = SizeClasses.s_sizes[run->Bin];
            nuint off = (nuint)((byte*)ptr - run->Address);
            if (off % size != 0 || off / size >= SizeClasses.s_slabRegs[run->Bin]) error = HeapMisuseException.NotABlock(ptr);
            else if (run->Live == null || !Bin.IsLive(run, ptr, size)) error = HeapMisuseException.DoubleFree(ptr);
            else found = run;
        }
        else if (run->Kind == PageKind.Large)
        {
            if (run->Address != ptr) error = HeapMisuseException.NotABlock(ptr);
            else found = run;
        }
        else
        {
            error = run->Address == ptr ? HeapMisuseException.DoubleFree(ptr) : HeapMisuseException.NotABlock(ptr);
        }
        a->Lock.Exit();
        if (error != null) throw error;
        if (sizeHint != 0) CheckSize(ptr, sizeHint, SizeClasses.s_sizes[found->Bin], sizeAlignment);
        return found;
    }

    /// <summary>The head of the run covering page <paramref name="idx"/>, found by walking run heads; null for header pages.</summary>
    internal static PageDesc* RunContaining(Chunk* c, uint idx)
    {
        if (idx < Chunk.HeaderPages) return null;
        PageDesc* pages = c->Pages;
        uint i = Chunk.HeaderPages;
        while (i < Chunk.PagesPerChunk)
        {
            uint n = pages[i].Pages;
            if (n == 0) return null;   // not a run head: the chunk is inconsistent
            if (idx < i + n) return &pages[i];
            i += n;
        }
        return null;
    }

    /// <summary>
    /// A sized free's size is valid when some allocation call could have returned a block of this usable
    /// size for it: plain (RoundUp) or aligned to any power of two. Up to a page, the aligned results
    /// grow with the alignment, and a small block aligned to A has a usable size that is a multiple of
    /// A, so it is enough to try the largest alignment the usable size allows (its lowest set bit,
    /// capped at a page); above a page every alignment gives the same result, so one more try covers them.
    /// </summary>
    internal static bool IsValidSizedFree(nuint given, nuint usable)
    {
        if (given > usable) return false;
        if (usable > Arena.LargeMax || SizeClasses.RoundUp(given) == usable) return true;
        nuint lowBit = usable & (nuint)(-(nint)usable);
        nuint page = (nuint)Os.OsMemory.PageSize;
        return SizeClasses.RoundUpAligned(given, Math.Min(lowBit, page)) == usable
            || SizeClasses.RoundUpAligned(given, page * 2) == usable;
    }

    /// <summary>
    /// Checks a sized free. With the alignment the flags name (sdallocx with MALLOCX_ALIGN), the size
    /// must give exactly this usable size at that alignment; without one (free_sized, sdallocx with no
    /// alignment) any alignment the block could have been allocated with is accepted.
    /// </summary>
    private static void CheckSize(void* ptr, nuint given, nuint usable, nuint alignment)
    {
        bool ok = alignment <= 1
            ? IsValidSizedFree(given, usable)
            : given <= usable && (usable > Arena.LargeMax || SizeClasses.RoundUpAligned(given, alignment) == usable);
        if (!ok) throw HeapMisuseException.WrongSize(ptr, given, usable);
    }

    /// <summary>Checked mode: is <paramref name="ptr"/> a live small region? (for assertions)</summary>
    private static bool CheckedIsLive(void* ptr)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c == null || c->Kind != ChunkKind.Arena) return false;
        PageDesc* d = &c->Pages[Chunk.PageIndexOf(ptr)];
        if (d->Kind == PageKind.SlabInterior) d = &c->Pages[d->Head];
        return d->Kind == PageKind.Slab && d->Live != null && Bin.IsLive(d, ptr, SizeClasses.s_sizes[d->Bin]);
    }
}
