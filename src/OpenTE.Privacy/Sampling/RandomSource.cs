using System.Numerics;
using System.Security.Cryptography;

namespace OpenTE.Privacy.Sampling;

/// <summary>A source of uniformly random 64-bit words.</summary>
public interface IRandomSource
{
    ulong NextUInt64();
}

/// <summary>The operating system's cryptographically secure generator (the default for every release).</summary>
public sealed class CryptoRandomSource : IRandomSource
{
    private readonly byte[] _buffer = new byte[8 * 64];
    private int _pos = 8 * 64;

    public ulong NextUInt64()
    {
        if (_pos == _buffer.Length)
        {
            RandomNumberGenerator.Fill(_buffer);
            _pos = 0;
        }
        ulong v = BitConverter.ToUInt64(_buffer, _pos);
        _pos += 8;
        return v;
    }
}

/// <summary>
/// A seeded, reproducible generator for tests and experiments only: NOT secure, never used for a real
/// release unless asked for explicitly (<c>--seed</c> prints a warning).
/// </summary>
public sealed class SeededRandomSource(int seed) : IRandomSource
{
    private readonly Random _random = new(seed);

    public ulong NextUInt64() => (ulong)_random.NextInt64() ^ ((ulong)_random.Next(2) << 63);
}

/// <summary>Exact integer draws from a random source (rejection sampling: no modulo bias).</summary>
public static class RandomExtensions
{
    /// <summary>Uniform integer in [0, n) for n ≥ 1.</summary>
    public static ulong UniformBelow(this IRandomSource rng, ulong n)
    {
        ArgumentOutOfRangeException.ThrowIfZero(n);
        if ((n & (n - 1)) == 0) return rng.NextUInt64() & (n - 1);
        ulong limit = ulong.MaxValue - ulong.MaxValue % n; // accept [0, limit)
        while (true)
        {
            ulong v = rng.NextUInt64();
            if (v < limit) return v % n;
        }
    }

    /// <summary>Uniform integer in [0, n) for a big n ≥ 1.</summary>
    public static BigInteger UniformBelow(this IRandomSource rng, BigInteger n)
    {
        if (n.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        if (n <= ulong.MaxValue) return rng.UniformBelow((ulong)n);
        int bits = (int)n.GetBitLength();
        int words = (bits + 63) / 64;
        var bytes = new byte[words * 8 + 1];
        while (true)
        {
            for (int w = 0; w < words; w++) BitConverter.TryWriteBytes(bytes.AsSpan(w * 8, 8), rng.NextUInt64());
            bytes[^1] = 0; // positive
            var v = new BigInteger(bytes);
            v &= (BigInteger.One << bits) - 1;
            if (v < n) return v;
        }
    }

    /// <summary>True with probability num/den exactly.</summary>
    public static bool Bernoulli(this IRandomSource rng, BigInteger num, BigInteger den) =>
        num >= den || (num.Sign > 0 && rng.UniformBelow(den) < num);
}
