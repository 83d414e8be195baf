using System.Runtime.CompilerServices;
using System.Text.Json;
using NativeHeap.Control;

namespace NativeHeap.Tests.Control;

/// <summary>
/// The stats emitter on a fixed model, compared byte for byte with golden files (Golden/*). To accept a
/// deliberate format change, run the tests once with NATIVEHEAP_UPDATE_GOLDEN=1 and review the diff.
/// </summary>
public class StatsEmitterTests
{
    internal static StatsModel FixedModel()
    {
        static ArenaStats Arena(int index, bool isExplicit, int scale)
        {
            var bins = new BinStats[36];
            for (int j = 0; j < 36; j++)
            {
                long size = ClassSize(j);
                bins[j] = j % 7 == 1
                    ? new BinStats(j, size, 64, 8192, 1000 * scale + j, 900 * scale, 5000 * scale, 100 * scale + j, 2 * scale, 3 * scale, 10 * scale, 9 * scale)
                    : new BinStats(j, size, 64, 8192, 0, 0, 0, 0, 0, 0, 0, 0);
            }
            return new ArenaStats
            {
                Index = index, IsExplicit = isExplicit, Threads = 2 * scale, Mapped = 4 * 1024 * 1024 * scale,
                ActivePages = 120 * scale, DirtyPages = 30 * scale, MuzzyPages = 0, CleanPages = 800 * scale,
                Chunks = scale, PurgePasses = 3 * scale, PurgeCalls = 7 * scale, PurgedPages = 90 * scale,
                SmallAllocated = 70_000 * scale, LargeAllocated = 65_536 * scale, HugeAllocated = 0, HugeCount = 0,
                HugeNMalloc = scale, HugeNDalloc = scale, DirtyDecayMs = 10_000, MuzzyDecayMs = 0,
                Bins = bins,
                Large = [new LargeStats(0, 16384, 4 * scale, 2 * scale, 2 * scale), new LargeStats(4, 32768, scale, 0, scale)],
            };
        }
        ArenaStats[] arenas = [Arena(0, false, 1), Arena(5, true, 2)];
        var stats = new HeapStats
        {
            Allocated = 405_608, Active = 1_474_560, Metadata = 98_304, Resident = 1_941_504, Mapped = 12_681_216,
            Retained = 0, Arenas = arenas,
        };
        return new StatsModel(7, stats, new HeapOptions(), "9.9.9");
    }

    private static unsafe long ClassSize(int j) => (long)NativeHeap.Core.SizeClasses.s_sizes[j];

    private static string Emit(string opts)
    {
        Assert.True(StatsEmitter.TryParseOptions(opts, out StatsPrintFlags flags));
        return StatsEmitter.Emit(FixedModel(), flags);
    }

    private static void AssertGolden(string file, string actual, [CallerFilePath] string source = "")
    {
        string path = Path.Combine(Path.GetDirectoryName(source)!, "Golden", file);
        if (Environment.GetEnvironmentVariable("NATIVEHEAP_UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        string golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Control", "Golden", file));
        Assert.Equal(golden, actual);
    }

    [Fact]
    public void TextMatchesGolden() => AssertGolden("stats.txt", Emit(""));

    [Fact]
    public void PrettyJsonMatchesGolden() => AssertGolden("stats.json", Emit("J"));

    [Fact]
    public void CompactJsonMatchesGolden() => AssertGolden("stats.compact.json", Emit("Jc"));

    [Fact]
    public void JsonParsesAndCarriesTheFigures()
    {
        foreach (string opts in new[] { "J", "Jc" })
        {
            using JsonDocument doc = JsonDocument.Parse(Emit(opts));
            JsonElement root = doc.RootElement.GetProperty("jemalloc");
            Assert.Equal("9.9.9", root.GetProperty("version").GetString());
            Assert.Equal(405_608, root.GetProperty("stats").GetProperty("allocated").GetInt64());
            JsonElement arenas = root.GetProperty("stats.arenas");
            Assert.Equal(2, arenas.GetProperty("5").GetProperty("nthreads").GetInt64() / 2);
            JsonElement mergedBins = arenas.GetProperty("merged").GetProperty("bins");
            Assert.Equal(36, mergedBins.GetArrayLength());                // every bin, in order (jemalloc's layout)
            JsonElement bin1 = mergedBins[1];
            Assert.Equal(1001 + 2001, bin1.GetProperty("nmalloc").GetInt64());
            Assert.Equal(36, root.GetProperty("arenas").GetProperty("bin").GetArrayLength());
            Assert.False(root.GetProperty("opt").GetProperty("checked").GetBoolean());
        }
        Assert.DoesNotContain('\n', Emit("Jc").TrimEnd('\n'));
    }

    [Fact]
    public void OptionsOmitSections()
    {
        string all = Emit("J");
        using (JsonDocument doc = JsonDocument.Parse(Emit("Jg")))
        {
            JsonElement r = doc.RootElement.GetProperty("jemalloc");
            Assert.False(r.TryGetProperty("version", out _));
            Assert.False(r.TryGetProperty("opt", out _));
            Assert.True(r.TryGetProperty("stats", out _));
        }
        using (JsonDocument doc = JsonDocument.Parse(Emit("Jm")))
        {
            JsonElement a = doc.RootElement.GetProperty("jemalloc").GetProperty("stats.arenas");
            Assert.False(a.TryGetProperty("merged", out _));
            Assert.True(a.TryGetProperty("0", out _));
        }
        using (JsonDocument doc = JsonDocument.Parse(Emit("Ja")))
        {
            JsonElement a = doc.RootElement.GetProperty("jemalloc").GetProperty("stats.arenas");
            Assert.True(a.TryGetProperty("merged", out _));
            Assert.False(a.TryGetProperty("0", out _));
        }
        string noBins = Emit("Jb"), noLarge = Emit("Jl");
        Assert.DoesNotContain("\"bins\"", noBins);
        Assert.Contains("\"lextents\"", noBins);
        Assert.DoesNotContain("\"lextents\"", noLarge);
        Assert.True(noBins.Length < all.Length && noLarge.Length < all.Length);
        Assert.DoesNotContain("Arena 5", Emit("a"));
        Assert.Contains("Arena 5 (explicit)", Emit(""));
    }

    [Fact]
    public void UnknownOptionCharactersAreRefused()
    {
        Assert.False(StatsEmitter.TryParseOptions("Jx", out _));
        Assert.Throws<ArgumentException>(() => HeapControl.FormatStats("q"));
    }

    [Fact]
    public unsafe void LiveStatsPrintInEveryFormat()
    {
        void* p = Heap.Malloc(5000);
        var sw = new StringWriter();
        HeapControl.PrintStats(sw, "J");
        using JsonDocument doc = JsonDocument.Parse(sw.ToString());
        Assert.True(doc.RootElement.GetProperty("jemalloc").GetProperty("stats").GetProperty("mapped").GetInt64() > 0);
        Assert.StartsWith("___ Begin jemalloc statistics ___", HeapControl.FormatStats());
        Heap.Free(p);
    }

    [Fact]
    public void JsonHasEveryKeyPathOfJemallocs()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Control", "Data", "jemalloc-5.3-stats-json-paths.txt");
        string[] wanted = File.ReadAllLines(path).Where(l => l.Length != 0 && l[0] != '#').ToArray();
        Assert.True(wanted.Length > 200);
        using JsonDocument doc = JsonDocument.Parse(Emit("J"));
        var have = new HashSet<string>();
        Collect(doc.RootElement, "", have);
        var missing = new List<string>();
        foreach (string w in wanted)
        {
            if (w.Contains("/stats.arenas/merged/"))
            {
                foreach (string arena in new[] { "merged", "0", "5" })
                {
                    string p = w.Replace("/stats.arenas/merged/", $"/stats.arenas/{arena}/");
                    if (!have.Contains(p)) missing.Add(p);
                }
            }
            else if (!have.Contains(w)) missing.Add(w);
        }
        Assert.True(missing.Count == 0, "missing: " + string.Join(", ", missing));
        // Arrays have jemalloc's lengths: every bin, large class and page-size class.
        JsonElement merged = doc.RootElement.GetProperty("jemalloc").GetProperty("stats.arenas").GetProperty("merged");
        Assert.Equal(36, merged.GetProperty("bins").GetArrayLength());
        Assert.Equal(196, merged.GetProperty("lextents").GetArrayLength());
        Assert.Equal(Heap.NPageSizeClasses, merged.GetProperty("extents").GetArrayLength());
    }

    private static void Collect(JsonElement e, string prefix, HashSet<string> paths)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty p in e.EnumerateObject()) Collect(p.Value, prefix.Length == 0 ? p.Name : prefix + "/" + p.Name, paths);
                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in e.EnumerateArray()) Collect(item, prefix + "[]", paths);
                break;
            default:
                paths.Add(prefix);
                break;
        }
    }
}
