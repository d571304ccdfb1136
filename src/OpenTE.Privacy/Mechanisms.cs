using System.Numerics;
using OpenTE.Privacy.Sampling;

namespace OpenTE.Privacy;

public enum NoiseKind
{
    /// <summary>Discrete Laplace: pure ε-DP, L1 sensitivity.</summary>
    Laplace,
    /// <summary>Discrete Gaussian: (ε, δ)-DP through zero-concentrated DP, L2 sensitivity.</summary>
    Gaussian,
}

/// <summary>
/// Noise for integer-valued queries. Values in kWh are first clamped and snapped to a grid of
/// <see cref="Resolution"/> kWh, so every aggregate is an exact integer number of grid units and its
/// sensitivity is an integer; the noise is an exact discrete Laplace or discrete Gaussian integer
/// (<see cref="ExactSamplers"/>). Scale parameters are rounded up to rationals with denominator 2^24,
/// which can only add noise.
/// </summary>
public static class Mechanisms
{
    /// <summary>Grid of released energy values: 1 Wh.</summary>
    public const double Resolution = 0.001;

    /// <summary>Laplace scale b = Δ₁/ε, in grid units.</summary>
    public static double LaplaceScale(double l1Sensitivity, double epsilon)
    {
        Check(epsilon, 0);
        return l1Sensitivity / epsilon;
    }

    /// <summary>
    /// σ for (ε, δ)-DP: the discrete Gaussian with σ = Δ₂/√(2ρ) is ρ-zCDP (Canonne–Kamath–Steinke), and ρ-zCDP
    /// implies (ρ + 2√(ρ·ln(1/δ)), δ)-DP (Bun–Steinke); ρ is the largest value meeting the requested ε.
    /// </summary>
    public static double GaussianSigma(double l2Sensitivity, double epsilon, double delta)
    {
        Check(epsilon, delta);
        if (!(delta > 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), "the Gaussian mechanism needs 0 < δ < 1");
        double l = Math.Log(1 / delta);
        double sqrtRho = Math.Sqrt(l + epsilon) - Math.Sqrt(l);
        double rho = sqrtRho * sqrtRho;
        return l2Sensitivity / Math.Sqrt(2 * rho);
    }

    public static BigInteger LaplaceNoise(IRandomSource rng, double scale)
    {
        var (num, den) = ExactSamplers.RationalAtLeast(scale);
        return ExactSamplers.DiscreteLaplace(rng, den, num); // scale = num/den = t/s
    }

    public static BigInteger GaussianNoise(IRandomSource rng, double sigma)
    {
        var (num, den) = ExactSamplers.RationalAtLeast(sigma * sigma);
        return ExactSamplers.DiscreteGaussian(rng, num, den);
    }

    /// <summary>Clamps a household's value to [0, max] and snaps it to the grid (deterministic, so sensitivity stays ⌈max/Resolution⌉ units).</summary>
    public static long ToUnits(double kwh, double maxKwh)
    {
        double c = Math.Clamp(double.IsNaN(kwh) ? 0 : kwh, 0, maxKwh);
        return (long)Math.Round(c / Resolution, MidpointRounding.ToEven);
    }

    public static long MaxUnits(double maxKwh) => (long)Math.Round(maxKwh / Resolution, MidpointRounding.ToEven);

    private static void Check(double epsilon, double delta)
    {
        if (!(epsilon > 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), $"ε must be a positive number, got {epsilon}");
        if (!(delta >= 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), $"δ must be in [0, 1), got {delta}");
    }
}
