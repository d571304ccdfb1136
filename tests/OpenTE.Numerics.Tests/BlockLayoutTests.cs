using OpenTE.Numerics.Optimization;

namespace OpenTE.Numerics.Tests;

public class BlockLayoutTests
{
    [Fact]
    public void Blocks_follow_each_other_and_a_pair_interleaves()
    {
        var l = new BlockLayout();
        var a = l.Add("a", 3);
        var (p, q) = l.AddPair("p", "q", [4, 7]);
        var c = l.Add("c", [2, 0]);
        Assert.Equal(3 + 4 + 2, l.Count);
        Assert.Equal([0, 1, 2], Enumerable.Range(0, 3).Select(k => a[k]));
        Assert.Equal((3, 4), (p[0], q[0]));
        Assert.Equal((5, 6), (p[1], q[1]));
        Assert.Equal(7, c[0]);
        Assert.Equal(8, c.IndexOf(0));
        Assert.Equal(5, p.IndexOf(7));
        Assert.Equal(-1, p.IndexOf(5)); // member without an element
        Assert.Equal(-1, p.IndexOf(100));
        Assert.Equal(-1, a.IndexOf(3));
        Assert.False(q.Has(0));
        Assert.Equal(7, q.Member(1));
        Assert.Same(q, l["q"]);
        // every index lies in exactly one block
        for (int i = 0; i < l.Count; i++) Assert.Single(l.Blocks, b => b.Contains(i));
        Assert.Equal("q[7]", l.NameOf(6));
        Assert.Equal("c[2]", l.NameOf(7));
        Assert.Equal("a[3] p[2] q[2] c[2]", l.ToString());
    }

    [Fact]
    public void Names_are_unique_and_unknown_names_are_refused()
    {
        var l = new BlockLayout();
        l.Add("a", 1);
        Assert.Throws<ArgumentException>(() => l.Add("a", 2));
        Assert.Throws<KeyNotFoundException>(() => l["b"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => l.Locate(1));
        var repeated = l.Add("r", [3, 3]);
        Assert.Equal(3, repeated.Member(1));
        Assert.Throws<InvalidOperationException>(() => repeated.IndexOf(3)); // two elements for one member
    }

    [Fact]
    public void A_solution_is_read_by_block_name_and_member()
    {
        var layout = new ProgramLayout();
        layout.Variables.Add("x", 2);
        layout.Variables.Add("y", [5]);
        layout.Equalities.Add("balance", [1, 3]);
        layout.Inequalities.Add("limit", [3]);
        var r = new InteriorPointResult(SolverStatus.Optimal, [1, 2, 3], 0, [10, 30], [7], [0, 0.5, 0], [0, 0, 4], 1, "");
        var s = new BlockSolution(layout, r);
        Assert.Equal(3, s.Value("y", 5));
        Assert.Equal(30, s.Dual("balance", 3));
        Assert.Equal(7, s.Dual("limit", 3));
        Assert.True(double.IsNaN(s.Dual("limit", 1))); // no row, no price
        Assert.False(s.Has("limit", 1));
        Assert.Equal(0.5, s.LowerBoundDual("x", 1));
        Assert.Equal(4, s.UpperBoundDual("y", 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Value("y", 0));
        Assert.Throws<KeyNotFoundException>(() => s.Dual("nothing", 0));
        Assert.Equal("variables: x[2] y[1]; g = 0: balance[2]; h ≤ 0: limit[1]", layout.ToString());
    }
}
