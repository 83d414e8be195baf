namespace NativeHeap.Tests.General;

/// <summary>
/// Spare-chunk migration between automatic arenas (an arena's emptied chunks go to the shared pool and
/// another arena grows from them before mapping), in a child process: the pool is process-wide, so in
/// the test host other tests' arenas would take and give chunks between the measurements.
/// </summary>
public class SpareChunkTests
{
    [Fact]
    public void EmptyChunksMoveToTheArenaThatNeedsThem() => ChildProcess.AssertOk("spare-chunk-migration");
}
