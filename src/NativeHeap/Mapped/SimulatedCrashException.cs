// SimulatedCrashException: what an armed crash point throws (see MappedHeap.TestHooks.cs).
namespace NativeHeap.Mapped;

/// <summary>Thrown by an armed crash point (tests only): the operation stopped between two stores.</summary>
internal sealed class SimulatedCrashException : Exception
{
    internal SimulatedCrashException() : base("simulated crash") { }
}
