using OpenTE.Grid.Metering;
using OpenTE.Privacy.Metering;
using OpenTE.Privacy.Sampling;

namespace OpenTE.Privacy;

public enum AggregateQuery { Sum, Count, Mean }

[Flags]
public enum GroupBy { None = 0, Feeder = 1, Interval = 2 }

/// <summary>
/// One released cell: the group, the noisy value (unbiased: true value + zero-mean noise, so it can be negative) and the
/// noise it carries. <see cref="NonNegative"/> is the value clamped at 0 — post-processing, free under DP — which is what
/// the CLI shows (a sum or count of non-negative readings is never negative; issue #17), biased upwards near 0.
/// </summary>
public sealed record ReleasedValue(string? Feeder, DateTimeOffset? Start, double Value, double NoiseStdDev)
{
    public double NonNegative => Math.Max(0, Value);
}

public sealed record ReleaseResult(AggregateQuery Query, GroupBy By, NoiseKind Noise, double Epsilon, double Delta, double MaxKwh,
    int Intervals, IReadOnlyList<ReleasedValue> Values, string Description)
{
    /// <summary>
    /// Median over the released cells of noise std / |released value| — read from the release only (post-processing, no
    /// privacy cost). Above 1 the noise is larger than the values it hides: the table carries little information.
    /// </summary>
    public double MedianNoiseToValue
    {
        get
        {
            var ratios = Values.Select(v => v.NoiseStdDev / Math.Max(Math.Abs(v.Value), 1e-9)).Order().ToList();
            return ratios.Count == 0 ? 0 : ratios[ratios.Count / 2];
        }
    }

    /// <summary>A one-sentence warning when <see cref="MedianNoiseToValue"/> exceeds 1, with what to change; null otherwise.</summary>
    public string? Warning => MedianNoiseToValue <= 1 ? null
        : $"the noise (std {Values[0].NoiseStdDev:G3}) is {MedianNoiseToValue:0.#}× the typical released value: each household's whole record " +
          $"({Intervals} interval(s) × {MaxKwh:G4} kWh) is protected in every cell, so these numbers carry little information — " +
          $"group coarser (--by feeder or all), raise ε, or lower --max-kwh";
}

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
            // the mean's std is stated with the noisy count — the exact count would leak
            var (value, std) = query switch
            {
                AggregateQuery.Sum => (noisySum * Mechanisms.Resolution, Std(sumScale) * Mechanisms.Resolution),
                AggregateQuery.Count => (noisyCount, Std(countScale)),
                _ => (Math.Min(noisySum * Mechanisms.Resolution / Math.Max(noisyCount, 1), maxKwh), Std(sumScale) * Mechanisms.Resolution / Math.Max(noisyCount, 1)),
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
