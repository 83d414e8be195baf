// CAbiTests: builds libnativeheap.so and the C tests (tests/c) with native/build.sh, once per run, then
// runs each C program and checks it passed (exit 0, "PASS <name>: N checks", no failed check), and
// checks the library exports every C function of the ABI with the seeds' names.
namespace NativeHeap.Tests.Native;

public sealed class CAbiTests
{
    [CAbiTheory]
    [InlineData("test_jemalloc", "jemalloc")]
    [InlineData("test_standard", "standard")]
    [InlineData("test_replace_std", "replace_std")]
    [InlineData("test_misuse", "misuse")]
    [InlineData("test_mmalloc", "mmalloc")]
    [InlineData("test_ao_malloc", "ao_malloc")]
    [InlineData("test_threads", "threads")]
    [InlineData("test_thread_churn", "thread_churn")]
    [InlineData("test_dlopen", "dlopen")]
    [InlineData("test_mallctl", "mallctl")]
    [InlineData("test_mallctl_jemalloc", "mallctl_jemalloc")]
    [InlineData("test_memkind", "memkind")]
    public void CTestProgramPasses(string program, string name)
    {
        NativeBuild.EnsureBuilt();
        string exe = Path.Combine(NativeBuild.OutputDirectory, "bin", program);
        Assert.True(File.Exists(exe), $"{exe} was not built");
        NativeBuild.Result r = NativeBuild.Run(exe, [], TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches($@"(?m)^PASS {name}: [1-9][0-9]* checks$", r.Stdout);
        Assert.DoesNotContain("failed:", r.Stdout);
    }

    [CAbiFact]
    public void LibraryExportsTheSeedsNames()
    {
        NativeBuild.EnsureBuilt();
        string so = Path.Combine(NativeBuild.OutputDirectory, "libnativeheap.so");
        NativeBuild.Result r = NativeBuild.Run("nm", ["-D", "--defined-only", so], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, r.ToString());
        var exported = new HashSet<string>(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ').Last())
            .Select(sym => sym.Split('@')[0]));
        string[] expected =
        [
            "mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx",
            "nh_malloc", "nh_calloc", "nh_realloc", "nh_free", "nh_posix_memalign", "nh_aligned_alloc",
            "nh_memalign", "nh_valloc", "nh_malloc_usable_size", "nh_version", "nh_abi_nop",
            "mmalloc_attach", "mmalloc_detach", "mmalloc", "mrealloc", "mcalloc", "mvalloc", "mmemalign", "mfree",
            "mmalloc_setkey", "mmalloc_getkey", "mmalloc_errno",
            "AO_malloc", "AO_free", "AO_malloc_enable_mmap",
            "mallctl", "mallctlnametomib", "mallctlbymib", "malloc_stats_print",
            "memkind_malloc", "memkind_calloc", "memkind_realloc", "memkind_free", "memkind_posix_memalign",
            "memkind_malloc_usable_size", "memkind_detect_kind", "memkind_create_pmem", "memkind_destroy_kind",
            "memkind_check_available",
            "MEMKIND_REGULAR", "MEMKIND_DEFAULT", "MEMKIND_HUGETLB", "MEMKIND_HBW", "MEMKIND_HBW_ALL", "MEMKIND_HBW_PREFERRED",
            "MEMKIND_HBW_HUGETLB", "MEMKIND_HBW_ALL_HUGETLB", "MEMKIND_HBW_PREFERRED_HUGETLB", "MEMKIND_HBW_INTERLEAVE",
            "MEMKIND_INTERLEAVE", "MEMKIND_DAX_KMEM", "MEMKIND_DAX_KMEM_ALL", "MEMKIND_DAX_KMEM_PREFERRED", "MEMKIND_DAX_KMEM_INTERLEAVE",
        ];
        string[] missing = expected.Where(e => !exported.Contains(e)).ToArray();
        Assert.True(missing.Length == 0, "not exported: " + string.Join(", ", missing));
        // The standard names stay glibc's: only the drop-in library may export them.
        Assert.DoesNotContain("malloc", exported);
        Assert.DoesNotContain("free", exported);
        Assert.DoesNotContain("nh_memkind_predefined", exported);   // internal to the library (C# finds the predefined handles)
    }
}
