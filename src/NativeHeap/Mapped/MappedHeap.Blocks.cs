// MappedHeap.Blocks: the block allocator inside the region (see HeapLayout for the format).
//
// Every method here runs under the heap's lock. Crash rule: the chain of block headers must be
// walkable after *every* store, because a kill can land between any two. So each change to the chain
// is prepared in bytes the chain does not yet cover (inside a free block, or past HeapEnd) and then
// made visible by ONE aligned 8-byte store, written with Volatile.Write so the JIT cannot move the
// preparing stores after it. x86-64 keeps stores in program order, and a killed process's stores that
// executed are already in the shared page cache, so program order is all that matters (no msync).
// Derived data (free lists, bitmap, footers, PREV_FREE bits, tail flag) may be left stale by a kill:
// the next writable open rebuilds it from a walk (MappedHeap.Check.cs).
using System.Numerics;
using System.Runtime.CompilerServices;
using NativeHeap.Os;
using static NativeHeap.Mapped.HeapLayout;

namespace NativeHeap.Mapped;

public sealed unsafe partial class MappedHeap
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref ulong Word(long offset) => ref *(ulong*)(_base + offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long SizeAt(long offset) => (long)(Word(offset) & ~FlagMask);

    private long HeapEnd
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (long)Word(OffHeapEnd);
    }

    // ---- free lists (derived) ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ListInsert(long block, long size)
    {
        int bin = BinOf(size);
        ref ulong head = ref Word(OffBinHeads + bin * 8);
        long first = (long)head;
        Word(block + 8) = (ulong)first;
        Word(block + 16) = 0;
        if (first != 0) Word(first + 16) = (ulong)block;
        CrashPoint();
        head = (ulong)block;
        Word(OffBitmap + (bin >> 6) * 8) |= 1UL << (bin & 63);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ListRemove(long block, long size)
    {
        long next = (long)Word(block + 8), prev = (long)Word(block + 16);
        if (prev != 0)
        {
            Word(prev + 8) = (ulong)next;
            CrashPoint();
        }
        else
        {
            int bin = BinOf(size);
            Word(OffBinHeads + bin * 8) = (ulong)next;
            if (next == 0) Word(OffBitmap + (bin >> 6) * 8) &= ~(1UL << (bin & 63));
        }
        if (next != 0) Word(next + 16) = (ulong)prev;
    }

    /// <summary>Sets or clears the PREV_FREE bit of the block at <paramref name="next"/> (the tail flag at HeapEnd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetPrevFree(long next, bool free)
    {
        if (next >= HeapEnd)
        {
            Word(OffTailPrevFree) = free ? 1UL : 0UL;
            return;
        }
        ref ulong h = ref Word(next);
        h = free ? h | PrevFree : h & ~PrevFree;
    }

    /// <summary>Finishes a free block whose header is already in the chain: footer, list, next's PREV_FREE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PublishFree(long block, long size)
    {
        Word(block + size - 8) = (ulong)size;
        CrashPoint();
        ListInsert(block, size);
        CrashPoint();
        SetPrevFree(block + size, true);
    }

    /// <summary>First free block of at least <paramref name="need"/> bytes, or 0.</summary>
    private long FindFree(long need)
    {
        int bin = BinOf(need);
        if (bin >= ExactBins)
        {
            // A range bin may hold blocks smaller than need: scan it (bounded), then look higher.
            long b = (long)Word(OffBinHeads + bin * 8);
            for (int i = 0; b != 0 && (i < 32 || bin == BinCount - 1); i++)
            {
                if (SizeAt(b) >= need) return b;
                b = (long)Word(b + 8);
            }
            bin++;
        }
        for (int w = bin >> 6; w < 2; w++)
        {
            ulong bits = Word(OffBitmap + w * 8);
            if (w == bin >> 6) bits &= ~0UL << (bin & 63);
            if (bits != 0)
            {
                int found = w * 64 + BitOperations.TrailingZeroCount(bits);
                if (found == BinCount - 1)
                {
                    for (long b = (long)Word(OffBinHeads + found * 8); b != 0; b = (long)Word(b + 8))
                        if (SizeAt(b) >= need) return b;
                    return 0;
                }
                return (long)Word(OffBinHeads + found * 8);
            }
        }
        return 0;
    }

    /// <summary>Allocates a block of exactly <paramref name="need"/> bytes (a valid block size); 0 when full, reason in the last error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long AllocBlock(long need)
    {
        long o = FindFree(need);
        if (o == 0) return AllocBlockSlow(need);
        TakeFree(o, need);
        return o;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long AllocBlockSlow(long need)
    {
        if (!TryGrow(need)) return 0;
        long o = FindFree(need);
        Debug.Assert(o != 0, "growth must make room for the request");
        if (o == 0) { SetError(MappedHeapError.HeapFull); return 0; }
        TakeFree(o, need);
        return o;
    }

    /// <summary>Turns free block <paramref name="o"/> (size >= need) into an allocated block of <paramref name="need"/> bytes, splitting off the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void TakeFree(long o, long need)
    {
        ulong h = Word(o);
        long size = (long)(h & ~FlagMask);
        Debug.Assert((h & Alloc) == 0 && size >= need);
        ListRemove(o, size);
        long rest = size - need;
        CrashPoint();
        if (rest >= MinBlock)
        {
            long r = o + need;
            Word(r) = (ulong)rest;                         // remainder header, inside o: invisible
            CrashPoint();
            Word(o + 8) = Cookie(o, _salt);                // cookie, inside o: invisible
            CrashPoint();
            Volatile.Write(ref Word(o), (ulong)need | Alloc | (h & PrevFree)); // commit: o allocated, r free
            CrashPoint();
            Word(r + rest - 8) = (ulong)rest;
            ListInsert(r, rest);                           // the block after r keeps PREV_FREE set
        }
        else
        {
            Word(o + 8) = Cookie(o, _salt);
            CrashPoint();
            Volatile.Write(ref Word(o), (ulong)size | Alloc | (h & PrevFree)); // commit
            CrashPoint();
            SetPrevFree(o + size, false);
        }
    }

    /// <summary>Frees allocated block <paramref name="o"/> and coalesces it with free neighbours.</summary>
    private void FreeBlock(long o)
    {
        ulong h = Word(o);
        long size = (long)(h & ~FlagMask);
        Volatile.Write(ref Word(o), (ulong)size | (h & PrevFree)); // commit: o free (maybe next to free blocks)
        CrashPoint();
        Word(o + 8) = 0;                                            // drop the cookie: a second free is caught
        CrashPoint();
        long start = o, total = size;
        long next = o + size;
        if (next < HeapEnd)
        {
            ulong nh = Word(next);
            if ((nh & Alloc) == 0)
            {
                long ns = (long)(nh & ~FlagMask);
                ListRemove(next, ns);
                CrashPoint();
                total += ns;
            }
        }
        if ((h & PrevFree) != 0)
        {
            long ps = (long)Word(o - 8);
            long prev = o - ps;
            Debug.Assert(prev >= HeaderSize && (Word(prev) & Alloc) == 0 && SizeAt(prev) == ps);
            ListRemove(prev, ps);
            CrashPoint();
            start = prev;
            total += ps;
        }
        if (start != o || total != size)
        {
            Volatile.Write(ref Word(start), (ulong)total | (Word(start) & PrevFree)); // commit: one merged block
            CrashPoint();
        }
        PublishFree(start, total);
    }

    /// <summary>Resizes block <paramref name="o"/> in place when it can; false when it must move.</summary>
    private bool ResizeInPlace(long o, long need)
    {
        ulong h = Word(o);
        long size = (long)(h & ~FlagMask);
        long next = o + size;
        bool nextFree = next < HeapEnd && (Word(next) & Alloc) == 0;
        long nextSize = nextFree ? SizeAt(next) : 0;
        if (need <= size)
        {
            long rest = size - need + nextSize;
            if (size - need < MinBlock && !(nextFree && size - need > 0)) return true; // too little to split off
            if (nextFree) ListRemove(next, nextSize);
            CrashPoint();
            long r = o + need;
            Word(r) = (ulong)rest;                                        // covers the tail and a free next block
            CrashPoint();
            Volatile.Write(ref Word(o), (ulong)need | Alloc | (h & PrevFree)); // commit
            CrashPoint();
            Word(r + rest - 8) = (ulong)rest;
            ListInsert(r, rest);
            SetPrevFree(r + rest, true);
            return true;
        }
        if (!nextFree || size + nextSize < need) return false;
        ListRemove(next, nextSize);
        long total = size + nextSize;
        CrashPoint();
        long left = total - need;
        if (left >= MinBlock)
        {
            long r = o + need;                                            // r >= next + 16: next's header stays intact
            Word(r) = (ulong)left;
            CrashPoint();
            Volatile.Write(ref Word(o), (ulong)need | Alloc | (h & PrevFree)); // commit
            CrashPoint();
            Word(r + left - 8) = (ulong)left;
            ListInsert(r, left);
        }
        else
        {
            Volatile.Write(ref Word(o), (ulong)total | Alloc | (h & PrevFree)); // commit
            CrashPoint();
            SetPrevFree(o + total, false);
        }
        return true;
    }

    /// <summary>Allocates a block whose payload starts on a page boundary; 0 when full.</summary>
    private long AllocPageAligned(long need)
    {
        long search = need + PageSize + MinBlock;
        long f = FindFree(search);
        if (f == 0)
        {
            if (!TryGrow(search)) return 0;
            f = FindFree(search);
            if (f == 0) { SetError(MappedHeapError.HeapFull); return 0; }
        }
        long payload = AlignUp(f + BlockHeader, PageSize);
        long pad = payload - BlockHeader - f;
        if (pad != 0 && pad < MinBlock) pad += PageSize;
        if (pad == 0)
        {
            TakeFree(f, need);
            return f;
        }
        ulong fh = Word(f);
        long size = (long)(fh & ~FlagMask);
        Debug.Assert(size >= pad + need);
        ListRemove(f, size);
        long x = f + pad;
        CrashPoint();
        long rest = size - pad - need;
        if (rest < MinBlock) { need += rest; rest = 0; }
        if (rest != 0) Word(x + need) = (ulong)rest;                  // inside f: invisible
        CrashPoint();
        Word(x + 8) = Cookie(x, _salt);
        CrashPoint();
        Word(x) = (ulong)need | Alloc | PrevFree;                      // inside f: invisible
        CrashPoint();
        Volatile.Write(ref Word(f), (ulong)pad | (fh & PrevFree));    // commit: f shrinks, x (and the rest) appear
        CrashPoint();
        Word(f + pad - 8) = (ulong)pad;
        CrashPoint();
        ListInsert(f, pad);
        CrashPoint();
        if (rest != 0)
        {
            Word(x + need + rest - 8) = (ulong)rest;
            ListInsert(x + need, rest);
        }
        else
        {
            SetPrevFree(x + need, false);
        }
        return x;
    }

    /// <summary>Grows the region so that a free block of <paramref name="need"/> bytes exists at the end.</summary>
    private bool TryGrow(long need)
    {
        long end = HeapEnd;
        long tailFree = Word(OffTailPrevFree) != 0 ? (long)Word(end - 8) : 0;
        long want = need - tailFree;
        long step = Math.Max(want, Math.Max(_growStep, (end >> 3)));
        long newEnd = Math.Min(AlignUp(end + step, PageSize), _maxSize);
        if (newEnd - end < want)
        {
            newEnd = AlignUp(end + want, PageSize);
            if (newEnd > _maxSize)
            {
                SetError(MappedHeapError.HeapFull);
                return false;
            }
        }
        if (newEnd <= end)
        {
            SetError(MappedHeapError.HeapFull);
            return false;
        }
        if (_fd >= 0 && newEnd > _fileSize)
        {
            if (!OsFile.TryExtend(_fd, _fileSize, newEnd, out OsError err))
            {
                SetError(MappedHeapError.HeapFull, err);
                return false;
            }
            _fileSize = newEnd;
            CrashPoint();
        }
        long delta = newEnd - end;
        bool tail = Word(OffTailPrevFree) != 0;
        Word(end) = (ulong)delta | (tail ? PrevFree : 0);              // past HeapEnd: invisible
        CrashPoint();
        Volatile.Write(ref Word(OffHeapEnd), (ulong)newEnd);           // commit: the new free block joins the chain
        CrashPoint();
        Word(OffTailPrevFree) = 0;
        long start = end, total = delta;
        if (tail)
        {
            long prev = end - tailFree;
            ListRemove(prev, tailFree);
            CrashPoint();
            Volatile.Write(ref Word(prev), (ulong)(tailFree + delta) | (Word(prev) & PrevFree)); // commit: merge
            CrashPoint();
            start = prev;
            total += tailFree;
        }
        PublishFree(start, total);
        return true;
    }

    /// <summary>Gives the free space at the end of the region back to the file system; returns bytes released.</summary>
    private long TrimTail(out bool ok)
    {
        ok = true;
        long end = HeapEnd;
        if (Word(OffTailPrevFree) == 0) return 0;
        long lastSize = (long)Word(end - 8);
        long last = end - lastSize;
        long cut = AlignUp(last, PageSize);
        if (cut != last && cut - last < MinBlock) cut += PageSize;
        if (cut >= end) return 0;
        ListRemove(last, lastSize);
        CrashPoint();
        if (cut == last)
        {
            Volatile.Write(ref Word(OffHeapEnd), (ulong)cut);          // commit: the last block leaves the chain
            CrashPoint();
            Word(OffTailPrevFree) = 0;
        }
        else
        {
            long keep = cut - last;
            Word(cut) = (ulong)(end - cut);                            // inside last: invisible
            CrashPoint();
            Volatile.Write(ref Word(last), (ulong)keep | (Word(last) & PrevFree)); // commit: last splits in two
            CrashPoint();
            Volatile.Write(ref Word(OffHeapEnd), (ulong)cut);          // commit: the second half leaves the chain
            CrashPoint();
            Word(OffTailPrevFree) = 0;
            PublishFree(last, keep);
        }
        if (_fd >= 0)
        {
            if (OsFile.TryTruncate(_fd, cut, out OsError err)) _fileSize = cut;
            else
            {
                ok = false;
                SetError(MappedHeapError.OsFailure, err);
            }
        }
        else
        {
            OsMemory.TryPurgeForced(_base + cut, (nuint)(end - cut), out _);
        }
        return end - cut;
    }
}
