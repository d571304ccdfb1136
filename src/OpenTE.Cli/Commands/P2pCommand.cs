using OpenTE.Market.Outcome;
using System.ComponentModel;
using OpenTE.Cluster;
using OpenTE.Market.P2p;
using OpenTE.Market.Carbon;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class P2pSettings : ClusterSettings
{
    [CommandArgument(0, "<SCENARIO>")]
    [Description("P2P market JSON (docs/p2p.md), e.g. examples/p2p-community.json.")]
    public string Scenario { get; init; } = "";

    [CommandOption("--engine <ENGINE>")]
    [Description("local (all peers in this process) or orleans (each peer a grain: on an in-process silo, or with --cluster-db on the silos of a PostgreSQL-clustered deployment started with 'opente silo').")]
    [DefaultValue("local")]
    public string Engine { get; init; } = "local";

    [CommandOption("--tolerance <MW>")]
    [Description("Stop when the primal and dual residuals are both below this (default 1e-4).")]
    [DefaultValue(1e-4)]
    public double Tolerance { get; init; } = 1e-4;

    [CommandOption("--relaxation <ALPHA>")]
    [Description("Over-relaxation α of the ADMM consensus step, in (0, 2); 1 is plain ADMM (default 1.6).")]
    [DefaultValue(1.6)]
    public double Relaxation { get; init; } = 1.6;

    [CommandOption("--max-iterations <N>")]
    [Description("Give up after N iterations (default 20000; exit 1 if not converged).")]
    [DefaultValue(20000)]
    public int MaxIterations { get; init; } = 20000;

    [CommandOption("--plot <PNG>")]
    [Description("Residuals per iteration (log scale), default p2p-residuals.png.")]
    [DefaultValue("p2p-residuals.png")]
    public string Plot { get; init; } = "p2p-residuals.png";

    [CommandOption("--carbon <FILE>")]
    [Description("Emission data (JSON, docs/carbon.md): clear once without and once with π_C × each trade's emission factor as a trade charge, and compare emissions, welfare and prices.")]
    public string? Carbon { get; init; }

    [CommandOption("--carbon-price <P>")]
    [Description("Carbon price in $/t CO₂ (overrides the carbon file's carbonPricePerTonne).")]
    public double? CarbonPrice { get; init; }

    [CommandOption("--json")]
    [Description("Print JSON instead of tables.")]
    public bool Json { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("Write the output to FILE instead of standard output.")]
    public string? Out { get; init; }

    public override ValidationResult Validate() =>
        Engine is not ("local" or "orleans") ? ValidationResult.Error("--engine must be local or orleans")
        : !(Tolerance > 0) ? ValidationResult.Error("--tolerance must be positive")
        : !(Relaxation > 0 && Relaxation < 2) ? ValidationResult.Error("--relaxation must be in (0, 2)")
        : MaxIterations < 1 ? ValidationResult.Error("--max-iterations must be at least 1")
        : ClusterDb is not null && Engine != "orleans" ? ValidationResult.Error("--cluster-db needs --engine orleans")
        : CarbonPrice is not null && Carbon is null ? ValidationResult.Error("--carbon-price needs --carbon FILE")
        : CarbonPrice is { } cp && !(cp >= 0 && cp <= 1e9) ? ValidationResult.Error("--carbon-price must be a number ≥ 0 ($/t)")
        : base.Validate();
}

/// <summary>opente p2p: a peer-to-peer market cleared by consensus ADMM, locally or with peers as Orleans grains.</summary>
public sealed class P2pCommand : Command<P2pSettings>
{
    public override int Execute(CommandContext context, P2pSettings s, CancellationToken cancellationToken)
    {
        var data = P2pScenario.Read(s.Scenario, name => CaseLocator.Load(name).Network);
        var carbon = s.Carbon is null ? null : CarbonData.Read(s.Carbon, name => CaseLocator.Load(name).Network, s.CarbonPrice);
        if (carbon is not null)
            foreach (var peer in data.Peers)
                if (!carbon.Has(peer.Id))
                    throw new OpenTE.Grid.Input.InputException(s.Carbon!, 0, $"$.participants: peer '{peer.Id}' of {s.Scenario} has no emission data",
                        $"add {{ \"id\": \"{peer.Id}\", \"bus\": …, \"gco2PerKwh\": … }}", "participants");
        CarbonComparison? comparison = null;
        bool cluster = s.Engine == "orleans" && s.ConnectionString is not null;
        IReadOnlyDictionary<string, int> silos = new Dictionary<string, int>();
        var result = AnsiConsoleProgress.Run($"ADMM over {data.Peers.Count} peers ({s.Engine}{(cluster ? $", cluster '{s.ClusterId}'" : "")})", step =>
        {
            var options = new AdmmOptions
            {
                Tolerance = s.Tolerance,
                Relaxation = s.Relaxation,
                MaxIterations = s.MaxIterations,
                Progress = new Inline(p => step($"iteration {p.Iteration}: primal {p.Primal:E1}, dual {p.Dual:E1}")),
            };
            if (cluster)
            {
                try
                {
                    (var r, silos) = ClusterHosting.SolveOnClusterAsync(s.Endpoint(), data, options, cancellationToken).GetAwaiter().GetResult();
                    return r;
                }
                catch (ClusterDatabaseException e) { throw new UsageException(e.Message); }
            }
            P2pResult Solve(P2pMarketData d) => s.Engine == "orleans" ? OrleansP2p.SolveInProcessAsync(d, options).GetAwaiter().GetResult() : P2pAdmm.Solve(d, options);
            if (carbon is null) return Solve(data);
            comparison = CarbonP2p.Compare(data, carbon, carbon.Upstream.At(carbon.Upstream.FirstStart), Solve);
            return comparison.With.Result;
        });
        if (comparison is not null) data = comparison.PricedMarket;
        Plot(result, s.Plot);
        if (s.Json) Output.Emit(result.ToJson(data, s.Engine, s.Plot, s.ClusterId, silos, comparison), s.Out);
        else Output.Render(Tables(result, data, s, silos).Concat(comparison is null ? [] : CarbonTables(comparison, data)), s.Out);
        if (result.Status != ClearingStatus.Optimal)
        {
            CliApp.Io.Err.WriteLine($"not converged in {result.Iterations} iterations (residuals {result.History[^1].Primal:E2}, {result.History[^1].Dual:E2})");
            return 1;
        }
        return 0;
    }

    private sealed class Inline(Action<(int Iteration, double Primal, double Dual)> report) : IProgress<(int Iteration, double Primal, double Dual)>
    {
        public void Report((int Iteration, double Primal, double Dual) value) => report(value);
    }

    private static void Plot(P2pResult r, string png)
    {
        var plot = new ScottPlot.Plot();
        double[] it = [.. Enumerable.Range(1, r.History.Count).Select(i => (double)i)];
        plot.Add.Scatter(it, r.History.Select(h => Math.Log10(Math.Max(h.Primal, 1e-16))).ToArray()).LegendText = "primal residual (reciprocity), log10 MW";
        plot.Add.Scatter(it, r.History.Select(h => Math.Log10(Math.Max(h.Dual, 1e-16))).ToArray()).LegendText = "dual residual, log10 MW";
        plot.Add.Scatter(it, r.History.Select(h => Math.Log10(h.Rho)).ToArray()).LegendText = "log10 ρ";
        plot.Title($"ADMM residuals: {r.Status.Word()} in {r.Iterations} iterations");
        plot.XLabel("iteration");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(png, 900, 520);
    }


    private static IEnumerable<IRenderable> CarbonTables(CarbonComparison c, P2pMarketData data)
    {
        string F(double x) => Output.F(x, "0.##");
        yield return Output.Table($"Carbon-aware clearing: π_C = {F(c.PricePerTonne)} $/t, upstream marginal rate {F(c.UpstreamGramsPerKwh)} g/kWh (the trades above are the carbon-aware ones)",
                "clearing", "emissions (kg CO₂/h)", "welfare ($/h)", "welfare − π_C·emissions ($/h)", "mean price ($/MWh)", "traded (MW)")
            .Rows([("without carbon", c.Without), ("with carbon", c.With)], x =>
                [x.Item1, F(x.Item2.EmissionsKgPerH), F(x.Item2.Welfare), F(x.Item2.WelfareNetOfCarbon), F(x.Item2.MeanPrice), F(x.Item2.TradedMw)]);
        var rows = Enumerable.Range(0, data.Peers.Count).SelectMany(n => c.Factors[n].Select(f => (n, m: f.Key, e: f.Value)))
            .Where(x => c.Without.Result.Trades[x.n].GetValueOrDefault(x.m) > 1e-3 || c.With.Result.Trades[x.n].GetValueOrDefault(x.m) > 1e-3)
            .OrderBy(x => x.e).ToList();
        yield return Output.Table("Trades' emission factors (seller's own rate + upstream × Δimport per MWh)", "seller", "buyer", "g CO₂/kWh", "MW without", "MW with")
            .Rows(rows, x => [data.Peers[x.n].Id, data.Peers[x.m].Id, Output.F(x.e, "0.0"),
                Output.F(c.Without.Result.Trades[x.n].GetValueOrDefault(x.m)), Output.F(c.With.Result.Trades[x.n].GetValueOrDefault(x.m))]);
    }

    private static IEnumerable<IRenderable> Tables(P2pResult r, P2pMarketData data, P2pSettings s, IReadOnlyDictionary<string, int> silos)
    {
        string status = r.Status == ClearingStatus.Optimal ? "[green]optimal[/]" : $"[red]{r.Status.Word()}[/]";
        yield return new Markup($"P2P market, {data.Peers.Count} peers, engine {s.Engine}: {status} in {r.Iterations} iterations ({r.Seconds:0.00} s); welfare {Output.F(r.Welfare, "0.##")} $/h; residual plot {Markup.Escape(s.Plot)}\n");
        if (silos.Count > 0)
            yield return Output.Table($"Peer grains per silo (cluster '{Markup.Escape(s.ClusterId)}')", "silo", "peers")
                .Rows(silos.OrderBy(x => x.Key, StringComparer.Ordinal).ToList(), x => [x.Key, x.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var trades = Enumerable.Range(0, data.Peers.Count).Where(n => data.Peers[n].Producer)
            .SelectMany(n => r.Trades[n].Where(t => t.Value > 1e-3).Select(t => (n, m: t.Key, mw: t.Value))).OrderByDescending(x => x.mw).ToList();
        yield return Output.Table("Trades (largest first)", "seller", "buyer", "MW", "seller's price", "buyer's price")
            .Rows(trades, x => [data.Peers[x.n].Id, data.Peers[x.m].Id, Output.F(x.mw), Output.F(r.Prices[x.n][x.m]), Output.F(r.Prices[x.m][x.n])]);
    }
}
