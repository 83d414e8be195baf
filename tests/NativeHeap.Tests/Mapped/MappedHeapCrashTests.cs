using System.Diagnostics;
using NativeHeap.Mapped;
using NativeHeap.MappedChild;
using Xunit.Abstractions;

namespace NativeHeap.Tests.Mapped;

/// <summary>
/// Kills a child that allocates, frees, writes records and publishes them to roots with SIGKILL at
/// random moments, then reopens: the open must succeed, the walker must find the heap consistent,
/// and every record the child reported as published must read back intact (or a newer one must).
/// </summary>
public unsafe class MappedHeapCrashTests(ITestOutputHelper output)
{
    [Fact]
    public void SurvivesTwoHundredKills() => KillLoop(200, seed: 2026);

    [LongFact]
    public void SurvivesOneThousandKills() => KillLoop(1000, seed: 7);

    private void KillLoop(int kills, int seed)
    {
        using var dir = new TempDir();
        string path = dir.File("crash.heap");
        var create = new MappedHeapOptions { MaxSize = 64L << 20, InitialSize = 128 << 10, GrowthStep = 64 << 10 };
        Assert.True(MappedHeap.TryAttach(path, create, out MappedHeap? first, out MappedHeapFailure f), f.ToString());
        first!.TryDetach();

        var rng = new Random(seed);
        var reported = new long[Churn.Slots];
        Array.Fill(reported, -1L);
        int recovered = 0, published = 0, killedBeforeReady = 0;
        var clock = Stopwatch.StartNew();
        for (int run = 0; run < kills; run++)
        {
            using Process child = MappedTestFiles.StartChild("churn", path, ((long)(run + 1) * 1_000_000_000L).ToString(), rng.Next().ToString());
            var lines = new List<string>();
            var ready = new ManualResetEventSlim();
            child.OutputDataReceived += (_, e) =>
            {
                if (e.Data == null) return;
                lock (lines) lines.Add(e.Data);
                if (e.Data.StartsWith("READY", StringComparison.Ordinal)) ready.Set();
            };
            child.BeginOutputReadLine();
            if (rng.Next(5) == 0)
            {
                Thread.Sleep(rng.Next(0, 120)); // may land in startup, in the open, or in the recovery
            }
            else
            {
                Assert.True(ready.Wait(30_000) || child.HasExited, "the child never became ready");
                Thread.Sleep(rng.Next(0, 40));
            }
            if (!ready.IsSet) killedBeforeReady++;
            try { child.Kill(); } catch (InvalidOperationException) { }
            child.WaitForExit();
            if (child.ExitCode != 137 && child.ExitCode != -1)
            {
                string err = child.StandardError.ReadToEnd();
                lock (lines) Assert.Fail($"run {run}: the child exited by itself ({child.ExitCode}): {string.Join(" | ", lines.TakeLast(3))} {err}");
            }
            lock (lines)
            {
                foreach (string line in lines)
                {
                    if (!line.StartsWith("P ", StringComparison.Ordinal)) continue;
                    string[] parts = line.Split(' ');
                    reported[int.Parse(parts[1])] = long.Parse(parts[2]);
                    published++;
                }
            }

            Assert.True(MappedHeap.TryAttach(path, new MappedHeapOptions { CreateIfMissing = false }, out MappedHeap? heap, out f), $"run {run}: reopen failed: {f}");
            using (heap)
            {
                if (!heap!.WasCleanlyClosed) recovered++;
                Assert.True(heap.Check(out string? problem), $"run {run}: {problem}");
                for (int slot = 0; slot < Churn.Slots; slot++)
                {
                    byte* p = (byte*)Churn.GetSlot(heap, slot);
                    if (p == null)
                    {
                        Assert.True(reported[slot] < 0, $"run {run}: slot {slot} is empty but seq {reported[slot]} was published");
                        continue;
                    }
                    nuint usable = heap.UsableSize(p);
                    Assert.True(usable > 0, $"run {run}: slot {slot} points at something that is not an allocated block ({heap.LastError})");
                    string? bad = ChildRecord.Verify(p, usable, slot, out long seq);
                    Assert.True(bad == null, $"run {run}: slot {slot}: {bad}");
                    Assert.True(seq >= reported[slot], $"run {run}: slot {slot} holds seq {seq}, older than the published {reported[slot]}");
                }
            }
        }
        output.WriteLine($"{kills} kills in {clock.Elapsed.TotalSeconds:F1} s: {recovered} recoveries, {killedBeforeReady} kills before the heap was ready, {published} publications checked");
        Assert.True(recovered > kills / 2, $"only {recovered} of {kills} kills hit an open heap");
    }
}
