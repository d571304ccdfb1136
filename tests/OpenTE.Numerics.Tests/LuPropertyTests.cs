using CsCheck;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Tests;

public class LuPropertyTests
{
    /// <summary>Random sparse square matrix; some with zero diagonal entries (forcing off-diagonal pivots), some permuted.</summary>
    internal static SparseMatrix RandomMatrix(int n, int seed, double density, bool dominant)
    {
        var rnd = new Random(seed);
        var b = new TripletBuilder(n, n);
        var perm = Enumerable.Range(0, n).OrderBy(_ => rnd.Next()).ToArray();
        for (int i = 0; i < n; i++)
        {
            // a guaranteed nonzero per row in a permuted position keeps most matrices nonsingular
            b.Add(i, perm[i], (dominant ? n + 1 : 1) * (rnd.NextDouble() + 0.5) * (rnd.Next(2) == 0 ? -1 : 1));
            for (int j = 0; j < n; j++)
                if (rnd.NextDouble() < density) b.Add(i, j, rnd.NextDouble() * 2 - 1);
        }
        return b.ToCsc();
    }

    private static readonly Gen<(int N, int Seed, double Density, bool Dominant)> Matrices =
        Gen.Select(Gen.Int[1, 60], Gen.Int, Gen.Double[0.0, 0.25], Gen.Bool);

    private static double Residual(SparseMatrix a, double[] x, double[] b, bool transpose)
    {
        var ax = new double[a.Rows];
        if (transpose) a.MultiplyTranspose(x, ax); else a.Multiply(x, ax);
        double r = 0;
        for (int i = 0; i < ax.Length; i++) r = Math.Max(r, Math.Abs(ax[i] - b[i]));
        return r;
    }

    private static double Scale(SparseMatrix a, double[] x, double[] b) =>
        a.NormInf() * x.Max(Math.Abs) + b.Max(Math.Abs) + 1e-300;

    [Fact]
    public void Solve_and_solve_transpose_agree_with_a_dense_lu()
    {
        int solved = 0;
        Matrices.Sample(t =>
        {
            var a = RandomMatrix(t.N, t.Seed, t.Density, t.Dominant);
            var dense = DenseLu.TryFactor(a.ToDense());
            if (dense is null) // singular: the sparse LU must say so too
            {
                Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(a));
                return;
            }
            if (dense.Value.Cond > 1e10) return; // too ill-conditioned to compare
            var lu = SparseLU.Factorize(a);
            var rnd = new Random(t.Seed ^ 0x5bd1e995);
            var b = Enumerable.Range(0, t.N).Select(_ => rnd.NextDouble() * 10 - 5).ToArray();
            var x = (double[])b.Clone();
            lu.Solve(x);
            Assert.True(Residual(a, x, b, false) <= 1e-9 * Scale(a, x, b), "A x = b residual");
            var xd = dense.Value.Solve(b);
            for (int i = 0; i < t.N; i++) Assert.Equal(xd[i], x[i], 6);
            var y = (double[])b.Clone();
            lu.SolveTranspose(y);
            Assert.True(Residual(a, y, b, true) <= 1e-9 * Scale(a, y, b), "Aᵀ y = b residual");
            Interlocked.Increment(ref solved);
        }, iter: 400, threads: 1);
        Assert.True(solved > 100, $"only {solved} nonsingular samples");
    }

    [Fact]
    public void Refactorize_with_new_values_equals_a_fresh_factorisation()
    {
        Matrices.Sample(t =>
        {
            var a = RandomMatrix(t.N, t.Seed, t.Density, dominant: true);
            var lu = SparseLU.Factorize(a);
            var rnd = new Random(t.Seed + 1);
            var values = a.Values.Select(v => v * (0.5 + rnd.NextDouble())).ToArray();
            var a2 = new SparseMatrix(a.Rows, a.Cols, a.ColPtr, a.RowIdx, values);
            lu.Refactorize(a2);
            var fresh = SparseLU.Factorize(a2);
            var b = Enumerable.Range(0, t.N).Select(i => (double)(i % 7) - 3).ToArray();
            var x1 = (double[])b.Clone();
            var x2 = (double[])b.Clone();
            lu.Solve(x1);
            fresh.Solve(x2);
            for (int i = 0; i < t.N; i++) Assert.Equal(x2[i], x1[i], 8);
        }, iter: 200, threads: 1);
    }

    [Fact]
    public void Refactorize_falls_back_to_fresh_pivoting_when_a_reused_pivot_vanishes()
    {
        // [[2, 1], [1, 1]] pivots on the diagonal; [[0, 1], [1, 1]] has a zero there
        var a = SparseMatrix.FromDense(new double[,] { { 2, 1 }, { 1, 1 } });
        var lu = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural });
        var a2 = new SparseMatrix(2, 2, a.ColPtr, a.RowIdx, [0, 1, 1, 1]);
        lu.Refactorize(a2);
        Assert.Equal(1, lu.RepivotCount);
        double[] x = [1, 2];
        lu.Solve(x);
        Assert.Equal(1, x[0], 12); // x + y = 2, y = 1
        Assert.Equal(1, x[1], 12);
    }

    [Fact]
    public void Singular_and_structurally_singular_matrices_are_refused()
    {
        var zeroColumn = SparseMatrix.FromDense(new double[,] { { 1, 0, 2 }, { 3, 0, 4 }, { 5, 0, 6 } });
        var ex = Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(zeroColumn));
        Assert.Contains("column 1", ex.Message);
        var rankOne = SparseMatrix.FromDense(new double[,] { { 1, 2 }, { 2, 4 } });
        Assert.Throws<SingularMatrixException>(() => SparseLU.Factorize(rankOne));
        Assert.Throws<ArgumentException>(() => SparseLU.Factorize(SparseMatrix.FromDense(new double[,] { { 1, 2, 3 } })));
        Assert.Throws<ArgumentException>(() => SparseLU.Factorize(SparseMatrix.FromDense(new double[,] { { double.NaN } })));
    }

    [Fact]
    public void Refactorize_refuses_a_different_pattern()
    {
        var a = SparseMatrix.FromDense(new double[,] { { 2, 1 }, { 1, 1 } });
        var lu = SparseLU.Factorize(a);
        Assert.Throws<ArgumentException>(() => lu.Refactorize(SparseMatrix.FromDense(new double[,] { { 2, 0 }, { 1, 1 } })));
    }

    [Fact]
    public void Zero_diagonal_symmetric_indefinite_kkt_matrix_is_factorised_with_off_diagonal_pivots()
    {
        // [H Aᵀ; A 0] with H = I (3x3), A = [1 1 1]
        var k = SparseMatrix.FromDense(new double[,] { { 1, 0, 0, 1 }, { 0, 1, 0, 1 }, { 0, 0, 1, 1 }, { 1, 1, 1, 0 } });
        var lu = SparseLU.Factorize(k, new LuOptions { Ordering = Ordering.Natural, PivotTolerance = 1.0 });
        double[] rhs = [0, 0, 0, 3];
        lu.Solve(rhs);
        // min ½|x|² s.t. Σx = 3 → x = 1, λ = −1
        Assert.Equal([1, 1, 1, -1], rhs.Select(v => Math.Round(v, 12)).ToArray());
    }
}

/// <summary>Dense LU with partial pivoting, the reference for the sparse LU in tests.</summary>
internal readonly struct DenseLu
{
    private readonly double[,] _lu;
    private readonly int[] _piv;
    public double Cond { get; }

    private DenseLu(double[,] lu, int[] piv, double cond)
    {
        _lu = lu;
        _piv = piv;
        Cond = cond;
    }

    public static DenseLu? TryFactor(double[,] a)
    {
        int n = a.GetLength(0);
        var lu = (double[,])a.Clone();
        var piv = Enumerable.Range(0, n).ToArray();
        double maxPivot = 0, minPivot = double.PositiveInfinity;
        for (int k = 0; k < n; k++)
        {
            int p = k;
            for (int i = k + 1; i < n; i++) if (Math.Abs(lu[i, k]) > Math.Abs(lu[p, k])) p = i;
            if (Math.Abs(lu[p, k]) < 1e-13) return null;
            if (p != k)
            {
                for (int j = 0; j < n; j++) (lu[k, j], lu[p, j]) = (lu[p, j], lu[k, j]);
                (piv[k], piv[p]) = (piv[p], piv[k]);
            }
            maxPivot = Math.Max(maxPivot, Math.Abs(lu[k, k]));
            minPivot = Math.Min(minPivot, Math.Abs(lu[k, k]));
            for (int i = k + 1; i < n; i++)
            {
                lu[i, k] /= lu[k, k];
                for (int j = k + 1; j < n; j++) lu[i, j] -= lu[i, k] * lu[k, j];
            }
        }
        return new DenseLu(lu, piv, n == 0 ? 1 : maxPivot / minPivot * n);
    }

    public double[] Solve(double[] b)
    {
        int n = b.Length;
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = b[_piv[i]];
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) x[i] -= _lu[i, j] * x[j];
        for (int i = n - 1; i >= 0; i--)
        {
            for (int j = i + 1; j < n; j++) x[i] -= _lu[i, j] * x[j];
            x[i] /= _lu[i, i];
        }
        return x;
    }
}
