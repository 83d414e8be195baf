// SvgChart: a hand-written SVG of the ratios reference/allocator for every workload: one panel for
// time, one for peak RSS; horizontal bars on a log2 axis from 1/8 to 8 centred on 1 (left of the
// centre line: the reference is faster / smaller).
using System.Globalization;
using System.Net;
using System.Text;

namespace NativeHeap.Workloads.Reporting;

/// <summary>Renders a <see cref="BenchReport"/> as an SVG chart of ratios.</summary>
public static class SvgChart
{
    private static readonly string[] s_colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2"];
    private const double LogRange = 3; // log2: 1/8 .. 8
    private const int LabelWidth = 150, PanelWidth = 330, BarHeight = 9, RowGap = 8, Top = 70;

    /// <summary>The chart as SVG text.</summary>
    public static string Render(BenchReport report)
    {
        string reference = report.Reference;
        List<string> others = [.. report.Allocators.Where(a => a != reference)];
        int rowHeight = Math.Max(1, others.Count) * BarHeight + RowGap;
        int height = Top + report.Workloads.Count * rowHeight + 40;
        int width = LabelWidth + 2 * PanelWidth + 60;
        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n"));
        svg.Append(Invariant($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n"));
        svg.Append(Invariant($"<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">mimalloc-bench workloads: {Escape(reference)} / allocator (log scale; left of 1 = {Escape(reference)} better)</text>\n"));
        svg.Append(Invariant($"<text x=\"10\" y=\"34\">{Escape(report.Machine)}; {Escape(report.Size)}, {report.Repeats} repeats, medians</text>\n"));
        for (int i = 0; i < others.Count; i++)
        {
            int x = 10 + i * 120;
            svg.Append(Invariant($"<rect x=\"{x}\" y=\"42\" width=\"10\" height=\"10\" fill=\"{s_colors[i % s_colors.Length]}\"/><text x=\"{x + 14}\" y=\"51\">{Escape(others[i])}</text>\n"));
        }
        for (int panel = 0; panel < 2; panel++)
        {
            int x0 = LabelWidth + panel * (PanelWidth + 30);
            svg.Append(Invariant($"<text x=\"{x0 + PanelWidth / 2}\" y=\"{Top - 4}\" text-anchor=\"middle\" font-weight=\"bold\">{(panel == 0 ? "time" : "peak RSS")}</text>\n"));
            foreach (double tick in new[] { 0.125, 0.25, 0.5, 1, 2, 4, 8 })
            {
                double tx = x0 + Position(tick);
                svg.Append(Invariant($"<line x1=\"{tx:0.#}\" y1=\"{Top}\" x2=\"{tx:0.#}\" y2=\"{height - 30}\" stroke=\"{(tick == 1 ? "#333" : "#ddd")}\"/>\n"));
                svg.Append(Invariant($"<text x=\"{tx:0.#}\" y=\"{height - 16}\" text-anchor=\"middle\">{(tick < 1 ? "1/" + (1 / tick).ToString("0", CultureInfo.InvariantCulture) : tick.ToString("0", CultureInfo.InvariantCulture))}</text>\n"));
            }
            for (int w = 0; w < report.Workloads.Count; w++)
            {
                WorkloadSummary summary = report.Workloads[w];
                int y = Top + w * rowHeight + RowGap / 2;
                if (panel == 0)
                {
                    svg.Append(Invariant($"<text x=\"{LabelWidth - 6}\" y=\"{y + rowHeight / 2}\" text-anchor=\"end\">{Escape(summary.Workload)}</text>\n"));
                }
                for (int i = 0; i < others.Count; i++)
                {
                    double ratio = panel == 0 ? summary.TimeRatio(reference, others[i]) : summary.PeakRatio(reference, others[i]);
                    if (double.IsNaN(ratio) || ratio <= 0)
                    {
                        continue;
                    }
                    double center = x0 + Position(1), end = x0 + Position(ratio);
                    double left = Math.Min(center, end), barWidth = Math.Max(1, Math.Abs(end - center));
                    svg.Append(Invariant($"<rect x=\"{left:0.#}\" y=\"{y + i * BarHeight}\" width=\"{barWidth:0.#}\" height=\"{BarHeight - 1}\" fill=\"{s_colors[i % s_colors.Length]}\"><title>{Escape(summary.Workload)} {Escape(others[i])}: {ratio:0.00}</title></rect>\n"));
                }
            }
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static double Position(double ratio)
    {
        double log = Math.Clamp(Math.Log2(ratio), -LogRange, LogRange);
        return (log + LogRange) / (2 * LogRange) * PanelWidth;
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
