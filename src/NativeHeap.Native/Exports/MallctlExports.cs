// MallctlExports: jemalloc's control calls — mallctl, mallctlnametomib, mallctlbymib and
// malloc_stats_print — on NativeHeap.HeapControl. The namespace, value types and errors are
// HeapControl's (docs/control.md); the return values are its CtlStatus numbers, which are the errno
// codes jemalloc returns (0, ENOENT, EINVAL, EPERM, EFAULT, EAGAIN, ENOMEM). errno is left alone.
// A string node is read as a `const char *` to static UTF-8. Exceptions never cross into C: an
// unexpected one becomes EFAULT.
using System.Runtime.InteropServices;
using System.Text;

namespace NativeHeap.Native.Exports;

/// <summary>C exports with jemalloc's names for the control namespace and statistics printing.</summary>
internal static unsafe class MallctlExports
{
    private const int EFAULT = 14;
    private const int EINVAL = 22;

    /// <summary>int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mallctl")]
    internal static int Mallctl(byte* name, void* oldp, nuint* oldlenp, void* newp, nuint newlen)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            rc = name == null ? EINVAL : (int)HeapControl.Ctl(Marshal.PtrToStringUTF8((nint)name)!, oldp, oldlenp, newp, newlen);
        }
        catch (Exception)
        {
            rc = EFAULT;
        }
        *errno = saved;
        return rc;
    }

    /// <summary>int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mallctlnametomib")]
    internal static int NameToMib(byte* name, nuint* mibp, nuint* miblenp)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            if (name == null || mibp == null || miblenp == null) rc = EINVAL;
            else
            {
                var mib = new Span<nuint>(mibp, (int)Math.Min(*miblenp, (nuint)HeapControl.MaxMibLength));
                rc = (int)HeapControl.NameToMib(Marshal.PtrToStringUTF8((nint)name)!, mib, out int n);
                if (rc == 0) *miblenp = (nuint)n;
            }
        }
        catch (Exception)
        {
            rc = EFAULT;
        }
        *errno = saved;
        return rc;
    }

    /// <summary>int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp, size_t newlen)</summary>
    [UnmanagedCallersOnly(EntryPoint = "mallctlbymib")]
    internal static int ByMib(nuint* mib, nuint miblen, void* oldp, nuint* oldlenp, void* newp, nuint newlen)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        int rc;
        try
        {
            rc = mib == null || miblen > (nuint)HeapControl.MaxMibLength
                ? (mib == null ? EINVAL : 2 /* ENOENT: deeper than any name */)
                : (int)HeapControl.Ctl(new ReadOnlySpan<nuint>(mib, (int)miblen), oldp, oldlenp, newp, newlen);
        }
        catch (Exception)
        {
            rc = EFAULT;
        }
        *errno = saved;
        return rc;
    }

    /// <summary>
    /// void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts):
    /// the statistics through write_cb (stderr when null) in chunks of whole lines. Option characters
    /// NativeHeap does not have (jemalloc's d, x, e, h...) are ignored, as jemalloc ignores unknown ones.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "malloc_stats_print")]
    internal static void StatsPrint(delegate* unmanaged<void*, byte*, void> writeCb, void* cbopaque, byte* opts)
    {
        int* errno = CBoundary.Errno();
        int saved = *errno;
        try
        {
            string o = opts == null ? "" : new string(Marshal.PtrToStringUTF8((nint)opts)!.Where(c => "Jcgmabl".Contains(c)).ToArray());
            StatsOutput.Write(HeapControl.FormatStats(o), writeCb, cbopaque);   // NULL write_cb: malloc_message, else stderr
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("<nativeheap>: malloc_stats_print failed: " + e.Message);
        }
        *errno = saved;
    }
}
