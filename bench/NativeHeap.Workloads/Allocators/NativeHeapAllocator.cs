// NativeHeapAllocator: NativeHeap's general heap as an IAllocator. Its calls are direct static calls
// into NativeHeap.Heap, which the JIT inlines into the workloads' specialised code.
using NativeHeap;

namespace NativeHeap.Workloads.Allocators;

/// <summary>NativeHeap.Heap behind <see cref="IAllocator"/>.</summary>
public readonly unsafe struct NativeHeapAllocator : IAllocator
{
    /// <inheritdoc/>
    public void* Malloc(nuint size) => Heap.Malloc(size);

    /// <inheritdoc/>
    public void* Calloc(nuint count, nuint size) => Heap.Calloc(count, size);

    /// <inheritdoc/>
    public void* Realloc(void* ptr, nuint size) => Heap.Realloc(ptr, size);

    /// <inheritdoc/>
    public void Free(void* ptr) => Heap.Free(ptr);

    /// <inheritdoc/>
    public void SizedFree(void* ptr, nuint size) => Heap.SizedFree(ptr, size);

    /// <inheritdoc/>
    public void* AlignedAlloc(nuint alignment, nuint size) => Heap.AlignedAlloc(alignment, size);

    /// <inheritdoc/>
    public nuint UsableSize(void* ptr) => Heap.UsableSize(ptr);
}
