// Smaps: reads the /proc/self/smaps entry of the mapping that contains an address, to check where a
// kind's memory really is (KernelPageSize for hugetlb pages, AnonHugePages for THP).
namespace NativeHeap.Tests.Kinds;

internal static class Smaps
{
    /// <summary>The "Key: value kB" fields (in kB) of the mapping containing <paramref name="address"/>; null when no mapping contains it.</summary>
    internal static Dictionary<string, long>? FieldsOf(nuint address)
    {
        Dictionary<string, long>? current = null;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
            {
                if (current != null) return current;
                nuint start = nuint.Parse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber);
                nuint end = nuint.Parse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber);
                if (address >= start && address < end) current = [];
                continue;
            }
            if (current == null) continue;
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            string[] parts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && long.TryParse(parts[0], out long v)) current[line[..colon]] = v;
        }
        return current;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!char.IsAsciiHexDigit(c)) return false;
        return s.Length > 0;
    }
}
