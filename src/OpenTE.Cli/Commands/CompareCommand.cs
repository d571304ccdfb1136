using System.ComponentModel;
using OpenTE.Agents;
using OpenTE.Analytics;
using OpenTE.Grid.Model;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class CompareSettings : CommandSettings
{
    [CommandArgument(0, "<SCENARIO>")]
    [Description("Prosumer scenario JSON (docs/simulate.md), e.g. examples/microgrid-day.json.")]
    public string Scenario { get; init; } = "";

    [CommandOption("--designs <LIST>")]
    [Description("Comma-separated designs: nodal, pay-as-bid, uniform, p2p, sdr, p2p-carbon (default: all; p2p-carbon when --carbon is given).")]
    public string? Designs { get; init; }

    [CommandOption("--carbon <FILE>")]
    [Description("Emission data (docs/carbon.md: participants' own rates, the upstream rate, the carbon price): adds the design p2p-carbon, the P2P market with π_C × each trade's emission factor as its trade charge.")]
    public string? Carbon { get; init; }

    [CommandOption("--carbon-price <P>")]
    [Description("Carbon price in $/t instead of the file's carbonPricePerTonne.")]
    public double? CarbonPrice { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Write report.html, the plots (PNG and SVG) and surplus-<design>.csv here (default: compare-out).")]
    [DefaultValue("compare-out")]
    public string Out { get; init; } = "compare-out";

    [CommandOption("--feed-in <FACTOR>")]
    [Description("SDR design: the feed-in tariff as a fraction of the grid price (default 0.5).")]
    [DefaultValue(0.5)]
    public double FeedIn { get; init; } = 0.5;

    [CommandOption("--json")]
    [Description("Print { designs: [{ name, welfare, gini, jain, participants: [{ id, surplus }] }] } instead of tables.")]
    public bool Json { get; init; }

    public override ValidationResult Validate()
    {
        if (Designs is not null)
            foreach (var d in Designs.Split(','))
            {
                if (MarketDesigns.Parse(d) is not { } design) return ValidationResult.Error($"--designs: '{d.Trim()}' is not a design; use nodal, pay-as-bid, uniform, p2p, sdr or p2p-carbon");
                if (design == MarketDesign.P2pCarbon && Carbon is null) return ValidationResult.Error("--designs p2p-carbon needs the emission data: give --carbon FILE (docs/carbon.md)");
            }
        if (CarbonPrice is double cp && !(cp >= 0 && double.IsFinite(cp))) return ValidationResult.Error("--carbon-price must be a finite price ≥ 0 ($/t)");
        if (CarbonPrice is not null && Carbon is null) return ValidationResult.Error("--carbon-price needs --carbon FILE");
        if (!(FeedIn >= 0 && FeedIn < 1)) return ValidationResult.Error($"--feed-in: {FeedIn} must be in [0, 1): the feed-in tariff lies below the retail price");
        return ValidationResult.Success();
    }
}

/// <summary>opente compare: one prosumer scenario under several market designs; surplus, Lorenz curves, Gini; an HTML report.</summary>
public sealed class CompareCommand : Command<CompareSettings>
{
    public override int Execute(CommandContext context, CompareSettings s, CancellationToken cancellationToken)
    {
        var designs = s.Designs is null ? [.. MarketDesigns.All, .. s.Carbon is null ? Array.Empty<MarketDesign>() : [MarketDesign.P2pCarbon]]
            : s.Designs.Split(',').Select(d => MarketDesigns.Parse(d)!.Value).Distinct().ToArray();
        var carbon = s.Carbon is null ? null : OpenTE.Market.Carbon.CarbonData.Read(s.Carbon, name => CaseLocator.Load(name).Network, s.CarbonPrice);
        FairnessComparison c;
        IReadOnlyList<SimulationResult> runs;
        try { c = Run(s.Scenario, designs, new DesignOptions { FeedInFactor = s.FeedIn, Carbon = carbon }, out runs); }
        catch (InvalidOperationException e)
        {
            CliApp.Io.Err.WriteLine($"not-solved: {e.Message}");
            return 1;
        }
        var files = WriteReport(c, s.Out);
        if (s.Json) Output.Emit(c.ToJson(s.Out), null);
        else Output.Render([.. Tables(c), .. designs.Zip(runs).SelectMany(x => Notes(x.First, x.Second)).Select(n => new Markup(Markup.Escape(n) + "\n")), new Markup($"Report: [bold]{Markup.Escape(Path.GetFullPath(files[0]))}[/] (plots and CSV beside it)\n")], null);
        return 0;
    }

    /// <summary>Writes the report; a folder that cannot be written is a usage error (exit 2) naming it.</summary>
    public static IReadOnlyList<string> WriteReport(FairnessComparison c, string dir, IEnumerable<(string, string)>? story = null)
    {
        try { return FairnessReport.Write(c, dir, story); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write the report into {dir}: {e.Message} (give --out a folder you can write)");
        }
    }

    /// <summary>Reads the scenario afresh for each design (agents keep state), runs it and measures the designs.</summary>
    public static FairnessComparison Run(string scenarioPath, IReadOnlyList<MarketDesign> designs, DesignOptions options, out IReadOnlyList<SimulationResult> runs)
    {
        var inputs = new List<DesignInput>();
        var results = new List<SimulationResult>();
        Scenario? scenario = null;
        foreach (var d in designs)
        {
            var (sc, net) = ScenarioFile.Read(scenarioPath, name => CaseLocator.Load(name).Network);
            scenario = sc;
            var r = AnsiConsoleProgress.Run($"the scenario under {d.Name()}", () => MarketDesigns.Run(sc, net, d, options));
            results.Add(r);
            inputs.Add(new DesignInput(d.Name(), r.Outcome, Options(sc)));
        }
        runs = results;
        return FairnessComparison.Compare($"{scenario?.Case}: {scenario?.Prosumers.Count(p => p is not BaseLoadAgent)} prosumers under {designs.Count} market designs",
            inputs, Population(scenario!), scenario!.Prosumers.Where(p => p is not BaseLoadAgent).Select(p => p.Id));
    }

    /// <summary>What a design's run has to say: how many intervals it needed a fallback or reported a message for.</summary>
    public static IEnumerable<string> Notes(MarketDesign d, SimulationResult r)
    {
        if (r.Messages.Count > 0) yield return $"{d.Name()}: {r.Messages.Count} message(s), e.g. {r.Messages[0]}";
    }

    /// <summary>How the scenario's participants are measured: <see cref="Roles"/>, and a learning seller at its true cost, not its marked-up offer.</summary>
    public static SurplusOptions Options(Scenario s)
    {
        var costs = s.Prosumers.OfType<OpenTE.Agents.Learning.LearningSellerAgent>().ToDictionary(l => l.Id, l => l.Cost);
        return new SurplusOptions { Role = Roles(s), Valuation = a => costs.TryGetValue(a.Participant, out var c) ? c : null };
    }

    /// <summary>Batteries are storage (net benefit = money), PV and sources producers, loads consumers.</summary>
    public static Func<string, ParticipantRole> Roles(Scenario s)
    {
        var kinds = s.Prosumers.ToDictionary(p => p.Id, p => p switch
        {
            BatteryAgent => ParticipantRole.Storage,
            PvAgent or SourceAgent or OpenTE.Agents.Learning.LearningSellerAgent => ParticipantRole.Producer,
            _ => ParticipantRole.Consumer,
        });
        return id => kinds.TryGetValue(id, out var r) ? r : ParticipantRole.Producer; // the substation and the grid-forming unit
    }

    /// <summary>The fairness population: the scenario's prosumers (not the substation, the grid-forming unit or the aggregate base load of each bus).</summary>
    public static Func<string, bool> Population(Scenario s)
    {
        var ids = s.Prosumers.Where(p => p is not BaseLoadAgent).Select(p => p.Id).ToHashSet();
        return ids.Contains;
    }

    public static IEnumerable<IRenderable> Tables(FairnessComparison c)
    {
        yield return new Markup($"[bold]{Markup.Escape(c.Title)}[/]\n");
        yield return Output.Table("Market designs ($ over the horizon; Gini, Jain and top-10 % over the prosumers' surpluses)", "design", "welfare", "prosumers' surplus",
                "grid rent", "Gini (clipped)", "Gini (shifted)", "Jain", "top 10 %", "losing money")
            .Rows(c.Designs, d => [d.Name, Output.F(d.Welfare, "0.00"), Output.F(d.PopulationSurplus, "0.00"), Output.F(d.Account.GridRent, "0.00"),
                Output.F(d.Measures.GiniClipped), Output.F(d.Measures.GiniShifted), Output.F(d.Measures.Jain), Output.F(100 * d.Measures.Top10Share, "0.0") + " %",
                $"{d.Measures.Negative}/{d.Measures.Count}"]);
    }
}
