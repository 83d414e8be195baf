// Statistics: the median and spread of repeated measurements.
namespace NativeHeap.Workloads.Measurement;

/// <summary>Median and relative spread of a sample.</summary>
public static class Statistics
{
    /// <summary>The median of <paramref name="values"/> (mean of the middle two for even counts); NaN when empty.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        double[] sorted = [.. values.OrderBy(v => v)];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>(max − min) / median, the relative spread; NaN when empty or the median is 0.</summary>
    public static double Spread(IReadOnlyList<double> values)
    {
        double median = Median(values);
        if (values.Count == 0 || median == 0)
        {
            return double.NaN;
        }
        return (values.Max() - values.Min()) / Math.Abs(median);
    }
}
