using System.Numerics;
using OpenTE.Privacy.Sampling;

namespace OpenTE.Privacy.Tests;

public class SamplerTests
{
    /// <summary>Kolmogorov–Smirnov statistic of integer samples against a CDF evaluated at the integers.</summary>
    internal static double KsStatistic(long[] samples, Func<double, double> cdf)
    {
        Array.Sort(samples);
        int n = samples.Length;
        double d = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j < n && samples[j] == samples[i]) j++;
            double below = (double)i / n, upTo = (double)j / n;
            d = Math.Max(d, Math.Max(Math.Abs(upTo - cdf(samples[i])), Math.Abs(below - cdf(samples[i] - 1))));
            i = j;
        }
        return d;
    }

    private static double DiscreteLaplaceCdf(double z, double scale)
    {
        double p = Math.Exp(-1 / scale);
        z = Math.Floor(z);
        return z >= 0 ? 1 - Math.Pow(p, z + 1) / (1 + p) : Math.Pow(p, -z) / (1 + p);
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(2, 3.0)]
    [InlineData(3, 40.0)]
    public void Discrete_laplace_passes_a_ks_test_against_its_cdf(int seed, double scale)
    {
        var rng = new SeededRandomSource(seed);
        var samples = Enumerable.Range(0, 4000).Select(_ => (long)Mechanisms.LaplaceNoise(rng, scale)).ToArray();
        double d = KsStatistic(samples, z => DiscreteLaplaceCdf(z, scale));
        Assert.True(d < 1.63 / Math.Sqrt(samples.Length), $"KS D = {d} (critical {1.63 / Math.Sqrt(samples.Length)} at α = 0.01)");
        // and the scale: E|Z| = 2p/(1 − p²) for p = e^(−1/b)
        double p = Math.Exp(-1 / scale);
        double expected = 2 * p / (1 - p * p);
        Assert.InRange(samples.Average(s => Math.Abs((double)s)), expected * 0.95 - 0.02, expected * 1.05 + 0.02);
    }

    [Fact]
    public void Large_scale_discrete_laplace_matches_the_continuous_laplace()
    {
        double b = 500;
        var rng = new SeededRandomSource(9);
        var samples = Enumerable.Range(0, 3000).Select(_ => (long)Mechanisms.LaplaceNoise(rng, b)).ToArray();
        double Cdf(double x) => x < 0 ? 0.5 * Math.Exp(x / b) : 1 - 0.5 * Math.Exp(-x / b);
        double d = KsStatistic(samples, z => Cdf(z + 0.5));
        Assert.True(d < 1.63 / Math.Sqrt(samples.Length), $"KS D = {d}");
    }

    [Fact]
    public void Discrete_gaussian_has_the_requested_variance_and_shape()
    {
        double sigma = 25;
        var rng = new SeededRandomSource(4);
        var samples = Enumerable.Range(0, 3000).Select(_ => (long)Mechanisms.GaussianNoise(rng, sigma)).ToArray();
        double mean = samples.Average(s => (double)s);
        double var = samples.Average(s => ((double)s - mean) * ((double)s - mean));
        Assert.InRange(mean, -3 * sigma / Math.Sqrt(3000) * 1.5, 3 * sigma / Math.Sqrt(3000) * 1.5);
        Assert.InRange(var / (sigma * sigma), 0.9, 1.1);
        double d = KsStatistic(samples, z => 0.5 * (1 + Erf((z + 0.5) / (sigma * Math.Sqrt(2)))));
        Assert.True(d < 1.63 / Math.Sqrt(samples.Length), $"KS D = {d}");
    }

    private static double Erf(double x)
    {
        // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7)
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return x >= 0 ? y : -y;
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 3)]
    [InlineData(5, 2)]
    [InlineData(7, 7)]
    public void Bernoulli_exp_minus_gamma_has_the_right_frequency(int num, int den)
    {
        var rng = new SeededRandomSource(num * 31 + den);
        int n = 20000, hits = 0;
        for (int k = 0; k < n; k++) if (ExactSamplers.BernoulliExpMinus(rng, num, den)) hits++;
        double p = Math.Exp(-(double)num / den);
        Assert.InRange((double)hits / n, p - 4 * Math.Sqrt(p * (1 - p) / n) - 1e-9, p + 4 * Math.Sqrt(p * (1 - p) / n) + 1e-9);
    }

    [Fact]
    public void Uniform_draws_cover_their_range_without_bias()
    {
        var rng = new SeededRandomSource(3);
        var counts = new int[7];
        for (int k = 0; k < 70000; k++) counts[(int)rng.UniformBelow(7UL)]++;
        Assert.All(counts, c => Assert.InRange(c, 9400, 10600));
        var big = BigInteger.Pow(10, 30);
        for (int k = 0; k < 100; k++) Assert.InRange(rng.UniformBelow(big), BigInteger.Zero, big - 1);
    }

    [Fact]
    public void Secure_source_is_the_default_and_produces_varied_output()
    {
        var rng = new CryptoRandomSource();
        var values = Enumerable.Range(0, 100).Select(_ => rng.NextUInt64()).Distinct().Count();
        Assert.Equal(100, values);
    }
}
