using System.Numerics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Grid.Tests;

/// <summary>The sparse LU on real power-flow Jacobians (issue #2, item 4).</summary>
public class JacobianLuTests
{
    private static (SparseMatrix J, int[] Order, NewtonRaphson Nr, Complex[] V, int[] Pv, int[] Pq) Jacobian(string name, double perturb)
    {
        var net = TestData.Load(name);
        var adm = Admittance.Build(net);
        var nr = new NewtonRaphson(adm.Ybus);
        var rnd = new Random(11);
        var v = net.Buses.Select(b => Complex.FromPolarCoordinates(b.Vm * (1 + perturb * (rnd.NextDouble() - 0.5)), b.VaDeg * Math.PI / 180)).ToArray();
        var pv = Enumerable.Range(0, net.BusCount).Where(i => net.Buses[i].Type == BusType.PV).ToArray();
        var pq = Enumerable.Range(0, net.BusCount).Where(i => net.Buses[i].Type == BusType.PQ).ToArray();
        var j = nr.Jacobian(v, pv, pq);
        return (j, nr.JacobianOrder, nr, v, pv, pq);
    }

    [Theory]
    [InlineData("case118")]
    [InlineData("case300")]
    [InlineData("case_ACTIVSg2000")]
    public void Lu_solves_real_jacobians_and_their_transposes(string name)
    {
        var (j, order, _, _, _, _) = Jacobian(name, 0.02);
        foreach (var lu in new[] { SparseLU.Factorize(j), SparseLU.Factorize(j, new LuOptions { ColumnOrder = order }) })
        {
            var rnd = new Random(5);
            var b = Enumerable.Range(0, j.Rows).Select(_ => rnd.NextDouble() - 0.5).ToArray();
            foreach (bool transpose in new[] { false, true })
            {
                var x = (double[])b.Clone();
                if (transpose) lu.SolveTranspose(x); else lu.Solve(x);
                var ax = new double[j.Rows];
                if (transpose) j.MultiplyTranspose(x, ax); else j.Multiply(x, ax);
                double res = ax.Zip(b, (p, q) => Math.Abs(p - q)).Max();
                Assert.True(res <= 1e-10 * (j.NormInf() * x.Max(Math.Abs) + 1), $"{name} residual {res} (transpose {transpose})");
            }
            Assert.True(lu.Fill < 6L * j.Nnz, $"fill {lu.Fill} for nnz {j.Nnz}");
        }
    }

    [Fact]
    public void Refactorisation_of_the_next_newton_jacobian_reuses_the_analysis()
    {
        var (j, order, nr, v, pv, pq) = Jacobian("case300", 0.0);
        var lu = SparseLU.Factorize(j, new LuOptions { ColumnOrder = order });
        for (int i = 0; i < v.Length; i++) v[i] *= Complex.FromPolarCoordinates(1.01, 0.01 * i % 0.1);
        var j2 = nr.Jacobian(v, pv, pq);
        Assert.True(j2.SamePattern(j));
        lu.Refactorize(j2);
        Assert.Equal(0, lu.RepivotCount);
        var fresh = SparseLU.Factorize(j2, new LuOptions { ColumnOrder = order });
        var b = Enumerable.Range(0, j2.Rows).Select(i => Math.Sin(i)).ToArray();
        var x1 = (double[])b.Clone();
        var x2 = (double[])b.Clone();
        lu.Solve(x1);
        fresh.Solve(x2);
        for (int i = 0; i < b.Length; i++) Assert.Equal(x2[i], x1[i], 8);
    }
}
