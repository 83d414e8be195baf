// BenchReport: everything one `nheap bench` run measured, with the machine it ran on; serialised
// as the --json output.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NativeHeap.Workloads.Reporting;

/// <summary>The results of a bench run.</summary>
public sealed class BenchReport
{
    /// <summary>When the run started (UTC, ISO 8601).</summary>
    public string Started { get; init; } = "";

    /// <summary>The machine: cores, CPU model, kernel, runtime.</summary>
    public string Machine { get; init; } = "";

    /// <summary>quick or full.</summary>
    public string Size { get; init; } = "";

    /// <summary>How runs were split over child processes (one per run, or one per allocator and repeat).</summary>
    public string Isolation { get; init; } = "";

    /// <summary>Repeats per (workload, allocator).</summary>
    public int Repeats { get; init; }

    /// <summary>The allocator ratios are taken against (NativeHeap when measured).</summary>
    public string Reference { get; init; } = "";

    /// <summary>Allocators measured, in table order.</summary>
    public List<string> Allocators { get; init; } = [];

    /// <summary>Allocators skipped, with the reason (e.g. the apt-get line).</summary>
    public Dictionary<string, string> Skipped { get; init; } = [];

    /// <summary>Per workload.</summary>
    public List<WorkloadSummary> Workloads { get; init; } = [];

    /// <summary>The report as indented JSON (raw runs included).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    });

    /// <summary>A one-line description of this machine from /proc (cores, CPU model, kernel) and the runtime.</summary>
    public static string DescribeMachine()
    {
        string cpu = "unknown CPU";
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                cpu = line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString;
        return $"{Environment.ProcessorCount} cores, {cpu}, Linux {kernel}, .NET {Environment.Version}";
    }
}
