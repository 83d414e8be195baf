// LockFreeValidator: LockFreeHeap.Validate: walks a quiescent heap and checks the invariants of
// LockFreeCore (I1: every superblock's avail chain holds count + credits distinct blocks; I2: partial
// lists hold only PARTIAL/EMPTY superblocks of their class, once, and active words only ACTIVE ones;
// I3: a unit's bitmap bit is set exactly when its descriptor is in use, runs are whole) and of the
// thread caches (LockFreeThreadCache C3: every cached block is the start of a block of its stack's
// class in a superblock, in no cache twice and on no free chain).
using static NativeHeap.LockFree.LockFreeLayout;

namespace NativeHeap.LockFree;

internal static unsafe class LockFreeValidator
{
    internal static LockFreeHeapStats Validate(HeapHeader* h, nint caches)
    {
        var cached = new long[LockFreeSizeClasses.Count];
        var cachedSet = new HashSet<nint>();
        string? problem = CheckCaches(h, caches, cached, cachedSet, out int threadCaches);
        long[] free = [], blocks = [];
        long units = 0, arenaUnits = 0;
        int chunks = 0;
        problem ??= Check(h, cachedSet, out free, out blocks, out units, out arenaUnits, out chunks);
        if (problem != null) throw new InvalidOperationException("LockFreeHeap is inconsistent: " + problem);
        return new LockFreeHeapStats((nuint)h->ArenaSize, units, arenaUnits, chunks, (int)h->RowMask + 1, free, blocks, cached, threadCaches,
            Volatile.Read(ref h->LargeCount), Volatile.Read(ref h->LargeBytes), Volatile.Read(ref h->RejectedFrees));
    }

    private static string? CheckCaches(HeapHeader* h, nint region, long[] cached, HashSet<nint> set, out int threadCaches)
    {
        threadCaches = 0;
        int high = LockFreeThreads.HighSlot;
        for (int slot = 1; slot <= high; slot++)
        {
            var tc = (ThreadCache*)(region + ((nint)slot << LockFreeThreadCache.StrideShift));
            bool any = false;
            for (int c = 0; c < SuperblockClassCount; c++)
            {
                uint n = tc->Count[c];
                if (n > LockFreeThreadCache.Cap(c)) return $"thread cache {slot} holds {n} blocks of class {c}, more than its {LockFreeThreadCache.Cap(c)}";
                for (uint i = 0; i < n; i++)
                {
                    var p = (byte*)tc->Blocks[c * LockFreeThreadCache.MaxPerClass + (int)i];
                    uint u = LockFreeCore.UnitOf(h, p);
                    Descriptor* d = u == uint.MaxValue ? null : h->Descs + u;
                    if (d == null || d->Kind != KindSuperblock || d->SizeClass != c || ((nuint)(p - LockFreeCore.UnitBase(h, u)) & (d->BlockSize - 1)) != 0)
                        return $"thread cache {slot} holds {(nint)p:x} as a block of class {c}, which it is not";
                    if (!set.Add((nint)p)) return $"block {(nint)p:x} is in the thread caches twice (freed twice)";
                    cached[c]++;
                    any = true;
                }
            }
            if (any) threadCaches++;
        }
        return null;
    }

    private static string? Check(HeapHeader* h, HashSet<nint> cachedSet, out long[] free, out long[] blocks, out long units, out long arenaUnits, out int chunks)
    {
        free = new long[LockFreeSizeClasses.Count];
        blocks = new long[LockFreeSizeClasses.Count];
        units = arenaUnits = 0;
        chunks = Math.Min(h->ChunkCount, (int)h->MaxChunks);
        // Credits held by active words, per unit.
        var credits = new Dictionary<uint, uint>();
        for (uint row = 0; row <= h->RowMask; row++)
        {
            for (int c = 0; c < SuperblockClassCount; c++)
            {
                ulong w = h->Actives[row * ActiveRowWords + c];
                if (w == 0) continue;
                uint u = (uint)w - 1;
                Descriptor* d = h->Descs + u;
                if (d->Kind != KindSuperblock || d->SizeClass != c || State(d->Anchor) != Active)
                    return $"active word of row {row} class {c} names unit {u}, which is not an active superblock of that class";
                if (!credits.TryAdd(u, (uint)(w >> 32) + 1)) return $"unit {u} is active in two rows";
            }
        }
        var onList = new HashSet<uint>();
        for (int c = 0; c < SuperblockClassCount; c++)
        {
            uint top = TaggedWord.Offset(h->Partial[c * PartialStrideWords]);
            while (top != 0)
            {
                uint u = top - 1;
                Descriptor* d = h->Descs + u;
                if (!onList.Add(u)) return $"unit {u} is on the partial lists twice (or a list has a cycle)";
                ulong s = State(d->Anchor);
                if (d->Kind != KindSuperblock || d->SizeClass != c || (s != Partial && s != Empty))
                    return $"partial list {c} holds unit {u} in state {s}";
                top = d->Next;
            }
        }
        var seen = new HashSet<uint>();
        for (uint u = 0; u < h->ChunkUnitBase + (uint)chunks * ChunkUnits; u++)
        {
            bool inArena = u < h->ArenaUnits;
            if (!inArena && u < h->ChunkUnitBase) continue;
            if (!inArena && h->Chunks[(u - h->ChunkUnitBase) / ChunkUnits] == null) continue;
            bool bit = (h->Bitmap[u >> 6] >> (int)(u & 63) & 1) != 0;
            Descriptor* d = h->Descs + u;
            if (bit != (d->Kind != KindFree)) return $"unit {u}: pool bit {bit} but descriptor kind {d->Kind}";
            if (!bit) continue;
            units++;
            if (inArena) arenaUnits++;
            if (d->Kind == KindRun)
            {
                if (d->Units is not (1 or 2 or 4) || u % d->Units != 0) return $"run at unit {u} has {d->Units} units";
                for (uint i = 1; i < d->Units; i++)
                {
                    if (h->Descs[u + i].Kind != KindRunContinuation) return $"run at unit {u} is not whole";
                }
                blocks[d->SizeClass]++;
                continue;
            }
            if (d->Kind != KindSuperblock) continue; // continuation: checked with its head
            ulong a = d->Anchor;
            uint max = d->MaxCount;
            if (d->SizeClass >= SuperblockClassCount || d->BlockSize != (uint)LockFreeSizeClasses.SizeOf((int)d->SizeClass) || max != UnitSize / d->BlockSize)
                return $"superblock {u} has a bad geometry (class {d->SizeClass}, block {d->BlockSize}, max {max})";
            credits.TryGetValue(u, out uint cr);
            uint nfree = State(a) == Full ? 0 : Count(a) + cr;
            if (nfree > max) return $"superblock {u} counts {nfree} free blocks of {max}";
            if (State(a) == Active && cr == 0)
                return $"superblock {u} is ACTIVE but in no active word";
            if ((State(a) == Partial || State(a) == Empty) && !onList.Contains(u))
                return $"superblock {u} is {(State(a) == Partial ? "PARTIAL" : "EMPTY")} but on no partial list";
            seen.Clear();
            byte* sb = LockFreeCore.UnitBase(h, u);
            uint idx = Avail(a);
            for (uint i = 0; i < nfree; i++)
            {
                if (idx >= max) return $"superblock {u}: free chain leaves the superblock (index {idx})";
                if (!seen.Add(idx)) return $"superblock {u}: block {idx} is on its free chain twice";
                if (cachedSet.Count != 0 && cachedSet.Contains((nint)(sb + idx * d->BlockSize)))
                    return $"superblock {u}: block {idx} is on its free chain and in a thread cache (freed twice)";
                idx = *(uint*)(sb + idx * d->BlockSize);
            }
            blocks[d->SizeClass] += max;
            free[d->SizeClass] += nfree;
        }
        return null;
    }
}
