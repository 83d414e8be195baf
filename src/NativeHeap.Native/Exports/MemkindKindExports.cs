// MemkindKindExports: memkind's kind management, configuration, statistics, error and version calls
// under memkind's names (memkind(3), 1.14). Status-returning calls return memkind's codes
// (MEMKIND_SUCCESS, MEMKIND_ERROR_*); errno is left alone except where memkind sets it
// (memkind_create_pmem on a missing directory: ENOENT / ENOTDIR; memkind_check_dax_path).
// Creation failures map to memkind's codes: no kind slot left (MEMKIND_MAX_KIND live kinds) →
// MEMKIND_ERROR_TOOMANY, no general-heap arena left → MEMKIND_ERROR_ARENAS_CREATE, bad arguments,
// directory or area → MEMKIND_ERROR_INVALID.
using System.Runtime.InteropServices;
using System.Text;
using NativeHeap.Kinds;
using NativeHeap.Os;
using static NativeHeap.Native.Exports.MemkindHandles;

namespace NativeHeap.Native.Exports;

/// <summary>memkind's struct memkind_config (what memkind_config_set_* store; the path is not copied, as in memkind).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MemkindConfig
{
    public byte* PmemDir;
    public nuint PmemSize;
    public int Policy;
}

/// <summary>C exports with memkind's names: kinds, configuration, statistics, messages.</summary>
internal static unsafe class MemkindKindExports
{
    private const int MEMKIND_PMEM_MIN_SIZE = 16 << 20;
    private const long UnlimitedPmem = 32L << 30;
    private static readonly Lock s_statsLock = new();
    private static Dictionary<int, KindStats> s_cachedStats = [];

    /// <summary>int memkind_get_version(void): major * 1000000 + minor * 1000 + patch of the memkind API provided (1.14.0).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_get_version")]
    internal static int GetVersion() => 1_014_000;

    /// <summary>void memkind_error_message(int err, char *msg, size_t size): memkind's message for a status code, truncated to size - 1 bytes.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_error_message")]
    internal static void ErrorMessage(int err, byte* msg, nuint size)
    {
        if (msg == null || size == 0) return;
        string text = err switch
        {
            MEMKIND_ERROR_UNAVAILABLE => "Requested memory kind is not available",
            -2 => "Call to mbind() failed",
            MEMKIND_ERROR_MMAP => "Call to mmap() failed",
            -6 => "Call to malloc() failed",
            -12 => "Error parsing environment variable (MEMKIND_*)",
            MEMKIND_ERROR_INVALID => "Invalid input arguments to memkind routine",
            MEMKIND_ERROR_TOOMANY => $"Attempted to initialize more than maximum ({MemoryKind.MaxKinds}) number of kinds",
            MEMKIND_ERROR_BADOPS => "memkind_ops structure is poorly formed (missing or incorrect functions)",
            MEMKIND_ERROR_HUGETLB => "unable to allocate huge pages",
            MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE => "Requested memory type is not available",
            MEMKIND_ERROR_OPERATION_FAILED => "Operation failed",
            MEMKIND_ERROR_ARENAS_CREATE => "Call to jemalloc's arenas.create () failed",
            MEMKIND_ERROR_RUNTIME => "Unspecified run-time error",
            _ => $"Undefined error number: {err}",
        };
        byte[] bytes = Encoding.UTF8.GetBytes("<memkind> " + text);
        int n = (int)Math.Min((nuint)bytes.Length, size - 1);
        for (int i = 0; i < n; i++) msg[i] = bytes[i];
        msg[n] = 0;
    }

    /// <summary>int memkind_check_available(memkind_t kind): MEMKIND_SUCCESS, or memkind's reason code for a kind this machine cannot serve.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_check_available")]
    internal static int CheckAvailable(void* handle)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            int index = PredefinedIndex(handle);
            if (index >= 0) return CheckPredefined(index);
            MemkindOps* ops = OpsOf(handle);
            if (ops != null && ops->CheckAvailable != null) return ops->CheckAvailable((MemkindHandle*)handle);
            MemoryKind? kind = KindOf(handle, out _);
            return kind != null && kind.CheckAvailable(out _) ? MEMKIND_SUCCESS : MEMKIND_ERROR_UNAVAILABLE;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_UNAVAILABLE;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// int memkind_create_pmem(const char *dir, size_t max_size, memkind_t *kind): a file-backed kind in
    /// dir (a temporary file, unlinked at once). max_size 0 means no limit of the kind's own (NativeHeap
    /// caps it at 32 GiB, reserving twice that in address space); otherwise at least
    /// MEMKIND_PMEM_MIN_SIZE (16 MiB). MEMKIND_ERROR_INVALID for bad arguments or an unusable directory
    /// (errno ENOENT / ENOTDIR when it does not exist), TOOMANY / ARENAS_CREATE when no kind or arena is left.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_create_pmem")]
    internal static int CreatePmem(byte* dir, nuint maxSize, void** kindOut) => CreatePmemCore(dir, maxSize, MemoryUsagePolicy.Default, kindOut);

    private static int CreatePmemCore(byte* dir, nuint maxSize, MemoryUsagePolicy policy, void** kindOut)
    {
        if (dir == null || kindOut == null || (maxSize != 0 && maxSize < MEMKIND_PMEM_MIN_SIZE)) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            string path = Marshal.PtrToStringUTF8((nint)dir)!;
            if (!Directory.Exists(path))
            {
                *errno = File.Exists(path) ? 20 /* ENOTDIR */ : Libc.ENOENT;
                return MEMKIND_ERROR_INVALID;
            }
            long max = maxSize == 0 || (ulong)maxSize > UnlimitedPmem ? UnlimitedPmem : (long)maxSize;
            var options = new KindOptions { UsagePolicy = policy };
            int rc = MemoryKind.TryCreatePmem(path, max, options, out MemoryKind? kind, out _) ? Created(kind!, kindOut) : CreateFailureCode();
            *errno = saved;
            return rc;
        }
        catch (Exception)
        {
            *errno = saved;
            return MEMKIND_ERROR_INVALID;
        }
    }

    private static int Created(MemoryKind kind, void** kindOut)
    {
        *kindOut = HandleOf(kind);
        return MEMKIND_SUCCESS;
    }

    /// <summary>memkind's code for the calling thread's last failed kind creation.</summary>
    internal static int CreateFailureCode() => MemoryKind.t_lastCreateFailure switch
    {
        MemoryKind.CreateFailure.NoSlot => MEMKIND_ERROR_TOOMANY,
        MemoryKind.CreateFailure.NoArenas => MEMKIND_ERROR_ARENAS_CREATE,
        _ => MEMKIND_ERROR_INVALID,
    };

    /// <summary>struct memkind_config *memkind_config_new(void): a configuration (no path, size 0, default policy); NULL when out of memory.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_config_new")]
    internal static MemkindConfig* ConfigNew() => (MemkindConfig*)NativeMemory.AllocZeroed((nuint)sizeof(MemkindConfig));

    /// <summary>void memkind_config_delete(struct memkind_config *cfg)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_config_delete")]
    internal static void ConfigDelete(MemkindConfig* cfg) => NativeMemory.Free(cfg);

    /// <summary>void memkind_config_set_path(struct memkind_config *cfg, const char *pmem_dir): stores the pointer (not validated, not copied).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_config_set_path")]
    internal static void ConfigSetPath(MemkindConfig* cfg, byte* dir)
    {
        if (cfg != null) cfg->PmemDir = dir;
    }

    /// <summary>void memkind_config_set_size(struct memkind_config *cfg, size_t pmem_size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_config_set_size")]
    internal static void ConfigSetSize(MemkindConfig* cfg, nuint size)
    {
        if (cfg != null) cfg->PmemSize = size;
    }

    /// <summary>void memkind_config_set_memory_usage_policy(struct memkind_config *cfg, memkind_mem_usage_policy policy)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_config_set_memory_usage_policy")]
    internal static void ConfigSetPolicy(MemkindConfig* cfg, int policy)
    {
        if (cfg != null) cfg->Policy = policy;
    }

    /// <summary>int memkind_create_pmem_with_config(struct memkind_config *cfg, memkind_t *kind): memkind_create_pmem with the configuration's path, size and usage policy.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_create_pmem_with_config")]
    internal static int CreatePmemWithConfig(MemkindConfig* cfg, void** kindOut)
    {
        if (cfg == null || (uint)cfg->Policy > 1) return MEMKIND_ERROR_INVALID;
        return CreatePmemCore(cfg->PmemDir, cfg->PmemSize, (MemoryUsagePolicy)cfg->Policy, kindOut);
    }

    /// <summary>
    /// int memkind_create_fixed(void *addr, size_t size, memkind_t *kind): a kind over the caller's area,
    /// which stays the caller's (valid until the kind is destroyed, freed by the caller afterwards).
    /// NativeHeap uses the 4 MiB-aligned granules inside it; MEMKIND_ERROR_INVALID when there is none.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_create_fixed")]
    internal static int CreateFixed(void* addr, nuint size, void** kindOut)
    {
        if (addr == null || kindOut == null) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            return MemoryKind.TryCreateFixed(addr, size, null, out MemoryKind? kind, out _) ? Created(kind!, kindOut) : CreateFailureCode();
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_INVALID;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// int memkind_create_kind(memkind_memtype_t memtype, memkind_policy_t policy, memkind_bits_t flags, memkind_t *kind):
    /// memkind's supported combinations give its predefined kinds — {DEFAULT, PREFERRED_LOCAL} → MEMKIND_DEFAULT
    /// (2 MiB pages: MEMKIND_HUGETLB), {HBW, BIND_LOCAL} → MEMKIND_HBW, {HBW, BIND_ALL} → MEMKIND_HBW_ALL,
    /// {HBW, PREFERRED_LOCAL} → MEMKIND_HBW_PREFERRED (MEMKIND_DEFAULT when there is no HBW memory),
    /// {HBW, INTERLEAVE_ALL} → MEMKIND_HBW_INTERLEAVE, {DEFAULT|HBW, INTERLEAVE_ALL} → MEMKIND_INTERLEAVE;
    /// MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE when the machine cannot serve the result, MEMKIND_ERROR_INVALID otherwise.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_create_kind")]
    internal static int CreateKind(int memtype, int policy, int flags, void** kindOut)
    {
        if (kindOut == null || (flags != 0 && flags != 21)) return MEMKIND_ERROR_INVALID;
        bool huge = flags == 21;
        const int Default = 1, HighBandwidth = 2, BindLocal = 0, BindAll = 1, PreferredLocal = 2, InterleaveAll = 4;
        int index = (memtype, policy) switch
        {
            (Default, PreferredLocal) => huge ? MemkindHandles.HugeTlb : MemkindHandles.Default,
            (HighBandwidth, BindLocal) => huge ? HbwHugeTlb : Hbw,
            (HighBandwidth, BindAll) => huge ? HbwAllHugeTlb : HbwAll,
            (HighBandwidth, PreferredLocal) => huge ? HbwPreferredHugeTlb : HbwPreferred,
            (HighBandwidth, InterleaveAll) when !huge => HbwInterleave,
            (Default | HighBandwidth, InterleaveAll) when !huge => MemkindHandles.Interleave,
            _ => -1,
        };
        if (index < 0) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            if (index == HbwPreferred && MemoryKind.HbwNodeList.Count == 0) index = MemkindHandles.Default;
            if (CheckPredefined(index) != MEMKIND_SUCCESS && !(index == MemkindHandles.HugeTlb)) return MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE;
            *kindOut = nh_memkind_predefined(index);
            return MEMKIND_SUCCESS;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// int memkind_destroy_kind(memkind_t kind): destroys a kind created at run time with all its memory
    /// (a memkind_create kind through its ops->destroy) and frees its handle. A predefined kind (also
    /// what memkind_create_kind returns) is not destroyed: MEMKIND_SUCCESS, as memkind.
    /// MEMKIND_ERROR_OPERATION_FAILED for a NULL kind or one already destroyed.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_destroy_kind")]
    internal static int DestroyKind(void* handle)
    {
        if (handle == null) return MEMKIND_ERROR_OPERATION_FAILED;
        if (PredefinedIndex(handle) >= 0) return MEMKIND_SUCCESS;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MemkindOps* ops = OpsOf(handle);
            if (ops != null)
            {
                int r = ops->Destroy((MemkindHandle*)handle);
                Release(handle);
                return r;
            }
            MemoryKind? kind = KindOf(handle, out _);
            if (kind == null || !kind.TryDestroy(out _)) return MEMKIND_ERROR_OPERATION_FAILED;
            Release(handle);
            return MEMKIND_SUCCESS;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_OPERATION_FAILED;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// ssize_t memkind_get_capacity(memkind_t kind): the memory the kind can draw on — its nodes' total
    /// for NUMA-placed kinds, the reserved huge pages for hugetlb, the maximum for a file-backed kind,
    /// the area for a fixed kind; -1 for a kind this machine cannot serve.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_get_capacity")]
    internal static nint GetCapacity(void* handle)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            int index = PredefinedIndex(handle);
            if (index >= 0 && CheckPredefined(index) != MEMKIND_SUCCESS)
                return index == MemkindHandles.HugeTlb || index == Gbtlb ? 0 : -1;
            MemoryKind? kind = KindOf(handle, out _);
            return kind == null ? -1 : (nint)KindCapacity.Of(kind);
        }
        catch (Exception)
        {
            return -1;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// int memkind_check_dax_path(const char *pmem_dir): MEMKIND_SUCCESS when dir is on a file system
    /// mounted with DAX; MEMKIND_ERROR_MMAP (errno EOPNOTSUPP) when it is not, MEMKIND_ERROR_RUNTIME
    /// (errno ENOENT) when dir does not exist, MEMKIND_ERROR_INVALID for NULL.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_check_dax_path")]
    internal static int CheckDaxPath(byte* dir)
    {
        if (dir == null) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        try
        {
            string path = Marshal.PtrToStringUTF8((nint)dir)!;
            if (!Directory.Exists(path))
            {
                *errno = Libc.ENOENT;
                return MEMKIND_ERROR_RUNTIME;
            }
            if (OsMounts.HasOption(Path.GetFullPath(path), "dax")) return MEMKIND_SUCCESS;
            *errno = Libc.EOPNOTSUPP;
            return MEMKIND_ERROR_MMAP;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_RUNTIME;
        }
    }

    /// <summary>int memkind_set_bg_threads(bool state): MEMKIND_SUCCESS; NativeHeap has no background threads (decay runs on the allocating threads).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_set_bg_threads")]
    internal static int SetBgThreads(byte state) => MEMKIND_SUCCESS;

    /// <summary>int memkind_update_memory_usage_policy(memkind_t kind, memkind_mem_usage_policy policy): a kind's decay policy; MEMKIND_ERROR_INVALID for a bad policy, a NULL, predefined-default or unknown kind.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_update_memory_usage_policy")]
    internal static int UpdateMemoryUsagePolicy(void* handle, int policy) => UpdatePolicyCore(handle, policy);

    internal static int UpdatePolicyCore(void* handle, int policy)
    {
        if ((uint)policy > 1 || handle == null) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MemoryKind? kind = KindOf(handle, out _);
            if (kind == null || kind == MemoryKind.Default) return MEMKIND_ERROR_INVALID;
            kind.SetUsagePolicy((MemoryUsagePolicy)policy);
            return MEMKIND_SUCCESS;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_INVALID;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>int memkind_update_cached_stats(void): takes the snapshot memkind_get_stat reads.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_update_cached_stats")]
    internal static int UpdateCachedStats()
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            var snapshot = new Dictionary<int, KindStats>();
            foreach (MemoryKind k in MemoryKind.LiveKinds()) snapshot[k.Id] = k.GetStats();
            lock (s_statsLock) s_cachedStats = snapshot;
            return MEMKIND_SUCCESS;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_OPERATION_FAILED;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>
    /// int memkind_get_stat(memkind_t kind, memkind_stat_type stat, size_t *value): the kind's resident,
    /// active or allocated bytes at the last memkind_update_cached_stats (NULL kind: all kinds); 0 for a
    /// kind not in that snapshot. MEMKIND_ERROR_INVALID for a bad type or a NULL value.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_get_stat")]
    internal static int GetStat(void* handle, int stat, nuint* value)
    {
        if ((uint)stat > 2 || value == null) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            Dictionary<int, KindStats> snapshot;
            lock (s_statsLock) snapshot = s_cachedStats;
            long sum = 0;
            if (handle == null)
            {
                foreach (KindStats s in snapshot.Values) sum += Pick(s, stat);
            }
            else
            {
                MemkindOps* ops = OpsOf(handle);
                if (ops != null && ops->GetStat != null) return ops->GetStat((MemkindHandle*)handle, stat, value);
                MemoryKind? kind = KindOf(handle, out _);
                if (kind != null && snapshot.TryGetValue(kind.Id, out KindStats? ks)) sum = Pick(ks, stat);
            }
            *value = (nuint)Math.Max(0, sum);
            return MEMKIND_SUCCESS;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_OPERATION_FAILED;
        }
        finally
        {
            *errno = saved;
        }
    }

    private static long Pick(KindStats s, int stat) => stat switch { 0 => s.Resident, 1 => s.Active, _ => s.Allocated };

    /// <summary>
    /// int memkind_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, memkind_stat_print_opt opts):
    /// malloc_stats_print with the options as jemalloc letters (JSON J, omit general g, merged m,
    /// destroyed d, per arena a, bins b, large l, mutex x, extents e); stderr when write_cb is NULL.
    /// MEMKIND_ERROR_INVALID for unknown option bits.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_stats_print")]
    internal static int StatsPrint(delegate* unmanaged<void*, byte*, void> writeCb, void* cbopaque, int opts)
    {
        if ((opts & ~0x1ff) != 0) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            var letters = new StringBuilder();
            const string map = "Jgmdablxe";
            for (int bit = 0; bit < map.Length; bit++)
                if ((opts & (1 << bit)) != 0) letters.Append(map[bit]);
            string o = new([.. letters.ToString().Where(c => "Jcgmabl".Contains(c))]);
            StatsOutput.Write(HeapControl.FormatStats(o), writeCb, cbopaque);
            return MEMKIND_SUCCESS;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_OPERATION_FAILED;
        }
        finally
        {
            *errno = saved;
        }
    }
}
