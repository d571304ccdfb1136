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

/// <summary>The Newton solver's Jacobian (columns built from the Ybus pattern, values through per-entry slots) and its reuse.</summary>
public class NewtonJacobianTests
{
    /// <summary>P and Q mismatch of V·conj(Ybus·V) at the unknowns' rows, for finite differences.</summary>
    private static double[] Injections(ComplexCsr ybus, Complex[] v, int[] pv, int[] pq)
    {
        var current = new Complex[v.Length];
        ybus.Multiply(v, current);
        int npv = pv.Length, n1 = npv + pq.Length;
        var f = new double[n1 + pq.Length];
        for (int k = 0; k < npv; k++) f[k] = (v[pv[k]] * Complex.Conjugate(current[pv[k]])).Real;
        for (int k = 0; k < pq.Length; k++)
        {
            var s = v[pq[k]] * Complex.Conjugate(current[pq[k]]);
            f[npv + k] = s.Real;
            f[n1 + k] = s.Imaginary;
        }
        return f;
    }

    [Theory]
    [InlineData("case30")]
    [InlineData("case300")]
    public void Jacobian_equals_central_differences_of_the_injections(string name)
    {
        var net = TestData.Load(name);
        var adm = Admittance.Build(net);
        var rnd = new Random(3);
        var vm = net.Buses.Select(b => b.Vm * (1 + 0.05 * (rnd.NextDouble() - 0.5))).ToArray();
        var va = net.Buses.Select(b => b.VaDeg * Math.PI / 180 + 0.05 * (rnd.NextDouble() - 0.5)).ToArray();
        Complex[] V() => vm.Select((m, i) => Complex.FromPolarCoordinates(m, va[i])).ToArray();
        var pv = Enumerable.Range(0, net.BusCount).Where(i => net.Buses[i].Type == BusType.PV).ToArray();
        var pq = Enumerable.Range(0, net.BusCount).Where(i => net.Buses[i].Type == BusType.PQ).ToArray();
        var j = new NewtonRaphson(adm.Ybus).Jacobian(V(), pv, pq).ToDense();
        int npv = pv.Length, n1 = npv + pq.Length, n = n1 + pq.Length;
        Assert.Equal(n, j.GetLength(0));
        const double h = 1e-6;
        double worst = 0;
        for (int c = 0; c < n; c++)
        {
            // column c: θ of pv/pq buses, then |V| of pq buses
            int bus = c < npv ? pv[c] : c < n1 ? pq[c - npv] : pq[c - n1];
            double[] x = c < n1 ? va : vm;
            double keep = x[bus];
            x[bus] = keep + h;
            var up = Injections(adm.Ybus, V(), pv, pq);
            x[bus] = keep - h;
            var down = Injections(adm.Ybus, V(), pv, pq);
            x[bus] = keep;
            for (int r = 0; r < n; r++) worst = Math.Max(worst, Math.Abs((up[r] - down[r]) / (2 * h) - j[r, c]));
        }
        Assert.True(worst < 1e-5, $"{name}: largest difference to central differences {worst}");
    }

    [Fact]
    public void A_solver_reused_across_new_bus_types_equals_a_fresh_one()
    {
        var net = TestData.Load("case118");
        var adm = Admittance.Build(net);
        var state = PowerFlowState.Create(net, flatStart: false);
        var sbus = state.Sbus();
        int[] pv = state.Pv(), pq = state.Pq();
        var reused = new NewtonRaphson(adm.Ybus);
        var first = reused.Solve(sbus, (Complex[])state.V.Clone(), pv, pq, 1e-10, 10);
        Assert.True(first.Converged);
        // three PV buses become PQ: a new Jacobian pattern (and order) on the same solver
        var pv2 = pv.Skip(3).ToArray();
        var pq2 = pq.Concat(pv.Take(3)).Order().ToArray();
        var v1 = (Complex[])state.V.Clone();
        var v2 = (Complex[])state.V.Clone();
        var a = reused.Solve(sbus, v1, pv2, pq2, 1e-10, 10);
        var b = new NewtonRaphson(adm.Ybus).Solve(sbus, v2, pv2, pq2, 1e-10, 10);
        Assert.True(a.Converged);
        Assert.Equal(b, a);
        for (int i = 0; i < v1.Length; i++) Assert.True((v1[i] - v2[i]).Magnitude < 1e-12, $"bus {i}: {v1[i]} vs {v2[i]}");
        // and back to the first types
        var v3 = (Complex[])state.V.Clone();
        Assert.Equal(first, reused.Solve(sbus, v3, pv, pq, 1e-10, 10));
    }
}
