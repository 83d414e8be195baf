// INativeHeap: the one vocabulary every NativeHeap front end speaks, so the safe layer (pools, buffers,
// writers, streams) and user code can take any heap: the general heap (GeneralHeap.Instance), a
// memory kind, a mapped heap or a lock-free heap.
//
// Convention (the same on all four heaps, and the one the BCL uses):
//  - Allocate returns null when the heap cannot serve the request (as malloc, and as each heap's own
//    Malloc/Allocate); TryAllocate returns false instead. The safe layer above turns a failed
//    allocation into OutOfMemoryException, as ArrayPool and NativeMemory.Alloc do.
//  - TryFree returns false, changing nothing, for a pointer the heap can tell is not one of its live
//    blocks; Free throws HeapMisuseException (an InvalidOperationException) in that case.
//  - After Dispose (a detached mapped heap, a disposed lock-free heap, a destroyed kind) every member
//    except IsDisposed and Name throws ObjectDisposedException and touches no heap memory.
//  - The C names of the seeds (malloc, mfree, memkind_free, AO_free...) stay on the heaps themselves
//    and in the C ABI; this interface adds no second meaning to them.
namespace NativeHeap;

/// <summary>
/// A native heap that the safe layer (<see cref="Safe.NativeMemoryPool"/>, <see cref="Safe.NativeBuffer{T}"/>,
/// <see cref="Safe.NativeBufferWriter"/>) can allocate from. Implemented by <see cref="GeneralHeap"/> (the
/// general heap, <see cref="Heap"/>), <see cref="Kinds.MemoryKind"/>, <see cref="Mapped.MappedHeap"/> and
/// <see cref="LockFree.LockFreeHeap"/>. All members are thread-safe.
/// </summary>
/// <remarks>
/// Errors follow one convention on every heap: <see cref="Allocate"/> and <see cref="Reallocate"/> return
/// null when the heap cannot serve the request (out of memory, a size the heap cannot hold); <c>TryX</c>
/// members return false; <see cref="Free"/> throws <see cref="HeapMisuseException"/> for a pointer that
/// <see cref="TryFree"/> would refuse. Once the heap is disposed (or, for a memory kind, destroyed) every
/// member but <see cref="Name"/> and <see cref="IsDisposed"/> throws <see cref="ObjectDisposedException"/>.
/// Which bad pointers a heap can recognise differs (see each heap's documentation); the others are
/// undefined behaviour, as in C.
/// </remarks>
public unsafe interface INativeHeap
{
    /// <summary>A short name for diagnostics and metric tags ("general", the kind's name, the mapped heap's file name, "lockfree").</summary>
    string Name { get; }

    /// <summary>True once the heap has been disposed (detached, destroyed); it then serves nothing.</summary>
    bool IsDisposed { get; }

    /// <summary>Allocates at least <paramref name="size"/> bytes, 16-byte aligned for sizes of 16 and more.</summary>
    /// <returns>The block, or null when the heap cannot serve the request.</returns>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    void* Allocate(nuint size);

    /// <summary>Allocates at least <paramref name="size"/> bytes, all zero; null when the heap cannot serve the request.</summary>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    void* AllocateZeroed(nuint size)
    {
        void* p = Allocate(size);
        if (p != null) NativeMemory.Clear(p, size);
        return p;
    }

    /// <summary>Allocates like <see cref="Allocate"/>, reporting failure as false (and a null <paramref name="block"/>).</summary>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    bool TryAllocate(nuint size, out void* block)
    {
        block = Allocate(size);
        return block != null;
    }

    /// <summary>
    /// Returns <paramref name="block"/> to the heap. True on success and for null; false, changing
    /// nothing, when the heap can tell that <paramref name="block"/> is not one of its live blocks.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    bool TryFree(void* block);

    /// <summary>Returns <paramref name="block"/> to the heap; null is a no-op.</summary>
    /// <exception cref="HeapMisuseException"><paramref name="block"/> is recognisably not a live block of this heap (nothing was changed).</exception>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    void Free(void* block)
    {
        if (!TryFree(block)) throw HeapMisuseException.NotOwned(block);
    }

    /// <summary>
    /// Resizes <paramref name="block"/> to at least <paramref name="size"/> bytes (realloc): in place
    /// when possible, else by moving the contents (up to the smaller size) to a new block. Null
    /// allocates. On failure returns null and the old block is unchanged.
    /// </summary>
    /// <exception cref="HeapMisuseException"><paramref name="block"/> is recognisably not a live block of this heap.</exception>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    void* Reallocate(void* block, nuint size);

    /// <summary>The usable size of a live block (every byte up to it may be used); 0 for null or a pointer the heap does not recognise.</summary>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    nuint UsableSize(void* block);

    /// <summary>
    /// Grows or shrinks <paramref name="block"/> without moving it (xallocx): to at least
    /// <paramref name="size"/> bytes, and up to <paramref name="size"/> + <paramref name="extra"/> if
    /// that is free. True when the block now holds at least <paramref name="size"/> bytes;
    /// <paramref name="usableSize"/> is its usable size either way (0 for a block the heap does not recognise).
    /// Heaps that cannot resize in place (the lock-free heap) return false unless the block is already large enough.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap has been disposed.</exception>
    bool TryResizeInPlace(void* block, nuint size, nuint extra, out nuint usableSize);
}
