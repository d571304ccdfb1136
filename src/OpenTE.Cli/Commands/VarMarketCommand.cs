using OpenTE.Market.Outcome;
using System.ComponentModel;
using OpenTE.Market.AcOpf;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class VarMarketSettings : CaseSettings
{
    [CommandOption("--ders <FILE>")]
    [Description("DER reactive offers CSV: der,bus,p_mw,s_mva,direction,price,q_mvar (docs/ac-opf.md).")]
    public string Ders { get; init; } = "";

    [CommandOption("--vmin <PU>")]
    [Description("Lower voltage limit for every non-reference bus during the market (default 0.95 p.u.).")]
    [DefaultValue(0.95)]
    public double Vmin { get; init; } = 0.95;

    [CommandOption("--vmax <PU>")]
    [Description("Upper voltage limit for every non-reference bus (default 1.05 p.u.).")]
    [DefaultValue(1.05)]
    public double Vmax { get; init; } = 1.05;

    [CommandOption("--plot <PNG>")]
    [Description("Where to draw the voltage profile with and without the market (default var-market.png).")]
    [DefaultValue("var-market.png")]
    public string Plot { get; init; } = "var-market.png";

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Ders) ? ValidationResult.Error("--ders FILE is required (the DER reactive offers)")
        : !(Vmin > 0 && Vmax > Vmin && Vmax < 2) ? ValidationResult.Error("--vmin and --vmax must satisfy 0 < vmin < vmax < 2 (p.u.)")
        : ValidationResult.Success();
}

/// <summary>opente var-market: a local reactive-power market of DER inverters cleared by the AC OPF.</summary>
public sealed class VarMarketCommand : Command<VarMarketSettings>
{
    public override int Execute(CommandContext context, VarMarketSettings s, CancellationToken cancellationToken)
    {
        var net = CaseLocator.Load(s.Case).Network;
        var ders = DerFile.Read(s.Ders, net);
        var r = AnsiConsoleProgress.Run($"reactive-power market on {net.Name}",
            () => VarMarket.Run(net, ders, new VarMarketOptions { VoltageBand = (s.Vmin, s.Vmax) }));
        Plot(r, net.Name, s.Plot);
        if (s.Json) Output.Emit(r.ToJson(s.Plot), s.Out);
        else Output.Render(Tables(r, s.Plot), s.Out);
        if (r.Market.Status != ClearingStatus.Optimal)
        {
            CliApp.Io.Err.WriteLine($"{r.Market.Status.Word()}: {string.Join("; ", r.Market.Messages)}");
            return 1;
        }
        return 0;
    }

    private static void Plot(VarMarketResult r, string name, string png)
    {
        var plot = new ScottPlot.Plot();
        double[] x = [.. Enumerable.Range(1, r.Profile.Count).Select(i => (double)i)];
        var without = plot.Add.Scatter(x, r.Profile.Select(p => p.VmWithout).ToArray());
        without.LegendText = "without the market (DERs at unity power factor)";
        if (r.Market.Status == ClearingStatus.Optimal)
        {
            var with = plot.Add.Scatter(x, r.Profile.Select(p => p.VmWith).ToArray());
            with.LegendText = "with the reactive-power market";
        }
        var lo = plot.Add.HorizontalLine(r.Profile.Where(p => p.Bus != r.Profile[0].Bus).Select(p => p.Vmin).DefaultIfEmpty(0.95).Max());
        lo.LinePattern = ScottPlot.LinePattern.Dashed;
        lo.LegendText = "voltage limit";
        plot.Title($"{name}: voltage profile");
        plot.XLabel("bus (case order)");
        plot.YLabel("|V| (p.u.)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(png, 900, 520);
    }


    private static IEnumerable<IRenderable> Tables(VarMarketResult r, string png)
    {
        var m = r.Market;
        string status = m.Status == ClearingStatus.Optimal ? "[green]optimal[/]" : $"[red]{m.Status.Word()}[/]";
        yield return new Markup($"[bold]{Markup.Escape(m.Case)}[/]: reactive-power market {status}; {r.Market.Ders.Count} DERs, " +
            $"payments {Output.F(r.TotalPayment, "0.###")} $/h; voltage violations {r.ViolationsWithout} without the market, {r.ViolationsWith} with it; plot {Markup.Escape(png)}\n");
        foreach (var msg in m.Messages) yield return new Markup($"  {Markup.Escape(msg)}\n");
        if (m.Status != ClearingStatus.Optimal) yield break;
        yield return Output.Table("DER dispatch (Q > 0 injects)", "DER", "bus", "P (MW)", "Q (MVAr)", "capability (MVAr)", "λQ ($/MVArh)", "payment ($/h)")
            .Rows(m.Ders, d => [d.Id, d.Bus.ToString(), Output.F(d.PMw), Output.F(d.QMvar, "0.0000"), Output.F(d.CapabilityMvar, "0.0000"), Output.F(d.LmpQ), Output.F(d.Payment, "0.0000")]);
        yield return Output.Table("Voltage profile (p.u.)", "bus", "without", "with", "Vmin", "Vmax", "λP", "λQ")
            .Rows(r.Profile.Select((p, i) => (p, b: m.Buses[i])).ToList(), x => [x.p.Bus.ToString(), Output.F(x.p.VmWithout, "0.0000"), Output.F(x.p.VmWith, "0.0000"),
                Output.F(x.p.Vmin, "0.00"), Output.F(x.p.Vmax, "0.00"), Output.F(x.b.Lmp), Output.F(x.b.LmpQ)]);
    }
}
