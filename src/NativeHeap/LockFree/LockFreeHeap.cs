// LockFreeHeap: AO_malloc's contract for .NET: Maged Michael's lock-free allocator (LockFreeCore) over
// the heap format of LockFreeLayout, which the C path (native/nh_ao_malloc.c) shares.
//
// Terms: the *arena* is the fixed heap (2 MiB by default) that serves requests of at most MaxSmallSize
// bytes (just under 64 KiB); once mmap is enabled (EnableMmap), small requests the arena cannot serve
// come from mapped 2 MiB chunks of superblocks, and requests above MaxSmallSize get a mapping of their
// own (LockFreeLargeObjects). This file is the public surface: argument checks, the process-wide
// default instance, the per-thread cache in front of LockFreeCore (LockFreeThreadCache), Validate and
// Dispose.
//
// Invariant: _h is the heap header while the heap lives and null after Dispose; _caches is the heap's
// cache region (LockFreeThreadCache) while _h is set. The hot paths read only those fields, the
// thread's key and native memory: no managed allocation, no lock, no OS call, and on a cache hit no
// atomic read-modify-write.
using System.Runtime.CompilerServices;
using NativeHeap.Os;
using static NativeHeap.LockFree.LockFreeLayout;

namespace NativeHeap.LockFree;

/// <summary>
/// A lock-free native heap with the contract of AO_malloc: a fixed arena (2 MiB by default) for objects
/// up to just under 64 KiB, and mmap once enabled. It is Maged Michael's lock-free allocator: 16 KiB
/// superblocks per size class whose state is one CAS-updated anchor word, per-processor active
/// superblocks, per-class partial lists, and a shared pool to which empty superblocks return so that
/// any class can reuse them. Every operation is lock-free, takes no lock, allocates no managed memory
/// and makes no OS call except mmap/munmap for chunks and large objects once mmap is enabled.
/// </summary>
/// <remarks>
/// Each thread keeps a small cache of free blocks per size class in front of the shared heap (at most
/// 16 KiB and 32 blocks per class), so that allocation and free on one thread usually make no atomic
/// operation. Blocks in a live thread's cache serve only that thread: before returning null the heap
/// takes back the calling thread's cache and those of exited threads, and a thread that is done with
/// the heap but keeps running can give its cache back with <see cref="FlushThreadCache"/>.
/// <see cref="LockFreeHeapStats.CachedBlocks"/> counts cached blocks.
/// </remarks>
public sealed unsafe partial class LockFreeHeap : IDisposable
{
    /// <summary>The default arena size: 2 MiB, as AO_malloc's static heap.</summary>
    public const int DefaultHeapSize = 2 << 20;

    /// <summary>Smallest arena accepted: 64 KiB.</summary>
    public const int MinHeapSize = 64 << 10;

    /// <summary>The arena size must be a multiple of this (16 KiB, one superblock).</summary>
    public const int HeapSizeGranularity = UnitSize;

    /// <summary>The largest request served from the arena: 64 KiB − 16 bytes ("just under 64 KiB").</summary>
    public const int MaxSmallSize = LockFreeSizeClasses.MaxBlockSize - 16;

    /// <summary>Number of size classes (16 bytes to 64 KiB, powers of two).</summary>
    public const int SizeClassCount = LockFreeSizeClasses.Count;

    private const ulong MaxArenaSize = 16UL << 30;

    private static LockFreeHeap? s_default;
    private static nuint s_defaultHeapSize = DefaultHeapSize;

    private nint _h; // HeapHeader*, 0 after Dispose
    private nint _caches; // the thread-cache region (LockFreeThreadCache), 0 after Dispose
    private readonly bool _owned;
    private readonly bool _cacheEnabled;

    /// <summary>
    /// Creates a heap with an arena of <paramref name="heapSize"/> bytes (a multiple of 16 KiB, from
    /// 64 KiB to 16 GiB) and <paramref name="shards"/> per-processor rows of active superblocks (0: the
    /// number of processors rounded up to a power of two; otherwise a power of two up to 256).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or shard count outside the ranges above.</exception>
    /// <exception cref="OutOfMemoryException">The heap could not be mapped.</exception>
    public LockFreeHeap(nuint heapSize = DefaultHeapSize, int shards = 0)
    {
        if (!IsValidHeapSize(heapSize)) throw new ArgumentOutOfRangeException(nameof(heapSize), heapSize, "a multiple of 16 KiB from 64 KiB to 16 GiB");
        if (!TryResolveShards(shards, out int n)) throw new ArgumentOutOfRangeException(nameof(shards), shards, "0 or a power of two up to 256");
        if (!TryMapHeap(heapSize, n, out HeapHeader* h, out OsError error)) throw new OutOfMemoryException(error.ToString());
        if (!LockFreeThreadCache.TryMapRegion(out _caches, out error))
        {
            OsMemory.TryUnmap(h, (nuint)h->MappingSize, out _);
            throw new OutOfMemoryException(error.ToString());
        }
        _h = (nint)h;
        _owned = true;
        _cacheEnabled = true;
    }

    private LockFreeHeap(HeapHeader* h, nint caches, bool owned, bool cacheEnabled = true)
    {
        _h = (nint)h;
        _caches = caches;
        _owned = owned;
        _cacheEnabled = cacheEnabled;
    }

    /// <summary>A heap whose calls all go straight to LockFreeCore (no thread cache), for tests of the algorithm itself.</summary>
    internal static LockFreeHeap CreateUncached(nuint heapSize, int shards)
    {
        if (!TryCreate(heapSize, shards, out LockFreeHeap? cached, out OsError error)) throw new OutOfMemoryException(error.ToString());
        var heap = new LockFreeHeap((HeapHeader*)cached!._h, cached._caches, owned: true, cacheEnabled: false);
        cached._h = cached._caches = 0; // the new object owns both mappings now
        return heap;
    }

    /// <summary>
    /// A heap object over an existing heap in the shared format (for example the C library's AO_malloc
    /// heap, whose header nh_ao_heap() returns). Dispose does not unmap it.
    /// </summary>
    internal static LockFreeHeap Attach(void* header)
    {
        var h = (HeapHeader*)header;
        if (h == null || h->Magic != LockFreeLayout.Magic) throw new ArgumentException("not a lock-free heap header", nameof(header));
        if (!LockFreeThreadCache.TryMapRegion(out nint caches, out OsError error)) throw new OutOfMemoryException(error.ToString());
        return new LockFreeHeap(h, caches, owned: false);
    }

    /// <summary>
    /// Creates a heap like the constructor, reporting failure instead of throwing: false with EINVAL
    /// for bad arguments, or the mmap error.
    /// </summary>
    public static bool TryCreate(nuint heapSize, int shards, out LockFreeHeap? heap, out OsError error)
    {
        heap = null;
        if (!IsValidHeapSize(heapSize) || !TryResolveShards(shards, out int n))
        {
            error = new OsError(Libc.EINVAL, $"LockFreeHeap({heapSize} bytes, {shards} shards)");
            return false;
        }
        if (!TryMapHeap(heapSize, n, out HeapHeader* h, out error)) return false;
        if (!LockFreeThreadCache.TryMapRegion(out nint caches, out error))
        {
            OsMemory.TryUnmap(h, (nuint)h->MappingSize, out _);
            return false;
        }
        heap = new LockFreeHeap(h, caches, owned: true);
        return true;
    }

    /// <summary>Always true: every operation of this heap is lock-free (the analogue of AO_MALLOC_IS_LOCK_FREE).</summary>
    public static bool IsLockFree => true;

    /// <summary>
    /// The process-wide heap, created on first use with the size set by <see cref="TrySetDefaultHeapSize"/>
    /// (2 MiB if none). Creation is itself lock-free: racing first users each map a heap and all but one unmap theirs.
    /// </summary>
    /// <exception cref="OutOfMemoryException">The first use could not map the heap.</exception>
    public static LockFreeHeap Default
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref s_default) ?? CreateDefault();
    }

    /// <summary>
    /// Sets the arena size of <see cref="Default"/>; true only before its first use and for a valid
    /// size (a multiple of 16 KiB from 64 KiB to 16 GiB).
    /// </summary>
    public static bool TrySetDefaultHeapSize(nuint heapSize)
    {
        if (!IsValidHeapSize(heapSize) || Volatile.Read(ref s_default) != null) return false;
        s_defaultHeapSize = heapSize;
        return Volatile.Read(ref s_default) == null;
    }

    /// <summary>True once <see cref="Default"/> has been created.</summary>
    public static bool IsDefaultCreated => Volatile.Read(ref s_default) != null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static LockFreeHeap CreateDefault()
    {
        if (!TryCreate(s_defaultHeapSize, 0, out LockFreeHeap? created, out OsError error)) throw new OutOfMemoryException(error.ToString());
        LockFreeHeap? winner = Interlocked.CompareExchange(ref s_default, created, null);
        if (winner == null) return created!;
        created!.Dispose();
        return winner;
    }

    /// <summary>The header, for tests; throws after Dispose.</summary>
    internal HeapHeader* Header => H;

    private HeapHeader* H
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var h = (HeapHeader*)_h;
            if (h == null) ThrowDisposed();
            return h;
        }
    }

    /// <summary>Bytes of the arena.</summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public nuint HeapSize => (nuint)H->ArenaSize;

    /// <summary>Number of per-processor rows of active superblocks (shards).</summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public int ShardCount => (int)H->RowMask + 1;

    /// <summary>True once <see cref="EnableMmap"/> has been called.</summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public bool IsMmapEnabled => Volatile.Read(ref H->MmapEnabled) != 0;

    /// <summary>
    /// Lets requests the arena cannot serve be served by mmap, as AO_malloc_enable_mmap does: small
    /// requests from mapped 2 MiB chunks of superblocks, requests above <see cref="MaxSmallSize"/> by a
    /// mapping each. Irreversible.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public void EnableMmap() => Volatile.Write(ref H->MmapEnabled, 1);

    /// <summary>
    /// Allocates <paramref name="size"/> bytes aligned to 16 (0 gives a 16-byte block); the contents are
    /// undefined. Returns null when the arena cannot serve the request and mmap is not enabled (or mmap fails).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size)
    {
        HeapHeader* h = H;
        if (size <= LockFreeSizeClasses.MaxSuperblockSize)
        {
            ulong key = LockFreeThreads.t_key;
            ThreadCache* tc = LockFreeThreadCache.At(_caches, key);
            if (tc->Key == key) // owned by this thread and not busy (C1, C2)
            {
                int c = LockFreeSizeClasses.ClassOf(size);
                Volatile.Write(ref tc->Key, key | LockFreeThreadCache.BusyBit);
                uint n = tc->Count[c];
                if (n != 0)
                {
                    n--;
                    tc->Count[c] = n;
                    var p = (byte*)tc->Blocks[c * LockFreeThreadCache.MaxPerClass + (int)n];
                    Volatile.Write(ref tc->Key, key);
                    return p;
                }
                byte* q = LockFreeThreadCache.Refill(h, _caches, tc, key, c);
                return q != null ? q : AllocateSlow(h, size);
            }
            return AllocateMiss(h, size);
        }
        return AllocateSlow(h, size);
    }

    /// <summary>A small request without a usable cache: binds the thread's cache and retries, or (no cache, or a re-entrant call) uses LockFreeCore.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocateMiss(HeapHeader* h, nuint size)
    {
        if (_cacheEnabled)
        {
            ulong key = LockFreeThreads.t_key;
            ThreadCache* tc = LockFreeThreadCache.At(_caches, key);
            if (key == 0 || tc->Key != key) tc = LockFreeThreadCache.Bind(_caches);
            if (tc != null) return Allocate(size);
        }
        var none = default(NoPause);
        byte* p = LockFreeCore.Allocate(h, LockFreeSizeClasses.ClassOf(size), ref none);
        return p != null ? p : AllocateSlow(h, size);
    }

    /// <summary>Allocate with a hook in the anchor pop's ABA window; for tests.</summary>
    internal void* AllocateForTest<TPause>(nuint size, ref TPause pause) where TPause : struct, IPopPause
        => LockFreeCore.Allocate(H, LockFreeSizeClasses.ClassOf(size), ref pause);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocateSlow(HeapHeader* h, nuint size)
    {
        if (size <= LockFreeSizeClasses.MaxSuperblockSize)
        {
            // LockFreeCore.Allocate (or the refill, after returning the caches) already used every source of superblocks.
        }
        else if (size <= MaxSmallSize)
        {
            int c = LockFreeSizeClasses.ClassOf(size);
            uint units = LockFreeSizeClasses.RunUnits(c);
            byte* p = LockFreeCore.AllocateRun(h, c, units);
            if (p != null) return p;
            if (_cacheEnabled)
            {
                // Before reporting exhaustion: the own cache and exited threads' caches go back (C4).
                LockFreeThreadCache.ReturnForExhaustion(h, _caches);
                p = LockFreeCore.AllocateRun(h, c, units);
                if (p != null) return p;
            }
        }
        return Volatile.Read(ref h->MmapEnabled) != 0 ? LockFreeLargeObjects.TryAllocate(h, size) : null;
    }

    /// <summary>
    /// Returns <paramref name="p"/> (from <see cref="Allocate"/> of this heap, or null) to the heap.
    /// A pointer recognisably not from this heap is ignored and counted (see <see cref="TryFree"/>).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* p) => TryFree(p);

    /// <summary>
    /// Returns <paramref name="p"/> to the heap; true on success (and for null). False, changing nothing
    /// but a counter, when <paramref name="p"/> is recognisably not a live block of this heap: inside a
    /// unit of the heap but not the start of a block, in a unit that holds no blocks, the block a
    /// superblock would hand out next (an immediate double free), a run already freed, or outside the
    /// heap without this heap's large-object header. Other bad pointers (older double frees, pointers
    /// into unmapped memory) are undefined behaviour.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFree(void* p)
    {
        HeapHeader* h = H;
        uint u = LockFreeCore.UnitOf(h, (byte*)p);
        if (u != uint.MaxValue)
        {
            Descriptor* d = h->Descs + u;
            ulong key = LockFreeThreads.t_key;
            ThreadCache* tc = LockFreeThreadCache.At(_caches, key);
            if (Volatile.Read(ref d->Kind) == KindSuperblock)
            {
                if (tc->Key == key)
                {
                    int r = CachePush(h, tc, key, d, (byte*)p);
                    if (r > 0) return true;
                    if (r < 0) return Reject(h);
                }
                else if (_cacheEnabled && FreeMiss(h, d, u, (byte*)p, out bool ok))
                {
                    return ok;
                }
            }
            if (LockFreeCore.Free(h, (byte*)p, u)) return true;
        }
        return FreeSlow(h, p, u);
    }

    /// <summary>
    /// With the thread's cache usable (Key == <paramref name="key"/>): pushes <paramref name="p"/> (a block of descriptor <paramref name="d"/>'s superblock)
    /// on its class's stack: 1. Returns 0, changing nothing, when p fails the checks of LockFreeCore.Free
    /// (not the start of a block, or the block the superblock hands out next), so that the caller's
    /// LockFreeCore.Free rejects it; −1 for the block on top of the stack (an immediate double free).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CachePush(HeapHeader* h, ThreadCache* tc, ulong key, Descriptor* d, byte* p)
    {
        int c = (int)d->SizeClass;
        nuint off = (nuint)p & (UnitSize - 1); // units are 16 KiB aligned in memory (LockFreeSizeClasses)
        if ((off & (d->BlockSize - 1)) != 0) return 0;
        uint index = (uint)(off >> (LockFreeSizeClasses.LgMin + c));
        ulong a = Volatile.Read(ref d->Anchor);
        if (Avail(a) == index && State(a) != Full && Count(a) > 0) return 0;
        Volatile.Write(ref tc->Key, key | LockFreeThreadCache.BusyBit);
        uint n = tc->Count[c];
        long* stack = &tc->Blocks[c * LockFreeThreadCache.MaxPerClass];
        if (n != 0 && stack[n - 1] == (long)p)
        {
            Volatile.Write(ref tc->Key, key);
            return -1;
        }
        if (n >= LockFreeThreadCache.Cap(c)) n = LockFreeThreadCache.Drain(h, tc, c, LockFreeThreadCache.Cap(c) / 2);
        stack[n] = (long)p;
        tc->Count[c] = n + 1;
        Volatile.Write(ref tc->Key, key);
        return 1;
    }

    /// <summary>A free into a superblock without a bound cache: binds it and pushes (true, <paramref name="ok"/> the result), or false to use LockFreeCore.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool FreeMiss(HeapHeader* h, Descriptor* d, uint u, byte* p, out bool ok)
    {
        ok = false;
        ThreadCache* tc = LockFreeThreadCache.Bind(_caches);
        if (tc == null) return false;
        int r = CachePush(h, tc, tc->Key, d, p);
        if (r == 0) return false;
        ok = r > 0 || Reject(h);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Reject(HeapHeader* h)
    {
        Interlocked.Increment(ref h->RejectedFrees);
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool FreeSlow(HeapHeader* h, void* p, uint u)
    {
        if (p == null) return true;
        if (u == uint.MaxValue && LockFreeLargeObjects.TryFree(h, p)) return true;
        Interlocked.Increment(ref h->RejectedFrees);
        return false;
    }

    /// <summary>True when <paramref name="p"/> lies inside this heap's arena.</summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public bool ArenaContains(void* p)
    {
        HeapHeader* h = H;
        return (ulong)((byte*)p - h->Arena) < h->ArenaSize;
    }

    /// <summary>The size class that serves <paramref name="size"/> bytes from the arena, or −1 when larger than <see cref="MaxSmallSize"/>.</summary>
    public static int SizeClassOf(nuint size) => size <= MaxSmallSize ? LockFreeSizeClasses.ClassOf(size) : -1;

    /// <summary>The block size of size class <paramref name="sizeClass"/> (16 &lt;&lt; sizeClass bytes).</summary>
    public static nuint SizeClassBlockSize(int sizeClass)
    {
        if ((uint)sizeClass >= SizeClassCount) throw new ArgumentOutOfRangeException(nameof(sizeClass));
        return LockFreeSizeClasses.SizeOf(sizeClass);
    }

    /// <summary>
    /// Checks the heap's pool, descriptors, anchors, active words and partial lists, and returns its
    /// statistics. Call only when no other thread is using the heap; allocates managed memory.
    /// </summary>
    /// <exception cref="InvalidOperationException">The structures are inconsistent (heap corruption).</exception>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public LockFreeHeapStats Validate() => LockFreeValidator.Validate(H, _caches);

    /// <summary>
    /// Returns the blocks the calling thread keeps in its cache of this heap to the shared heap (see
    /// the class remarks: other threads cannot take them, and they are counted in
    /// <see cref="LockFreeHeapStats.CachedBlocks"/>). Does nothing when the thread has no cache here,
    /// or when called re-entrantly from inside an operation of this heap on the same thread.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public void FlushThreadCache()
    {
        HeapHeader* h = H;
        LockFreeThreadCache.FlushCurrent(h, _caches);
    }

    /// <summary>
    /// Returns to the shared heap the cached blocks of threads that have exited (which the heap
    /// otherwise reclaims when it runs out of memory, or when a new thread takes over the exited
    /// thread's slot); returns how many caches it drained. Lock-free; may be called at any time.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap was disposed.</exception>
    public int ReclaimExitedThreadCaches()
    {
        HeapHeader* h = H;
        return _cacheEnabled ? LockFreeThreadCache.ReclaimExited(h, _caches) : 0;
    }

    /// <summary>The calling thread's cache of this heap (null when it has none), for tests.</summary>
    internal ThreadCache* CurrentCacheForTest
    {
        get
        {
            _ = H;
            ulong key = LockFreeThreads.t_key;
            ThreadCache* tc = LockFreeThreadCache.At(_caches, key);
            return key != 0 && tc->Key == key ? tc : null;
        }
    }

    /// <summary>
    /// Unmaps the heap (arena, chunks and metadata). Only when no thread uses the heap any more; blocks
    /// from it become invalid, large objects not yet freed stay mapped (leaked), and every later call on
    /// this object throws <see cref="ObjectDisposedException"/>. Does nothing for <see cref="Default"/>,
    /// for an attached heap only forgets it, and does nothing the second time.
    /// </summary>
    public void Dispose()
    {
        if (ReferenceEquals(this, Volatile.Read(ref s_default))) return;
        var h = (HeapHeader*)Interlocked.Exchange(ref _h, 0);
        if (h == null) return;
        nint caches = Interlocked.Exchange(ref _caches, 0);
        // No thread uses the heap any more (the contract of Dispose): an attached heap, which lives on,
        // gets every thread's cached blocks back; an owned one is unmapped with them.
        if (!_owned) LockFreeThreadCache.FlushEveryCache(h, caches);
        LockFreeThreadCache.UnmapRegion(caches);
        if (!_owned) return;
        LockFreeCore.UnmapChunks(h);
        h->Magic = 0;
        OsMemory.TryUnmap(h, (nuint)h->MappingSize, out _);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(LockFreeHeap));

    private static bool IsValidHeapSize(nuint size)
        => size % UnitSize == 0 && size >= MinHeapSize && size <= MaxArenaSize;

    private static bool TryResolveShards(int shards, out int n)
    {
        if (shards == 0)
        {
            n = (int)Math.Min(256u, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)OsMemory.CpuCount));
            return true;
        }
        n = shards;
        return shards > 0 && shards <= 256 && (shards & (shards - 1)) == 0;
    }

    /// <summary>Maps and lays out a heap (LockFreeLayout): zero-filled memory is an empty heap.</summary>
    private static bool TryMapHeap(nuint heapSize, int rows, out HeapHeader* header, out OsError error)
    {
        uint arenaUnits = (uint)(heapSize >> UnitShift);
        uint chunkBase = (arenaUnits + 63) & ~63u;
        nuint units = chunkBase + (nuint)MaxChunks * ChunkUnits;
        nuint off = (nuint)sizeof(HeapHeader);
        nuint actives = off; off += (nuint)rows * ActiveRowWords * 8;
        nuint partial = off; off += SuperblockClassCount * PartialStrideWords * 8;
        nuint chunks = off; off += MaxChunks * 8;
        nuint hash = off; off += ChunkHashSlots * 8;
        nuint bitmap = off; off += units / 64 * 8;
        off = (off + 63) & ~(nuint)63;
        nuint descs = off; off += units * (nuint)sizeof(Descriptor);
        nuint arena = (off + UnitSize - 1) & ~(nuint)(UnitSize - 1);
        nuint mapping = arena + heapSize;
        if (!OsMemory.TryMapAligned(mapping, UnitSize, out void* p, out error))
        {
            header = null;
            return false;
        }
        var b = (byte*)p;
        var h = (HeapHeader*)p;
        h->Arena = b + arena;
        h->Descs = (Descriptor*)(b + descs);
        h->Bitmap = (ulong*)(b + bitmap);
        h->Actives = (ulong*)(b + actives);
        h->Partial = (ulong*)(b + partial);
        h->Chunks = (byte**)(b + chunks);
        h->ChunkHash = (ulong*)(b + hash);
        h->ArenaUnits = arenaUnits;
        h->ChunkUnitBase = chunkBase;
        h->MaxChunks = MaxChunks;
        h->RowMask = (uint)rows - 1;
        h->MappingSize = mapping;
        h->ArenaSize = heapSize;
        Volatile.Write(ref h->Magic, LockFreeLayout.Magic);
        header = h;
        return true;
    }
}
