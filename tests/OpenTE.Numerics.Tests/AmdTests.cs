using CsCheck;
using OpenTE.Numerics.Sparse;
using static OpenTE.Numerics.Tests.TestMatrices;

namespace OpenTE.Numerics.Tests;

public class AmdTests
{
    private static void AssertPermutation(int[] perm, int n) => Assert.Equal(Enumerable.Range(0, n), perm.Order());

    /// <summary>Fill of the factors when every diagonal pivot is taken in the given order (symmetric elimination).</summary>
    private static long Fill(SparseMatrix a, int[] order) => SparseLU.Factorize(a, new LuOptions { ColumnOrder = order }).Fill;

    private static int[] Natural(int n) => Enumerable.Range(0, n).ToArray();

    /// <summary>A random pattern: unsymmetric entries, optional diagonal, optional dense rows and columns.</summary>
    private static SparseMatrix RandomPattern(int n, int seed, double density, int denseCount, bool diagonal)
    {
        var rnd = new Random(seed);
        var b = new TripletBuilder(n, n);
        for (int j = 0; j < n; j++)
        {
            if (diagonal) b.Add(j, j, 1);
            for (int i = 0; i < n; i++)
                if (rnd.NextDouble() < density) b.Add(i, j, 1);
        }
        for (int d = 0; d < denseCount && n > 0; d++)
        {
            int h = rnd.Next(n);
            for (int i = 0; i < n; i++)
                if (rnd.Next(2) == 0) b.Add(h, i, 1); else b.Add(i, h, 1);
        }
        return b.ToCsc();
    }

    [Fact]
    public void Amd_returns_a_permutation_for_any_pattern()
    {
        Gen.Select(Gen.Int[0, 120], Gen.Int, Gen.Double[0.0, 0.3], Gen.Int[0, 3], Gen.Bool).Sample((n, seed, density, dense, diagonal) =>
        {
            var a = RandomPattern(n, seed, density / Math.Max(1, Math.Sqrt(n) / 3), dense, diagonal);
            var perm = Amd.Order(a);
            AssertPermutation(perm, n);
            Assert.Equal(perm, Amd.Order(a)); // deterministic
            AssertPermutation(Amd.Order(n, a.ColPtr, a.RowIdx, denseFactor: -1), n);
            AssertPermutation(Amd.Order(n, a.ColPtr, a.RowIdx, denseFactor: 0), n); // the lowest dense threshold (16)
        }, iter: 400);
    }

    [Fact]
    public void Amd_reduces_fill_on_a_grid_laplacian_about_as_well_as_exact_minimum_degree()
    {
        var a = Grid(30, 30);
        var perm = Amd.Order(a);
        AssertPermutation(perm, a.Cols);
        long amd = Fill(a, perm);
        long natural = Fill(a, Natural(a.Cols));
        long exact = Fill(a, MinimumDegree.Order(a));
        Assert.True(amd < natural / 2, $"fill with AMD {amd} vs natural {natural}");
        Assert.True(amd <= 1.15 * exact, $"fill with AMD {amd} vs exact minimum degree {exact}");
        // the default ordering of the LU is AMD
        Assert.Equal(amd, SparseLU.Factorize(a).Fill);
        Assert.Equal(amd, SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Amd }).Fill);
    }

    [Fact]
    public void Supervariables_of_a_block_grid_are_ordered_together()
    {
        // a 16x16 grid with a 3x3 dense block per node: the three unknowns of a node are indistinguishable
        int m = 16, bs = 3, n = m * m * bs;
        var g = Grid(m, m);
        var b = new TripletBuilder(n, n);
        for (int j = 0; j < g.Cols; j++)
            for (int p = g.ColPtr[j]; p < g.ColPtr[j + 1]; p++)
                for (int r = 0; r < bs; r++)
                    for (int c = 0; c < bs; c++)
                        b.Add(bs * g.RowIdx[p] + r, bs * j + c, g.RowIdx[p] == j ? (r == c ? 20 : 1) : -1);
        var a = b.ToCsc();
        var perm = Amd.Order(a);
        AssertPermutation(perm, n);
        // every node's unknowns come out consecutively
        for (int k = 0; k < n; k += bs)
            for (int t = 1; t < bs; t++) Assert.Equal(perm[k] / bs, perm[k + t] / bs);
        long amd = Fill(a, perm), natural = Fill(a, Natural(n));
        Assert.True(amd < natural / 2, $"block grid fill {amd} vs natural {natural}");
        long exact = Fill(a, MinimumDegree.Order(a));
        Assert.True(amd <= 1.15 * exact, $"block grid fill {amd} vs exact minimum degree {exact}");
    }

    [Fact]
    public void Arrow_matrix_fills_completely_in_natural_order_but_linearly_with_amd()
    {
        int n = 300;
        var a = Arrow(n);
        long natural = SparseLU.Factorize(a, new LuOptions { Ordering = Ordering.Natural }).Fill;
        var perm = Amd.Order(a);
        AssertPermutation(perm, n);
        Assert.Equal(0, perm[^1]); // the hub goes last
        long amd = SparseLU.Factorize(a).Fill;
        Assert.Equal((long)n * n, natural);
        Assert.Equal(3L * n - 2, amd);
        // also without dense-node removal, by degree alone
        var plain = Amd.Order(n, a.ColPtr, a.RowIdx, denseFactor: -1);
        Assert.Equal(3L * n - 2, Fill(a, plain));
    }

    [Fact]
    public void Twenty_thousand_node_grid_is_ordered_quickly_with_modest_fill()
    {
        var a = Grid(141, 141);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var perm = Amd.Order(a);
        sw.Stop();
        AssertPermutation(perm, a.Cols);
        long fill = Fill(a, perm);
        // nested-dissection-like growth: about 44 n here; natural order would be about 2·141·n
        Assert.True(fill < 60L * a.Cols, $"fill {fill} for n = {a.Cols} (ordered in {sw.ElapsedMilliseconds} ms)");
    }

    [Fact]
    public void Unsymmetric_patterns_are_ordered_by_a_plus_a_transpose()
    {
        // lower bidiagonal plus last row: A + Aᵀ is a path plus edges to the last node
        int n = 50;
        var b = new TripletBuilder(n, n);
        for (int i = 0; i < n; i++)
        {
            b.Add(i, i, 4);
            if (i > 0) b.Add(i, i - 1, 1);
            b.Add(n - 1, i, 1);
        }
        var a = b.ToCsc();
        var perm = Amd.Order(a);
        AssertPermutation(perm, n);
        // A + Aᵀ is a path whose nodes all touch the last one: eliminating along the path adds no fill
        Assert.True(Fill(a, perm) <= 3L * n, $"fill {Fill(a, perm)}");
        Assert.True(Fill(a.Transpose(), Amd.Order(a.Transpose())) <= 3L * n);
    }

    [Fact]
    public void Trivial_and_disconnected_patterns()
    {
        Assert.Empty(Amd.Order(0, [0], []));
        Assert.Equal([0], Amd.Order(SparseMatrix.Identity(1)));
        AssertPermutation(Amd.Order(SparseMatrix.Identity(10)), 10);
        // no entries at all
        AssertPermutation(Amd.Order(5, new int[6], []), 5);
        // two components: a 10x10 grid and a 40-node arrow
        var g = Grid(10, 10);
        var r = Arrow(40);
        var b = new TripletBuilder(140, 140);
        for (int j = 0; j < 100; j++) for (int p = g.ColPtr[j]; p < g.ColPtr[j + 1]; p++) b.Add(g.RowIdx[p], j, g.Values[p]);
        for (int j = 0; j < 40; j++) for (int p = r.ColPtr[j]; p < r.ColPtr[j + 1]; p++) b.Add(100 + r.RowIdx[p], 100 + j, r.Values[p]);
        var a = b.ToCsc();
        var perm = Amd.Order(a);
        AssertPermutation(perm, 140);
        Assert.True(Fill(a, perm) <= 1.1 * Fill(g, Amd.Order(g)) + 3 * 40);
    }

    [Fact]
    public void Bad_patterns_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Amd.Order(SparseMatrix.FromDense(new double[,] { { 1, 2 } })));
        Assert.Throws<ArgumentException>(() => Amd.Order(3, [0, 1], [0]));
        Assert.Throws<ArgumentException>(() => Amd.Order(2, [0, 1, 2], [0, 2]));
        Assert.Throws<ArgumentException>(() => Amd.Order(2, [0, 2, 1], [0, 1]));
        Assert.Throws<ArgumentException>(() => Amd.Order(2, [0, 1, 3], [0, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Amd.Order(-1, [0], []));
    }
}
