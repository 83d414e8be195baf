// IAllocator: the operations every measured allocator offers. Workloads are generic methods over a
// struct implementing it (`where TAlloc : struct, IAllocator`), so the JIT compiles one specialised
// copy per allocator struct and inlines the calls: NativeHeap's are direct static calls, the peers'
// are one indirect call through an unmanaged function pointer with SuppressGCTransition each, the
// same for every peer.
namespace NativeHeap.Workloads.Allocators;

/// <summary>The calls a workload makes on the allocator under test.</summary>
public unsafe interface IAllocator
{
    /// <summary>malloc: <paramref name="size"/> bytes, or null.</summary>
    void* Malloc(nuint size);

    /// <summary>calloc: <paramref name="count"/> × <paramref name="size"/> zeroed bytes, or null.</summary>
    void* Calloc(nuint count, nuint size);

    /// <summary>realloc: resizes <paramref name="ptr"/> (null allocates), keeping the contents.</summary>
    void* Realloc(void* ptr, nuint size);

    /// <summary>free: releases <paramref name="ptr"/>; null is a no-op.</summary>
    void Free(void* ptr);

    /// <summary>Sized free (jemalloc sdallocx, mimalloc mi_free_size, tcmalloc tc_free_sized); plain free where the allocator has none.</summary>
    void SizedFree(void* ptr, nuint size);

    /// <summary>aligned_alloc / memalign: <paramref name="size"/> bytes aligned to <paramref name="alignment"/> (a power of two).</summary>
    void* AlignedAlloc(nuint alignment, nuint size);

    /// <summary>malloc_usable_size: the bytes usable at <paramref name="ptr"/>.</summary>
    nuint UsableSize(void* ptr);
}
