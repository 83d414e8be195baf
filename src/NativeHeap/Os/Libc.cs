// Libc: raw bindings to the C library, the only place in NativeHeap that declares OS entry points.
//
// Terms: every binding here is a thin LibraryImport with SetLastError where errno matters; callers
// never use these directly outside the Os folder: they go through OsMemory / OsThread / OsFile,
// which state each call's contract and turn errno into an OsError. The class is partial so that each
// front end (mapped heaps, lock-free heap, kinds) can add the bindings it needs in its own file
// (Libc.Files.cs, Libc.Numa.cs, ...) without touching this one.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeHeap.Os;

internal static unsafe partial class Libc
{
    private const string LibName = "libc";

    // mmap protection and flags (x86-64 Linux values).
    internal const int PROT_NONE = 0x0, PROT_READ = 0x1, PROT_WRITE = 0x2;
    internal const int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20;
    internal const int MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_HUGETLB = 0x40000;
    internal const int MAP_FIXED_NOREPLACE = 0x100000;
    internal const int MAP_HUGE_SHIFT = 26;
    internal static readonly void* MAP_FAILED = (void*)-1;

    internal const int MADV_NORMAL = 0, MADV_DONTNEED = 4, MADV_FREE = 8, MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15;

    internal const int _SC_PAGESIZE = 30, _SC_NPROCESSORS_ONLN = 84;

    // errno values used across the code.
    internal const int EPERM = 1, ENOENT = 2, EINTR = 4, EAGAIN = 11, ENOMEM = 12, EFAULT = 14, EBUSY = 16,
        EEXIST = 17, EINVAL = 22, ENOSPC = 28, ENOSYS = 38, EOPNOTSUPP = 95;

    internal const long SYS_futex = 202, SYS_mbind = 237, SYS_set_mempolicy = 238, SYS_get_mempolicy = 239,
        SYS_gettid = 186;
    internal const int FUTEX_WAIT_PRIVATE = 128, FUTEX_WAKE_PRIVATE = 129;

    [LibraryImport(LibName, EntryPoint = "mmap", SetLastError = true)]
    internal static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(LibName, EntryPoint = "munmap", SetLastError = true)]
    internal static partial int munmap(void* addr, nuint length);

    [LibraryImport(LibName, EntryPoint = "madvise", SetLastError = true)]
    internal static partial int madvise(void* addr, nuint length, int advice);

    [LibraryImport(LibName, EntryPoint = "mincore", SetLastError = true)]
    internal static partial int mincore(void* addr, nuint length, byte* vec);

    [LibraryImport(LibName, EntryPoint = "mprotect", SetLastError = true)]
    internal static partial int mprotect(void* addr, nuint length, int prot);


    [LibraryImport(LibName, EntryPoint = "sysconf", SetLastError = true)]
    internal static partial long sysconf(int name);

    // syscall(2) with up to six integer arguments: futex, mbind, get_mempolicy, ...
    [LibraryImport(LibName, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    // The futex calls are on lock slow paths; SuppressGCTransition is not used because FUTEX_WAIT blocks.
    [LibraryImport(LibName, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall_futex(long number, int* uaddr, int op, int val, void* timeout, void* uaddr2, int val3);

    [LibraryImport(LibName, EntryPoint = "pthread_key_create")]
    internal static partial int pthread_key_create(uint* key, void* destructor);

    [LibraryImport(LibName, EntryPoint = "sem_init", SetLastError = true)]
    internal static partial int sem_init(void* sem, int pshared, uint value);

    // No SetLastError: the only caller (OsThread.HasExited) needs just the result, and it runs inside
    // lock-free heap operations, where the errno bookkeeping is not wanted.
    [LibraryImport(LibName, EntryPoint = "sem_trywait")]
    [SuppressGCTransition]
    internal static partial int sem_trywait(void* sem);

    [LibraryImport(LibName, EntryPoint = "sem_destroy")]
    internal static partial int sem_destroy(void* sem);

    [LibraryImport(LibName, EntryPoint = "pthread_setspecific")]
    [SuppressGCTransition]
    internal static partial int pthread_setspecific(uint key, void* value);


    [LibraryImport(LibName, EntryPoint = "getpid")]
    [SuppressGCTransition]
    internal static partial int getpid();

    [LibraryImport(LibName, EntryPoint = "strerror")]
    internal static partial byte* strerror(int errnum);

    /// <summary>The errno left by the last LibraryImport call made with SetLastError on this thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Errno() => Marshal.GetLastPInvokeError();
}
