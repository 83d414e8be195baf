namespace NativeHeap.Tests.General;

/// <summary>Issue 15: no metadata leak, no false alarm in checked mode, misuse caught by default. Each in a child process.</summary>
public class ReliabilityTests
{
    [Fact]
    public void ArenaCreateDestroyCyclesKeepMetadataAndRssFlat() => ChildProcess.AssertOk("arena-cycles", null, "100000");

    [Fact]
    public void CheckedModeAcceptsEveryValidCallAndNamesEveryMisuse() => ChildProcess.AssertOk("checked-differential", "checked:true");

    [Fact]
    public void DefaultModeCatchesTheCheapMisuses() => ChildProcess.AssertOk("default-misuse");

    [Fact]
    public void ValidateFindsABlockFreedTwice() => ChildProcess.AssertOk("validate-duplicates");
}
