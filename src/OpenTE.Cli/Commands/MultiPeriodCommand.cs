using OpenTE.Market.Outcome;
using System.ComponentModel;
using System.Globalization;
using System.Text;
using OpenTE.Market.MultiPeriod;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class MultiPeriodSettings : CaseSettings
{
    [CommandOption("--series <FILE>")]
    [Description("Loads and PV per bus and interval: timestamp,bus,load_mw,pv_mw (ISO-8601 with offset, equal steps).")]
    public string Series { get; init; } = "";

    [CommandOption("--storage <FILE>")]
    [Description("Storage units: id,bus,energy_mwh,min_mwh,charge_mw,discharge_mw,eta_charge,eta_discharge,initial_mwh[[,terminal_mwh]].")]
    public string? Storage { get; init; }

    [CommandOption("--bids <FILE>")]
    [Description("Bids per interval: timestamp,participant,bus,side,price,quantity (each timestamp one of the series' intervals).")]
    public string? Bids { get; init; }

    [CommandOption("--ramp-share <X>")]
    [Description("Ramp limit per hour as a share of Pmax for generators without ramp data in the case.")]
    public double? RampShare { get; init; }

    [CommandOption("--voll <PRICE>")]
    [Description("Value of lost load in $/MWh: shed load at this price instead of failing.")]
    public double? Voll { get; init; }

    /// <summary>The old name of --csv (hidden, kept for scripts): the one option for "files into a directory" is --csv DIR.</summary>
    [CommandOption("--out-dir <DIR>", IsHidden = true)]
    [Description("Same as --csv DIR (the old name).")]
    public string? OutDir { get; init; }

    /// <summary>Where prices.csv, dispatch.csv, storage.csv, prices.png and soc.png go (--csv DIR, or the old --out-dir).</summary>
    public string? FilesDir => Csv ?? OutDir;

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Series) ? ValidationResult.Error("--series FILE is required")
        : RampShare is double r && !(r > 0) ? ValidationResult.Error("--ramp-share must be positive")
        : Voll is double v && !(v > 0 && double.IsFinite(v)) ? ValidationResult.Error("--voll must be a positive price")
        : ValidationResult.Success();
}

/// <summary>opente multiperiod: clearing over many intervals with storage and ramps, prices per bus and interval.</summary>
public sealed class MultiPeriodCommand : Command<MultiPeriodSettings>
{
    public override int Execute(CommandContext context, MultiPeriodSettings s, CancellationToken cancellationToken)
    {
        var net = CaseLocator.Load(s.Case).Network;
        var series = SeriesFile.ReadSeries(s.Series, net);
        var storage = s.Storage is null ? [] : SeriesFile.ReadStorage(s.Storage, net);
        var bids = s.Bids is null ? [] : SeriesFile.ReadBids(s.Bids, net, series);
        var r = AnsiConsoleProgress.Run($"clearing {series.Count} intervals of {net.Name}", () => MultiPeriodClearing.Solve(net, series,
            new MultiPeriodOptions { Storage = storage, Bids = bids, DefaultRampSharePerHour = s.RampShare, ValueOfLostLoad = s.Voll }));
        if (s.FilesDir is not null && r.Status == ClearingStatus.Optimal) WriteFiles(r, net, s.FilesDir);
        if (s.Json) Output.Emit(r.ToJson(net), s.Out);
        else Output.Render(Tables(r, net, series, s.FilesDir), s.Out);
        if (r.Status != ClearingStatus.Optimal)
        {
            CliApp.Io.Err.WriteLine($"{r.Status.Word()}: {string.Join("; ", r.Messages)}");
            return 1;
        }
        return 0;
    }

    private static string Time(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);

    private static void WriteFiles(MultiPeriodResult r, OpenTE.Grid.Model.Network net, string dir)
    {
        Directory.CreateDirectory(dir);
        var inv = CultureInfo.InvariantCulture;
        var prices = new StringBuilder("timestamp,bus,lmp\n");
        var dispatch = new StringBuilder("timestamp,generator,bus,pg_mw\n");
        var store = new StringBuilder("timestamp,storage,bus,charge_mw,discharge_mw,soc_mwh\n");
        for (int t = 0; t < r.Times.Count; t++)
        {
            for (int b = 0; b < net.BusCount; b++) prices.Append(inv, $"{Time(r.Times[t])},{net.Buses[b].Id},{r.Lmp[t][b]:R}\n");
            for (int g = 0; g < net.Generators.Length; g++) dispatch.Append(inv, $"{Time(r.Times[t])},{g + 1},{net.Generators[g].Bus},{r.PgMw[t][g]:R}\n");
            foreach (var s in r.Storage) store.Append(inv, $"{Time(r.Times[t])},{s.Id},{s.Bus},{s.ChargeMw[t]:R},{s.DischargeMw[t]:R},{s.SocMwh[t + 1]:R}\n");
        }
        File.WriteAllText(Path.Combine(dir, "prices.csv"), prices.ToString());
        File.WriteAllText(Path.Combine(dir, "dispatch.csv"), dispatch.ToString());
        File.WriteAllText(Path.Combine(dir, "storage.csv"), store.ToString());
        double[] hours = [.. r.Times.Select(t => (t - r.Times[0]).TotalHours)];
        var plot = new ScottPlot.Plot();
        for (int b = 0; b < net.BusCount; b++) plot.Add.Scatter(hours, r.Lmp.Select(x => x[b]).ToArray()).MarkerSize = 0;
        plot.Title($"{net.Name}: LMP by bus and interval ({net.BusCount} buses)");
        plot.XLabel($"hours after {Time(r.Times[0])}");
        plot.YLabel("$/MWh");
        plot.SavePng(Path.Combine(dir, "prices.png"), 900, 520);
        var soc = new ScottPlot.Plot();
        foreach (var s in r.Storage)
        {
            var line = soc.Add.Scatter([.. hours.Append(hours.Length > 0 ? hours[^1] + (hours.Length > 1 ? hours[1] - hours[0] : 1) : 0)], s.SocMwh);
            line.LegendText = $"{s.Id} (bus {s.Bus})";
        }
        soc.Title($"{net.Name}: state of charge");
        soc.XLabel("hours");
        soc.YLabel("MWh");
        if (r.Storage.Count > 0) soc.ShowLegend();
        soc.SavePng(Path.Combine(dir, "soc.png"), 900, 520);
    }


    private static IEnumerable<IRenderable> Tables(MultiPeriodResult r, OpenTE.Grid.Model.Network net, TimeSeries series, string? outDir)
    {
        string status = r.Status == ClearingStatus.Optimal ? "[green]optimal[/]" : $"[red]{r.Status.Word()}[/]";
        yield return new Markup($"[bold]{Markup.Escape(r.Case)}[/]: {r.Times.Count} intervals of {series.StepHours * 60:0} min {status}; cost {Output.F(r.Objective, "0.##")} $; " +
            $"{r.SolveSeconds:0.00} s{(outDir is null ? "" : $"; CSV and plots in {Markup.Escape(outDir)}")}\n");
        foreach (var m in r.Messages) yield return new Markup($"  {Markup.Escape(m)}\n");
        if (r.Status != ClearingStatus.Optimal) yield break;
        var rows = Enumerable.Range(0, r.Times.Count).ToList();
        yield return Output.Table("Intervals", "time", "load (MW)", "generation (MW)", "PV used (MW)", "storage net (MW)", "shed (MW)", "LMP min", "LMP max")
            .Rows(rows, t => [Time(r.Times[t]), Output.F(Enumerable.Range(0, net.BusCount).Sum(b => series.LoadMw.TryGetValue(net.Buses[b].Id, out var l) ? l[t] : net.Buses[b].Pd)),
                Output.F(r.PgMw[t].Sum()), Output.F(r.PvUsedMw[t].Sum()), Output.F(r.Storage.Sum(s => s.DischargeMw[t] - s.ChargeMw[t])), Output.F(r.ShedMw[t].Sum()),
                Output.F(r.Lmp[t].Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min()), Output.F(r.Lmp[t].Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max())]);
        foreach (var s in r.Storage)
            yield return Output.Table($"Storage {s.Id} at bus {s.Bus}", "time", "charge (MW)", "discharge (MW)", "SoC after (MWh)", "LMP")
                .Rows(rows, t => [Time(r.Times[t]), Output.F(s.ChargeMw[t]), Output.F(s.DischargeMw[t]), Output.F(s.SocMwh[t + 1]), Output.F(r.Lmp[t][net.BusIndex[s.Bus]])]);
    }
}
