// MappedHeapError: the one error vocabulary of mapped heaps, for failed opens and failed operations.
namespace NativeHeap.Mapped;

/// <summary>Why a mapped-heap call failed (the heap's <see cref="MappedHeap.LastError"/>, or an open's failure code).</summary>
public enum MappedHeapError
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>The heap reached its configured maximum size (or the file could not grow): the request does not fit.</summary>
    HeapFull,
    /// <summary>The requested size can never be satisfied (larger than the heap's maximum).</summary>
    InvalidSize,
    /// <summary>The pointer is not the start of an allocated block of this heap.</summary>
    InvalidPointer,
    /// <summary>The block was already freed.</summary>
    DoubleFree,
    /// <summary>A numbered root key outside 0..<see cref="MappedHeap.KeyCount"/>-1.</summary>
    InvalidKey,
    /// <summary>A root name that is empty or longer than <see cref="MappedHeap.MaxRootNameBytes"/> UTF-8 bytes.</summary>
    InvalidName,
    /// <summary>All named-root slots are in use.</summary>
    RootTableFull,
    /// <summary>The heap was attached read-only.</summary>
    ReadOnly,
    /// <summary>The heap has been detached.</summary>
    Detached,
    /// <summary>An operating-system call failed; see <see cref="MappedHeap.LastOsError"/> or the failure's <c>Os</c>.</summary>
    OsFailure,
    /// <summary>The file is not a mapped heap (wrong magic): a foreign file, or an interrupted creation.</summary>
    NotAHeap,
    /// <summary>The file is shorter than its header or its recorded heap end.</summary>
    Truncated,
    /// <summary>The header's checksum or one of its fields is wrong.</summary>
    CorruptHeader,
    /// <summary>A block header, root or named-root entry is inconsistent.</summary>
    CorruptMetadata,
    /// <summary>The file was written by a newer format version.</summary>
    UnsupportedVersion,
    /// <summary>The heap's recorded base address is taken in this process and relocation was not allowed.</summary>
    AddressInUse,
    /// <summary>Another open of the file (in this or another process) holds its lock.</summary>
    Locked,
    /// <summary>The options are inconsistent (e.g. a maximum size below the minimum, an unaligned base address).</summary>
    InvalidOptions,
}
