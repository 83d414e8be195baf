// nheap: NativeHeap's command-line tool. Each feature registers its own command from a file under
// Commands/ (one static Create() per command), so adding a command is one line here.
using System.CommandLine;
using NativeHeap.Cli.Commands;

var root = new RootCommand("nheap: NativeHeap's benchmark, demo and inspection tool");
foreach (Command command in CommandRegistry.All())
{
    root.Subcommands.Add(command);
}
return root.Parse(args).Invoke();
