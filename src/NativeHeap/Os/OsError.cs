// OsError: an errno captured at the point an OS call failed, with the call's name, so an error
// message can say exactly what failed ("mmap(4194304 bytes) failed: ENOMEM (Cannot allocate memory)").
using System.Runtime.InteropServices;

namespace NativeHeap.Os;

/// <summary>An operating-system error: the failing call and its errno.</summary>
public readonly struct OsError
{
    /// <summary>The errno value (0 when there was no error).</summary>
    public int Errno { get; }

    /// <summary>The name of the call that failed, with its main argument.</summary>
    public string? Call { get; }

    internal OsError(int errno, string call)
    {
        Errno = errno;
        Call = call;
    }

    /// <summary>True when this value describes a failure.</summary>
    public bool IsError => Errno != 0;

    /// <summary>The symbolic errno name, e.g. <c>ENOMEM</c>.</summary>
    public string Name => ErrnoName(Errno);

    /// <inheritdoc />
    public override string ToString() =>
        Errno == 0 ? "no error" : $"{Call} failed: {Name} ({Describe(Errno)})";

    internal static unsafe string Describe(int errno)
    {
        byte* s = Libc.strerror(errno);
        return s == null ? $"errno {errno}" : Marshal.PtrToStringUTF8((nint)s) ?? $"errno {errno}";
    }

    internal static string ErrnoName(int errno) => errno switch
    {
        0 => "OK",
        Libc.EPERM => "EPERM",
        Libc.ENOENT => "ENOENT",
        Libc.EINTR => "EINTR",
        Libc.EAGAIN => "EAGAIN",
        Libc.ENOMEM => "ENOMEM",
        Libc.EFAULT => "EFAULT",
        Libc.EBUSY => "EBUSY",
        Libc.EEXIST => "EEXIST",
        Libc.EINVAL => "EINVAL",
        Libc.ENOSPC => "ENOSPC",
        Libc.ENOSYS => "ENOSYS",
        Libc.EOPNOTSUPP => "EOPNOTSUPP",
        9 => "EBADF",
        13 => "EACCES",
        27 => "EFBIG",
        _ => "errno " + errno,
    };
}
