using System.CommandLine;

namespace NativeHeap.Cli.Commands;

/// <summary><c>nheap version</c>: prints the library version.</summary>
internal static class VersionCommand
{
    internal static Command Create()
    {
        var command = new Command("version", "Print NativeHeap's version");
        command.SetAction(_ =>
        {
            Console.WriteLine(typeof(NativeHeap.Os.OsError).Assembly.GetName().Version);
            return 0;
        });
        return command;
    }
}
