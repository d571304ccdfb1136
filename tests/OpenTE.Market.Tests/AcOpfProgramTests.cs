using CsCheck;
using OpenTE.Grid.Model;
using OpenTE.Grid.Tests;
using OpenTE.Market.AcOpf;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Market.Tests;

/// <summary>
/// The AC OPF program's evaluation: exact first and second derivatives (against central finite differences), and its
/// cache of the quantities of one point — whatever the order of the calls, an answer at x is the answer a fresh program
/// gives at x, bit for bit, and a Jacobian handed out keeps its values after later evaluations.
/// </summary>
public class AcOpfProgramTests
{
    /// <summary>
    /// case30 with every kind of row: rated branches (flow limits), one generator on a piecewise-linear cost (segment
    /// rows), angle-difference limits on two branches (both sides on one, the upper on the other), and DERs with inject and absorb blocks (capability rows).
    /// </summary>
    private static (Network Net, List<Der> Ders) Case()
    {
        var net = TestData.Load("case30");
        var costs = net.GenCosts.ToArray();
        costs[1] = new GenCost(CostModel.PiecewiseLinear, 0, 0, [0, 0, 30, 90, 60, 300, 90, 700]);
        var branches = net.Branches.ToArray();
        branches[2] = branches[2] with { AngMinDeg = -20, AngMaxDeg = 25 };
        branches[7] = branches[7] with { AngMinDeg = 0, AngMaxDeg = 15 };
        net = net.With(genCosts: costs, branches: branches);
        var ders = new List<Der>
        {
            new("a", 10, 2, 6, [new ReactiveBlock(true, 1.5, 2), new ReactiveBlock(true, 3, 1.5), new ReactiveBlock(false, 2, 1)]),
            new("b", 24, 1, 3, [new ReactiveBlock(false, 1, 1)]),
        };
        return (net, ders);
    }

    private static readonly (Network Net, List<Der> Ders) Data = Case();
    private static AcOpfProgram NewProgram() => new(Data.Net, Data.Ders);

    private static double[] Around(double[] x0, double[] d)
    {
        var x = (double[])x0.Clone();
        for (int i = 0; i < x.Length; i++) x[i] += d[i];
        return x;
    }

    private static readonly int N = NewProgram().Variables;
    private static readonly Gen<double[]> Offsets = Gen.Double[-0.2, 0.2].Array[N];

    [Fact]
    public void The_test_case_has_every_kind_of_row()
    {
        var p = NewProgram();
        Assert.True(p.FlowLimitFrom.Length > 0 && p.AngleDifference.Length == 3 && p.PwlSegment.Length == 3 && p.DerCapability.Length == 2);
        Assert.Equal(4, p.DerQ.Length);
    }

    [Fact]
    public void Jacobians_and_Hessian_match_central_finite_differences()
    {
        var x0 = NewProgram().InitialPoint();
        var multipliers = Gen.Select(Gen.Double[-5, 5].Array[NewProgram().Equalities], Gen.Double[0, 5].Array[NewProgram().Inequalities], Gen.Double[0.1, 2]);
        Gen.Select(Offsets, multipliers).Sample((d, m) =>
        {
            var (lambda, mu, sigma) = m;
            var p = NewProgram();
            var x = Around(x0, d);
            int n = p.Variables, me = p.Equalities, mi = p.Inequalities;
            var (jg, jh) = p.Jacobians(x);
            var Jg = jg.ToDense();
            var Jh = jh.ToDense();
            var H = p.Hessian(x, sigma, lambda, mu).ToDense();

            // ∇L(x) = σ∇f + Jgᵀλ + Jhᵀμ, evaluated by a program of its own so that the one under test sees only x
            var q = NewProgram();
            double[] GradL(double[] at)
            {
                var grad = new double[n];
                q.Objective(at, grad);
                for (int i = 0; i < n; i++) grad[i] *= sigma;
                var (a, b) = q.Jacobians(at);
                double[] ta = new double[n], tb = new double[n];
                a.MultiplyTranspose(lambda, ta);
                b.MultiplyTranspose(mu, tb);
                for (int i = 0; i < n; i++) grad[i] += ta[i] + tb[i];
                return grad;
            }
            for (int j = 0; j < n; j++)
            {
                const double h1 = 1e-6, h2 = 1e-5;
                double[] xp = (double[])x.Clone(), xm = (double[])x.Clone();
                xp[j] += h1;
                xm[j] -= h1;
                double[] gp = new double[me], gm = new double[me], hp = new double[mi], hm = new double[mi];
                q.Constraints(xp, gp, hp);
                q.Constraints(xm, gm, hm);
                for (int i = 0; i < me; i++)
                {
                    double fd = (gp[i] - gm[i]) / (2 * h1);
                    Assert.True(Math.Abs(fd - Jg[i, j]) <= 1e-5 * (1 + Math.Abs(fd)), $"∂g{i}/∂x{j}: {Jg[i, j]} vs finite difference {fd}");
                }
                for (int i = 0; i < mi; i++)
                {
                    double fd = (hp[i] - hm[i]) / (2 * h1);
                    Assert.True(Math.Abs(fd - Jh[i, j]) <= 1e-5 * (1 + Math.Abs(fd)), $"∂h{i}/∂x{j}: {Jh[i, j]} vs finite difference {fd}");
                }
                xp[j] = x[j] + h2;
                xm[j] = x[j] - h2;
                double[] lp = GradL(xp), lm = GradL(xm);
                for (int i = 0; i < n; i++)
                {
                    double fd = (lp[i] - lm[i]) / (2 * h2);
                    Assert.True(Math.Abs(fd - H[i, j]) <= 1e-4 * (1 + Math.Abs(fd)), $"∂²L/∂x{i}∂x{j}: {H[i, j]} vs finite difference {fd}");
                }
            }
        }, iter: 10);
    }

    private sealed record Answer(double[] G, double[] H, double[] Jg, double[] Jh, double[] Hessian);

    private static Answer Ask(AcOpfProgram p, double[] x, double[] lambda, double[] mu)
    {
        var g = new double[p.Equalities];
        var h = new double[p.Inequalities];
        p.Constraints(x, g, h);
        var (jg, jh) = p.Jacobians(x);
        return new Answer(g, h, [.. jg.Values], [.. jh.Values], [.. p.Hessian(x, 0.5, lambda, mu).Values]);
    }

    private static void Same(Answer expected, Answer actual, string what)
    {
        foreach (var (e, a, name) in new[] { (expected.G, actual.G, "g"), (expected.H, actual.H, "h"), (expected.Jg, actual.Jg, "Jg"), (expected.Jh, actual.Jh, "Jh"), (expected.Hessian, actual.Hessian, "Hessian") })
            Assert.True(e.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(a.Select(BitConverter.DoubleToInt64Bits)), $"{what}: {name} differs from a fresh program's");
    }

    [Fact]
    public void Whatever_the_order_of_the_calls_an_answer_at_x_is_a_fresh_programs_answer_at_x()
    {
        var x0 = NewProgram().InitialPoint();
        var lambda = Enumerable.Range(0, NewProgram().Equalities).Select(i => Math.Sin(i + 1.0)).ToArray();
        var mu = Enumerable.Range(0, NewProgram().Inequalities).Select(i => 1 + Math.Cos(i)).ToArray();
        // x2 is either another point or x1 with one coordinate one bit away (a cache keyed on less than every bit would miss it)
        Gen.Select(Offsets, Offsets, Gen.Int[0, N - 1], Gen.Bool).Sample((d1, d2, j, oneBit) =>
        {
            var x1 = Around(x0, d1);
            var x2 = oneBit ? (double[])x1.Clone() : Around(x0, d2);
            if (oneBit) x2[j] = Math.BitIncrement(x2[j]);
            var fresh1 = Ask(NewProgram(), x1, lambda, mu);
            var fresh2 = Ask(NewProgram(), x2, lambda, mu);

            var p = NewProgram();
            Same(fresh1, Ask(p, x1, lambda, mu), "x1");
            var (jg1, jh1) = p.Jacobians(x1);
            Same(fresh2, Ask(p, x2, lambda, mu), "x2 after x1");
            Same(fresh1, Ask(p, x1, lambda, mu), "x1 after x2");
            // a Jacobian handed out keeps its values while the program evaluates elsewhere (the interior point keeps the
            // last one while it evaluates a trial point)
            Ask(p, x2, lambda, mu);
            Assert.Equal(fresh1.Jg, jg1.Values);
            Assert.Equal(fresh1.Jh, jh1.Values);

            // each call alone at a point the program has not evaluated last
            var g = new double[p.Equalities];
            var h = new double[p.Inequalities];
            p.Constraints(x1, g, h);
            Assert.Equal(fresh2.Hessian, p.Hessian(x2, 0.5, lambda, mu).Values);
            Assert.Equal(fresh1.Jg, p.Jacobians(x1).Jg.Values);
            p.Constraints(x2, g, h);
            Assert.Equal(fresh2.G, g);
            Assert.Equal(fresh1.Jh, p.Jacobians(x1).Jh.Values);
            p.Constraints(x1, g, h);
            Assert.Equal(fresh1.H, h);
        }, iter: 40);
    }
}
