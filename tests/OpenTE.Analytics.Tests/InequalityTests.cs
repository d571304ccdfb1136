using CsCheck;

namespace OpenTE.Analytics.Tests;

public class InequalityTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    public void All_equal_is_zero_and_one_takes_all_is_n_minus_one_over_n(int n)
    {
        Assert.Equal(0, Inequality.Gini(Enumerable.Repeat(3.5, n)), 12);
        Assert.Equal(1, Inequality.Jain(Enumerable.Repeat(3.5, n)), 12);
        var one = new double[n];
        one[n - 1] = 42;
        Assert.Equal((n - 1.0) / n, Inequality.Gini(one), 12);
        Assert.Equal((n - 1.0) / n, Inequality.GiniByDoubleSum(one), 12);
        Assert.Equal(1.0 / n, Inequality.Jain(one), 12);
        Assert.Equal(1, Inequality.Top10Share(one), 12);
    }

    [Fact]
    public void The_worked_example_of_the_docs()
    {
        // docs/fairness.md: surpluses 1, 2, 3, 4, 10 $ — Σ|xi − xj| over ordered pairs = 80, 2·n²·x̄ = 2·25·4 = 200
        double[] x = [4, 1, 10, 3, 2];
        Assert.Equal(0.4, Inequality.Gini(x), 12);
        Assert.Equal(0.4, Inequality.GiniByDoubleSum(x), 12);
        Assert.Equal(400.0 / 650, Inequality.Jain(x), 12);
        Assert.Equal(0.5, Inequality.Top10Share(x), 12);
        var lorenz = Inequality.Lorenz(x);
        Assert.Equal([0, 0.05, 0.15, 0.30, 0.50, 1], lorenz.Select(p => Math.Round(p.ValueShare, 12)));
        Assert.Equal([0, 0.2, 0.4, 0.6, 0.8, 1], lorenz.Select(p => Math.Round(p.PopulationShare, 12)));
    }

    [Fact]
    public void Negative_surpluses_are_reported_clipped_and_shifted()
    {
        // clipped 0, 0, 2, 4: G = 2·(3·2 + 4·4)/(4·6) − 5/4 = 7/12; shifted 0, 2, 4, 6: G = 2·40/(4·12) − 5/4 = 5/12
        var m = Inequality.Of([-2.0, 0, 2, 4]);
        Assert.Equal(7.0 / 12, m.GiniClipped, 12);
        Assert.Equal(5.0 / 12, m.GiniShifted, 12);
        Assert.Equal(1, m.Negative);
        Assert.Equal(4, m.Total, 12);
        // nothing negative: both the same
        var p = Inequality.Of([1.0, 2, 3, 4, 10]);
        Assert.Equal(p.GiniClipped, p.GiniShifted);
        Assert.Throws<ArgumentException>(() => Inequality.Gini([1, -1]));
        Assert.Throws<ArgumentException>(() => Inequality.Of([1, double.NaN]));
    }

    [Fact]
    public void Empty_and_all_zero_are_equal()
    {
        Assert.Equal(0, Inequality.Gini([]));
        Assert.Equal(0, Inequality.Gini([0, 0, 0]));
        Assert.Equal(1, Inequality.Jain([0, 0]));
        Assert.Equal([new LorenzPoint(0, 0), new LorenzPoint(0.5, 0.5), new LorenzPoint(1, 1)], Inequality.Lorenz([0, 0]));
    }

    private static readonly Gen<double[]> NonNegative = Gen.Double[0, 1e6].Array[1, 200];

    [Fact]
    public void The_sorted_form_equals_the_double_sum() =>
        NonNegative.Sample(x => Math.Abs(Inequality.Gini(x) - Inequality.GiniByDoubleSum(x)) <= 1e-9, iter: 300);

    [Fact]
    public void Gini_lies_in_0_1_and_is_scale_invariant() =>
        Gen.Select(NonNegative, Gen.Double[1e-3, 1e3]).Sample((x, c) =>
        {
            double g = Inequality.Gini(x);
            return g >= 0 && g <= 1 && Math.Abs(Inequality.Gini(x.Select(v => c * v)) - g) <= 1e-9
                && Math.Abs(Inequality.Jain(x.Select(v => c * v)) - Inequality.Jain(x)) <= 1e-9;
        }, iter: 300);

    [Fact]
    public void Lorenz_curve_rises_convexly_below_the_diagonal_and_Jain_lies_between_1_over_n_and_1() =>
        NonNegative.Sample(x =>
        {
            var l = Inequality.Lorenz(x);
            if (l.Count != x.Length + 1 || l[0] != new LorenzPoint(0, 0) || l[^1] != new LorenzPoint(1, 1)) return false;
            for (int i = 1; i < l.Count; i++)
            {
                if (l[i].ValueShare < l[i - 1].ValueShare - 1e-12 || l[i].ValueShare > l[i].PopulationShare + 1e-12) return false;
                if (i >= 2 && l[i].ValueShare - l[i - 1].ValueShare < l[i - 1].ValueShare - l[i - 2].ValueShare - 1e-12) return false; // slopes rise
            }
            double j = Inequality.Jain(x);
            return j >= 1.0 / x.Length - 1e-12 && j <= 1 + 1e-12;
        }, iter: 300);

    [Fact]
    public void Gini_is_twice_the_area_between_the_diagonal_and_the_Lorenz_curve() =>
        NonNegative.Sample(x =>
        {
            var l = Inequality.Lorenz(x);
            double area = 0; // trapezoids under the curve
            for (int i = 1; i < l.Count; i++) area += (l[i].PopulationShare - l[i - 1].PopulationShare) * (l[i].ValueShare + l[i - 1].ValueShare) / 2;
            return x.Sum() == 0 || Math.Abs(Inequality.Gini(x) - (1 - 2 * area)) <= 1e-9;
        }, iter: 300);
}
