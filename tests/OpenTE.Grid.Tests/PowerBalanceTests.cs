using OpenTE.Grid.PowerFlow;

namespace OpenTE.Grid.Tests;

/// <summary>Generation = load + shunt consumption + losses in every power-flow result, with and without Q limits
/// (issue #16: a reference generator moved by its Q limit was reported at 0 MW while its branches carried 456 MW).</summary>
public class PowerBalanceTests
{
    public static TheoryData<string, bool> CasesAndModes()
    {
        var d = new TheoryData<string, bool>();
        foreach (var c in TestData.AllCases) { d.Add(c, false); d.Add(c, true); }
        return d;
    }

    [Theory]
    [MemberData(nameof(CasesAndModes))]
    public void Generation_equals_load_plus_losses(string name, bool enforceQLimits)
    {
        var net = TestData.Load(name);
        var r = AcPowerFlow.Solve(net, new PowerFlowOptions { EnforceQLimits = enforceQLimits });
        Assert.True(r.Converged, string.Join("; ", r.Messages));
        double generation = r.Generators.Where(g => net.Generators[g.Index - 1].InService).Sum(g => g.Pg);
        double load = net.Buses.Sum(b => b.Pd);
        double shunts = r.Buses.Select((b, i) => net.Buses[i].Gs * b.Vm * b.Vm).Sum();
        double losses = r.Branches.Sum(l => l.Pf + l.Pt);
        Assert.True(Math.Abs(generation - load - shunts - losses) < 1e-3,
            $"{name} (Q limits {enforceQLimits}): generation {generation:F4} MW, load {load:F4} + shunts {shunts:F4} + losses {losses:F4} = {load + shunts + losses:F4} MW");
    }
}
