using CsCheck;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Numerics.Tests;

public class OptimizationTests
{
    [Theory]
    [InlineData(SolverKind.Glop)]
    [InlineData(SolverKind.InteriorPoint)]
    public void Textbook_lp_duals_have_the_textbook_sign(SolverKind solver)
    {
        // min 10x + 20y s.t. x + y = 5, x ≤ 3 → x = 3, y = 2, dual(balance) = 20, reduced cost of x = −10
        var m = new OptimizationModel();
        var x = m.AddVariable("x", 0, 3, 10);
        var y = m.AddVariable("y", 0, double.PositiveInfinity, 20);
        m.AddEquality("balance", 5, [(x, 1), (y, 1)]);
        var s = m.Solve(solver);
        Assert.Equal(SolverStatus.Optimal, s.Status);
        Assert.Equal(70, s.Objective, 6);
        Assert.Equal(3, s.Value(x), 6);
        Assert.Equal(20, s.Dual("balance"), 6);
        Assert.Equal(-10, s.ReducedCost(x), 6);
        Assert.Equal(s.Objective, s.DualObjective(), 6);
    }

    [Fact]
    public void Convex_qp_matches_its_closed_form()
    {
        // min ½x² + y² − 4x − 4y s.t. x + y ≤ 2  → KKT: x = 4 − μ, 2y = 4 − μ, x + y = 2 → x = 4/3, y = 2/3, μ = 8/3
        var m = new OptimizationModel();
        var x = m.AddVariable("x", double.NegativeInfinity, double.PositiveInfinity, -4);
        var y = m.AddVariable("y", double.NegativeInfinity, double.PositiveInfinity, -4);
        m.AddQuadraticCost(x, x, 1);
        m.AddQuadraticCost(y, y, 2);
        m.AddConstraint("cap", double.NegativeInfinity, 2, [(x, 1), (y, 1)]);
        var s = m.Solve();
        Assert.Equal(SolverKind.InteriorPoint, s.Solver);
        Assert.Equal(SolverStatus.Optimal, s.Status);
        Assert.Equal(4.0 / 3, s.Value(x), 7);
        Assert.Equal(2.0 / 3, s.Value(y), 7);
        Assert.Equal(-8.0 / 3, s.Dual("cap"), 7); // relaxing the cap lowers the cost
        Assert.Equal(s.Objective, s.DualObjective(), 7);
    }

    [Fact]
    public void Random_feasible_lps_agree_between_simplex_and_interior_point()
    {
        Gen.Select(Gen.Int[2, 12], Gen.Int[1, 8], Gen.Int).Sample((n, rows, seed) =>
        {
            var rnd = new Random(seed);
            var m = new OptimizationModel();
            var v = Enumerable.Range(0, n).Select(j => m.AddVariable($"x{j}", 0, 1 + rnd.Next(5), rnd.NextDouble() * 10 - 5)).ToArray();
            var x0 = v.Select(_ => rnd.NextDouble()).ToArray(); // a feasible point inside the box
            for (int i = 0; i < rows; i++)
            {
                var a = v.Select(_ => rnd.NextDouble() < 0.5 ? rnd.NextDouble() * 4 - 2 : 0).ToArray();
                double ax = a.Select((c, j) => c * x0[j]).Sum();
                if (rnd.Next(3) == 0) m.AddEquality($"e{i}", ax, v.Select((vv, j) => (vv, a[j])));
                else m.AddConstraint($"r{i}", ax - rnd.NextDouble(), ax + rnd.NextDouble(), v.Select((vv, j) => (vv, a[j])));
            }
            var glop = m.Solve(SolverKind.Glop);
            var ipm = m.Solve(SolverKind.InteriorPoint);
            Assert.Equal(SolverStatus.Optimal, glop.Status);
            Assert.Equal(SolverStatus.Optimal, ipm.Status);
            // absolute tolerances (the precision overload rounds both sides and fails across a rounding boundary)
            Assert.Equal(glop.Objective, ipm.Objective, 1e-5);
            Assert.Equal(ipm.Objective, ipm.DualObjective(), 1e-5);
            Assert.Equal(glop.Objective, glop.DualObjective(), 1e-5);
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void Rows_from_shared_arrays_are_the_rows_from_term_lists()
    {
        // the same random model built twice, its rows once as (variable, coefficient) lists and once as ranges of shared
        // arrays (zero coefficients included, left out by both): the solvers see the same program, so the answers are equal
        Gen.Select(Gen.Int[2, 10], Gen.Int[1, 8], Gen.Int).Sample((n, rows, seed) =>
        {
            var rnd = new Random(seed);
            var bounds = Enumerable.Range(0, n).Select(_ => (Hi: 1.0 + rnd.Next(5), Cost: rnd.NextDouble() * 10 - 5, Q: rnd.Next(2) * rnd.NextDouble())).ToArray();
            var x0 = bounds.Select(_ => rnd.NextDouble()).ToArray();
            var a = Enumerable.Range(0, rows).Select(_ => bounds.Select(_ => rnd.NextDouble() < 0.5 ? rnd.NextDouble() * 4 - 2 : 0).ToArray()).ToArray();
            var sides = a.Select(r => { double ax = r.Select((c, j) => c * x0[j]).Sum(); return rnd.Next(3) == 0 ? (ax, ax) : (ax - rnd.NextDouble(), ax + rnd.NextDouble()); }).ToArray();
            int offset = rnd.Next(4);
            var solutions = new List<ModelSolution>();
            foreach (bool shared in new[] { false, true })
            {
                var m = new OptimizationModel();
                if (shared) m.EnsureCapacity(offset * 7, offset * 5, offset * 11); // a size hint, too small or too large: no effect on the model
                var v = bounds.Select((b, j) => m.AddVariable($"x{j}", 0, b.Hi, b.Cost)).ToArray();
                for (int j = 0; j < n; j++) if (bounds[j].Q > 0) m.AddQuadraticCost(v[j], v[j], bounds[j].Q);
                var vars = new Variable[offset + rows * n];
                var coefs = new double[offset + rows * n];
                for (int i = 0; i < rows; i++)
                {
                    if (!shared) { m.AddConstraint($"r{i}", sides[i].Item1, sides[i].Item2, v.Select((vv, j) => (vv, a[i][j]))); continue; }
                    for (int j = 0; j < n; j++) (vars[offset + i * n + j], coefs[offset + i * n + j]) = (v[j], a[i][j]);
                    m.AddConstraint($"r{i}", sides[i].Item1, sides[i].Item2, vars, coefs, offset + i * n, n);
                }
                solutions.Add(m.Solve(SolverKind.InteriorPoint));
            }
            Assert.Equal(solutions[0].Status, solutions[1].Status);
            Assert.Equal(solutions[0].Objective, solutions[1].Objective);
            Assert.Equal(solutions[0].Values, solutions[1].Values);
            Assert.Equal(solutions[0].Duals, solutions[1].Duals);
        }, iter: 60, threads: 1);
    }

    [Fact]
    public void Infeasible_and_unbounded_are_reported_not_thrown()
    {
        var m = new OptimizationModel();
        var x = m.AddVariable("x", 0, 1, 1);
        m.AddConstraint("impossible", 2, double.PositiveInfinity, [(x, 1)]);
        Assert.Equal(SolverStatus.Infeasible, m.Solve(SolverKind.Glop).Status);
        var ipm = m.Solve(SolverKind.InteriorPoint);
        Assert.NotEqual(SolverStatus.Optimal, ipm.Status);
        Assert.False(string.IsNullOrEmpty(ipm.Message));

        var u = new OptimizationModel();
        var a = u.AddVariable("a", 0, double.PositiveInfinity);
        var y = u.AddVariable("y", 0, double.PositiveInfinity, -1);
        u.AddConstraint("gap", double.NegativeInfinity, 1, [(y, 1), (a, -1)]);
        Assert.Equal(SolverStatus.Unbounded, u.Solve(SolverKind.Glop).Status);
        Assert.NotEqual(SolverStatus.Optimal, u.Solve(SolverKind.InteriorPoint).Status);
    }

    [Fact]
    public void Bad_model_input_is_refused()
    {
        var m = new OptimizationModel();
        Assert.Throws<ArgumentException>(() => m.AddVariable("x", 2, 1));
        Assert.Throws<ArgumentException>(() => m.AddVariable("x", 0, 1, double.NaN));
        var x = m.AddVariable("x", 0, 1);
        m.AddEquality("c", 1, [(x, 1)]);
        Assert.Throws<ArgumentException>(() => m.AddEquality("c", 1, [(x, 1)]));
        Assert.Throws<KeyNotFoundException>(() => m.ConstraintByName("nope"));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.AddConstraint("r", 0, 1, [x], [1.0], 1, 1)); // range past the arrays' end
        Assert.Throws<ArgumentOutOfRangeException>(() => m.AddConstraint("r", 0, 1, [x, x], [1.0], 0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.AddCost(new Variable(5, "not in this model"), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.VariableName(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.ConstraintName(1));
        m.AddQuadraticCost(x, x, 1);
        Assert.Throws<NotSupportedException>(() => m.Solve(SolverKind.Glop));
    }
}
