// MemoryKind: memkind's "kinds of memory" on NativeHeap's own arenas — each kind is a memory
// source (huge pages, NUMA placement, a file, or the caller's IMemorySource) served by arenas of its
// own, and any pointer can be traced back to its kind.
//
// Terms:
//  - slot: a kind's small index (0 = Default, the plain Heap; 1..MaxSlots-1 the others). It indexes
//    the per-thread cache table (KindThreadCaches) and owns one KindSource for the process's life.
//  - source id: the id under which the slot's KindSource is registered (MemorySources); every chunk
//    and huge-block header records it (Chunk.SourceId), so DetectKind is one page-map load, one
//    header load and one table index. Source ids of sources that are not kinds map to Default.
// Fast paths (this file; no lock, no atomic, no managed allocation):
//  - Malloc: [ThreadStatic] table → the kind's ThreadCache → the size class's bin → pop.
//  - Free(ptr): page map → header → source id → slot → this thread's cache of that slot → the
//    page descriptor's class → push. Default-kind pointers go to Heap.Free.
// Everything else (cache creation, refills, large aligned and huge blocks, destroyed kinds) is out
// of line in MemoryKind.Slow.cs; creation and the predefined kinds are in MemoryKind.Create.cs.
// Invariants: s_bySource[id] / s_slotBySource[id] name the kind now in the slot whose KindSource has
// that id (Default / 0 for other ids); a kind's arenas are explicit arenas of the general heap, so
// Heap.Free also works (slower: it takes the arena's bin lock) on any kind's pointer.
using System.Runtime.CompilerServices;
using NativeHeap.Core;
using NativeHeap.General;

namespace NativeHeap.Kinds;

/// <summary>
/// A kind of memory (memkind's <c>memkind_t</c>): allocations from a kind come from memory with the
/// kind's properties (huge pages, NUMA placement, a file, or a source of your own), served by the
/// kind's own arenas and per-thread caches. <see cref="DetectKind"/>, <see cref="Free(void*)"/>,
/// <see cref="ReallocAny"/> and <see cref="UsableSize"/> work on a bare pointer of any kind, and on
/// pointers from <see cref="Heap"/> (which are <see cref="Default"/>).
/// </summary>
/// <remarks>
/// Errors: an allocation that cannot be satisfied returns null (out of memory, a size too large, a
/// strict kind whose memory does not exist, a pmem kind at its maximum); <see cref="LastError"/> and
/// <see cref="CheckAvailable"/> say why. Freeing a pointer NativeHeap does not own throws
/// <see cref="HeapMisuseException"/>. Using a kind after <see cref="TryDestroy"/> throws
/// <see cref="ObjectDisposedException"/> from the slow path; pointers into a destroyed kind are
/// dangling, as in C.
/// </remarks>
public sealed unsafe partial class MemoryKind
{
    internal readonly int _slot;
    private readonly bool _isDefault;

    // source id → kind / slot (copy-on-write, replaced under s_createLock).
    private static MemoryKind[] s_bySource = [];
    private static int[] s_slotBySource = [];

    /// <summary>Whether chunks with this source id belong to a kind other than the default one (the heap profiler does not sample them).</summary>
    internal static bool IsKindSource(int sourceId)
    {
        int[] slots = s_slotBySource;
        return (uint)sourceId < (uint)slots.Length && slots[sourceId] != 0;
    }

    /// <summary>The kind's slot (0 for Default).</summary>
    internal int Slot => _slot;

    // ---- allocation -----------------------------------------------------------------------------

    /// <summary>Allocates <paramref name="size"/> bytes of this kind (memkind_malloc). A size of 0 gets the smallest block.</summary>
    /// <returns>The block (16-byte aligned for sizes of 16 and more), or null when the kind has no memory for it.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* Malloc(nuint size)
    {
        if (_isDefault) return Heap.Malloc(size);
        ThreadCache** caches = KindThreadCaches.t_caches;
        if (caches != null && size <= SizeClasses.LookupMax)
        {
            ThreadCache* tc = caches[_slot];
            if (tc != null)
            {
                void* p = ThreadCache.TryPop(tc, SizeClasses.s_lookup[(size + 7) >> 3]);
                if (p != null) return p;
            }
        }
        return MallocSlow(size);
    }

    // ---- free and pointer queries (any kind) ----------------------------------------------------

    /// <summary>
    /// Frees a block of any kind, found from the pointer (memkind_free with a null kind). Null is a no-op.
    /// </summary>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Free(void* ptr)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c != null)
        {
            int[] slots = s_slotBySource;
            uint sid = (uint)c->SourceId;
            int slot = sid < (uint)slots.Length ? slots[sid] : 0;
            if (slot == 0)
            {
                Heap.FreeIn(c, ptr);      // the default kind: the heap's own free, without a second lookup
                return;
            }
            ThreadCache** caches = KindThreadCaches.t_caches;
            if (caches != null && c->Kind == ChunkKind.Arena)
            {
                ThreadCache* tc = caches[slot];
                PageDesc* d = c->Pages + Chunk.PageIndexOf(ptr);
                if (d->Kind == PageKind.SlabInterior) d = c->Pages + d->Head;
                uint cls = d->Bin;
                if (tc != null && cls < (uint)tc->NBins
                    && (d->Kind == PageKind.Slab || (d->Kind == PageKind.Large && ((nuint)ptr & (SizeClasses.PageSize - 1)) == 0))
                    && ThreadCache.TryPush(tc, (int)cls, ptr))
                {
                    return;
                }
            }
        }
        FreeSlow(ptr);
    }

    /// <summary>
    /// Frees a block (memkind_free). The block's kind is read from the pointer, so a block of another
    /// kind is still freed correctly; this kind is not consulted.
    /// </summary>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap.</exception>
    /// <exception cref="ObjectDisposedException">This kind was destroyed (its blocks went with it).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void FreeBlock(void* ptr)
    {
        ThrowIfDestroyed();
        Free(ptr);
    }

    /// <summary>
    /// The kind a pointer belongs to (memkind_detect_kind), in O(1): one page-map load, one header
    /// load, one table index. Returns null for null and for memory NativeHeap does not own; pointers
    /// from <see cref="Heap"/> (and explicit arenas that are not kinds) are <see cref="Default"/>.
    /// Any pointer into a live block works, not only its start.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MemoryKind? DetectKind(void* ptr)
    {
        Chunk* c = (Chunk*)PageMap.Lookup(ptr);
        if (c == null) return null;
        MemoryKind[] table = s_bySource;
        uint sid = (uint)c->SourceId;
        return sid < (uint)table.Length ? table[sid] : s_default;
    }

    /// <summary>The usable size of a block of any kind (memkind_malloc_usable_size); 0 for null or memory NativeHeap does not own.</summary>
    public static nuint UsableSize(void* ptr) => Heap.UsableSize(ptr);

    /// <summary>
    /// Resizes a block of any kind within its own kind (memkind_realloc with a null kind): null
    /// allocates from <see cref="Default"/>, a size of 0 frees and returns null; on failure the old
    /// block is untouched and null is returned.
    /// </summary>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap.</exception>
    public static void* ReallocAny(void* ptr, nuint size)
    {
        if (ptr == null) return Default.Malloc(size);
        MemoryKind kind = DetectKind(ptr) ?? throw HeapMisuseException.NotOwned(ptr);
        return kind.Realloc(ptr, size);
    }
}
