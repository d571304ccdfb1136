using CsCheck;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Tests;

public class SparseMatrixTests
{
    private static double[,] RandomDense(Random rnd, int rows, int cols, double density)
    {
        var d = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                d[i, j] = rnd.NextDouble() < density ? rnd.Next(-5, 6) : 0;
        return d;
    }

    /// <summary>Column pointers monotone, row indices in range, sorted and distinct within each column.</summary>
    private static void AssertCsc(SparseMatrix m)
    {
        Assert.Equal(m.Cols + 1, m.ColPtr.Length);
        Assert.Equal(0, m.ColPtr[0]);
        Assert.Equal(m.Nnz, m.ColPtr[m.Cols]);
        for (int j = 0; j < m.Cols; j++)
        {
            Assert.True(m.ColPtr[j] <= m.ColPtr[j + 1]);
            for (int p = m.ColPtr[j]; p < m.ColPtr[j + 1]; p++)
            {
                Assert.InRange(m.RowIdx[p], 0, m.Rows - 1);
                if (p > m.ColPtr[j]) Assert.True(m.RowIdx[p - 1] < m.RowIdx[p], "rows sorted and distinct");
            }
        }
    }

    [Fact]
    public void Triplet_duplicates_are_summed_explicit_zeros_kept_and_slots_map_back()
    {
        var m = SparseMatrix.FromTriplets(3, 3, [0, 2, 0, 1, 0], [0, 1, 0, 1, 2], [1, 2, 3, 0, 5], out var slot);
        AssertCsc(m);
        Assert.Equal(4, m.Nnz); // the explicit zero at (1,1) is kept
        Assert.Equal(4, m[0, 0]);
        Assert.Equal(0, m[1, 1]);
        Assert.Equal(2, m[2, 1]);
        Assert.Equal(0, m[2, 2]); // not stored
        Assert.Equal(slot[0], slot[2]);
        Assert.Equal(5, m.Values[slot[4]]);
        Assert.Equal(m.Nnz, SparseMatrix.FromTriplets(3, 3, [0, 2, 0, 1, 0], [0, 1, 0, 1, 2], [1, 2, -1, 0, 5]).Nnz); // cancelling duplicates stay
    }

    [Fact]
    public void Triplets_out_of_range_are_refused_naming_the_triplet()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SparseMatrix.FromTriplets(2, 2, [0, 2], [0, 0], [1.0, 1.0]));
        Assert.Contains("triplet 1 (2, 0)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseMatrix.FromTriplets(2, 2, [0], [-1], [1.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseMatrix.FromTriplets(2, 3, [0], [3], [1.0]));
        Assert.Throws<ArgumentException>(() => SparseMatrix.FromTriplets(2, 2, [0, 1], [0], [1.0]));
        var b = new TripletBuilder(2, 2);
        b.Add(5, 0, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.ToCsc());
    }

    [Fact]
    public void Random_triplets_build_the_dense_sum()
    {
        Gen.Select(Gen.Int[0, 15], Gen.Int[0, 15], Gen.Int[0, 120], Gen.Int).Sample((rows, cols, count, seed) =>
        {
            if (rows == 0 || cols == 0) count = 0;
            var rnd = new Random(seed);
            var dense = new double[rows, cols];
            var b = new TripletBuilder(rows, cols, 2);
            for (int k = 0; k < count; k++)
            {
                int i = rnd.Next(rows), j = rnd.Next(cols);
                double v = rnd.Next(-3, 4);
                dense[i, j] += v;
                b.Add(i, j, v);
            }
            Assert.Equal(count, b.Count);
            var m = b.ToCsc(out var slots);
            AssertCsc(m);
            Assert.Equal(dense, m.ToDense());
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    Assert.Equal(dense[i, j], m[i, j]);
            // refill with new values through the slot map, as a Newton iteration would
            var newValues = new double[count];
            var dense2 = new double[rows, cols];
            var tri = new TripletBuilder(rows, cols);
            for (int k = 0; k < count; k++)
            {
                newValues[k] = rnd.NextDouble();
                dense2[b.RowIndices[k], b.ColIndices[k]] += newValues[k];
                tri.Add(b.RowIndices[k], b.ColIndices[k], newValues[k]);
            }
            m.SetValuesFromTriplets(slots, newValues);
            var rebuilt = tri.ToCsc();
            Assert.True(m.SamePattern(rebuilt));
            Assert.Equal(rebuilt.Values, m.Values);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    Assert.Equal(dense2[i, j], m[i, j], 12);
        }, iter: 300);
    }

    [Fact]
    public void Triplet_builder_grows_clears_and_refills_a_fixed_pattern()
    {
        var b = new TripletBuilder(3, 3, capacity: 1);
        for (int k = 0; k < 100; k++) b.Add(k % 3, (k / 3) % 3, 1);
        Assert.Equal(100, b.Count);
        var m = b.ToCsc(out var slots);
        Assert.Equal(9, m.Nnz);
        Assert.Equal(12, m[0, 0]); // k = 0, 9, 18, ..., 99: k ≡ 0 (mod 9)
        b.Clear();
        Assert.Equal(0, b.Count);
        for (int k = 0; k < 100; k++) b.Add(k % 3, (k / 3) % 3, 2);
        m.SetValuesFromTriplets(slots, b.Values);
        Assert.Equal(24, m[0, 0]);
        Assert.Throws<ArgumentException>(() => m.SetValuesFromTriplets(slots, new double[3]));
    }

    [Fact]
    public void Products_transpose_and_sums_agree_with_dense_arithmetic()
    {
        Gen.Select(Gen.Int[1, 12], Gen.Int[1, 12], Gen.Int[1, 12], Gen.Int).Sample((r, k, c, seed) =>
        {
            var rnd = new Random(seed);
            var a = RandomDense(rnd, r, k, 0.3);
            var b = RandomDense(rnd, k, c, 0.3);
            var a2 = RandomDense(rnd, r, k, 0.3);
            var sa = SparseMatrix.FromDense(a);
            var sb = SparseMatrix.FromDense(b);
            var sa2 = SparseMatrix.FromDense(a2);
            AssertCsc(sa);
            Assert.Equal(a, sa.ToDense());

            var prod = sa.Multiply(sb);
            AssertCsc(prod);
            var pd = prod.ToDense();
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                {
                    double s = 0;
                    for (int t = 0; t < k; t++) s += a[i, t] * b[t, j];
                    Assert.Equal(s, pd[i, j], 12);
                }

            var at = sa.Transpose();
            AssertCsc(at);
            var atd = at.ToDense();
            for (int i = 0; i < r; i++) for (int j = 0; j < k; j++) Assert.Equal(a[i, j], atd[j, i]);
            var att = at.Transpose();
            Assert.True(att.SamePattern(sa));
            Assert.Equal(sa.Values, att.Values);

            var x = Enumerable.Range(0, k).Select(i => (double)i - 2).ToArray();
            var y = new double[r];
            sa.Multiply(x, y);
            for (int i = 0; i < r; i++) Assert.Equal(Enumerable.Range(0, k).Sum(t => a[i, t] * x[t]), y[i], 12);
            sa.MultiplyAdd(x, y);
            for (int i = 0; i < r; i++) Assert.Equal(2 * Enumerable.Range(0, k).Sum(t => a[i, t] * x[t]), y[i], 12);
            var z = Enumerable.Range(0, r).Select(i => 1.5 - i).ToArray();
            var w = new double[k];
            sa.MultiplyTranspose(z, w);
            for (int j = 0; j < k; j++) Assert.Equal(Enumerable.Range(0, r).Sum(i => a[i, j] * z[i]), w[j], 12);

            var sum = sa.Add(sa2, 2, -3);
            AssertCsc(sum);
            var sd = sum.ToDense();
            for (int i = 0; i < r; i++) for (int j = 0; j < k; j++) Assert.Equal(2 * a[i, j] - 3 * a2[i, j], sd[i, j], 12);
            foreach (double v in sa.Add(sa, 1, -1).ToDense()) Assert.Equal(0, v);
            var scaled = sa.Scale(-0.5);
            Assert.True(scaled.SamePattern(sa));
            for (int p = 0; p < sa.Nnz; p++) Assert.Equal(-0.5 * sa.Values[p], scaled.Values[p]);

            double norm = 0;
            for (int i = 0; i < r; i++) norm = Math.Max(norm, Enumerable.Range(0, k).Sum(t => Math.Abs(a[i, t])));
            Assert.Equal(norm, sa.NormInf(), 12);
        }, iter: 200);
    }

    [Fact]
    public void Shape_mismatches_are_refused()
    {
        var a = SparseMatrix.FromDense(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Throws<ArgumentException>(() => a.Multiply(a));
        Assert.Throws<ArgumentException>(() => a.Add(a.Transpose()));
        Assert.Throws<ArgumentException>(() => a.Multiply(new double[2], new double[2]));
        Assert.Throws<ArgumentException>(() => a.MultiplyTranspose(new double[1], new double[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => a[2, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => a[0, -1]);
        Assert.Throws<ArgumentException>(() => new SparseMatrix(2, 2, [0, 1], [0], [1.0]));
    }

    [Fact]
    public void Submatrix_selects_rows_and_columns_in_the_order_given()
    {
        var a = SparseMatrix.FromDense(new double[,] { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } });
        Assert.Equal(new double[,] { { 8, 9 }, { 2, 3 } }, a.SubMatrix([2, 0], [1, 2]).ToDense());
        Assert.Equal(new double[,] { { 3, 1 }, { 3, 1 }, { 6, 4 } }, a.SubMatrix([0, 0, 1], [2, 0]).ToDense());
        Assert.Equal(0, a.SubMatrix([], [0, 1]).Nnz);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.SubMatrix([3], [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.SubMatrix([0], [-1]));

        Gen.Select(Gen.Int[1, 10], Gen.Int[1, 10], Gen.Int).Sample((r, c, seed) =>
        {
            var rnd = new Random(seed);
            var d = RandomDense(rnd, r, c, 0.4);
            var rows = Enumerable.Range(0, rnd.Next(0, 12)).Select(_ => rnd.Next(r)).ToArray();
            var cols = Enumerable.Range(0, rnd.Next(0, 12)).Select(_ => rnd.Next(c)).ToArray();
            var s = SparseMatrix.FromDense(d).SubMatrix(rows, cols);
            AssertCsc(s);
            var sd = s.ToDense();
            for (int i = 0; i < rows.Length; i++)
                for (int j = 0; j < cols.Length; j++)
                    Assert.Equal(d[rows[i], cols[j]], sd[i, j]);
        }, iter: 200);
    }

    [Fact]
    public void Identity_dense_round_trip_and_pattern_comparison()
    {
        var id = SparseMatrix.Identity(4);
        Assert.Equal(4, id.Nnz);
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) Assert.Equal(i == j ? 1 : 0, id[i, j]);
        var a = SparseMatrix.FromDense(new double[,] { { 0, 2 }, { 3, 0 } });
        Assert.Equal(2, a.Nnz);
        Assert.Equal(new double[,] { { 0, 2 }, { 3, 0 } }, a.ToDense());
        Assert.Equal(a.ToDense(), a.Multiply(SparseMatrix.Identity(2)).ToDense());
        Assert.True(a.SamePattern(a.Scale(7)));
        Assert.False(a.SamePattern(SparseMatrix.Identity(2)));
        Assert.False(a.SamePattern(SparseMatrix.FromDense(new double[,] { { 0, 2, 0 }, { 3, 0, 0 } })));
        Assert.Equal(0, new SparseMatrix(0, 0, [0], [], []).NormInf());
    }
}
