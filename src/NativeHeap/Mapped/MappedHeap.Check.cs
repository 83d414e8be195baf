// MappedHeap.Check: the walker. One walk serves three purposes:
//  - validation on open (chain only, read-only: nothing is written before the file is known good);
//  - Check() (chain plus every derived structure: PREV_FREE bits, footers, no adjacent free blocks,
//    free lists, bin bitmap, tail flag), which tests and `nheap heap check` use;
//  - statistics (sizes, counts, fragmentation).
// Rebuild() recreates all derived data from the chain: on every writable open, so a crash that left
// free lists or bits stale is repaired before the first allocation.
using static NativeHeap.Mapped.HeapLayout;

namespace NativeHeap.Mapped;

public sealed unsafe partial class MappedHeap
{
    /// <summary>
    /// Walks the region. With <paramref name="steady"/> also checks every derived structure (valid only
    /// while the heap is open for writing or after a clean close). Never writes. Returns null when
    /// consistent, else a description of the first problem found.
    /// </summary>
    private string? Walk(bool steady, out MappedHeapStats stats)
    {
        stats = default;
        long end = HeapEnd;
        long limit = _fd >= 0 ? Math.Min(_fileSize, _maxSize) : _maxSize;
        if (end < HeaderSize || end > limit || (end & 15) != 0)
            return $"heap end {end} outside [{HeaderSize}, {limit}] or unaligned";

        // Every key and root must be null or the payload of an allocated block, with its check intact
        // (format version 2): gathered first, each crossed off when the walk meets its block.
        var targets = new Dictionary<long, string>();
        int keys = 0, named = 0;
        for (int k = 0; k < KeyCount; k++)
        {
            ulong word = Word(OffKeys + k * 8);
            if (word == 0) continue;
            if (!TryDecodeRoot(word, _salt, k, default, _bareRoots, out long v)) return $"key {k}: word {word:x16} fails its check (corrupted)";
            if (v < HeaderSize + BlockHeader || v >= end) return $"key {k}: offset {v} outside the heap";
            targets.TryAdd(v, $"key {k}");
            keys++;
        }
        for (int i = 0; i < NamedRootCount; i++)
        {
            byte* e = _base + OffNamedRoots + i * NamedRootSize;
            ulong word = *(ulong*)e;
            if (word == 0) continue;
            if (e[8] == 0 || e[8] > MaxNameBytes) return $"named root slot {i}: name length {e[8]}";
            if (!TryDecodeRoot(word, _salt, -1, new ReadOnlySpan<byte>(e + 9, e[8]), _bareRoots, out long v))
                return $"named root slot {i}: word {word:x16} fails its check (corrupted offset or name)";
            if (v < HeaderSize + BlockHeader || v >= end) return $"named root slot {i}: offset {v} outside the heap";
            targets.TryAdd(v, $"named root slot {i}");
            named++;
        }

        HashSet<long>? freeSet = steady ? new HashSet<long>() : null;
        long o = HeaderSize, used = 0, free = 0, nAlloc = 0, nFree = 0, largest = 0;
        bool prevFree = false;
        while (o < end)
        {
            if (end - o < MinBlock) return $"block at {o}: {end - o} bytes left before the heap end";
            ulong h = Word(o);
            long size = (long)(h & ~FlagMask);
            if (size < MinBlock || size > end - o) return $"block at {o}: bad size {size}";
            if ((h & Alloc) != 0)
            {
                if (Word(o + 8) != Cookie(o, _salt)) return $"block at {o}: allocated block without its cookie";
                if (targets.Count != 0) targets.Remove(o + BlockHeader);
                used += size;
                nAlloc++;
            }
            else
            {
                free += size;
                nFree++;
                if (size > largest) largest = size;
            }
            if (steady)
            {
                if (((h & PrevFree) != 0) != prevFree) return $"block at {o}: PREV_FREE bit is {((h & PrevFree) != 0)}, expected {prevFree}";
                if ((h & Alloc) == 0)
                {
                    if (prevFree) return $"block at {o}: two adjacent free blocks";
                    if ((long)Word(o + size - 8) != size) return $"free block at {o}: footer {Word(o + size - 8)} != size {size}";
                    freeSet!.Add(o);
                }
            }
            prevFree = (h & Alloc) == 0;
            o += size;
        }

        foreach (KeyValuePair<long, string> t in targets)
            return $"{t.Value}: offset {t.Key} is not the start of an allocated block";

        if (steady)
        {
            if ((Word(OffTailPrevFree) != 0) != prevFree) return $"tail flag is {Word(OffTailPrevFree)}, last block free = {prevFree}";
            long listed = 0;
            for (int bin = 0; bin < BinCount; bin++)
            {
                long head = (long)Word(OffBinHeads + bin * 8);
                bool bit = (Word(OffBitmap + (bin >> 6) * 8) & (1UL << (bin & 63))) != 0;
                if (bit != (head != 0)) return $"bin {bin}: bitmap bit {bit} but head {head}";
                long prev = 0;
                for (long b = head; b != 0; b = (long)Word(b + 8))
                {
                    if (!freeSet!.Contains(b)) return $"bin {bin}: entry {b} is not a free block";
                    if (BinOf(SizeAt(b)) != bin) return $"bin {bin}: block {b} of size {SizeAt(b)} belongs in bin {BinOf(SizeAt(b))}";
                    if ((long)Word(b + 16) != prev) return $"bin {bin}: block {b} has back link {Word(b + 16)}, expected {prev}";
                    if (++listed > nFree) return $"bin {bin}: more list entries than free blocks (a cycle?)";
                    prev = b;
                }
            }
            if (listed != nFree) return $"free lists hold {listed} blocks, the walk found {nFree}";
        }

        stats = new MappedHeapStats
        {
            FileSize = _fd >= 0 ? _fileSize : end,
            RegionSize = end,
            MaxSize = _maxSize,
            UsedBytes = used,
            FreeBytes = free,
            AllocatedBlocks = nAlloc,
            FreeBlocks = nFree,
            LargestFree = largest,
            Fragmentation = free == 0 ? 0 : 1.0 - (double)largest / free,
            KeysSet = keys,
            NamedRoots = named,
            WasClean = _wasClean,
            UncleanOpens = (long)Word(OffUncleanOpens),
            RecordedBase = (nint)Word(OffBase),
        };
        return null;
    }

    /// <summary>
    /// Recreates every derived structure from the chain (which Walk has validated): merges adjacent
    /// free blocks, then sets footers, PREV_FREE bits, the tail flag, bin lists and the bitmap.
    /// Each merge is one header store, so a kill during a rebuild leaves a heap the next open rebuilds.
    /// </summary>
    private void Rebuild()
    {
        new Span<byte>(_base + OffBinHeads, BinCount * 8).Clear();
        Word(OffBitmap) = 0;
        Word(OffBitmap + 8) = 0;
        long end = HeapEnd;
        long o = HeaderSize, run = 0;
        while (o < end)
        {
            ulong h = Word(o);
            long size = (long)(h & ~FlagMask);
            if ((h & Alloc) == 0)
            {
                if (run != 0)
                {
                    Volatile.Write(ref Word(run), (ulong)(SizeAt(run) + size)); // commit: merge into the run
                }
                else
                {
                    if ((h & PrevFree) != 0) Word(o) = h & ~PrevFree;
                    run = o;
                }
            }
            else
            {
                if (run != 0)
                {
                    long rs = SizeAt(run);
                    Word(run + rs - 8) = (ulong)rs;
                    ListInsert(run, rs);
                    run = 0;
                    if ((h & PrevFree) == 0) Word(o) = h | PrevFree;
                }
                else if ((h & PrevFree) != 0)
                {
                    Word(o) = h & ~PrevFree;
                }
            }
            o += size;
        }
        if (run != 0)
        {
            long rs = SizeAt(run);
            Word(run + rs - 8) = (ulong)rs;
            ListInsert(run, rs);
        }
        Word(OffTailPrevFree) = run != 0 ? 1UL : 0UL;
    }
}
