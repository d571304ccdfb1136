using OpenTE.Grid.Metering;
using System.ComponentModel;
using System.Globalization;
using OpenTE.Privacy;
using OpenTE.Privacy.Metering;
using OpenTE.Privacy.Sampling;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;
using OpenTE.Grid.Input;

namespace OpenTE.Cli.Commands;

public class MeterDataSettings : OutputSettings
{
    [CommandArgument(0, "<DATA>")]
    [Description("Meter readings: CSV (meter,kind,feeder,bus,start,import_kwh,export_kwh) or JSON (docs/meter-data.md).")]
    public string Data { get; init; } = "";

    [CommandOption("--interval <MINUTES>")]
    [Description("Interval length in minutes: 15 (default) or 60.")]
    [DefaultValue(15)]
    public int IntervalMinutes { get; init; } = 15;

    [CommandOption("--rejects <FILE>")]
    [Description("Where to write rejected records and gaps (default DATA.rejects.csv, written only when there are any).")]
    public string? Rejects { get; init; }

    public override ValidationResult Validate() =>
        IntervalMinutes is not (15 or 60) ? ValidationResult.Error("--interval must be 15 or 60 minutes (meter data are 15-minute or hourly)") : ValidationResult.Success();

    /// <summary>Reads and validates the data; writes the rejects file and reports how many records went there.</summary>
    public MeterData Load()
    {
        var data = MeterData.Read(Data, new ValidationOptions { Interval = TimeSpan.FromMinutes(IntervalMinutes) });
        if (data.Rejected.Count + data.Gaps.Count > 0)
        {
            string path = Rejects ?? Data + ".rejects.csv";
            File.WriteAllText(path, data.RejectsCsv());
            CliApp.Io.Err.WriteLine($"warning: {data.Rejected.Count} record(s) rejected and {data.Gaps.Count} gap(s) found; see {path}");
        }
        if (data.Readings.Count == 0)
            throw new OpenTE.Grid.Input.InputException(Data, 0, "no reading was accepted", "see the rejects file for the reasons");
        return data;
    }
}

public sealed class ReconcileSettings : MeterDataSettings
{
    [CommandArgument(1, "[CASE]")]
    [Description("A case whose AC power flow gives the losses (meters carry bus numbers of the case). Without it the losses are estimated from the data (k·N² per feeder, N the net household demand, a robust fit), or --loss-fraction states them.")]
    public string? Case { get; init; }

    [CommandOption("--loss-fraction <F>")]
    [Description("A stated loss model instead of the estimate: losses = F × household withdrawals (e.g. 0.03).")]
    public double? LossFraction { get; init; }

    [CommandOption("--tolerance-kwh <KWH>")]
    [Description("Absolute tolerance of the balance per feeder and interval (default 0.01 kWh) plus 0.1 % of withdrawals.")]
    [DefaultValue(0.01)]
    public double ToleranceKwh { get; init; } = 0.01;

    public override ValidationResult Validate() =>
        LossFraction is double f && !(f >= 0 && f < 1) ? ValidationResult.Error("--loss-fraction must be in [0, 1)")
        : LossFraction is not null && Case is not null ? ValidationResult.Error("give either a CASE (power-flow losses) or --loss-fraction, not both")
        : !(ToleranceKwh >= 0) ? ValidationResult.Error("--tolerance-kwh must be ≥ 0")
        : base.Validate();
}

/// <summary>opente meter reconcile: Σ injections = Σ withdrawals + losses per feeder and interval.</summary>
public sealed class MeterReconcileCommand : Command<ReconcileSettings>
{
    public override int Execute(CommandContext context, ReconcileSettings s, CancellationToken cancellationToken)
    {
        var data = s.Load();
        LossModel model = s.Case is not null ? new LossModel.PowerFlow(CaseLocator.Load(s.Case).Network)
            : s.LossFraction is double f ? new LossModel.Fraction(f) : new LossModel.Estimated();
        string lossText = model switch
        {
            LossModel.PowerFlow => "AC power flow of the case",
            LossModel.Fraction fr => $"{fr.Value:P1} of withdrawals (stated)",
            _ => "estimated from the data: k·N² per feeder (N = net household demand), " + string.Join(", ", Aggregation.EstimateLossCoefficients(data).Select(kv => $"{kv.Key} k = {kv.Value:G3}/kWh")) +
                 " (median fit; give the CASE for power-flow losses)",
        };
        var report = Aggregation.Reconcile(data, model, s.ToleranceKwh);
        var bad = report.Where(l => !l.Balanced).ToList();
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("data", s.Data);
                w.WriteString("lossModel", model switch { LossModel.PowerFlow => "power flow", LossModel.Fraction fr => $"fraction {fr.Value.ToString(CultureInfo.InvariantCulture)}", _ => "estimated" });
                w.WriteString("losses", lossText);
                w.WriteNumber("readings", data.Readings.Count);
                w.WriteNumber("rejected", data.Rejected.Count);
                w.WriteNumber("gaps", data.Gaps.Count);
                w.WriteNumber("intervals", report.Count);
                w.WriteNumber("unbalanced", bad.Count);
                w.WriteStartArray("lines");
                foreach (var l in report)
                {
                    w.WriteStartObject();
                    w.WriteString("feeder", l.Feeder);
                    w.WriteString("start", l.Start.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture));
                    w.Number("injectionsKwh", l.Injections);
                    w.Number("withdrawalsKwh", l.Withdrawals);
                    w.Number("lossesKwh", l.Losses);
                    w.Number("imbalanceKwh", l.Imbalance);
                    w.WriteBoolean("balanced", l.Balanced);
                    w.WriteBoolean("complete", l.Complete);
                    if (l.Note is not null) w.WriteString("note", l.Note);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }), s.Out);
        }
        else
        {
            var items = new List<IRenderable>
            {
                new Markup($"[bold]{Markup.Escape(s.Data)}[/]: {data.Readings.Count} readings accepted, {data.Rejected.Count} rejected, {data.Gaps.Count} gap(s); " +
                           $"{report.Count} feeder-intervals, [{(bad.Count == 0 ? "green" : "red")}]{bad.Count} not balanced[/] " +
                           $"(losses: {Markup.Escape(lossText)})\n"),
                Output.Table(bad.Count == 0 ? "All feeder-intervals balance" : "Feeder-intervals that do not balance", "feeder", "start", "injections (kWh)", "withdrawals (kWh)", "losses (kWh)", "imbalance (kWh)", "note")
                    .Rows(bad.Count == 0 ? report.Take(10).ToList() : bad, l => [l.Feeder, l.Start.ToString("yyyy-MM-dd HH:mm zzz", CultureInfo.InvariantCulture),
                        Output.F(l.Injections), Output.F(l.Withdrawals), Output.F(l.Losses), Output.F(l.Imbalance), l.Note ?? ""]),
            };
            Output.Render(items, s.Out);
        }
        return bad.Count == 0 ? 0 : 1;
    }
}

public sealed class SynthSettings : CommandSettings
{
    [CommandArgument(0, "<CASE>")]
    [Description("The feeder case (e.g. case33bw).")]
    public string Case { get; init; } = "";

    [CommandOption("--households <N>")]
    [DefaultValue(100)]
    [Description("Number of households (default 100).")]
    public int Households { get; init; } = 100;

    [CommandOption("--intervals <N>")]
    [DefaultValue(96)]
    [Description("Number of 15-minute intervals (default 96 = one day).")]
    public int Intervals { get; init; } = 96;

    [CommandOption("--start <TIME>")]
    [Description("First interval, ISO-8601 with offset (default 2026-06-01T00:00:00+02:00).")]
    public string Start { get; init; } = "2026-06-01T00:00:00+02:00";

    [CommandOption("--seed <SEED>")]
    [DefaultValue(1)]
    public int Seed { get; init; } = 1;

    [CommandOption("--out <FILE>")]
    [Description("Write the CSV to FILE instead of standard output.")]
    public string? Out { get; init; }

    public override ValidationResult Validate() =>
        Households < 1 ? ValidationResult.Error("--households must be at least 1")
        : Intervals < 1 ? ValidationResult.Error("--intervals must be at least 1")
        : !DateTimeOffset.TryParse(Start, CultureInfo.InvariantCulture, DateTimeStyles.None, out _) ? ValidationResult.Error("--start must be an ISO-8601 time with offset")
        : ValidationResult.Success();
}

/// <summary>opente meter synth: synthetic, reconcilable meter data for a feeder case.</summary>
public sealed class MeterSynthCommand : Command<SynthSettings>
{
    public override int Execute(CommandContext context, SynthSettings s, CancellationToken cancellationToken)
    {
        var net = CaseLocator.Load(s.Case).Network;
        var start = DateTimeOffset.Parse(s.Start, CultureInfo.InvariantCulture);
        var readings = AnsiConsoleProgress.Run($"synthesising {s.Households} households × {s.Intervals} intervals",
            () => SyntheticMeters.Generate(net, s.Households, start, s.Intervals, s.Seed));
        Output.Emit(MeterData.ToCsv(readings).TrimEnd('\n'), s.Out);
        return 0;
    }
}

public sealed class ReleaseSettings : MeterDataSettings
{
    [CommandOption("--query <QUERY>")]
    [Description("sum, count or mean of household consumption (import kWh).")]
    [DefaultValue("sum")]
    public string Query { get; init; } = "sum";

    [CommandOption("--by <GROUPS>")]
    [Description("Grouping: feeder,interval (default), feeder, interval, or all.")]
    [DefaultValue("feeder,interval")]
    public string By { get; init; } = "feeder,interval";

    [CommandOption("--epsilon <E>")]
    [Description("Privacy parameter ε of this release (> 0).")]
    public double Epsilon { get; init; }

    [CommandOption("--delta <D>")]
    [Description("δ > 0 selects the (discrete) Gaussian mechanism; 0 (default) the Laplace mechanism.")]
    [DefaultValue(0.0)]
    public double Delta { get; init; }

    [CommandOption("--max-kwh <M>")]
    [Description("Clamp each household reading to [[0, M]] kWh: the sensitivity of a sum is M per interval.")]
    public double MaxKwh { get; init; }

    [CommandOption("--budget <E>")]
    [Description("Total ε budget of this dataset (default 1); stored in the ledger on first use.")]
    [DefaultValue(1.0)]
    public double Budget { get; init; } = 1.0;

    [CommandOption("--budget-delta <D>")]
    [Description("Total δ budget of this dataset (default 1e-6).")]
    [DefaultValue(1e-6)]
    public double BudgetDelta { get; init; } = 1e-6;

    [CommandOption("--composition <RULE>")]
    [Description("sequential (default) or advanced composition of the releases.")]
    [DefaultValue("sequential")]
    public string Composition { get; init; } = "sequential";

    [CommandOption("--ledger <FILE>")]
    [Description("The privacy ledger of the dataset (default DATA.privacy.json): every release is logged there with its ε.")]
    public string? Ledger { get; init; }

    [CommandOption("--seed <SEED>")]
    [Description("Reproducible NOT secure noise, for experiments only.")]
    public int? Seed { get; init; }

    public override ValidationResult Validate() =>
        Query is not ("sum" or "count" or "mean") ? ValidationResult.Error("--query must be sum, count or mean")
        : By is not ("feeder,interval" or "interval,feeder" or "feeder" or "interval" or "all") ? ValidationResult.Error("--by must be feeder,interval, feeder, interval or all")
        : !(Epsilon > 0) || double.IsInfinity(Epsilon) ? ValidationResult.Error("--epsilon must be a positive number")
        : !(Delta >= 0 && Delta < 1) ? ValidationResult.Error("--delta must be in [0, 1)")
        : !(MaxKwh > 0) || double.IsInfinity(MaxKwh) ? ValidationResult.Error("--max-kwh must be a positive number of kWh")
        : !(Budget > 0) ? ValidationResult.Error("--budget must be positive")
        : Composition is not ("sequential" or "advanced") ? ValidationResult.Error("--composition must be sequential or advanced")
        : base.Validate();
}

/// <summary>opente privacy release: a differentially private table of household consumption.</summary>
public sealed class PrivacyReleaseCommand : Command<ReleaseSettings>
{
    public override int Execute(CommandContext context, ReleaseSettings s, CancellationToken cancellationToken)
    {
        var data = s.Load();
        string ledgerPath = s.Ledger ?? s.Data + ".privacy.json";
        var accountant = PrivacyAccountant.LoadOrCreate(ledgerPath, Path.GetFileName(s.Data), s.Budget, s.BudgetDelta,
            s.Composition == "advanced" ? Composition.Advanced : Composition.Sequential);
        var by = s.By switch { "feeder" => GroupBy.Feeder, "interval" => GroupBy.Interval, "all" => GroupBy.None, _ => GroupBy.Feeder | GroupBy.Interval };
        var query = s.Query switch { "count" => AggregateQuery.Count, "mean" => AggregateQuery.Mean, _ => AggregateQuery.Sum };
        IRandomSource? rng = null;
        if (s.Seed is int seed)
        {
            CliApp.Io.Err.WriteLine("warning: --seed makes the noise reproducible and NOT secure; never publish such a release");
            rng = new SeededRandomSource(seed);
        }
        ReleaseResult r;
        try
        {
            r = PrivateRelease.Run(data, query, by, s.Epsilon, s.Delta, s.MaxKwh, accountant, rng);
        }
        catch (PrivacyBudgetExceededException e)
        {
            CliApp.Io.Err.WriteLine($"error: {e.Message}");
            return 2;
        }
        accountant.Save(ledgerPath);
        var (spentE, spentD) = accountant.Spent();
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("data", s.Data);
                w.WriteString("query", s.Query);
                w.WriteString("by", s.By);
                w.WriteString("mechanism", r.Noise == NoiseKind.Laplace ? "discrete-laplace" : "discrete-gaussian");
                w.Number("epsilon", r.Epsilon);
                w.Number("delta", r.Delta);
                w.Number("maxKwh", r.MaxKwh);
                w.WriteNumber("intervals", r.Intervals);
                w.Number("spentEpsilon", spentE);
                w.Number("spentDelta", spentD);
                w.Number("budgetEpsilon", accountant.BudgetEpsilon);
                w.WriteStartArray("values");
                foreach (var v in r.Values)
                {
                    w.WriteStartObject();
                    if (v.Feeder is not null) w.WriteString("feeder", v.Feeder);
                    if (v.Start is DateTimeOffset t) w.WriteString("start", t.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture));
                    w.Number("value", v.NonNegative);
                    w.Number("unbiasedValue", v.Value);
                    w.Number("noiseStdDev", v.NoiseStdDev);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.Number("medianNoiseToValue", r.MedianNoiseToValue);
                if (r.Warning is not null) w.WriteString("warning", r.Warning);
                w.WriteEndObject();
            }), s.Out);
        }
        if (r.Warning is string warning) CliApp.Io.Err.WriteLine("warning: " + warning);
        if (!s.Json)
        {
            string unit = query == AggregateQuery.Count ? "readings" : "kWh";
            Output.Render(
            [
                new Markup($"[bold]{Markup.Escape(r.Description)}[/]\nmechanism: {(r.Noise == NoiseKind.Laplace ? "discrete Laplace" : "discrete Gaussian")}; " +
                           $"budget spent {spentE:G4} of ε = {accountant.BudgetEpsilon:G4} (ledger {Markup.Escape(ledgerPath)})\n"),
                Output.Table("Released values", "feeder", "start", $"value ({unit})", "noise std")
                    .Rows(r.Values, v => [v.Feeder ?? "all", v.Start?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "all", Output.F(v.NonNegative), Output.F(v.NoiseStdDev)]),
                new Markup("[grey]values are clamped at 0 (post-processing; --json also gives the unbiased value, which can be negative)[/]\n"),
            ], s.Out);
        }
        return 0;
    }
}

public sealed class UtilitySettings : MeterDataSettings
{
    [CommandOption("--max-kwh <M>")]
    [Description("Clamp per reading (kWh).")]
    public double MaxKwh { get; init; }

    [CommandOption("--png <FILE>")]
    [Description("The plot: relative error versus ε for several numbers of households (default privacy-utility.png).")]
    [DefaultValue("privacy-utility.png")]
    public string Png { get; init; } = "privacy-utility.png";

    public override ValidationResult Validate() =>
        !(MaxKwh > 0) || double.IsInfinity(MaxKwh) ? ValidationResult.Error("--max-kwh must be a positive number of kWh") : base.Validate();
}

/// <summary>opente privacy utility: what privacy costs in accuracy (table + PNG plot). Releases nothing.</summary>
public sealed class PrivacyUtilityCommand : Command<UtilitySettings>
{
    /// <summary>Ticks of the utility plot's log axes, labelled with the values: ε as given, errors per decade in %.</summary>
    public static (List<(double Position, string Label)> X, List<(double Position, string Label)> Y) LogTicks(IEnumerable<double> eps, IEnumerable<double> errors)
    {
        var x = eps.Select(e => (Math.Log10(e), e.ToString("G3", CultureInfo.InvariantCulture))).ToList();
        var logs = errors.Select(e => Math.Log10(Math.Max(e, 1e-9))).ToList();
        int lo = (int)Math.Floor(logs.DefaultIfEmpty(-3).Min()), hi = (int)Math.Ceiling(logs.DefaultIfEmpty(0).Max());
        var y = Enumerable.Range(lo, hi - lo + 1).Select(k => ((double)k, (100 * Math.Pow(10, k)).ToString("0.####", CultureInfo.InvariantCulture) + " %")).ToList();
        return (x, y);
    }

    public override int Execute(CommandContext context, UtilitySettings s, CancellationToken cancellationToken)
    {
        var data = s.Load();
        int households = data.Readings.Where(r => r.Kind == MeterKind.Household).Select(r => r.Meter).Distinct().Count();
        var counts = new[] { 10, 30, 100, 300, 1000, 3000, 10000 }.Where(n => n <= households).ToList();
        if (counts.Count == 0 || counts[^1] != households) counts.Add(households);
        double[] eps = [0.05, 0.1, 0.2, 0.5, 1, 2, 5];
        var points = AnsiConsoleProgress.Run("releasing noisy totals", () => UtilityStudy.Run(data, s.MaxKwh, eps, counts));
        var plot = new ScottPlot.Plot();
        foreach (var group in points.GroupBy(p => p.Households))
        {
            var line = plot.Add.Scatter(group.Select(p => Math.Log10(p.Epsilon)).ToArray(), group.Select(p => Math.Log10(Math.Max(p.MedianRelativeError, 1e-9))).ToArray());
            line.LegendText = $"{group.Key} households";
        }
        plot.Title("Privacy vs utility: daily feeder consumption (Laplace, user-level DP)");
        // log axes labelled with the values themselves (issue #17: the labels were raw log10 numbers)
        var (xTicks, yTicks) = LogTicks(eps, points.Select(p => p.MedianRelativeError));
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. xTicks.Select(t => new ScottPlot.Tick(t.Position, t.Label))]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. yTicks.Select(t => new ScottPlot.Tick(t.Position, t.Label))]);
        plot.XLabel("ε (log scale)");
        plot.YLabel("median relative error (log scale)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(s.Png, 900, 560);
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("png", s.Png);
                w.WriteStartArray("points");
                foreach (var p in points)
                {
                    w.WriteStartObject();
                    w.WriteNumber("households", p.Households);
                    w.Number("epsilon", p.Epsilon);
                    w.Number("medianRelativeError", p.MedianRelativeError);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }), s.Out);
        }
        else
        {
            var t = Output.Table($"Median relative error of the daily total (plot: {s.Png})", ["households", .. eps.Select(e => $"ε={e}")]);
            foreach (var g in points.GroupBy(p => p.Households))
                t.AddRow([g.Key.ToString(), .. g.Select(p => Output.F(p.MedianRelativeError * 100, "0.###") + " %")]);
            Output.Render([t], s.Out);
        }
        return 0;
    }
}

/// <summary>A progress spinner on an interactive terminal; silent when output is redirected (tests, pipes).</summary>
public static class AnsiConsoleProgress
{
    public static T Run<T>(string what, Func<T> work)
    {
        var console = CliApp.Io.Console;
        if (!console.Profile.Capabilities.Interactive) return work();
        T result = default!;
        console.Status().Start(what + " …", _ => result = work());
        return result;
    }

    /// <summary>
    /// Long work that reports its steps: on an interactive terminal a spinner whose text is the latest step;
    /// otherwise each step is one line on standard error (so logs and tests see them).
    /// </summary>
    public static T Run<T>(string what, Func<Action<string>, T> work)
    {
        var console = CliApp.Io.Console;
        if (!console.Profile.Capabilities.Interactive) return work(step => CliApp.Io.Err.WriteLine(step));
        T result = default!;
        console.Status().Start(what + " …", ctx => result = work(step => ctx.Status(Markup.Escape($"{what}: {step}"))));
        return result;
    }

    /// <summary>
    /// Work that reports fast, fine-grained progress (a solver's iterations): on an interactive terminal a spinner whose
    /// text is the latest report; otherwise silent (a line per iteration would bury the result in a log).
    /// </summary>
    public static T Live<T>(string what, Func<Action<string>, T> work)
    {
        var console = CliApp.Io.Console;
        if (!console.Profile.Capabilities.Interactive) return work(_ => { });
        T result = default!;
        console.Status().Start(what + " …", ctx => result = work(step => ctx.Status(Markup.Escape($"{what}: {step}"))));
        return result;
    }

    /// <summary>One interior-point iteration as a progress line: the three optimality conditions against their tolerance.</summary>
    public static string Iteration(OpenTE.Numerics.Optimization.InteriorPointIterate t) =>
        $"iteration {t.Iteration}, feasibility {t.Feasibility:0.0e0}, optimality {t.Gradient:0.0e0}, complementarity {t.Complementarity:0.0e0}{(t.Restored ? " (after a feasibility restoration)" : "")}";
}
