using OpenTE.Grid.Metering;
using OpenTE.Grid.Model;

namespace OpenTE.Privacy.Metering;

/// <summary>
/// Synthetic meter data for a case (examples, tests, benchmarks): households spread over the load buses in
/// proportion to their load, a daily consumption shape with noise, rooftop PV on a share of homes, and a
/// feeder-head meter whose supply closes the balance with the power-flow losses (so the data reconcile).
/// </summary>
public static class SyntheticMeters
{
    public static List<MeterReading> Generate(Network net, int households, DateTimeOffset start, int intervals, int seed,
        TimeSpan? interval = null, string feeder = "F1", bool withFeederHead = true)
    {
        var step = interval ?? TimeSpan.FromMinutes(15);
        var rnd = new Random(seed);
        var loadBuses = net.Buses.Where(b => b.Pd > 0).ToList();
        if (loadBuses.Count == 0) loadBuses = [.. net.Buses];
        double totalPd = loadBuses.Sum(b => Math.Max(b.Pd, 1e-9));
        // household bus by load share
        var cumulative = new double[loadBuses.Count];
        double run = 0;
        for (int i = 0; i < loadBuses.Count; i++) { run += Math.Max(loadBuses[i].Pd, 1e-9) / totalPd; cumulative[i] = run; }
        var readings = new List<MeterReading>(households * intervals + intervals);
        double hours = step.TotalHours;
        for (int h = 0; h < households; h++)
        {
            int idx = Array.BinarySearch(cumulative, rnd.NextDouble());
            var bus = loadBuses[Math.Min(idx < 0 ? ~idx : idx, loadBuses.Count - 1)];
            double baseKw = 0.3 + rnd.NextDouble() * 0.9;
            double pvKw = rnd.NextDouble() < 0.3 ? 2 + rnd.NextDouble() * 4 : 0;
            for (int t = 0; t < intervals; t++)
            {
                var ts = start + step * t;
                double hourOfDay = (ts.Hour + ts.Minute / 60.0);
                double shape = 0.6 + 0.5 * Math.Exp(-Math.Pow(hourOfDay - 8, 2) / 4) + 0.9 * Math.Exp(-Math.Pow(hourOfDay - 19, 2) / 6);
                double load = baseKw * shape * (0.8 + 0.4 * rnd.NextDouble());
                double sun = Math.Max(0, Math.Sin(Math.PI * (hourOfDay - 6) / 14));
                double pv = pvKw * sun * (0.7 + 0.3 * rnd.NextDouble());
                double net_ = load - pv;
                readings.Add(new MeterReading($"H{h + 1:00000}", MeterKind.Household, feeder, bus.Id, ts,
                    Math.Round(Math.Max(net_, 0) * hours, 4), Math.Round(Math.Max(-net_, 0) * hours, 4), 0));
            }
        }
        if (withFeederHead)
        {
            var data = new MeterData("synthetic", step, readings, [], []);
            var losses = Aggregation.PowerFlowLosses(data, net);
            var refBus = net.Buses.First(b => b.Type == BusType.Ref).Id;
            foreach (var g in readings.GroupBy(r => r.Start).ToList())
            {
                double netDemand = g.Sum(r => r.ImportKwh - r.ExportKwh) + losses[(feeder, g.Key)];
                readings.Add(new MeterReading("HEAD", MeterKind.FeederHead, feeder, refBus, g.Key,
                    Math.Round(Math.Max(-netDemand, 0), 6), Math.Round(Math.Max(netDemand, 0), 6), 0));
            }
        }
        return readings;
    }
}
