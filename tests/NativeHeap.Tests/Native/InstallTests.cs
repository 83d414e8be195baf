// InstallTests: native/install.sh into a temporary prefix, then a C program built with nothing but
// `pkg-config --cflags --libs nativeheap` and run against the installed library; the library's
// SONAME and the program's NEEDED entry are read back with readelf.
namespace NativeHeap.Tests.Native;

/// <summary>A C ABI test that also needs pkg-config and readelf: skipped, with the apt-get line, when one is missing.</summary>
public sealed class PkgConfigFactAttribute : FactAttribute
{
    /// <summary>Skips unless gcc, libc headers, pkg-config and readelf are installed.</summary>
    public PkgConfigFactAttribute()
    {
        string[] path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        bool Has(string tool) => path.Any(d => File.Exists(Path.Combine(d, tool)));
        if (NativeBuild.MissingToolReason() is string reason) Skip = reason;
        else if (!Has("pkg-config")) Skip = "the install test needs pkg-config: apt-get install pkg-config";
        else if (!Has("readelf")) Skip = "the install test needs readelf: apt-get install binutils";
    }
}

public sealed class InstallTests
{
    [PkgConfigFact]
    public void InstalledLibraryLinksThroughPkgConfigAndCarriesItsSoname()
    {
        NativeBuild.EnsureBuilt();
        string prefix = Path.Combine(Path.GetTempPath(), "nh-install-" + Guid.NewGuid().ToString("N"));
        try
        {
            NativeBuild.Result install = NativeBuild.Run("bash", [Path.Combine(NativeBuild.RepoRoot, "native", "install.sh"), prefix], TimeSpan.FromMinutes(10));
            Assert.True(install.ExitCode == 0, install.ToString());
            string lib = Path.Combine(prefix, "lib");
            Assert.True(File.Exists(Path.Combine(lib, "libnativeheap.so.1.0.0")));
            Assert.Equal("libnativeheap.so.1.0.0", new FileInfo(Path.Combine(lib, "libnativeheap.so.1")).LinkTarget);
            Assert.Equal("libnativeheap.so.1", new FileInfo(Path.Combine(lib, "libnativeheap.so")).LinkTarget);
            Assert.True(File.Exists(Path.Combine(prefix, "include", "nativeheap", "nativeheap.h")));
            Assert.True(File.Exists(Path.Combine(prefix, "include", "nativeheap", "jemalloc", "jemalloc.h")));

            NativeBuild.Result elf = NativeBuild.Run("readelf", ["-d", Path.Combine(lib, "libnativeheap.so.1.0.0")], TimeSpan.FromMinutes(1));
            Assert.True(elf.ExitCode == 0, elf.ToString());
            Assert.Contains("(SONAME)", elf.Stdout);
            Assert.Contains("Library soname: [libnativeheap.so.1]", elf.Stdout);

            // pkg-config finds the installed .pc through PKG_CONFIG_PATH only (no system copy is involved).
            string pcDir = Path.Combine(lib, "pkgconfig");
            NativeBuild.Result flags = RunWith("pkg-config", ["--cflags", "--libs", "nativeheap"], new() { ["PKG_CONFIG_PATH"] = pcDir, ["PKG_CONFIG_LIBDIR"] = pcDir });
            Assert.True(flags.ExitCode == 0, flags.ToString());
            Assert.Contains("-I" + Path.Combine(prefix, "include", "nativeheap"), flags.Stdout);
            Assert.Contains("-L" + lib, flags.Stdout);
            Assert.Contains("-lnativeheap", flags.Stdout);

            string exe = Path.Combine(prefix, "pkgconfig_program");
            string source = Path.Combine(NativeBuild.RepoRoot, "tests", "c", "pkgconfig_program.c");
            var args = new List<string> { "-O2", "-Wall", "-Werror", source, "-o", exe };
            args.AddRange(flags.Stdout.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
            NativeBuild.Result cc = NativeBuild.Run("gcc", args, TimeSpan.FromMinutes(2));
            Assert.True(cc.ExitCode == 0, cc.ToString());

            NativeBuild.Result needed = NativeBuild.Run("readelf", ["-d", exe], TimeSpan.FromMinutes(1));
            Assert.Contains("Shared library: [libnativeheap.so.1]", needed.Stdout);

            NativeBuild.Result run = RunWith(exe, [], new() { ["LD_LIBRARY_PATH"] = lib });
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Matches(@"^installed NativeHeap .+ 1048576\n$", run.Stdout);   // nh_version(), sallocx of 1 MiB
        }
        finally
        {
            if (Directory.Exists(prefix)) Directory.Delete(prefix, recursive: true);
        }
    }

    private static NativeBuild.Result RunWith(string file, IEnumerable<string> args, Dictionary<string, string> env)
        => NativeBuild.Run(file, args, TimeSpan.FromMinutes(2), env);
}
