// LockFreeArena: the lock-free core of LockFreeHeap: a fixed arena cut into power-of-two blocks,
// kept on replicated (per-shard) free lists whose heads are tagged 64-bit words.
//
// ---------------------------------------------------------------------------------------------
// Terms
//   arena      the fixed, page-aligned range of HeapSize bytes that small blocks come from. It is
//              mapped once, when the heap is created, and never unmapped while the heap lives, so
//              every address inside it stays readable and writable for the heap's whole life.
//   offset     a position in 16-byte granules from the mapping base; 0 is "none" (the base holds
//              the header, so no block has offset 0).
//   class c    blocks of 16 << c bytes (LockFreeSizeClasses); classes never mix within a page
//              below 4 KiB and blocks are aligned to min(size, 4 KiB).
//   page table one byte per arena page: 0 = not carved yet, 1 + c = a page that starts a block of
//              class c (for c < 4 KiB: every page of that class), 0x80 = a later page of a block of
//              4 KiB or more.
//   shard      one row of 13 list heads, one per class, on its own two cache lines. A thread uses
//              the shard of the processor it runs on (Thread.GetCurrentProcessorId() & mask), so two
//              threads running at the same time on different processors touch different heads.
//   head       a tagged word (TaggedWord): offset of the first free block, plus a tag that every
//              successful CAS increments. The first 4 bytes of a free block hold the offset of the
//              next free block of the same list ("next link").
//   Top        the bump pointer of the arena (bytes carved so far); grows by CAS, never shrinks.
//
// Operations (each retries only after a failed CAS)
//   Pop(h)     read w = *h; if offset(w) = 0, empty; read n = next link of block(w); CAS *h from w
//              to (n, tag(w)+1); on success the block is the caller's.
//   Push(h,b)  read w = *h; write next link of b := offset(w); CAS *h from w to (b, tag(w)+1).
//              A chain b1..bk that the caller owns is pushed the same way, linking bk to offset(w).
//   Carve(n)   read t = Top; if t + n > ArenaSize, fail; CAS Top from t to t + n; on success the
//              pages [t, t+n) are the caller's.
//   Allocate   pop from the own shard; else carve fresh pages and cut them into blocks; else pop
//              from each other shard's list of the class; else pop a larger free block (4 KiB or
//              more) from any shard and split it; else fail (null; or mmap, when enabled, in
//              LockFreeHeap).
//   Free       find the class in the page table, check alignment, push on the own shard.
//
// Invariants (when no operation is between its linearisation point and its return)
//   I1  Every block of the arena below Top is in exactly one of: one free list, the hands of one
//       caller (allocated, or taken by a Pop or Carve and not yet pushed or returned).
//   I2  Each list is a finite, acyclic chain of blocks of the head's class, threaded by next links.
//   I3  The page table describes every page below Top and nothing above it; it is written only by
//       the owner of the pages being (re)described (after Carve, or after popping a block to split),
//       before any block of those pages is published by a CAS or returned.
//
// Why it is correct (safety)
//   * Memory safety of the speculative reads. Pop reads the next link of a block that another
//     thread may have popped meanwhile and may be overwriting with user data. The read is inside the
//     arena (the offset came from a head, and heads only ever hold arena offsets), which is mapped
//     for the heap's whole life, so it cannot fault; the value read may be garbage, but it is used
//     only if the CAS succeeds, and then it is not garbage (next point).
//   * No ABA. A Pop's CAS succeeds only if the head still holds the exact word w it read, tag
//     included. Every successful CAS on a head increments its tag, so equality means no successful
//     CAS on that head happened between the read of w and the CAS (short of 2^32 of them: see
//     TaggedWord). Then block(w) was the top of the list during the whole window, nobody could have
//     popped it, so its next link was not rewritten by a user and is the true successor (I2): the
//     CAS removes exactly the top block. The same argument covers Push: the next link written
//     before the CAS names the block that is still the top when the CAS succeeds.
//   * Publication. Interlocked.CompareExchange is a full fence in .NET on x64, so a block's next
//     link, its page-table byte and (for a caller that hands the block to another thread) its
//     contents are visible before any thread can reach the block through the head.
//   * I1 holds because each block moves between lists and callers only by a successful CAS (Pop,
//     Push) or a successful Carve of fresh pages, each transferring exclusive ownership; I3
//     because page-table bytes are written only by the exclusive owner of the pages.
//
// Why it is lock-free (progress)
//   * Every loop re-executes only after a failed CAS. A CAS on a head (or on Top) fails only if
//     another thread's CAS on the same word succeeded after this thread's read, and that success
//     completes the other thread's Pop/Push/Carve. So whenever some thread takes a step
//     backwards, another thread has completed an operation: system-wide progress, for any number of
//     threads, stalled or not. (AO_malloc as Debian builds it, without a 16-byte CAS, uses
//     libatomic_ops' "almost lock-free" stack: a pop announces its entry on a small black list and
//     a push of that entry spins (AO_pause) until the announcement is withdrawn, so a stalled
//     popper can hold up a pusher; hence its 1-lock-freedom.)
//   * Allocate visits a bounded number of lists (own, then every other shard, then the larger
//     classes of every shard) and each visit ends in bounded steps unless a CAS fails, so Allocate
//     is lock-free too. No operation waits for a flag another thread must reset, takes a lock,
//     allocates a managed object or calls the OS; only the large-object path (LockFreeHeap) maps
//     memory.
//
// The spin model models/lockfree_stack.pml (run by models/run-spin.sh and LockFreeModelTests)
// checks Pop, Push and Carve on two shards under every interleaving: I1 and I2 after every CAS, no
// block handed out twice, "a failed CAS implies another thread's successful CAS", and the absence
// of non-progress cycles (lock-freedom); without the tag, spin finds the ABA violation.
// ---------------------------------------------------------------------------------------------
using System.Runtime.CompilerServices;
using NativeHeap.Os;
using static NativeHeap.LockFree.LockFreeSizeClasses;

namespace NativeHeap.LockFree;

internal readonly unsafe struct LockFreeArena
{
    /// <summary>Page-table byte for a page that continues a block of 4 KiB or more.</summary>
    internal const byte Continuation = 0x80;

    /// <summary>Largest arena: offsets are 32-bit counts of 16-byte granules from the mapping base.</summary>
    internal const ulong MaxArenaSize = 16UL << 30;

    private const ulong MagicValue = 0x4C46_4845_4150_0001UL; // "LFHEAP" 1

    private readonly byte* _base;
    private readonly ulong* _heads;
    private readonly byte* _pageTable;
    private readonly nuint _arenaStart;
    private readonly nuint _arenaSize;
    private readonly int _shardMask;

    private LockFreeArena(byte* mappingBase, int shards)
    {
        _base = mappingBase;
        _heads = (ulong*)(mappingBase + ArenaHeader.Size);
        _pageTable = mappingBase + ArenaHeader.Size + shards * ArenaHeader.ShardBytes;
        _arenaStart = Header->ArenaStart;
        _arenaSize = Header->ArenaSize;
        _shardMask = shards - 1;
    }

    /// <summary>The header at the mapping base.</summary>
    internal ArenaHeader* Header => (ArenaHeader*)_base;

    /// <summary>First byte of the arena.</summary>
    internal byte* ArenaBase => _base + _arenaStart;

    /// <summary>Bytes of the arena.</summary>
    internal nuint ArenaSize => _arenaSize;

    /// <summary>Number of shards.</summary>
    internal int ShardCount => _shardMask + 1;

    /// <summary>True when this value refers to a mapping.</summary>
    internal bool IsCreated => _base != null;

    /// <summary>A value that identifies this heap in large-object headers.</summary>
    internal ulong Magic => MagicValue ^ (ulong)_base;

    /// <summary>
    /// Maps and initialises an arena of <paramref name="heapSize"/> bytes (a multiple of 4 KiB, at
    /// least 64 KiB, at most 16 GiB) with <paramref name="shards"/> shards (a power of two, 1..256).
    /// </summary>
    internal static bool TryCreate(nuint heapSize, int shards, out LockFreeArena arena, out OsError error)
    {
        Debug.Assert(heapSize % OsMemory.PageSize == 0 && heapSize >= (nuint)MaxBlockSize && heapSize <= MaxArenaSize);
        Debug.Assert(shards >= 1 && shards <= 256 && (shards & (shards - 1)) == 0);
        nuint pages = heapSize / OsMemory.PageSize;
        nuint meta = (nuint)ArenaHeader.Size + (nuint)shards * ArenaHeader.ShardBytes + pages;
        nuint arenaStart = (meta + OsMemory.PageSize - 1) & ~(nuint)(OsMemory.PageSize - 1);
        nuint mappingSize = arenaStart + heapSize;
        if (!OsMemory.TryMapAligned(mappingSize, OsMemory.PageSize, out void* p, out error))
        {
            arena = default;
            return false;
        }
        // The mapping is zero-filled: every head is (0, tag 0), every page-table byte is 0, Top is 0.
        var h = (ArenaHeader*)p;
        h->MappingSize = mappingSize;
        h->ArenaStart = arenaStart;
        h->ArenaSize = heapSize;
        h->ShardCount = shards;
        h->Magic = MagicValue;
        arena = new LockFreeArena((byte*)p, shards);
        return true;
    }

    /// <summary>Unmaps the arena. The caller guarantees that no thread uses it any more.</summary>
    internal void Release()
    {
        if (_base == null) return;
        nuint size = Header->MappingSize;
        Header->Magic = 0;
        OsMemory.TryUnmap(_base, size, out _);
    }

    // ----------------------------------------------------------------------------- fast paths

    /// <summary>The shard row of the processor the caller runs on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong* OwnRow() => _heads + ((Thread.GetCurrentProcessorId() & _shardMask) * (ArenaHeader.ShardBytes / sizeof(ulong)));

    /// <summary>The shard row <paramref name="shard"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong* Row(int shard) => _heads + shard * (ArenaHeader.ShardBytes / sizeof(ulong));

    /// <summary>Pops a block of class <paramref name="c"/> from the caller's shard; null when that list is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* TryPopOwn(int c) => Pop(OwnRow() + c);

    /// <summary>
    /// Returns <paramref name="p"/> to the heap when it is the start of a block of this arena that
    /// is not the block on top of its list (an immediate double free). Returns false, changing
    /// nothing, when <paramref name="p"/> is inside the arena but not the start of a carved block;
    /// the caller handles pointers outside the arena (<paramref name="inside"/> false).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryFree(byte* p, out bool inside)
    {
        nuint rel = (nuint)(p - _base) - _arenaStart;
        inside = rel < _arenaSize;
        if (!inside) return false;
        byte pc = _pageTable[rel >> OsMemory.LgPageSize];
        int c = pc - 1;
        // pc == 0 (not carved) gives c = -1 and pc == 0x80 gives c = 127: both fail the range test.
        if ((uint)c > MaxClass || (rel & (Math.Min(SizeOf(c), (nuint)OsMemory.PageSize) - 1)) != 0)
        {
            return false;
        }
        return Push(OwnRow() + c, p);
    }

    // --------------------------------------------------------------------- the tagged stacks

    /// <summary>Treiber pop on a tagged head (see the header comment). Null when the list is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Pop(ulong* head) => Pop(head, default(NoPause));

    /// <summary>
    /// The pop itself, with a hook between the speculative read of the next link and the CAS: the
    /// window in which ABA would strike. Production code passes <see cref="NoPause"/>, which the JIT
    /// removes; tests pass a hook that runs other heap operations inside the window.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Pop<TPause>(ulong* head, TPause pause) where TPause : struct, IPopPause
    {
        ulong old = Volatile.Read(ref *head);
        while (true)
        {
            uint off = TaggedWord.Offset(old);
            if (off == 0) return null;
            byte* block = _base + ((nuint)off << LgMin);
            Debug.Assert((nuint)(block - ArenaBase) < _arenaSize, "a head holds an offset outside the arena");
            // Speculative read: the block may already belong to another thread; the CAS decides.
            uint next = Volatile.Read(ref *(uint*)block);
            pause.AfterReadingNext();
            ulong seen = Interlocked.CompareExchange(ref *head, TaggedWord.Next(old, next), old);
            if (seen == old) return block;
            old = seen;
        }
    }

    /// <summary>Test hook: pops from shard <paramref name="shard"/>'s list of class <paramref name="c"/>, calling <paramref name="pause"/> inside the ABA window.</summary>
    internal byte* PopForTest<TPause>(int shard, int c, TPause pause) where TPause : struct, IPopPause
        => Pop(Row(shard & _shardMask) + c, pause);

    /// <summary>Treiber push of one owned block. False (nothing pushed) when the block is already on top: a double free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Push(ulong* head, byte* block)
    {
        Debug.Assert((nuint)(block - ArenaBase) < _arenaSize && ((nuint)block & (Granule - 1)) == 0, "pushing a block outside the arena");
        uint off = (uint)((nuint)(block - _base) >> LgMin);
        ulong old = Volatile.Read(ref *head);
        while (true)
        {
            if (TaggedWord.Offset(old) == off) return false;
            *(uint*)block = TaggedWord.Offset(old);
            ulong seen = Interlocked.CompareExchange(ref *head, TaggedWord.Next(old, off), old);
            if (seen == old) return true;
            old = seen;
        }
    }

    /// <summary>Pushes an owned chain first..last (already linked first → ... → last) with one CAS.</summary>
    private void PushChain(ulong* head, byte* first, byte* last)
    {
        Debug.Assert((nuint)(first - ArenaBase) < _arenaSize && (nuint)(last - ArenaBase) < _arenaSize, "pushing a chain outside the arena");
        uint off = (uint)((nuint)(first - _base) >> LgMin);
        ulong old = Volatile.Read(ref *head);
        while (true)
        {
            *(uint*)last = TaggedWord.Offset(old);
            ulong seen = Interlocked.CompareExchange(ref *head, TaggedWord.Next(old, off), old);
            if (seen == old) return;
            old = seen;
        }
    }

    // ------------------------------------------------------------------------------ slow path

    /// <summary>
    /// Allocation when the own shard's list of class <paramref name="c"/> is empty: carve, steal,
    /// split, in that order. Null when the arena has no block of class c or larger to give.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal byte* AllocateSlow(int c)
    {
        int own = Thread.GetCurrentProcessorId() & _shardMask;
        ulong* ownHead = Row(own) + c;
        byte* p = Pop(ownHead);
        if (p != null) return p;

        // 1. Carve fresh pages while the arena has some: no other thread is disturbed.
        p = TryCarve(c, ownHead);
        if (p != null) return p;

        // 2. Steal one block of this class from another shard. One block, not the whole list: taking
        //    a whole list makes two threads with similar needs steal it back and forth.
        for (int i = 1; i <= _shardMask; i++)
        {
            p = Pop(Row((own + i) & _shardMask) + c);
            if (p != null) return p;
        }

        // 3. Split a free block of 4 KiB or more from any shard.
        for (int d = Math.Max(c + 1, PageClass); d <= MaxClass; d++)
        {
            for (int i = 0; i <= _shardMask; i++)
            {
                byte* big = Pop(Row((own + i) & _shardMask) + d);
                if (big != null) return Split(big, d, c, ownHead);
            }
        }
        return null;
    }

    /// <summary>
    /// Carves one block of class <paramref name="c"/> (or, below 4 KiB, one page of them) from the
    /// unused part of the arena; returns the first and pushes the others onto <paramref name="ownHead"/>.
    /// </summary>
    private byte* TryCarve(int c, ulong* ownHead)
    {
        nuint bytes = Math.Max(SizeOf(c), (nuint)OsMemory.PageSize);
        long top = Volatile.Read(ref Header->Top);
        while (true)
        {
            if ((nuint)top + bytes > _arenaSize) return null;
            long seen = Interlocked.CompareExchange(ref Header->Top, top + (long)bytes, top);
            if (seen == top) break;
            top = seen;
        }
        byte* start = ArenaBase + top;
        Interlocked.Add(ref Header->NetBlocks[c], (long)(bytes / SizeOf(c)));
        return Describe(start, bytes, c, ownHead);
    }

    /// <summary>Splits an owned free block of class <paramref name="d"/> (≥ 4 KiB) into blocks of class <paramref name="c"/>.</summary>
    private byte* Split(byte* big, int d, int c, ulong* ownHead)
    {
        Debug.Assert(d > c && d >= PageClass);
        nuint bytes = SizeOf(d);
        Interlocked.Decrement(ref Header->NetBlocks[d]);
        Interlocked.Add(ref Header->NetBlocks[c], (long)(bytes / SizeOf(c)));
        return Describe(big, bytes, c, ownHead);
    }

    /// <summary>
    /// Writes the page table for the owned range [start, start+bytes) cut into blocks of class
    /// <paramref name="c"/>, links the blocks after the first into a chain, pushes that chain onto
    /// <paramref name="ownHead"/> and returns the first block. The writes happen before the CAS that
    /// publishes the chain (I3).
    /// </summary>
    private byte* Describe(byte* start, nuint bytes, int c, ulong* ownHead)
    {
        nuint size = SizeOf(c);
        Debug.Assert(bytes % size == 0 && bytes % OsMemory.PageSize == 0 && (nuint)(start - ArenaBase) + bytes <= _arenaSize);
        Debug.Assert(((nuint)(start - ArenaBase) & (OsMemory.PageSize - 1)) == 0, "blocks are carved and split at page boundaries");
        nuint firstPage = (nuint)(start - ArenaBase) >> OsMemory.LgPageSize;
        nuint pages = bytes >> OsMemory.LgPageSize;
        if (c < PageClass)
        {
            for (nuint i = 0; i < pages; i++) _pageTable[firstPage + i] = (byte)(1 + c);
        }
        else
        {
            nuint per = size >> OsMemory.LgPageSize;
            for (nuint i = 0; i < pages; i++) _pageTable[firstPage + i] = i % per == 0 ? (byte)(1 + c) : Continuation;
        }
        nuint count = bytes / size;
        if (count > 1)
        {
            byte* second = start + size;
            byte* last = start + (count - 1) * size;
            for (byte* b = second; b < last; b += size)
            {
                *(uint*)b = (uint)((nuint)(b + size - _base) >> LgMin);
            }
            PushChain(ownHead, second, last);
        }
        return start;
    }

    // ----------------------------------------------------------------------------- diagnostics

    /// <summary>Counts a rejected free.</summary>
    internal void CountRejectedFree() => Interlocked.Increment(ref Header->RejectedFrees);

    /// <summary>
    /// Walks every list and the page table and checks I1–I3 as far as they can be seen when no
    /// operation is in progress. Returns null when consistent, else a description of the first
    /// problem; fills <paramref name="freeBlocks"/> and <paramref name="netBlocks"/> per class.
    /// </summary>
    internal string? Validate(long[] freeBlocks, long[] netBlocks)
    {
        nuint top = (nuint)Volatile.Read(ref Header->Top);
        if (top > _arenaSize || top % OsMemory.PageSize != 0) return $"Top {top} outside the arena or not page aligned";
        nuint pages = _arenaSize >> OsMemory.LgPageSize;
        nuint carvedPages = top >> OsMemory.LgPageSize;

        // Page table: well formed below Top, empty above; count the blocks it describes.
        var described = new long[Count];
        for (nuint pg = 0; pg < pages; pg++)
        {
            byte b = _pageTable[pg];
            if (pg >= carvedPages)
            {
                if (b != 0) return $"page {pg} above Top is described ({b})";
                continue;
            }
            if (b == 0 || b == Continuation) return $"page {pg} below Top does not start a block ({b})";
            int c = b - 1;
            if (c > MaxClass) return $"page {pg} has an invalid class byte {b}";
            if (c < PageClass)
            {
                described[c] += OsMemory.PageSize / (int)SizeOf(c);
                continue;
            }
            nuint per = SizeOf(c) >> OsMemory.LgPageSize;
            if (pg + per > carvedPages) return $"block of class {c} at page {pg} runs past Top";
            for (nuint k = 1; k < per; k++)
            {
                if (_pageTable[pg + k] != Continuation) return $"page {pg + k} inside a block of class {c} is not a continuation";
            }
            described[c]++;
            pg += per - 1;
        }

        // Lists: each block in the arena below Top, the start of a block of the list's class, on one list only.
        var seen = new ulong[(int)((_arenaSize >> LgMin) + 63) / 64]; // one bit per granule
        long bound = (long)(_arenaSize >> LgMin);
        for (int c = 0; c < Count; c++) freeBlocks[c] = 0;
        for (int s = 0; s <= _shardMask; s++)
        {
            for (int c = 0; c < Count; c++)
            {
                long n = 0;
                for (uint off = TaggedWord.Offset(Volatile.Read(ref Row(s)[c])); off != 0;)
                {
                    nuint rel = ((nuint)off << LgMin) - _arenaStart;
                    if (rel >= top) return $"shard {s} class {c}: offset {off} is outside the carved arena";
                    byte pc = _pageTable[rel >> OsMemory.LgPageSize];
                    if (pc != 1 + c) return $"shard {s} class {c}: block at {rel} lies in a page of class byte {pc}";
                    if ((rel & (Math.Min(SizeOf(c), (nuint)OsMemory.PageSize) - 1)) != 0) return $"shard {s} class {c}: block at {rel} is misaligned";
                    nuint g = rel >> LgMin;
                    ulong bit = 1UL << (int)(g & 63);
                    if ((seen[(int)(g >> 6)] & bit) != 0) return $"shard {s} class {c}: block at {rel} is on a list twice (cycle or double free)";
                    seen[(int)(g >> 6)] |= bit;
                    if (++n > bound) return $"shard {s} class {c}: list longer than the arena";
                    off = *(uint*)(_base + ((nuint)off << LgMin));
                }
                freeBlocks[c] += n;
            }
        }

        for (int c = 0; c < Count; c++)
        {
            netBlocks[c] = Volatile.Read(ref Header->NetBlocks[c]);
            if (netBlocks[c] != described[c]) return $"class {c}: {netBlocks[c]} blocks counted but the page table describes {described[c]}";
            if (freeBlocks[c] > netBlocks[c]) return $"class {c}: {freeBlocks[c]} free blocks of {netBlocks[c]}";
        }
        return null;
    }
}
