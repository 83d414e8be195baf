using NativeHeap.Tests.Support;

namespace NativeHeap.Tests.Sharded;

/// <summary>
/// NativeHeap.Heap routed through core v2 (NATIVEHEAP_CONF=core:sharded), each in a child process since
/// the core is chosen once per process: the plain calls make core v2 blocks with jemalloc's sizes, the
/// rest stays on the jemalloc core, frees find the block's core, misuse is reported, nothing managed is
/// allocated, and a three-thread stress with remote frees, reallocs and content checks validates.
/// </summary>
public class CoreV2RoutingTests
{
    [Fact]
    public void DefaultCoreIsJemalloc() => ChildProcess.AssertOk("corev2-default");

    [Fact]
    public void EveryPlainCallWorksOnCoreV2() => ChildProcess.AssertOk("corev2-api", "core:sharded");

    [Fact]
    public void JemallocCoreNamedExplicitlyIsTheDefault() => ChildProcess.AssertOk("corev2-default", "core:jemalloc");

    [Fact]
    public void CheckedModeWithCoreV2IsRefused() => ChildProcess.AssertOk("corev2-contradiction", "core:sharded,checked:true");

    [Fact]
    public void ThreeThreadStressWithRemoteFreesAndContentChecks() => ChildProcess.AssertOk("corev2-stress", "core:sharded", "300000");

    [Fact]
    public void UnknownCoreIsReportedAndTheDefaultKept()
    {
        ChildProcess.Result r = ChildProcess.AssertOk("corev2-default", "core:fast");
        Assert.Contains("Invalid conf pair: core:fast", r.Stderr);
    }
}
