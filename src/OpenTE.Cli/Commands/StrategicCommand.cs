using System.ComponentModel;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;
using OpenTE.Market.Strategic;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class StrategicSettings : CaseSettings
{
    [CommandOption("--bids <FILE>")]
    [Description("Bids CSV (docs/bids-csv.md). The leader's rows are its sell blocks: true marginal cost as price, capacity as quantity.")]
    public string Bids { get; init; } = "";

    [CommandOption("--leader <NAME>")]
    [Description("The strategic participant (a name in the bids file); repeat for several leaders (equilibrium by diagonalisation).")]
    public string[] Leaders { get; init; } = [];

    [CommandOption("--mode <MODE>")]
    [Description("What the leader decides: price (offer price per block; default), quantity (withholding, offers at cost) or both.")]
    [DefaultValue("price")]
    public string Mode { get; init; } = "price";

    [CommandOption("--price-cap <PRICE>")]
    [Description("Highest offer price in $/MWh (default: the highest price in the market: bids, offers, generator marginal costs, VoLL).")]
    public double? PriceCap { get; init; }

    [CommandOption("--voll <PRICE>")]
    [Description("Value of lost load in $/MWh (load may be shed at this price), as in 'clear'.")]
    public double? Voll { get; init; }

    [CommandOption("--max-iterations <N>")]
    [Description("Several leaders: most rounds of the diagonalisation (default 20).")]
    [DefaultValue(20)]
    public int MaxIterations { get; init; } = 20;

    [CommandOption("--plot <PNG>")]
    [Description("Write a PNG of the LMPs per bus, competitive vs strategic.")]
    public string? Plot { get; init; }

    public override ValidationResult Validate() =>
        Bids.Length == 0 ? ValidationResult.Error("--bids FILE is required")
        : Leaders.Length == 0 ? ValidationResult.Error("--leader NAME is required (a participant of the bids file; repeat for several)")
        : Mode is not ("price" or "quantity" or "both") ? ValidationResult.Error("--mode must be price, quantity or both")
        : PriceCap is double p && !double.IsFinite(p) ? ValidationResult.Error("--price-cap must be a finite price in $/MWh")
        : Voll is double v && (!double.IsFinite(v) || v < 0) ? ValidationResult.Error("--voll must be a finite price ≥ 0 in $/MWh")
        : MaxIterations < 1 ? ValidationResult.Error("--max-iterations must be at least 1")
        : ValidationResult.Success();
}

/// <summary>`opente strategic CASE --bids FILE --leader NAME …`: the leader's optimal offers against the DC clearing (docs/strategic.md).</summary>
public sealed class StrategicCommand : Command<StrategicSettings>
{
    public override int Execute(CommandContext context, StrategicSettings s, CancellationToken cancellationToken)
    {
        var net = CaseLocator.Load(s.Case).Network;
        var bids = BidFile.Read(s.Bids, net);
        CheckLeaders(bids, s);
        var mode = s.Mode switch { "quantity" => StrategicMode.Quantity, "both" => StrategicMode.Both, _ => StrategicMode.Price };
        var r = AnsiConsoleProgress.Run($"strategic offers of {string.Join(", ", s.Leaders)} (MPEC as a MILP, re-clearing check)", () => StrategicBidding.Solve(net, bids, s.Leaders, new StrategicOptions
        {
            Mode = mode, PriceCap = s.PriceCap, ValueOfLostLoad = s.Voll, MaxIterations = s.MaxIterations,
        }));
        if (s.Plot is { Length: > 0 } png) Plot(r, png);
        if (s.Json) Output.Emit(r.ToJson(), s.Out);
        else Output.Render(Tables(r), s.Out);

        if (r.Status != ClearingStatus.Optimal || !r.Recleared.Agrees)
        {
            string why = r.Status != ClearingStatus.Optimal ? r.Status.Word() : "the re-clearing does not agree";
            CliApp.Io.Err.WriteLine($"{why}: relative gap {Output.F(r.Statistics.Gap, "0.###e0")}; {string.Join("; ", r.Messages)}");
            return 1;
        }
        return 0;
    }

    /// <summary>Every leader must have rows in the bids file, and only sell rows (exit 2, naming the file and line).</summary>
    private static void CheckLeaders(BidBook bids, StrategicSettings s)
    {
        foreach (var leader in s.Leaders)
        {
            var own = bids.Where(b => b.Participant == leader).ToList();
            if (own.Count == 0)
                throw new UsageException($"{s.Bids}: leader '{leader}' has no rows in the bids file; its participants are {string.Join(", ", bids.Participants)} — name one of them with --leader");
            if (own.FirstOrDefault(b => b.Side == Side.Buy) is { } buy)
                throw new BidFormatException(s.Bids, buy.Line, "side", $"field side: leader '{leader}' has a buy row",
                    "a leader's rows are its sell blocks (true marginal cost as price, capacity as quantity): remove its buy rows or choose another leader");
        }
        var dup = s.Leaders.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new UsageException($"--leader {dup.Key} is given twice: name each leader once");
    }


    private static List<IRenderable> Tables(StrategicResult r)
    {
        var items = new List<IRenderable>
        {
            new Markup($"[bold]{Markup.Escape(r.Case)}[/]: strategic offers ({r.Mode.ToString().ToLowerInvariant()}, cap {Output.F(r.PriceCap, "0.##")} $/MWh) — " +
                $"{r.Status.Word()} in {Output.F(r.SolveSeconds, "0.00")} s; {r.Statistics.Binaries} binaries ({r.Statistics.FixedByData} fixed by the data), " +
                $"{r.Statistics.Nodes} nodes, gap {Output.F(r.Statistics.Gap, "0.#e0")}\n"),
        };
        foreach (var m in r.Messages) items.Add(new Markup($"  {Markup.Escape(m)}\n"));
        var rows = r.Leaders.SelectMany(l => l.Offers.Select(o => (l.Name, o))).ToList();
        items.Add(Output.Table("Leader blocks", "leader", "bus", "block", "cost", "capacity (MW)", "offer ($/MWh)", "offered (MW)", "cleared (MW)",
                "LMP", "mark-up", "Lerner", "competitive (MW)")
            .Rows(rows, x => [x.Name, x.o.Bus.ToString(), x.o.Block.ToString(), Output.F(x.o.Cost, "0.##"), Output.F(x.o.Quantity, "0.##"),
                Output.F(x.o.OfferPrice), Output.F(x.o.OfferQuantity), Output.F(x.o.Cleared), Output.F(x.o.Lmp), Output.F(x.o.Markup), Output.F(x.o.Lerner, "0.###"),
                Output.F(x.o.ClearedCompetitive)]));
        var leaderBuses = rows.Select(x => x.o.Bus).ToHashSet();
        var buses = r.Buses.Count <= 30 ? r.Buses
            : r.Buses.Where(b => leaderBuses.Contains(b.Id) || Math.Abs(b.Lmp - b.LmpCompetitive) > 5e-3).ToList();
        items.Add(Output.Table(r.Buses.Count <= 30 ? "LMPs ($/MWh)" : "LMPs that change, and at the leaders' buses ($/MWh)", "bus", "competitive", "strategic", "change")
            .Rows(buses, b => [b.Id.ToString(), Output.F(b.LmpCompetitive), Output.F(b.Lmp), Output.F(b.Lmp - b.LmpCompetitive)]));
        var summary = Output.Table("Profit and welfare ($/h)", "", "competitive", "strategic", "re-cleared");
        foreach (var l in r.Leaders)
            summary.AddRow(Markup.Escape($"profit of {l.Name}"), Output.F(l.CompetitiveProfit, "0.##"), Output.F(l.Profit, "0.##"), Output.F(l.ReclearedProfit, "0.##"));
        summary.AddRow("welfare", Output.F(r.WelfareCompetitive, "0.##"), Output.F(r.Welfare, "0.##"), "");
        summary.AddRow("welfare loss", "", Output.F(r.WelfareLoss, "0.##"), "");
        summary.AddRow("largest LMP difference", "", "", Output.F(r.Recleared.MaxLmpDifference, "0.###e0"));
        items.Add(summary);
        if (r.Equilibrium is { } e)
            items.Add(new Markup(Markup.Escape(e.Converged
                ? $"Equilibrium: no leader improves by more than the tolerance after {e.Iterations} rounds.\n"
                : e.Cycle is { } c ? $"No equilibrium: the best responses cycle (rounds {string.Join(", ", c)}).\n"
                : $"No equilibrium within {e.Iterations} rounds.\n")));
        return items;
    }

    private static void Plot(StrategicResult r, string png)
    {
        var plot = new ScottPlot.Plot();
        double[] ids = [.. r.Buses.Select(b => (double)b.Id)];
        var c = plot.Add.Scatter(ids, [.. r.Buses.Select(b => b.LmpCompetitive)]);
        c.LegendText = "competitive (leaders at cost)";
        var st = plot.Add.Scatter(ids, [.. r.Buses.Select(b => b.Lmp)]);
        st.LegendText = "strategic";
        plot.Title($"{r.Case}: LMPs, competitive vs strategic ({string.Join(", ", r.Leaders.Select(l => l.Name))})");
        plot.XLabel("bus");
        plot.YLabel("LMP ($/MWh)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(png, 900, 520);
    }
}
