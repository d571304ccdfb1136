using OpenTE.Grid.Metering;
using OpenTE.Privacy.Metering;
using OpenTE.Privacy.Sampling;

namespace OpenTE.Privacy.Tests;

public class DifferentialPrivacyTests
{
    private static MeterData Homes(params double[] kwh)
    {
        var start = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var rows = kwh.Select((v, i) => new MeterReading($"H{i}", MeterKind.Household, "F1", 1, start, v, 0, i + 2));
        return MeterData.ParseCsv(MeterData.ToCsv(rows), "homes.csv");
    }

    [Fact]
    public void Released_sums_follow_laplace_of_sensitivity_over_epsilon()
    {
        // KS test of (released − true) against Laplace(Δ/ε) in kWh, at a fixed seed
        var data = Homes(1, 2, 3, 4);
        double eps = 0.5, max = 5;
        var rng = new SeededRandomSource(42);
        var acc = new PrivacyAccountant("ks", 1e9);
        var diffs = Enumerable.Range(0, 1500)
            .Select(_ => PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, eps, 0, max, acc, rng).Values[0].Value - 10)
            .Select(v => (long)Math.Round(v / Mechanisms.Resolution)).ToArray();
        double b = max / Mechanisms.Resolution / eps; // in Wh
        double d = SamplerTests.KsStatistic(diffs, z => z + 0.5 < 0 ? 0.5 * Math.Exp((z + 0.5) / b) : 1 - 0.5 * Math.Exp(-(z + 0.5) / b));
        Assert.True(d < 1.63 / Math.Sqrt(diffs.Length), $"KS D = {d}");
    }

    [Fact]
    public void Empirical_audit_on_neighbouring_datasets_stays_within_e_to_the_epsilon()
    {
        // D has one more household (at the clamp) than D′; the output histograms' ratio must stay ≤ e^ε
        double eps = 1.0;
        long maxUnits = 20, trueD = 120, trueD2 = 100;
        double scale = Mechanisms.LaplaceScale(maxUnits, eps);
        var rng = new SeededRandomSource(7);
        int n = 60000;
        var hD = new Dictionary<long, int>();
        var hD2 = new Dictionary<long, int>();
        long Bin(long v) => (long)Math.Floor(v / 10.0);
        for (int k = 0; k < n; k++)
        {
            long a = trueD + (long)Mechanisms.LaplaceNoise(rng, scale), b = trueD2 + (long)Mechanisms.LaplaceNoise(rng, scale);
            hD[Bin(a)] = hD.GetValueOrDefault(Bin(a)) + 1;
            hD2[Bin(b)] = hD2.GetValueOrDefault(Bin(b)) + 1;
        }
        int checkedBins = 0;
        foreach (var (bin, ca) in hD)
        {
            int cb = hD2.GetValueOrDefault(bin);
            if (ca < 500 || cb < 500) continue;
            double ratio = (double)ca / cb;
            double slack = 4 * Math.Sqrt(1.0 / ca + 1.0 / cb); // sampling error of the log-ratio
            Assert.True(Math.Log(ratio) <= eps + slack && Math.Log(ratio) >= -eps - slack, $"bin {bin}: ratio {ratio:0.000} vs e^ε = {Math.Exp(eps):0.000}");
            checkedBins++;
        }
        Assert.True(checkedBins >= 5);
        // and the audit is not vacuous: far from the centre the ratio approaches e^ε
        Assert.Contains(hD, kv => hD2.GetValueOrDefault(kv.Key) >= 500 && kv.Value >= 500 && Math.Log((double)kv.Value / hD2[kv.Key]) > 0.8 * eps);
    }

    [Fact]
    public void Each_household_is_clamped_to_max()
    {
        var data = Homes(50, 1, 1); // 50 kWh is believable but above the 5 kWh clamp
        var acc = new PrivacyAccountant("clamp", 1e12);
        var r = PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, 1e9, 0, 5, acc, new SeededRandomSource(1));
        Assert.Equal(7, r.Values[0].Value, 2); // 5 + 1 + 1, noise negligible at ε = 1e9
        Assert.Equal(5000, Mechanisms.ToUnits(1e9, 5));
        Assert.Equal(0, Mechanisms.ToUnits(-3, 5));
    }

    [Fact]
    public void Sensitivity_does_not_grow_with_the_number_of_households()
    {
        var small = PrivateRelease.Run(Homes(1, 2), AggregateQuery.Sum, GroupBy.Feeder, 1, 0, 5, new PrivacyAccountant("a", 10), new SeededRandomSource(1));
        var large = PrivateRelease.Run(Homes(Enumerable.Repeat(1.0, 500).ToArray()), AggregateQuery.Sum, GroupBy.Feeder, 1, 0, 5, new PrivacyAccountant("b", 10), new SeededRandomSource(1));
        Assert.Equal(small.Values[0].NoiseStdDev, large.Values[0].NoiseStdDev, 9);
    }

    [Fact]
    public void Gaussian_mechanism_and_mean_queries()
    {
        var data = Homes(Enumerable.Range(0, 400).Select(i => 1.0 + i % 3).ToArray());
        var acc = new PrivacyAccountant("g", 10, 1e-5);
        var g = PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, 1, 1e-6, 5, acc, new SeededRandomSource(2));
        Assert.Equal(NoiseKind.Gaussian, g.Noise);
        double truth = Enumerable.Range(0, 400).Sum(i => 1.0 + i % 3);
        Assert.InRange(g.Values[0].Value, truth - 6 * g.Values[0].NoiseStdDev, truth + 6 * g.Values[0].NoiseStdDev);
        var m = PrivateRelease.Run(data, AggregateQuery.Mean, GroupBy.Feeder, 2, 0, 5, acc, new SeededRandomSource(3));
        Assert.InRange(m.Values[0].Value, 1.7, 2.3); // true mean ≈ 2.0
        var c = PrivateRelease.Run(data, AggregateQuery.Count, GroupBy.Feeder, 2, 0, 5, acc, new SeededRandomSource(4));
        Assert.InRange(c.Values[0].Value, 390, 410);
    }

    [Fact]
    public void Budget_is_refused_when_exceeded_and_every_release_is_logged()
    {
        var data = Homes(1, 2, 3);
        var acc = new PrivacyAccountant("day-1", 1.0);
        PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, 0.6, 0, 5, acc, new SeededRandomSource(1));
        var ex = Assert.Throws<PrivacyBudgetExceededException>(() =>
            PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, 0.5, 0, 5, acc, new SeededRandomSource(1)));
        Assert.Contains("refused", ex.Message);
        Assert.Contains("day-1", ex.Message);
        Assert.Single(acc.Releases);
        Assert.Equal(0.6, acc.Spent().Epsilon, 12);
        PrivateRelease.Run(data, AggregateQuery.Count, GroupBy.Feeder, 0.4, 0, 5, acc, new SeededRandomSource(1));
        Assert.Equal(2, acc.Releases.Count);
        Assert.Equal(1.0, acc.Spent().Epsilon, 12);
    }

    [Fact]
    public void Ledger_survives_a_restart_and_cannot_be_reset_by_asking_again()
    {
        string path = Path.Combine(Path.GetTempPath(), "opente-ledger-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            var acc = new PrivacyAccountant("d", 1.0);
            Assert.True(acc.TrySpend("q1", 0.7, 0, "laplace", out _));
            acc.Save(path);
            var again = PrivacyAccountant.LoadOrCreate(path, "d", 100, 0, Composition.Sequential);
            Assert.Equal(1.0, again.BudgetEpsilon);
            Assert.False(again.TrySpend("q2", 0.5, 0, "laplace", out var reason));
            Assert.Contains("spent ε = 0.7", reason);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Advanced_composition_beats_sequential_for_many_small_releases()
    {
        var seq = new PrivacyAccountant("s", 100, 1e-6, Composition.Sequential);
        var adv = new PrivacyAccountant("a", 100, 1e-6, Composition.Advanced, slackDelta: 1e-7);
        for (int k = 0; k < 400; k++)
        {
            Assert.True(seq.TrySpend("q", 0.01, 0, "laplace", out _));
            Assert.True(adv.TrySpend("q", 0.01, 0, "laplace", out _));
        }
        Assert.Equal(4.0, seq.Spent().Epsilon, 9);
        var (e, d) = adv.Spent();
        Assert.True(e < 2.0, $"advanced ε = {e}");
        Assert.Equal(1e-7, d, 12);
        // with few releases the sequential sum is smaller and is used
        var few = new PrivacyAccountant("f", 100, 1e-6, Composition.Advanced);
        few.TrySpend("a", 0.5, 0, "laplace", out _);
        few.TrySpend("b", 0.5, 0, "laplace", out _);
        Assert.Equal(1.0, few.Spent().Epsilon, 12);
    }

    [Fact]
    public void Bad_parameters_are_refused()
    {
        var data = Homes(1);
        var acc = new PrivacyAccountant("x", 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, 0.5, 0, -1, acc));
        Assert.Throws<ArgumentOutOfRangeException>(() => Mechanisms.LaplaceScale(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Mechanisms.GaussianSigma(1, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrivacyAccountant("y", -1));
    }

    private static MeterData Day(int households, int intervals, double kwh)
    {
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = Enumerable.Range(0, households).SelectMany(h => Enumerable.Range(0, intervals).Select(t =>
            new MeterReading($"H{h}", MeterKind.Household, "F1", 1, start.AddMinutes(15 * t), kwh, 0, 2 + h * intervals + t)));
        return MeterData.ParseCsv(MeterData.ToCsv(rows), "day.csv");
    }

    /// <summary>
    /// Issue #17: per-interval sums of a day protect each household's whole day in every cell, so the noise dwarfs the
    /// values — the release says so (read from the released values only); one total per feeder is informative and quiet.
    /// </summary>
    [Fact]
    public void A_release_whose_noise_dwarfs_its_values_warns_and_a_coarse_one_does_not()
    {
        var data = Day(households: 40, intervals: 96, kwh: 0.3);
        var fine = PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder | GroupBy.Interval, 0.5, 0, 2, new PrivacyAccountant("f", 10), new SeededRandomSource(3));
        Assert.True(fine.MedianNoiseToValue > 1);
        Assert.Contains("--by feeder", fine.Warning);
        var coarse = PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder, 0.5, 0, 2, new PrivacyAccountant("c", 10), new SeededRandomSource(3));
        Assert.True(coarse.MedianNoiseToValue < 1, $"{coarse.MedianNoiseToValue}");
        Assert.Null(coarse.Warning);
        // the shown value is clamped at 0, the unbiased one is kept
        Assert.All(fine.Values, v => Assert.Equal(Math.Max(0, v.Value), v.NonNegative));
        Assert.Contains(fine.Values, v => v.Value < 0);
    }
}
