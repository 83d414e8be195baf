// StackResolver: turns a site's stack into named frames, once per site. Managed frames are named
// "Namespace.Type.Method" with the file and line of the portable PDB when one is deployed (a second
// StackTrace with file information, taken only when a site is first seen). Native frames (the C
// library) are named by dladdr: "symbol+0xoffset" when an exported symbol precedes the address,
// otherwise "module+0xoffset"; the module and its load address go into the profile's mappings so
// pprof can symbolize from the binaries (`go tool pprof <binary> <profile>`).
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using NativeHeap.Os;

namespace NativeHeap.Profiling;

internal static class StackResolver
{
    private static readonly Dictionary<nint, nint> s_moduleBase = new();
    private static nint s_selfBase = -1;

    /// <summary>Load address of the module holding NativeHeap's own code (native stacks skip its frames); 0 when unknown.</summary>
    internal static unsafe nint SelfModuleBase
    {
        get
        {
            if (s_selfBase == -1)
            {
                delegate*<nint> self = &SelfAnchor;
                s_selfBase = OsBacktrace.TryDescribe((nint)self, out _, out nint b, out _, out _) ? b : 0;
            }
            return s_selfBase;
        }
    }

    private static nint SelfAnchor() => 0;

    /// <summary>Load address of the module holding <paramref name="address"/> (cached per address), 0 when none.</summary>
    internal static nint ModuleBaseOf(nint address)
    {
        lock (s_moduleBase)
        {
            if (s_moduleBase.TryGetValue(address, out nint b)) return b;
            b = OsBacktrace.TryDescribe(address, out _, out nint mb, out _, out _) ? mb : 0;
            s_moduleBase[address] = b;
            return b;
        }
    }

    /// <summary>The named frames of a new site's stack.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Managed stacks are taken only with a JIT (an untrimmed application).")]
    internal static HeapProfileFrame[] Frames(StackKey key, StackTrace? withFiles)
    {
        if (key.Methods == null)
        {
            var native = new HeapProfileFrame[key.Ids.Length];
            for (int i = 0; i < native.Length; i++) native[i] = Native(key.Ids[i]);
            return native;
        }
        // withFiles was taken deeper in NativeHeap than the key's capture: skip NativeHeap's frames again.
        int skip = 0;
        Assembly self = typeof(StackResolver).Assembly;
        while (withFiles != null && skip < withFiles.FrameCount && withFiles.GetFrame(skip)?.GetMethod()?.DeclaringType?.Assembly == self) skip++;
        var frames = new HeapProfileFrame[key.Methods.Length];
        for (int i = 0; i < frames.Length; i++)
        {
            MethodBase? m = key.Methods[i];
            string? file = null;
            int line = 0;
            StackFrame? f = withFiles?.GetFrame(skip + i);
            if (f != null && f.GetMethod() == m)
            {
                file = f.GetFileName();
                line = f.GetFileLineNumber();
            }
            frames[i] = new HeapProfileFrame(Name(m), file, line, 0, m?.DeclaringType?.Assembly.GetName().Name);
        }
        return frames;
    }

    private static string Name(MethodBase? m)
    {
        if (m == null) return "?";
        string type = m.DeclaringType?.FullName ?? "";
        return type.Length == 0 ? m.Name : type + "." + m.Name;
    }

    private static HeapProfileFrame Native(nint address)
    {
        if (!OsBacktrace.TryDescribe(address, out string? module, out nint moduleBase, out string? symbol, out nint symbolAddress))
            return new HeapProfileFrame($"0x{address:x}", null, 0, address, null);
        string name = symbol != null
            ? $"{symbol}+0x{address - symbolAddress:x}"
            : $"{Path.GetFileName(module)}+0x{address - moduleBase:x}";
        return new HeapProfileFrame(name, null, 0, address, module) { ModuleBase = moduleBase };
    }
}
