using OpenTE.Grid.PowerFlow;

namespace OpenTE.Grid.Tests;

public class DcPowerFlowTests
{
    [Theory]
    [MemberData(nameof(TestData.Cases), MemberType = typeof(TestData))]
    public void Injections_balance_and_flows_obey_kcl(string name)
    {
        var net = TestData.Load(name);
        var r = DcPowerFlow.Solve(net);
        var net_ = new double[net.BusCount];
        foreach (var l in r.Branches)
        {
            net_[net.IndexOf(l.From)] += l.Pf;
            net_[net.IndexOf(l.To)] += l.Pt;
        }
        for (int i = 0; i < net.BusCount; i++)
            Assert.Equal(r.Buses[i].PInjectionMw, net_[i] + net.Buses[i].Gs, 6);
        // lossless: generation = load + shunt consumption
        Assert.Equal(net.Buses.Sum(b => b.Pd + b.Gs), r.Generators.Sum(g => g.Pg), 6);
    }

    [Theory]
    [InlineData("case9")]
    [InlineData("case30")]
    [InlineData("case118")]
    public void Ptdf_rows_match_finite_differences_of_the_dc_power_flow(string name)
    {
        var net = TestData.Load(name);
        var dc = new DcNetwork(net);
        int[] monitored = Enumerable.Range(0, net.Branches.Length).Where(l => l % 3 == 0).ToArray();
        var ptdf = dc.Ptdf(monitored);
        var pbus = new double[net.BusCount];
        var baseTheta = dc.Angles(pbus, _ => 0);
        var rnd = new Random(7);
        for (int trial = 0; trial < 5; trial++)
        {
            int bus = rnd.Next(net.BusCount);
            pbus[bus] = 1;
            var theta = dc.Angles(pbus, _ => 0);
            pbus[bus] = 0;
            for (int m = 0; m < monitored.Length; m++)
                Assert.Equal(dc.Flow(monitored[m], theta) - dc.Flow(monitored[m], baseTheta), ptdf[m][bus], 9);
        }
    }

    [Theory]
    [InlineData("case30")]
    [InlineData("case118")]
    public void Lodf_predicts_the_post_outage_flows(string name)
    {
        var net = TestData.Load(name);
        var dc = new DcNetwork(net);
        var baseFlows = DcPowerFlow.Solve(net).Branches.Select(b => b.Pf).ToArray();
        int[] all = Enumerable.Range(0, net.Branches.Length).ToArray();
        var rnd = new Random(3);
        int checkedOutages = 0;
        foreach (int k in all.OrderBy(_ => rnd.Next()).Take(12))
        {
            var lodf = dc.Lodf(all, [k]);
            var outNet = net.With(branches: net.Branches.Select((b, l) => l == k ? b with { Status = 0 } : b));
            if (Topology.Islands(outNet).Count != Topology.Islands(net).Count)
            {
                Assert.True(double.IsNaN(lodf[0][0]) || all.Any(l => double.IsNaN(lodf[l][0])));
                continue;
            }
            var after = DcPowerFlow.Solve(outNet).Branches.Select(b => b.Pf).ToArray();
            for (int l = 0; l < all.Length; l++)
            {
                double predicted = l == k ? 0 : baseFlows[l] + lodf[l][0] * baseFlows[k];
                Assert.Equal(after[l], predicted, 6);
            }
            checkedOutages++;
        }
        Assert.True(checkedOutages > 5);
    }
}
