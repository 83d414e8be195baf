// MeasuredRun: runs one workload on one allocator in this process and records its figures and the
// process's memory around it: RSS before, peak during (VmHWM after resetting it), after the
// workload freed everything, and after the allocator's purge. Meant to run once per process (the
// `nheap bench-run` child), so the memory figures belong to that allocator alone.
using NativeHeap.Workloads.Allocators;
using NativeHeap.Workloads.Workloads;

namespace NativeHeap.Workloads.Measurement;

/// <summary>Runs and measures one workload on one allocator.</summary>
public static class MeasuredRun
{
    /// <summary>Runs <paramref name="workload"/> on <paramref name="binding"/> and returns the record.</summary>
    public static RunRecord Execute(AllocatorBinding binding, Workload workload)
    {
        long rssStart = ProcessMemory.CurrentRss();
        bool reset = ProcessMemory.ResetPeak();
        WorkloadResult result = binding.Run(workload);
        long peak = ProcessMemory.PeakRss();
        long rssEnd = ProcessMemory.CurrentRss();
        binding.Purge();
        long rssPurged = ProcessMemory.CurrentRss();
        return new RunRecord
        {
            Workload = workload.Name,
            Allocator = binding.Name,
            Seconds = result.Seconds,
            Operations = result.Operations,
            Metric = result.Metric(workload.Kind),
            Check = result.Check,
            RssStart = rssStart,
            PeakRss = peak,
            RssEnd = rssEnd,
            RssPurged = rssPurged,
            PeakReset = reset,
        };
    }
}
