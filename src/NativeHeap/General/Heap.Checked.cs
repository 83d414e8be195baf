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
    private static PageDesc* CheckedFind(Chunk* c, void* ptr, nuint sizeHint)
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
        if (sizeHint != 0) CheckSize(ptr, sizeHint, SizeClasses.s_sizes[found->Bin]);
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

    private static void CheckSize(void* ptr, nuint given, nuint usable)
    {
        nuint cls = given > usable ? 0 : SizeClasses.RoundUp(given);
        bool ok = given <= usable && (cls == usable || usable > Arena.LargeMax);
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
