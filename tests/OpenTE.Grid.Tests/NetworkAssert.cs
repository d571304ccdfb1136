using OpenTE.Grid.Model;

namespace OpenTE.Grid.Tests;

/// <summary>Field-by-field equality of two networks (records compare their immutable arrays by reference, so compare contents).</summary>
public static class NetworkAssert
{
    public static void Equal(Network a, Network b)
    {
        Assert.Equal(a.Name, b.Name);
        Assert.Equal(a.BaseMva, b.BaseMva);
        Assert.Equal(a.BusCount, b.BusCount);
        for (int i = 0; i < a.BusCount; i++)
        {
            Assert.Equal(a.Buses[i] with { Extra = [] }, b.Buses[i] with { Extra = [] });
            Assert.Equal(a.Buses[i].Extra.ToArray(), b.Buses[i].Extra.ToArray());
        }
        Assert.Equal(a.Generators.Length, b.Generators.Length);
        for (int i = 0; i < a.Generators.Length; i++)
        {
            Assert.Equal(a.Generators[i] with { Extra = [] }, b.Generators[i] with { Extra = [] });
            Assert.Equal(a.Generators[i].Extra.ToArray(), b.Generators[i].Extra.ToArray());
        }
        Assert.Equal(a.Branches.Length, b.Branches.Length);
        for (int i = 0; i < a.Branches.Length; i++)
        {
            Assert.Equal(a.Branches[i] with { Extra = [] }, b.Branches[i] with { Extra = [] });
            Assert.Equal(a.Branches[i].Extra.ToArray(), b.Branches[i].Extra.ToArray());
        }
        Assert.Equal(a.GenCosts.Length, b.GenCosts.Length);
        for (int i = 0; i < a.GenCosts.Length; i++)
        {
            Assert.Equal(a.GenCosts[i].Model, b.GenCosts[i].Model);
            Assert.Equal(a.GenCosts[i].Startup, b.GenCosts[i].Startup);
            Assert.Equal(a.GenCosts[i].Shutdown, b.GenCosts[i].Shutdown);
            Assert.Equal(a.GenCosts[i].Coefficients.ToArray(), b.GenCosts[i].Coefficients.ToArray());
        }
        Assert.Equal(a.CellArrays.Keys.Order(), b.CellArrays.Keys.Order());
        foreach (var (k, v) in a.CellArrays) Assert.Equal(v.ToArray(), b.CellArrays[k].ToArray());
    }
}
