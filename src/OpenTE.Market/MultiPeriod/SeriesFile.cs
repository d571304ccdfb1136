using System.Globalization;
using OpenTE.Grid;
using OpenTE.Grid.Model;

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
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines[0].Trim().Replace(" ", "").ToLowerInvariant() != SeriesHeader)
            throw new InputException(file, 1, $"the header must be '{SeriesHeader}'", "put the column names on the first line, in this order");
        var times = new List<DateTimeOffset>();
        var rows = new List<(int T, int Bus, double Load, double Pv, int Line)>();
        var seen = new HashSet<(int, int)>();
        TimeSpan? step = null;
        for (int n = 1; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int ln = n + 1;
            var f = line.Split(',');
            if (f.Length != 4) throw new InputException(file, ln, $"{f.Length} fields instead of 4", $"each row is {SeriesHeader}");
            if (!DateTimeOffset.TryParseExact(f[0].Trim(), ["yyyy-MM-ddTHH:mm:sszzz", "yyyy-MM-ddTHH:mmzzz", "yyyy-MM-ddTHH:mm:ssZ", "yyyy-MM-ddTHH:mmZ"],
                    CultureInfo.InvariantCulture, DateTimeStyles.None, out var ts))
                throw new InputException(file, ln, $"timestamp: '{f[0].Trim()}' is not an ISO-8601 time with offset", "write e.g. 2026-06-01T14:15:00+02:00");
            if (times.Count == 0 || ts != times[^1])
            {
                if (times.Count > 0)
                {
                    var gap = ts - times[^1];
                    if (gap <= TimeSpan.Zero)
                        throw new InputException(file, ln, $"timestamp: {f[0].Trim()} is not after {times[^1]:yyyy-MM-ddTHH:mm:sszzz}", "sort the rows by time; each interval's rows together");
                    if (step is null && gap != TimeSpan.FromMinutes(15) && gap != TimeSpan.FromMinutes(60))
                        throw new InputException(file, ln, $"timestamp: {f[0].Trim()} is {gap.TotalMinutes:0.##} min after the previous interval; the series steps 15 or 60 minutes",
                            "give 15-minute or hourly intervals");
                    step ??= gap;
                    if (gap != step)
                        throw new InputException(file, ln, $"timestamp: {f[0].Trim()} leaves a gap ({gap.TotalMinutes:0} min after the previous interval, the series steps {step.Value.TotalMinutes:0} min)",
                            "add the missing intervals or make the steps equal");
                }
                times.Add(ts);
            }
            if (!int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int bus) || !net.BusIndex.ContainsKey(bus))
                throw new InputException(file, ln, $"bus: '{f[1].Trim()}' is not a bus of {net.Name}", "use a bus number from the case's bus table");
            if (!seen.Add((times.Count - 1, bus)))
                throw new InputException(file, ln, $"bus {bus} appears twice at {f[0].Trim()}", "give one row per bus and interval");
            double Num(int k, string name)
            {
                if (!double.TryParse(f[k], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(Math.Abs(v) <= MaxMagnitude))
                    throw new InputException(file, ln, $"{name}: '{f[k].Trim()}' is not a finite number within ±{MaxMagnitude:G0}", $"write {name} in MW as a plain number");
                return v;
            }
            double load = Num(2, "load_mw"), pv = Num(3, "pv_mw");
            if (pv < 0) throw new InputException(file, ln, $"pv_mw: {pv} is negative", "PV output is ≥ 0 MW");
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
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines[0].Trim().Replace(" ", "").ToLowerInvariant() != BidsHeader)
            throw new InputException(file, 1, $"the header must be '{BidsHeader}'", "put the column names on the first line, in this order");
        var index = series.Times.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var bids = new List<(int, OpenTE.Market.Bids.Bid)>();
        for (int n = 1; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int ln = n + 1;
            var f = line.Split(',');
            if (f.Length != 6) throw new InputException(file, ln, $"{f.Length} fields instead of 6", $"each row is {BidsHeader}");
            if (!DateTimeOffset.TryParseExact(f[0].Trim(), ["yyyy-MM-ddTHH:mm:sszzz", "yyyy-MM-ddTHH:mmzzz"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var ts))
                throw new InputException(file, ln, $"timestamp: '{f[0].Trim()}' is not an ISO-8601 time with offset", "write e.g. 2026-06-01T14:15:00+02:00");
            if (!index.TryGetValue(ts, out int t)) throw new InputException(file, ln, $"timestamp: {f[0].Trim()} is not an interval of the series", "use the start time of one of the series' intervals");
            if (!int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int bus) || !net.BusIndex.ContainsKey(bus))
                throw new InputException(file, ln, $"bus: '{f[2].Trim()}' is not a bus of {net.Name}", "use a bus number from the case's bus table");
            string side = f[3].Trim().ToLowerInvariant();
            if (side is not ("buy" or "sell")) throw new InputException(file, ln, $"side: '{f[3].Trim()}' is not buy or sell", "write buy or sell");
            if (!double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out double price) || !(Math.Abs(price) <= MaxMagnitude))
                throw new InputException(file, ln, $"price: '{f[4].Trim()}' is not a finite number within ±{MaxMagnitude:G0}", "write the price in $/MWh");
            if (!double.TryParse(f[5], NumberStyles.Float, CultureInfo.InvariantCulture, out double q) || !(Math.Abs(q) <= MaxMagnitude) || q < 0)
                throw new InputException(file, ln, $"quantity: '{f[5].Trim()}' is not a number ≥ 0", "write the quantity in MW");
            bids.Add((t, new OpenTE.Market.Bids.Bid(f[1].Trim(), bus, side == "buy" ? OpenTE.Market.Bids.Side.Buy : OpenTE.Market.Bids.Side.Sell, price, q, 1, ln)));
        }
        return bids;
    }

    public static List<StorageUnit> ReadStorage(string path, Network net) => ParseStorage(InputFiles.ReadText(path), path, net);

    public static List<StorageUnit> ParseStorage(string text, string file, Network net)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        string header = lines[0].Trim().Replace(" ", "").ToLowerInvariant();
        bool terminal = header == StorageHeader + ",terminal_mwh";
        if (header != StorageHeader && !terminal)
            throw new InputException(file, 1, $"the header must be '{StorageHeader}[,terminal_mwh]'", "put the column names on the first line, in this order");
        var units = new List<StorageUnit>();
        var ids = new HashSet<string>();
        for (int n = 1; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int ln = n + 1;
            var f = line.Split(',');
            int want = terminal ? 10 : 9;
            if (f.Length != want) throw new InputException(file, ln, $"{f.Length} fields instead of {want}", $"each row is {lines[0].Trim()}");
            string id = f[0].Trim();
            if (id.Length == 0 || !ids.Add(id)) throw new InputException(file, ln, $"id: '{id}' is empty or used twice", "give every unit its own id");
            if (!int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int bus) || !net.BusIndex.ContainsKey(bus))
                throw new InputException(file, ln, $"bus: '{f[1].Trim()}' is not a bus of {net.Name}", "use a bus number from the case's bus table");
            string[] names = ["", "", "energy_mwh", "min_mwh", "charge_mw", "discharge_mw", "eta_charge", "eta_discharge", "initial_mwh", "terminal_mwh"];
            var v = new double[want];
            for (int k = 2; k < want; k++)
                if (!double.TryParse(f[k], NumberStyles.Float, CultureInfo.InvariantCulture, out v[k]) || !(Math.Abs(v[k]) <= MaxMagnitude))
                    throw new InputException(file, ln, $"{names[k]}: '{f[k].Trim()}' is not a finite number within ±{MaxMagnitude:G0}", $"write {names[k]} as a plain number");
            var unit = new StorageUnit(id, bus, v[3], v[2], v[4], v[5], v[6], v[7], v[8], terminal ? v[9] : null);
            if (unit.Check() is { } problem)
                throw new InputException(file, ln, $"{problem.Field}: {problem.Problem}", "state-of-charge limits must hold min ≤ initial, terminal ≤ energy and efficiencies lie in (0, 1]");
            units.Add(unit);
        }
        return units;
    }
}
