// NativeMemoryAllocator: .NET's NativeMemory (glibc underneath, through the runtime's own P/Invoke)
// as a baseline for the micro-benchmarks. It has no usable-size call, and its aligned allocations
// must be freed with AlignedFree, so it takes no part in the aligned benchmarks.
using System.Runtime.InteropServices;
using NativeHeap.Workloads.Allocators;

namespace NativeHeap.Benchmarks.General;

/// <summary>NativeMemory.Alloc/Free behind <see cref="IAllocator"/>.</summary>
public readonly unsafe struct NativeMemoryAllocator : IAllocator
{
    /// <inheritdoc/>
    public void* Malloc(nuint size) => NativeMemory.Alloc(size);

    /// <inheritdoc/>
    public void* Calloc(nuint count, nuint size) => NativeMemory.AllocZeroed(count, size);

    /// <inheritdoc/>
    public void* Realloc(void* ptr, nuint size) => NativeMemory.Realloc(ptr, size);

    /// <inheritdoc/>
    public void Free(void* ptr) => NativeMemory.Free(ptr);

    /// <inheritdoc/>
    public void SizedFree(void* ptr, nuint size) => NativeMemory.Free(ptr);

    /// <inheritdoc/>
    public void* AlignedAlloc(nuint alignment, nuint size) => throw new NotSupportedException("NativeMemory.AlignedAlloc needs AlignedFree");

    /// <inheritdoc/>
    public nuint UsableSize(void* ptr) => throw new NotSupportedException("NativeMemory has no usable-size call");
}
