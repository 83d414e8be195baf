// ShardedHeap.Threads: thread heaps' lives (docs/core-v2.md, "thread exit"): creation, exit
// detection, reuse of an abandoned heap by a new thread, absorption of an abandoned heap's pages by a
// live thread, and Collect.
//
// Exit detection: each Live heap holds an exit semaphore; the thread registers it as its value of a
// pthread key whose destructor is libc's sem_post, so the dying thread runs no managed code.
// ScanExitedThreads (slow paths only) marks heaps whose semaphore was posted Abandoned.
// Invariants: s_abandoned == the number of heaps in state Abandoned; heaps are never unlinked from
// the registry nor freed; only the registry lock changes a heap's State.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.Sharded;

internal static unsafe partial class ShardedHeap
{
    private static readonly NativeLock* s_registryLock = (NativeLock*)StaticMemory.Alloc((nuint)sizeof(NativeLock));
    private static ThreadHeap* s_registry;
    private static int s_abandoned;
    private static long s_heapsMade, s_registryEntries;
    private static uint s_exitKey;
    private static int s_exitKeyState;   // 0 none, 1 made

    /// <summary>Times a core v2 lock (pool or registry) was taken: the fast paths never take one.</summary>
    internal static long LockEntries => SegmentPool.LockEntries + Volatile.Read(ref s_registryEntries);

    /// <summary>Heap structures ever made (each is reused after its thread exits, never freed).</summary>
    internal static long HeapsMade => Volatile.Read(ref s_heapsMade);

    private static void EnterRegistry()
    {
        s_registryLock->Enter();
        s_registryEntries++;
    }

    /// <summary>Counts heaps by state.</summary>
    internal static (int Live, int Abandoned, int Spare) CountHeaps()
    {
        int live = 0, abandoned = 0, spare = 0;
        EnterRegistry();
        for (ThreadHeap* h = s_registry; h != null; h = h->RegistryNext)
        {
            if (h->State == HeapState.Live) live++;
            else if (h->State == HeapState.Abandoned) abandoned++;
            else spare++;
        }
        s_registryLock->Exit();
        return (live, abandoned, spare);
    }

    private static ThreadHeap* CurrentHeapOrThrow()
    {
        ThreadHeap* h = t_heap;
        if (h == null) h = CreateHeapForThread();
        return h != null ? h : throw new OutOfMemoryException("NativeHeap: cannot create a thread heap");
    }

    /// <summary>The calling thread's heap: an abandoned one taken over whole, a spare one, or a new one. Null when out of memory.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ThreadHeap* CreateHeapForThread()
    {
        Heap.EnsureInitialized();       // options (oom, the core:sharded contradictions) apply before the first block
        EnsureExitKey();
        ScanExitedThreads();
        ThreadHeap* h = null;
        EnterRegistry();
        for (ThreadHeap* x = s_registry; x != null; x = x->RegistryNext)
        {
            if (x->State == HeapState.Abandoned) { h = x; break; }
            if (x->State == HeapState.Spare && h == null) h = x;
        }
        if (h != null)
        {
            if (h->State == HeapState.Abandoned) s_abandoned--;
            OsThread.DestroyExitSemaphore(h->ExitSemaphore);
            Claim(h);
        }
        s_registryLock->Exit();
        if (h == null)
        {
            h = (ThreadHeap*)MetaAlloc.TryAlloc((nuint)sizeof(ThreadHeap));
            if (h == null) return null;
            ThreadHeap.InitEmpty(h);
            EnterRegistry();
            Claim(h);
            h->RegistryNext = s_registry;
            s_registry = h;
            s_heapsMade++;
            s_registryLock->Exit();
        }
        OsThread.SetKeyValue(s_exitKey, h->ExitSemaphore);
        t_heap = h;
        return h;
    }

    /// <summary>Makes <paramref name="h"/> the calling thread's (registry lock held): a fresh exit semaphore, state Live.</summary>
    private static void Claim(ThreadHeap* h)
    {
        if (!OsThread.TryInitExitSemaphore(h->ExitSemaphore, out OsError error))
            throw new InvalidOperationException("NativeHeap: cannot make a thread-exit semaphore: " + error);
        h->ThreadId = OsThread.CurrentThreadId();
        h->State = HeapState.Live;
    }

    private static void EnsureExitKey()
    {
        if (Volatile.Read(ref s_exitKeyState) != 0) return;
        EnterRegistry();
        if (s_exitKeyState == 0)
        {
            if (!OsThread.TryCreateExitKey(out s_exitKey, out OsError error))
            {
                s_registryLock->Exit();
                throw new InvalidOperationException("NativeHeap: cannot create the thread-exit key: " + error);
            }
            Volatile.Write(ref s_exitKeyState, 1);
        }
        s_registryLock->Exit();
    }

    /// <summary>Marks the heaps of exited threads Abandoned; true when any heap waits to be absorbed.</summary>
    internal static bool ScanExitedThreads()
    {
        ThreadHeap* self = t_heap;
        EnterRegistry();
        for (ThreadHeap* h = s_registry; h != null; h = h->RegistryNext)
        {
            if (h->State == HeapState.Live && h != self && OsThread.HasExited(h->ExitSemaphore))
            {
                h->State = HeapState.Abandoned;
                s_abandoned++;
            }
        }
        bool any = s_abandoned != 0;
        s_registryLock->Exit();
        return any;
    }

    /// <summary>
    /// Moves the pages of one abandoned heap into <paramref name="h"/>: its queued pages, the full pages
    /// whose flag this thread clears, and the pages on its news. Full pages whose flag a remote freer
    /// holds stay (the heap returns to Abandoned until their news arrives); an emptied heap becomes Spare.
    /// Returns false when no heap was waiting.
    /// </summary>
    private static bool AbsorbAbandoned(ThreadHeap* h)
    {
        ThreadHeap* d = null;
        EnterRegistry();
        for (ThreadHeap* x = s_registry; x != null; x = x->RegistryNext)
        {
            if (x->State == HeapState.Abandoned) { d = x; break; }
        }
        if (d != null)
        {
            d->State = HeapState.Live;     // being absorbed: nobody else touches it
            s_abandoned--;
        }
        s_registryLock->Exit();
        if (d == null) return false;

        for (int cls = 0; cls < ThreadHeap.NClasses; cls++)
        {
            Page* page;
            while ((page = (Page*)d->QFirst[cls]) != null)
            {
                ThreadHeap.QueueRemove(d, cls, page);
                Adopt(h, page);
            }
        }
        for (Page* page = d->FullFirst; page != null;)
        {
            Page* next = page->Next;
            if (Interlocked.CompareExchange(ref page->ThreadFree, 0, Page.FullFlag) == Page.FullFlag)
            {
                ThreadHeap.FullRemove(d, page);
                page->InFull = 0;
                Adopt(h, page);
            }
            page = next;
        }
        for (Page* page = (Page*)Interlocked.Exchange(ref d->News, 0); page != null;)
        {
            Page* next = page->NewsNext;
            ThreadHeap.FullRemove(d, page);
            page->InFull = 0;
            Adopt(h, page);
            page = next;
        }
        EnterRegistry();
        if (d->FullFirst != null)
        {
            d->State = HeapState.Abandoned;
            s_abandoned++;
        }
        else
        {
            d->State = HeapState.Spare;
        }
        s_registryLock->Exit();
        return true;
    }

    /// <summary>Makes a page taken out of another heap's lists <paramref name="h"/>'s.</summary>
    private static void Adopt(ThreadHeap* h, Page* page)
    {
        Page.SetHeap(page, h);
        Page.CollectThreadFree(page);
        if (page->Used == 0)
        {
            Retire(page);
            return;
        }
        Enqueue(h, page->Class, page);
    }

    /// <summary>Pages of class <paramref name="cls"/> the calling thread's heap owns (queued and full); 0 without a heap.</summary>
    internal static int CurrentHeapPages(int cls)
    {
        ThreadHeap* h = t_heap;
        if (h == null) return 0;
        int n = h->QCount[cls];
        for (Page* page = h->FullFirst; page != null; page = page->Next)
            if (page->Class == cls) n++;
        return n;
    }

    /// <summary>
    /// The calling thread's housekeeping: takes its news, collects every page's thread-free list, sends
    /// every page with no block out to the pool (including a queue's head), and absorbs the pages
    /// of exited threads.
    /// </summary>
    internal static void Collect()
    {
        ThreadHeap* h = CurrentHeapOrThrow();
        if (Volatile.Read(ref h->News) != 0) DrainNews(h);
        // Bounded: a heap whose full pages are still on their way to its news comes back as Abandoned.
        for (int round = 0; round < 64 && ScanExitedThreads() && AbsorbAbandoned(h); round++) { }
        for (int cls = 0; cls < ThreadHeap.NClasses; cls++)
        {
            for (Page* page = (Page*)h->QFirst[cls]; page != null;)
            {
                Page* next = page->Next;
                Page.CollectThreadFree(page);
                if (page->Used == 0)
                {
                    ThreadHeap.QueueRemove(h, cls, page);
                    Retire(page);
                }
                page = next;
            }
        }
    }
}
