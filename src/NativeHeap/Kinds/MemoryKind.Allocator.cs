// MemoryKind.Allocator: a kind as an INativeHeap (the verbs all heaps share), beside memkind's names
// (Malloc, Free, Realloc). The interface members check that the kind still exists first (a destroyed
// kind throws ObjectDisposedException) and that a pointer belongs to this kind before freeing it.
namespace NativeHeap.Kinds;

public sealed unsafe partial class MemoryKind : INativeHeap
{
    /// <summary>True once the kind has been destroyed (<see cref="TryDestroy"/>); the interface members then throw <see cref="ObjectDisposedException"/>.</summary>
    bool INativeHeap.IsDisposed => _destroyed;

    /// <summary>Allocates <paramref name="size"/> bytes of this kind: <see cref="Malloc"/> under the verb all heaps share.</summary>
    /// <returns>The block, or null when the kind has no memory for it.</returns>
    /// <exception cref="ObjectDisposedException">The kind was destroyed.</exception>
    public void* Allocate(nuint size)
    {
        ThrowIfDestroyed();
        return Malloc(size);
    }

    /// <inheritdoc cref="INativeHeap.AllocateZeroed" />
    void* INativeHeap.AllocateZeroed(nuint size)
    {
        ThrowIfDestroyed();
        return Calloc(1, size);
    }

    /// <summary>
    /// Frees a block of this kind; true on success and for null. False, changing nothing, for a
    /// pointer of another kind or one NativeHeap does not own (the static <see cref="Free(void*)"/>
    /// frees blocks of any kind).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The kind was destroyed.</exception>
    public bool TryFree(void* block)
    {
        ThrowIfDestroyed();
        if (block == null) return true;
        if (!ReferenceEquals(DetectKind(block), this) || Heap.UsableSize(block) == 0) return false;
        if (!Heap.s_checked)
        {
            Free(block);
            return true;
        }
        try
        {
            Free(block);
            return true;
        }
        catch (HeapMisuseException)
        {
            return false;
        }
    }

    /// <inheritdoc cref="INativeHeap.Free" />
    void INativeHeap.Free(void* block)
    {
        if (!TryFree(block)) throw HeapMisuseException.NotOwned(block);
    }

    /// <summary>Resizes a block into this kind: <see cref="Realloc"/> under the verb all heaps share.</summary>
    /// <exception cref="ObjectDisposedException">The kind was destroyed.</exception>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap.</exception>
    public void* Reallocate(void* block, nuint size)
    {
        ThrowIfDestroyed();
        return Realloc(block, size);
    }

    /// <inheritdoc cref="INativeHeap.UsableSize" />
    nuint INativeHeap.UsableSize(void* block)
    {
        ThrowIfDestroyed();
        return ReferenceEquals(DetectKind(block), this) ? Heap.UsableSize(block) : 0;
    }

    /// <summary>
    /// Resizes a block of this kind without moving it (as <see cref="Heap.XallocX"/>). True when it now
    /// holds at least <paramref name="size"/> bytes; <paramref name="usableSize"/> is its usable size
    /// either way (0 for a block of another kind, which is left alone).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The kind was destroyed.</exception>
    public bool TryResizeInPlace(void* block, nuint size, nuint extra, out nuint usableSize)
    {
        ThrowIfDestroyed();
        if (block == null || !ReferenceEquals(DetectKind(block), this))
        {
            usableSize = 0;
            return false;
        }
        usableSize = Heap.XallocX(block, size, extra, default);    // small blocks keep their class; large ones grow over the kind's free pages
        return usableSize >= size;
    }
}
