// FreeSet: the free runs of one state (dirty, muzzy or clean) of one arena.
//
// Terms: runs are kept in 128 size buckets — bucket n-1 holds runs of exactly n pages for n <= 64,
// larger runs fall in four buckets per doubling — with a two-word bitmap of non-empty buckets, so
// finding a fitting run is a bit scan plus, in the one partially fitting bucket, a short list walk.
// Dirty and muzzy runs are also on an age list (oldest first) that decay purges from the front.
// Invariants: a run is in exactly one bucket list of exactly one set while its head has Kind Free;
// Pages equals the sum of the pages of the runs in the set; AgeHead..AgeTail holds every run of a
// dirty or muzzy set (and none of a clean set).
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeHeap.General;

internal unsafe struct FreeSet
{
    internal const int NBuckets = 128;

    private fixed ulong _mask[2];
    private fixed long _heads[NBuckets];
    internal PageDesc* AgeHead;
    internal PageDesc* AgeTail;
    internal long Pages;
    internal long Runs;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int BucketOf(uint pages)
    {
        Debug.Assert(pages >= 1);
        if (pages <= 64) return (int)pages - 1;
        int lg = 31 - BitOperations.LeadingZeroCount(pages);           // 2^lg <= pages
        return 64 + (lg - 6) * 4 + (int)((pages >> (lg - 2)) & 3);
    }

    internal void Insert(PageDesc* run, bool aged)
    {
        int b = BucketOf(run->Pages);
        PageDesc** head = (PageDesc**)Unsafe.AsPointer(ref _heads[b]);
        run->Prev = null;
        run->Next = *head;
        if (*head != null) (*head)->Prev = run;
        *head = run;
        _mask[b >> 6] |= 1UL << (b & 63);
        Pages += run->Pages;
        Runs++;
        if (aged)
        {
            run->AgeNext = null;
            run->AgePrev = AgeTail;
            if (AgeTail != null) AgeTail->AgeNext = run; else AgeHead = run;
            AgeTail = run;
        }
    }

    /// <summary>Takes the run out of its bucket (and its age list when <paramref name="aged"/>).</summary>
    internal void Remove(PageDesc* run, bool aged)
    {
        RemoveFromBucket(run);
        if (aged) RemoveFromAge(run);
    }

    internal void RemoveFromBucket(PageDesc* run)
    {
        int b = BucketOf(run->Pages);
        if (run->Prev != null) run->Prev->Next = run->Next;
        else
        {
            PageDesc** head = (PageDesc**)Unsafe.AsPointer(ref _heads[b]);
            Debug.Assert(*head == run);
            *head = run->Next;
            if (*head == null) _mask[b >> 6] &= ~(1UL << (b & 63));
        }
        if (run->Next != null) run->Next->Prev = run->Prev;
        run->Next = run->Prev = null;
        Pages -= run->Pages;
        Runs--;
    }

    internal void RemoveFromAge(PageDesc* run)
    {
        if (run->AgePrev != null) run->AgePrev->AgeNext = run->AgeNext; else AgeHead = run->AgeNext;
        if (run->AgeNext != null) run->AgeNext->AgePrev = run->AgePrev; else AgeTail = run->AgePrev;
        run->AgeNext = run->AgePrev = null;
    }

    /// <summary>Puts a run whose length changed back into the right bucket, keeping its age position.</summary>
    internal void Rebucket(PageDesc* run, uint oldPages)
    {
        uint newPages = run->Pages;
        run->Pages = oldPages;
        RemoveFromBucket(run);
        run->Pages = newPages;
        int b = BucketOf(newPages);
        PageDesc** head = (PageDesc**)Unsafe.AsPointer(ref _heads[b]);
        run->Prev = null;
        run->Next = *head;
        if (*head != null) (*head)->Prev = run;
        *head = run;
        _mask[b >> 6] |= 1UL << (b & 63);
        Pages += newPages;
        Runs++;
    }

    /// <summary>
    /// A run of at least <paramref name="pages"/> pages that has an <paramref name="alignPages"/>-aligned
    /// start leaving room for them, or null. Prefers the smallest bucket that fits.
    /// </summary>
    internal PageDesc* Find(uint pages, uint alignPages)
    {
        uint need = pages + alignPages - 1;
        int b = BucketOf(need);
        // The bucket of `need` may hold runs shorter than `need` (ranged buckets): walk it.
        for (PageDesc* r = (PageDesc*)_heads[b]; r != null; r = r->Next)
            if (Fits(r, pages, alignPages)) return r;
        for (int w = (b + 1) >> 6; w < 2; w++)
        {
            ulong m = _mask[w];
            if (w == (b + 1) >> 6) m &= ~0UL << ((b + 1) & 63);
            while (m != 0)
            {
                int bb = (w << 6) + BitOperations.TrailingZeroCount(m);
                for (PageDesc* r = (PageDesc*)_heads[bb]; r != null; r = r->Next)
                    if (Fits(r, pages, alignPages)) return r;
                m &= m - 1;
            }
        }
        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Fits(PageDesc* r, uint pages, uint alignPages)
        => r->Pages >= pages && AlignedStart(r, pages, alignPages) != uint.MaxValue;

    /// <summary>
    /// The lowest aligned start index inside the run that leaves room for the pages, or uint.MaxValue.
    /// Carving from the low end leaves the rest of the run directly above the new block, so the block
    /// can later grow in place (xallocx/rallocx), as jemalloc splits extents from their start.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint AlignedStart(PageDesc* r, uint pages, uint alignPages)
    {
        uint head = r->Index, end = head + r->Pages;
        if (end - head < pages) return uint.MaxValue;
        uint s = (head + alignPages - 1) / alignPages * alignPages;
        return s <= end - pages ? s : uint.MaxValue;
    }

}
