// MemoryKind.Slow: the out-of-line paths of a kind — first use on a thread (its cache is created),
// cache misses, sizes above the caches (the arena, under its lock), aligned and zeroed allocation,
// reallocation, and frees that cannot go to the thread's cache.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;
using NativeHeap.Os;

namespace NativeHeap.Kinds;

public sealed unsafe partial class MemoryKind
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* MallocSlow(nuint size)
    {
        nuint usize = SizeClasses.RoundUp(size == 0 ? 1 : size);
        return usize == 0 ? null : AllocClass(size, usize);
    }

    /// <summary>Allocates a block of usable size <paramref name="usize"/> (a size class), from the thread's cache when the class is cached.</summary>
    private void* AllocClass(nuint size, nuint usize)
    {
        ThrowIfDestroyed();
        if (_unavailable != null) return null;
        ThreadCache* tc = KindThreadCaches.GetOrCreate(this);
        int cls = SizeClasses.SizeToIndex(usize);
        if (tc != null && cls < tc->NBins && ThreadCache.CapOf(tc, cls) != 0)
        {
            void* p = ThreadCache.TryPop(tc, cls);
            return p != null ? p : ThreadCache.AllocMiss(tc, tc->Arena, cls);
        }
        return Heap.AllocCore(size, 1, zero: false, ArenaIndexFor(tc), cacheId: -2);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FreeSlow(void* ptr)
    {
        if (ptr == null) return;
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        MemoryKind? kind = c == null ? null : DetectKind(ptr);
        if (kind == null || kind._isDefault)
        {
            Heap.Free(ptr);   // throws HeapMisuseException for memory NativeHeap does not own
            return;
        }
        kind.ThrowIfDestroyed();
        if (c->Kind == ChunkKind.Arena && !Heap.s_checked && c->Quarantined == 0)
        {
            ThreadCache* tc = KindThreadCaches.GetOrCreate(kind);
            PageDesc* d = c->Pages + Chunk.PageIndexOf(ptr);
            if (d->Kind == PageKind.SlabInterior) d = c->Pages + d->Head;
            int cls = d->Bin;
            bool block = d->Kind == PageKind.Slab || (d->Kind == PageKind.Large && d->Address == ptr);
            if (tc != null && block && cls < tc->NBins && ThreadCache.PushSlow(tc, cls, ptr)) return;
        }
        Heap.FreeSlow(ptr, -2, 0);
    }

    /// <summary>The arena a thread's uncached requests go to: its cache's arena, or the one its id hashes to.</summary>
    private int ArenaIndexFor(ThreadCache* tc) => tc != null ? tc->Arena->Index : _arenas[ThreadArenaSlot()];

    private int ThreadArenaSlot()
    {
        uint h = (uint)Environment.CurrentManagedThreadId * 0x9E3779B1u;
        return (int)(((ulong)h * (uint)_arenas.Length) >> 32);
    }

    /// <summary>The general-heap index of the arena the calling thread uses for this kind (-1 for <see cref="Default"/>).</summary>
    internal int ThreadArenaIndex => _arenas.Length == 0 ? -1 : _arenas[ThreadArenaSlot()];

    /// <summary>The arena this thread is bound to (for its cache of this kind).</summary>
    internal Arena* ArenaForThread() => Heap.ArenaForIndex(_arenas[ThreadArenaSlot()]);

    private void ThrowIfDestroyed()
    {
        if (_destroyed) throw new ObjectDisposedException($"memory kind {Name}", $"NativeHeap: memory kind '{Name}' was destroyed");
    }

    // ---- the other allocation calls ---------------------------------------------------------------

    /// <summary>Allocates <paramref name="count"/> × <paramref name="size"/> zeroed bytes of this kind (memkind_calloc).</summary>
    /// <returns>The block, or null when the product overflows or the kind has no memory for it.</returns>
    public void* Calloc(nuint count, nuint size)
    {
        ulong hi = Math.BigMul((ulong)count, (ulong)size, out ulong total);
        if (hi != 0 || total > SizeClasses.MaxSize) return null;
        if (_isDefault) return Heap.Calloc(count, size);
        if (total <= (ulong)SizeClasses.LookupMax)
        {
            void* p = Malloc((nuint)total);
            if (p != null) NativeMemory.Clear(p, (nuint)total);
            return p;
        }
        ThrowIfDestroyed();
        if (_unavailable != null) return null;
        return Heap.AllocCore((nuint)total, 1, zero: true, ArenaIndexFor(KindThreadCaches.GetOrCreate(this)), cacheId: -2);
    }

    /// <summary>
    /// Allocates <paramref name="size"/> bytes of this kind aligned to <paramref name="alignment"/>,
    /// any power of two (aligned_alloc semantics). Returns null when the alignment is not a power of
    /// two or the kind has no memory for it.
    /// </summary>
    public void* AlignedAlloc(nuint alignment, nuint size)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) return null;
        if (_isDefault) return Heap.AlignedAlloc(alignment, size);
        if (alignment <= SizeClasses.Quantum && size >= alignment) return Malloc(size);
        nuint usize = SizeClasses.RoundUpAligned(size, alignment);
        if (usize == 0) return null;
        if (alignment <= (nuint)OsMemory.PageSize && usize <= SizeClasses.LookupMax) return AllocClass(size, usize);
        ThrowIfDestroyed();
        if (_unavailable != null) return null;
        return Heap.AllocCore(size, alignment, zero: false, ArenaIndexFor(KindThreadCaches.GetOrCreate(this)), cacheId: -2);
    }

    /// <summary>
    /// posix_memalign semantics (memkind_posix_memalign): stores a block of <paramref name="size"/>
    /// bytes aligned to <paramref name="alignment"/> in <paramref name="result"/> and returns 0; returns
    /// EINVAL (22) when the alignment is not a power of two multiple of the pointer size and ENOMEM (12)
    /// when there is no memory, leaving <paramref name="result"/> null.
    /// </summary>
    public int PosixMemalign(out void* result, nuint alignment, nuint size)
    {
        result = null;
        if (alignment < (nuint)sizeof(void*) || (alignment & (alignment - 1)) != 0) return Libc.EINVAL;
        void* p = AlignedAlloc(alignment, size == 0 ? 1 : size);
        if (p == null) return Libc.ENOMEM;
        result = p;
        return 0;
    }

    /// <summary>
    /// Resizes a block into this kind (memkind_realloc): a null pointer allocates; a size of 0 frees
    /// and returns null. A block of this kind is resized in place when its size class allows, else it
    /// moves (also when it is of another kind: the result is always of this kind). On failure the old
    /// block is untouched and null is returned.
    /// </summary>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap.</exception>
    /// <exception cref="ObjectDisposedException">The kind was destroyed.</exception>
    public void* Realloc(void* ptr, nuint size)
    {
        ThrowIfDestroyed();
        if (ptr == null) return Malloc(size);
        if (size == 0)
        {
            Free(ptr);
            return null;
        }
        MemoryKind? owner = DetectKind(ptr);
        if (owner == null) throw HeapMisuseException.NotOwned(ptr);
        if (_isDefault && owner._isDefault) return Heap.Realloc(ptr, size);
        nuint old = Heap.UsableSize(ptr);
        if (old == 0) throw HeapMisuseException.NotABlock(ptr);
        nuint want = SizeClasses.RoundUp(size);
        if (want == 0) return null;
        if (owner == this)
        {
            if (want == old) return ptr;
            if (old > SizeClasses.SmallMax && want > SizeClasses.SmallMax && Heap.XallocX(ptr, size, 0, default) == want) return ptr;
        }
        void* p = Malloc(size);
        if (p == null) return null;
        Buffer.MemoryCopy(ptr, p, want, Math.Min(old, size));
        Free(ptr);
        return p;
    }
}
