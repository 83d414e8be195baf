// HeapMisuseException: the one exception NativeHeap throws for a caller's mistake with a pointer —
// freeing memory it does not own, a double free, an interior pointer, a wrong size in a sized free,
// or a pointer into an arena that was reset. The heap is unchanged when it is thrown.
namespace NativeHeap;

/// <summary>A pointer passed to NativeHeap was not a live block it owns (or a sized free named the wrong size).</summary>
public sealed class HeapMisuseException : InvalidOperationException
{
    /// <summary>The offending pointer.</summary>
    public nint Pointer { get; }

    /// <summary>Creates the exception.</summary>
    public HeapMisuseException(string message, nint pointer) : base(message) => Pointer = pointer;

    internal static unsafe HeapMisuseException NotOwned(void* p)
        => new($"NativeHeap: pointer 0x{(nuint)p:x} was not allocated by NativeHeap (invalid free)", (nint)p);

    internal static unsafe HeapMisuseException NotABlock(void* p)
        => new($"NativeHeap: pointer 0x{(nuint)p:x} is not the start of a live block (double free, or a pointer into a block)", (nint)p);

    internal static unsafe HeapMisuseException DoubleFree(void* p)
        => new($"NativeHeap: double free of 0x{(nuint)p:x} (the block is already free)", (nint)p);

    internal static unsafe HeapMisuseException AfterReset(void* p)
        => new($"NativeHeap: pointer 0x{(nuint)p:x} belongs to an arena that was reset or destroyed (use after reset)", (nint)p);

    internal static unsafe HeapMisuseException WrongSize(void* p, nuint given, nuint usable)
        => new($"NativeHeap: sized free of 0x{(nuint)p:x} with size {given}, but the block's size class is {usable} bytes", (nint)p);
}
