using OpenTE.Grid.Metering;
using OpenTE.Privacy.Metering;
using OpenTE.Privacy.Sampling;

namespace OpenTE.Privacy;

public enum AggregateQuery { Sum, Count, Mean }

[Flags]
public enum GroupBy { None = 0, Feeder = 1, Interval = 2 }

/// <summary>One released cell: the group, the noisy value and the noise it carries.</summary>
public sealed record ReleasedValue(string? Feeder, DateTimeOffset? Start, double Value, double NoiseStdDev);

public sealed record ReleaseResult(AggregateQuery Query, GroupBy By, NoiseKind Noise, double Epsilon, double Delta, double MaxKwh,
    int Intervals, IReadOnlyList<ReleasedValue> Values, string Description);

/// <summary>
/// Differentially private aggregates of household consumption (import kWh), protecting each household's
/// whole record in the release (user-level DP). Each reading is clamped to [0, max] and snapped to 1 Wh; a
/// household appears in at most one feeder and in each of the I intervals once, so the table's L1 sensitivity
/// is I·max for sums (I for counts) and its L2 sensitivity √I·max (√I); feeders are disjoint, so groups of
/// different feeders compose in parallel. Mean = noisy sum / noisy count with the budget split in half.
/// </summary>
public static class PrivateRelease
{
    public static ReleaseResult Run(MeterData data, AggregateQuery query, GroupBy by, double epsilon, double delta, double maxKwh,
        PrivacyAccountant accountant, IRandomSource? rng = null)
    {
        if (!(maxKwh > 0) || double.IsInfinity(maxKwh)) throw new ArgumentOutOfRangeException(nameof(maxKwh), "--max-kwh must be a positive number");
        var noise = delta > 0 ? NoiseKind.Gaussian : NoiseKind.Laplace;
        var r = rng ?? new CryptoRandomSource();
        var households = data.Readings.Where(x => x.Kind == MeterKind.Household).ToList();
        int intervals = Math.Max(1, households.Select(x => x.Start).Distinct().Count());
        long maxUnits = Math.Max(1, Mechanisms.MaxUnits(maxKwh));
        string description = $"{query.ToString().ToLowerInvariant()} of household import by {Describe(by)}, ε = {epsilon:G4}" +
                             (noise == NoiseKind.Gaussian ? $", δ = {delta:G3}" : "") + $", max {maxKwh:G4} kWh per reading, {intervals} interval(s)";
        if (!accountant.TrySpend(description, epsilon, delta, noise.ToString().ToLowerInvariant(), out string reason))
            throw new PrivacyBudgetExceededException(reason);

        // exact integer aggregates per group
        var sums = new Dictionary<(string?, DateTimeOffset?), (long Units, long Count)>();
        foreach (var x in households)
        {
            var key = ((by & GroupBy.Feeder) != 0 ? x.Feeder : null, (by & GroupBy.Interval) != 0 ? x.Start : (DateTimeOffset?)null);
            var (u, c) = sums.GetValueOrDefault(key);
            sums[key] = (u + Mechanisms.ToUnits(x.ImportKwh, maxKwh), c + 1);
        }
        double share = query == AggregateQuery.Mean ? 0.5 : 1.0;
        double e = epsilon * share, d = delta * share;
        // sensitivities of the whole table for one household
        double sumL1 = (double)intervals * maxUnits, countL1 = intervals;
        double sumL2 = Math.Sqrt(intervals) * maxUnits, countL2 = Math.Sqrt(intervals);
        double sumScale = noise == NoiseKind.Laplace ? Mechanisms.LaplaceScale(sumL1, e) : Mechanisms.GaussianSigma(sumL2, e, d);
        double countScale = noise == NoiseKind.Laplace ? Mechanisms.LaplaceScale(countL1, e) : Mechanisms.GaussianSigma(countL2, e, d);
        double Noise(double scale) => (double)(noise == NoiseKind.Laplace ? Mechanisms.LaplaceNoise(r, scale) : Mechanisms.GaussianNoise(r, scale));
        double Std(double scale) => noise == NoiseKind.Laplace ? Math.Sqrt(2) * scale : scale;

        var values = new List<ReleasedValue>(sums.Count);
        foreach (var (key, (units, count)) in sums.OrderBy(kv => kv.Key.Item1, StringComparer.Ordinal).ThenBy(kv => kv.Key.Item2))
        {
            double noisySum = units + (query != AggregateQuery.Count ? Noise(sumScale) : 0);
            double noisyCount = count + (query != AggregateQuery.Sum ? Noise(countScale) : 0);
            var (value, std) = query switch
            {
                AggregateQuery.Sum => (noisySum * Mechanisms.Resolution, Std(sumScale) * Mechanisms.Resolution),
                AggregateQuery.Count => (noisyCount, Std(countScale)),
                _ => (noisySum * Mechanisms.Resolution / Math.Max(noisyCount, 1), Std(sumScale) * Mechanisms.Resolution / Math.Max(count, 1)),
            };
            values.Add(new ReleasedValue(key.Item1, key.Item2, value, std));
        }
        return new ReleaseResult(query, by, noise, epsilon, delta, maxKwh, intervals, values, description);
    }

    private static string Describe(GroupBy by) => by switch
    {
        GroupBy.None => "all",
        GroupBy.Feeder => "feeder",
        GroupBy.Interval => "interval",
        _ => "feeder and interval",
    };
}

/// <summary>A query refused because it would exceed the dataset's privacy budget.</summary>
public sealed class PrivacyBudgetExceededException(string message) : InvalidOperationException(message);
