// HeapCore: which core serves NativeHeap.Heap's plain calls. Chosen once per process, before any code
// runs (NATIVEHEAP_CONF=core:sharded, or the runtimeconfig knob "NativeHeap.Core": "sharded"), so the
// fast paths test a static readonly field that tiered compilation folds into a constant.
namespace NativeHeap;

/// <summary>The allocator core behind <see cref="Heap"/>'s plain calls (<see cref="Heap.ActiveCore"/>).</summary>
public enum HeapCore
{
    /// <summary>The jemalloc-style core (default): bounded thread-cache bins over arenas of chunks and slabs.</summary>
    Jemalloc = 0,

    /// <summary>
    /// Core v2, free-list sharding (mimalloc's design; docs/core-v2.md), opt-in and still partial: it serves
    /// <see cref="Heap.Malloc"/>, <see cref="Heap.Free"/>, <see cref="Heap.Calloc"/>, <see cref="Heap.Realloc"/>,
    /// <see cref="Heap.AlignedAlloc"/> (alignment up to 4 KiB) and flag-less <see cref="Heap.MallocX"/> for
    /// sizes up to 512 KiB. Larger blocks, calls with arena or cache flags, memory kinds, the C library and the
    /// drop-in stay on the jemalloc core, and every free finds the right core from the pointer. Not yet
    /// covered for core v2 blocks: statistics (<c>stats.*</c>, <c>thread.allocated</c>, the Meter), decay
    /// purging of its free pages, and checked mode (refused in combination).
    /// </summary>
    Sharded = 1,
}
