// MemkindArenaExports: memkind_arena(3)'s 19 functions and memkind_create — kinds made of a
// struct memkind_ops whose members are (mostly) these functions, as memkind's own kinds are.
//
// Model: memkind_create(ops, name, &kind) allocates a handle (struct memkind, NativeHeap's layout:
// MemkindHandles), stores ops and name and calls ops->create, which for arena kinds is
// memkind_arena_create → memkind_arena_create_map: that creates a NativeHeap MemoryKind (explicit
// general-heap arenas) over the kind's memory — the caller's extent hooks when given, else ops->mmap
// (+ ops->mbind, ops->madvise) when set, else anonymous memory — and binds the handle to it.
// ops->get_arena chooses the arena policy as memkind describes: memkind_bijective_get_arena → one
// arena, anything else (memkind_thread_get_arena) → 4 per CPU, a thread's arena picked by a hash of
// its id. The memkind_arena_* allocation calls are the MemoryKind's calls, so blocks are found from
// the pointer (memkind_arena_detect_kind, *_with_kind_detect) in O(1), and arena indices are general-
// heap arenas, usable with MALLOCX_ARENA(). memkind_malloc & co. on such a handle call its ops.
using System.Runtime.InteropServices;
using NativeHeap.Control;
using NativeHeap.Kinds;
using static NativeHeap.Native.Exports.MemkindHandles;

namespace NativeHeap.Native.Exports;

/// <summary>C exports: memkind_create and memkind_arena's functions.</summary>
internal static unsafe partial class MemkindArenaExports
{
    /// <summary>native/nh_kinds.c: whether a get_arena operation is memkind_bijective_get_arena.</summary>
    [LibraryImport("nh_kinds")]
    private static partial int nh_memkind_is_bijective(void* getArena);

    /// <summary>int memkind_create(struct memkind_ops *ops, const char *name, memkind_t *kind)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_create")]
    internal static int Create(MemkindOps* ops, byte* name, MemkindHandle** kindOut)
    {
        if (kindOut == null || name == null) return MEMKIND_ERROR_INVALID;
        if (ops == null || ops->Create == null || ops->Destroy == null || ops->Malloc == null || ops->Calloc == null
            || ops->Realloc == null || ops->Free == null)
            return MEMKIND_ERROR_BADOPS;
        string? text = Marshal.PtrToStringUTF8((nint)name);
        if (text == null || System.Text.Encoding.UTF8.GetByteCount(text) >= 64) return MEMKIND_ERROR_INVALID;
        MemkindHandle* h = NewHandle(text);
        int rc = ops->Create(h, ops, name);
        if (rc != MEMKIND_SUCCESS)
        {
            Release(h);
            return rc;
        }
        h->Ops = ops;
        if (ops->InitOnce != null) ops->InitOnce();
        *kindOut = h;
        return MEMKIND_SUCCESS;
    }

    /// <summary>int memkind_arena_create(struct memkind *kind, struct memkind_ops *ops, const char *name): sets ops and name, then memkind_arena_create_map(kind, NULL).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_create")]
    internal static int ArenaCreate(MemkindHandle* kind, MemkindOps* ops, byte* name)
    {
        if (kind == null || ops == null) return MEMKIND_ERROR_INVALID;
        kind->Ops = ops;
        if (name != null)
        {
            string? text = Marshal.PtrToStringUTF8((nint)name);
            if (text == null || System.Text.Encoding.UTF8.GetByteCount(text) >= 64) return MEMKIND_ERROR_INVALID;
            SetName(kind, text);
        }
        return CreateMap(kind, null);
    }

    /// <summary>
    /// int memkind_arena_create_map(struct memkind *kind, extent_hooks_t *hooks): gives the kind its arenas
    /// over the hooks (NULL: the kind's ops->mmap, or anonymous memory). MEMKIND_ERROR_INVALID when the
    /// kind already has arenas; MEMKIND_ERROR_TOOMANY / ARENAS_CREATE when no kind slot / arena is left.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_create_map")]
    internal static int ArenaCreateMap(MemkindHandle* kind, void* hooks) => CreateMap(kind, hooks);

    private static int CreateMap(MemkindHandle* kind, void* hooks)
    {
        if (kind == null || kind->Code != 0) return MEMKIND_ERROR_INVALID;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MemkindOps* ops = kind->Ops;
            IMemorySource source = hooks != null ? ExtentHooks.SourceFor((nint)hooks)
                : ops != null && ops->Mmap != null ? new OpsMemorySource(kind)
                : new General.OsMemorySource();
            bool single = ops != null && nh_memkind_is_bijective(ops->GetArena) != 0;
            var options = new KindOptions { ArenaPolicy = single ? KindArenaPolicy.Single : KindArenaPolicy.PerThreadHash };
            string name = Marshal.PtrToStringUTF8((nint)kind->Name) ?? "memkind";
            if (!MemoryKind.TryCreate(name, source, options, out MemoryKind? k, out _)) return MemkindKindExports.CreateFailureCode();
            Bind(kind, k!);
            return MEMKIND_SUCCESS;
        }
        catch (Exception)
        {
            return MEMKIND_ERROR_RUNTIME;
        }
        finally
        {
            *errno = saved;
        }
    }

    /// <summary>int memkind_arena_destroy(struct memkind *kind): frees all of the kind's memory and arenas (the handle stays the caller's).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_destroy")]
    internal static int ArenaDestroy(MemkindHandle* kind) => DestroyArenas(kind);

    private static int DestroyArenas(MemkindHandle* kind)
    {
        if (kind == null || kind->Code <= 0) return MEMKIND_ERROR_OPERATION_FAILED;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MemoryKind? k = KindOf(kind, out _);
            if (k == null || !k.TryDestroy(out _)) return MEMKIND_ERROR_OPERATION_FAILED;
            Unbind(kind);
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

    private static MemoryKind? Arenas(MemkindHandle* kind) => kind == null || kind->Code <= 0 ? null : KindOf(kind, out _);

    /// <summary>void *memkind_arena_malloc(struct memkind *kind, size_t size): NULL (errno ENOMEM) when out of memory or the kind has no arenas.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_malloc")]
    internal static void* ArenaMalloc(MemkindHandle* kind, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = null;
        try
        {
            p = Arenas(kind)?.Malloc(size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_arena_malloc", e);
        }
        *errno = p == null ? CBoundary.ENOMEM : saved;
        return p;
    }

    /// <summary>void *memkind_arena_calloc(struct memkind *kind, size_t num, size_t size)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_calloc")]
    internal static void* ArenaCalloc(MemkindHandle* kind, nuint num, nuint size) => CallocCore(kind, num, size, "memkind_arena_calloc");

    /// <summary>void *memkind_arena_pmem_calloc(struct memkind *kind, size_t num, size_t size): as memkind_arena_calloc (file memory reads as zeroes where untouched).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_pmem_calloc")]
    internal static void* ArenaPmemCalloc(MemkindHandle* kind, nuint num, nuint size) => CallocCore(kind, num, size, "memkind_arena_pmem_calloc");

    private static void* CallocCore(MemkindHandle* kind, nuint num, nuint size, string call)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = null;
        try
        {
            p = Arenas(kind)?.Calloc(num, size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException(call, e);
        }
        *errno = p == null ? CBoundary.ENOMEM : saved;
        return p;
    }

    /// <summary>int memkind_arena_posix_memalign(struct memkind *kind, void **memptr, size_t alignment, size_t size): 0, EINVAL or ENOMEM; errno unchanged.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_posix_memalign")]
    internal static int ArenaPosixMemalign(MemkindHandle* kind, void** memptr, nuint alignment, nuint size)
    {
        if (memptr == null) return CBoundary.EINVAL;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            MemoryKind? k = Arenas(kind);
            if (alignment < (nuint)sizeof(void*) || (alignment & (alignment - 1)) != 0) rc = CBoundary.EINVAL;
            else if (k == null) rc = CBoundary.ENOMEM;
            else
            {
                rc = k.PosixMemalign(out void* p, alignment, size);
                if (rc == 0) *memptr = p;
            }
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_arena_posix_memalign", e);
            rc = CBoundary.ENOMEM;
        }
        *errno = saved;
        return rc;
    }

    /// <summary>void *memkind_arena_realloc(struct memkind *kind, void *ptr, size_t size): NULL ptr allocates, size 0 frees (NULL).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_realloc")]
    internal static void* ArenaRealloc(MemkindHandle* kind, void* ptr, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = null;
        try
        {
            MemoryKind? k = Arenas(kind);
            if (k != null) p = k.Realloc(ptr, size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_arena_realloc", e);
        }
        *errno = p == null && size != 0 ? CBoundary.ENOMEM : saved;
        return p;
    }

    /// <summary>void *memkind_arena_realloc_with_kind_detect(void *ptr, size_t size): resizes within the pointer's own kind (NULL: the default kind).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_realloc_with_kind_detect")]
    internal static void* ArenaReallocDetect(void* ptr, nuint size)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        void* p = null;
        try
        {
            p = MemoryKind.ReallocAny(ptr, size);
        }
        catch (Exception e)
        {
            CBoundary.OnAllocException("memkind_arena_realloc_with_kind_detect", e);
        }
        *errno = p == null && size != 0 ? CBoundary.ENOMEM : saved;
        return p;
    }

    /// <summary>int memkind_thread_get_arena(struct memkind *kind, unsigned int *arena, size_t size): the calling thread's arena of the kind (a general-heap arena index).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_thread_get_arena")]
    internal static int ThreadGetArena(MemkindHandle* kind, uint* arena, nuint size)
    {
        MemoryKind? k = Arenas(kind);
        if (k == null || arena == null || k.ArenaIndices.Count == 0) return MEMKIND_ERROR_RUNTIME;
        *arena = (uint)k.ThreadArenaIndex;
        return MEMKIND_SUCCESS;
    }

    /// <summary>int memkind_bijective_get_arena(struct memkind *kind, unsigned int *arena, size_t size): the kind's first (for a bijective kind, only) arena.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_bijective_get_arena")]
    internal static int BijectiveGetArena(MemkindHandle* kind, uint* arena, nuint size)
    {
        MemoryKind? k = Arenas(kind);
        if (k == null || arena == null || k.ArenaIndices.Count == 0) return MEMKIND_ERROR_RUNTIME;
        *arena = (uint)k.ArenaIndices[0];
        return MEMKIND_SUCCESS;
    }

    /// <summary>struct memkind *get_kind_by_arena(unsigned arena_ind): the kind owning a general-heap arena, NULL for an arena of no kind.</summary>
    [UnmanagedCallersOnly(EntryPoint = "get_kind_by_arena")]
    internal static void* GetKindByArena(uint arena)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            return arena > int.MaxValue ? null : HandleOfArena((int)arena);
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

    /// <summary>struct memkind *memkind_arena_detect_kind(void *ptr): the block's kind, NULL for NULL or memory NativeHeap does not own.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_detect_kind")]
    internal static void* ArenaDetectKind(void* ptr)
    {
        MemoryKind? k = MemoryKind.DetectKind(ptr);
        return k == null ? null : HandleOf(k);
    }

    /// <summary>int memkind_arena_finalize(struct memkind *kind): releases the kind's arenas and memory if it still has them; MEMKIND_SUCCESS.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_finalize")]
    internal static int ArenaFinalize(MemkindHandle* kind)
    {
        if (kind != null && kind->Code > 0) DestroyArenas(kind);
        return MEMKIND_SUCCESS;
    }

    /// <summary>void memkind_arena_init(struct memkind *kind): gives the kind its arenas (memkind_arena_create_map with no hooks) when it has none.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_init")]
    internal static void ArenaInit(MemkindHandle* kind)
    {
        if (kind != null && kind->Code == 0) CreateMap(kind, null);
    }

    /// <summary>void memkind_arena_free(struct memkind *kind, void *ptr): frees a block (its kind is read from the pointer).</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_free")]
    internal static void ArenaFree(MemkindHandle* kind, void* ptr) => FreeAny(ptr, "memkind_arena_free");

    /// <summary>void memkind_arena_free_with_kind_detect(void *ptr)</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_free_with_kind_detect")]
    internal static void ArenaFreeDetect(void* ptr) => FreeAny(ptr, "memkind_arena_free_with_kind_detect");

    private static void FreeAny(void* ptr, string call)
    {
        if (ptr == null) return;
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            MemoryKind.Free(ptr);
        }
        catch (Exception e)
        {
            CBoundary.Fatal(call, e);
        }
        *errno = saved;
    }

    /// <summary>size_t memkind_arena_malloc_usable_size(void *ptr): 0 for NULL or memory NativeHeap does not own.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_malloc_usable_size")]
    internal static nuint ArenaUsableSize(void* ptr) => MemoryKind.UsableSize(ptr);

    /// <summary>int memkind_arena_update_memory_usage_policy(struct memkind *kind, memkind_mem_usage_policy policy): the kind's decay policy; MEMKIND_ERROR_INVALID for a bad policy or a kind without arenas.</summary>
    [UnmanagedCallersOnly(EntryPoint = "memkind_arena_update_memory_usage_policy")]
    internal static int ArenaUpdatePolicy(MemkindHandle* kind, int policy) => MemkindKindExports.UpdatePolicyCore(kind, policy);
}

/// <summary>
/// Memory from a kind's ops->mmap (then ops->mbind and ops->madvise when set), as memkind's arena
/// hooks get it. A range is asked for with room to align it; the whole mapping is unmapped when the
/// range is released (munmap, as memkind's default hooks), so ranges are never split or merged.
/// </summary>
internal sealed unsafe class OpsMemorySource(MemkindHandle* kind) : IMemorySource
{
    private readonly Dictionary<nint, (nint Base, nuint Size)> _mappings = [];
    private readonly Lock _lock = new();

    public void* Allocate(void* at, nuint size, nuint alignment, out bool zeroed)
    {
        zeroed = false;
        if (at != null) return null;
        MemkindOps* ops = kind->Ops;
        nuint total = size + alignment;
        if (total < size) return null;
        byte* raw = (byte*)ops->Mmap(kind, null, total);
        if (raw == null || raw == (byte*)-1) return null;
        byte* p = (byte*)(((nuint)raw + alignment - 1) & ~(alignment - 1));
        if ((ops->Mbind != null && ops->Mbind(kind, p, size) != 0) || (ops->Madvise != null && ops->Madvise(kind, p, size) != 0))
        {
            Os.OsMemory.TryUnmap(raw, total, out _);
            return null;
        }
        lock (_lock) _mappings[(nint)p] = ((nint)raw, total);
        return p;   // not known to be zeroed: the operation may map a reused file range
    }

    public bool TryRelease(void* address, nuint size)
    {
        (nint Base, nuint Size) m;
        lock (_lock)
        {
            if (!_mappings.Remove((nint)address, out m)) return false;
        }
        return Os.OsMemory.TryUnmap((void*)m.Base, m.Size, out _);
    }

    public bool TryCommit(void* address, nuint size) => true;

    public bool TryDecommit(void* address, nuint size) => false;

    public bool TryPurgeLazy(void* address, nuint size) => false;

    public bool TryPurgeForced(void* address, nuint size)
    {
        NativeMemory.Clear(address, size);
        return true;
    }

    public bool TrySplit(void* address, nuint size, nuint firstSize) => false;

    public bool TryMerge(void* first, nuint firstSize, void* second, nuint secondSize) => false;
}
