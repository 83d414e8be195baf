// Heap.Allocator: the verbs every NativeHeap front end shares (INativeHeap: Allocate, TryFree,
// Reallocate, TryResizeInPlace) on the general heap, beside its C names (Malloc, Free, Realloc,
// XallocX). GeneralHeap.Instance is the same heap as an INativeHeap object.
namespace NativeHeap;

public static unsafe partial class Heap
{
    /// <summary>The general heap as an <see cref="INativeHeap"/> (for <see cref="Safe.NativeMemoryPool"/> and other code that takes any heap).</summary>
    public static GeneralHeap Instance => GeneralHeap.Instance;

    /// <summary>Allocates <paramref name="size"/> bytes: the same call as <see cref="Malloc"/>, under the verb all heaps share.</summary>
    /// <returns>The block, or null when out of memory.</returns>
    public static void* Allocate(nuint size) => Malloc(size);

    /// <summary>
    /// Frees <paramref name="block"/>; true on success and for null. False, changing nothing, for a
    /// pointer that no NativeHeap arena owns, and (with <see cref="HeapOptions.Checked"/>) for a double
    /// free or an interior pointer. Without checked mode those two are undefined behaviour, as in C.
    /// </summary>
    public static bool TryFree(void* block)
    {
        if (block == null) return true;
        if (UsableSizeCore(block) == 0) return false;      // not a live block NativeHeap knows
        if (!s_checked)
        {
            Free(block);
            return true;
        }
        try
        {
            Free(block);
            return true;
        }
        catch (HeapMisuseException)
        {
            return false;       // checked mode found the misuse and changed nothing
        }
    }

    /// <summary>
    /// Resizes a block (the same call as <see cref="Realloc"/>): null allocates, a size of 0 frees and
    /// returns null; on failure null is returned and the old block is unchanged.
    /// </summary>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap.</exception>
    public static void* Reallocate(void* block, nuint size) => Realloc(block, size);

    /// <summary>
    /// Resizes <paramref name="block"/> without moving it (<see cref="XallocX"/>): to at least
    /// <paramref name="size"/> bytes and up to <paramref name="size"/> + <paramref name="extra"/> when
    /// free. True when the block now holds at least <paramref name="size"/> bytes;
    /// <paramref name="usableSize"/> is its usable size either way.
    /// </summary>
    /// <exception cref="HeapMisuseException">The pointer is not owned by NativeHeap.</exception>
    public static bool TryResizeInPlace(void* block, nuint size, nuint extra, out nuint usableSize)
    {
        usableSize = block == null ? 0 : XallocX(block, size, extra, default);
        return block != null && usableSize >= size;
    }
}
