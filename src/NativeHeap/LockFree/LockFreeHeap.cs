// LockFreeHeap: AO_malloc's contract for .NET, lock-free for every operation and scalable.
//
// Terms: the *arena* is the fixed heap (2 MiB by default) that serves *small* requests (at most
// MaxSmallSize bytes, just under 64 KiB) in power-of-two blocks; *large* requests, and small ones
// the exhausted arena cannot serve, are served by one mmap each once mmap is enabled (EnableMmap),
// and fail (null) before that. The core algorithm, its invariants and the argument for its
// correctness and lock-freedom are in LockFreeArena.cs; this file is the public surface: argument
// checks, the process-wide default instance and the large-object fallback.
//
// Invariant: _arena never changes after construction (until Dispose), so the hot paths read only
// readonly fields of this object and native memory: no managed allocation, no lock, no OS call.
using System.Runtime.CompilerServices;
using NativeHeap.Os;

namespace NativeHeap.LockFree;

/// <summary>
/// A lock-free native heap with the contract of AO_malloc: a fixed arena (2 MiB by default) for
/// objects up to just under 64 KiB, and mmap for larger ones once enabled. Every operation is
/// lock-free (some thread always completes an operation in a bounded number of its own steps, however
/// other threads are delayed or stopped), takes no lock, allocates no managed memory, and makes no OS
/// call on the small-object path, so it may be called from native threads through
/// UnmanagedCallersOnly callbacks and from signal handlers. Free-list heads are replicated per
/// processor, so threads on different processors do not contend.
/// </summary>
public sealed unsafe partial class LockFreeHeap : IDisposable
{
    /// <summary>The default arena size: 2 MiB, as AO_malloc's static heap.</summary>
    public const int DefaultHeapSize = 2 << 20;

    /// <summary>Smallest arena accepted: 64 KiB (one block of the largest class).</summary>
    public const int MinHeapSize = 64 << 10;

    /// <summary>The largest request served from the arena: 64 KiB − 16 bytes ("just under 64 KiB").</summary>
    public const int MaxSmallSize = LockFreeSizeClasses.MaxBlockSize - 16;

    /// <summary>Number of size classes of the arena (16 bytes to 64 KiB, powers of two).</summary>
    public const int SizeClassCount = LockFreeSizeClasses.Count;

    private static LockFreeHeap? s_default;
    private static nuint s_defaultHeapSize = DefaultHeapSize;

    private readonly LockFreeArena _arena;
    private int _disposed;

    /// <summary>
    /// Creates a heap with an arena of <paramref name="heapSize"/> bytes (a multiple of 4 KiB, from
    /// 64 KiB to 16 GiB) and <paramref name="shards"/> replicated free-list heads (0: the number of
    /// processors rounded up to a power of two; otherwise a power of two up to 256).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or shard count outside the ranges above.</exception>
    /// <exception cref="OutOfMemoryException">The arena could not be mapped.</exception>
    public LockFreeHeap(nuint heapSize = DefaultHeapSize, int shards = 0)
    {
        if (!IsValidHeapSize(heapSize)) throw new ArgumentOutOfRangeException(nameof(heapSize), heapSize, "a multiple of 4096 from 64 KiB to 16 GiB");
        if (!TryResolveShards(shards, out int n)) throw new ArgumentOutOfRangeException(nameof(shards), shards, "0 or a power of two up to 256");
        if (!LockFreeArena.TryCreate(heapSize, n, out _arena, out OsError error)) throw new OutOfMemoryException(error.ToString());
    }

    private LockFreeHeap(in LockFreeArena arena) => _arena = arena;

    /// <summary>
    /// Creates a heap like the constructor, reporting failure instead of throwing: false with
    /// EINVAL for bad arguments, or the mmap error.
    /// </summary>
    public static bool TryCreate(nuint heapSize, int shards, out LockFreeHeap? heap, out OsError error)
    {
        heap = null;
        if (!IsValidHeapSize(heapSize) || !TryResolveShards(shards, out int n))
        {
            error = new OsError(Libc.EINVAL, $"LockFreeHeap({heapSize} bytes, {shards} shards)");
            return false;
        }
        if (!LockFreeArena.TryCreate(heapSize, n, out LockFreeArena arena, out error)) return false;
        heap = new LockFreeHeap(arena);
        return true;
    }

    /// <summary>Always true: every operation of this heap is lock-free (the analogue of AO_MALLOC_IS_LOCK_FREE).</summary>
    public static bool IsLockFree => true;

    /// <summary>
    /// The process-wide heap, created on first use with the size set by <see cref="TrySetDefaultHeapSize"/>
    /// (2 MiB if none). Creation is itself lock-free: racing first users each map an arena and all but one unmap theirs.
    /// </summary>
    /// <exception cref="OutOfMemoryException">The first use could not map the arena.</exception>
    public static LockFreeHeap Default
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref s_default) ?? CreateDefault();
    }

    /// <summary>
    /// Sets the arena size of <see cref="Default"/>; true only before its first use and for a valid
    /// size (a multiple of 4 KiB from 64 KiB to 16 GiB).
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

    /// <summary>The core, for tests.</summary>
    internal ref readonly LockFreeArena Arena => ref _arena;

    /// <summary>Bytes of the arena.</summary>
    public nuint HeapSize => _arena.ArenaSize;

    /// <summary>Number of replicated free-list heads (shards).</summary>
    public int ShardCount => _arena.ShardCount;

    /// <summary>True once <see cref="EnableMmap"/> has been called.</summary>
    public bool IsMmapEnabled => Volatile.Read(ref _arena.Header->MmapEnabled) != 0;

    /// <summary>
    /// Lets requests the arena cannot serve (larger than <see cref="MaxSmallSize"/>, or any size
    /// once the arena is exhausted) be served by mmap, as AO_malloc_enable_mmap does. Irreversible.
    /// </summary>
    public void EnableMmap() => Volatile.Write(ref _arena.Header->MmapEnabled, 1);

    /// <summary>
    /// Allocates <paramref name="size"/> bytes aligned to 16 (0 gives a 16-byte block); the
    /// contents are undefined. Returns null when the arena cannot serve the request and mmap is not
    /// enabled (or mmap fails).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Allocate(nuint size)
    {
        if (size <= MaxSmallSize)
        {
            byte* p = _arena.TryPopOwn(LockFreeSizeClasses.ClassOf(size));
            if (p != null) return p;
        }
        return AllocateSlow(size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocateSlow(nuint size)
    {
        Debug.Assert(_disposed == 0, "LockFreeHeap used after Dispose");
        if (size <= MaxSmallSize)
        {
            byte* p = _arena.AllocateSlow(LockFreeSizeClasses.ClassOf(size));
            if (p != null) return p;
        }
        return IsMmapEnabled ? LockFreeLargeObjects.TryAllocate(_arena, size) : null;
    }

    /// <summary>
    /// Returns <paramref name="p"/> (from <see cref="Allocate"/> of this heap, or null) to the heap.
    /// A pointer recognisably not from this heap is ignored and counted (see <see cref="TryFree"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(void* p) => TryFree(p);

    /// <summary>
    /// Returns <paramref name="p"/> to the heap; true on success (and for null). False, changing
    /// nothing but a counter, when <paramref name="p"/> is recognisably not a live block of this
    /// heap: inside the arena but not the start of a block, the block on top of its free list (an
    /// immediate double free), or outside the arena without this heap's large-object header. Other
    /// bad pointers (older double frees, pointers into unmapped memory) are undefined behaviour.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFree(void* p)
    {
        if (_arena.TryFree((byte*)p, out bool inside)) return true;
        return FreeSlow(p, inside);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool FreeSlow(void* p, bool inside)
    {
        if (p == null) return true;
        if (!inside && LockFreeLargeObjects.TryFree(_arena, p)) return true;
        _arena.CountRejectedFree();
        return false;
    }

    /// <summary>True when <paramref name="p"/> lies inside this heap's arena.</summary>
    public bool ArenaContains(void* p) => (nuint)((byte*)p - _arena.ArenaBase) < _arena.ArenaSize;

    /// <summary>The size class that serves <paramref name="size"/> bytes from the arena, or −1 when larger than <see cref="MaxSmallSize"/>.</summary>
    public static int SizeClassOf(nuint size) => size <= MaxSmallSize ? LockFreeSizeClasses.ClassOf(size) : -1;

    /// <summary>The block size of size class <paramref name="sizeClass"/> (16 &lt;&lt; sizeClass bytes).</summary>
    public static nuint SizeClassBlockSize(int sizeClass)
    {
        if ((uint)sizeClass >= SizeClassCount) throw new ArgumentOutOfRangeException(nameof(sizeClass));
        return LockFreeSizeClasses.SizeOf(sizeClass);
    }

    /// <summary>
    /// Checks the heap's free lists, page table and block counts, and returns its statistics.
    /// Call only when no other thread is using the heap; allocates managed memory.
    /// </summary>
    /// <exception cref="InvalidOperationException">The structures are inconsistent (heap corruption).</exception>
    public LockFreeHeapStats Validate()
    {
        var free = new long[SizeClassCount];
        var net = new long[SizeClassCount];
        string? problem = _arena.Validate(free, net);
        if (problem != null) throw new InvalidOperationException("LockFreeHeap is inconsistent: " + problem);
        ArenaHeader* h = _arena.Header;
        return new LockFreeHeapStats(_arena.ArenaSize, (nuint)Volatile.Read(ref h->Top), _arena.ShardCount, free, net,
            Volatile.Read(ref h->LargeCount), Volatile.Read(ref h->LargeBytes), Volatile.Read(ref h->RejectedFrees));
    }

    /// <summary>
    /// Unmaps the arena. Only when no thread uses the heap any more; blocks from it become invalid
    /// and large objects not yet freed stay mapped (leaked). Does nothing for <see cref="Default"/>.
    /// </summary>
    public void Dispose()
    {
        if (ReferenceEquals(this, Volatile.Read(ref s_default))) return;
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _arena.Release();
    }

    private static bool IsValidHeapSize(nuint size)
        => size % OsMemory.PageSize == 0 && size >= MinHeapSize && size <= LockFreeArena.MaxArenaSize;

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
}
