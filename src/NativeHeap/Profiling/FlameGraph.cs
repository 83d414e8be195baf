// FlameGraph: an SVG flame graph of a pprof profile's samples for one sample type (nheap prof). The
// root spans the whole width; each frame sits above its caller and is as wide as the values of the
// samples whose stacks pass through it; siblings are ordered by name (Brendan Gregg's layout, with
// the caller at the bottom). Every rectangle has a <title> with the frame, the value and its share.
using System.Globalization;
using System.Security;
using System.Text;

namespace NativeHeap.Profiling;

internal static class FlameGraph
{
    private const int Width = 1200, FrameHeight = 17, Pad = 10, TitleHeight = 40;

    private sealed class Node(string name)
    {
        public string Name { get; } = name;
        public long Value;
        public SortedDictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);
    }

    internal static string Svg(PprofProfile profile, string sampleType, string title)
    {
        int t = profile.TypeIndex(sampleType);
        var root = new Node("all");
        foreach (PprofProfile.Sample s in profile.Samples)
        {
            long v = s.Values[t];
            if (v <= 0) continue;
            root.Value += v;
            Node n = root;
            for (int i = s.Stack.Length - 1; i >= 0; i--)
            {
                if (!n.Children.TryGetValue(s.Stack[i], out Node? c)) n.Children[s.Stack[i]] = c = new Node(s.Stack[i]);
                c.Value += v;
                n = c;
            }
        }
        int depth = Depth(root);
        int height = TitleHeight + (depth + 1) * FrameHeight + 2 * Pad;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<?xml version=\"1.0\" standalone=\"no\"?>\n<svg version=\"1.1\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{height}\" fill=\"#f8f8f0\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"24\" font-family=\"Verdana,sans-serif\" font-size=\"17\" text-anchor=\"middle\">{Esc(title)}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Pad}\" y=\"{TitleHeight - 4}\" font-family=\"Verdana,sans-serif\" font-size=\"12\">{Esc(sampleType)}: {Format(root.Value, sampleType)} total</text>\n");
        if (root.Value > 0) Emit(sb, root, Pad, Width - 2 * Pad, height - Pad - FrameHeight, root.Value, sampleType);
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static int Depth(Node n)
    {
        int d = 0;
        foreach (Node c in n.Children.Values) d = Math.Max(d, 1 + Depth(c));
        return d;
    }

    private static void Emit(StringBuilder sb, Node n, double x, double w, int y, long total, string type)
    {
        if (w < 0.3) return;
        double share = 100.0 * n.Value / total;
        string color = Color(n.Name);
        sb.Append(CultureInfo.InvariantCulture,
            $"<g><title>{Esc(n.Name)} — {Format(n.Value, type)} ({share:F2} %)</title><rect x=\"{x:F1}\" y=\"{y}\" width=\"{Math.Max(0.1, w - 0.5):F1}\" height=\"{FrameHeight - 1}\" fill=\"{color}\" rx=\"2\"/>");
        int chars = (int)((w - 6) / 7);
        if (chars >= 3)
        {
            string label = n.Name.Length <= chars ? n.Name : n.Name[..(chars - 2)] + "..";
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 3:F1}\" y=\"{y + FrameHeight - 5}\" font-family=\"Verdana,sans-serif\" font-size=\"11\">{Esc(label)}</text>");
        }
        sb.Append("</g>\n");
        double cx = x;
        foreach (Node c in n.Children.Values)
        {
            double cw = w * c.Value / n.Value;
            Emit(sb, c, cx, cw, y - FrameHeight, total, type);
            cx += cw;
        }
    }

    private static string Color(string name)
    {
        uint h = 2166136261;
        foreach (char ch in name) h = (h ^ ch) * 16777619;
        int r = 205 + (int)(h % 50), g = 80 + (int)((h >> 8) % 130), b = (int)((h >> 16) % 55);
        return $"rgb({r},{g},{b})";
    }

    internal static string Format(long v, string type)
    {
        if (!type.EndsWith("space", StringComparison.Ordinal)) return v.ToString("N0", CultureInfo.InvariantCulture);
        return v >= 1 << 20 ? (v / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB"
            : v >= 1 << 10 ? (v / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB"
            : v.ToString(CultureInfo.InvariantCulture) + " B";
    }

    private static string Esc(string s) => SecurityElement.Escape(s) ?? "";
}
