// MappedHeap.TestHooks: crash-point injection for tests. Blocks.cs calls CrashPoint() between the
// stores of every operation; a test arms a countdown, and when it reaches zero the operation stops
// there with a SimulatedCrashException, leaving memory exactly as a SIGKILL at that instant would.
// SimulateKill() then drops the mapping and the descriptor without any of Detach's stores, so the
// next attach sees what a new process would see after the kill. Disarmed, a crash point costs one
// load and one predictable branch.
using System.Runtime.CompilerServices;
using NativeHeap.Os;

namespace NativeHeap.Mapped;

public sealed unsafe partial class MappedHeap
{
    private int _crashCountdown;

    /// <summary>Arms the crash points: the <paramref name="countdown"/>-th crash point reached from now throws (0 disarms).</summary>
    internal void ArmCrash(int countdown) => _crashCountdown = countdown;

    /// <summary>How many crash points the armed countdown still has to pass (0 when it fired or was never armed).</summary>
    internal int CrashCountdown => _crashCountdown;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CrashPoint()
    {
        if (_crashCountdown != 0) CrashPointSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CrashPointSlow()
    {
        if (--_crashCountdown == 0) throw new SimulatedCrashException();
    }

    /// <summary>Abandons the heap as a killed process would: unmaps and closes without recording a clean close.</summary>
    internal void SimulateKill()
    {
        lock (_lock)
        {
            _writable = false;
            Unmap();
            if (_fd >= 0) OsFile.TryClose(_fd, out _);
            _fd = -1;
        }
    }
}
