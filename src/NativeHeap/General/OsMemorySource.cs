// OsMemorySource: the default memory source — anonymous private mappings from the OS layer.
using NativeHeap.Os;

namespace NativeHeap.General;

/// <summary>
/// The default <see cref="IMemorySource"/>: anonymous memory from mmap, returned with munmap. Derive
/// from it to place or advise the mappings (override <see cref="Allocate"/>) and keep the rest.
/// </summary>
public unsafe class OsMemorySource : IMemorySource
{
    /// <summary>The shared instance used by arenas that were given no source.</summary>
    public static readonly OsMemorySource Instance = new();

    /// <inheritdoc />
    public virtual void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = true;
        if (at != null)
        {
            return ((nuint)at & (alignment - 1)) == 0 && OsMemory.TryMapAt(at, size, out _) ? at : null;
        }
        return OsMemory.TryMapAligned(size, alignment, out void* p, out _) ? p : null;
    }

    /// <inheritdoc />
    public bool TryRelease(void* address, nuint size) => OsMemory.TryUnmap(address, size, out _);

    /// <inheritdoc />
    public bool TryCommit(void* address, nuint size) => OsMemory.TryCommit(address, size, out _);

    /// <inheritdoc />
    public bool TryDecommit(void* address, nuint size) => OsMemory.TryDecommit(address, size, out _);

    /// <inheritdoc />
    public bool TryPurgeLazy(void* address, nuint size) => OsMemory.TryPurgeLazy(address, size, out _);

    /// <inheritdoc />
    public bool TryPurgeForced(void* address, nuint size) => OsMemory.TryPurgeForced(address, size, out _);

    /// <inheritdoc />
    public bool TrySplit(void* address, nuint size, nuint firstSize) => true;

    /// <inheritdoc />
    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) => true;
}
