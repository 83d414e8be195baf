// NoPause: the hook that production pops use; an empty struct call that the JIT removes.
using System.Runtime.CompilerServices;

namespace NativeHeap.LockFree;

/// <summary>The production hook: does nothing and compiles away.</summary>
internal struct NoPause : IPopPause
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void AfterReadingNext() { }
}
