using ScottPlot;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.AcOpf;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Market.Scopf;

namespace OpenTE.Cli;

/// <summary>
/// The `--plot FILE` pictures of pf, opf and scopf (PNG, or SVG when FILE ends in .svg): what an engineer looks at first —
/// the voltage profile and branch loading of a power flow, the LMPs by bus with their parts, the binding contingencies.
/// Buses and branches are in case order (the x axis is the position, labelled with the case's numbers when few).
/// </summary>
public static class Plots
{
    public static void PowerFlow(PowerFlowResult r, Network net, string file)
    {
        var mp = new ScottPlot.Multiplot();
        mp.AddPlots(2);
        VoltageProfile(mp.GetPlot(0), [.. r.Buses.Select(b => b.Vm)], net, $"{r.Case}: voltage profile ({(r.Converged ? "converged" : "NOT converged")})");
        Loading(mp.GetPlot(1), r.Branches.Select(b => (Math.Max(Math.Sqrt(b.Pf * b.Pf + b.Qf * b.Qf), Math.Sqrt(b.Pt * b.Pt + b.Qt * b.Qt)), net.Branches[b.Index - 1].RateA)).ToList(), "|S| of rateA");
        Save(mp, file, 1000, 800);
    }

    public static void DcOpf(DcOpfResult r, string file, IReadOnlyList<double>? security = null)
    {
        var mp = new ScottPlot.Multiplot();
        mp.AddPlots(2);
        var p = mp.GetPlot(0);
        double[] x = [.. Enumerable.Range(1, r.Buses.Count).Select(i => (double)i)];
        Series(p, x, r.Buses.Select(b => b.Lmp).ToArray(), "LMP", 0);
        Series(p, x, r.Buses.Select(b => b.LmpEnergy).ToArray(), "energy", 1, dashed: true);
        Series(p, x, r.Buses.Select(b => b.LmpCongestion).ToArray(), "congestion", 2);
        if (security is not null) Series(p, x, [.. security], "security (N-1)", 3);
        p.Title($"{r.Case}: LMPs by bus ({r.Status.Word()}) = energy + congestion{(security is null ? "" : " (incl. security)")}");
        p.XLabel("bus (case order)");
        p.YLabel("$/MWh");
        p.ShowLegend(ScottPlot.Alignment.UpperRight);
        Loading(mp.GetPlot(1), r.Branches.Select(b => (Math.Abs(b.Pf), b.RateA)).ToList(), "|P| of rateA", r.Branches.Select(b => b.Binding).ToList());
        Save(mp, file, 1000, 800);
    }

    public static void AcOpf(AcOpfResult r, Network net, string file)
    {
        var mp = new ScottPlot.Multiplot();
        mp.AddPlots(2);
        var p = mp.GetPlot(0);
        double[] x = [.. Enumerable.Range(1, r.Buses.Count).Select(i => (double)i)];
        Series(p, x, r.Buses.Select(b => b.Lmp).ToArray(), "λP", 0);
        Series(p, x, r.Buses.Select(b => b.Parts?.Energy ?? double.NaN).ToArray(), "energy", 1, dashed: true);
        Series(p, x, r.Buses.Select(b => b.Parts?.Loss ?? double.NaN).ToArray(), "loss", 2);
        Series(p, x, r.Buses.Select(b => b.Parts?.Congestion ?? double.NaN).ToArray(), "congestion", 3);
        Series(p, x, r.Buses.Select(b => b.Parts?.Voltage ?? double.NaN).ToArray(), "voltage", 4);
        p.Title($"{r.Case}: AC OPF prices by bus ({r.Status.Word()}) = energy + loss + congestion + voltage");
        p.XLabel("bus (case order)");
        p.YLabel("$/MWh");
        p.ShowLegend(ScottPlot.Alignment.UpperRight);
        VoltageProfile(mp.GetPlot(1), [.. r.Buses.Select(b => b.Vm)], net, "voltage profile");
        Save(mp, file, 1000, 800);
    }

    /// <summary>SCOPF: the LMPs with their security part, and the binding post-contingency limits by shadow price.</summary>
    public static void Scopf(ScopfResult r, Network net, string file)
    {
        var mp = new ScottPlot.Multiplot();
        mp.AddPlots(2);
        var p = mp.GetPlot(0);
        var o = r.Opf;
        double[] x = [.. Enumerable.Range(1, o.Buses.Count).Select(i => (double)i)];
        Series(p, x, o.Buses.Select(b => b.Lmp).ToArray(), "LMP", 0);
        Series(p, x, o.Buses.Select(b => b.LmpEnergy).ToArray(), "energy", 1, dashed: true);
        if (r.LmpSecurity.Count == o.Buses.Count) Series(p, x, [.. r.LmpSecurity], "security (N-1)", 3);
        p.Title($"{o.Case}: N-1 SCOPF ({r.Mode.ToString().ToLowerInvariant()}) LMPs by bus; security cost {r.SecurityCost:0.##} $/h");
        p.XLabel("bus (case order)");
        p.YLabel("$/MWh");
        p.ShowLegend(ScottPlot.Alignment.UpperRight);
        var b = mp.GetPlot(1);
        var top = r.Binding.OrderByDescending(c => Math.Max(c.MuSf, c.MuSt)).Take(20).ToList();
        if (top.Count == 0) b.Title("binding contingencies: none (every post-contingency limit is slack)");
        else
        {
            var bars = b.Add.Bars(top.Select(c => Math.Max(c.MuSf, c.MuSt)).ToArray());
            bars.Color = ScottPlot.Colors.DarkRed;
            var ticks = top.Select((c, i) => new ScottPlot.Tick(i, $"{c.Contingency.Label} → {net.Branches[c.Branch].From}-{net.Branches[c.Branch].To}")).ToArray();
            b.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
            b.Axes.Bottom.TickLabelStyle.Rotation = 30;
            b.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
            b.Axes.Bottom.MinimumSize = 140;
            b.Title($"binding contingencies ({r.Binding.Count}; largest {top.Count} by shadow price): outage → monitored branch");
            b.YLabel("shadow price ($/MWh)");
            b.Axes.Margins(bottom: 0);
        }
        Save(mp, file, 1000, 900);
    }

    /// <summary>|V| by bus (case order) against the tightest Vmax and the highest Vmin of the case.</summary>
    private static void VoltageProfile(ScottPlot.Plot v, double[] vm, Network net, string title)
    {
        double[] x = [.. Enumerable.Range(1, vm.Length).Select(i => (double)i)];
        var line = v.Add.Scatter(x, vm);
        line.LegendText = "|V|";
        line.MarkerSize = vm.Length > 300 ? 0 : 4;
        Limit(v, net.Buses.Select(b => b.Vmax).DefaultIfEmpty(1.1).Min(), "Vmax");
        Limit(v, net.Buses.Select(b => b.Vmin).DefaultIfEmpty(0.9).Max(), "Vmin");
        v.Title(title);
        v.XLabel("bus (case order)");
        v.YLabel("|V| (p.u.)");
        v.ShowLegend(ScottPlot.Alignment.LowerRight);
    }

    private static void Loading(ScottPlot.Plot plot, IReadOnlyList<(double Flow, double Rate)> branches, string what, IReadOnlyList<bool>? binding = null)
    {
        var rated = branches.Select((b, i) => (i, b.Flow, b.Rate)).Where(t => t.Rate > 0).ToList();
        if (rated.Count == 0)
        {
            plot.Title("branch loading: no branch has a rating (rateA = 0 everywhere)");
            return;
        }
        double[] x = [.. rated.Select(t => (double)(t.i + 1))];
        double[] y = [.. rated.Select(t => 100 * t.Flow / t.Rate)];
        var s = plot.Add.ScatterPoints(x, y);
        s.LegendText = $"{what} (%)";
        s.MarkerSize = rated.Count > 500 ? 2 : 5;
        if (binding is not null)
        {
            var bx = rated.Where(t => binding[t.i]).Select(t => (double)(t.i + 1)).ToArray();
            if (bx.Length > 0)
            {
                var bs = plot.Add.ScatterPoints(bx, [.. rated.Where(t => binding[t.i]).Select(t => 100 * t.Flow / t.Rate)]);
                bs.LegendText = "binding";
                bs.MarkerSize = 8;
                bs.Color = ScottPlot.Colors.Red;
            }
        }
        var l = plot.Add.HorizontalLine(100);
        l.LinePattern = ScottPlot.LinePattern.Dashed;
        l.LegendText = "rating";
        int over = y.Count(v => v > 100 + 1e-6);
        plot.Title($"branch loading ({rated.Count} rated branches; {over} above 100 %)");
        plot.XLabel("branch (case order)");
        plot.YLabel("% of rateA");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
    }

    private static void Series(ScottPlot.Plot p, double[] x, double[] y, string label, int color, bool dashed = false)
    {
        var s = p.Add.Scatter(x, y);
        s.LegendText = label;
        s.Color = ScottPlot.Palette.Default.GetColor(color);
        s.MarkerSize = x.Length > 300 ? 0 : 3;
        if (dashed) s.LinePattern = ScottPlot.LinePattern.Dashed;
    }

    private static void Limit(ScottPlot.Plot p, double value, string label)
    {
        var l = p.Add.HorizontalLine(value);
        l.LinePattern = ScottPlot.LinePattern.Dashed;
        l.LegendText = label;
    }

    private static void Save(ScottPlot.Multiplot mp, string file, int width, int height)
    {
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(file));
            if (dir is not null) Directory.CreateDirectory(dir);
            if (file.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
            {
                // a multiplot saves as PNG only: SVG of its plots one under the other
                var svg = new System.Text.StringBuilder();
                var plots = mp.GetPlots();
                int h = height / plots.Length;
                svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\">");
                for (int i = 0; i < plots.Length; i++)
                    svg.Append($"<g transform=\"translate(0,{i * h})\">").Append(plots[i].GetSvgXml(width, h)).Append("</g>");
                svg.Append("</svg>");
                File.WriteAllText(file, svg.ToString());
            }
            else mp.SavePng(file, width, height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write the plot {file}: {e.Message} — give --plot a file path you can write to");
        }
    }
}
