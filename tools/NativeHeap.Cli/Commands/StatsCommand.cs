using System.CommandLine;

namespace NativeHeap.Cli.Commands;

/// <summary>
/// <c>nheap stats</c>: runs a small demo workload on the general heap (several threads, mixed sizes,
/// cross-thread frees, an explicit arena) and prints the statistics as text or JSON, or reads
/// control-namespace names (<c>--get stats.allocated --get arenas.narenas</c>).
/// Exit codes: 0 fine, 2 bad options or an unknown name.
/// </summary>
internal static unsafe class StatsCommand
{
    internal static Command Create()
    {
        var format = new Option<string>("--format") { Description = "text, json (pretty) or json-compact", DefaultValueFactory = _ => "text" };
        var omit = new Option<string>("--omit") { Description = "sections to leave out: g general, m merged, a per-arena, b bins, l large classes", DefaultValueFactory = _ => "" };
        var threads = new Option<int>("--threads") { Description = "worker threads of the demo workload", DefaultValueFactory = _ => 4 };
        var ops = new Option<int>("--ops") { Description = "allocations per thread", DefaultValueFactory = _ => 200_000 };
        var get = new Option<string[]>("--get") { Description = "print these control names instead of the whole table", AllowMultipleArgumentsPerToken = true };
        var list = new Option<bool>("--list") { Description = "list the control namespace (names, types, access) and exit" };
        var command = new Command("stats", "Run a demo workload and print NativeHeap's statistics (text or JSON) or chosen control names")
        {
            format, omit, threads, ops, get, list,
        };
        command.SetAction(result =>
        {
            if (result.GetValue(list))
            {
                Console.Write(HeapControl.FormatNamespaceTable());
                return 0;
            }
            string opts = (result.GetValue(format) switch
            {
                "text" => "",
                "json" => "J",
                "json-compact" => "Jc",
                _ => null,
            }) ?? "?";
            opts += result.GetValue(omit);
            if (opts.Contains('?'))
            {
                Console.Error.WriteLine("nheap stats: --format must be text, json or json-compact");
                return 2;
            }
            Workload(Math.Max(1, result.GetValue(threads)), Math.Max(1, result.GetValue(ops)));
            string[]? names = result.GetValue(get);
            if (names is { Length: > 0 }) return PrintNames(names);
            try
            {
                HeapControl.PrintStats(Console.Out, opts);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine("nheap stats: " + e.Message);
                return 2;
            }
            return 0;
        });
        return command;
    }

    private static int PrintNames(string[] names)
    {
        HeapControl.RefreshStats();
        int rc = 0;
        foreach (string name in names)
        {
            CtlStatus st = HeapControl.Describe(name, out CtlType type, out _);
            string value;
            if (st != CtlStatus.Ok) value = "error " + st;
            else if (type == CtlType.String) value = HeapControl.Read(name, out string? s) == CtlStatus.Ok ? s ?? "" : "unreadable";
            else if (type == CtlType.Bool) value = HeapControl.Read(name, out bool b) == CtlStatus.Ok ? (b ? "true" : "false") : "unreadable";
            else if (type == CtlType.UInt32) value = HeapControl.Read(name, out uint u) == CtlStatus.Ok ? u.ToString() : "unreadable";
            else if (type is CtlType.SSize or CtlType.Int64) value = HeapControl.Read(name, out long l) == CtlStatus.Ok ? l.ToString() : "unreadable";
            else if (type == CtlType.Void) value = "(action)";
            else value = HeapControl.Read(name, out ulong v) == CtlStatus.Ok ? (type == CtlType.Pointer ? $"0x{v:x}" : v.ToString()) : "unreadable";
            if (st != CtlStatus.Ok) rc = 2;
            Console.WriteLine($"{name}: {value}");
        }
        return rc;
    }

    /// <summary>Mixed sizes on several threads; one block in sixteen is freed by another thread.</summary>
    private static void Workload(int threads, int ops)
    {
        var handoff = new nint[threads][];
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                var rng = new Random(id + 1);
                var live = new nint[1024];
                var passed = new List<nint>();
                for (int i = 0; i < ops; i++)
                {
                    int slot = rng.Next(live.Length);
                    if (live[slot] != 0)
                    {
                        if ((i & 15) == 0) passed.Add(live[slot]);
                        else Heap.Free((void*)live[slot]);
                    }
                    int r = rng.Next(100);
                    nuint size = r < 80 ? (nuint)rng.Next(1, 512) : r < 98 ? (nuint)rng.Next(512, 64 << 10) : (nuint)rng.Next(64 << 10, 4 << 20);
                    live[slot] = (nint)Heap.Malloc(size);
                }
                foreach (nint p in live) if (p != 0 && rng.Next(4) != 0) Heap.Free((void*)p);   // the rest stays live
                handoff[id] = [.. passed];
            });
            workers[t].Start();
        }
        foreach (Thread w in workers) w.Join();
        // Cross-thread frees: each thread's hand-offs are freed by another thread.
        var freers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            nint[] blocks = handoff[(t + 1) % threads];
            freers[t] = new Thread(() => { foreach (nint p in blocks) Heap.Free((void*)p); });
            freers[t].Start();
        }
        foreach (Thread f in freers) f.Join();
        // An explicit arena with a few live blocks.
        int arena = Heap.CreateArena();
        for (int i = 0; i < 100; i++) Heap.MallocX((nuint)(64 + i * 100), MallocFlags.Arena(arena));
        Heap.Decay();
    }
}
