// LockFreeHeap.Allocator: a lock-free heap as an INativeHeap (the verbs all heaps share). AO_malloc's
// own calls (Allocate, Free, TryFree) keep their contract; through the interface a disposed heap
// throws ObjectDisposedException before any heap memory is read, and Free throws HeapMisuseException
// for a pointer TryFree refuses. AO_malloc has no realloc and no usable size, and the heap records no
// per-block size this layer can read: Reallocate supports only the null and zero-size cases,
// UsableSize returns 0 and TryResizeInPlace returns false (the safe layer moves data itself, as it
// knows the lengths it handed out). Uses only the public surface and the header pointer (zero once disposed).
namespace NativeHeap.LockFree;

public sealed unsafe partial class LockFreeHeap : INativeHeap
{
    string INativeHeap.Name => ReferenceEquals(this, Volatile.Read(ref s_default)) ? "lockfree-default" : "lockfree";

    /// <summary>True once <see cref="Dispose"/> has unmapped the arena (never for <see cref="Default"/>).</summary>
    bool INativeHeap.IsDisposed => Volatile.Read(ref _h) == 0;

    void* INativeHeap.Allocate(nuint size)
    {
        ThrowIfDisposed();
        return Allocate(size);
    }

    bool INativeHeap.TryFree(void* block)
    {
        ThrowIfDisposed();
        return TryFree(block);
    }

    void INativeHeap.Free(void* block)
    {
        ThrowIfDisposed();
        if (!TryFree(block)) throw HeapMisuseException.NotOwned(block);
    }

    /// <exception cref="NotSupportedException">A non-null block and a non-zero size: the heap cannot tell how many bytes to keep.</exception>
    void* INativeHeap.Reallocate(void* block, nuint size)
    {
        ThrowIfDisposed();
        if (block == null) return Allocate(size);
        if (size == 0)
        {
            if (!TryFree(block)) throw HeapMisuseException.NotOwned(block);
            return null;
        }
        throw new NotSupportedException("NativeHeap: the lock-free heap (AO_malloc) has no realloc: allocate, copy and free");
    }

    nuint INativeHeap.UsableSize(void* block)
    {
        ThrowIfDisposed();
        return 0;
    }

    bool INativeHeap.TryResizeInPlace(void* block, nuint size, nuint extra, out nuint usableSize)
    {
        ThrowIfDisposed();
        usableSize = 0;
        return false;
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _h) == 0) throw new ObjectDisposedException(nameof(LockFreeHeap), "NativeHeap: the lock-free heap was disposed");
    }
}
