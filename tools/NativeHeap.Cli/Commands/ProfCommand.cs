using System.CommandLine;
using System.Globalization;
using System.Runtime.CompilerServices;
using NativeHeap.Profiling;

namespace NativeHeap.Cli.Commands;

/// <summary>
/// <c>nheap prof PROFILE</c>: reads a heap profile (pprof, from prof.dump, HeapProfiler.Dump or
/// prof_final), prints its top sites and writes a flame graph (<c>--svg FILE</c>).
/// <c>nheap prof --demo FILE</c> runs a small program with a native leak under the profiler and dumps
/// its profile to FILE (what docs/profiling.md's picture shows).
/// Exit codes: 0 fine, 2 bad options or an unreadable profile.
/// </summary>
internal static unsafe class ProfCommand
{
    internal static Command Create()
    {
        var profile = new Argument<string>("profile") { Description = "the profile file (gzip-compressed or plain profile.proto)" };
        var svg = new Option<string?>("--svg") { Description = "write a flame graph of the sample type to this SVG file" };
        var sample = new Option<string>("--sample") { Description = "inuse_space (default), inuse_objects, alloc_space or alloc_objects", DefaultValueFactory = _ => "inuse_space" };
        var top = new Option<int>("--top") { Description = "sites listed", DefaultValueFactory = _ => 10 };
        var title = new Option<string?>("--title") { Description = "the flame graph's title (default: the file name and sample type)" };
        var demo = new Option<bool>("--demo") { Description = "run a demo program that leaks native memory, with profiling on, and dump its profile to PROFILE" };
        var command = new Command("prof", "Read a heap profile: top allocation sites and a flame graph (SVG)") { profile, svg, sample, top, title, demo };
        command.SetAction(result =>
        {
            string path = result.GetValue(profile)!;
            if (result.GetValue(demo)) return Demo(path);
            PprofProfile p;
            try
            {
                p = PprofProfile.Read(path);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"nheap prof: cannot read {path}: {e.Message}");
                return 2;
            }
            string type = result.GetValue(sample)!;
            if (!p.SampleTypes.Contains(type))
            {
                Console.Error.WriteLine($"nheap prof: the profile has no sample type {type} (it has {string.Join(", ", p.SampleTypes)})");
                return 2;
            }
            PrintTop(p, type, Math.Max(1, result.GetValue(top)));
            string? svgPath = result.GetValue(svg);
            if (svgPath != null)
            {
                File.WriteAllText(svgPath, FlameGraph.Svg(p, type, result.GetValue(title) ?? $"{Path.GetFileName(path)}: {type}"));
                Console.WriteLine($"flame graph: {svgPath}");
            }
            return 0;
        });
        return command;
    }

    private static void PrintTop(PprofProfile p, string type, int count)
    {
        int t = p.TypeIndex(type);
        long total = p.Samples.Sum(s => s.Values[t]);
        Console.WriteLine($"{type}: {FlameGraph.Format(total, type)} in {p.Samples.Count} sites (sample period {p.Period} bytes)");
        Console.WriteLine("    value   share  allocating frame  <-  callers");
        foreach (PprofProfile.Sample s in p.Samples.Where(s => s.Values[t] > 0).OrderByDescending(s => s.Values[t]).Take(count))
        {
            string share = (100.0 * s.Values[t] / Math.Max(1, total)).ToString("F1", CultureInfo.InvariantCulture);
            string frames = string.Join("  <-  ", s.Stack.Take(3));
            Console.WriteLine($"{FlameGraph.Format(s.Values[t], type),12} {share,5} %  {frames}");
        }
    }

    // ---- the demo: a service whose response cache never evicts ----------------------------------

    private static readonly List<nint> s_cache = new();

    private static int Demo(string path)
    {
        Heap.Configure(new HeapOptions { Prof = true, ProfSeed = 16 });
        for (int request = 0; request < 200_000; request++) HandleRequest(request);
        string written = HeapProfiler.Dump(path);
        HeapProfileSnapshot snap = HeapProfiler.Snapshot();
        Console.WriteLine($"demo: {s_cache.Count} cached responses kept; profile {written}: ~{snap.InUseBytes} live bytes estimated at {snap.Sites.Count} sites");
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void HandleRequest(int id)
    {
        byte* header = ParseHeaders(id);
        byte* body = ReadBody(id);
        if (id % 4 == 0) CacheResponse(id);          // the leak: every fourth response is cached forever
        Heap.Free(body);
        Heap.Free(header);
        if (id % 50 == 0) LogLine(id);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte* ParseHeaders(int id) => (byte*)Heap.Malloc((nuint)(256 + id % 512));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte* ReadBody(int id) => (byte*)Heap.Malloc((nuint)(4096 + id % 8192));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CacheResponse(int id) => s_cache.Add((nint)RenderResponse(id));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte* RenderResponse(int id) => (byte*)Heap.Malloc((nuint)(2048 + id % 4096));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LogLine(int id) => s_cache.Add((nint)Heap.Malloc(96));   // a smaller, slower leak
}
