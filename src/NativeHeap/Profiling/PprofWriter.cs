// PprofWriter: writes a HeapProfileSnapshot as pprof's profile.proto, gzip-compressed — what
// `go tool pprof` reads. Sample types, in Go's heap-profile order: alloc_objects/count,
// alloc_space/bytes, inuse_objects/count, inuse_space/bytes (default inuse_space); period_type
// space/bytes with period 2^lg_sample. Each distinct frame is one Location with one Line; managed
// frames have no mapping (their names, files and lines are in the Function table), native frames get
// the mapping of their shared object's executable segment (from /proc/self/maps) so pprof can also
// symbolize them from the binary. A thread's prof name is the sample label "thread".
using System.Globalization;
using System.IO.Compression;

namespace NativeHeap.Profiling;

internal static class PprofWriter
{
    internal static void Write(HeapProfileSnapshot snap, string path)
    {
        byte[] proto = Encode(snap);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(proto);
    }

    internal static byte[] Encode(HeapProfileSnapshot snap)
    {
        var strings = new List<string> { "" };
        var stringIds = new Dictionary<string, long> { [""] = 0 };
        long Str(string? s)
        {
            if (string.IsNullOrEmpty(s)) return 0;
            if (stringIds.TryGetValue(s, out long id)) return id;
            stringIds[s] = strings.Count;
            strings.Add(s);
            return strings.Count - 1;
        }

        var profile = new ProtoWriter();
        foreach ((string type, string unit) in new[] { ("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"), ("inuse_space", "bytes") })
            profile.Message(1, ValueType(Str(type), Str(unit)));

        var functions = new Dictionary<(string, string?), long>();
        var functionMsgs = new List<ProtoWriter>();
        var locations = new Dictionary<(string, string?, int, nint), long>();
        var locationMsgs = new List<ProtoWriter>();
        var mappings = new Dictionary<string, (long Id, ulong Start, ulong Limit, ulong Offset)>();
        List<(ulong Start, ulong Limit, ulong Offset, string Path)>? maps = null;

        long MappingFor(HeapProfileFrame f)
        {
            if (f.Module == null || f.Address == 0) return 0;
            if (mappings.TryGetValue(f.Module, out var m)) return m.Id;
            maps ??= ReadMaps();
            ulong a = (ulong)f.Address;
            foreach (var seg in maps)
            {
                if (seg.Path != f.Module || a < seg.Start || a >= seg.Limit) continue;
                long id = mappings.Count + 1;
                mappings[f.Module] = (id, seg.Start, seg.Limit, seg.Offset);
                return id;
            }
            return 0;
        }

        long LocationFor(HeapProfileFrame f)
        {
            var key = (f.Function, f.File, f.Line, f.Address);
            if (locations.TryGetValue(key, out long id)) return id;
            if (!functions.TryGetValue((f.Function, f.File), out long fid))
            {
                fid = functions.Count + 1;
                functions[(f.Function, f.File)] = fid;
                var fn = new ProtoWriter();
                fn.Int(1, fid);
                fn.Int(2, Str(f.Function));
                fn.Int(3, Str(f.Function));
                fn.Int(4, Str(f.File));
                functionMsgs.Add(fn);
            }
            id = locations.Count + 1;
            locations[key] = id;
            var loc = new ProtoWriter();
            loc.Int(1, id);
            loc.Int(2, MappingFor(f));
            loc.Int(3, f.Address);
            var line = new ProtoWriter();
            line.Int(1, fid);
            line.Int(2, f.Line);
            loc.Message(4, line);
            locationMsgs.Add(loc);
            return id;
        }

        Span<long> values = stackalloc long[4];
        foreach (HeapProfileSite site in snap.Sites)
        {
            var sample = new ProtoWriter();
            var ids = new long[site.Frames.Count];
            for (int i = 0; i < ids.Length; i++) ids[i] = LocationFor(site.Frames[i]);
            sample.Packed(1, ids);
            values[0] = site.AllocObjects;
            values[1] = site.AllocBytes;
            values[2] = site.InUseObjects;
            values[3] = site.InUseBytes;
            sample.Packed(2, values);
            if (site.ThreadName != null)
            {
                var label = new ProtoWriter();
                label.Int(1, Str("thread"));
                label.Int(2, Str(site.ThreadName));
                sample.Message(3, label);
            }
            profile.Message(2, sample);
        }
        foreach ((string path, var m) in mappings)
        {
            var mw = new ProtoWriter();
            mw.Int(1, m.Id);
            mw.Int(2, (long)m.Start);
            mw.Int(3, (long)m.Limit);
            mw.Int(4, (long)m.Offset);
            mw.Int(5, Str(path));
            mw.Int(7, 1);   // has_functions: the Function table names them already
            profile.Message(3, mw);
        }
        foreach (ProtoWriter l in locationMsgs) profile.Message(4, l);
        foreach (ProtoWriter f in functionMsgs) profile.Message(5, f);
        long periodType = Str("space"), periodUnit = Str("bytes"), defaultType = Str("inuse_space");
        foreach (string s in strings) profile.String(6, s);
        profile.Int(9, (snap.TakenAtUtc - DateTime.UnixEpoch).Ticks * 100);
        profile.Message(11, ValueType(periodType, periodUnit));
        profile.Int(12, snap.SampleInterval);
        profile.Int(14, defaultType);
        return profile.Span.ToArray();
    }

    private static ProtoWriter ValueType(long type, long unit)
    {
        var w = new ProtoWriter();
        w.Int(1, type);
        w.Int(2, unit);
        return w;
    }

    /// <summary>Executable segments of /proc/self/maps: start, end, file offset, path.</summary>
    private static List<(ulong, ulong, ulong, string)> ReadMaps()
    {
        var list = new List<(ulong, ulong, ulong, string)>();
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 6 || f[1].Length < 3 || f[1][2] != 'x') continue;
                int dash = f[0].IndexOf('-');
                list.Add((ulong.Parse(f[0][..dash], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    ulong.Parse(f[0][(dash + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    ulong.Parse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture), f[5].Trim()));
            }
        }
        catch (IOException)
        {
            // No /proc: native frames keep their names but get no mapping.
        }
        return list;
    }
}
