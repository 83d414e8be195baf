// MappedHeapFailure: why an attach failed, when there is no heap to hold a last error.
using NativeHeap.Os;

namespace NativeHeap.Mapped;

/// <summary>The reason an attach failed: a code, the OS error when one caused it, and a readable message.</summary>
public readonly struct MappedHeapFailure
{
    /// <summary>The error code.</summary>
    public MappedHeapError Code { get; }

    /// <summary>The OS error behind the failure (no error unless <see cref="Code"/> is OsFailure, Locked or AddressInUse).</summary>
    public OsError Os { get; }

    /// <summary>A message naming the file and what was wrong.</summary>
    public string Message { get; }

    internal MappedHeapFailure(MappedHeapError code, string message, OsError os = default)
    {
        Code = code;
        Message = message;
        Os = os;
    }

    /// <inheritdoc />
    public override string ToString() => Code == MappedHeapError.None ? "no error" : $"{Code}: {Message}";
}
