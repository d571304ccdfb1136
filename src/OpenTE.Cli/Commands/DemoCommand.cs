using System.ComponentModel;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenTE.Agents;
using OpenTE.Agents.Learning;
using OpenTE.Analytics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.AcOpf;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;
using OpenTE.Privacy;
using OpenTE.Privacy.Metering;
using OpenTE.Settlement;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class DemoSettings : CommandSettings
{
    [CommandOption("--pf")]
    [Description("The old demo: an AC power flow of --case printed as tables.")]
    public bool Pf { get; init; }

    [CommandOption("--case <CASE>")]
    [Description("With --pf: the case to run (default case30).")]
    [DefaultValue("case30")]
    public string Case { get; init; } = "case30";

    [CommandOption("--scenario <FILE>")]
    [Description("The day to run (default examples/demo-day.json: case33bw, 100 prosumers, one learning seller).")]
    public string? Scenario { get; init; }

    [CommandOption("--prosumers <N>")]
    [Description("How many prosumers to generate (default: the scenario's, 100).")]
    public int? Prosumers { get; init; }

    [CommandOption("--intervals <N>")]
    [Description("How many 15-minute intervals to run (default: the scenario's, 96 = a day).")]
    public int? Intervals { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Where the report, the ledger and the CSV files go (default: opente-demo).")]
    [DefaultValue("opente-demo")]
    public string Out { get; init; } = "opente-demo";

    [CommandOption("--epsilon <EPS>")]
    [Description("Privacy budget of the feeder aggregate (default 1).")]
    [DefaultValue(1.0)]
    public double Epsilon { get; init; } = 1.0;

    public override ValidationResult Validate() =>
        Prosumers is < 1 or > 100_000 ? ValidationResult.Error($"--prosumers: {Prosumers} must be from 1 to 100000")
        : Intervals is < 1 or > 96 ? ValidationResult.Error($"--intervals: {Intervals} must be from 1 to 96 (one day of 15-minute intervals)")
        : !(Epsilon > 0 && Epsilon <= 100) ? ValidationResult.Error($"--epsilon: {Epsilon} must be in (0, 100]")
        : ValidationResult.Success();
}

/// <summary>
/// The README's demo: one transactive day on case33bw — prosumers bid interval by interval, the market clears against the
/// network, DER inverters sell reactive power, a learning seller learns its offers, the day is settled on the embedded
/// ledger and verified, a differentially private feeder aggregate is released, and the day is re-run under four other
/// market designs to compare who gains (docs/fairness.md). <c>--pf</c> keeps the old power-flow demo.
/// </summary>
public sealed class DemoCommand : Command<DemoSettings>
{
    public const string DefaultScenario = "examples/demo-day.json";
    public const string DefaultDers = "examples/case33bw-ders.csv";

    public override int Execute(CommandContext context, DemoSettings s, CancellationToken cancellationToken)
    {
        if (s.Pf)
        {
            var read = CaseLocator.Load(s.Case);
            var result = AcPowerFlow.Solve(read.Network);
            Output.Render(PfCommand.Tables(result, read.Warnings.Select(w => w.ToString())), null);
            return result.Converged ? 0 : 1;
        }
        var sw = System.Diagnostics.Stopwatch.StartNew();
        string scenarioPath = s.Scenario ?? Example(DefaultScenario);
        (Scenario, Network) Load()
        {
            var text = Grid.Input.InputFiles.ReadText(scenarioPath);
            JsonNode? node;
            try { node = JsonNode.Parse(text, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
            catch (System.Text.Json.JsonException e) { throw new Grid.Input.InputException(scenarioPath, (int)(e.LineNumber ?? 0) + 1, "not valid JSON", "fix the JSON syntax"); }
            if (node is JsonObject o)
            {
                if (s.Intervals is int n) o["intervals"] = n;
                if (s.Prosumers is int p) o["generate"] = new JsonObject { ["count"] = p, ["seed"] = o["generate"]?["seed"]?.GetValue<int>() ?? 1 };
            }
            using var doc = System.Text.Json.JsonDocument.Parse(node?.ToJsonString() ?? "null");
            return ScenarioFile.Parse(doc.RootElement, scenarioPath, name => CaseLocator.Load(name).Network);
        }
        var console = CliApp.Io.Console;
        try { Directory.CreateDirectory(s.Out); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"cannot create {s.Out}: {e.Message} (give --out a folder you can write)"); }
        var (scenario, net) = Load();
        var kinds = scenario.Prosumers.Where(p => p is not BaseLoadAgent).GroupBy(Kind).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}").ToList();
        console.Write(new Markup($"[bold]OpenTE demo[/]: a transactive day on [bold]{Markup.Escape(net.Name)}[/] — {scenario.Intervals} × {scenario.IntervalMinutes} min from " +
            $"{scenario.Start:yyyy-MM-dd HH:mm zzz}, {Markup.Escape(string.Join(", ", kinds))} and the feeder's base load at {scenario.Prosumers.Count(p => p is BaseLoadAgent)} buses.\n\n"));
        var story = new List<StoryTable>();

        // 1. the day under the nodal market: bids from each agent's state, DC clearing against the network, per interval
        SimulationResult day;
        try { day = Step(console, $"1/5 clearing {scenario.Intervals} intervals against the network (DC OPF, LMP per bus)", () => MarketDesigns.Run(scenario, net, MarketDesign.Nodal)); }
        catch (InvalidOperationException e)
        {
            CliApp.Io.Err.WriteLine($"not-solved: {e.Message}");
            return 1;
        }
        // the P2P design is the slowest (ADMM per interval): it runs alongside the next steps, on its own freshly read agents
        var p2p = Task.Run(() =>
        {
            var (sc, n) = Load();
            return (Result: MarketDesigns.Run(sc, n, MarketDesign.P2p), Scenario: sc);
        });
        var nodalAccount = SurplusAccounting.Compute(day.Outcome, CompareCommand.Options(scenario));
        story.Add(Prices(day));
        story.Add(ByKind(scenario, nodalAccount));
        story.Add(TopParticipants(nodalAccount, CompareCommand.Population(scenario)));
        if (scenario.Prosumers.OfType<LearningSellerAgent>().FirstOrDefault() is { } learner) story.Add(Learning(learner, scenario));

        // 2. DER inverters in the reactive-power market (AC OPF) at the feeder's peak load
        string dersPath = Example(DefaultDers);
        var ders = DerFile.Read(dersPath, net);
        var vars = Step(console, "2/5 reactive-power market of the DER inverters (AC OPF)", () => VarMarket.Run(net, ders, new VarMarketOptions { VoltageBand = (0.95, 1.05) }));
        story.Add(VarTable(vars));

        // 3. settlement on the embedded ledger, verified
        long start = scenario.Start.ToUnixTimeSeconds();
        string ledgerPath = Path.Combine(s.Out, "ledger.db");
        var ledger = Step(console, "3/5 settling every award on the embedded ledger (signed commitments, meter readings, escrow)",
            () => OutcomeSettlement.Run(day.Outcome, ledgerPath, start, "opente-demo"));
        story.Add(LedgerTable(ledger, nodalAccount));

        // 4. a differentially private aggregate of the prosumers' meter data
        var (release, exact) = Step(console, $"4/5 differentially private feeder aggregate (ε = {s.Epsilon:G3})", () => Private(day, scenario, s.Epsilon, s.Out));
        story.Add(PrivacyTable(release, exact, scenario));

        // 5. the same day under the other designs, and who gains
        var designs = MarketDesigns.All.Where(d => d != MarketDesign.Nodal).ToList();
        var runs = new List<DesignInput> { new(MarketDesign.Nodal.Name(), day.Outcome, CompareCommand.Options(scenario)) };
        var notes = new List<string>();
        (SimulationResult, Scenario) Run(MarketDesign d)
        {
            var (sc, n) = Load();
            return (MarketDesigns.Run(sc, n, d), sc);
        }
        try
        {
            foreach (var d in designs)
                runs.Add(Step(console, $"5/5 the same day under {d.Name()}{(d == MarketDesign.P2p ? " (started after step 1, alongside)" : "")}", () =>
                {
                    var (r, sc) = d == MarketDesign.P2p ? p2p.GetAwaiter().GetResult() : Run(d);
                    notes.AddRange(CompareCommand.Notes(d, r));
                    return new DesignInput(d.Name(), r.Outcome, CompareCommand.Options(sc));
                }));
        }
        catch (InvalidOperationException e)
        {
            CliApp.Io.Err.WriteLine($"not-solved: {e.Message}");
            return 1;
        }
        var comparison = FairnessComparison.Compare($"OpenTE demo: {net.Name}, {scenario.Prosumers.Count(p => p is not BaseLoadAgent)} prosumers, {scenario.Intervals} intervals",
            runs, CompareCommand.Population(scenario), scenario.Prosumers.Where(p => p is not BaseLoadAgent).Select(p => p.Id));
        var files = CompareCommand.WriteReport(comparison, s.Out, story.Select(t => (t.Title, t.Html())));
        File.WriteAllText(Path.Combine(s.Out, "awards-nodal.csv"), AwardsCsv(day.Outcome));

        console.WriteLine();
        foreach (var t in story) console.Write(t.Render());
        foreach (var r in CompareCommand.Tables(comparison).Skip(1)) console.Write(r);
        foreach (var n in notes) console.MarkupLine(Markup.Escape(n));
        console.Write(new Markup($"\n{(ledger.Verified ? "[green]Ledger verified[/]" : "[red]Ledger NOT verified[/]")}: {ledger.Entries:N0} entries in {Markup.Escape(ledger.LedgerPath)}. " +
            $"Done in {sw.Elapsed.TotalSeconds:0.0} s.\nReport: [bold]{Markup.Escape(Path.GetFullPath(files[0]))}[/] (plots, CSV and the ledger beside it)\n"));
        return ledger.Verified ? 0 : 1;
    }

    private static T Step<T>(IAnsiConsole console, string what, Func<T> work)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        T result;
        if (console.Profile.Capabilities.Interactive)
        {
            T? r = default;
            console.Status().Start(what, _ => r = work());
            result = r!;
        }
        else result = work();
        console.MarkupLine($"[grey]{Markup.Escape(what)}: {sw.Elapsed.TotalSeconds:0.0} s[/]");
        return result;
    }

    /// <summary>An example file: relative to the working directory, else found above it or above the program (a clone's examples/).</summary>
    public static string Example(string relative)
    {
        if (File.Exists(relative)) return relative;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string p = Path.Combine(dir.FullName, relative);
                if (File.Exists(p)) return p;
            }
        throw new Grid.Input.InputException(relative, 0, "not found here or above this folder or the program", "run the demo from the repository (or give --scenario FILE)");
    }

    private static string Kind(Prosumer p) => p switch
    {
        PvAgent => "PV",
        BatteryAgent => "batteries",
        EvAgent => "EVs",
        FlexibleLoadAgent => "flexible loads",
        CriticalLoadAgent => "critical loads",
        LearningSellerAgent => "learning seller",
        BaseLoadAgent => "base load",
        _ => "other",
    };

    private static string F(double v, string fmt = "0.00") => Output.F(v, fmt);

    private static StoryTable Prices(SimulationResult r)
    {
        var rows = new List<string[]>();
        for (int t = 0; t < r.Times.Count; t += Math.Max(1, r.Times.Count / 12))
        {
            var prices = r.Price[t].Where(double.IsFinite).ToList();
            var (b, sd) = r.Outcome.Energy(t);
            rows.Add(new[] { r.Times[t].ToString("HH:mm", CultureInfo.InvariantCulture), F(r.Scenario.GridPrice(t), "0.0"), F(prices.Min(), "0.0"), F(prices.Max(), "0.0"),
                F(b / r.Scenario.StepHours, "0.000"), F(r.AgentNetMw[t].Where(x => x > 0).Sum(), "0.000") });
        }
        return new StoryTable("Prices through the day (nodal market)", ["time", "grid $/MWh", "LMP min", "LMP max", "demand served MW", "local supply MW"], rows,
            "case33bw has no branch ratings, so the DC clearing has no congestion and the LMP is one price on the feeder; the network's limits show in the reactive market below.");
    }

    private static StoryTable ByKind(Scenario s, SurplusAccount a)
    {
        var kind = s.Prosumers.ToDictionary(p => p.Id, Kind);
        var rows = a.ByParticipant().GroupBy(p => kind.GetValueOrDefault(p.Participant, p.Participant))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new[] { g.Key, g.Count().ToString(CultureInfo.InvariantCulture), F(g.Sum(p => p.Payment)), F(g.Sum(p => p.Revenue)), F(g.Sum(p => p.NetMoney)), F(g.Sum(p => p.Surplus)) })
            .ToList();
        rows.Add(["grid rent (operator)", "", "", "", F(a.GridRent), F(a.GridRent)]);
        rows.Add(["total", "", F(a.ByParticipant().Sum(p => p.Payment)), F(a.ByParticipant().Sum(p => p.Revenue)), "", F(a.RowSum)]);
        return new StoryTable("Who paid and who earned ($ over the day, nodal market)", ["who", "count", "paid", "earned", "net money", "surplus"], rows,
            $"Surplus: value at the bid − payment for buyers, revenue − cost at the offer for sellers (the learning seller at its true cost), net money for batteries; the rows add up to the welfare, {F(a.Welfare)} $.");
    }

    private static StoryTable TopParticipants(SurplusAccount a, Func<string, bool> population)
    {
        var ps = a.ByParticipant().Where(p => population(p.Participant)).ToList();
        var rows = ps.OrderByDescending(p => p.Payment).Take(3).Select(p => new[] { "paid most", p.Participant, F(p.Payment), F(p.Revenue), F(p.Surplus) })
            .Concat(ps.OrderByDescending(p => p.NetMoney).Take(3).Select(p => new[] { "earned most", p.Participant, F(p.Payment), F(p.Revenue), F(p.Surplus) })).ToList();
        return new StoryTable("Prosumers who paid and earned most ($)", ["", "prosumer", "paid", "earned", "surplus"], rows, null);
    }

    private static StoryTable Learning(LearningSellerAgent l, Scenario s)
    {
        var h = l.History;
        int half = h.Count / 2;
        var rows = new List<string[]>
        {
            new[] { "first half of the day (exploring)", F(h.Take(half).DefaultIfEmpty().Average(x => x.Markup), "0.00"), F(h.Take(half).Sum(x => x.SoldMw) * s.StepHours, "0.000"), F(h.Take(half).Sum(x => x.Profit)) },
            new[] { "second half (exploiting)", F(h.Skip(half).DefaultIfEmpty().Average(x => x.Markup), "0.00"), F(h.Skip(half).Sum(x => x.SoldMw) * s.StepHours, "0.000"), F(h.Skip(half).Sum(x => x.Profit)) },
        };
        return new StoryTable($"The learning seller '{l.Id}' ({l.CapacityMw:0.###} MW at {l.Cost:0} $/MWh, learning its markup on the price forecast)",
            ["", "mean markup", "MWh sold", "profit $"], rows, $"Its greedy markup after the day: {l.Policy().ToString("0.##", CultureInfo.InvariantCulture)} × the price forecast (a bandit over {string.Join(", ", LearningSellerAgent.Markups.Select(m => m.ToString("0.##", CultureInfo.InvariantCulture)))}).");
    }

    private static StoryTable VarTable(VarMarketResult r)
    {
        var rows = r.Market.Ders.Where(d => Math.Abs(d.QMvar) > 1e-6).OrderByDescending(d => Math.Abs(d.Payment)).Take(8)
            .Select(d => new[] { d.Id, d.Bus.ToString(CultureInfo.InvariantCulture), F(d.QMvar, "0.000"), F(d.LmpQ), F(d.Payment) }).ToList();
        return new StoryTable("DER inverters in the reactive-power market (AC OPF, peak load, band 0.95–1.05 p.u.)", ["DER", "bus", "Q MVAr", "λQ $/MVArh", "paid $/h"], rows,
            $"{r.Market.Status.Word()}; buses outside the band without the market: {r.ViolationsWithout}, with it: {r.ViolationsWith}; reactive payments {F(r.TotalPayment)} $/h; " +
            $"min voltage {F(r.Profile.Min(p => p.VmWithout), "0.000")} → {F(r.Profile.Min(p => p.VmWith), "0.000")} p.u.");
    }

    private static StoryTable LedgerTable(LedgerSettlement l, SurplusAccount a)
    {
        var rows = new List<string[]>
        {
            new[] { "trades (signed commitments)", l.Trades.ToString("N0", CultureInfo.InvariantCulture) },
            new[] { "settled", l.Settled.ToString("N0", CultureInfo.InvariantCulture) },
            new[] { "ledger entries", l.Entries.ToString("N0", CultureInfo.InvariantCulture) },
            new[] { "hash chain verified", l.Verified ? "yes" : "NO: " + l.VerifyReason },
            new[] { "Σ money over all accounts (minor units)", l.MoneySum.ToString(CultureInfo.InvariantCulture) },
            new[] { "Σ energy over all accounts (Wh)", l.EnergySumWh.ToString(CultureInfo.InvariantCulture) },
            new[] { "operator's money vs the clearing's grid rent ($)", $"{F(l.OperatorMoney / 100.0)} vs {F(a.GridRent)} (rounding bound ±{l.OperatorRoundingBound / 100:0.00}: ⌊price × Wh⌋ per trade)" },
            new[] { "head hash", l.HeadHash[..16] + "…" },
        };
        return new StoryTable($"Settlement on the embedded ledger ({l.Seconds:0.0} s)", ["", "value"], rows,
            "Every award became a commitment signed by both sides (the operator for pool trades), meters signed what sellers delivered, the escrow settled, and the SQLite ledger's hash chain was re-verified.");
    }

    private static (ReleaseResult Release, double Exact) Private(SimulationResult day, Scenario s, double epsilon, string dir)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("meter,kind,feeder,bus,start,import_kwh,export_kwh\n");
        double exact = 0, h = s.StepHours;
        for (int k = 0; k < s.Prosumers.Count; k++)
        {
            var p = s.Prosumers[k];
            if (p is BaseLoadAgent or SourceAgent) continue;
            string kind = p is LearningSellerAgent ? "generator" : "household";
            for (int t = 0; t < day.Times.Count; t++)
            {
                double mw = day.AgentNetMw[t][k];
                double imp = Math.Max(0, -mw) * h * 1000, exp = Math.Max(0, mw) * h * 1000;
                if (kind == "household") exact += imp;
                sb.Append(inv, $"{p.Id},{kind},F1,{p.Bus},{day.Times[t]:yyyy-MM-ddTHH:mm:sszzz},{imp:0.######},{exp:0.######}\n");
            }
        }
        string path = Path.Combine(dir, "meter-readings.csv");
        File.WriteAllText(path, sb.ToString());
        var data = MeterData.ParseCsv(sb.ToString(), path);
        var accountant = new PrivacyAccountant(path, epsilon);
        var release = PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, epsilon, 0, maxKwh: 2, accountant);
        return (release, exact);
    }

    private static StoryTable PrivacyTable(ReleaseResult r, double exact, Scenario s)
    {
        var v = r.Values.FirstOrDefault();
        var rows = new List<string[]>
        {
            new[] { "released (ε-DP, Laplace)", v is null ? "–" : $"{F(v.Value, "0.0")} kWh ± {F(v.NoiseStdDev, "0.0")}" },
            new[] { "exact (never published; shown for the demo)", $"{F(exact, "0.0")} kWh" },
        };
        return new StoryTable($"Differentially private feeder aggregate: the prosumers' total import over the day", ["", "kWh"], rows,
            $"{r.Description}; each household's whole day is protected (sensitivity = intervals × 2 kWh).");
    }

    private static string AwardsCsv(ClearingOutcome o)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("interval,participant,bus,side,mw,price,bid_price\n");
        foreach (var a in o.Awards)
            sb.Append(inv, $"{a.Interval},{a.Participant},{a.Bus},{(a.Side == Side.Buy ? "buy" : "sell")},{a.Quantity:R},{a.Price:R},{a.BidPrice:R}\n");
        return sb.ToString();
    }
}

/// <summary>One table of the demo's story: printed on the console and written into the HTML report.</summary>
public sealed record StoryTable(string Title, string[] Columns, IReadOnlyList<string[]> Rows, string? Note)
{
    public IRenderable Render()
    {
        var t = Output.Table(Title, Columns).Rows(Rows, r => r);
        if (Note is not null && Rows.Count <= Output.MaxRows + 10) t.Caption(Note);
        return t;
    }

    public string Html()
    {
        var sb = new StringBuilder("<table><tr>");
        foreach (var c in Columns) sb.Append("<th>").Append(WebUtility.HtmlEncode(c)).Append("</th>");
        sb.Append("</tr>\n");
        foreach (var r in Rows)
        {
            sb.Append("<tr>");
            foreach (var c in r) sb.Append("<td>").Append(WebUtility.HtmlEncode(c)).Append("</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</table>\n");
        if (Note is not null) sb.Append("<p>").Append(WebUtility.HtmlEncode(Note)).Append("</p>\n");
        return sb.ToString();
    }
}
