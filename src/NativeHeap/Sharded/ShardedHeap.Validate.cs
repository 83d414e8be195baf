// ShardedHeap.Validate: the invariant walker of core v2 (docs/core-v2.md, "Invariants"). It reads
// every heap's lists and every page's free lists, so it must run while no other thread allocates or
// frees in core v2 (tests call it after joining their threads).
using NativeHeap.Core;

namespace NativeHeap.Sharded;

internal static unsafe partial class ShardedHeap
{
    /// <summary>Checks every invariant; throws <see cref="InvalidOperationException"/> naming the first violation.</summary>
    internal static void Validate()
    {
        if (TryValidate(out string error)) return;
        throw new InvalidOperationException("NativeHeap core v2: " + error);
    }

    /// <summary>Checks every invariant; false with the first violation.</summary>
    internal static bool TryValidate(out string error)
    {
        var owned = new HashSet<nint>();
        string? e;
        SegmentPool.Enter();
        EnterRegistry();
        try
        {
            e = ValidateHeaps(owned) ?? SegmentPool.ValidateLocked(seg =>
            {
                Segment* s = (Segment*)seg;
                for (int i = 0; i < s->PageCount; i++)
                {
                    Page* page = s->Pages + i;
                    if (page->Index != i) return $"page {(nuint)page:x}: index {page->Index}, expected {i}";
                    if (page->Class != Page.FreeClass && !owned.Remove((nint)page)) return $"page {(nuint)page:x} is owned but in no heap's lists";
                }
                return null;
            });
            if (e == null && owned.Count != 0) e = $"{owned.Count} listed pages belong to no live segment";
        }
        finally
        {
            s_registryLock->Exit();
            SegmentPool.Exit();
        }
        error = e ?? "";
        return e == null;
    }

    private static string? ValidateHeaps(HashSet<nint> owned)
    {
        int abandoned = 0;
        for (ThreadHeap* h = s_registry; h != null; h = h->RegistryNext)
        {
            if (h->State == HeapState.Abandoned) abandoned++;
            for (int cls = 0; cls < ThreadHeap.NClasses; cls++)
            {
                int n = 0;
                Page* prev = null;
                for (Page* page = (Page*)h->QFirst[cls]; page != null; prev = page, page = page->Next)
                {
                    if (++n > h->QCount[cls]) return $"heap {(nuint)h:x} class {cls}: queue longer than its count";
                    if (page->Prev != prev) return $"page {(nuint)page:x}: broken queue link";
                    if (page->Heap != h || page->Class != cls || page->InFull != 0) return $"page {(nuint)page:x}: queued in heap {(nuint)h:x} class {cls} but says heap {(nuint)page->Heap:x} class {page->Class} full {page->InFull}";
                    int want = prev == null ? -1 : 0;
                    if (page->SlowAt != want) return $"page {(nuint)page:x}: SlowAt {page->SlowAt}, expected {want}";
                    if (page->Used == 0 && prev != null) return $"page {(nuint)page:x}: empty but not its queue's head";
                    if (!owned.Add((nint)page)) return $"page {(nuint)page:x} is in two lists";
                    if (ValidatePage(page, full: false) is string pe) return pe;
                }
                if (n != h->QCount[cls] || (Page*)h->QLast[cls] != prev) return $"heap {(nuint)h:x} class {cls}: count or tail wrong";
                Page* direct = n == 0 ? s_emptyPage : (Page*)h->QFirst[cls];
                if ((Page*)h->Direct[cls] != direct) return $"heap {(nuint)h:x} class {cls}: direct page is not the queue head";
            }
            var news = new HashSet<nint>();
            for (Page* page = (Page*)Volatile.Read(ref h->News); page != null; page = page->NewsNext)
            {
                if (!news.Add((nint)page)) return $"heap {(nuint)h:x}: page {(nuint)page:x} twice on the news";
                if (page->InFull != 1 || page->Heap != h) return $"news page {(nuint)page:x} is not a full page of heap {(nuint)h:x}";
            }
            int full = 0;
            for (Page* page = h->FullFirst; page != null; page = page->Next)
            {
                if (++full > h->FullCount) return $"heap {(nuint)h:x}: full list longer than its count";
                if (page->Heap != h || page->InFull != 1) return $"full page {(nuint)page:x}: heap {(nuint)page->Heap:x}, InFull {page->InFull}";
                nint tf = Volatile.Read(ref page->ThreadFree);
                bool flagged = tf == Page.FullFlag;
                if (!flagged && !news.Contains((nint)page)) return $"full page {(nuint)page:x} lost its flag but is not on the news";
                if (flagged && page->SlowAt != page->Reserved - 1 && page->SlowAt != int.MinValue) return $"full page {(nuint)page:x}: SlowAt {page->SlowAt}";
                if (!owned.Add((nint)page)) return $"page {(nuint)page:x} is in two lists";
                if (ValidatePage(page, full: true) is string pe) return pe;
            }
            if (full != h->FullCount) return $"heap {(nuint)h:x}: full count {h->FullCount} but {full} listed";
        }
        if (abandoned != s_abandoned) return $"{abandoned} abandoned heaps, counter {s_abandoned}";
        return null;
    }

    private static string? ValidatePage(Page* page, bool full)
    {
        Segment* seg = Segment.Of(page);
        if (PageMap.Lookup(page->Start) != seg) return $"page {(nuint)page:x}: its segment is not in the page map";
        if (page->Capacity > page->Reserved || page->Capacity < 0) return $"page {(nuint)page:x}: capacity {page->Capacity} of {page->Reserved}";
        if (page->BlockSize != (uint)Core.SizeClasses.s_sizes[page->Class]) return $"page {(nuint)page:x}: block size {page->BlockSize} is not class {page->Class}'s";
        var seen = new bool[page->Capacity];
        string? Walk(void* list, string name, out int count)
        {
            count = 0;
            for (void* b = list; b != null; b = *(void**)b)
            {
                if (!Page.IsBlock(page, b)) return $"page {(nuint)page:x}: {name} holds {(nuint)b:x}, not one of its blocks";
                int i = (int)(((nuint)b - (nuint)page->Start) / page->BlockSize);
                if (seen[i]) return $"page {(nuint)page:x}: block {(nuint)b:x} twice in its free lists ({name})";
                seen[i] = true;
                count++;
            }
            return null;
        }
        nint tf = Volatile.Read(ref page->ThreadFree);
        if ((tf & Page.FullFlag) != 0 && (!full || tf != Page.FullFlag)) return $"page {(nuint)page:x}: full flag on a page that is not full";
        if (Walk(page->Free, "Free", out int nFree) is string e1) return e1;
        if (Walk((void*)(tf & ~Page.FullFlag), "ThreadFree", out int nThread) is string e3) return e3;
        if (nFree + page->Used != page->Capacity) return $"page {(nuint)page:x}: {nFree} free + {page->Used} used != capacity {page->Capacity}";
        if (nThread > page->Used) return $"page {(nuint)page:x}: {nThread} thread-free blocks but {page->Used} used";
        if (full && nFree != 0 && page->SlowAt != int.MinValue) return $"full page {(nuint)page:x} has a free list";
        return null;
    }
}
