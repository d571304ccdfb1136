using System.Globalization;
using System.Text.Json;
using OpenTE.Grid;
using OpenTE.Grid.Model;
using OpenTE.Market.MultiPeriod;
using OpenTE.Grid.Input;

namespace OpenTE.Agents;

public sealed record MicrogridSpec(int PccBranch, string GridFormingId, int GridFormingBus, double GridFormingMw, double GridFormingPrice, double ReserveMw);

public sealed record ScenarioEvent(DateTimeOffset At, string Type);

/// <summary>
/// A day (or any horizon) of a prosumer community on a case: interval length, wholesale price at the substation,
/// the base load shape, the prosumers, an optional microgrid (point of common coupling, grid-forming unit and its
/// reserve) and events (<c>pcc-open</c>, <c>pcc-close</c>). See docs/simulate.md for the JSON.
/// </summary>
public sealed record Scenario(
    string Case, DateTimeOffset Start, int IntervalMinutes, int Intervals,
    double[] GridPriceHourly, double[] LoadShapeHourly, double ValueOfLostLoad,
    IReadOnlyList<Prosumer> Prosumers, MicrogridSpec? Microgrid, IReadOnlyList<ScenarioEvent> Events)
{
    public double StepHours => IntervalMinutes / 60.0;
    public DateTimeOffset Time(int t) => Start.AddMinutes(t * IntervalMinutes);
    public int HourOf(int t) => (int)Math.Floor(Time(t).TimeOfDay.TotalHours) % 24;
    public double GridPrice(int t) => GridPriceHourly[HourOf(t)];
}

/// <summary>Reads scenario JSON; every error names the file and the JSON path of the field, and how to fix it.</summary>
public static class ScenarioFile
{
    public static (Scenario Scenario, Network Network) Read(string path, Func<string, Network> loadCase)
    {
        string text = InputFiles.ReadText(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InputException(path, (int)(e.LineNumber ?? 0) + 1, "not valid JSON: " + e.Message.Split('.')[0], "fix the JSON syntax"); }
        using (doc) return Parse(doc.RootElement, path, loadCase);
    }

    /// <summary>The largest magnitude of a number in a scenario (MW, MWh, $/MWh): far beyond a community, far below overflow.</summary>
    public const double MaxMagnitude = 1e9;

    public static (Scenario Scenario, Network Network) Parse(JsonElement root, string file, Func<string, Network> loadCase)
    {
        InputException Err(string where, string what, string hint) => new(file, 0, $"{where}: {what}", hint);
        JsonElement Req(JsonElement e, string name, string where) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : throw Err(where + "." + name, "missing", $"add \"{name}\"");
        double Num(JsonElement e, string name, string where, double? fallback = null)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v))
                return fallback ?? throw Err($"{where}.{name}", "missing", $"add \"{name}\" (a number)");
            if (v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble())) throw Err($"{where}.{name}", $"'{v}' is not a finite number", "write a plain number");
            double x = v.GetDouble();
            if (Math.Abs(x) > MaxMagnitude) throw Err($"{where}.{name}", $"{x:G6} is outside [-{MaxMagnitude:G0}, {MaxMagnitude:G0}]", "use MW, MWh and $/MWh of a real community");
            return x;
        }
        int Int(JsonElement e, string name, string where, double? fallback = null)
        {
            double x = Num(e, name, where, fallback);
            if (x != Math.Floor(x) || Math.Abs(x) > int.MaxValue) throw Err($"{where}.{name}", $"{x:G} is not a whole number", "write an integer");
            return (int)x;
        }
        string Str(JsonElement e, string name, string where) =>
            Req(e, name, where) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw Err($"{where}.{name}", "must be a string", $"write \"{name}\": \"…\"");

        string caseName = Str(root, "case", "$");
        Network net;
        try { net = loadCase(caseName); }
        catch (InputException e) when (e.File == caseName && e.Line == 0) { throw Err("$.case", $"'{caseName}': {e.Message[(caseName.Length + 2)..]}", e.Hint); }
        catch (InputException) { throw; }
        catch (Exception e) { throw Err("$.case", $"'{caseName}' could not be loaded ({e.Message})", "name a case file or a case in ../shared/cases"); }
        if (!DateTimeOffset.TryParseExact(Str(root, "start", "$"), ["yyyy-MM-ddTHH:mm:sszzz", "yyyy-MM-ddTHH:mmzzz"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
            throw Err("$.start", "not an ISO-8601 time with offset", "write e.g. \"2026-06-01T00:00:00+02:00\"");
        int minutes = Int(root, "intervalMinutes", "$");
        if (minutes <= 0 || 1440 % minutes != 0) throw Err("$.intervalMinutes", $"{minutes} does not divide a day", "use 15, 30 or 60");
        int intervals = Int(root, "intervals", "$", 1440 / minutes);
        if (intervals <= 0 || intervals > 100_000) throw Err("$.intervals", $"{intervals} is not a sensible count", "give the number of intervals (96 for a day at 15 min)");
        double[] Hourly(string name, double[]? fallback)
        {
            if (!root.TryGetProperty(name, out var a)) return fallback ?? throw Err("$." + name, "missing", "give 24 hourly values");
            if (a.ValueKind != JsonValueKind.Array || a.GetArrayLength() != 24) throw Err("$." + name, "must be an array of 24 hourly values", "one value per hour, from 00:00");
            return [.. a.EnumerateArray().Select((v, i) => v.ValueKind == JsonValueKind.Number && double.IsFinite(v.GetDouble()) && Math.Abs(v.GetDouble()) <= MaxMagnitude ? v.GetDouble()
                : throw Err($"$.{name}[{i}]", $"'{v}' is not a finite number within ±{MaxMagnitude:G0}", "write a plain number"))];
        }
        var gridPrice = Hourly("gridPrice", null);
        var shape = Hourly("loadShape", Enumerable.Repeat(1.0, 24).ToArray());
        if (shape.Any(v => v < 0)) throw Err("$.loadShape", "has a negative value", "scale factors are ≥ 0");
        double voll = Num(root, "valueOfLostLoad", "$", 10_000);
        if (!(voll > 0)) throw Err("$.valueOfLostLoad", $"{voll} is not positive", "give the value of lost load in $/MWh (> 0; e.g. 10000): a value ≤ 0 would shed all load, critical included");
        var scenarioShell = new Scenario(caseName, start, minutes, intervals, gridPrice, shape, voll, [], null, []);
        int T = intervals;
        int Interval(JsonElement e, string name, string where)
        {
            string s = Str(e, name, where);
            if (!TimeSpan.TryParseExact(s, "hh\\:mm", CultureInfo.InvariantCulture, out var ts)) throw Err($"{where}.{name}", $"'{s}' is not a time of day", "write HH:mm, e.g. \"18:30\"");
            // the interval of the first time the clock shows this time of day, counted from the start
            double after = (ts.TotalMinutes - start.TimeOfDay.TotalMinutes + 1440) % 1440;
            return (int)Math.Round(after / minutes) % (1440 / minutes);
        }
        int Bus(JsonElement e, string where)
        {
            int bus = Int(e, "bus", where);
            if (!net.BusIndex.TryGetValue(bus, out int bi) || net.Buses[bi].Type == BusType.Isolated)
                throw Err(where + ".bus", $"{bus} is not an energised bus of {net.Name}", "use a bus number from the case's bus table");
            return bus;
        }
        var irr = Enumerable.Range(0, T).Select(t =>
        {
            double h = scenarioShell.Time(t).TimeOfDay.TotalHours + minutes / 120.0;
            return h is > 6 and < 20 ? Math.Sin(Math.PI * (h - 6) / 14) : 0;
        }).ToArray();

        var prosumers = new List<Prosumer>();
        // base load: the case's Pd × the hourly shape, one inelastic bidder per load bus
        foreach (var b in net.Buses.Where(b => b.Pd > 0 && b.Type != BusType.Isolated))
            prosumers.Add(new BaseLoadAgent($"load{b.Id}", b.Id, [.. Enumerable.Range(0, T).Select(t => b.Pd * shape[scenarioShell.HourOf(t)])], voll / 10));
        var ids = new HashSet<string>(prosumers.Select(p => p.Id));
        void Add(Prosumer p, string where)
        {
            if (!ids.Add(p.Id)) throw Err(where + ".id", $"'{p.Id}' is used twice", "give every prosumer its own id");
            prosumers.Add(p);
        }
        if (root.TryGetProperty("prosumers", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array) throw Err("$.prosumers", "must be an array", "list the prosumers");
            int k = 0;
            foreach (var e in list.EnumerateArray())
            {
                string where = $"$.prosumers[{k++}]";
                Add(Prosumer(e, where), where);
            }
        }
        if (root.TryGetProperty("generate", out var gen))
        {
            int count = Int(gen, "count", "$.generate");
            if (count < 0 || count > 1_000_000) throw Err("$.generate.count", $"{count} is out of range", "0 to 1,000,000 prosumers");
            int seed = Int(gen, "seed", "$.generate", 1);
            foreach (var p in Generate(net, count, seed, minutes, T, irr)) Add(p, "$.generate");
        }

        Prosumer Prosumer(JsonElement e, string where)
        {
            string id = Str(e, "id", where), kind = Str(e, "kind", where);
            int bus = Bus(e, where);
            double Pos(string name, double? fallback = null)
            {
                double v = Num(e, name, where, fallback);
                if (!(v >= 0)) throw Err($"{where}.{name}", $"{v} is negative", "give a value ≥ 0");
                return v;
            }
            switch (kind)
            {
                case "pv": return new PvAgent(id, bus, Pos("peakMw"), irr);
                case "battery":
                    var unit = new StorageUnit(id, bus, Pos("minMwh", 0), Pos("energyMwh"), Pos("powerMw"), Pos("powerMw"),
                        Num(e, "etaCharge", where, 0.95), Num(e, "etaDischarge", where, 0.95), Pos("initialMwh"));
                    if (unit.Check() is { } problem) throw Err($"{where}.{problem.Field switch { "eta_charge" => "etaCharge", "eta_discharge" => "etaDischarge", "initial_mwh" => "initialMwh", "energy_mwh" => "energyMwh", "min_mwh" => "minMwh", _ => "powerMw" }}",
                        problem.Problem, "state-of-charge limits need min ≤ initial ≤ energy; efficiencies lie in (0, 1]");
                    return new BatteryAgent(id, unit);
                case "ev": return new EvAgent(id, bus, Pos("energyMwh"), Pos("powerMw"), Interval(e, "arrival", where), Interval(e, "departure", where), Num(e, "price", where, 150));
                case "flexible": return new FlexibleLoadAgent(id, bus, Pos("energyMwh"), Pos("powerMw"), Interval(e, "from", where), Interval(e, "to", where), Num(e, "price", where));
                case "critical": return new CriticalLoadAgent(id, bus, Pos("demandMw"));
                case "learning-seller": return new Learning.LearningSellerAgent(id, bus, Pos("capacityMw"), Pos("cost"), Int(e, "seed", where, 1));
                default: throw Err(where + ".kind", $"'{kind}' is not a prosumer kind", "use pv, battery, ev, flexible, critical or learning-seller");
            }
        }

        MicrogridSpec? micro = null;
        if (root.TryGetProperty("microgrid", out var mg))
        {
            int pcc = Int(mg, "pccBranch", "$.microgrid");
            if (pcc < 1 || pcc > net.Branches.Length) throw Err("$.microgrid.pccBranch", $"{pcc} is not a branch of {net.Name}", $"give the 1-based branch index (1 to {net.Branches.Length})");
            var gf = Req(mg, "gridForming", "$.microgrid");
            double reserve = Num(mg, "reserveMw", "$.microgrid", 0);
            double cap = Num(gf, "capacityMw", "$.microgrid.gridForming");
            if (!(reserve >= 0) || !(cap > 0)) throw Err("$.microgrid", "capacity must be positive and the reserve ≥ 0", "give MW values");
            micro = new MicrogridSpec(pcc, gf.TryGetProperty("id", out var gid) ? gid.GetString() ?? "grid-forming" : "grid-forming", Bus(gf, "$.microgrid.gridForming"),
                cap, Num(gf, "price", "$.microgrid.gridForming"), reserve);
        }
        var events = new List<ScenarioEvent>();
        if (root.TryGetProperty("events", out var ev))
        {
            int k = 0;
            foreach (var e in ev.EnumerateArray())
            {
                string where = $"$.events[{k++}]";
                if (!DateTimeOffset.TryParseExact(Str(e, "at", where), ["yyyy-MM-ddTHH:mm:sszzz", "yyyy-MM-ddTHH:mmzzz"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
                    throw Err(where + ".at", "not an ISO-8601 time with offset", "write e.g. \"2026-06-01T14:00:00+02:00\"");
                string type = Str(e, "type", where);
                if (type is not ("pcc-open" or "pcc-close")) throw Err(where + ".type", $"'{type}' is not an event", "use pcc-open or pcc-close");
                if (micro is null) throw Err(where, "a pcc event needs a \"microgrid\"", "describe the microgrid (pccBranch, gridForming, reserveMw)");
                if (events.Count > 0 && at <= events[^1].At) throw Err(where + ".at", "events are not in time order", "sort the events by time");
                if (at < start || at >= scenarioShell.Time(T)) throw Err(where + ".at", "is outside the scenario's horizon", $"give a time from {start:yyyy-MM-ddTHH:mmzzz} on");
                events.Add(new ScenarioEvent(at, type));
            }
        }
        return (scenarioShell with { Prosumers = prosumers, Microgrid = micro, Events = events }, net);
    }

    /// <summary>A random community: PV, batteries, EVs, flexible and critical loads at the case's load buses (sizes in MW of a household or small business).</summary>
    public static List<Prosumer> Generate(Network net, int count, int seed, int minutes, int intervals, IReadOnlyList<double> irradiance)
    {
        var rnd = new Random(seed);
        var buses = net.Buses.Where(b => b.Pd > 0 && b.Type != BusType.Isolated).Select(b => b.Id).ToArray();
        if (buses.Length == 0) buses = net.Buses.Where(b => b.Type != BusType.Isolated).Select(b => b.Id).ToArray();
        int perHour = 60 / Math.Max(1, Math.Min(60, minutes)), perDay = 1440 / minutes;
        var list = new List<Prosumer>(count);
        for (int i = 0; i < count; i++)
        {
            int bus = buses[rnd.Next(buses.Length)];
            double u = rnd.NextDouble();
            string id = $"g{i + 1}";
            if (u < 0.35) list.Add(new PvAgent(id + "-pv", bus, 0.003 + 0.007 * rnd.NextDouble(), irradiance));
            else if (u < 0.55)
            {
                double e = 0.005 + 0.010 * rnd.NextDouble();
                list.Add(new BatteryAgent(id + "-bat", new StorageUnit(id + "-bat", bus, 0.1 * e, e, e / 2, e / 2, 0.95, 0.95, 0.5 * e)));
            }
            else if (u < 0.72) list.Add(new EvAgent(id + "-ev", bus, 0.01 + 0.02 * rnd.NextDouble(), 0.0074, (17 + rnd.Next(4)) * perHour % perDay, (6 + rnd.Next(3)) * perHour % perDay, 100 + 100 * rnd.NextDouble()));
            else if (u < 0.9) list.Add(new FlexibleLoadAgent(id + "-flex", bus, 0.004 + 0.006 * rnd.NextDouble(), 0.003, 9 * perHour % perDay, 17 * perHour % perDay, 40 + 120 * rnd.NextDouble()));
            else list.Add(new CriticalLoadAgent(id + "-crit", bus, 0.001 + 0.003 * rnd.NextDouble()));
        }
        return list;
    }
}
