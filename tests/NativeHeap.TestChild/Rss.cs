namespace NativeHeap.TestChild;

/// <summary>Reads this process's resident set size from /proc/self/statm.</summary>
internal static class Rss
{
    internal static long Bytes()
    {
        string[] f = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(f[1]) * Environment.SystemPageSize;
    }

    internal static long PeakBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }
}
