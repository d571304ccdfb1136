using System.ComponentModel;
using System.Globalization;
using System.Text;
using OpenTE.Agents;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class SimulateSettings : CommandSettings
{
    [CommandArgument(0, "<SCENARIO>")]
    [Description("Scenario JSON (docs/simulate.md), e.g. examples/microgrid-day.json.")]
    public string Scenario { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("Write intervals.csv, prices.csv, agents.csv, soc.csv and the plots prices.png, soc.png, load.png here (default: simulation-out).")]
    [DefaultValue("simulation-out")]
    public string Out { get; init; } = "simulation-out";

    [CommandOption("--json")]
    [Description("Print a JSON summary instead of tables.")]
    public bool Json { get; init; }
}

/// <summary>opente simulate: step a prosumer scenario through the markets, interval by interval.</summary>
public sealed class SimulateCommand : Command<SimulateSettings>
{
    public override int Execute(CommandContext context, SimulateSettings s, CancellationToken cancellationToken)
    {
        var (scenario, net) = ScenarioFile.Read(s.Scenario, name => CaseLocator.Load(name).Network);
        SimulationResult r;
        var console = CliApp.Io.Console;
        try
        {
            if (console.Profile.Capabilities.Interactive && !s.Json)
            {
                SimulationResult? result = null;
                console.Progress().Start(ctx =>
                {
                    var task = ctx.AddTask($"simulating {scenario.Intervals} intervals, {scenario.Prosumers.Count} prosumers", maxValue: scenario.Intervals);
                    result = ScenarioRunner.Run(scenario, net, new Inline(done => task.Value = done));
                });
                r = result!;
            }
            else r = ScenarioRunner.Run(scenario, net);
        }
        catch (InvalidOperationException e) // a clearing or a schedule without an optimal solution: solved, not optimal
        {
            CliApp.Io.Err.WriteLine($"not-solved: {e.Message}");
            return 1;
        }
        Write(r, net, s.Out);
        if (s.Json) Output.Emit(r.ToJson(s.Out), null);
        else Output.Render(Tables(r, s.Out), null);
        return 0;
    }

    private sealed class Inline(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }

    private static string Time(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);

    private static void Write(SimulationResult r, OpenTE.Grid.Model.Network net, string dir)
    {
        Directory.CreateDirectory(dir);
        var inv = CultureInfo.InvariantCulture;
        int T = r.Times.Count;
        var intervals = new StringBuilder("timestamp,mode,demand_mw,served_mw,curtailed_mw,critical_demand_mw,critical_served_mw,reserve_mw,grid_forming_mw\n");
        var prices = new StringBuilder("timestamp,bus,price\n");
        var agents = new StringBuilder("timestamp,agent,bus,net_mw,price\n");
        var soc = new StringBuilder("timestamp,battery,soc_mwh\n");
        var p = r.Scenario.Prosumers;
        for (int t = 0; t < T; t++)
        {
            string ts = Time(r.Times[t]);
            intervals.Append(inv, $"{ts},{r.Mode[t]},{r.DemandMw[t]:R},{r.ServedMw[t]:R},{r.CurtailedMw[t]:R},{r.CriticalDemandMw[t]:R},{r.CriticalServedMw[t]:R},{r.ReserveMw[t]:R},{r.GridFormingMw[t]:R}\n");
            for (int b = 0; b < net.BusCount; b++) prices.Append(inv, $"{ts},{net.Buses[b].Id},{r.Price[t][b]:R}\n");
            for (int k = 0; k < p.Count; k++)
                if (r.AgentNetMw[t][k] != 0) agents.Append(inv, $"{ts},{p[k].Id},{p[k].Bus},{r.AgentNetMw[t][k]:R},{r.Price[t][net.BusIndex[p[k].Bus]]:R}\n");
            foreach (var (id, v) in r.SocMwh) soc.Append(inv, $"{ts},{id},{v[t + 1]:R}\n");
        }
        File.WriteAllText(Path.Combine(dir, "intervals.csv"), intervals.ToString());
        File.WriteAllText(Path.Combine(dir, "prices.csv"), prices.ToString());
        File.WriteAllText(Path.Combine(dir, "agents.csv"), agents.ToString());
        File.WriteAllText(Path.Combine(dir, "soc.csv"), soc.ToString());

        double[] hours = [.. r.Times.Select(t => (t - r.Times[0]).TotalHours)];
        var pricePlot = new ScottPlot.Plot();
        for (int b = 0; b < net.BusCount; b++) pricePlot.Add.Scatter(hours, r.Price.Select(x => x[b]).ToArray()).MarkerSize = 0;
        pricePlot.Title($"{net.Name}: price by bus and interval (the outage shows as the island's scarcity price)");
        pricePlot.XLabel($"hours after {Time(r.Times[0])}");
        pricePlot.YLabel("$/MWh");
        pricePlot.Axes.SetLimitsY(0, Math.Max(1, r.Price.SelectMany(x => x).Where(double.IsFinite).DefaultIfEmpty(1).Max() * 1.05));
        pricePlot.SavePng(Path.Combine(dir, "prices.png"), 1000, 540);
        var socPlot = new ScottPlot.Plot();
        double[] edges = [.. hours, hours.Length > 0 ? hours[^1] + r.Scenario.StepHours : 0];
        foreach (var (id, v) in r.SocMwh) socPlot.Add.Scatter(edges, v).LegendText = id;
        socPlot.Title("Battery state of charge");
        socPlot.XLabel("hours");
        socPlot.YLabel("MWh");
        if (r.SocMwh.Count is > 0 and <= 12) socPlot.ShowLegend();
        socPlot.SavePng(Path.Combine(dir, "soc.png"), 1000, 540);
        var loadPlot = new ScottPlot.Plot();
        loadPlot.Add.Scatter(hours, r.ServedMw).LegendText = "served";
        loadPlot.Add.Scatter(hours, r.CurtailedMw).LegendText = "curtailed";
        loadPlot.Add.Scatter(hours, r.CriticalServedMw).LegendText = "critical served";
        loadPlot.Title("Served versus curtailed load");
        loadPlot.XLabel("hours");
        loadPlot.YLabel("MW");
        loadPlot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        loadPlot.SavePng(Path.Combine(dir, "load.png"), 1000, 540);
    }


    private static IEnumerable<IRenderable> Tables(SimulationResult r, string dir)
    {
        double dt = r.Scenario.StepHours;
        yield return new Markup($"[bold]{Markup.Escape(r.Scenario.Case)}[/]: {r.Times.Count} intervals, {r.Scenario.Prosumers.Count} prosumers, " +
            $"{r.Mode.Count(m => m == "island")} islanded; served {Output.F(r.ServedMw.Sum() * dt)} MWh, curtailed {Output.F(r.CurtailedMw.Sum() * dt)} MWh; results in {Markup.Escape(dir)}\n");
        var hourly = Enumerable.Range(0, r.Times.Count).Where(t => r.Times[t].Minute == 0).ToList();
        yield return Output.Table("By hour", "time", "mode", "served (MW)", "curtailed (MW)", "critical served/demand", "reserve (MW)", "price min", "price max")
            .Rows(hourly, t => [Time(r.Times[t]), r.Mode[t], Output.F(r.ServedMw[t]), Output.F(r.CurtailedMw[t]), $"{Output.F(r.CriticalServedMw[t])}/{Output.F(r.CriticalDemandMw[t])}",
                Output.F(r.ReserveMw[t]), Output.F(r.Price[t].Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min()), Output.F(r.Price[t].Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max())]);
    }
}
