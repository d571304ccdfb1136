using OpenTE.Grid.Metering;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Grid.Input;

namespace OpenTE.Privacy.Metering;

/// <summary>Totals of one feeder in one interval (kWh).</summary>
public sealed record FeederInterval(string Feeder, DateTimeOffset Start, double Injections, double Withdrawals,
    double HouseholdImport, double HouseholdExport, int Households, int Meters);

/// <summary>One line of the reconciliation report: injections − withdrawals − losses = imbalance.</summary>
public sealed record ReconciliationLine(string Feeder, DateTimeOffset Start, double Injections, double Withdrawals, double Losses,
    double Imbalance, bool Balanced, bool Complete, string? Note);

public abstract record LossModel
{
    /// <summary>Losses = fraction × withdrawals (a stated loss model).</summary>
    public sealed record Fraction(double Value) : LossModel;
    /// <summary>Losses from an AC power flow of the case with the metered bus loads, per interval.</summary>
    public sealed record PowerFlow(Network Network) : LossModel;
    /// <summary>
    /// Without a case: losses = k_f·N² per feeder, N the net household demand (import − export: what the lines carry; series
    /// losses scale with its square), k_f the median over the feeder's complete intervals of (injections − withdrawals)/N² — a robust fit that a few tampered or faulty
    /// intervals do not move, so those stand out (<see cref="Aggregation.EstimateLossCoefficients"/>).
    /// </summary>
    public sealed record Estimated : LossModel;
}

public static class Aggregation
{
    /// <summary>Σ per feeder and interval, one pass over the readings (O(n)).</summary>
    public static IReadOnlyList<FeederInterval> ByFeederAndInterval(MeterData data)
    {
        var acc = new Dictionary<(string, DateTimeOffset), double[]>();
        foreach (var r in data.Readings)
        {
            if (!acc.TryGetValue((r.Feeder, r.Start), out var a)) acc[(r.Feeder, r.Start)] = a = new double[6];
            a[0] += r.ExportKwh;
            a[1] += r.ImportKwh;
            if (r.Kind == MeterKind.Household)
            {
                a[2] += r.ImportKwh;
                a[3] += r.ExportKwh;
                a[4]++;
            }
            a[5]++;
        }
        return acc.Select(kv => new FeederInterval(kv.Key.Item1, kv.Key.Item2, kv.Value[0], kv.Value[1], kv.Value[2], kv.Value[3], (int)kv.Value[4], (int)kv.Value[5]))
            .OrderBy(f => f.Feeder, StringComparer.Ordinal).ThenBy(f => f.Start).ToList();
    }

    /// <summary>
    /// Double-entry check per feeder and interval: Σ injections = Σ withdrawals + losses within
    /// <paramref name="toleranceKwh"/> + <paramref name="toleranceRelative"/>·withdrawals. Intervals where a meter
    /// of the feeder has no accepted reading are marked incomplete (their imbalance is expected).
    /// </summary>
    public static IReadOnlyList<ReconciliationLine> Reconcile(MeterData data, LossModel losses, double toleranceKwh = 0.01, double toleranceRelative = 1e-3)
    {
        var totals = ByFeederAndInterval(data);
        var metersOfFeeder = data.Readings.GroupBy(r => r.Feeder).ToDictionary(g => g.Key, g => g.Select(r => r.Meter).Distinct().Count());
        var lossOf = losses switch
        {
            LossModel.Fraction f => totals.ToDictionary(t => (t.Feeder, t.Start), t => f.Value * t.HouseholdImport),
            LossModel.PowerFlow pf => PowerFlowLosses(data, pf.Network),
            LossModel.Estimated => EstimatedLosses(totals),
            _ => throw new ArgumentOutOfRangeException(nameof(losses)),
        };
        var lines = new List<ReconciliationLine>(totals.Count);
        foreach (var t in totals)
        {
            double loss = lossOf.TryGetValue((t.Feeder, t.Start), out var l) ? l : double.NaN;
            double imbalance = t.Injections - t.Withdrawals - loss;
            bool complete = t.Meters == metersOfFeeder[t.Feeder];
            bool balanced = Math.Abs(imbalance) <= toleranceKwh + toleranceRelative * t.Withdrawals;
            string? note = !complete ? $"{metersOfFeeder[t.Feeder] - t.Meters} meter(s) without an accepted reading" : double.IsNaN(loss) ? "no loss estimate" : null;
            lines.Add(new ReconciliationLine(t.Feeder, t.Start, t.Injections, t.Withdrawals, loss, imbalance, balanced, complete, note));
        }
        return lines;
    }

    /// <summary>k_f per feeder of <see cref="LossModel.Estimated"/> (kWh of loss per kWh² of net household demand in one interval).</summary>
    public static IReadOnlyDictionary<string, double> EstimateLossCoefficients(MeterData data) => Coefficients(ByFeederAndInterval(data), data);

    private static Dictionary<string, double> Coefficients(IReadOnlyList<FeederInterval> totals, MeterData? data = null)
    {
        var meters = data?.Readings.GroupBy(r => r.Feeder).ToDictionary(g => g.Key, g => g.Select(r => r.Meter).Distinct().Count());
        return totals.GroupBy(t => t.Feeder).ToDictionary(g => g.Key, g =>
        {
            int most = g.Max(t => t.Meters);
            var k = g.Where(t => Net(t) != 0 && t.Meters == most).Select(t => Math.Max(0, t.Injections - t.Withdrawals) / (Net(t) * Net(t))).Order().ToList();
            return k.Count == 0 ? 0 : k.Count % 2 == 1 ? k[k.Count / 2] : 0.5 * (k[k.Count / 2 - 1] + k[k.Count / 2]);
        });
    }

    private static Dictionary<(string, DateTimeOffset), double> EstimatedLosses(IReadOnlyList<FeederInterval> totals)
    {
        var k = Coefficients(totals);
        return totals.ToDictionary(t => (t.Feeder, t.Start), t => k[t.Feeder] * Net(t) * Net(t));
    }

    /// <summary>The feeder's net household demand in the interval (import − export): what flows through its lines.</summary>
    private static double Net(FeederInterval t) => t.HouseholdImport - t.HouseholdExport;

    /// <summary>
    /// Losses per interval from the AC power flow: bus loads = metered net withdrawals of the meters at each bus
    /// (kWh per interval → MW), reactive load at the case's Q/P ratio of the bus; the reference bus supplies the
    /// rest. The whole case is one feeder (the feeder of the meters); losses = Σ (Pf + Pt) · hours.
    /// </summary>
    internal static Dictionary<(string, DateTimeOffset), double> PowerFlowLosses(MeterData data, Network net)
    {
        double hours = data.Interval.TotalHours;
        var result = new Dictionary<(string, DateTimeOffset), double>();
        foreach (var group in data.Readings.Where(r => r.Kind != MeterKind.FeederHead).GroupBy(r => (r.Feeder, r.Start)))
        {
            var pd = new double[net.BusCount];
            foreach (var r in group)
            {
                if (r.Bus is not int bus || !net.BusIndex.TryGetValue(bus, out int i))
                    throw new OpenTE.Grid.Input.InputException(data.Source, r.Line, $"meter {r.Meter} has no bus of case {net.Name}", "give every household and generator meter a bus number of the case");
                pd[i] += (r.ImportKwh - r.ExportKwh) / 1000 / hours;
            }
            var buses = net.Buses.Select((b, i) => b with
            {
                Pd = pd[i],
                Qd = b.Pd != 0 ? pd[i] * b.Qd / b.Pd : 0,
            });
            var pf = AcPowerFlow.Solve(net.With(buses: buses));
            result[group.Key] = pf.Converged ? pf.LossesMw * hours * 1000 : double.NaN;
        }
        return result;
    }
}
