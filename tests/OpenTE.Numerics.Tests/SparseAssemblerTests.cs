using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Tests;

public class SparseAssemblerTests
{
    private static void Pass(SparseAssembler a, double scale)
    {
        a.Begin();
        a.Add(0, 0, 1 * scale);
        a.Add(2, 1, 2 * scale);
        a.Add(0, 0, 3 * scale); // duplicate: summed
        a.Add(1, 1, 0);         // explicit zero: kept in the pattern
        a.Add(0, 2, 5 * scale);
    }

    [Fact]
    public void Later_passes_scatter_into_the_first_pattern_in_place()
    {
        var a = new SparseAssembler(3, 3);
        Pass(a, 1);
        var m = a.Finish();
        Assert.True(a.Rebuilt);
        Assert.Equal(4, m.Nnz);
        Assert.Equal(4, m[0, 0]);
        Pass(a, 2);
        var m2 = a.Finish();
        Assert.False(a.Rebuilt);
        Assert.Same(m, m2);
        Assert.Equal(8, m[0, 0]);
        Assert.Equal(4, m[2, 1]);
        Assert.Equal(10, m[0, 2]);
        Assert.Equal(0, m[1, 1]);
    }

    [Fact]
    public void New_values_share_the_pattern_and_leave_the_last_matrix_alone()
    {
        var a = new SparseAssembler(3, 3);
        Pass(a, 1);
        var m = a.Finish(newValues: true);
        Pass(a, -1);
        var m2 = a.Finish(newValues: true);
        Assert.NotSame(m, m2);
        Assert.Same(m.ColPtr, m2.ColPtr);
        Assert.Same(m.RowIdx, m2.RowIdx);
        Assert.Equal(4, m[0, 0]);
        Assert.Equal(-4, m2[0, 0]);
    }

    [Fact]
    public void A_fixed_pattern_refuses_a_pass_of_another_length()
    {
        var a = new SparseAssembler(3, 3);
        Pass(a, 1);
        a.Finish();
        Pass(a, 1);
        a.Add(1, 2, 1);
        Assert.Throws<InvalidOperationException>(() => a.Finish());
    }

    [Fact]
    public void A_changing_pattern_is_rebuilt_when_allowed()
    {
        var a = new SparseAssembler(3, 3, patternMayChange: true);
        Pass(a, 1);
        var m = a.Finish();
        Pass(a, 1);
        Assert.Same(m, a.Finish());
        Assert.False(a.Rebuilt);
        a.Begin();
        a.Add(1, 2, 7);
        a.Add(0, 0, 1);
        a.Add(2, 2, 0);
        var m2 = a.Finish();
        Assert.True(a.Rebuilt);
        Assert.NotSame(m, m2);
        Assert.Equal(3, m2.Nnz);
        Assert.Equal(7, m2[1, 2]);
        // same length, other positions: also a new pattern
        a.Begin();
        a.Add(2, 1, 7);
        a.Add(0, 0, 1);
        a.Add(2, 2, 0);
        Assert.Equal(7, a.Finish()[2, 1]);
        Assert.True(a.Rebuilt);
    }

    [Fact]
    public void Grows_past_its_initial_capacity_with_the_values_intact()
    {
        var a = new SparseAssembler(50, 50);
        for (int pass = 1; pass <= 2; pass++)
        {
            a.Begin();
            for (int i = 0; i < 50; i++)
                for (int j = 0; j < 50; j += 7) a.Add(i, j, pass * (i + 100 * j));
            var m = a.Finish();
            Assert.Equal(pass * (3 + 100 * 14), m[3, 14]);
        }
    }
}
