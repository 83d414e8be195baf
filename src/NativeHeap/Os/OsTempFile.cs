// OsTempFile: the verbs file-backed memory kinds need — an anonymous temporary file in a chosen
// directory (no name left behind), a shared mapping of it at a chosen alignment, hole punching, and
// the count of the file's allocated bytes.
//
// Contract (as OsFile's): Try methods return true on success, else false with errno as an OsError;
// descriptors are O_CLOEXEC; EINTR is retried for fallocate. Offsets and sizes are in bytes, page
// multiples for mappings and holes.
namespace NativeHeap.Os;

internal static unsafe class OsTempFile
{
    /// <summary>
    /// Creates a read-write file in <paramref name="directory"/> that has no name: O_TMPFILE when the
    /// file system supports it, else a uniquely named file (O_CREAT | O_EXCL, mode 0600) unlinked at
    /// once. The file disappears when the descriptor is closed.
    /// </summary>
    internal static bool TryCreateUnlinked(string directory, out int fd, out OsError error)
    {
        fd = Libc.open(directory, Libc.O_TMPFILE | Libc.O_RDWR | Libc.O_CLOEXEC, 0x180 /* 0600 */);
        if (fd >= 0)
        {
            error = default;
            return true;
        }
        int errno = Libc.Errno();
        if (errno != Libc.EOPNOTSUPP && errno != Libc.EISDIR && errno != Libc.EINVAL)
        {
            error = new OsError(errno, $"open({directory}, O_TMPFILE)");
            return false;
        }
        for (int attempt = 0; attempt < 16; attempt++)
        {
            string path = Path.Combine(directory, $"nheap-kind-{Environment.ProcessId}-{Random.Shared.NextInt64():x}");
            fd = Libc.open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0x180);
            if (fd < 0)
            {
                errno = Libc.Errno();
                if (errno == Libc.EEXIST) continue;
                error = new OsError(errno, $"open({path}, O_CREAT|O_EXCL)");
                return false;
            }
            if (Libc.unlink(path) != 0)
            {
                errno = Libc.Errno();
                Libc.close(fd);
                fd = -1;
                error = new OsError(errno, $"unlink({path})");
                return false;
            }
            error = default;
            return true;
        }
        fd = -1;
        error = new OsError(Libc.EEXIST, $"open({directory}/nheap-kind-*)");
        return false;
    }

    /// <summary>Sets the file's size (ftruncate); growing makes a hole, allocating no blocks.</summary>
    internal static bool TrySetSize(int fd, long size, out OsError error)
    {
        if (Libc.ftruncate(fd, size) != 0)
        {
            error = new OsError(Libc.Errno(), $"ftruncate({fd}, {size})");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>
    /// Maps the file's first <paramref name="size"/> bytes shared and read-write, starting at an
    /// address aligned to <paramref name="alignment"/>; <paramref name="fileOffset"/> is the file
    /// offset mapped at <paramref name="addr"/>. The file must be at least
    /// <paramref name="fileOffset"/> + <paramref name="size"/> bytes long (it maps alignment − page
    /// bytes more than it keeps, then unmaps the excess).
    /// </summary>
    internal static bool TryMapAligned(int fd, nuint size, nuint alignment, out void* addr, out long fileOffset, out OsError error)
    {
        addr = null;
        fileOffset = 0;
        nuint total = size + alignment - (nuint)OsMemory.PageSize;
        void* raw = Libc.mmap(null, total, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (raw == Libc.MAP_FAILED)
        {
            error = new OsError(Libc.Errno(), $"mmap(shared, fd {fd}, {total} bytes)");
            return false;
        }
        nuint start = ((nuint)raw + alignment - 1) & ~(alignment - 1);
        nuint lead = start - (nuint)raw, trail = total - lead - size;
        if (lead != 0) Libc.munmap(raw, lead);
        if (trail != 0) Libc.munmap((void*)(start + size), trail);
        addr = (void*)start;
        fileOffset = (long)lead;
        error = default;
        return true;
    }

    /// <summary>
    /// Frees the file's blocks in [offset, offset+length) and keeps its size (fallocate
    /// PUNCH_HOLE | KEEP_SIZE): shared mappings of the range read zeroes afterwards.
    /// </summary>
    internal static bool TryPunchHole(int fd, long offset, long length, out OsError error)
    {
        int r;
        do r = Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, offset, length);
        while (r != 0 && Libc.Errno() == Libc.EINTR);
        if (r != 0)
        {
            error = new OsError(Libc.Errno(), $"fallocate(PUNCH_HOLE|KEEP_SIZE, fd {fd}, offset {offset}, {length} bytes)");
            return false;
        }
        error = default;
        return true;
    }

    /// <summary>Bytes of storage the file holds (fstat st_blocks × 512), as opposed to its apparent size.</summary>
    internal static bool TryGetAllocatedBytes(int fd, out long bytes, out OsError error)
    {
        byte* st = stackalloc byte[Libc.StatSize];
        if (Libc.fstat(fd, st) != 0)
        {
            bytes = 0;
            error = new OsError(Libc.Errno(), $"fstat({fd})");
            return false;
        }
        bytes = *(long*)(st + Libc.StatBlocksOffset) * 512;
        error = default;
        return true;
    }
}
