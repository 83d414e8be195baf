// NativeHeap.EchoServer: a line-protocol echo server on loopback with System.IO.Pipelines, run with
// three buffer pools in the same process, interleaved round by round:
//   native      NativeMemoryPool.Shared (NativeHeap's general heap; no `unsafe` here)
//   memorypool  MemoryPool<byte>.Shared (managed arrays)
//   arraypool   ArrayPool<byte>.Shared through a MemoryPool adapter
// Prints, per pool, the median and range of throughput (MB/s echoed), process CPU time per GB, the GC
// collections (gen0/gen1/gen2) and managed bytes allocated during its runs.
//   dotnet run -c Release --project samples/NativeHeap.EchoServer -- [--rounds 5] [--clients 4] [--mb 64] [--buffer 4096]
// (--buffer: the pipe readers' and writers' buffer size, i.e. the size of each rent).
using System.Buffers;
using System.Diagnostics;
using NativeHeap.EchoServer;
using NativeHeap.Safe;

int rounds = 5, clients = 4, megabytes = 64, bufferSize = 4096;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--rounds": rounds = int.Parse(args[i + 1]); break;
        case "--clients": clients = int.Parse(args[i + 1]); break;
        case "--mb": megabytes = int.Parse(args[i + 1]); break;
        case "--buffer": bufferSize = int.Parse(args[i + 1]); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}
if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("NativeHeap runs on Linux only");
    return 2;
}

// Lines of 10 to 200 bytes; each client sends the block enough times to echo `megabytes` MB per client.
var rng = new Random(42);
var text = new List<byte>();
while (text.Count < 1 << 20)
{
    int n = rng.Next(10, 200);
    for (int i = 0; i < n; i++) text.Add((byte)rng.Next('a', 'z' + 1));
    text.Add((byte)'\n');
}
byte[] lines = text.ToArray();
int repeats = Math.Max(1, (int)((long)megabytes * 1_000_000 / lines.Length));

var pools = new (string Name, MemoryPool<byte> Pool)[]
{
    ("native", NativeMemoryPool.Shared),
    ("memorypool", MemoryPool<byte>.Shared),
    ("arraypool", ArrayPoolMemoryPool.Instance),
};
var results = pools.ToDictionary(p => p.Name, _ => new Totals());

// Warm-up (JIT, thread caches, connections' first buffers), not measured.
foreach (var (_, pool) in pools) await EchoServer.RunAsync(pool, clients, lines, 1, bufferSize);

for (int round = 0; round < rounds; round++)
{
    foreach (var (name, pool) in round % 2 == 0 ? pools : pools.Reverse())
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        long bytes = await EchoServer.RunAsync(pool, clients, lines, repeats, bufferSize);
        double seconds = clock.Elapsed.TotalSeconds;
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        Totals t = results[name];
        t.MBps.Add(bytes / 1e6 / seconds);
        t.CpuPerGB.Add(cpuSeconds / (bytes / 1e9));
        t.Gen0 += GC.CollectionCount(0) - g0;
        t.Gen1 += GC.CollectionCount(1) - g1;
        t.Gen2 += GC.CollectionCount(2) - g2;
        t.Allocated += GC.GetTotalAllocatedBytes(precise: true) - allocated;
        t.Bytes += bytes;
    }
}

Console.WriteLine($"echo over loopback: {clients} clients × {repeats} × {lines.Length} bytes per round, {bufferSize}-byte buffers, {rounds} rounds, pools interleaved");
Console.WriteLine($"{"pool",-11} {"MB/s median",11} {"(min–max)",17} {"CPU s/GB",9} {"gen0",5} {"gen1",5} {"gen2",5} {"managed B/KB echoed",20}");
foreach (var (name, _) in pools)
{
    Totals t = results[name];
    Console.WriteLine($"{name,-11} {Median(t.MBps),11:F0} {$"({t.MBps.Min():F0}–{t.MBps.Max():F0})",17} {Median(t.CpuPerGB),9:F2} {t.Gen0,5} {t.Gen1,5} {t.Gen2,5} {t.Allocated / (t.Bytes / 1024.0),20:F1}");
}
Console.WriteLine($"native pool: {NativeMemoryPool.Shared.RentedCount} buffers rented, {NativeMemoryPool.Shared.OutstandingCount} outstanding");
return 0;

static double Median(List<double> v)
{
    var s = v.OrderBy(x => x).ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

internal sealed class Totals
{
    public readonly List<double> MBps = [];
    public readonly List<double> CpuPerGB = [];
    public int Gen0, Gen1, Gen2;
    public long Allocated, Bytes;
}
