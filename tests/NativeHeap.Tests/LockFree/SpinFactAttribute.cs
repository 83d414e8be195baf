// SpinFactAttribute: a fact that needs the spin model checker and gcc, skipped with the reason
// (and the apt-get line) when either is missing; with long: true it also needs NATIVEHEAP_LONG=1.
namespace NativeHeap.Tests.LockFree;

/// <summary>A fact that runs only where <c>spin</c> and <c>gcc</c> are on the PATH.</summary>
public sealed class SpinFactAttribute : FactAttribute
{
    /// <summary>Skips the test unless spin and gcc are installed (and, for long checks, NATIVEHEAP_LONG=1).</summary>
    public SpinFactAttribute(bool longMode = false)
    {
        string? missing = OnPath("spin") ? OnPath("gcc") ? null : "gcc" : "spin";
        if (missing != null)
        {
            Skip = $"{missing} is not installed: apt-get install {missing}";
        }
        else if (longMode && Environment.GetEnvironmentVariable("NATIVEHEAP_LONG") != "1")
        {
            Skip = "long mode: set NATIVEHEAP_LONG=1 to run";
        }
    }

    internal static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
}
