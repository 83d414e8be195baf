using System.CommandLine;

namespace NativeHeap.Cli.Commands;

/// <summary>The list of nheap's subcommands; each lives in its own file.</summary>
internal static class CommandRegistry
{
    internal static IEnumerable<Command> All()
    {
        yield return VersionCommand.Create();
        yield return BenchCommand.Create();
        yield return BenchRunCommand.Create();
        yield return HeapCommand.Create();
        yield return StatsCommand.Create();
        yield return ProfCommand.Create();
    }
}
