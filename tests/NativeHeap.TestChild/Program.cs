// Test child: runs one named scenario in a fresh process and prints "OK" (exit 0) or what went
// wrong (exit 1). The parent test sets NATIVEHEAP_CONF and checks the output.
using NativeHeap.TestChild;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: NativeHeap.TestChild SCENARIO [ARGS]");
    return 2;
}
try
{
    string? failure = Scenarios.Run(args[0], args[1..]);
    if (failure is null)
    {
        Console.WriteLine("OK");
        return 0;
    }
    Console.WriteLine("FAIL: " + failure);
    return 1;
}
catch (Exception e)
{
    Console.WriteLine("FAIL: unexpected " + e);
    return 1;
}
