using CsCheck;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Tests;

public class OrderingAndMatrixTests
{
    private static SparseMatrix GridLaplacian(int m)
    {
        int n = m * m;
        var b = new TripletBuilder(n, n);
        for (int r = 0; r < m; r++)
            for (int c = 0; c < m; c++)
            {
                int i = r * m + c;
                b.Add(i, i, 4.5);
                if (c + 1 < m) { b.Add(i, i + 1, -1); b.Add(i + 1, i, -1); }
                if (r + 1 < m) { b.Add(i, i + m, -1); b.Add(i + m, i, -1); }
            }
        return b.ToCsc();
    }

    [Fact]
    public void Minimum_degree_returns_a_permutation_and_reduces_fill_on_a_grid()
    {
        var a = GridLaplacian(30);
        var perm = MinimumDegree.Order(a);
        Assert.Equal(Enumerable.Range(0, a.Cols), perm.Order());
        long natural = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural }).Fill;
        long md = SparseLU.Factorize(a).Fill;
        Assert.True(md < natural * 0.75, $"fill with minimum degree {md} vs natural {natural}");
    }

    [Fact]
    public void Arrow_matrix_fills_completely_in_natural_order_but_not_with_minimum_degree()
    {
        int n = 200;
        var b = new TripletBuilder(n, n);
        for (int i = 0; i < n; i++)
        {
            b.Add(i, i, n);
            if (i > 0) { b.Add(0, i, 1); b.Add(i, 0, 1); }
        }
        var a = b.ToCsc();
        long natural = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural }).Fill;
        long md = SparseLU.Factorize(a).Fill;
        Assert.True(natural >= (long)n * n / 2, $"natural fill {natural}");
        Assert.True(md <= 3 * n, $"minimum-degree fill {md}");
    }

    [Fact]
    public void Triplet_duplicates_are_summed_and_slots_map_back()
    {
        var m = SparseMatrix.FromTriplets(3, 3, [0, 2, 0, 1, 0], [0, 1, 0, 1, 2], [1, 2, 3, 0, 5], out var slot);
        Assert.Equal(4, m.Nnz); // the explicit zero at (1,1) is kept
        Assert.Equal(4, m[0, 0]);
        Assert.Equal(0, m[1, 1]);
        Assert.Equal(slot[0], slot[2]);
        Assert.Equal(5, m.Values[slot[4]]);
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseMatrix.FromTriplets(2, 2, [2], [0], [1.0]));
    }

    [Fact]
    public void Products_and_transpose_agree_with_dense_arithmetic()
    {
        Gen.Select(Gen.Int[1, 12], Gen.Int[1, 12], Gen.Int[1, 12], Gen.Int).Sample((r, k, c, seed) =>
        {
            var rnd = new Random(seed);
            double[,] Dense(int rows, int cols)
            {
                var d = new double[rows, cols];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) d[i, j] = rnd.NextDouble() < 0.3 ? rnd.Next(-5, 6) : 0;
                return d;
            }
            var a = Dense(r, k);
            var b = Dense(k, c);
            var sa = SparseMatrix.FromDense(a);
            var sb = SparseMatrix.FromDense(b);
            var prod = sa.Multiply(sb).ToDense();
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                {
                    double s = 0;
                    for (int t = 0; t < k; t++) s += a[i, t] * b[t, j];
                    Assert.Equal(s, prod[i, j], 12);
                }
            var at = sa.Transpose().ToDense();
            for (int i = 0; i < r; i++) for (int j = 0; j < k; j++) Assert.Equal(a[i, j], at[j, i]);
            var x = Enumerable.Range(0, k).Select(i => (double)i - 2).ToArray();
            var y = new double[r];
            sa.Multiply(x, y);
            for (int i = 0; i < r; i++) Assert.Equal(Enumerable.Range(0, k).Sum(t => a[i, t] * x[t]), y[i], 12);
            var sum = sa.Add(sa, 1, -1).ToDense();
            foreach (double v in sum) Assert.Equal(0, v);
        }, iter: 200);
    }

    [Fact]
    public void Submatrix_selects_rows_and_columns_in_order()
    {
        var a = SparseMatrix.FromDense(new double[,] { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } });
        var s = a.SubMatrix([2, 0], [1, 2]).ToDense();
        Assert.Equal(new double[,] { { 8, 9 }, { 2, 3 } }, s);
    }
}
