using CsCheck;
using OpenTE.Numerics.Optimization;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Tests;

public class KktAssemblerTests
{
    private static SparseMatrix Random(Random rnd, int rows, int cols, double density, bool symmetric)
    {
        var b = new TripletBuilder(rows, cols);
        for (int j = 0; j < cols; j++)
            for (int i = symmetric ? j : 0; i < rows; i++)
            {
                if (rnd.NextDouble() >= density && !(symmetric && i == j && rnd.Next(2) == 0)) continue;
                double v = rnd.Next(4) == 0 ? 0 : rnd.NextDouble() * 4 - 2; // explicit zeros are part of a pattern
                b.Add(i, j, v);
                if (symmetric && i != j) b.Add(j, i, v);
            }
        return b.ToCsc();
    }

    [Fact]
    public void Pattern_built_from_the_blocks_equals_the_triplet_pattern()
    {
        // [H + Jhᵀ·D·Jh + δ_w·I, Jgᵀ; Jg, −δ·I] assembled through slots found straight from the blocks' patterns and through
        // the triplet path: the same pattern and the same values, bit for bit (an unsymmetric H pattern takes the triplet path)
        Gen.Select(Gen.Int[1, 14], Gen.Int[0, 6], Gen.Int[0, 12], Gen.Int, Gen.Bool).Sample((n, neq, niq, seed, unsymmetric) =>
        {
            var rnd = new Random(seed);
            var hess = Random(rnd, n, n, 0.3, symmetric: !unsymmetric);
            var jhT = Random(rnd, n, niq, 0.35, symmetric: false);
            var jg = Random(rnd, neq, n, 0.4, symmetric: false);
            var d = Enumerable.Range(0, niq).Select(_ => rnd.NextDouble() * 10).ToArray();
            double deltaW = rnd.Next(2) * 1e-4;
            var assembler = new InteriorPoint.KktAssembler(n, neq);
            var direct = assembler.Assemble(hess, jhT, d, jg, deltaW);
            if (!unsymmetric) Assert.True(assembler.BuiltDirectly);
            var triplets = new InteriorPoint.KktAssembler(n, neq, direct: false).Assemble(hess, jhT, d, jg, deltaW);
            Assert.Equal(triplets.ColPtr, direct.ColPtr);
            Assert.Equal(triplets.RowIdx.AsSpan(0, triplets.Nnz).ToArray(), direct.RowIdx.AsSpan(0, direct.Nnz).ToArray());
            Assert.Equal(triplets.Values.AsSpan(0, triplets.Nnz).ToArray(), direct.Values.AsSpan(0, direct.Nnz).ToArray());
        }, iter: 300, threads: 1);
    }
}
