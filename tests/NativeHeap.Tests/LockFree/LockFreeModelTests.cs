// Runs the spin model checks of the lock-free core (models/run-spin.sh on models/lockfree_stack.pml, the
// tagged stack of the partial lists, and models/michael_anchor.pml, the superblock anchor and pool protocol):
// safety (no block handed out twice, ownership invariant, a failed CAS implies another's success)
// and progress (no non-progress cycle), plus the negative controls that prove the checks can fail
// (without tags spin must find ABA; with a spin lock it must find a non-progress cycle).
using System.Diagnostics;

namespace NativeHeap.Tests.LockFree;

public sealed class LockFreeModelTests
{
    [SpinFact]
    public void SpinVerifiesTheModelAndCatchesTheControls() => RunSpin("");

    [SpinFact(longMode: true)]
    public void LongModeSpinVerifiesLargerConfigurations() => RunSpin("--long");

    private static void RunSpin(string args)
    {
        string script = Path.Combine(FindRepositoryRoot(), "models", "run-spin.sh");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        if (args.Length > 0) psi.ArgumentList.Add(args);
        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(10)), "spin did not finish in 10 minutes");
        output += stderr.Result;
        Assert.True(p.ExitCode == 0, output);
        Assert.Contains("spin: all checks passed", output);
        Assert.DoesNotContain("FAIL", output);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "models", "lockfree_stack.pml"))) return dir.FullName;
        }
        throw new InvalidOperationException("models/lockfree_stack.pml not found above " + AppContext.BaseDirectory);
    }
}
