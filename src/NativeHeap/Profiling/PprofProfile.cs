// PprofProfile: a decoded pprof profile (gzip-compressed or plain profile.proto), enough for
// `nheap prof` (top sites, flame graphs) and the tests: sample types and, per sample, its stack as
// function names (innermost first, file:line when known) and its values.
using System.IO.Compression;

namespace NativeHeap.Profiling;

internal sealed class PprofProfile
{
    /// <summary>A sample: stack innermost first, values in <see cref="SampleTypes"/> order, its "thread" label.</summary>
    internal sealed record Sample(string[] Stack, long[] Values, string? Thread);

    public List<string> SampleTypes { get; } = [];
    public List<Sample> Samples { get; } = [];
    public long Period { get; private set; }
    public string DefaultSampleType { get; private set; } = "";

    public int TypeIndex(string name) => SampleTypes.IndexOf(name) is var i && i >= 0 ? i : throw new ArgumentException($"the profile has no sample type {name} (it has {string.Join(", ", SampleTypes)})");

    internal static PprofProfile Read(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            raw = ms.ToArray();
        }
        return Decode(raw);
    }

    internal static PprofProfile Decode(ReadOnlySpan<byte> data)
    {
        var p = new PprofProfile();
        var strings = new List<string>();
        var types = new List<long>();
        var rawSamples = new List<(List<long> Locs, List<long> Values, List<(long K, long V)> Labels)>();
        var locFunctions = new Dictionary<long, List<(long Fn, long Line)>>();
        var functions = new Dictionary<long, (long Name, long File)>();
        long defaultType = 0;
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1:
                    var vt = new ProtoReader(r.Payload);
                    while (vt.Next()) if (vt.Field == 1) types.Add((long)vt.Value);
                    break;
                case 2:
                    var s = new ProtoReader(r.Payload);
                    var locs = new List<long>();
                    var vals = new List<long>();
                    var labels = new List<(long, long)>();
                    while (s.Next())
                    {
                        if (s.Field == 1) s.AddIntegers(locs);
                        else if (s.Field == 2) s.AddIntegers(vals);
                        else if (s.Field == 3)
                        {
                            var l = new ProtoReader(s.Payload);
                            long k = 0, v = 0;
                            while (l.Next())
                            {
                                if (l.Field == 1) k = (long)l.Value;
                                else if (l.Field == 2) v = (long)l.Value;
                            }
                            labels.Add((k, v));
                        }
                    }
                    rawSamples.Add((locs, vals, labels));
                    break;
                case 4:
                    var lr = new ProtoReader(r.Payload);
                    long id = 0;
                    var lines = new List<(long, long)>();
                    while (lr.Next())
                    {
                        if (lr.Field == 1) id = (long)lr.Value;
                        else if (lr.Field == 4)
                        {
                            var ln = new ProtoReader(lr.Payload);
                            long fn = 0, line = 0;
                            while (ln.Next())
                            {
                                if (ln.Field == 1) fn = (long)ln.Value;
                                else if (ln.Field == 2) line = (long)ln.Value;
                            }
                            lines.Add((fn, line));
                        }
                    }
                    locFunctions[id] = lines;
                    break;
                case 5:
                    var fr = new ProtoReader(r.Payload);
                    long fid = 0, name = 0, file = 0;
                    while (fr.Next())
                    {
                        if (fr.Field == 1) fid = (long)fr.Value;
                        else if (fr.Field == 2) name = (long)fr.Value;
                        else if (fr.Field == 4) file = (long)fr.Value;
                    }
                    functions[fid] = (name, file);
                    break;
                case 6:
                    strings.Add(System.Text.Encoding.UTF8.GetString(r.Payload));
                    break;
                case 12:
                    p.Period = (long)r.Value;
                    break;
                case 14:
                    defaultType = (long)r.Value;
                    break;
            }
        }
        string S(long i) => i >= 0 && i < strings.Count ? strings[(int)i] : "";
        foreach (long t in types) p.SampleTypes.Add(S(t));
        p.DefaultSampleType = S(defaultType);
        foreach (var (locs, vals, labels) in rawSamples)
        {
            var stack = new List<string>();
            foreach (long loc in locs)
            {
                if (!locFunctions.TryGetValue(loc, out var lines) || lines.Count == 0)
                {
                    stack.Add($"location {loc}");
                    continue;
                }
                foreach (var (fn, line) in lines)
                {
                    (long nameId, long fileId) = functions.TryGetValue(fn, out var f) ? f : (0, 0);
                    string file = S(fileId);
                    stack.Add(file.Length == 0 ? S(nameId) : $"{S(nameId)} ({Path.GetFileName(file)}:{line})");
                }
            }
            string? thread = null;
            foreach (var (k, v) in labels) if (S(k) == "thread") thread = S(v);
            p.Samples.Add(new Sample(stack.ToArray(), vals.ToArray(), thread));
        }
        return p;
    }
}
