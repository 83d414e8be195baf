// PeerAllocator: a native allocator loaded with NativeLibrary, called through unmanaged function
// pointers with SuppressGCTransition (the cheapest native call .NET has). One struct type serves
// every peer, so each peer's calls cost exactly the same indirect call.
namespace NativeHeap.Workloads.Allocators;

/// <summary>The function pointers of one native allocator (glibc, jemalloc, mimalloc, tcmalloc).</summary>
public readonly unsafe struct PeerAllocator : IAllocator
{
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*> _malloc;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*> _calloc;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nuint, void*> _realloc;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void> _free;
    // (ptr, size, flags): jemalloc's sdallocx takes flags; mi_free_size, tc_free_sized and free take
    // fewer arguments and ignore the extra registers (x86-64 System V: the caller owns them).
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nuint, int, void> _sizedFree;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*> _alignedAlloc;
    private readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nuint> _usableSize;

    /// <summary>Builds the struct from the addresses of the peer's exports (all required).</summary>
    public PeerAllocator(nint malloc, nint calloc, nint realloc, nint free, nint sizedFree, nint alignedAlloc, nint usableSize)
    {
        _malloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, void*>)malloc;
        _calloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*>)calloc;
        _realloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nuint, void*>)realloc;
        _free = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, void>)free;
        _sizedFree = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nuint, int, void>)sizedFree;
        _alignedAlloc = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nuint, nuint, void*>)alignedAlloc;
        _usableSize = (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, nuint>)usableSize;
    }

    /// <inheritdoc/>
    public void* Malloc(nuint size) => _malloc(size);

    /// <inheritdoc/>
    public void* Calloc(nuint count, nuint size) => _calloc(count, size);

    /// <inheritdoc/>
    public void* Realloc(void* ptr, nuint size) => _realloc(ptr, size);

    /// <inheritdoc/>
    public void Free(void* ptr) => _free(ptr);

    /// <inheritdoc/>
    public void SizedFree(void* ptr, nuint size) => _sizedFree(ptr, size, 0);

    /// <inheritdoc/>
    public void* AlignedAlloc(nuint alignment, nuint size) => _alignedAlloc(alignment, size);

    /// <inheritdoc/>
    public nuint UsableSize(void* ptr) => _usableSize(ptr);
}
