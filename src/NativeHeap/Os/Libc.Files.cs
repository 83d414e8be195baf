// Libc.Files: bindings for files and file-backed mappings, used by the mapped heaps through OsFile.
//
// Terms: "fd" is a file descriptor; every call here sets errno on failure (SetLastError = true) and
// is wrapped by OsFile, which states its contract and turns errno into an OsError. Constants are the
// x86-64 Linux values.
using System.Runtime.InteropServices;

namespace NativeHeap.Os;

internal static unsafe partial class Libc
{
    internal const int O_RDONLY = 0x0, O_RDWR = 0x2, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000;
    internal const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    internal const int MS_ASYNC = 1, MS_SYNC = 4;
    internal const int SEEK_END = 2;
    internal const int EBADF = 9, EACCES = 13, EFBIG = 27, EWOULDBLOCK = EAGAIN;

    // open(2) is variadic in C; passing the mode as a third int argument is what the x86-64 ABI expects.
    [LibraryImport(LibName, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags, int mode);

    [LibraryImport(LibName, EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(LibName, EntryPoint = "dup", SetLastError = true)]
    internal static partial int dup(int fd);

    [LibraryImport(LibName, EntryPoint = "lseek", SetLastError = true)]
    internal static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(LibName, EntryPoint = "ftruncate", SetLastError = true)]
    internal static partial int ftruncate(int fd, long length);

    [LibraryImport(LibName, EntryPoint = "fallocate", SetLastError = true)]
    internal static partial int fallocate(int fd, int mode, long offset, long length);

    [LibraryImport(LibName, EntryPoint = "flock", SetLastError = true)]
    internal static partial int flock(int fd, int operation);

    [LibraryImport(LibName, EntryPoint = "pread", SetLastError = true)]
    internal static partial nint pread(int fd, void* buffer, nuint count, long offset);

    [LibraryImport(LibName, EntryPoint = "msync", SetLastError = true)]
    internal static partial int msync(void* addr, nuint length, int flags);

    [LibraryImport(LibName, EntryPoint = "fdatasync", SetLastError = true)]
    internal static partial int fdatasync(int fd);

    [LibraryImport(LibName, EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int link(string oldPath, string newPath);

    [LibraryImport(LibName, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int unlink(string path);
}
