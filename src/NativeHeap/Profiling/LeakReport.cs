// LeakReport: the text prof_leak prints at exit — jemalloc's "Leak approximation summary" line, then
// the top sites by live bytes with their stacks (a few frames each).
using System.Globalization;
using System.Text;

namespace NativeHeap.Profiling;

internal static class LeakReport
{
    internal static string Format(HeapProfileSnapshot snap, int top)
    {
        long bytes = snap.InUseBytes, objects = snap.InUseObjects;
        if (bytes == 0) return "";
        IReadOnlyList<HeapProfileSite> sites = snap.Top(top);
        var sb = new StringBuilder();
        int contexts = snap.Sites.Count(s => s.InUseBytes > 0);
        sb.Append(CultureInfo.InvariantCulture, $"<nativeheap>: Leak approximation summary: ~{bytes} bytes, ~{objects} objects, >= {contexts} contexts\n");
        foreach (HeapProfileSite s in sites)
        {
            double share = 100.0 * s.InUseBytes / bytes;
            sb.Append(CultureInfo.InvariantCulture, $"<nativeheap>:   ~{s.InUseBytes} bytes ({share:F1} %) in ~{s.InUseObjects} objects ({s.LiveSamples} samples)");
            if (s.ThreadName != null) sb.Append(" [").Append(s.ThreadName).Append(']');
            sb.Append('\n');
            for (int i = 0; i < Math.Min(4, s.Frames.Count); i++) sb.Append("<nativeheap>:       at ").Append(s.Frames[i]).Append('\n');
        }
        sb.Append("<nativeheap>: Run 'nheap prof <profile>' or 'go tool pprof -top <profile>' on a prof.dump/prof_final profile for the full stacks\n");
        return sb.ToString();
    }
}
