// GeneralHeap: the static general heap (Heap) as an INativeHeap instance, for the safe layer and for
// code written against the interface. Every member is a direct call of Heap's own; nothing is cached.
namespace NativeHeap;

/// <summary>
/// The general-purpose heap (<see cref="Heap"/>) as an <see cref="INativeHeap"/>: use
/// <see cref="Instance"/> wherever a heap object is wanted. It is never disposed.
/// </summary>
/// <remarks>
/// <see cref="TryFree"/> returns false for a pointer no NativeHeap arena owns, and (with
/// <see cref="HeapOptions.Checked"/>) for double frees and interior pointers; without checked mode
/// those are undefined behaviour, as in C. Blocks of any memory kind are general-heap blocks too, so
/// this heap frees and resizes them as well.
/// </remarks>
public sealed unsafe class GeneralHeap : INativeHeap
{
    private GeneralHeap() { }

    /// <summary>The one instance.</summary>
    public static GeneralHeap Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "general";

    /// <summary>Always false: the general heap lives as long as the process.</summary>
    public bool IsDisposed => false;

    /// <inheritdoc />
    public void* Allocate(nuint size) => Heap.Malloc(size);

    /// <inheritdoc />
    public void* AllocateZeroed(nuint size) => Heap.Calloc(1, size);

    /// <inheritdoc />
    public bool TryAllocate(nuint size, out void* block)
    {
        block = Heap.Malloc(size);
        return block != null;
    }

    /// <inheritdoc />
    public bool TryFree(void* block) => Heap.TryFree(block);

    /// <inheritdoc />
    public void Free(void* block) => Heap.Free(block);

    /// <inheritdoc />
    public void* Reallocate(void* block, nuint size) => Heap.Reallocate(block, size);

    /// <inheritdoc />
    public nuint UsableSize(void* block) => Heap.UsableSize(block);

    /// <inheritdoc />
    public bool TryResizeInPlace(void* block, nuint size, nuint extra, out nuint usableSize)
        => Heap.TryResizeInPlace(block, size, extra, out usableSize);

    /// <inheritdoc />
    public override string ToString() => Name;
}
