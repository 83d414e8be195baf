// OsMounts: the mount table (/proc/self/mountinfo): which file system holds a path and its options.
// Read-only; used to tell whether a directory is on a DAX mount (memkind_check_dax_path).
namespace NativeHeap.Os;

internal static class OsMounts
{
    /// <summary>
    /// True when the mount holding <paramref name="fullPath"/> (the longest mount point that is a
    /// prefix of it) has <paramref name="option"/> among its mount or super-block options.
    /// False when the table cannot be read.
    /// </summary>
    internal static bool HasOption(string fullPath, string option)
    {
        string best = "";
        string[] bestOptions = [];
        try
        {
            foreach (string line in File.ReadLines("/proc/self/mountinfo"))
            {
                // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
                string[] f = line.Split(' ');
                if (f.Length < 6) continue;
                string mountPoint = f[4].Replace("\\040", " ");
                bool under = fullPath == mountPoint || mountPoint == "/" || fullPath.StartsWith(mountPoint + "/", StringComparison.Ordinal);
                if (!under || mountPoint.Length < best.Length) continue;
                int dash = Array.IndexOf(f, "-");
                string super = dash >= 0 && dash + 3 < f.Length ? f[dash + 3] : "";
                best = mountPoint;
                bestOptions = [.. f[5].Split(','), .. super.Split(',')];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        return bestOptions.Any(o => o == option || o.StartsWith(option + "=", StringComparison.Ordinal) && o != option + "=never");
    }
}
