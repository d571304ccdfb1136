using CsCheck;
using OpenTE.Numerics.Sparse;
using static OpenTE.Numerics.Tests.TestMatrices;

namespace OpenTE.Numerics.Tests;

/// <summary>
/// <see cref="SparseLdl"/> (symmetric indefinite L·D·Lᵀ with static 1×1 and 2×2 pivots) against dense solves, its
/// refactorisation against fresh factorisations, and the saddle-point pairing it relies on.
/// </summary>
public class SparseLdlTests
{
    private static double[] SolveWith(IFactorization f, double[] b)
    {
        var x = (double[])b.Clone();
        f.Solve(x);
        return x;
    }

    private static double[] Multiply(SparseMatrix a, double[] x)
    {
        var y = new double[a.Rows];
        a.Multiply(x, y);
        return y;
    }

    [Fact]
    public void Two_by_two_blocks_solve_a_saddle_point_matrix_with_zero_diagonal_known_answer()
    {
        // [[2, 1], [1, 0]] x = [3, 1] → x = [1, 1]; a 1×1 pivot on the zero would fail, the pair is one 2×2 block
        var t = new TripletBuilder(2, 2);
        t.Add(0, 0, 2); t.Add(0, 1, 1); t.Add(1, 0, 1);
        var a = t.ToCsc();
        var ldl = SparseLdl.Factorize(a, [0, 1], [1, 0]);
        Assert.Equal(1, ldl.Blocks);
        Assert.Equal(0, ldl.PerturbedPivots);
        var x = SolveWith(ldl, [3, 1]);
        Assert.Equal(1, x[0], 14);
        Assert.Equal(1, x[1], 14);
    }

    [Fact]
    public void A_row_that_reaches_only_the_second_step_of_a_block_still_gets_the_first_one()
    {
        // steps (2, 3) form a block and (0, 1) another; row 0 couples to step 1 (the second of the first block) but not
        // to step 0: L(row, first) is still nonzero through the block's inverse, so the symbolic pattern must hold it
        double[,] dense = { { 4, 1, 0, 1 }, { 1, 0, 1, 0 }, { 0, 1, 3, 2 }, { 1, 0, 2, 0 } };
        var t = new TripletBuilder(4, 4);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                if (dense[i, j] != 0) t.Add(i, j, dense[i, j]);
        var a = t.ToCsc();
        var ldl = SparseLdl.Factorize(a, [2, 3, 0, 1], [1, 0, 3, 2]);
        Assert.Equal(2, ldl.Blocks);
        double[] b = [1, 2, 3, 4];
        var x = SolveWith(ldl, b);
        Assert.True(Residual(a, x, b) < 1e-14, $"residual {Residual(a, x, b)}");
    }

    public sealed record KktCase(int Nv, int M, int Seed, double Density);

    private static readonly Gen<KktCase> KktCases = Gen.Int[1, 40].SelectMany(nv =>
        Gen.Select(Gen.Int[0, nv], Gen.Int, Gen.Double[0.0, 0.4], (m, seed, density) => new KktCase(nv, m, seed, density)));

    /// <summary>The case's KKT matrix, its saddle-point order and pairs, and its L·D·Lᵀ.</summary>
    private static (SparseMatrix A, int[] Order, int[] Partner, SparseLdl Ldl) Factor(KktCase c)
    {
        var a = Kkt(c.Nv, c.M, c.Seed, c.Density);
        var order = MinimumDegree.OrderSaddlePoint(a, out var partner);
        return (a, order, partner, SparseLdl.Factorize(a, order, partner));
    }

    [Fact]
    public void Saddle_point_order_and_pairs_solve_random_kkt_matrices_like_a_dense_lu()
    {
        KktCases.Sample(c =>
        {
            var (a, _, _, ldl) = Factor(c);
            AssertSolvesLikeDenseLu(c, a, ldl);
        }, iter: 300);
    }

    /// <summary>For a well-conditioned matrix (dense condition estimate below 1e8), the LDLᵀ solve equals the dense LU's to 1e-8 relative.</summary>
    private static void AssertSolvesLikeDenseLu(KktCase c, SparseMatrix a, SparseLdl ldl)
    {
        var b = RandomVector(a.Rows, c.Seed + 1);
        var x = SolveWith(ldl, b);
        if (DenseLu.TryFactor(a.ToDense()) is not { Cond: < 1e8 } dense) return;
        var xd = dense.Solve(b);
        double scale = 1 + NormInf(xd);
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(x[i] - xd[i]) <= 1e-8 * scale, $"{c}: x[{i}] = {x[i]} vs dense {xd[i]} (perturbed {ldl.PerturbedPivots})");
    }

    [Fact]
    public void Supernodal_panels_on_larger_kkt_matrices_solve_like_a_dense_lu()
    {
        // 60–200 variables: the minimum-degree order leaves chains of columns with nested patterns, so L is stored in
        // multi-column dense panels (updates between panels, 2×2 blocks inside them) — the small cases above rarely have any
        Gen.Select(Gen.Int[60, 200], Gen.Double[0.2, 1.0], Gen.Int, Gen.Double[0.01, 0.06]).Sample((nv, mFraction, seed, density) =>
        {
            var c = new KktCase(nv, (int)(mFraction * nv), seed, density);
            var (a, _, _, ldl) = Factor(c);
            Assert.True(ldl.Supernodes < ldl.N, $"{c}: {ldl.Supernodes} supernodes for {ldl.N} columns");
            AssertSolvesLikeDenseLu(c, a, ldl);
        }, iter: 40);
    }

    [Fact]
    public void Supernodal_panels_of_a_grid_in_minimum_degree_order_solve_to_rounding_level()
    {
        // a 5-point grid in AMD order: the separators eliminated last are chains of columns, stored as multi-column panels
        foreach (var (m, k) in new[] { (30, 30), (12, 50), (1, 200) })
        {
            var a = Grid(m, k);
            var ldl = SparseLdl.Factorize(a, Amd.Order(a));
            Assert.Equal(0, ldl.PerturbedPivots);
            Assert.True(ldl.Supernodes < ldl.N, $"{m}×{k}: {ldl.Supernodes} supernodes for {ldl.N} columns");
            var b = RandomVector(a.Rows, m * k);
            var x = SolveWith(ldl, b);
            double omega = Residual(a, x, b) / Scale(a, x, b);
            Assert.True(omega < 1e-14, $"{m}×{k}: backward error {omega}");
        }
    }

    [Fact]
    public void Every_constraint_row_of_a_kkt_matrix_with_full_row_rank_is_paired_and_pairs_are_adjacent()
    {
        KktCases.Sample(c =>
        {
            var a = Kkt(c.Nv, c.M, c.Seed, c.Density);
            var order = MinimumDegree.OrderSaddlePoint(a, out var partner);
            var step = new int[order.Length];
            for (int k = 0; k < order.Length; k++) step[order[k]] = k;
            for (int j = 0; j < partner.Length; j++)
            {
                if (partner[j] < 0) continue;
                Assert.Equal(j, partner[partner[j]]);
                Assert.Equal(1, Math.Abs(step[j] - step[partner[j]]));
            }
            // constraint rows have an empty diagonal; Kkt gives each row its own column, so a perfect matching exists
            for (int r = c.Nv; r < a.Rows; r++) Assert.True(partner[r] >= 0, $"{c}: constraint row {r} has no partner");
        }, iter: 300);
    }

    [Fact]
    public void Pairing_terminates_on_any_pattern_and_gives_a_permutation_with_symmetric_pairs()
    {
        // unsymmetric patterns with zero and empty diagonals: an augmenting-path search that let zero-diagonal nodes
        // sit on both sides of the matching cycled for ever here (e.g. n = 21, density 0.4, seed 704 of the old loop)
        Gen.Select(Gen.Int[1, 40], Gen.Int, Gen.Double[0.0, 0.4]).Sample((n, seed, density) =>
        {
            var rnd = new Random(seed);
            var t = new TripletBuilder(n, n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if ((i == j && rnd.NextDouble() < 0.5) || (i != j && rnd.NextDouble() < density))
                        t.Add(i, j, rnd.NextDouble() < 0.2 ? 0 : rnd.NextDouble() - 0.5);
            var order = MinimumDegree.OrderSaddlePoint(t.ToCsc(), out var partner);
            Assert.Equal(Enumerable.Range(0, n), order.Order());
            for (int j = 0; j < n; j++)
                if (partner[j] >= 0) Assert.Equal(j, partner[partner[j]]);
        }, iter: 3000);
    }

    [Fact]
    public void A_dependent_constraint_row_left_without_a_partner_is_eliminated_last()
    {
        // two rows that both constrain only x0 (x0 = a and x0 = b): one of them cannot be paired
        var t = new TripletBuilder(4, 4);
        t.Add(0, 0, 1); t.Add(1, 1, 2);
        t.Add(2, 0, 1); t.Add(0, 2, 1);
        t.Add(3, 0, 1); t.Add(0, 3, 1);
        t.Add(2, 2, -1e-10); t.Add(3, 3, -1e-10);
        var a = t.ToCsc();
        var order = MinimumDegree.OrderSaddlePoint(a, out var partner);
        int unpaired = partner[2] < 0 ? 2 : 3;
        Assert.True(partner[5 - unpaired] == 0, "the other row takes x0");
        Assert.Equal(unpaired, order[^1]);
    }

    [Fact]
    public void Refactorize_on_new_values_equals_a_fresh_factorisation()
    {
        KktCases.Sample(c =>
        {
            var (a, order, partner, ldl) = Factor(c);
            // new values, symmetric: each entry scaled by a factor of its unordered (row, column) pair
            var symOnA = new SparseMatrix(a.Rows, a.Cols, a.ColPtr, a.RowIdx, new double[a.Nnz]);
            for (int j = 0; j < a.Cols; j++)
                for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
                {
                    int i = a.RowIdx[p], lo = Math.Min(i, j), hi = Math.Max(i, j);
                    symOnA.Values[p] = a.Values[p] * (0.5 + (uint)(lo * 7919 + hi * 104729 + c.Seed) % 1000 / 1000.0);
                }
            ldl.Refactorize(symOnA);
            var fresh = SparseLdl.Factorize(symOnA, order, partner);
            var b = RandomVector(a.Rows, c.Seed + 2);
            Assert.Equal(SolveWith(fresh, b), SolveWith(ldl, b));
            Assert.Equal(1, ldl.RefactorCount);
        }, iter: 100);
    }

    [Fact]
    public void Badly_scaled_opf_kkt_matrices_solve_to_a_small_backward_error_with_refinement()
    {
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var a = OpfKkt(8, seed);
            var order = MinimumDegree.OrderSaddlePoint(a, out var partner);
            var ldl = SparseLdl.Factorize(a, order, partner);
            var b = RandomVector(a.Rows, seed);
            var x = SolveWith(ldl, b);
            for (int pass = 0; pass < 3; pass++)
            {
                var r = Multiply(a, x);
                for (int i = 0; i < r.Length; i++) r[i] = b[i] - r[i];
                ldl.Solve(r);
                for (int i = 0; i < r.Length; i++) x[i] += r[i];
            }
            double omega = Residual(a, x, b) / Scale(a, x, b);
            Assert.True(omega < 1e-14, $"seed {seed}: backward error {omega}");
        }
    }

    [Fact]
    public void Symmetric_positive_definite_matrices_in_any_order_match_the_dense_solve()
    {
        Gen.Select(Gen.Int[1, 12], Gen.Int[1, 12], Gen.Int).Sample((m, k, seed) =>
        {
            var a = Grid(m, k);
            var rnd = new Random(seed);
            var order = Enumerable.Range(0, a.Cols).OrderBy(_ => rnd.Next()).ToArray();
            var ldl = SparseLdl.Factorize(a, order);
            Assert.Equal(0, ldl.PerturbedPivots);
            Assert.Equal(0, ldl.Blocks);
            var b = RandomVector(a.Rows, seed);
            var x = SolveWith(ldl, b);
            Assert.True(Residual(a, x, b) < 1e-12, $"residual {Residual(a, x, b)}");
        }, iter: 100);
    }

    [Fact]
    public void Tiny_pivots_are_perturbed_and_counted_not_divided_by()
    {
        // a singular matrix: [[1, 1], [1, 1]]; the second pivot is 0
        var t = new TripletBuilder(2, 2);
        t.Add(0, 0, 1); t.Add(0, 1, 1); t.Add(1, 0, 1); t.Add(1, 1, 1);
        var ldl = SparseLdl.Factorize(t.ToCsc(), [0, 1]);
        Assert.Equal(1, ldl.PerturbedPivots);
        var x = SolveWith(ldl, [2, 2]);
        Assert.All(x, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Bad_input_is_refused_with_the_reason()
    {
        var a = Grid(2, 2);
        Assert.Contains("permutation", Assert.Throws<ArgumentException>(() => SparseLdl.Factorize(a, [0, 0, 1, 2])).Message);
        Assert.Contains("one entry per column", Assert.Throws<ArgumentException>(() => SparseLdl.Factorize(a, [0, 1, 2])).Message);
        var nan = WithValues(a, (_, v) => double.NaN);
        Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => SparseLdl.Factorize(nan, [0, 1, 2, 3])).Message);
        var ldl = SparseLdl.Factorize(a, [0, 1, 2, 3]);
        Assert.Contains("pattern", Assert.Throws<ArgumentException>(() => ldl.Refactorize(Grid(2, 3))).Message);
        Assert.Throws<ArgumentException>(() => ldl.Solve(new double[3]));
    }
}
