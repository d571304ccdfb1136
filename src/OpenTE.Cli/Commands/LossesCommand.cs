using System.ComponentModel;
using OpenTE.Grid.PowerFlow;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class LossesSettings : PfSettings
{
    /// <summary>The first name of --plot here (hidden, kept): the one option for a picture is --plot FILE.</summary>
    [CommandOption("--png <FILE>", IsHidden = true)]
    [Description("Same as --plot FILE.")]
    public string? Png { get; init; }

    /// <summary>Where the per-bus marginal emission factors are drawn (--plot, or the old --png).</summary>
    public string? PlotFile => Plot ?? Png;

    [CommandOption("--upstream <G>")]
    [Description("Upstream marginal emission rate in g CO₂/kWh for the per-bus emission factors of the table and --png (default 450).")]
    [DefaultValue(450.0)]
    public double Upstream { get; init; } = 450;

    public override ValidationResult Validate() =>
        !(Upstream >= 0 && Upstream <= 5000) ? ValidationResult.Error("--upstream must be a rate in g CO₂/kWh from 0 to 5000") : base.Validate();
}

/// <summary>opente losses: marginal loss factors of every bus from a converged AC power flow (docs/carbon.md).</summary>
public sealed class LossesCommand : Command<LossesSettings>
{
    public override int Execute(CommandContext context, LossesSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        var result = LossFactors.Compute(read.Network, s.Options());
        if (s.PlotFile is not null && result.Converged) Plot(result, s.Upstream, s.PlotFile);
        if (s.Json) Output.Emit(result.ToJson(), s.Out);
        else Output.Render(Tables(result, s.Upstream, read.Warnings.Select(w => w.ToString())), s.Out);
        if (!result.Converged)
        {
            CliApp.Io.Err.WriteLine($"not converged: the AC power flow of {result.Case} did not converge, so it has no loss factors (try --max-it, --flat-start or --enforce-q-lims)");
            return 1;
        }
        return 0;
    }

    /// <summary>g CO₂ per kWh of load at each bus, −upstream·∂import/∂P, in case-file bus order (along a feeder for case33bw).</summary>
    private static void Plot(LossFactorResult r, double upstream, string png)
    {
        var plot = new ScottPlot.Plot();
        double[] x = [.. Enumerable.Range(1, r.Buses.Count).Select(i => (double)i)];
        double[] mef = [.. r.Buses.Select(b => -upstream * b.DImportDInjection)];
        double[] dc = [.. r.Buses.Select(b => upstream * (1 - b.DcMlf))];
        plot.Add.Scatter(x, mef).LegendText = "AC marginal loss factors";
        plot.Add.Scatter(x, dc).LegendText = "DC/PTDF approximation";
        plot.Add.HorizontalLine(upstream).LegendText = $"upstream marginal rate {upstream:0.#} g/kWh";
        plot.Title($"{r.Case}: marginal emission factor of 1 kWh more load at each bus");
        plot.XLabel("bus (case-file order)");
        plot.YLabel("g CO₂ per kWh of load");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(png, 900, 520);
    }

    private static IEnumerable<IRenderable> Tables(LossFactorResult r, double upstream, IEnumerable<string> warnings)
    {
        foreach (var w in warnings) yield return new Markup($"[yellow]warning:[/] {Markup.Escape(w)}\n");
        yield return new Markup($"[bold]{Markup.Escape(r.Case)}[/]: losses {Output.F(r.LossesMw, "0.####")} MW, reference (substation) bus {r.ReferenceBus}; " +
            $"1 MW more injected at a bus changes the losses by MLF MW and the import by dImport MW ({r.SolveSeconds * 1000:0.0} ms)\n");
        yield return Output.Table($"Marginal loss factors and emission factors (upstream {upstream:0.#} g CO₂/kWh, --upstream)", "bus", "MLF (MW/MW)", "dImport/dP", "DC approx. MLF", "g CO₂/kWh of load")
            .Rows(r.Buses, b => [b.Id.ToString(), Output.F(b.Mlf, "0.000000"), Output.F(b.DImportDInjection, "0.000000"), Output.F(b.DcMlf, "0.000000"),
                Output.F(-upstream * b.DImportDInjection, "0.0")]);
    }
}
