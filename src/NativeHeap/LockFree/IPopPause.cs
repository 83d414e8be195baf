// IPopPause: a hook inside LockFreeArena.Pop's ABA window, so that tests can run other operations
// exactly where a missing tag would let ABA corrupt a list.
namespace NativeHeap.LockFree;

/// <summary>A hook inside Pop's ABA window (between reading the next link and the CAS); for tests.</summary>
internal interface IPopPause
{
    /// <summary>Called after the next link was read and before the CAS.</summary>
    void AfterReadingNext();
}
