// Format: compact human units for the tables (1.23 M, 45.6 ms, 12.3 MiB, 0.87×).
using System.Globalization;

namespace NativeHeap.Workloads.Reporting;

/// <summary>Number formatting for reports.</summary>
public static class Format
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>A rate with an SI suffix (k, M, G).</summary>
    public static string Rate(double value) => double.IsNaN(value) ? "–" : value switch
    {
        >= 1e9 => (value / 1e9).ToString("0.00", s_inv) + " G",
        >= 1e6 => (value / 1e6).ToString("0.00", s_inv) + " M",
        >= 1e3 => (value / 1e3).ToString("0.0", s_inv) + " k",
        _ => value.ToString("0.0", s_inv),
    };

    /// <summary>Seconds as s or ms.</summary>
    public static string Seconds(double value) => double.IsNaN(value) ? "–" : value >= 1
        ? value.ToString("0.000", s_inv) + " s"
        : (value * 1e3).ToString("0.0", s_inv) + " ms";

    /// <summary>Bytes as MiB.</summary>
    public static string MiB(double bytes) => double.IsNaN(bytes) ? "–" : (bytes / (1024.0 * 1024.0)).ToString("0.0", s_inv) + " MiB";

    /// <summary>A relative spread as a percentage.</summary>
    public static string Percent(double fraction) => double.IsNaN(fraction) ? "–" : (fraction * 100).ToString("0.0", s_inv) + " %";

    /// <summary>A ratio with two decimals.</summary>
    public static string Ratio(double ratio) => double.IsNaN(ratio) || double.IsInfinity(ratio) ? "–" : ratio.ToString("0.00", s_inv);
}
