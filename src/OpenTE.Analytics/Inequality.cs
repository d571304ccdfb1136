namespace OpenTE.Analytics;

/// <summary>How negative values (a participant who lost money) enter a measure defined for non-negative shares.</summary>
public enum NegativeTreatment
{
    /// <summary>max(x, 0): a loss counts as nothing gained (the measure says who gains, not who loses).</summary>
    Clipped,
    /// <summary>x − min(0, min x): when someone lost money, everyone is measured from the worst loss (keeps the spread of the losses; depends on the worst one).</summary>
    Shifted,
}

/// <summary>A point of a Lorenz curve: the poorest <see cref="PopulationShare"/> of the population holds <see cref="ValueShare"/> of the total.</summary>
public readonly record struct LorenzPoint(double PopulationShare, double ValueShare);

/// <summary>The inequality measures of one distribution (docs/fairness.md).</summary>
/// <param name="Count">Number of values n.</param>
/// <param name="Total">Σ x (as given, negatives included).</param>
/// <param name="Negative">How many values are below 0.</param>
/// <param name="GiniClipped">Gini of max(x, 0).</param>
/// <param name="GiniShifted">Gini of x − min(0, min x): equal to <paramref name="GiniClipped"/> when nothing is negative.</param>
/// <param name="Jain">Jain's index (Σx)²/(n·Σx²) of max(x, 0): 1 when all equal, 1/n when one takes all.</param>
/// <param name="Top10Share">Share of the top ⌈n/10⌉ values in the total of max(x, 0).</param>
/// <param name="Lorenz">The Lorenz curve of max(x, 0): n + 1 points from (0, 0) to (1, 1).</param>
public sealed record InequalityMeasures(int Count, double Total, int Negative, double GiniClipped, double GiniShifted, double Jain,
    double Top10Share, IReadOnlyList<LorenzPoint> Lorenz);

/// <summary>
/// Lorenz curve, Gini, Jain's index and the top-10 % share, each O(n log n) (one sort).
/// Gini is the population form G = Σ_i Σ_j |x_i − x_j| / (2 n² x̄), computed from the sorted values x_(1) ≤ … ≤ x_(n) as
/// G = 2·Σ_i i·x_(i) / (n·Σ x) − (n + 1)/n (the same number without the double sum). It is defined for non-negative
/// values; <see cref="Of"/> reports both treatments of negatives (<see cref="NegativeTreatment"/>).
/// </summary>
public static class Inequality
{
    /// <summary>Gini of non-negative values; 0 for an empty set or a zero total (nobody has anything: all equal).</summary>
    public static double Gini(IEnumerable<double> values)
    {
        var x = Sorted(values);
        int n = x.Length;
        double sum = 0, weighted = 0;
        for (int i = 0; i < n; i++)
        {
            if (x[i] < 0 || !double.IsFinite(x[i])) throw new ArgumentException($"Gini needs finite non-negative values (got {x[i]}); clip or shift negatives first");
            sum += x[i];
            weighted += (i + 1) * x[i];
        }
        if (n == 0 || sum <= 0) return 0;
        double g = 2 * weighted / (n * sum) - (n + 1.0) / n;
        return Math.Clamp(g, 0, 1);
    }

    /// <summary>The Gini of the definition, Σ_i Σ_j |x_i − x_j| / (2 n² x̄): O(n²), the reference the fast form is tested against.</summary>
    public static double GiniByDoubleSum(IReadOnlyList<double> x)
    {
        int n = x.Count;
        double sum = x.Sum();
        if (n == 0 || sum <= 0) return 0;
        double d = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) d += Math.Abs(x[i] - x[j]);
        return d / (2.0 * n * sum); // 2 n² x̄ = 2 n Σx
    }

    /// <summary>Jain's fairness index (Σx)²/(n·Σx²) of non-negative values; 1 for an empty set or all zeros.</summary>
    public static double Jain(IEnumerable<double> values)
    {
        double s = 0, s2 = 0;
        int n = 0;
        foreach (var v in values) { s += v; s2 += v * v; n++; }
        return n == 0 || s2 <= 0 ? 1 : s * s / (n * s2);
    }

    /// <summary>Share of the top ⌈n/10⌉ values in the total (non-negative values); 0 for a zero total.</summary>
    public static double Top10Share(IEnumerable<double> values)
    {
        var x = Sorted(values);
        double sum = x.Sum();
        if (x.Length == 0 || sum <= 0) return 0;
        int k = (int)Math.Ceiling(x.Length / 10.0);
        return x.Skip(x.Length - k).Sum() / sum;
    }

    /// <summary>The Lorenz curve of non-negative values: (k/n, Σ of the k smallest / Σ) for k = 0..n; the diagonal for a zero total.</summary>
    public static IReadOnlyList<LorenzPoint> Lorenz(IEnumerable<double> values)
    {
        var x = Sorted(values);
        int n = x.Length;
        double sum = x.Sum(), cum = 0;
        var pts = new LorenzPoint[n + 1];
        pts[0] = new LorenzPoint(0, 0);
        for (int i = 0; i < n; i++)
        {
            cum += x[i];
            pts[i + 1] = new LorenzPoint((i + 1.0) / n, sum > 0 ? cum / sum : (i + 1.0) / n);
        }
        if (n > 0) pts[n] = new LorenzPoint(1, 1);
        return pts;
    }

    /// <summary>All measures of a distribution that may hold negative values (losses).</summary>
    public static InequalityMeasures Of(IReadOnlyCollection<double> values)
    {
        foreach (var v in values) if (!double.IsFinite(v)) throw new ArgumentException($"inequality measures need finite values (got {v})");
        var clipped = values.Select(v => Math.Max(v, 0)).ToArray();
        double min = Math.Min(0, values.Count == 0 ? 0 : values.Min());
        var shifted = values.Select(v => v - min).ToArray();
        return new InequalityMeasures(values.Count, values.Sum(), values.Count(v => v < 0), Gini(clipped), Gini(shifted), Jain(clipped),
            Top10Share(clipped), Lorenz(clipped));
    }

    private static double[] Sorted(IEnumerable<double> values)
    {
        var x = values.ToArray();
        Array.Sort(x);
        return x;
    }
}
