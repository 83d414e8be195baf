// LockFreeThreadCache: the per-thread cache in front of a C# LockFreeHeap (C# only: the C path has its
// own, native/nh_ao_malloc.c; the shared format does not know either). A malloc/free pair that hits
// the cache makes no atomic read-modify-write at all.
//
// Terms
//   region   per heap, a sparse mapping (MAP_NORESERVE, pages committed when first touched) of MaxSlots
//            cache slots of 4 KiB, one per thread slot (LockFreeThreads): the calling thread's cache in
//            heap H is H's region + (t_key's slot) * 4 KiB. Slot 0 is a dummy whose Key never matches.
//            The region belongs to the LockFreeHeap object, not to the arena: cached blocks are the
//            heap's, the cache structures are not (so they never take arena capacity).
//   cache    ThreadCache: Key (the owning thread's key, with BusyBit while it works on the cache, or
//            Unowned, or Draining), and per
//            superblock class c a stack of up to Cap(c) free blocks (at most 8 KiB and 32 blocks).
//   refill   an allocation that finds its stack empty takes max(1, Cap(c)/2) blocks with
//            LockFreeCore.AllocateBatch (one credit CAS and one anchor CAS when the active superblock
//            has them), returns one and keeps the rest.
//   drain    a free that finds its stack full returns the upper half; the blocks are sorted by address
//            and each superblock's blocks go back as one chain with one anchor CAS (FreeChain).
// Ownership and life cycle
//   C1  Only the thread whose key is in Key reads or writes the stacks (and BusyBit), except a drainer
//       that won the CAS Key: k -> Draining for a key k whose thread has exited (!IsAlive(k)), which
//       empties the stacks and then writes Unowned. A thread binds its slot's cache by a CAS from
//       Unowned or from a dead predecessor's key (adopting whatever that thread left cached).
//   C2  Key has BusyBit set while the owner works on its stacks; a call that finds it set (a
//       re-entrant call on the same thread, e.g. from a native signal handler) bypasses the cache and
//       uses LockFreeCore. The owner sets and clears it with plain Volatile.Write (no other thread
//       writes Key while its owner lives), and reads the stacks only after setting it. So the fast
//       path's one test Key == key means "mine and not busy".
//   C3  Every cached block is a live block of the heap from the superblocks' view (allocated, not on
//       any chain), of the stack's class; Validate checks this and counts them as CachedBlocks.
//   C4  Exhaustion: before a heap reports that it cannot serve a request, the calling thread returns
//       its own cache and drains the caches of exited threads (ReturnForExhaustion), then tries once
//       more. Blocks cached by other live threads stay theirs (at most ~56 KiB per thread and heap):
//       FlushThreadCache returns them, thread exit makes them reclaimable.
//   C5  Dispose unmaps the region with the heap; threads keep only their key, never a pointer into a
//       region, so no cache of a disposed heap is touched again (calls throw ObjectDisposedException
//       before they compute a cache address).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeHeap.Os;
using static NativeHeap.LockFree.LockFreeLayout;

namespace NativeHeap.LockFree;

/// <summary>One thread's cache in one heap (one 4 KiB slot of the heap's cache region).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ThreadCache
{
    internal ulong Key;
    internal ulong Pad;
    internal fixed uint Count[SuperblockClassCount];
    internal fixed long Blocks[SuperblockClassCount * LockFreeThreadCache.MaxPerClass];
}

internal static unsafe class LockFreeThreadCache
{
    internal const int MaxPerClass = 32;
    internal const int BytesPerClass = 16384;
    internal const int StrideShift = 12;
    internal const nuint RegionBytes = (nuint)LockFreeThreads.MaxSlots << StrideShift;
    internal const ulong Unowned = 0, Draining = 1;
    /// <summary>Set in Key while the owner works on the cache (C2); keys never use bit 63.</summary>
    internal const ulong BusyBit = 1UL << 63;

    /// <summary>Blocks class <paramref name="c"/> may keep: min(32, 8 KiB / block size).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Cap(int c) => Math.Min((uint)MaxPerClass, (uint)BytesPerClass >> (LockFreeSizeClasses.LgMin + c));

    /// <summary>The cache slot of thread key <paramref name="key"/> in <paramref name="region"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ThreadCache* At(nint region, ulong key) => (ThreadCache*)(region + (nint)((key & LockFreeThreads.SlotMask) << StrideShift));

    /// <summary>Maps an empty region (every cache Unowned, the dummy slot 0 never matching).</summary>
    internal static bool TryMapRegion(out nint region, out OsError error)
    {
        if (!OsMemory.TryReserveSparse(RegionBytes, out void* p, out error))
        {
            region = 0;
            return false;
        }
        ((ThreadCache*)p)->Key = ulong.MaxValue;
        region = (nint)p;
        return true;
    }

    internal static void UnmapRegion(nint region) => OsMemory.TryUnmap((void*)region, RegionBytes, out _);

    /// <summary>
    /// The calling thread's cache in <paramref name="region"/>, binding it on first use (C1); null when
    /// the thread has no key or the slot is being drained.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static ThreadCache* Bind(nint region)
    {
        ulong key = LockFreeThreads.CurrentKey();
        if (key == 0) return null;
        ThreadCache* tc = At(region, key);
        ulong k = Volatile.Read(ref tc->Key);
        if (k == key) return tc;
        if (k == Draining || k == (key | BusyBit)) return null; // being drained, or a re-entrant call
        // Unowned, or the key (perhaps with BusyBit) of this slot's previous holder, which has exited:
        // the slot is ours now.
        if (Interlocked.CompareExchange(ref tc->Key, key, k) != k) return null;
        return tc;
    }

    /// <summary>With BusyBit set and class <paramref name="c"/>'s stack empty: refills it and returns one block (null when the heap is exhausted even after C4). Clears BusyBit (Key = <paramref name="key"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static byte* Refill(HeapHeader* h, nint region, ThreadCache* tc, ulong key, int c)
    {
        byte** stack = (byte**)&tc->Blocks[c * MaxPerClass];
        uint n = LockFreeCore.AllocateBatch(h, c, Math.Max(1, Cap(c) / 2), stack);
        if (n == 0)
        {
            FlushAll(h, tc);
            ReclaimExited(h, region);
            n = LockFreeCore.AllocateBatch(h, c, 1, stack);
        }
        byte* p = null;
        if (n != 0)
        {
            p = stack[0];
            stack[0] = stack[n - 1];
            tc->Count[c] = n - 1;
        }
        Volatile.Write(ref tc->Key, key);
        return p;
    }

    /// <summary>With BusyBit set: returns class <paramref name="c"/>'s blocks above <paramref name="keep"/> to the heap; returns keep.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static uint Drain(HeapHeader* h, ThreadCache* tc, int c, uint keep)
    {
        uint n = tc->Count[c];
        if (n <= keep) return n;
        byte** b = (byte**)&tc->Blocks[c * MaxPerClass] + keep;
        uint k = n - keep;
        // Sort by address, so that each superblock's blocks are adjacent: one chain, one CAS per superblock.
        for (uint i = 1; i < k; i++)
        {
            byte* x = b[i];
            uint j = i;
            for (; j > 0 && b[j - 1] > x; j--) b[j] = b[j - 1];
            b[j] = x;
        }
        for (uint i = 0; i < k;)
        {
            uint u = LockFreeCore.UnitOf(h, b[i]);
            uint e = i + 1;
            byte* end = LockFreeCore.UnitBase(h, u) + UnitSize;
            while (e < k && b[e] < end) e++;
            LockFreeCore.FreeChain(h, u, b + i, e - i);
            i = e;
        }
        tc->Count[c] = keep;
        return keep;
    }

    /// <summary>With BusyBit set (or the cache owned by a drainer): returns every cached block to the heap.</summary>
    internal static void FlushAll(HeapHeader* h, ThreadCache* tc)
    {
        for (int c = 0; c < SuperblockClassCount; c++) Drain(h, tc, c, 0);
    }

    /// <summary>Returns the calling thread's cache in <paramref name="region"/>, if it has one and is not inside a cache operation.</summary>
    internal static void FlushCurrent(HeapHeader* h, nint region)
    {
        ulong key = LockFreeThreads.t_key;
        if (key == 0) return;
        ThreadCache* tc = At(region, key);
        if (Volatile.Read(ref tc->Key) != key) return; // not bound, or a re-entrant call
        Volatile.Write(ref tc->Key, key | BusyBit);
        FlushAll(h, tc);
        Volatile.Write(ref tc->Key, key);
    }

    /// <summary>C4 for requests that do not go through a refill (runs): the own cache and exited threads' caches go back.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ReturnForExhaustion(HeapHeader* h, nint region)
    {
        FlushCurrent(h, region);
        ReclaimExited(h, region);
    }

    /// <summary>Drains the caches in <paramref name="region"/> whose threads have exited (C1); returns how many caches it drained.</summary>
    internal static int ReclaimExited(HeapHeader* h, nint region)
    {
        LockFreeThreads.ScanExits();
        int drained = 0;
        int high = LockFreeThreads.HighSlot;
        for (int slot = 1; slot <= high; slot++)
        {
            var tc = (ThreadCache*)(region + ((nint)slot << StrideShift));
            ulong k = Volatile.Read(ref tc->Key);
            if (k < LockFreeThreads.MaxSlots || LockFreeThreads.IsAlive(k & ~BusyBit)) continue; // Unowned, Draining or alive
            if (Interlocked.CompareExchange(ref tc->Key, Draining, k) != k) continue;               // adopted or drained meanwhile
            FlushAll(h, tc);
            Volatile.Write(ref tc->Key, Unowned);
            drained++;
        }
        return drained;
    }

    /// <summary>Returns every cache in <paramref name="region"/>; only when no thread uses the heap (Dispose of an attached heap).</summary>
    internal static void FlushEveryCache(HeapHeader* h, nint region)
    {
        int high = LockFreeThreads.HighSlot;
        for (int slot = 1; slot <= high; slot++) FlushAll(h, (ThreadCache*)(region + ((nint)slot << StrideShift)));
    }
}
