// CtlStatus, CtlType, CtlAccess: the vocabulary of the control namespace (HeapControl).
// CtlStatus values are the errno codes jemalloc's mallctl returns, so the C ABI passes them through.
namespace NativeHeap;

/// <summary>
/// The result of a control-namespace call (<see cref="HeapControl"/>); the values are the errno codes
/// jemalloc's <c>mallctl</c> returns, so <c>(int)status</c> is what a C caller sees.
/// </summary>
public enum CtlStatus
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>EPERM: the node cannot be written (read-only), or cannot be read (write-only/execute-only).</summary>
    ReadOnly = 1,
    /// <summary>ENOENT: no such name (or a partial name: an interior node), an index out of range, or an arena/cache that does not exist.</summary>
    NotFound = 2,
    /// <summary>EAGAIN: the operation could not be done now (e.g. the arena or cache limit was reached); try again later.</summary>
    TryAgain = 11,
    /// <summary>ENOMEM: memory for the operation could not be obtained.</summary>
    OutOfMemory = 12,
    /// <summary>EFAULT: an interface with variable-size data was given a value it cannot use (an invalid memory source, a failed action).</summary>
    Fault = 14,
    /// <summary>EINVAL: wrong value type or size, or an invalid value.</summary>
    Invalid = 22,
}

/// <summary>The C type of a node's value (what jemalloc's man page lists for the name).</summary>
public enum CtlType : byte
{
    /// <summary>No value: the node is an action (execute it with <see cref="HeapControl.Execute(string)"/>).</summary>
    Void = 0,
    /// <summary>C <c>bool</c> (1 byte).</summary>
    Bool,
    /// <summary>C <c>unsigned</c> (4 bytes).</summary>
    UInt32,
    /// <summary>C <c>uint64_t</c> (8 bytes).</summary>
    UInt64,
    /// <summary>C <c>size_t</c> (8 bytes).</summary>
    Size,
    /// <summary>C <c>ssize_t</c> (8 bytes, signed).</summary>
    SSize,
    /// <summary>C <c>const char *</c>: a string (read as <see cref="string"/> from C#, as a pointer to static UTF-8 from C).</summary>
    String,
    /// <summary>A pointer (<c>uint64_t *</c>, <c>extent_hooks_t *</c>...).</summary>
    Pointer,
    /// <summary>C <c>int64_t</c> (8 bytes, signed).</summary>
    Int64,
}

/// <summary>What a node allows (jemalloc's r-, rw, -w, r- with side effect).</summary>
[Flags]
public enum CtlAccess : byte
{
    /// <summary>Nothing (interior node).</summary>
    None = 0,
    /// <summary>The value can be read.</summary>
    Read = 1,
    /// <summary>A new value can be written.</summary>
    Write = 2,
    /// <summary>The node is an action taking no value.</summary>
    Execute = 4,
    /// <summary>Read and write.</summary>
    ReadWrite = Read | Write,
}
