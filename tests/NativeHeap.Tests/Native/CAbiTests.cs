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
    [InlineData("test_ao_malloc_signal", "ao_malloc_signal")]
    [InlineData("test_ao_malloc_lists", "ao_malloc_lists")]
    [InlineData("test_threads", "threads")]
    [InlineData("test_thread_churn", "thread_churn")]
    [InlineData("test_dlopen", "dlopen")]
    [InlineData("test_mallctl", "mallctl")]
    [InlineData("test_mallctl_jemalloc", "mallctl_jemalloc")]
    [InlineData("test_prof", "prof")]
    [InlineData("test_memkind", "memkind")]
    [InlineData("test_memkind_rules", "memkind_rules")]
    [InlineData("test_hbw", "hbw")]
    [InlineData("test_memkind_arena", "memkind_arena")]
    [InlineData("test_malloc_conf", "malloc_conf")]
    [InlineData("test_mmalloc_debug", "mmalloc_debug")]
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
    public void ProfDumpThroughMallctlNamesTheCCallersNativeFrames()
    {
        NativeBuild.EnsureBuilt();
        string exe = Path.Combine(NativeBuild.OutputDirectory, "bin", "test_prof");
        string heap = Path.Combine(Path.GetTempPath(), $"nh-cabi-prof-{Guid.NewGuid():N}.heap");
        try
        {
            NativeBuild.Result r = NativeBuild.Run(exe, [heap], TimeSpan.FromMinutes(2));
            Assert.True(r.ExitCode == 0, r.ToString());
            var p = NativeHeap.Profiling.PprofProfile.Read(heap);
            int space = p.TypeIndex("inuse_space");
            // 20,000 × 4 KiB leaked by leak_site (~156 samples at 512 KiB: s.d. ~8 %; seed 11 from malloc_conf).
            var site = Assert.Single(p.Samples, s => s.Values[space] > 0);
            Assert.InRange(site.Values[space], 20_000L * 4096 * 3 / 4, 20_000L * 4096 * 5 / 4);
            Assert.Equal("c-main", site.Thread);
            // backtrace(3) reaches the C program through the library's own frames, which are skipped:
            // the innermost frames are the program's (named module+offset: it exports no symbols).
            Assert.StartsWith("test_prof+0x", site.Stack[0]);
            Assert.True(site.Stack.Count(f => f.StartsWith("test_prof+0x", StringComparison.Ordinal)) >= 3, string.Join(" <- ", site.Stack));
            Assert.Contains(site.Stack, f => f.StartsWith("__libc_start_main", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(heap);
        }
    }

    [CAbiFact]
    public void LeakReportAndFinalDumpAtACProgramsExit()
    {
        NativeBuild.EnsureBuilt();
        string exe = Path.Combine(NativeBuild.OutputDirectory, "bin", "test_prof");
        string dir = Path.Combine(Path.GetTempPath(), $"nh-cabi-prof-exit-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            NativeBuild.Result r = NativeBuild.Run(exe, [Path.Combine(dir, "named.heap"), "leak"], TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["NATIVEHEAP_CONF"] = $"prof_leak:true,prof_final:true,prof_prefix:{dir}/exit" });
            Assert.True(r.ExitCode == 0, r.ToString());
            // exit() runs the report through atexit (no .NET ProcessExit in a C program).
            Assert.Contains("<nativeheap>: Leak approximation summary: ~", r.Stderr);
            Assert.Contains("at test_prof+0x", r.Stderr);
            // The program set prof.prefix to /tmp/nh_test_prof_prefix.<pid> at run time: the final dump uses it.
            string pid = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"pid (\d+)").Groups[1].Value;
            string final = Assert.Single(Directory.GetFiles("/tmp", $"nh_test_prof_prefix.{pid}.{pid}.*.f.heap"));
            File.Move(final, Path.Combine(dir, Path.GetFileName(final)));
            final = Path.Combine(dir, Path.GetFileName(final));
            Assert.Empty(Directory.GetFiles(dir, "exit.*.f.heap"));   // not under the start-up prefix
            var p = NativeHeap.Profiling.PprofProfile.Read(final);
            int space = p.TypeIndex("inuse_space");
            // 20,000 × 4 KiB leaked again after prof.reset to lg_sample 12 (4 KiB: ~12,600 samples, ±1 %).
            long live = p.Samples.Sum(s => s.Values[space]);
            Assert.InRange(live, 20_000L * 4096 * 95 / 100, 20_000L * 4096 * 105 / 100);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
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
            "memkind_check_available", "memkind_error_message", "memkind_get_version", "memkind_create_kind", "memkind_create_fixed",
            "memkind_create_pmem_with_config", "memkind_config_new", "memkind_config_delete", "memkind_config_set_path",
            "memkind_config_set_size", "memkind_config_set_memory_usage_policy", "memkind_get_capacity", "memkind_check_dax_path",
            "memkind_set_bg_threads", "memkind_update_memory_usage_policy", "memkind_update_cached_stats", "memkind_get_stat",
            "memkind_stats_print", "memkind_defrag_reallocate",
            "hbw_malloc", "hbw_calloc", "hbw_realloc", "hbw_free", "hbw_posix_memalign", "hbw_posix_memalign_psize",
            "hbw_check_available", "hbw_set_policy", "hbw_get_policy", "hbw_verify_memory_region", "hbw_malloc_usable_size",
            "memkind_create", "memkind_arena_create", "memkind_arena_create_map", "memkind_arena_destroy", "memkind_arena_malloc",
            "memkind_arena_calloc", "memkind_arena_pmem_calloc", "memkind_arena_posix_memalign", "memkind_arena_realloc",
            "memkind_arena_realloc_with_kind_detect", "memkind_thread_get_arena", "memkind_bijective_get_arena", "get_kind_by_arena",
            "memkind_arena_detect_kind", "memkind_arena_finalize", "memkind_arena_init", "memkind_arena_free",
            "memkind_arena_free_with_kind_detect", "memkind_arena_malloc_usable_size", "memkind_arena_update_memory_usage_policy",
            "malloc_conf", "malloc_message",
            "mmcheck", "mmcheckf", "mmtrace", "mmstats", "mmalloc_findbase", "mmalloc_attach_flags",
            "MEMKIND_HIGHEST_CAPACITY", "MEMKIND_HIGHEST_CAPACITY_PREFERRED", "MEMKIND_HIGHEST_CAPACITY_LOCAL",
            "MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED", "MEMKIND_LOWEST_LATENCY_LOCAL", "MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED",
            "MEMKIND_HIGHEST_BANDWIDTH_LOCAL", "MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED", "MEMKIND_GBTLB", "MEMKIND_HBW_GBTLB",
            "MEMKIND_HBW_PREFERRED_GBTLB",
            "MEMKIND_REGULAR", "MEMKIND_DEFAULT", "MEMKIND_HUGETLB", "MEMKIND_HBW", "MEMKIND_HBW_ALL", "MEMKIND_HBW_PREFERRED",
            "MEMKIND_HBW_HUGETLB", "MEMKIND_HBW_ALL_HUGETLB", "MEMKIND_HBW_PREFERRED_HUGETLB", "MEMKIND_HBW_INTERLEAVE",
            "MEMKIND_INTERLEAVE", "MEMKIND_DAX_KMEM", "MEMKIND_DAX_KMEM_ALL", "MEMKIND_DAX_KMEM_PREFERRED", "MEMKIND_DAX_KMEM_INTERLEAVE",
        ];
        string[] missing = expected.Where(e => !exported.Contains(e)).ToArray();
        Assert.True(missing.Length == 0, "not exported: " + string.Join(", ", missing));
        // The standard names stay glibc's: only the drop-in library may export them.
        Assert.DoesNotContain("malloc", exported);
        Assert.DoesNotContain("free", exported);
        Assert.DoesNotContain("nh_memkind_predefined", exported);
        Assert.DoesNotContain("nh_memkind_is_bijective", exported);
        Assert.DoesNotContain("nh_malloc_conf_value", exported);   // internal to the library (C# finds the predefined handles)
    }
}
