// Libc.Kinds: bindings used by memory kinds (src/NativeHeap/Kinds) through OsNuma, OsHugePages and
// OsTempFile: NUMA memory policy (mbind / get_mempolicy, issued through syscall(2) because glibc has
// no wrappers without libnuma), fstat for a file's allocated blocks, and the constants of
// O_TMPFILE, fallocate hole punching and huge pages. x86-64 Linux values.
namespace NativeHeap.Os;

internal static unsafe partial class Libc
{
    // Memory policy modes (linux/mempolicy.h).
    internal const int MPOL_DEFAULT = 0, MPOL_PREFERRED = 1, MPOL_BIND = 2, MPOL_INTERLEAVE = 3, MPOL_LOCAL = 4;
    // get_mempolicy flags.
    internal const int MPOL_F_NODE = 1, MPOL_F_ADDR = 2, MPOL_F_MEMS_ALLOWED = 4;

    // open(2): O_TMPFILE = __O_TMPFILE | O_DIRECTORY.
    internal const int O_TMPFILE = 0x410000, O_DIRECTORY = 0x10000;
    internal const int EISDIR = 21;

    // fallocate(2) modes.
    internal const int FALLOC_FL_KEEP_SIZE = 0x01, FALLOC_FL_PUNCH_HOLE = 0x02;

    // MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT (log2 of the huge page size in the flags' top bits).
    internal const int MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;

    /// <summary>struct stat on x86-64 is 144 bytes; st_size is at offset 48, st_blocks (512-byte units) at 64.</summary>
    internal const int StatSize = 144, StatSizeOffset = 48, StatBlocksOffset = 64;

    [LibraryImport(LibName, EntryPoint = "fstat", SetLastError = true)]
    internal static partial int fstat(int fd, byte* statBuffer);
}
