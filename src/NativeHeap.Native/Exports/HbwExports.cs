// HbwExports: memkind's hbwmalloc.h interface (hbw_*), 1.14, on memkind's HBW kinds.
//
// The fallback policy (hbw_set_policy, once, before the first hbw allocation) picks the kind:
// PREFERRED (default) → MEMKIND_HBW_PREFERRED (ordinary memory when the machine has no HBW nodes),
// BIND → MEMKIND_HBW, BIND_ALL → MEMKIND_HBW_ALL, INTERLEAVE → MEMKIND_HBW_INTERLEAVE (not provided:
// NULL). hbw_posix_memalign_psize with HBW_PAGESIZE_2MB asks for HBW huge pages, which NativeHeap
// does not provide (ENOMEM). Size 0 gives NULL, as memkind. hbw_check_available: 0 or ENODEV.
using System.Runtime.InteropServices;
using NativeHeap.Kinds;
using NativeHeap.Os;

namespace NativeHeap.Native.Exports;

/// <summary>C exports with hbwmalloc's names.</summary>
internal static unsafe class HbwExports
{
    private const int HBW_POLICY_BIND = 1, HBW_POLICY_PREFERRED = 2, HBW_POLICY_INTERLEAVE = 3, HBW_POLICY_BIND_ALL = 4;
    private const int ENODEV = 19, EPERM = 1;

    private static int s_policy = HBW_POLICY_PREFERRED;
    private static int s_policyFixed;   // 1 once set or once an hbw allocation happened

    private static void* Kind()
    {
        if (Volatile.Read(ref s_policyFixed) == 0) Volatile.Write(ref s_policyFixed, 1);   // no store per call once fixed
        return MemkindHandles.nh_memkind_predefined(Volatile.Read(ref s_policy) switch
        {
            HBW_POLICY_BIND => MemkindHandles.Hbw,
            HBW_POLICY_BIND_ALL => MemkindHandles.HbwAll,
            HBW_POLICY_INTERLEAVE => MemkindHandles.HbwInterleave,
            _ => MemkindHandles.HbwPreferred,
        });
    }

    /// <summary>hbw_policy_t hbw_get_policy(void)</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_get_policy")]
    internal static int GetPolicy() => Volatile.Read(ref s_policy);

    /// <summary>int hbw_set_policy(hbw_policy_t mode): 0; EINVAL for an unknown mode; EPERM after a previous set or an hbw allocation.</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_set_policy")]
    internal static int SetPolicy(int mode)
    {
        if (mode < HBW_POLICY_BIND || mode > HBW_POLICY_BIND_ALL) return CBoundary.EINVAL;
        if (Interlocked.Exchange(ref s_policyFixed, 1) != 0) return EPERM;
        Volatile.Write(ref s_policy, mode);
        return 0;
    }

    /// <summary>int hbw_check_available(void): 0 when the machine has high-bandwidth memory, else ENODEV.</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_check_available")]
    internal static int CheckAvailable()
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            return MemoryKind.HbwNodeList.Count > 0 ? 0 : ENODEV;
        }
        catch (Exception)
        {
            return ENODEV;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// int hbw_verify_memory_region(void *addr, size_t size, int flags): 0 when every page of the range
    /// is on a high-bandwidth node, -1 when one is not, EINVAL for NULL, size 0 or unknown flags, EFAULT
    /// when a page's node cannot be read. HBW_TOUCH_PAGES first reads and writes back each page's first byte.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_verify_memory_region")]
    internal static int VerifyMemoryRegion(byte* addr, nuint size, int flags)
    {
        if (addr == null || size == 0 || (flags & ~1) != 0) return CBoundary.EINVAL;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            var hbw = new HashSet<int>(MemoryKind.HbwNodeList);
            nuint page = (nuint)OsMemory.PageSize;
            byte* first = (byte*)((nuint)addr & ~(page - 1));
            for (byte* p = first; p < addr + size; p += page)
            {
                if ((flags & 1) != 0)
                {
                    byte* q = p < addr ? addr : p;
                    Volatile.Write(ref *q, Volatile.Read(ref *q));
                }
                if (!OsNuma.TryGetNodeOf(p < addr ? addr : p, out int node, out _)) return Libc.EFAULT;
                if (!hbw.Contains(node)) return -1;
            }
            return 0;
        }
        catch (Exception)
        {
            return Libc.EFAULT;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>void *hbw_malloc(size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_malloc")]
    internal static void* Malloc(nuint size) => MemkindExports.MallocCore(Kind(), size);

    /// <summary>void *hbw_calloc(size_t num, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_calloc")]
    internal static void* Calloc(nuint num, nuint size) => MemkindExports.CallocCore(Kind(), num, size);

    /// <summary>void *hbw_realloc(void *ptr, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_realloc")]
    internal static void* Realloc(void* ptr, nuint size) => MemkindExports.ReallocCore(Kind(), ptr, size);

    /// <summary>void hbw_free(void *ptr)</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_free")]
    internal static void Free(void* ptr) => MemkindExports.FreeCore(null, ptr);

    /// <summary>size_t hbw_malloc_usable_size(void *ptr): 0 for NULL.</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_malloc_usable_size")]
    internal static nuint UsableSize(void* ptr) => MemoryKind.UsableSize(ptr);

    /// <summary>int hbw_posix_memalign(void **memptr, size_t alignment, size_t size): 0, EINVAL or ENOMEM.</summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_posix_memalign")]
    internal static int PosixMemalign(void** memptr, nuint alignment, nuint size) => MemkindExports.PosixMemalignCore(Kind(), memptr, alignment, size);

    /// <summary>
    /// int hbw_posix_memalign_psize(void **memptr, size_t alignment, size_t size, hbw_pagesize_t pagesize):
    /// HBW_PAGESIZE_4KB as hbw_posix_memalign; HBW_PAGESIZE_2MB needs HBW huge pages (ENOMEM here);
    /// EINVAL for another page size.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "hbw_posix_memalign_psize")]
    internal static int PosixMemalignPsize(void** memptr, nuint alignment, nuint size, int pagesize)
    {
        if (pagesize == 1) return MemkindExports.PosixMemalignCore(Kind(), memptr, alignment, size);
        if (pagesize != 2 || memptr == null || alignment < (nuint)sizeof(void*) || (alignment & (alignment - 1)) != 0) return CBoundary.EINVAL;
        int policy = Volatile.Read(ref s_policy);
        void* kind = MemkindHandles.nh_memkind_predefined(policy == HBW_POLICY_PREFERRED ? MemkindHandles.HbwPreferredHugeTlb
            : policy == HBW_POLICY_BIND_ALL ? MemkindHandles.HbwAllHugeTlb : MemkindHandles.HbwHugeTlb);
        Volatile.Write(ref s_policyFixed, 1);
        return MemkindExports.PosixMemalignCore(kind, memptr, alignment, size);
    }
}
