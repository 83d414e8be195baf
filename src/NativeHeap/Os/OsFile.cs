// OsFile: the file vocabulary of the OS layer for file-backed heaps: open, lock, size, extend,
// truncate, read a prefix, map shared, change protection, sync.
//
// Contract of every method here (the same as OsMemory's):
//  - a Try method returns true on success; on failure it returns false and reports the errno and
//    the call through an OsError; it never throws for an OS failure;
//  - EINTR is retried where the call can be interrupted (flock, fallocate, pread, fdatasync);
//  - sizes and offsets are in bytes; mapping sizes are multiples of the page size;
//  - descriptors are opened with O_CLOEXEC so child processes never inherit a heap's file or lock.
// Locks are flock(2) locks: they belong to the open file description, so a second open() of the same
// file, in this process or another, conflicts with an exclusive lock, and the lock vanishes when the
// last descriptor of that description is closed (including when the process is killed).
namespace NativeHeap.Os;

internal static unsafe class OsFile
{
    /// <summary>
    /// Opens <paramref name="path"/> for reading, or for reading and writing; with
    /// <paramref name="create"/> the file is created (mode 0644) when missing, with
    /// <paramref name="exclusive"/> the call fails with EEXIST when it already exists.
    /// </summary>
    internal static bool TryOpen(string path, bool write, bool create, bool exclusive, out int fd, out OsError error)
    {
        int flags = (write ? Libc.O_RDWR : Libc.O_RDONLY) | Libc.O_CLOEXEC;
        if (create) flags |= Libc.O_CREAT;
        if (exclusive) flags |= Libc.O_EXCL;
        fd = Libc.open(path, flags, 0x1A4 /* 0644 */);
        if (fd < 0)
        {
            error = new OsError(Libc.Errno(), $"open({path})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Duplicates a descriptor (dup): the copy shares the open file description and its flock lock.</summary>
    internal static bool TryDuplicate(int fd, out int copy, out OsError error)
    {
        copy = Libc.dup(fd);
        if (copy < 0)
        {
            error = new OsError(Libc.Errno(), $"dup({fd})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Closes a descriptor. Failure (EBADF) means a bookkeeping bug and is reported.</summary>
    internal static bool TryClose(int fd, out OsError error)
    {
        if (Libc.close(fd) != 0)
        {
            error = new OsError(Libc.Errno(), $"close({fd})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>The current size of the file in bytes (lseek to the end; the file offset is not used elsewhere).</summary>
    internal static bool TryGetSize(int fd, out long size, out OsError error)
    {
        size = Libc.lseek(fd, 0, Libc.SEEK_END);
        if (size < 0)
        {
            error = new OsError(Libc.Errno(), $"lseek({fd}, SEEK_END)");
            size = 0;
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Takes a non-blocking flock lock: exclusive for a writer, shared for a reader. When another
    /// open file description holds a conflicting lock the call fails at once with EWOULDBLOCK (EAGAIN).
    /// </summary>
    internal static bool TryLock(int fd, bool exclusive, out OsError error)
    {
        int op = (exclusive ? Libc.LOCK_EX : Libc.LOCK_SH) | Libc.LOCK_NB;
        int rc;
        do { rc = Libc.flock(fd, op); } while (rc != 0 && Libc.Errno() == Libc.EINTR);
        if (rc != 0)
        {
            error = new OsError(Libc.Errno(), $"flock({fd}, {(exclusive ? "LOCK_EX" : "LOCK_SH")}|LOCK_NB)");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Makes the file at least <paramref name="newSize"/> bytes long with its blocks allocated
    /// (fallocate), so that later stores through a mapping cannot fail with SIGBUS for lack of disk
    /// space; falls back to ftruncate on file systems without fallocate. Never shrinks the file.
    /// </summary>
    internal static bool TryExtend(int fd, long oldSize, long newSize, out OsError error)
    {
        if (newSize <= oldSize)
        {
            error = default;
            return true;
        }
        int rc;
        do { rc = Libc.fallocate(fd, 0, oldSize, newSize - oldSize); } while (rc != 0 && Libc.Errno() == Libc.EINTR);
        if (rc == 0)
        {
            error = default;
            return true;
        }
        int errno = Libc.Errno();
        if (errno != Libc.EOPNOTSUPP && errno != Libc.ENOSYS)
        {
            error = new OsError(errno, $"fallocate({fd}, {oldSize}, +{newSize - oldSize})");
            return false;
        }
        return TryTruncate(fd, newSize, out error);
    }

    /// <summary>Sets the file's size (ftruncate): shrinking drops the tail's blocks, growing adds a hole.</summary>
    internal static bool TryTruncate(int fd, long size, out OsError error)
    {
        if (Libc.ftruncate(fd, size) != 0)
        {
            error = new OsError(Libc.Errno(), $"ftruncate({fd}, {size})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Reads up to <paramref name="count"/> bytes at <paramref name="offset"/> (pread); <paramref name="read"/> is short at end of file.</summary>
    internal static bool TryReadAt(int fd, byte* buffer, int count, long offset, out int read, out OsError error)
    {
        read = 0;
        while (read < count)
        {
            nint n = Libc.pread(fd, buffer + read, (nuint)(count - read), offset + read);
            if (n < 0)
            {
                if (Libc.Errno() == Libc.EINTR) continue;
                error = new OsError(Libc.Errno(), $"pread({fd}, {count} bytes at {offset})");
                return false;
            }
            if (n == 0) break;
            read += (int)n;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Maps <paramref name="size"/> bytes of the file from offset 0, shared (stores reach the page
    /// cache and so the file). With a non-null <paramref name="at"/> the mapping is placed exactly
    /// there or the call fails with EEXIST (MAP_FIXED_NOREPLACE, nothing is replaced). The mapping may
    /// extend past the end of the file: such pages must not be touched (SIGBUS) until the file grows.
    /// </summary>
    internal static bool TryMapShared(int fd, void* at, nuint size, bool write, out void* addr, out OsError error)
    {
        int prot = Libc.PROT_READ | (write ? Libc.PROT_WRITE : 0);
        int flags = Libc.MAP_SHARED | (at != null ? Libc.MAP_FIXED_NOREPLACE : 0);
        void* p = Libc.mmap(at, size, prot, flags, fd, 0);
        if (p == Libc.MAP_FAILED)
        {
            addr = null;
            error = new OsError(Libc.Errno(), at != null ? $"mmap(shared, fixed {(nuint)at:x}, {size} bytes)" : $"mmap(shared, {size} bytes)");
            return false;
        }
        if (at != null && p != at)
        {
            Libc.munmap(p, size);
            addr = null;
            error = new OsError(Libc.EEXIST, $"mmap(shared, fixed {(nuint)at:x}, {size} bytes)");
            return false;
        }
        addr = p;
        error = default;
        return true;
    }

    /// <summary>Changes a mapping's protection to read-only or read-write (mprotect).</summary>
    internal static bool TryProtect(void* addr, nuint size, bool write, out OsError error)
    {
        int prot = Libc.PROT_READ | (write ? Libc.PROT_WRITE : 0);
        if (Libc.mprotect(addr, size, prot) != 0)
        {
            error = new OsError(Libc.Errno(), $"mprotect({(nuint)addr:x}, {size}, {(write ? "PROT_READ|PROT_WRITE" : "PROT_READ")})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Writes the mapped range back to the file and waits (msync MS_SYNC), then flushes the file's
    /// size and data (fdatasync): after it returns the range survives a machine crash.
    /// </summary>
    internal static bool TrySync(void* addr, nuint size, int fd, out OsError error)
    {
        if (Libc.msync(addr, size, Libc.MS_SYNC) != 0)
        {
            error = new OsError(Libc.Errno(), $"msync({(nuint)addr:x}, {size}, MS_SYNC)");
            return false;
        }
        if (fd >= 0)
        {
            int rc;
            do { rc = Libc.fdatasync(fd); } while (rc != 0 && Libc.Errno() == Libc.EINTR);
            if (rc != 0)
            {
                error = new OsError(Libc.Errno(), $"fdatasync({fd})");
                return false;
            }
        }
        error = default;
        return true;
    }

    /// <summary>Gives <paramref name="existing"/> a second name (link); fails with EEXIST when the new name is taken.</summary>
    internal static bool TryLink(string existing, string newPath, out OsError error)
    {
        if (Libc.link(existing, newPath) != 0)
        {
            error = new OsError(Libc.Errno(), $"link({existing}, {newPath})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Removes a name (unlink); the file lives on while descriptors or mappings refer to it.</summary>
    internal static bool TryUnlink(string path, out OsError error)
    {
        if (Libc.unlink(path) != 0)
        {
            error = new OsError(Libc.Errno(), $"unlink({path})");
            return false;
        }
        error = default;
        return true;
    }
}
