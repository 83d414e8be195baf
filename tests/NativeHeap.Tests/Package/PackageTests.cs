// PackageTests: the NuGet package as a user gets it. Packs src/NativeHeap and tools/NativeHeap.Cli into
// a local folder feed (their own artifacts path, so the pack never races other builds of the
// projects), restores the library into a fresh console app outside the repository whose nuget.config
// lists only that feed (offline-safe), runs the app, and installs and runs nheap as a dotnet tool.
using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using NativeHeap.Tests.Native;

namespace NativeHeap.Tests.Package;

public class PackageTests
{
    // The app: the README's C# example (its usings and statements, taken from README.md), then checks.
    private const string AppChecks = """
        using IMemoryOwner<byte> owner = NativeMemoryPool.Shared.Rent(1 << 16);
        owner.Memory.Span.Fill(7);
        using NativeBuffer<long> longs = NativeBuffer.Allocate<long>(1000);
        for (int i = 0; i < longs.Length; i++) longs.Span[i] = i;
        long sum = 0;
        foreach (long v in longs.Span) sum += v;
        using var w2 = new NativeBufferWriter();
        w2.Write("hello native heap"u8);
        Console.WriteLine($"ok {owner.Memory.Span[^1]} {sum} {w2.WrittenCount} {NativeHeap.GeneralHeap.Instance.Name} readme {stream.Length} {prices.Span[999] == 1.5}");
        return 0;
        """;

    /// <summary>Program.cs: the README example's usings, a Linux guard, its statements, then <see cref="AppChecks"/>.</summary>
    private static string AppSource(string readme)
    {
        int start = readme.IndexOf("```csharp\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no C# example");
        start += "```csharp\n".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        string[] lines = readme[start..end].Split('\n');
        var usings = lines.Where(l => l.StartsWith("using ", StringComparison.Ordinal) && !l.Contains('=')).ToList();
        var body = lines.Where(l => !usings.Contains(l));
        return string.Join('\n', usings) + "\n\nif (!OperatingSystem.IsLinux()) return 2;\n"
            + string.Join('\n', body) + "\n" + AppChecks;
    }

    private sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}\n{Output}";
    }

    private static Result Run(string workDir, string nugetPackages, TimeSpan limit, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (string v in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            psi.Environment.Remove(v);
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["NUGET_PACKAGES"] = nugetPackages;     // a cache of its own: nothing stale from earlier packs
        psi.Environment.Remove("NATIVEHEAP_CONF");
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {limit}");
        }
        return new Result(p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void PackedLibraryRestoresFromALocalFeedAndRunsAndNheapInstallsAsATool()
    {
        string root = Path.Combine(Path.GetTempPath(), "nheap-pack-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8]);
        string feed = Path.Combine(root, "feed");
        string app = Path.Combine(root, "app");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(app);
        try
        {
            string repo = NativeBuild.RepoRoot;
            // Packing restores with the machine's NuGet configuration (the net8.0 reference pack); a shared cache is fine there.
            string machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            foreach (string project in new[] { "src/NativeHeap/NativeHeap.csproj", "tools/NativeHeap.Cli/NativeHeap.Cli.csproj" })
            {
                Result pack = Run(repo, machineCache, TimeSpan.FromMinutes(8), "dotnet", "pack", project, "-c", "Release", "-o", feed,
                    "--artifacts-path", Path.Combine(root, "artifacts"), "-nologo");
                Assert.True(pack.ExitCode == 0, "dotnet pack failed:\n" + pack);
            }

            // The package: both targets, readme, licence, symbols package.
            string nupkg = Assert.Single(Directory.GetFiles(feed, "NativeHeap.0*.nupkg"));
            string version = Path.GetFileNameWithoutExtension(nupkg)["NativeHeap.".Length..];
            Assert.Contains("-", version);                                  // pre-release
            Assert.True(File.Exists(Path.Combine(feed, $"NativeHeap.{version}.snupkg")), "no symbols package");
            using (ZipArchive zip = ZipFile.OpenRead(nupkg))
            {
                string[] entries = zip.Entries.Select(e => e.FullName).ToArray();
                Assert.Contains("lib/net8.0/NativeHeap.dll", entries);
                Assert.Contains("lib/net10.0/NativeHeap.dll", entries);
                Assert.Contains("README.md", entries);
                using Stream nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open();
                XElement meta = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
                string Meta(string name) => meta.Elements().Single(e => e.Name.LocalName == name).Value;
                Assert.Equal("MIT", Meta("license"));
                Assert.Equal("README.md", Meta("readme"));
                Assert.DoesNotContain("Package Description", Meta("description"));
                Assert.Contains("allocator", Meta("tags"));
            }

            // A fresh console app outside the repository (no Directory.Build.props), restoring only from the feed.
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="NativeHeap" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), AppSource(File.ReadAllText(Path.Combine(repo, "README.md"))));
            string appCache = Path.Combine(root, "packages");
            Result run = Run(app, appCache, TimeSpan.FromMinutes(8), "dotnet", "run", "-c", "Release");
            Assert.True(run.ExitCode == 0, "the fresh app failed:\n" + run);
            Assert.Contains("ok 7 499500 17 general readme 5 True", run.Output);
            Assert.True(Directory.Exists(Path.Combine(appCache, "nativeheap", version)), "NativeHeap was not restored from the local feed");

            // nheap as a dotnet tool, from the same feed.
            string tools = Path.Combine(root, "tools");
            Result install = Run(app, appCache, TimeSpan.FromMinutes(5), "dotnet", "tool", "install", "NativeHeap.Cli",
                "--tool-path", tools, "--version", version, "--configfile", Path.Combine(app, "nuget.config"));
            Assert.True(install.ExitCode == 0, "dotnet tool install failed:\n" + install);
            Result nheap = Run(app, appCache, TimeSpan.FromMinutes(2), Path.Combine(tools, "nheap"), "version");
            Assert.True(nheap.ExitCode == 0, "nheap version failed:\n" + nheap);
            Assert.StartsWith(version.Split('-')[0], nheap.Output.Trim());
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
