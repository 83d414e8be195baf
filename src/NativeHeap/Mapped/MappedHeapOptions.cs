// MappedHeapOptions: how to attach a mapped heap.
namespace NativeHeap.Mapped;

/// <summary>Options for <see cref="MappedHeap"/>'s attach calls; the defaults suit a heap of up to 256 MiB.</summary>
public sealed class MappedHeapOptions
{
    /// <summary>
    /// Where to map the heap. Zero: a new heap goes where the kernel chooses and an existing heap
    /// goes to its recorded base. Non-zero (page aligned): exactly there, or the attach fails.
    /// </summary>
    public nint BaseAddress { get; set; }

    /// <summary>The largest the region (header included) may grow, in bytes; address space for all of it is reserved at attach. Used when creating; an existing heap keeps its recorded maximum.</summary>
    public long MaxSize { get; set; } = 256L << 20;

    /// <summary>The region size of a new heap, in bytes (rounded up to a page, at least the header plus a page).</summary>
    public long InitialSize { get; set; } = 1L << 20;

    /// <summary>The least the file grows by when the heap is full (rounded up to a page). Used when creating.</summary>
    public long GrowthStep { get; set; } = 1L << 20;

    /// <summary>When the recorded base address is taken, map the heap elsewhere instead of failing with <see cref="MappedHeapError.AddressInUse"/>. Only safe when the heap holds no raw pointers (use <see cref="Offset{T}"/>).</summary>
    public bool AllowRelocation { get; set; }

    /// <summary>Attach without writing: a shared lock, a read-only mapping, no recovery. Allocation and root updates fail with <see cref="MappedHeapError.ReadOnly"/>.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// Create a heap when the file does not exist (path attaches) or is empty (0 bytes; path and
    /// descriptor attaches). Default true; when false, a missing file is an OsFailure and an empty one NotAHeap.
    /// </summary>
    public bool CreateIfMissing { get; set; } = true;
}
