using System.Globalization;
using OpenTE.Grid;
using OpenTE.Grid.Model;
using OpenTE.Grid.Input;

namespace OpenTE.Market.MultiPeriod;

/// <summary>
/// Time-series CSV: header <c>timestamp,bus,load_mw,pv_mw</c>, ISO-8601 timestamps with offset
/// (2026-06-01T14:15:00+02:00), intervals in order, equally spaced (15 or 60 minutes) and without gaps.
/// Storage CSV: <c>id,bus,energy_mwh,min_mwh,charge_mw,discharge_mw,eta_charge,eta_discharge,initial_mwh[,terminal_mwh]</c>.
/// Errors name the file, line and field and say how to fix them.
/// </summary>
public static class SeriesFile
{
    /// <summary>|MW|, |MWh|, |$/MWh| at most this: far beyond a real grid, far below overflow (issue #23).</summary>
    public const double MaxMagnitude = 1e7;

    public const string SeriesHeader = "timestamp,bus,load_mw,pv_mw";
    public const string StorageHeader = "id,bus,energy_mwh,min_mwh,charge_mw,discharge_mw,eta_charge,eta_discharge,initial_mwh";

    public static TimeSeries ReadSeries(string path, Network net) => ParseSeries(InputFiles.ReadText(path), path, net);

    public static TimeSeries ParseSeries(string text, string file, Network net)
    {
        var table = CsvTable.Parse(text, file, [SeriesHeader.Split(',')]);
        var times = new List<DateTimeOffset>();
        var rows = new List<(int T, int Bus, double Load, double Pv, int Line)>();
        var seen = new HashSet<(int, int)>();
        TimeSpan? step = null;
        foreach (var row in table.Rows)
        {
            int ln = row.Line;
            var ts = row.Time("timestamp");
            if (times.Count == 0 || ts != times[^1])
            {
                if (times.Count > 0)
                {
                    var gap = ts - times[^1];
                    if (gap <= TimeSpan.Zero)
                        throw new InputException(file, ln, $"timestamp: {row["timestamp"]} is not after {times[^1]:yyyy-MM-ddTHH:mm:sszzz}", "sort the rows by time; each interval's rows together", "timestamp");
                    if (step is null && gap != TimeSpan.FromMinutes(15) && gap != TimeSpan.FromMinutes(60))
                        throw new InputException(file, ln, $"timestamp: {row["timestamp"]} is {gap.TotalMinutes:0.##} min after the previous interval; the series steps 15 or 60 minutes",
                            "give 15-minute or hourly intervals", "timestamp");
                    step ??= gap;
                    if (gap != step)
                        throw new InputException(file, ln, $"timestamp: {row["timestamp"]} leaves a gap ({gap.TotalMinutes:0} min after the previous interval, the series steps {step.Value.TotalMinutes:0} min)",
                            "add the missing intervals or make the steps equal", "timestamp");
                }
                times.Add(ts);
            }
            int bus = Bus(row, "bus", net);
            if (!seen.Add((times.Count - 1, bus)))
                throw new InputException(file, ln, $"bus {bus} appears twice at {row["timestamp"]}", "give one row per bus and interval", "bus");
            double load = row.Number("load_mw", "write load_mw in MW as a plain number", -MaxMw, MaxMw);
            double pv = row.Number("pv_mw", "PV output is ≥ 0 MW, a plain number", 0, MaxMw);
            rows.Add((times.Count - 1, bus, load, pv, ln));
        }
        if (times.Count == 0) throw new InputException(file, 1, "no intervals", $"add rows {SeriesHeader}");
        int T = times.Count;
        var loadMw = new Dictionary<int, double[]>();
        var pvMw = new Dictionary<int, double[]>();
        foreach (var bus in rows.Select(r => r.Bus).Distinct())
        {
            // a bus listed at some intervals keeps the case's Pd at the others
            loadMw[bus] = Enumerable.Repeat(net.Buses[net.BusIndex[bus]].Pd, T).ToArray();
            pvMw[bus] = new double[T];
        }
        foreach (var r in rows) { loadMw[r.Bus][r.T] = r.Load; pvMw[r.Bus][r.T] = r.Pv; }
        double stepHours = (step ?? TimeSpan.FromHours(1)).TotalHours;
        return new TimeSeries(times, stepHours, loadMw, pvMw);
    }

    public const string BidsHeader = "timestamp,participant,bus,side,price,quantity";

    public static List<(int Interval, OpenTE.Market.Bids.Bid Bid)> ReadBids(string path, Network net, TimeSeries series) => ParseBids(InputFiles.ReadText(path), path, net, series);

    /// <summary>Bids per interval: <c>timestamp,participant,bus,side,price,quantity</c>; the timestamp must be one of the series' intervals.</summary>
    public static List<(int Interval, OpenTE.Market.Bids.Bid Bid)> ParseBids(string text, string file, Network net, TimeSeries series)
    {
        var table = CsvTable.Parse(text, file, [BidsHeader.Split(',')]);
        var index = series.Times.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var bids = new List<(int, OpenTE.Market.Bids.Bid)>();
        foreach (var row in table.Rows)
        {
            var ts = row.Time("timestamp");
            if (!index.TryGetValue(ts, out int t)) throw row.Error("timestamp", $"timestamp: {row["timestamp"]} is not an interval of the series", "use the start time of one of the series' intervals");
            string participant = row.Text("participant", "name the participant");
            int bus = Bus(row, "bus", net);
            string side = row["side"].ToLowerInvariant();
            if (side is not ("buy" or "sell")) throw row.Error("side", $"side: '{CsvTable.Shorten(row["side"])}' is not buy or sell", "write buy or sell");
            double price = row.Number("price", "write the price in $/MWh", -OpenTE.Market.Bids.BidFile.MaxPrice, OpenTE.Market.Bids.BidFile.MaxPrice);
            double q = row.Number("quantity", "write the quantity in MW, ≥ 0", 0, MaxMw);
            bids.Add((t, new OpenTE.Market.Bids.Bid(participant, bus, side == "buy" ? OpenTE.Market.Bids.Side.Buy : OpenTE.Market.Bids.Side.Sell, price, q, 1, row.Line)));
        }
        return bids;
    }

    /// <summary>Largest believable power in a series, storage or bid row (MW).</summary>
    public const double MaxMw = 1e7;

    private static int Bus(CsvRow row, string column, Network net)
    {
        int bus = row.Integer(column, "use a bus number from the case's bus table");
        return net.BusIndex.ContainsKey(bus) ? bus
            : throw row.Error(column, $"bus: '{row[column]}' is not a bus of {net.Name}", "use a bus number from the case's bus table");
    }

    public static List<StorageUnit> ReadStorage(string path, Network net) => ParseStorage(InputFiles.ReadText(path), path, net);

    public static List<StorageUnit> ParseStorage(string text, string file, Network net)
    {
        var header = StorageHeader.Split(',');
        var table = CsvTable.Parse(text, file, [header, [.. header, "terminal_mwh"]]);
        bool terminal = table.Has("terminal_mwh");
        var units = new List<StorageUnit>();
        var ids = new HashSet<string>();
        foreach (var row in table.Rows)
        {
            string id = row["id"];
            if (id.Length == 0 || !ids.Add(id)) throw row.Error("id", $"id: '{CsvTable.Shorten(id)}' is empty or used twice", "give every unit its own id");
            int bus = Bus(row, "bus", net);
            double V(string c) => row.Number(c, $"write {c} as a plain number", -MaxMw, MaxMw);
            var unit = new StorageUnit(id, bus, V("min_mwh"), V("energy_mwh"), V("charge_mw"), V("discharge_mw"), V("eta_charge"), V("eta_discharge"),
                V("initial_mwh"), terminal ? V("terminal_mwh") : null);
            if (unit.Check() is { } problem)
                throw row.Error(problem.Field, $"{problem.Field}: {problem.Problem}", "state-of-charge limits must hold min ≤ initial, terminal ≤ energy and efficiencies lie in (0, 1]");
            units.Add(unit);
        }
        return units;
    }
}
