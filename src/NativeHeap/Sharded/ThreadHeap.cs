// ThreadHeap: one thread's heap in core v2 (docs/core-v2.md), in native memory only.
//
// Terms:
//  - Direct[c]: the page malloc pops class c from: the head of queue c, or the shared empty page
//    (whose Free is null) when the queue is empty, so a class never used costs malloc no extra test.
//  - queue c: the heap's non-full pages of class c (doubly linked through Page.Next/Prev).
//  - full list: the heap's pages that were exhausted; each has its full flag set (or taken by a
//    remote freer, then it is on its way to News).
//  - News: pages remote freers took out of the full state, pushed with a CAS; the owner takes the
//    whole list with one exchange.
//  - State: Live (a thread owns it), Abandoned (its thread exited; pages wait to be absorbed),
//    Spare (no thread and no pages: ready for a new thread). Heaps are never freed (remote freers may
//    still push on News).
// Invariants: Direct[c] == (QFirst[c] ?? empty page); QCount[c] is the queue's length; the head of a
// queue has SlowAt == -1 (it may sit empty: malloc serves from it, so malloc/free pairs never churn
// the pool) and every other queued page SlowAt == 0 (it leaves for the pool the moment it empties);
// every page in the lists has Heap == this heap and Class == its queue's class.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.Sharded;

internal enum HeapState
{
    Live = 0,
    Abandoned = 1,
    Spare = 2,
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ThreadHeap
{
    /// <summary>Classes served from pages: 8 B .. 512 KiB (jemalloc classes 0..56).</summary>
    internal const int NClasses = 57;
    internal const int LastSmallClass = 32;    // 8 KiB
    internal const int LastMediumClass = 44;   // 64 KiB
    internal const nuint MaxPaged = 512 * 1024;

    public fixed long Direct[NClasses];        // Page*
    public fixed long QFirst[NClasses];        // Page*
    public fixed long QLast[NClasses];         // Page*
    public fixed int QCount[NClasses];
    public Page* FullFirst;
    public int FullCount;
    public HeapState State;
    public ThreadHeap* RegistryNext;           // every heap ever made (never unlinked)
    public int ThreadId;                       // OS id of the owning thread (diagnostics)
    public long RemoteFrees;                   // frees this heap's thread sent to other heaps
    public fixed byte ExitSemaphore[OsThread.ExitSemaphoreBytes];
    public fixed byte Pad0[64];
    public nint News;                          // Page* list | 0, written by remote freers
    public fixed byte Pad1[56];

    /// <summary>The segment kind of a page class.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static SegmentKind KindOf(int cls)
        => cls <= LastSmallClass ? SegmentKind.Small : cls <= LastMediumClass ? SegmentKind.Medium : SegmentKind.Large;

    /// <summary>Appends <paramref name="page"/> to queue <paramref name="cls"/>, keeping SlowAt and Direct right.</summary>
    internal static void QueuePush(ThreadHeap* h, int cls, Page* page)
    {
        Page* last = (Page*)h->QLast[cls];
        page->Next = null;
        page->Prev = last;
        if (last != null) last->Next = page; else h->QFirst[cls] = (long)page;
        h->QLast[cls] = (long)page;
        h->QCount[cls]++;
        page->SlowAt = last == null ? -1 : 0;
        h->Direct[cls] = h->QFirst[cls];
    }

    /// <summary>Makes <paramref name="page"/> the only page of the empty queue <paramref name="cls"/>.</summary>
    internal static void QueueStart(ThreadHeap* h, int cls, Page* page)
    {
        Debug.Assert(h->QFirst[cls] == 0);
        page->Prev = page->Next = null;
        h->QFirst[cls] = h->QLast[cls] = (long)page;
        h->QCount[cls] = 1;
        page->SlowAt = -1;
        h->Direct[cls] = (long)page;
    }

    /// <summary>Unlinks <paramref name="page"/> from queue <paramref name="cls"/>; a new head gets the head's SlowAt.</summary>
    internal static void QueueRemove(ThreadHeap* h, int cls, Page* page)
    {
        if (page->Prev != null) page->Prev->Next = page->Next; else h->QFirst[cls] = (long)page->Next;
        if (page->Next != null) page->Next->Prev = page->Prev; else h->QLast[cls] = (long)page->Prev;
        page->Next = page->Prev = null;
        int n = --h->QCount[cls];
        if (n != 0) ((Page*)h->QFirst[cls])->SlowAt = -1;
        h->Direct[cls] = n == 0 ? (long)ShardedHeap.s_emptyPage : h->QFirst[cls];
    }

    /// <summary>Links <paramref name="page"/> into the full list.</summary>
    internal static void FullPush(ThreadHeap* h, Page* page)
    {
        page->Prev = null;
        page->Next = h->FullFirst;
        if (h->FullFirst != null) h->FullFirst->Prev = page;
        h->FullFirst = page;
        h->FullCount++;
    }

    /// <summary>Unlinks <paramref name="page"/> from the full list.</summary>
    internal static void FullRemove(ThreadHeap* h, Page* page)
    {
        if (page->Prev != null) page->Prev->Next = page->Next; else h->FullFirst = page->Next;
        if (page->Next != null) page->Next->Prev = page->Prev;
        page->Next = page->Prev = null;
        h->FullCount--;
    }

    /// <summary>Remote freer: pushes <paramref name="page"/> on <paramref name="h"/>'s news (the caller won the page's full flag).</summary>
    internal static void PushNews(ThreadHeap* h, Page* page)
    {
        nint head = Volatile.Read(ref h->News);
        while (true)
        {
            page->NewsNext = (Page*)head;
            nint seen = Interlocked.CompareExchange(ref h->News, (nint)page, head);
            if (seen == head) return;
            head = seen;
        }
    }

    /// <summary>Resets a fresh or spare heap: every class points at the empty page.</summary>
    internal static void InitEmpty(ThreadHeap* h)
    {
        for (int c = 0; c < NClasses; c++)
        {
            h->Direct[c] = (long)ShardedHeap.s_emptyPage;
            h->QFirst[c] = h->QLast[c] = 0;
            h->QCount[c] = 0;
        }
        h->FullFirst = null;
        h->FullCount = 0;
    }
}
