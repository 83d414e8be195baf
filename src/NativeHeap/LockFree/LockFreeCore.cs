// LockFreeCore: Maged Michael's lock-free allocator (PLDI 2004) over the format of LockFreeLayout.
// native/nh_ao_malloc.c is the same algorithm, line for line, for C callers that must not enter .NET.
//
// Operations (every loop retries only after a failed CAS, i.e. after another thread's successful one)
//   Allocate(c)   MallocFromActive: take a credit from the own row's active word (CAS), then pop the
//                 block at the anchor's avail (CAS on the anchor; the taker of the last credit also
//                 moves up to MaxCredits more blocks from count into new credits, or marks the
//                 superblock FULL, and reinstalls it: UpdateActive). Else MallocFromPartial: pop a
//                 descriptor from the class's partial list, reserve 1 + credits from its anchor, pop a
//                 block, install the rest as active. Else MallocFromNewSB: take a unit from the pool,
//                 thread its blocks, and install it as active with credits.
//   Free(p)       push p on its superblock's anchor (CAS): FULL -> PARTIAL (the freer pushes it on the
//                 partial list), or -> EMPTY when every block is free (the freer then sweeps a few
//                 descriptors off the partial list, retiring the empty ones: their unit goes back to the
//                 pool for any class). Runs go straight back to the pool.
//   Batches       AllocateBatch (the C# thread cache's refill: up to n blocks from the active
//                 superblock with one credit CAS and one anchor CAS) and FreeChain (its drain: k
//                 blocks of one superblock pushed as one chain with one anchor CAS; a chain that
//                 takes a FULL superblock straight to EMPTY retires it, as it is on no list).
//   Pool          Take/Release units with a CAS on one bitmap word. When arena and chunks are full,
//                 Reclaim (steal every row's active superblock, retire every empty one on the partial
//                 lists) and look again; then, once mmap is enabled, map a 2 MiB chunk.
//
// Invariants (outside the window between an operation's CAS and its return)
//   I1  A superblock's blocks are each exactly one of: allocated, reserved by a credit, or on its avail
//       chain among the first count links; count + credits + allocated = MaxCount.
//   I2  A descriptor is on at most one partial list, and only in state PARTIAL or EMPTY; an ACTIVE
//       superblock is in an active word or held by the one thread about to install it; FULL ones are
//       nowhere (the freer that makes one PARTIAL pushes it).
//   I3  A unit's bitmap bit is 1 exactly while its descriptor kind is not Free; only the thread that
//       took the bit writes the descriptor's kind and geometry, before publishing the unit.
//   I4  Anchor tags only grow (a retired and reused descriptor continues from its old tag), so a CAS
//       with a stale anchor fails: no ABA on avail, even across reuse by another class.
// Memory safety of speculative reads: a popper reads the next link of the avail block, which may be
// allocated and overwritten meanwhile; units are never unmapped while the heap lives, so the read cannot
// fault, and the value is used only if the anchor CAS succeeds, which (I4) means it was the true link.
using System.Numerics;
using System.Runtime.CompilerServices;
using NativeHeap.Os;
using static NativeHeap.LockFree.LockFreeLayout;

namespace NativeHeap.LockFree;

internal static unsafe class LockFreeCore
{
    // ----------------------------------------------------------------------------- geometry

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte* UnitBase(HeapHeader* h, uint u)
    {
        if (u < h->ArenaUnits) return h->Arena + ((nuint)u << UnitShift);
        uint k = u - h->ChunkUnitBase;
        return h->Chunks[k >> (ChunkShift - UnitShift)] + ((nuint)(k & (ChunkUnits - 1)) << UnitShift);
    }

    /// <summary>The global unit of <paramref name="p"/>, or uint.MaxValue when p is in no unit of the heap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint UnitOf(HeapHeader* h, byte* p)
    {
        nuint off = (nuint)(p - h->Arena);
        if (off < (nuint)h->ArenaSize) return (uint)(off >> UnitShift);
        return ChunkUnitOf(h, p);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint ChunkUnitOf(HeapHeader* h, byte* p)
    {
        ulong chunk = (ulong)p & ~((1UL << ChunkShift) - 1);
        if (chunk == 0 || Volatile.Read(ref h->ChunkCount) == 0) return uint.MaxValue;
        uint mask = ChunkHashSlots - 1;
        for (uint i = HashSlot(chunk), n = 0; n < ChunkHashSlots; i = (i + 1) & mask, n++)
        {
            ulong e = Volatile.Read(ref h->ChunkHash[i]);
            if (e == 0) return uint.MaxValue;
            if ((e & ~((1UL << ChunkShift) - 1)) == chunk)
            {
                uint k = (uint)(e & ((1UL << ChunkShift) - 1)) - 1;
                return h->ChunkUnitBase + k * ChunkUnits + (uint)(((ulong)p - chunk) >> UnitShift);
            }
        }
        return uint.MaxValue;
    }

    private static uint HashSlot(ulong chunk) => (uint)(((chunk >> ChunkShift) * 0x9E3779B97F4A7C15UL) >> (64 - 10)) & (ChunkHashSlots - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong* ActiveSlot(HeapHeader* h, int c)
        => h->Actives + ((uint)Thread.GetCurrentProcessorId() & h->RowMask) * ActiveRowWords + c;

    private static ulong* PartialHead(HeapHeader* h, int c) => h->Partial + c * PartialStrideWords;

    // ----------------------------------------------------------------------------- allocate

    /// <summary>A block of class <paramref name="c"/> (a superblock class); null when no memory is left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte* Allocate<TPause>(HeapHeader* h, int c, ref TPause pause) where TPause : struct, IPopPause
    {
        ulong* slot = ActiveSlot(h, c);
        byte* p = MallocFromActive(h, c, slot, ref pause);
        return p != null ? p : AllocateSlow(h, c, slot);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* MallocFromActive<TPause>(HeapHeader* h, int c, ulong* slot, ref TPause pause) where TPause : struct, IPopPause
    {
        ulong old = Volatile.Read(ref *slot);
        while (true)
        {
            if (old == 0) return null;
            ulong want = (old >> 32) == 0 ? 0 : old - (1UL << 32);
            ulong seen = Interlocked.CompareExchange(ref *slot, want, old);
            if (seen == old) break;
            old = seen;
        }
        // One block of this superblock is now reserved for us.
        uint u = (uint)old - 1;
        Descriptor* d = h->Descs + u;
        byte* sb = UnitBase(h, u);
        bool lastCredit = (old >> 32) == 0;
        uint size = d->BlockSize;
        ulong a = Volatile.Read(ref d->Anchor);
        while (true)
        {
            byte* block = sb + Avail(a) * size;
            uint next = Volatile.Read(ref *(uint*)block);
            pause.AfterReadingNext();
            ulong na = WithLastCredit(WithAvail(a, next) + TagOne, a, lastCredit, out uint more);
            ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
            if (seen == a)
            {
                if (more > 0) UpdateActive(h, slot, u, more);
                return block;
            }
            a = seen;
        }
    }

    /// <summary>
    /// The anchor <paramref name="na"/> after a pop that used the active superblock's last credit: the
    /// superblock becomes Full when <paramref name="a"/> has no count left, otherwise up to MaxCredits
    /// more are taken from its count (<paramref name="more"/>, reinstalled with UpdateActive after the CAS).
    /// </summary>
    private static ulong WithLastCredit(ulong na, ulong a, bool lastCredit, out uint more)
    {
        more = 0;
        if (!lastCredit) return na;
        uint count = Count(a);
        if (count == 0) return WithState(na, Full);
        more = Math.Min(count, MaxCredits);
        return na - more * CountOne;
    }

    /// <summary>Installs superblock <paramref name="u"/> with <paramref name="credits"/> credits, or returns them to its anchor and makes it PARTIAL.</summary>
    private static void UpdateActive(HeapHeader* h, ulong* slot, uint u, uint credits)
    {
        ulong word = (u + 1) | ((ulong)(credits - 1) << 32);
        if (Interlocked.CompareExchange(ref *slot, word, 0) == 0) return;
        Descriptor* d = h->Descs + u;
        ulong a = Volatile.Read(ref d->Anchor);
        while (true)
        {
            ulong na = WithState(a + credits * CountOne, Partial) + TagOne;
            ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
            if (seen == a) break;
            a = seen;
        }
        ListPush(h, (int)d->SizeClass, u);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte* AllocateSlow(HeapHeader* h, int c, ulong* slot)
    {
        var none = default(NoPause);
        while (true)
        {
            byte* p = MallocFromPartial(h, c, slot);
            if (p != null) return p;
            p = MallocFromNewSuperblock(h, c, slot, out bool noMemory);
            if (p != null) return p;
            // TakeUnits reclaimed every row's active superblock onto the partial lists before it gave
            // up (a thread that moved to another CPU left one there): one more look before null.
            if (noMemory) return MallocFromPartial(h, c, slot);
            p = MallocFromActive(h, c, slot, ref none); // another thread installed an active superblock
            if (p != null) return p;
        }
    }

    private static byte* MallocFromPartial(HeapHeader* h, int c, ulong* slot)
    {
        while (true)
        {
            uint u = ListPop(h, c);
            if (u == uint.MaxValue) return null;
            Descriptor* d = h->Descs + u;
            ulong a = Volatile.Read(ref d->Anchor);
            uint more = 0;
            bool retired = false;
            while (true)
            {
                if (State(a) == Empty)
                {
                    Retire(h, u);
                    retired = true;
                    break;
                }
                Debug.Assert(State(a) == Partial && Count(a) > 0);
                more = Math.Min(Count(a) - 1, MaxCredits);
                ulong na = WithState(a - (more + 1) * CountOne, more > 0 ? Active : Full) + TagOne;
                ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
                if (seen == a) break;
                a = seen;
            }
            if (retired) continue;
            // Pop the block reserved for us.
            byte* sb = UnitBase(h, u);
            a = Volatile.Read(ref d->Anchor);
            byte* block;
            while (true)
            {
                block = sb + Avail(a) * d->BlockSize;
                ulong na = WithAvail(a, Volatile.Read(ref *(uint*)block)) + TagOne;
                ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
                if (seen == a) break;
                a = seen;
            }
            if (more > 0) UpdateActive(h, slot, u, more);
            return block;
        }
    }

    private static byte* MallocFromNewSuperblock(HeapHeader* h, int c, ulong* slot, out bool noMemory)
    {
        uint u = TakeUnits(h, 1);
        noMemory = u == uint.MaxValue;
        if (noMemory) return null;
        Descriptor* d = h->Descs + u;
        byte* sb = UnitBase(h, u);
        uint size = (uint)LockFreeSizeClasses.SizeOf(c);
        uint max = UnitSize / size;
        for (uint i = 1; i < max - 1; i++) *(uint*)(sb + i * size) = i + 1;
        uint credits = Math.Min(max - 1, MaxCredits);
        d->SizeClass = (uint)c;
        d->BlockSize = size;
        d->MaxCount = max;
        d->Units = 0;
        d->Next = 0;
        ulong tag = Volatile.Read(ref d->Anchor) & ~(TagOne - 1);
        Volatile.Write(ref d->Anchor, (tag + TagOne) | 1 | ((ulong)(max - 1 - credits) << CountShift) | (Active << StateShift));
        Volatile.Write(ref d->Kind, KindSuperblock);
        ulong word = (u + 1) | ((ulong)(credits - 1) << 32);
        if (Interlocked.CompareExchange(ref *slot, word, 0) == 0) return sb;
        // Another thread installed an active superblock first: give the unit back and use theirs.
        Retire(h, u);
        return null;
    }

    // ----------------------------------------------------------------------------- free

    /// <summary>
    /// Frees <paramref name="p"/> in unit <paramref name="u"/>; false (nothing changed) when p is not the
    /// start of a live block there as far as cheap checks can tell.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Free(HeapHeader* h, byte* p, uint u)
    {
        Descriptor* d = h->Descs + u;
        if (Volatile.Read(ref d->Kind) != KindSuperblock) return FreeRun(h, p, u, d);
        byte* sb = UnitBase(h, u);
        uint size = d->BlockSize;
        nuint off = (nuint)(p - sb);
        if ((off & (size - 1)) != 0) return false;
        uint index = (uint)(off / size);
        ulong a = Volatile.Read(ref d->Anchor);
        ulong na;
        while (true)
        {
            if (Avail(a) == index && State(a) != Full && Count(a) > 0) return false; // immediate double free
            *(uint*)p = Avail(a);
            na = WithAvail(a, index) + CountOne + TagOne;
            if (State(a) == Full) na = WithState(na, Partial);
            if (Count(na) == d->MaxCount) na = WithState(na, Empty);
            ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
            if (seen == a) break;
            a = seen;
        }
        if (State(na) == Empty) SweepPartial(h, (int)d->SizeClass, 8);
        else if (State(a) == Full) ListPush(h, (int)d->SizeClass, u);
        return true;
    }

    // ----------------------------------------------------------------------------- batches (the thread cache's refill and drain)

    /// <summary>
    /// Up to <paramref name="want"/> (1..MaxCredits) blocks of class <paramref name="c"/> into
    /// <paramref name="out"/>; the count, 0 when no memory is left. Several blocks come only from the
    /// own row's active superblock (one credit CAS for all of them, one anchor CAS that pops them as a
    /// chain); otherwise one block from the partial list or a new superblock, as Allocate.
    /// </summary>
    internal static uint AllocateBatch(HeapHeader* h, int c, uint want, byte** @out)
    {
        ulong* slot = ActiveSlot(h, c);
        uint n = MallocBatchFromActive(h, slot, want, @out);
        while (n == 0)
        {
            bool noMemory = false;
            byte* p = MallocFromPartial(h, c, slot);
            if (p == null) p = MallocFromNewSuperblock(h, c, slot, out noMemory);
            if (noMemory) p = MallocFromPartial(h, c, slot); // as AllocateSlow: TakeUnits reclaimed every row's active superblock; one more look
            if (p != null)
            {
                // The superblock p came from is now the row's active one (unless it had no blocks left): top up from it.
                @out[0] = p;
                return 1 + (want > 1 ? MallocBatchFromActive(h, slot, want - 1, @out + 1) : 0);
            }
            if (noMemory) return 0;
            n = MallocBatchFromActive(h, slot, want, @out);
        }
        return n;
    }

    /// <summary>MallocFromActive for up to <paramref name="want"/> blocks: takes min(want, credits) credits with one CAS, then pops that many blocks with one anchor CAS.</summary>
    private static uint MallocBatchFromActive(HeapHeader* h, ulong* slot, uint want, byte** @out)
    {
        ulong old = Volatile.Read(ref *slot), desired;
        uint take;
        while (true)
        {
            if (old == 0) return 0;
            uint credits = (uint)(old >> 32) + 1;
            take = Math.Min(want, credits);
            desired = take == credits ? 0 : old - ((ulong)take << 32);
            ulong seen = Interlocked.CompareExchange(ref *slot, desired, old);
            if (seen == old) break;
            old = seen;
        }
        // take blocks of this superblock are now reserved for us.
        uint u = (uint)old - 1;
        Descriptor* d = h->Descs + u;
        byte* sb = UnitBase(h, u);
        bool lastCredit = desired == 0;
        uint size = d->BlockSize, max = d->MaxCount, more;
        ulong a = Volatile.Read(ref d->Anchor);
        while (true)
        {
            uint avail = Avail(a), i;
            for (i = 0; i < take; i++)
            {
                if (avail >= max) break; // a link read from a block taken meanwhile: the snapshot is stale
                byte* block = sb + avail * size;
                @out[i] = block;
                avail = Volatile.Read(ref *(uint*)block);
            }
            if (i < take)
            {
                a = Volatile.Read(ref d->Anchor);
                continue;
            }
            ulong na = WithLastCredit(WithAvail(a, avail) + TagOne, a, lastCredit, out more);
            ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
            if (seen == a) break;
            a = seen;
        }
        if (more > 0) UpdateActive(h, slot, u, more);
        return take;
    }

    /// <summary>
    /// Frees the <paramref name="k"/> blocks <paramref name="b"/>[0..k-1], live blocks of superblock
    /// <paramref name="u"/>, by linking them into one chain and pushing it with one anchor CAS (with
    /// the FULL -> PARTIAL push and the EMPTY sweep of Free).
    /// </summary>
    internal static void FreeChain(HeapHeader* h, uint u, byte** b, uint k)
    {
        Descriptor* d = h->Descs + u;
        byte* sb = UnitBase(h, u);
        int shift = LockFreeSizeClasses.LgMin + (int)d->SizeClass;
        for (uint i = 0; i + 1 < k; i++) *(uint*)b[i] = (uint)((nuint)(b[i + 1] - sb) >> shift);
        uint first = (uint)((nuint)(b[0] - sb) >> shift);
        ulong a = Volatile.Read(ref d->Anchor), na;
        while (true)
        {
            Volatile.Write(ref *(uint*)b[k - 1], Avail(a));
            na = WithAvail(a, first) + k * CountOne + TagOne;
            if (State(a) == Full) na = WithState(na, Partial);
            if (Count(na) == d->MaxCount) na = WithState(na, Empty);
            ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
            if (seen == a) break;
            a = seen;
        }
        if (State(na) == Empty)
        {
            // FULL -> EMPTY in one CAS (the chain was every block): the superblock is on no list and in
            // no active word, and no block of it is live, so this thread alone holds it: retire it.
            if (State(a) == Full) Retire(h, u);
            else SweepPartial(h, (int)d->SizeClass, 8);
        }
        else if (State(a) == Full) ListPush(h, (int)d->SizeClass, u);
    }

    // ----------------------------------------------------------------------------- runs (16, 32, 64 KiB)

    /// <summary>An object of <paramref name="units"/> units (1, 2 or 4); null when no memory is left.</summary>
    internal static byte* AllocateRun(HeapHeader* h, int c, uint units)
    {
        uint u = TakeUnits(h, units);
        if (u == uint.MaxValue) return null;
        Descriptor* d = h->Descs + u;
        for (uint i = 1; i < units; i++) Volatile.Write(ref h->Descs[u + i].Kind, KindRunContinuation);
        d->SizeClass = (uint)c;
        d->BlockSize = units << UnitShift;
        d->MaxCount = 1;
        d->Units = units;
        ulong tag = Volatile.Read(ref d->Anchor) & ~(TagOne - 1);
        Volatile.Write(ref d->Anchor, (tag + TagOne) | (Full << StateShift));
        Volatile.Write(ref d->Kind, KindRun);
        return UnitBase(h, u);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool FreeRun(HeapHeader* h, byte* p, uint u, Descriptor* d)
    {
        if (Volatile.Read(ref d->Kind) != KindRun || p != UnitBase(h, u)) return false;
        ulong a = Volatile.Read(ref d->Anchor);
        // Claim the run: of two racing frees only one sees it live.
        if (State(a) != Full || Interlocked.CompareExchange(ref d->Anchor, WithState(a, Empty) + TagOne, a) != a) return false;
        Retire(h, u);
        return true;
    }

    // ----------------------------------------------------------------------------- partial lists

    internal static void ListPush(HeapHeader* h, int c, uint u)
    {
        ulong* head = PartialHead(h, c);
        ulong old = Volatile.Read(ref *head);
        while (true)
        {
            Volatile.Write(ref h->Descs[u].Next, TaggedWord.Offset(old));
            ulong seen = Interlocked.CompareExchange(ref *head, TaggedWord.Next(old, u + 1), old);
            if (seen == old) return;
            old = seen;
        }
    }

    /// <summary>Pops a descriptor (its unit) from class <paramref name="c"/>'s partial list; uint.MaxValue when empty.</summary>
    private static uint ListPop(HeapHeader* h, int c)
    {
        var none = default(NoPause);
        return ListPop(h, c, ref none);
    }

    /// <summary>ListPop with a hook in its ABA window (after reading the next link, before the CAS); for tests.</summary>
    internal static uint ListPop<TPause>(HeapHeader* h, int c, ref TPause pause) where TPause : struct, IPopPause
    {
        ulong* head = PartialHead(h, c);
        ulong old = Volatile.Read(ref *head);
        while (true)
        {
            uint top = TaggedWord.Offset(old);
            if (top == 0) return uint.MaxValue;
            uint next = Volatile.Read(ref h->Descs[top - 1].Next);
            pause.AfterReadingNext();
            ulong seen = Interlocked.CompareExchange(ref *head, TaggedWord.Next(old, next), old);
            if (seen == old) return top - 1;
            old = seen;
        }
    }

    /// <summary>
    /// Pops up to <paramref name="limit"/> descriptors of class <paramref name="c"/>, retires the EMPTY
    /// ones and pushes the others back.
    /// </summary>
    private static void SweepPartial(HeapHeader* h, int c, int limit)
    {
        uint keep = uint.MaxValue;
        for (int i = 0; i < limit; i++)
        {
            uint u = ListPop(h, c);
            if (u == uint.MaxValue) break;
            if (State(Volatile.Read(ref h->Descs[u].Anchor)) == Empty) Retire(h, u);
            else
            {
                h->Descs[u].Next = keep == uint.MaxValue ? 0 : keep + 1; // a private chain
                keep = u;
            }
        }
        while (keep != uint.MaxValue)
        {
            uint next = h->Descs[keep].Next;
            ListPush(h, c, keep);
            keep = next == 0 ? uint.MaxValue : next - 1;
        }
    }

    /// <summary>
    /// Returns every row's active superblock to its anchor (retiring it when that makes it empty) and
    /// retires every EMPTY descriptor on the partial lists. Lock-free; called when the pool is exhausted.
    /// </summary>
    internal static void Reclaim(HeapHeader* h)
    {
        for (uint row = 0; row <= h->RowMask; row++)
        {
            for (int c = 0; c < SuperblockClassCount; c++)
            {
                ulong* slot = h->Actives + row * ActiveRowWords + c;
                ulong old = Interlocked.Exchange(ref *slot, 0);
                if (old == 0) continue;
                uint u = (uint)old - 1, credits = (uint)(old >> 32) + 1;
                Descriptor* d = h->Descs + u;
                ulong a = Volatile.Read(ref d->Anchor), na;
                while (true)
                {
                    na = a + credits * CountOne + TagOne;
                    na = WithState(na, Count(na) == d->MaxCount ? Empty : Partial);
                    ulong seen = Interlocked.CompareExchange(ref d->Anchor, na, a);
                    if (seen == a) break;
                    a = seen;
                }
                if (State(na) == Empty) Retire(h, u);
                else ListPush(h, c, u);
            }
        }
        for (int c = 0; c < SuperblockClassCount; c++) SweepPartial(h, c, int.MaxValue);
    }

    // ----------------------------------------------------------------------------- the pool

    /// <summary>Gives unit <paramref name="u"/> (and the rest of its run) back to the pool.</summary>
    private static void Retire(HeapHeader* h, uint u)
    {
        Descriptor* d = h->Descs + u;
        uint n = Volatile.Read(ref d->Kind) == KindRun ? d->Units : 1;
        for (uint i = n; i-- > 0;) Volatile.Write(ref h->Descs[u + i].Kind, KindFree);
        ulong bits = ((1UL << (int)n) - 1) << (int)(u & 63);
        ulong* word = h->Bitmap + (u >> 6);
        ulong old = Volatile.Read(ref *word);
        while (true)
        {
            Debug.Assert((old & bits) == bits, "unit returned to the pool twice");
            ulong seen = Interlocked.CompareExchange(ref *word, old & ~bits, old);
            if (seen == old) return;
            old = seen;
        }
    }

    /// <summary>Takes <paramref name="n"/> (1, 2 or 4) contiguous units, aligned to n; uint.MaxValue when none.</summary>
    private static uint TakeUnits(HeapHeader* h, uint n)
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            uint u = TakeFromZones(h, n);
            if (u != uint.MaxValue) return u;
            if (attempt == 0) Reclaim(h);
        }
        while (Volatile.Read(ref h->MmapEnabled) != 0)
        {
            if (!MapChunk(h)) return uint.MaxValue;
            uint u = TakeFromZones(h, n);
            if (u != uint.MaxValue) return u;
        }
        return uint.MaxValue;
    }

    private static uint TakeFromZones(HeapHeader* h, uint n)
    {
        uint words = (h->ArenaUnits + 63) >> 6;
        // Single units from the low end, runs from the high end, so that runs find aligned free groups.
        for (uint i = 0; i < words; i++)
        {
            uint w = n == 1 ? i : words - 1 - i;
            uint valid = Math.Min(64, h->ArenaUnits - w * 64);
            uint u = TakeInWord(h, w, valid, n);
            if (u != uint.MaxValue) return u;
        }
        int chunks = Math.Min(Volatile.Read(ref h->ChunkCount), (int)h->MaxChunks);
        for (int k = 0; k < chunks; k++)
        {
            if (Volatile.Read(ref *(nint*)(h->Chunks + k)) == 0) continue; // still being mapped
            uint w0 = (h->ChunkUnitBase + (uint)k * ChunkUnits) >> 6;
            for (uint i = 0; i < ChunkUnits / 64; i++)
            {
                uint u = TakeInWord(h, w0 + i, 64, n);
                if (u != uint.MaxValue) return u;
            }
        }
        return uint.MaxValue;
    }

    private static uint TakeInWord(HeapHeader* h, uint w, uint valid, uint n)
    {
        ulong* word = h->Bitmap + w;
        ulong validMask = valid == 64 ? ulong.MaxValue : (1UL << (int)valid) - 1;
        ulong old = Volatile.Read(ref *word);
        while (true)
        {
            ulong free = ~old & validMask;
            ulong groups = n switch
            {
                1 => free,
                2 => free & (free >> 1) & 0x5555_5555_5555_5555UL,
                _ => free & (free >> 1) & (free >> 2) & (free >> 3) & 0x1111_1111_1111_1111UL,
            };
            if (groups == 0) return uint.MaxValue;
            int pos = n == 1 ? BitOperations.TrailingZeroCount(groups) : 63 - BitOperations.LeadingZeroCount(groups);
            ulong bits = ((1UL << (int)n) - 1) << pos;
            ulong seen = Interlocked.CompareExchange(ref *word, old | bits, old);
            if (seen == old) return w * 64 + (uint)pos;
            old = seen;
        }
    }

    /// <summary>Maps one 2 MiB chunk into a new slot; false when the slots are used up or mmap fails.</summary>
    private static bool MapChunk(HeapHeader* h)
    {
        int k = Interlocked.Increment(ref h->ChunkCount) - 1;
        if (k >= (int)h->MaxChunks) return false;
        if (!OsMemory.TryMapAligned(1 << ChunkShift, 1 << ChunkShift, out void* p, out _))
        {
            // The slot stays reserved and empty (scanners skip it).
            return false;
        }
        ulong chunk = (ulong)p;
        uint mask = ChunkHashSlots - 1;
        for (uint i = HashSlot(chunk); ; i = (i + 1) & mask)
        {
            if (Interlocked.CompareExchange(ref h->ChunkHash[i], chunk | (uint)(k + 1), 0) == 0) break;
        }
        Volatile.Write(ref *(nint*)(h->Chunks + k), (nint)p);
        return true;
    }

    /// <summary>The mapped chunks' addresses, for Release.</summary>
    internal static void UnmapChunks(HeapHeader* h)
    {
        int chunks = Math.Min(h->ChunkCount, (int)h->MaxChunks);
        for (int k = 0; k < chunks; k++)
        {
            if (h->Chunks[k] != null) OsMemory.TryUnmap(h->Chunks[k], 1 << ChunkShift, out _);
        }
    }
}
