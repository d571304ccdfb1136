using OpenTE.Grid.PowerFlow;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

/// <summary>opente losses: marginal loss factors of every bus from a converged AC power flow (docs/carbon.md).</summary>
public sealed class LossesCommand : Command<PfSettings>
{
    public override int Execute(CommandContext context, PfSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        var result = LossFactors.Compute(read.Network, new PowerFlowOptions
        {
            EnforceQLimits = s.EnforceQLimits,
            FlatStart = s.FlatStart,
            Tolerance = s.Tolerance,
            MaxIterations = s.MaxIterations,
        });
        if (s.Json) Output.Emit(result.ToJson(), s.Out);
        else Output.Render(Tables(result, read.Warnings.Select(w => w.ToString())), s.Out);
        if (!result.Converged)
        {
            CliApp.Io.Err.WriteLine($"not converged: the AC power flow of {result.Case} did not converge, so it has no loss factors (try --max-it, --flat-start or --enforce-q-lims)");
            return 1;
        }
        return 0;
    }

    private static IEnumerable<IRenderable> Tables(LossFactorResult r, IEnumerable<string> warnings)
    {
        foreach (var w in warnings) yield return new Markup($"[yellow]warning:[/] {Markup.Escape(w)}\n");
        yield return new Markup($"[bold]{Markup.Escape(r.Case)}[/]: losses {Output.F(r.LossesMw, "0.####")} MW, reference (substation) bus {r.ReferenceBus}; " +
            $"1 MW more injected at a bus changes the losses by MLF MW and the import by dImport MW ({r.SolveSeconds * 1000:0.0} ms)\n");
        yield return Output.Table("Marginal loss factors", "bus", "MLF (MW/MW)", "dImport/dP", "DC approx. MLF")
            .Rows(r.Buses, b => [b.Id.ToString(), Output.F(b.Mlf, "0.000000"), Output.F(b.DImportDInjection, "0.000000"), Output.F(b.DcMlf, "0.000000")]);
    }
}
