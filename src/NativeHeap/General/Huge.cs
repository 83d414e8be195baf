// Huge: blocks above Arena.LargeMax (2 MiB), each in a mapping of its own from the arena's memory
// source. The mapping starts with one page holding a Chunk header (Kind Huge) and the block follows
// at HugeOffset (one page, or the alignment when larger). Mappings are whole page-map granules so
// every pointer resolves to its header in one page-map load. Freeing keeps the mapping for reuse when
// the arena retains (HugeCache: opt.retain, purged by decay) and returns it to the source otherwise.
// In-place growth asks the source for the range right after the mapping; in-place shrinking gives
// back whole trailing granules and purges the pages of a partial one.
using NativeHeap.Core;
using NativeHeap.Os;

namespace NativeHeap.General;

internal static unsafe class Huge
{
    private static nuint Granules(nuint bytes, out bool overflow)
    {
        nuint g = (bytes + PageMap.GranuleSize - 1) & ~(PageMap.GranuleSize - 1);
        overflow = g < bytes;
        return g;
    }

    internal static void* Alloc(Arena* a, nuint usize, nuint alignment, bool zero)
    {
        nuint offset = Math.Max((nuint)OsMemory.PageSize, alignment);
        nuint mapSize = Granules(offset + usize, out bool overflow);
        if (overflow || offset + usize < usize) return null;
        nuint mapAlign = Math.Max(PageMap.GranuleSize, alignment);
        void* mem = HugeCache.TryTake(a, mapSize, mapAlign, out bool zeroed);
        bool reused = mem != null;
        if (reused)
        {
            // The whole extent when its source would not split it. The header page kept the cache's
            // fields: clear it (PageBin must read 0 for every page); the source is the arena's.
            mapSize = ((Chunk*)mem)->MapSize;
            NativeMemory.Clear(mem, (nuint)OsMemory.PageSize);
        }
        else
        {
            IMemorySource source = MemorySources.Get(a->SourceId);
            mem = source.Allocate(null, mapSize, mapAlign, out zeroed);
            if (mem == null) return null;
            if (((nuint)mem & (mapAlign - 1)) != 0)
            {
                source.TryRelease(mem, mapSize);
                throw new InvalidOperationException($"memory source {source.GetType().Name} returned a block that is not aligned to {mapAlign} bytes");
            }
            if (!zeroed) NativeMemory.Clear(mem, (nuint)OsMemory.PageSize);
        }
        Chunk* c = (Chunk*)mem;
        c->Kind = ChunkKind.Huge;
        c->Arena = a;
        c->SourceId = a->SourceId;
        c->MapSize = mapSize;
        c->HugeUsable = usize;
        c->HugeOffset = offset;
        PageMap.Set(c, mapSize, c);
        a->Lock.Enter();
        c->Next = a->HugeList;
        c->Prev = null;
        if (a->HugeList != null) a->HugeList->Prev = c;
        a->HugeList = c;
        a->MappedBytes += (long)mapSize;
        a->HugeBytes += (long)usize;
        a->HugeCount++;
        a->HugeNMalloc++;
        if (!reused) a->HugeMaps++;
        a->Lock.Exit();
        void* p = c->HugeBlock;
        if (zero && !zeroed) NativeMemory.Clear(p, usize);
        return p;
    }

    internal static void Free(Chunk* c)
    {
        Arena* a = c->Arena;
        a->Lock.Enter();
        Unlink(a, c);
        Arena.DecayTick(a);
        a->Lock.Exit();
        PageMap.Set(c, c->MapSize, null);
        if (!HugeCache.TryKeep(a, c)) MemorySources.Get(c->SourceId).TryRelease(c, c->MapSize);
    }

    /// <summary>Takes a huge block off its arena's list (arena lock held).</summary>
    internal static void Unlink(Arena* a, Chunk* c)
    {
        if (c->Prev != null) c->Prev->Next = c->Next; else a->HugeList = c->Next;
        if (c->Next != null) c->Next->Prev = c->Prev;
        a->MappedBytes -= (long)c->MapSize;
        a->HugeBytes -= (long)c->HugeUsable;
        a->HugeCount--;
        a->HugeNDalloc++;
    }

    /// <summary>Clears the page map and returns the mapping to its source.</summary>
    internal static void Release(Chunk* c)
    {
        nuint size = c->MapSize;
        PageMap.Set(c, size, null);
        MemorySources.Get(c->SourceId).TryRelease(c, size);
    }

    /// <summary>
    /// Resizes in place to a usable size in [want, wantMax] (both huge classes). False when the block
    /// would have to move or stop being huge.
    /// </summary>
    internal static bool ResizeInPlace(Chunk* c, nuint want, nuint wantMax, bool zero)
    {
        if (want <= Arena.LargeMax) return false;
        Arena* a = c->Arena;
        IMemorySource source = MemorySources.Get(c->SourceId);
        nuint old = c->HugeUsable;
        nuint room = c->MapSize - c->HugeOffset;
        byte* block = c->HugeBlock;
        if (want <= room)
        {
            nuint target = Math.Min(wantMax, room);
            if (target < old)
            {
                // Shrink: give back whole trailing granules, purge the rest of the tail.
                nuint keepMap = Granules(c->HugeOffset + target, out _);
                if (keepMap < c->MapSize && source.TrySplit(c, c->MapSize, keepMap))
                {
                    nuint tail = c->MapSize - keepMap;
                    PageMap.Set((byte*)c + keepMap, tail, null);
                    source.TryRelease((byte*)c + keepMap, tail);
                    a->Lock.Enter();
                    a->MappedBytes -= (long)tail;
                    a->Lock.Exit();
                    c->MapSize = keepMap;
                }
                nuint from = (c->HugeOffset + target + OsMemory.PageSize - 1) & ~(nuint)(OsMemory.PageSize - 1);
                if (from < c->MapSize) source.TryPurgeForced((byte*)c + from, c->MapSize - from);
            }
            else if (zero && target > old)
            {
                NativeMemory.Clear(block + old, target - old);
            }
            SetUsable(a, c, target);
            return true;
        }
        // Grow: ask for the granules right after the mapping.
        nuint newMap = Granules(c->HugeOffset + want, out bool overflow);
        if (overflow) return false;
        nuint extra = newMap - c->MapSize;
        void* at = (byte*)c + c->MapSize;
        void* got = source.Allocate(at, extra, PageMap.GranuleSize, out bool zeroed);
        if (got == null) return false;
        if (got != at || !source.TryMerge(c, c->MapSize, at, extra))
        {
            source.TryRelease(got, extra);
            return false;
        }
        PageMap.Set(at, extra, c);
        a->Lock.Enter();
        a->MappedBytes += (long)extra;
        a->Lock.Exit();
        c->MapSize = newMap;
        nuint newTarget = Math.Min(wantMax, newMap - c->HugeOffset);
        if (zero)
        {
            // The old tail of the mapping may hold data from before a shrink; the new range is fresh.
            nuint oldEnd = room;
            NativeMemory.Clear(block + old, oldEnd - old);
            if (!zeroed) NativeMemory.Clear(at, extra);
        }
        SetUsable(a, c, newTarget);
        return true;
    }

    private static void SetUsable(Arena* a, Chunk* c, nuint usable)
    {
        a->Lock.Enter();
        a->HugeBytes += (long)usable - (long)c->HugeUsable;
        a->Lock.Exit();
        c->HugeUsable = usable;
    }
}
