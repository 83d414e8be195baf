// TestThreads: runs test code on new threads and rethrows their failures on the test's thread
// (an exception escaping a thread would otherwise take the whole test host down).
namespace NativeHeap.Tests.Support;

internal static class TestThreads
{
    internal static void Run(int count, Action<int> body, int stackSize = 0)
    {
        var errors = new Exception?[count];
        var threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            int id = i;
            threads[i] = new Thread(() =>
            {
                try
                {
                    body(id);
                }
                catch (Exception e)
                {
                    errors[id] = e;
                }
            }, stackSize);
            threads[i].Start();
        }
        foreach (Thread t in threads) t.Join();
        foreach (Exception? e in errors)
            if (e != null) throw new AggregateException("a test thread failed", e);
    }

    internal static void Run(Action body, int stackSize = 0) => Run(1, _ => body(), stackSize);
}
