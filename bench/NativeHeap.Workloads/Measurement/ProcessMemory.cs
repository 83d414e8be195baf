// ProcessMemory: this process's resident memory from /proc/self/status (VmRSS now, VmHWM the peak),
// and a reset of the peak (writing 5 to /proc/self/clear_refs) so a child measures only its workload.
namespace NativeHeap.Workloads.Measurement;

/// <summary>Reads the resident set size of the current process.</summary>
public static class ProcessMemory
{
    /// <summary>Resident bytes now (VmRSS).</summary>
    public static long CurrentRss() => ReadStatusKiB("VmRSS:") * 1024;

    /// <summary>Peak resident bytes since start or the last <see cref="ResetPeak"/> (VmHWM).</summary>
    public static long PeakRss() => ReadStatusKiB("VmHWM:") * 1024;

    /// <summary>Resets VmHWM to the current RSS; false when the kernel refuses.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long ReadStatusKiB(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                ReadOnlySpan<char> rest = line.AsSpan(key.Length).Trim();
                int space = rest.IndexOf(' ');
                return long.Parse(space < 0 ? rest : rest[..space]);
            }
        }
        return 0;
    }
}
