namespace NativeHeap.Tests.General;

/// <summary>Behaviour that depends on process-wide options or per-process RSS, each in a child process.</summary>
public class ProcessScenarioTests
{
    [Theory]
    [InlineData("checked-double-free")]
    [InlineData("checked-large-double-free")]
    [InlineData("checked-interior")]
    [InlineData("checked-wrong-size")]
    [InlineData("checked-use-after-reset")]
    [InlineData("foreign-pointer")]
    public void CheckedModeDetectsMisuseWithoutCorruption(string scenario) => ChildProcess.AssertOk(scenario, "checked:true");

    [Fact]
    public void ForeignPointerIsDetectedWithoutCheckedMode() => ChildProcess.AssertOk("foreign-pointer");

    [Fact]
    public void OutOfMemoryReturnsNullByDefault() => ChildProcess.AssertOk("oom-null");

    [Fact]
    public void OutOfMemoryThrowsWhenAsked() => ChildProcess.AssertOk("oom-throw", "oom:throw");

    [Fact]
    public void OutOfMemoryAbortsWithAMessageWhenAsked()
    {
        ChildProcess.Result r = ChildProcess.Run("oom-abort", "oom:abort");
        Assert.NotEqual(0, r.ExitCode);
        Assert.DoesNotContain("OK", r.Stdout);
        Assert.Contains("out of memory", r.Stderr);
    }

    [Fact]
    public void MemorySourceFromOptionsServesAutomaticArenas() => ChildProcess.AssertOk("source-option");

    [Fact]
    public void ConfigurationFromTheEnvironment()
        => ChildProcess.AssertOk("conf", "tcache:false,narenas:3,dirty_decay_ms:500,oom:throw,junk:free", "tcache=false", "narenas=3", "dirty_decay_ms=500", "oom=Throw", "junk=Free");

    [Fact]
    public void UnknownAndMalformedOptionsWarnAndAreIgnored()
    {
        ChildProcess.Result r = ChildProcess.AssertOk("conf", "bogus:1,narenas:many,tcache,checked:true", "checked=true");
        Assert.Contains("bogus:1", r.Stderr);
        Assert.Contains("narenas:many", r.Stderr);
        Assert.Contains("\"tcache\"", r.Stderr);
    }

    [Fact]
    public void ConfigureFromCodeBeforeFirstUseOnly()
    {
        ChildProcess.AssertOk("configure-after-use");
        ChildProcess.AssertOk("configure-contradiction");
    }

    [Fact]
    public void JunkFilling() => ChildProcess.AssertOk("junk", "junk:true");

    [Fact]
    public void ZeroOption() => ChildProcess.AssertOk("zero-option", "zero:true");

    [Fact]
    public void PurgeReturnsRssToTheStart() => ChildProcess.AssertOk("purge-rss");

    [Fact]
    public void TenThousandShortLivedThreadsKeepRssBounded() => ChildProcess.AssertOk("thread-churn", null, "10000");

    [Fact]
    public void DecayFollowsTheInjectedClock() => ChildProcess.AssertOk("decay-clock");

    [Fact]
    public void DecayZeroPurgesAtOnce() => ChildProcess.AssertOk("decay-zero");

    [Fact]
    public void RetainOffUnmapsHugeBlocksAtOnce() => ChildProcess.AssertOk("retain-off", "retain:false");

    [Fact]
    public void CheckedModeWithRetainedHugeExtents() => ChildProcess.AssertOk("checked-huge-retained", "checked:true");

    [Fact]
    public void BackgroundThreadPurgesIdleArenas() => ChildProcess.AssertOk("background-purge", "background_thread:true,dirty_decay_ms:200");

    [Fact]
    public void StatsPrintAtExit()
    {
        ChildProcess.Result r = ChildProcess.AssertOk("stats-print", "stats_print:true");
        Assert.Contains("___ Begin jemalloc statistics ___", r.Stderr);
        Assert.Matches(@"\n +\d+ +1024 +[1-9]\d* ", r.Stderr);   // the 1024-byte class's row in a bins table
    }
}
