using CsCheck;
using OpenTE.Numerics.Sparse;
using static OpenTE.Numerics.Tests.TestMatrices;

namespace OpenTE.Numerics.Tests;

public class SparseLuTests
{
    public sealed record LuCase(int N, int Seed, double Density, MatrixKind Kind, Ordering Ordering, double Tolerance, bool ByOrder)
    {
        public SparseMatrix Matrix() => TestMatrices.Random(N, Seed, Density, Kind);
        public LuOptions Options() => new() { Ordering = Ordering, PivotTolerance = Tolerance, OffDiagonalPivotsByOrder = ByOrder };
    }

    private static readonly Gen<LuCase> Cases = Gen.Select(
        Gen.Int[1, 60], Gen.Int, Gen.Double[0.0, 0.3], Gen.Enum<MatrixKind>(), Gen.Enum<Ordering>(),
        Gen.OneOf(1.0, 0.1, 0.01), Gen.Bool,
        (n, seed, density, kind, ordering, tol, byOrder) => new LuCase(n, seed, density, kind, ordering, tol, byOrder));

    [Fact]
    public void Solve_and_solve_transpose_agree_with_a_dense_lu()
    {
        int solved = 0, singular = 0;
        var kinds = new HashSet<MatrixKind>();
        Cases.Sample(c =>
        {
            var a = c.Matrix();
            var dense = DenseLu.TryFactor(a.ToDense());
            if (dense is null)
            {
                // singular to working accuracy: the sparse LU refuses it, or its pivots show it
                try
                {
                    var bad = SparseLU.Factorize(a, c.Options());
                    Assert.True(bad.PivotRatio < 1e-10, $"dense LU says singular, sparse pivot ratio {bad.PivotRatio}");
                }
                catch (SingularMatrixException) { }
                Interlocked.Increment(ref singular);
                return;
            }
            if (dense.Cond > 1e8) return; // too ill-conditioned to compare solutions
            var lu = SparseLU.Factorize(a, c.Options());
            Assert.Equal(c.N, lu.N);
            Assert.Equal(lu.NnzL + lu.NnzU - c.N, lu.Fill);
            var b = RandomVector(c.N, c.Seed ^ 0x5bd1e995);

            var x = (double[])b.Clone();
            lu.Solve(x);
            Assert.True(Residual(a, x, b) <= 1e-9 * Scale(a, x, b), $"A x = b residual {Residual(a, x, b)}");
            var xd = dense.Solve(b);
            double tolX = 1e-6 * Math.Max(1, NormInf(xd));
            for (int i = 0; i < c.N; i++) Assert.True(Math.Abs(xd[i] - x[i]) <= tolX, $"x[{i}] = {x[i]}, dense {xd[i]}");

            var y = (double[])b.Clone();
            lu.SolveTranspose(y);
            Assert.True(Residual(a, y, b, transpose: true) <= 1e-9 * Scale(a, y, b, transpose: true),
                $"Aᵀ y = b residual {Residual(a, y, b, transpose: true)}");
            lock (kinds) kinds.Add(c.Kind);
            Interlocked.Increment(ref solved);
        }, iter: 600, threads: 1);
        Assert.True(solved > 300, $"only {solved} nonsingular samples ({singular} singular)");
        Assert.Equal(4, kinds.Count);
    }

    [Fact]
    public void Zero_diagonal_matrices_are_factorised_with_off_diagonal_pivots()
    {
        Gen.Select(Gen.Int[2, 40], Gen.Int, Gen.Double[0.0, 0.2]).Sample((n, seed, density) =>
        {
            var a = TestMatrices.Random(n, seed, density, MatrixKind.ZeroDiagonal);
            if (DenseLu.TryFactor(a.ToDense()) is not { Cond: < 1e8 }) return;
            var lu = SparseLU.Factorize(a);
            var rows = lu.RowOrder;
            var cols = lu.ColumnOrder;
            // no diagonal entry exists: the first step must pivot off the diagonal (later ones may use fill)
            Assert.NotEqual(cols[0], rows[0]);
            Assert.Equal(Enumerable.Range(0, n), rows.Order());
            Assert.Equal(Enumerable.Range(0, n), cols.Order());
            var b = RandomVector(n, seed);
            var x = (double[])b.Clone();
            lu.Solve(x);
            Assert.True(Residual(a, x, b) <= 1e-9 * Scale(a, x, b));
        }, iter: 200, threads: 1);
    }

    [Fact]
    public void Random_kkt_systems_solve_with_every_ordering()
    {
        Gen.Select(Gen.Int[1, 30], Gen.Double[0.0, 1.0], Gen.Int, Gen.Double[0.0, 0.3], Gen.Enum<Ordering>(), Gen.OneOf(0.1, 1e-3)).Sample(
            (nv, mFrac, seed, density, ordering, tol) =>
            {
                int m = (int)(mFrac * nv);
                var k = Kkt(nv, m, seed, density);
                var dense = DenseLu.TryFactor(k.ToDense());
                if (dense is not { Cond: < 1e8 }) return;
                var lu = SparseLU.Factorize(k, new LuOptions { Ordering = ordering, PivotTolerance = tol });
                var b = RandomVector(nv + m, seed);
                var x = (double[])b.Clone();
                lu.Solve(x);
                Assert.True(Residual(k, x, b) <= 1e-9 * Scale(k, x, b), $"residual {Residual(k, x, b)}");
                var xd = dense.Solve(b);
                for (int i = 0; i < x.Length; i++) Assert.Equal(xd[i], x[i], 1e-6 * Math.Max(1, NormInf(xd)));
            }, iter: 300, threads: 1);
    }

    [Fact]
    public void Refactorize_with_new_values_equals_a_fresh_factorisation()
    {
        int repivoted = 0, total = 0;
        Gen.Select(Cases, Gen.Double[0.0, 1.0]).Sample((c, change) =>
        {
            var a = c.Matrix();
            if (DenseLu.TryFactor(a.ToDense()) is not { Cond: < 1e8 }) return;
            var lu = SparseLU.Factorize(a, c.Options());
            // new values on the same pattern: a small drift, or (change > 0.7) arbitrary new values that
            // may make reused pivots unacceptable and force the fallback
            var rnd = new Random(c.Seed + 1);
            var a2 = WithValues(a, (_, v) => change > 0.7 ? rnd.NextDouble() * 2 - 1 : v * (1 + change * 0.1 * (rnd.NextDouble() - 0.5)));
            var dense2 = DenseLu.TryFactor(a2.ToDense());
            if (dense2 is not { Cond: < 1e8 })
            {
                try { lu.Refactorize(a2); } catch (SingularMatrixException) { }
                return;
            }
            lu.Refactorize(a2);
            Assert.Equal(1, lu.RefactorCount);
            var fresh = SparseLU.Factorize(a2, c.Options());
            var b = RandomVector(c.N, c.Seed);
            var x1 = (double[])b.Clone();
            var x2 = (double[])b.Clone();
            lu.Solve(x1);
            fresh.Solve(x2);
            Assert.True(Residual(a2, x1, b) <= 1e-9 * Scale(a2, x1, b), $"refactorised residual {Residual(a2, x1, b)}");
            double tolX = 1e-6 * Math.Max(1, NormInf(x2));
            for (int i = 0; i < c.N; i++) Assert.True(Math.Abs(x1[i] - x2[i]) <= tolX, $"x[{i}] {x1[i]} vs fresh {x2[i]}");
            var y = (double[])b.Clone();
            lu.SolveTranspose(y);
            Assert.True(Residual(a2, y, b, transpose: true) <= 1e-9 * Scale(a2, y, b, transpose: true));
            Interlocked.Add(ref repivoted, lu.RepivotCount);
            Interlocked.Increment(ref total);
        }, iter: 400, threads: 1);
        Assert.True(total > 200, $"only {total} usable samples");
        Assert.True(repivoted > 0, "no sample exercised the fallback");
    }

    [Fact]
    public void Refactorize_of_a_drifting_dominant_matrix_keeps_every_pivot()
    {
        var a = Grid(20, 20);
        var lu = SparseLU.Factorize(a);
        var rows = lu.RowOrder;
        for (int it = 1; it <= 5; it++)
        {
            var a2 = WithValues(a, (k, v) => v * (1 + 0.05 * Math.Sin(k * it)));
            lu.Refactorize(a2);
            var b = RandomVector(a.Rows, it);
            var x = (double[])b.Clone();
            lu.Solve(x);
            Assert.True(Residual(a2, x, b) <= 1e-12 * Scale(a2, x, b));
        }
        Assert.Equal(0, lu.RepivotCount);
        Assert.Equal(5, lu.RefactorCount);
        Assert.Equal(rows, lu.RowOrder);
    }

    [Fact]
    public void Refactorize_falls_back_to_fresh_pivoting_when_a_reused_pivot_vanishes()
    {
        // [[2, 1], [1, 1]] pivots on the diagonal; [[0, 1], [1, 1]] has a zero there
        var a = SparseMatrix.FromDense(new double[,] { { 2, 1 }, { 1, 1 } });
        var lu = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural });
        Assert.Equal([0, 1], lu.RowOrder);
        var a2 = new SparseMatrix(2, 2, a.ColPtr, a.RowIdx, [0, 1, 1, 1]);
        lu.Refactorize(a2);
        Assert.Equal(1, lu.RepivotCount);
        Assert.Equal([1, 0], lu.RowOrder);
        double[] x = [1, 2];
        lu.Solve(x);
        Assert.Equal(1, x[0], 12); // x + y = 2, y = 1
        Assert.Equal(1, x[1], 12);
    }

    [Fact]
    public void Refactorize_fallback_keeps_the_columns_before_the_failed_pivot()
    {
        // block diagonal: 10 blocks [[2, 1], [1, 1]]; the 7th block's diagonal pivot vanishes on refactorisation
        int blocks = 10, n = 2 * blocks;
        var t = new TripletBuilder(n, n);
        for (int k = 0; k < blocks; k++)
        {
            t.Add(2 * k, 2 * k, 2);
            t.Add(2 * k, 2 * k + 1, 1);
            t.Add(2 * k + 1, 2 * k, 1);
            t.Add(2 * k + 1, 2 * k + 1, 1 + k);
        }
        var a = t.ToCsc();
        var lu = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural });
        var a2 = WithValues(a, (_, v) => v);
        a2.Values[a2.ColPtr[12]] = 0; // entry (12, 12)
        lu.Refactorize(a2);
        Assert.Equal(1, lu.RepivotCount);
        var rows = lu.RowOrder;
        Assert.Equal(Enumerable.Range(0, 12), rows[..12]);
        Assert.Equal(13, rows[12]);
        var b = RandomVector(n, 3);
        var x = (double[])b.Clone();
        lu.Solve(x);
        Assert.True(Residual(a2, x, b) <= 1e-13 * Scale(a2, x, b));
        // and back: the original values refactorise on the new pivots without trouble
        lu.Refactorize(a);
        x = (double[])b.Clone();
        lu.Solve(x);
        Assert.True(Residual(a, x, b) <= 1e-13 * Scale(a, x, b));
    }

    [Fact]
    public void Threshold_keeps_an_acceptable_diagonal_and_plain_partial_pivoting_takes_the_largest()
    {
        var a = SparseMatrix.FromDense(new double[,] { { 0.5, 1 }, { 1, 1 } });
        var threshold = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural, PivotTolerance = 0.1 });
        Assert.Equal([0, 1], threshold.RowOrder);
        var partial = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural, PivotTolerance = 1.0 });
        Assert.Equal([1, 0], partial.RowOrder);
        foreach (var lu in new[] { threshold, partial })
        {
            double[] x = [3, 4];
            lu.Solve(x);
            Assert.Equal(2, x[0], 12); // 0.5x + y = 3, x + y = 4
            Assert.Equal(2, x[1], 12);
        }
        // below the threshold the diagonal gives way
        var tiny = SparseMatrix.FromDense(new double[,] { { 0.05, 1 }, { 1, 1 } });
        Assert.Equal([1, 0], SparseLU.Factorize(tiny, new LuOptions { Ordering = Ordering.Natural }).RowOrder);
        Assert.Throws<ArgumentException>(() => SparseLU.Factorize(a, new LuOptions { PivotTolerance = 0 }));
        Assert.Throws<ArgumentException>(() => SparseLU.Factorize(a, new LuOptions { PivotTolerance = 1.5 }));
    }

    [Fact]
    public void Kkt_matrix_with_a_zero_block_is_solved()
    {
        // [H Aᵀ; A 0] with H = I (3x3), A = [1 1 1]: min ½|x|² s.t. Σx = 3 → x = 1, λ = −1
        var k = SparseMatrix.FromDense(new double[,] { { 1, 0, 0, 1 }, { 0, 1, 0, 1 }, { 0, 0, 1, 1 }, { 1, 1, 1, 0 } });
        foreach (var ordering in Enum.GetValues<Ordering>())
        {
            var lu = SparseLU.Factorize(k, new LuOptions { Ordering = ordering });
            double[] rhs = [0, 0, 0, 3];
            lu.Solve(rhs);
            Assert.Equal([1, 1, 1, -1], rhs.Select(v => Math.Round(v, 12)).ToArray());
        }
    }

    [Fact]
    public void Kkt_systems_fill_far_less_with_the_column_ordering_and_auto_picks_it()
    {
        var k = OpfKkt(12, 4);
        var b = RandomVector(k.Rows, 9);
        long Fill(Ordering ordering)
        {
            var lu = SparseLU.Factorize(k, new LuOptions { Ordering = ordering });
            var x = (double[])b.Clone();
            lu.Solve(x);
            Assert.True(Residual(k, x, b) <= 1e-9 * Scale(k, x, b), $"{ordering} residual {Residual(k, x, b)}");
            return lu.Fill;
        }
        long amd = Fill(Ordering.Amd), column = Fill(Ordering.ColumnMinimumDegree), saddle = Fill(Ordering.SaddlePoint);
        // the weak diagonals (−1e-8 constraint block, barrier-scaled angles) defeat the symmetric orders
        Assert.True(column < amd / 2, $"column order fill {column} vs AMD {amd}");
        Assert.True(column < saddle, $"column order fill {column} vs saddle point {saddle}");
        Assert.Equal(column, Fill(Ordering.Auto));
        // and on a matrix with a sound diagonal, Auto is AMD
        var g = Grid(20, 20);
        Assert.Equal(SparseLU.Factorize(g).Fill, SparseLU.Factorize(g, new LuOptions { Ordering = Ordering.Auto }).Fill);
    }

    [Fact]
    public void Column_ordering_skips_dense_rows()
    {
        // copper-plate dispatch KKT: 3000 generators and one balance row over all of them; AᵀA would be dense
        int ng = 3000, n = ng + 1;
        var t = new TripletBuilder(n, n, 4 * n);
        for (int i = 0; i < ng; i++)
        {
            t.Add(i, i, 1 + i % 7);
            t.Add(ng, i, 1);
            t.Add(i, ng, 1);
        }
        var k = t.ToCsc();
        var perm = MinimumDegree.OrderColumns(k);
        Assert.Equal(Enumerable.Range(0, n), perm.Order());
        var lu = SparseLU.Factorize(k, new LuOptions { Ordering = Ordering.ColumnMinimumDegree });
        Assert.True(lu.Fill <= 3L * n, $"fill {lu.Fill}");
        var b = RandomVector(n, 1);
        var x = (double[])b.Clone();
        lu.Solve(x);
        Assert.True(Residual(k, x, b) <= 1e-12 * Scale(k, x, b));
    }

    [Fact]
    public void Singular_and_structurally_singular_matrices_are_refused_naming_the_column()
    {
        var zeroColumn = SparseMatrix.FromDense(new double[,] { { 1, 0, 2 }, { 3, 0, 4 }, { 5, 0, 6 } });
        var ex = Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(zeroColumn));
        Assert.Contains("column 1", ex.Message);
        Assert.Equal(1, ex.Column);
        Assert.IsAssignableFrom<InvalidOperationException>(ex);

        // columns 1 and 3 both live in row 0 only: no perfect matching, whatever the values
        var structural = SparseMatrix.FromDense(new double[,] { { 0, 5, 0, 7 }, { 3, 0, 4, 0 }, { 0, 0, 6, 0 }, { 1, 0, 2, 0 } });
        foreach (var ordering in Enum.GetValues<Ordering>())
        {
            var e = Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(structural, new LuOptions { Ordering = ordering }));
            Assert.Contains(e.Column, new[] { 1, 3 });
            Assert.Contains($"column {e.Column}", e.Message);
        }

        var rankOne = SparseMatrix.FromDense(new double[,] { { 1, 2 }, { 2, 4 } });
        Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(rankOne));
        Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(new SparseMatrix(3, 3, new int[4], [], [])));
        // an explicit zero keeps the pattern but cannot be a pivot
        var explicitZero = SparseMatrix.FromTriplets(2, 2, [0, 1], [0, 1], [1.0, 0.0]);
        Assert.Equal(1, Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(explicitZero)).Column);
    }

    [Fact]
    public void Bad_input_is_refused()
    {
        Assert.Throws<ArgumentException>(() => SparseLU.Factorize(SparseMatrix.FromDense(new double[,] { { 1, 2, 3 } })));
        var nan = Assert.Throws<ArgumentException>(() => SparseLU.Factorize(SparseMatrix.FromDense(new double[,] { { 1, 0 }, { double.NaN, 1 } })));
        Assert.Contains("(1, 0)", nan.Message);
        var inf = Assert.Throws<ArgumentException>(() => SparseLU.Factorize(SparseMatrix.FromDense(new double[,] { { 1, double.PositiveInfinity }, { 0, 1 } })));
        Assert.Contains("(0, 1)", inf.Message);
        Assert.Throws<ArgumentException>(() => SparseLU.Factorize(Grid(2, 2), new LuOptions { ColumnOrder = [0, 1, 1, 2] }));
        Assert.Throws<ArgumentException>(() => SparseLU.Factorize(Grid(2, 2), new LuOptions { ColumnOrder = [0, 1, 2] }));

        var a = SparseMatrix.FromDense(new double[,] { { 2, 1 }, { 1, 1 } });
        var lu = SparseLU.Factorize(a);
        Assert.Throws<ArgumentException>(() => lu.Refactorize(SparseMatrix.FromDense(new double[,] { { 2, 0 }, { 1, 1 } })));
        Assert.Throws<ArgumentException>(() => lu.Refactorize(WithValues(a, (k, v) => k == 2 ? double.NaN : v)));
        Assert.Throws<ArgumentException>(() => lu.Solve(new double[3]));
        Assert.Throws<ArgumentException>(() => lu.SolveTranspose(new double[1]));
        // the refused refactorisations left the factors intact
        double[] x = [3, 2];
        lu.Solve(x);
        Assert.Equal(new double[] { 1, 1 }, x.Select(v => Math.Round(v, 12)).ToArray());
    }

    [Fact]
    public void A_failed_refactorisation_invalidates_the_factors_until_the_next_one_succeeds()
    {
        var a = SparseMatrix.FromDense(new double[,] { { 2, 1 }, { 1, 1 } });
        var lu = SparseLU.Factorize(a);
        Assert.Throws<SingularMatrixException>(() => lu.Refactorize(WithValues(a, (_, _) => 1)));
        Assert.Throws<InvalidOperationException>(() => lu.Solve(new double[2]));
        Assert.Throws<InvalidOperationException>(() => lu.SolveTranspose(new double[2]));
        lu.Refactorize(a);
        double[] x = [3, 2];
        lu.Solve(x);
        Assert.Equal(new double[] { 1, 1 }, x.Select(v => Math.Round(v, 12)).ToArray());
    }

    [Fact]
    public void Out_of_place_solves_leave_the_right_hand_side_alone()
    {
        var a = TestMatrices.Random(30, 7, 0.1, MatrixKind.General);
        var lu = SparseLU.Factorize(a);
        var b = RandomVector(30, 1);
        var copy = (double[])b.Clone();
        var x = new double[30];
        lu.Solve(b, x);
        Assert.Equal(copy, b);
        var inPlace = (double[])b.Clone();
        lu.Solve(inPlace);
        Assert.Equal(inPlace, x);
        lu.SolveTranspose(b, x);
        Assert.Equal(copy, b);
        Assert.True(Residual(a, x, b, transpose: true) <= 1e-10 * Scale(a, x, b, transpose: true));
    }

    [Fact]
    public void Small_and_trivial_matrices()
    {
        var empty = SparseLU.Factorize(new SparseMatrix(0, 0, [0], [], []));
        Assert.Equal(0, empty.N);
        Assert.Equal(0, empty.Fill);
        empty.Solve(Span<double>.Empty);

        var one = SparseLU.Factorize(SparseMatrix.FromDense(new double[,] { { -4 } }));
        double[] x = [2];
        one.Solve(x);
        Assert.Equal(-0.5, x[0]);

        var id = SparseLU.Factorize(SparseMatrix.Identity(50));
        Assert.Equal(50, id.Fill);
        Assert.Equal(50, id.NnzL);
        Assert.Equal(50, id.NnzU);
        Assert.Equal(1, id.PivotRatio);

        // tridiagonal in natural order: no fill at all
        var tri = new TripletBuilder(40, 40);
        for (int i = 0; i < 40; i++)
        {
            tri.Add(i, i, 4);
            if (i > 0) { tri.Add(i, i - 1, -1); tri.Add(i - 1, i, -1); }
        }
        var t = SparseLU.Factorize(tri.ToCsc(), new LuOptions { Ordering = Ordering.Natural });
        Assert.Equal(3 * 40 - 2, t.Fill);
        Assert.Equal(2 * 40 - 1, t.NnzL);
    }

    [Fact]
    public void Four_thousand_node_grid_factorises_refactorises_and_solves()
    {
        var a = Grid(64, 64);
        var lu = SparseLU.Factorize(a);
        Assert.True(lu.Fill < 40L * a.Rows, $"fill {lu.Fill}");
        var b = RandomVector(a.Rows, 2);
        var x = (double[])b.Clone();
        lu.Solve(x);
        Assert.True(Residual(a, x, b) <= 1e-12 * Scale(a, x, b));
        var a2 = WithValues(a, (k, v) => v * (1 + 0.01 * Math.Cos(k)));
        lu.Refactorize(a2);
        Assert.Equal(0, lu.RepivotCount);
        x = (double[])b.Clone();
        lu.SolveTranspose(x);
        Assert.True(Residual(a2, x, b, transpose: true) <= 1e-12 * Scale(a2, x, b, transpose: true));
    }
}
