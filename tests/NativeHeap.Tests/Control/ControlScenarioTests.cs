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
        JsonElement root = doc.RootElement.GetProperty("nativeheap");
        Assert.Equal("Jb", root.GetProperty("opt").GetProperty("stats_print_opts").GetString());
        Assert.DoesNotContain("\"bins\"", r.Stderr);
    }

    [Fact]
    public void BadStatsPrintOptionsWarnAndAreIgnored()
    {
        ChildProcess.Result r = ChildProcess.AssertOk("stats-print", "stats_print:true,stats_print_opts:Jz");
        Assert.Contains("stats_print_opts:Jz", r.Stderr);
        Assert.Contains("___ Begin NativeHeap statistics ___", r.Stderr);   // text, since the bad value was ignored
    }
}

/// <summary>jemalloc's promises about a heap nothing has used yet, in a fresh process.</summary>
public class FreshHeapControlTests
{
    [Fact]
    public void ArenaZeroStatisticsAnswerBeforeAnyAllocation() => ChildProcess.AssertOk("ctl-fresh", "narenas:8");
}
