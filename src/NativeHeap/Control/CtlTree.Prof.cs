// CtlTree.Prof: jemalloc's heap-profiling names (opt.prof*, prof.*, thread.prof.*), backed by
// HeapProfiler / Profiling.Sampler. Types and access are jemalloc 5.3's; as in jemalloc, writes to
// prof.active, prof.dump, prof.gdump, prof.prefix and prof.reset answer ENOENT unless opt.prof was
// set at start. Dumps are pprof protobuf files, not jeprof text (docs/profiling.md).
// prof.dump and prof.reset also run with no value written (newp NULL), as jemalloc's do: a dump to
// the default name, a reset at the current rate.
using System.Runtime.InteropServices;
using NativeHeap.Profiling;

namespace NativeHeap.Control;

internal static unsafe partial class CtlTree
{
    private static void DeclareProf(Builder t)
    {
        t.Ro("opt.prof", CtlType.Bool, _ => B(Heap.Options.Prof), "heap profiling on from the start (prof:true)");
        t.Ro("opt.prof_prefix", CtlType.String, _ => Heap.Options.ProfPrefix, "file name prefix of automatic dumps (empty: none)");
        t.Ro("opt.prof_active", CtlType.Bool, _ => B(Heap.Options.ProfActive), "sampling active at start when opt.prof (prof.active's initial value)");
        t.Ro("opt.prof_thread_active_init", CtlType.Bool, _ => B(Heap.Options.ProfThreadActiveInit), "initial prof.thread_active_init");
        t.Ro("opt.lg_prof_sample", CtlType.Size, _ => (ulong)Heap.Options.LgProfSample, "log2 of the mean bytes between samples (19: 512 KiB)");
        t.Ro("opt.prof_accum", CtlType.Bool, _ => B(Heap.Options.ProfAccum), "dumps keep sites whose blocks were all freed (cumulative alloc_* counts)");
        t.Ro("opt.lg_prof_interval", CtlType.SSize, _ => (ulong)(long)Heap.Options.LgProfInterval, "log2 of the mean bytes between interval dumps (-1: none)");
        t.Ro("opt.prof_gdump", CtlType.Bool, _ => B(Heap.Options.ProfGdump), "dump when the mapped bytes pass their maximum (prof.gdump's initial value)");
        t.Ro("opt.prof_final", CtlType.Bool, _ => B(Heap.Options.ProfFinal), "dump a final profile at exit");
        t.Ro("opt.prof_leak", CtlType.Bool, _ => B(Heap.Options.ProfLeak), "report live sampled blocks (leaks) at exit, by site");
        t.Ro("opt.prof_leak_error", CtlType.Bool, _ => B(Heap.Options.ProfLeakError), "with prof_leak, exit status 1 when something leaked");

        t.Leaf("thread.prof.name", CtlType.String, CtlAccess.ReadWrite, ThreadProfName, "the calling thread's name in profiles (read or write, not both: EPERM)");
        t.Rw("thread.prof.active", CtlType.Bool, _ => B(Heap.ProfThreadActive), (_, v) => Heap.ProfThreadActive = v != 0, "whether the calling thread's allocations are sampled");

        t.Rw("prof.thread_active_init", CtlType.Bool, _ => B(SamplerGate.ThreadActiveInit), (_, v) => SamplerGate.ThreadActiveInit = v != 0,
            "initial thread.prof.active of threads that start allocating from now on");
        t.Leaf("prof.active", CtlType.Bool, CtlAccess.ReadWrite, ProfActive, "sampling on or off (writes: ENOENT without opt.prof)");
        t.Leaf("prof.dump", CtlType.String, CtlAccess.Write, ProfDump, "write a pprof profile to the file named (NULL: <prefix>.<pid>.<seq>.m<mseq>.heap); EFAULT if it cannot be written");
        t.Leaf("prof.gdump", CtlType.Bool, CtlAccess.ReadWrite, ProfGdump, "dump whenever the mapped bytes pass their previous maximum (writes: ENOENT without opt.prof)");
        t.Leaf("prof.prefix", CtlType.String, CtlAccess.Write, ProfPrefix, "set the file name prefix of later dumps (NULL: EINVAL)");
        t.Leaf("prof.reset", CtlType.Size, CtlAccess.Write, ProfReset, "forget every sample and site; the value written (optional) is the new lg_sample (clamped to 62)");
        t.Ro("prof.lg_sample", CtlType.Size, _ => (ulong)Sampler.s_lgSample, "log2 of the mean bytes between samples now");
        t.Ro("prof.interval", CtlType.UInt64, _ => Sampler.s_lgInterval < 0 ? 0 : 1UL << Sampler.s_lgInterval, "mean bytes between interval dumps (0: none)");
        RunsWithoutValue("prof.dump");
        RunsWithoutValue("prof.reset");

        void RunsWithoutValue(string path) => t.NodeAt(path, create: false)!.RunsWithoutValue = true;
    }

    private static CtlStatus ProfActive(ref CtlCall c)
    {
        if (c.WantOld) c.Old = B(SamplerGate.Active);
        if (!c.HasNew) return CtlStatus.Ok;
        if (!Sampler.s_enabled) return CtlStatus.NotFound;
        Sampler.SetActive(c.New != 0);
        return CtlStatus.Ok;
    }

    private static CtlStatus ProfGdump(ref CtlCall c)
    {
        if (c.WantOld) c.Old = B(Sampler.Gdump);
        if (!c.HasNew) return CtlStatus.Ok;
        if (!Sampler.s_enabled) return CtlStatus.NotFound;
        Sampler.Gdump = c.New != 0;
        return CtlStatus.Ok;
    }

    private static CtlStatus ThreadProfName(ref CtlCall c)
    {
        if (c.WantOld && c.HasNew) return CtlStatus.ReadOnly;   // jemalloc: read or write, EPERM for both
        if (c.HasNew)
        {
            if (c.New == 0) return CtlStatus.Fault;
            string name = Marshal.PtrToStringUTF8((nint)c.New) ?? "";
            foreach (char ch in name) if (char.IsControl(ch)) return CtlStatus.Fault;   // jemalloc: printable characters only (EFAULT)
            Sampler.ThreadName = name;
            return CtlStatus.Ok;
        }
        c.OldString = Sampler.ThreadName ?? "";
        return CtlStatus.Ok;
    }

    private static CtlStatus ProfDump(ref CtlCall c)
    {
        if (c.WantOld) return CtlStatus.ReadOnly;
        if (!Sampler.s_enabled) return CtlStatus.NotFound;
        string? path = c.HasNew && c.New != 0 ? Marshal.PtrToStringUTF8((nint)c.New) : null;
        try
        {
            Sampler.Dump(path);
            return CtlStatus.Ok;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return CtlStatus.Fault;
        }
    }

    private static CtlStatus ProfPrefix(ref CtlCall c)
    {
        if (c.WantOld) return CtlStatus.ReadOnly;
        if (!Sampler.s_enabled) return CtlStatus.NotFound;
        if (!c.HasNew || c.New == 0) return CtlStatus.Invalid;
        Sampler.SetPrefix(Marshal.PtrToStringUTF8((nint)c.New) ?? "");
        return CtlStatus.Ok;
    }

    private static CtlStatus ProfReset(ref CtlCall c)
    {
        if (c.WantOld) return CtlStatus.ReadOnly;
        if (!Sampler.s_enabled) return CtlStatus.NotFound;
        Sampler.Reset(c.HasNew ? (int)Math.Min(c.New, 62UL) : null);
        return CtlStatus.Ok;
    }
}
