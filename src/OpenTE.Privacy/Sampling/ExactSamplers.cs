using System.Numerics;

namespace OpenTE.Privacy.Sampling;

/// <summary>
/// Exact samplers for the discrete Laplace and discrete Gaussian distributions using only integer
/// arithmetic (Canonne, Kamath &amp; Steinke, "The Discrete Gaussian for Differential Privacy", NeurIPS 2020,
/// Algorithms 1–3). No floating-point number is ever drawn, so the known attacks on naive floating-point
/// Laplace sampling (Mironov 2012: gaps and rounding patterns in the low bits of the released value that
/// reveal the true value) do not apply: the query answer is an integer count of resolution units and the
/// noise is an exact integer.
/// </summary>
public static class ExactSamplers
{
    /// <summary>Bernoulli(exp(−γ)) for a rational γ = num/den ≥ 0.</summary>
    public static bool BernoulliExpMinus(IRandomSource rng, BigInteger num, BigInteger den)
    {
        if (num.Sign < 0 || den.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(num), "γ must be a non-negative rational");
        if (num <= den)
        {
            // γ ∈ [0, 1]: K = first k with Bernoulli(γ/k) = 0; return K odd
            BigInteger k = 1;
            while (rng.Bernoulli(num, den * k)) k++;
            return !k.IsEven;
        }
        var whole = BigInteger.Divide(num, den);
        for (BigInteger i = 0; i < whole; i++)
            if (!BernoulliExpMinus(rng, 1, 1)) return false;
        return BernoulliExpMinus(rng, num - whole * den, den);
    }

    /// <summary>
    /// Discrete Laplace with scale t/s: P(Z = z) ∝ exp(−|z|·s/t), for integers s, t ≥ 1.
    /// </summary>
    public static BigInteger DiscreteLaplace(IRandomSource rng, BigInteger s, BigInteger t)
    {
        if (s.Sign <= 0 || t.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(s), "scale numerator and denominator must be positive");
        while (true)
        {
            var u = rng.UniformBelow(t);
            if (!BernoulliExpMinus(rng, u, t)) continue;
            BigInteger v = 0;
            while (BernoulliExpMinus(rng, 1, 1)) v++;
            var x = u + t * v;
            var y = BigInteger.Divide(x, s);
            bool negative = (rng.NextUInt64() & 1) == 1;
            if (negative && y.IsZero) continue;
            return negative ? -y : y;
        }
    }

    /// <summary>Discrete Gaussian N_Z(0, σ²) for a rational σ² = num/den &gt; 0.</summary>
    public static BigInteger DiscreteGaussian(IRandomSource rng, BigInteger sigma2Num, BigInteger sigma2Den)
    {
        if (sigma2Num.Sign <= 0 || sigma2Den.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(sigma2Num), "σ² must be positive");
        // t = ⌊σ⌋ + 1 (integer square root of σ² rounded down, plus one)
        BigInteger t = ISqrt(BigInteger.Divide(sigma2Num, sigma2Den)) + 1;
        while (true)
        {
            var y = DiscreteLaplace(rng, 1, t);
            // accept with probability exp(−(|y| − σ²/t)² / (2σ²)) = exp(−(|y|·den·t − num)² / (2·num·den·t²))
            var diff = BigInteger.Abs(y) * sigma2Den * t - sigma2Num;
            var num = diff * diff;
            var den = 2 * sigma2Num * sigma2Den * t * t;
            if (BernoulliExpMinus(rng, num, den)) return y;
        }
    }

    private static BigInteger ISqrt(BigInteger n)
    {
        if (n < 2) return n;
        var x = (BigInteger)Math.Sqrt((double)n);
        while (x * x > n) x--;
        while ((x + 1) * (x + 1) <= n) x++;
        return x;
    }

    /// <summary>The smallest rational with denominator 2^bits that is ≥ the given positive double (rounding up only adds noise).</summary>
    public static (BigInteger Num, BigInteger Den) RationalAtLeast(double value, int bits = 24)
    {
        if (!(value > 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(nameof(value), "must be a positive finite number");
        var den = BigInteger.One << bits;
        var num = new BigInteger(Math.Ceiling(value * Math.Pow(2, bits)));
        if (num.IsZero) num = 1;
        return (num, den);
    }
}
