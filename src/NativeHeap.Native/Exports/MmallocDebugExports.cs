// MmallocDebugExports: the rest of GNU mmalloc's C interface — mmcheck/mmcheckf (a corruption
// handler per heap), mmtrace (a trace of every mmalloc-family call), mmstats (struct mstats),
// mmalloc_findbase (a free address range for mmalloc_attach) — and mmalloc_attach_flags, NativeHeap's
// way to open a heap at another address than the one it was created at (MappedHeapOptions.AllowRelocation).
//
//  - mmcheck(md, func): from then on, an mfree or mrealloc of a pointer that is not a live block of md
//    (a wild pointer, a double free: the heap's bounds, alignment and cookie checks) calls func, or
//    aborts with a message when func is NULL, instead of only recording EINVAL. Returns 1 when
//    installed, 0 when md already holds blocks (GNU: "must be called before the first mmalloc") or is
//    unknown; mmcheckf(md, func, force) with force != 0 installs it anyway. NULL md (the general heap)
//    gives 0: use NATIVEHEAP_CONF=checked:true there.
//  - mmtrace(): when MALLOC_TRACE names a file, appends one line per mmalloc-family call on mapped
//    heaps to it ("@ md + ptr size", "@ md - ptr", "@ md < old" / "@ md > new size" for mrealloc) and
//    returns 1; 0 when MALLOC_TRACE is unset or the file cannot be opened.
//  - mmstats(md): bytes_total = the region in use, chunks/bytes used and free from a walk of the
//    heap's blocks; the general heap's allocated and mapped bytes for NULL; zeroes for an unknown md.
//  - mmalloc_findbase(size): an address (1 GiB-aligned, NativeHeap's 16–96 TiB zone) where size bytes
//    are free now, or NULL.
using System.Runtime.InteropServices;
using System.Text;
using NativeHeap.Mapped;
using NativeHeap.Os;

namespace NativeHeap.Native.Exports;

/// <summary>GNU mmalloc's struct mstats.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MStats
{
    public nuint BytesTotal;
    public nuint ChunksUsed;
    public nuint BytesUsed;
    public nuint ChunksFree;
    public nuint BytesFree;
}

internal static unsafe class MmallocDebugExports
{
    private const int MMALLOC_ALLOW_RELOCATION = 1;

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<nint, nint> s_checks = [];   // md → handler (0: abort)
    private static volatile bool s_anyCheck;
    private static StreamWriter? s_trace;

    /// <summary>int mmcheck(void *md, void (*func)(void))</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmcheck")]
    internal static int MmCheck(void* md, void* func) => Install(md, func, force: false);

    /// <summary>int mmcheckf(void *md, void (*func)(void), int force)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmcheckf")]
    internal static int MmCheckF(void* md, void* func, int force) => Install(md, func, force != 0);

    private static int Install(void* md, void* func, bool force)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MappedHeap? heap = md == null ? null : MappedHeapTable.Find(md);
            if (heap == null || (!force && heap.GetStats().AllocatedBlocks > 0)) return 0;
            lock (s_lock) s_checks[(nint)md] = (nint)func;
            s_anyCheck = true;
            return 1;
        }
        catch (Exception)
        {
            return 0;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>Called after an mfree/mrealloc on a mapped heap found <paramref name="ptr"/> not to be a live block: runs the heap's mmcheck handler, if any.</summary>
    internal static void OnBadPointer(void* md, MappedHeap heap, void* ptr, string call)
    {
        if (!s_anyCheck) return;
        nint func;
        lock (s_lock)
        {
            if (!s_checks.TryGetValue((nint)md, out func)) return;
        }
        if (func == 0) OsProcess.AbortWithMessage($"{call}: mmcheck: 0x{(nuint)ptr:x} is not a live block of the heap at 0x{(nuint)md:x} ({heap.LastError})");
        ((delegate* unmanaged<void>)func)();
    }

    /// <summary>Forgets a detached heap's handler.</summary>
    internal static void OnDetach(void* md)
    {
        if (!s_anyCheck) return;
        lock (s_lock) s_checks.Remove((nint)md);
    }

    /// <summary>int mmtrace(void): 1 when tracing to $MALLOC_TRACE started (or was on), else 0.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmtrace")]
    internal static int MmTrace()
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            string? path = Environment.GetEnvironmentVariable("MALLOC_TRACE");
            if (string.IsNullOrEmpty(path)) return 0;
            lock (s_lock)
            {
                s_trace ??= new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false)) { AutoFlush = true };
                s_trace.WriteLine("= Start");
            }
            return 1;
        }
        catch (Exception)
        {
            return 0;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>True while tracing (checked before formatting a line).</summary>
    internal static bool Tracing => s_trace != null;

    /// <summary>Appends one trace line (mmtrace).</summary>
    internal static void Trace(string line)
    {
        lock (s_lock)
        {
            try
            {
                s_trace?.WriteLine(line);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>struct mstats mmstats(void *md)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmstats")]
    internal static MStats MmStats(void* md)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            if (md == null)
            {
                HeapStats s = Heap.GetStats();
                return new MStats { BytesTotal = (nuint)s.Mapped, BytesUsed = (nuint)s.Allocated, BytesFree = (nuint)Math.Max(0, s.Active - s.Allocated) };
            }
            MappedHeap? heap = MappedHeapTable.Find(md);
            if (heap == null) return default;
            MappedHeapStats st = heap.GetStats();
            return new MStats
            {
                BytesTotal = (nuint)st.RegionSize,
                ChunksUsed = (nuint)st.AllocatedBlocks,
                BytesUsed = (nuint)st.UsedBytes,
                ChunksFree = (nuint)st.FreeBlocks,
                BytesFree = (nuint)st.FreeBytes,
            };
        }
        catch (Exception)
        {
            return default;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>void *mmalloc_findbase(int size): a 1 GiB-aligned address where size bytes are free now, or NULL.</summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc_findbase")]
    internal static void* FindBase(int size)
    {
        if (size <= 0) return null;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            nuint bytes = ((nuint)size + 4095) & ~(nuint)4095;
            const long zoneStart = 16L << 40, zoneEnd = 96L << 40, align = 1L << 30;
            for (long at = zoneStart + ((long)(Environment.ProcessId % 1024) << 30); at + (long)bytes < zoneEnd; at += align)
            {
                if (OsMemory.TryMapAt((void*)at, bytes, out _))
                {
                    OsMemory.TryUnmap((void*)at, bytes, out _);
                    return (void*)at;
                }
            }
            return null;
        }
        catch (Exception)
        {
            return null;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// void *mmalloc_attach_flags(int fd, void *baseaddr, int flags): mmalloc_attach with NativeHeap's
    /// options; MMALLOC_ALLOW_RELOCATION (1) lets an existing heap open at baseaddr (or anywhere when
    /// NULL and its recorded range is taken) although it was created elsewhere — its raw pointers are
    /// then wrong; keys (stored as offsets) follow the heap. Unknown flags: NULL, errno EINVAL.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "mmalloc_attach_flags")]
    internal static void* AttachFlags(int fd, void* baseaddr, int flags)
    {
        int* errno = CBoundary.Errno();
        if ((flags & ~MMALLOC_ALLOW_RELOCATION) != 0)
        {
            *errno = CBoundary.EINVAL;
            return null;
        }
        return MmallocExports.AttachCore(fd, baseaddr, (flags & MMALLOC_ALLOW_RELOCATION) != 0);
    }
}
