using System.ComponentModel;
using OpenTE.Grid.PowerFlow;
using Spectre.Console.Cli;

namespace OpenTE.Cli.Commands;

public sealed class DemoSettings : CommandSettings
{
    [CommandOption("--case <CASE>")]
    [Description("The case to run (default case30).")]
    [DefaultValue("case30")]
    public string Case { get; init; } = "case30";
}

/// <summary>The README's demo: an AC power flow on case30, printed as tables.</summary>
public sealed class DemoCommand : Command<DemoSettings>
{
    public override int Execute(CommandContext context, DemoSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        var result = AcPowerFlow.Solve(read.Network);
        Output.Render(PfCommand.Tables(result, read.Warnings.Select(w => w.ToString())), null);
        return result.Converged ? 0 : 1;
    }
}
