using OpenTE.Grid.Metering;
using OpenTE.Privacy.Metering;
using OpenTE.Privacy.Sampling;

namespace OpenTE.Privacy;

/// <summary>One point of the utility study: median relative error of a released feeder total.</summary>
public sealed record UtilityPoint(int Households, double Epsilon, double MedianRelativeError);

/// <summary>
/// How much accuracy privacy costs: for subsets of n households and several ε, the median relative error
/// |released − true| / true of the per-feeder daily sum (Laplace, user-level), over repeated releases.
/// Runs against a throw-away accountant: it studies the mechanism and releases nothing.
/// </summary>
public static class UtilityStudy
{
    public static IReadOnlyList<UtilityPoint> Run(MeterData data, double maxKwh, IReadOnlyList<double> epsilons, IReadOnlyList<int> householdCounts,
        int repetitions = 25, int seed = 1)
    {
        var rng = new SeededRandomSource(seed);
        var byHousehold = data.Readings.Where(r => r.Kind == MeterKind.Household).GroupBy(r => r.Meter).ToList();
        var points = new List<UtilityPoint>();
        foreach (int n in householdCounts.Where(n => n <= byHousehold.Count))
        {
            var subset = byHousehold.Take(n).SelectMany(g => g).ToList();
            var sub = new MeterData(data.Source, data.Interval, subset, [], []);
            double truth = subset.Sum(r => Math.Min(r.ImportKwh, maxKwh));
            foreach (double eps in epsilons)
            {
                var errors = new double[repetitions];
                for (int k = 0; k < repetitions; k++)
                {
                    var r = PrivateRelease.Run(sub, AggregateQuery.Sum, GroupBy.None, eps, 0, maxKwh, new PrivacyAccountant("study", double.MaxValue), rng);
                    errors[k] = Math.Abs(r.Values[0].Value - truth) / Math.Max(truth, 1e-9);
                }
                Array.Sort(errors);
                points.Add(new UtilityPoint(n, eps, errors[repetitions / 2]));
            }
        }
        return points;
    }
}
