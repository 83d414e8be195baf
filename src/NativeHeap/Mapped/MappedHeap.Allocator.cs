// MappedHeap.Allocator: a mapped heap as an INativeHeap (the verbs all heaps share). mmalloc's own
// calls (Allocate, TryFree, Reallocate, UsableSize) keep their C-style contract for bad input (null /
// false with LastError); a detached heap throws ObjectDisposedException from every member, these
// included, and Free throws HeapMisuseException for a pointer TryFree refuses. Each call checks
// detachment before it reads the region, and again (through LastError) under the heap's lock.
namespace NativeHeap.Mapped;

public sealed unsafe partial class MappedHeap : INativeHeap
{
    /// <summary>True once the heap is detached (<see cref="TryDetach"/> or <see cref="Dispose"/>): its region is unmapped.</summary>
    public bool IsDisposed => _base == null;

    string INativeHeap.Name => Name;

    void* INativeHeap.Allocate(nuint size)
    {
        ThrowIfDetached();
        void* p = Allocate(size);
        if (p == null && _lastError == MappedHeapError.Detached) throw DetachedException();
        return p;
    }

    bool INativeHeap.TryFree(void* block)
    {
        ThrowIfDetached();
        if (TryFree(block)) return true;
        if (_lastError == MappedHeapError.Detached) throw DetachedException();
        return false;
    }

    /// <summary>
    /// Frees a block (mfree) under the convention all heaps share: null is a no-op; a pointer that is
    /// not an allocated block of this heap, or was already freed, throws and changes nothing.
    /// </summary>
    /// <exception cref="HeapMisuseException">The pointer is not a live block of this heap (LastError says which).</exception>
    /// <exception cref="ObjectDisposedException">The heap is detached.</exception>
    /// <exception cref="InvalidOperationException">The heap is read-only.</exception>
    public void Free(void* block)
    {
        ThrowIfDetached();
        if (TryFree(block)) return;
        throw _lastError switch
        {
            MappedHeapError.Detached => DetachedException(),
            MappedHeapError.ReadOnly => new InvalidOperationException($"NativeHeap: mapped heap '{Name}' is read-only"),
            MappedHeapError.DoubleFree => HeapMisuseException.DoubleFree(block),
            _ => HeapMisuseException.NotOwned(block),
        };
    }

    void* INativeHeap.Reallocate(void* block, nuint size)
    {
        ThrowIfDetached();
        void* p = Reallocate(block, size);
        if (p == null && _lastError == MappedHeapError.Detached) throw DetachedException();
        return p;
    }

    nuint INativeHeap.UsableSize(void* block)
    {
        ThrowIfDetached();
        return block == null ? 0 : UsableSize(block);
    }

    /// <summary>
    /// Grows a block without moving it, over the free block that follows it: to at least
    /// <paramref name="size"/> bytes and up to <paramref name="size"/> + <paramref name="extra"/> when
    /// that much is free. Never shrinks. True when the block now holds at least <paramref name="size"/>
    /// bytes; <paramref name="usableSize"/> is its usable size either way (0 for an invalid pointer).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The heap is detached.</exception>
    public bool TryResizeInPlace(void* block, nuint size, nuint extra, out nuint usableSize)
    {
        ThrowIfDetached();
        usableSize = 0;
        if (block == null) return false;
        lock (_lock)
        {
            if (_base == null) throw DetachedException();
            long o = BlockOf(block);
            if (o == 0) return false;
            long have = SizeAt(o) - HeapLayout.BlockHeader;
            if ((nuint)have < size && _writable)
            {
                nuint target = size + extra < size ? size : size + extra;
                long needMax = HeapLayout.BlockSizeFor(target, _maxSize);
                long need = HeapLayout.BlockSizeFor(size, _maxSize);
                if (!(needMax > 0 && ResizeInPlace(o, needMax)) && need > 0) ResizeInPlace(o, need);
            }
            usableSize = (nuint)(SizeAt(o) - HeapLayout.BlockHeader);
            return usableSize >= size;
        }
    }

}
