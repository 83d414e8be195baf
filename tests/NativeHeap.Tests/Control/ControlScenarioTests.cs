using System.Text.Json;

namespace NativeHeap.Tests.Control;

/// <summary>Control-namespace behaviour that needs process-wide options, each in a child process.</summary>
public class ControlScenarioTests
{
    [Fact]
    public void AllocatedIsExactWithoutThreadCaches() => ChildProcess.AssertOk("stats-exact", "tcache:false");

    [Fact]
    public void AllocatedIsWithinTheCachedBoundWithThreadCaches() => ChildProcess.AssertOk("stats-cached-bound");

    [Fact]
    public void StatsPrintAtExitInJson()
    {
        ChildProcess.Result r = ChildProcess.AssertOk("stats-print", "stats_print:true,stats_print_opts:Jb");
        int start = r.Stderr.IndexOf('{');
        Assert.True(start >= 0, r.ToString());
        using JsonDocument doc = JsonDocument.Parse(r.Stderr[start..]);
        JsonElement root = doc.RootElement.GetProperty("jemalloc");
        Assert.Equal("Jb", root.GetProperty("opt").GetProperty("stats_print_opts").GetString());
        Assert.DoesNotContain("\"bins\"", r.Stderr);
    }

    [Fact]
    public void BadStatsPrintOptionsWarnAndAreIgnored()
    {
        ChildProcess.Result r = ChildProcess.AssertOk("stats-print", "stats_print:true,stats_print_opts:Jz");
        Assert.Contains("stats_print_opts:Jz", r.Stderr);
        Assert.Contains("___ Begin jemalloc statistics ___", r.Stderr);   // text, since the bad value was ignored
    }
}

/// <summary>jemalloc's promises about a heap nothing has used yet, in a fresh process.</summary>
public class FreshHeapControlTests
{
    [Fact]
    public void ArenaZeroStatisticsAnswerBeforeAnyAllocation() => ChildProcess.AssertOk("ctl-fresh", "narenas:8");
}

/// <summary>Options behind jemalloc names that select behaviour, each in a child process with the option set.</summary>
public class ArenaPolicyScenarioTests
{
    [Fact]
    public void PerCpuArenaBindsThreadsToTheirCpusArena() => ChildProcess.AssertOk("ctl-percpu", "percpu_arena:percpu");

    [Fact]
    public void OversizeBlocksUseTheirOwnArena() => ChildProcess.AssertOk("ctl-oversize", "oversize_threshold:4194304");
}
