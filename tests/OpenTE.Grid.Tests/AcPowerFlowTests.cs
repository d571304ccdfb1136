using OpenTE.Grid.Matpower;
using OpenTE.Grid.PowerFlow;
using OpenTE.Grid.Input;

namespace OpenTE.Grid.Tests;

public class AcPowerFlowTests
{
    /// <summary>Issue #2 accuracy: |ΔVm| ≤ 1e-6 p.u., |ΔVa| ≤ 1e-4°, branch flows ≤ 1e-4 MW/MVAr against MATPOWER runpf.</summary>
    [Theory]
    [MemberData(nameof(TestData.Cases), MemberType = typeof(TestData))]
    public void Matches_matpower_runpf(string name)
    {
        var net = TestData.Load(name);
        var reference = ReferenceResults.Load(name).Pf;
        var result = AcPowerFlow.Solve(net);
        Assert.True(result.Converged, string.Join("; ", result.Messages));
        Assert.Equal(reference.Converged, result.Converged);
        var byId = result.Buses.ToDictionary(b => b.Id);
        foreach (var rb in reference.Buses)
        {
            var b = byId[rb.Id];
            Assert.True(Math.Abs(b.Vm - rb.Vm) <= 1e-6, $"bus {rb.Id}: Vm {b.Vm} vs {rb.Vm}");
            Assert.True(Math.Abs(b.VaDeg - rb.VaDeg) <= 1e-4, $"bus {rb.Id}: Va {b.VaDeg} vs {rb.VaDeg}");
        }
        Assert.Equal(reference.Branches.Count, result.Branches.Count);
        foreach (var rl in reference.Branches)
        {
            var l = result.Branches[rl.Index - 1];
            Assert.Equal((rl.From, rl.To), (l.From, l.To));
            Assert.True(Math.Abs(l.Pf - rl.Pf) <= 1e-4, $"branch {rl.Index}: Pf {l.Pf} vs {rl.Pf}");
            Assert.True(Math.Abs(l.Pt - rl.Pt) <= 1e-4, $"branch {rl.Index}: Pt {l.Pt} vs {rl.Pt}");
            Assert.True(Math.Abs(l.Qf - rl.Qf) <= 1e-4, $"branch {rl.Index}: Qf {l.Qf} vs {rl.Qf}");
            Assert.True(Math.Abs(l.Qt - rl.Qt) <= 1e-4, $"branch {rl.Index}: Qt {l.Qt} vs {rl.Qt}");
        }
        Assert.InRange(result.Iterations, 1, reference.Iterations + 1);
    }

    [Theory]
    [InlineData("case9")]
    [InlineData("case118")]
    [InlineData("case300")]
    public void Bus_balance_holds_at_the_solution(string name)
    {
        // Σ injections = Σ branch losses + Σ shunt consumption; per bus: P injection = Σ flows leaving the bus + shunt
        var net = TestData.Load(name);
        var result = AcPowerFlow.Solve(net);
        var sum = new double[net.BusCount];
        var sumQ = new double[net.BusCount];
        foreach (var l in result.Branches)
        {
            sum[net.IndexOf(l.From)] += l.Pf;
            sum[net.IndexOf(l.To)] += l.Pt;
            sumQ[net.IndexOf(l.From)] += l.Qf;
            sumQ[net.IndexOf(l.To)] += l.Qt;
        }
        for (int i = 0; i < net.BusCount; i++)
        {
            var b = result.Buses[i];
            double vm2 = b.Vm * b.Vm;
            Assert.Equal(b.PInjectionMw, sum[i] + net.Buses[i].Gs * vm2, 6);
            Assert.Equal(b.QInjectionMvar, sumQ[i] - net.Buses[i].Bs * vm2, 6);
        }
        // generator outputs close the balance: Σ Pg = Σ Pd + losses + shunts
        double pg = result.Generators.Sum(g => g.Pg);
        double pd = net.Buses.Sum(b => b.Pd);
        double shunts = result.Buses.Select((b, i) => net.Buses[i].Gs * b.Vm * b.Vm).Sum();
        Assert.Equal(pg, pd + result.LossesMw + shunts, 6);
    }

    [Theory]
    [InlineData("case14")]
    [InlineData("case30")]
    [InlineData("case118")]
    [InlineData("case300")]
    public void Enforcing_q_limits_keeps_every_generator_within_limits(string name)
    {
        var net = TestData.Load(name);
        var result = AcPowerFlow.Solve(net, new PowerFlowOptions { EnforceQLimits = true });
        Assert.True(result.Converged, string.Join("; ", result.Messages));
        for (int g = 0; g < net.Generators.Length; g++)
        {
            var gen = net.Generators[g];
            if (!gen.InService) continue;
            Assert.InRange(result.Generators[g].Qg, gen.Qmin - 1e-4, gen.Qmax + 1e-4);
        }
        var plain = AcPowerFlow.Solve(net);
        bool violatedBefore = Enumerable.Range(0, net.Generators.Length).Any(g => net.Generators[g].InService &&
            (plain.Generators[g].Qg > net.Generators[g].Qmax + 1e-4 || plain.Generators[g].Qg < net.Generators[g].Qmin - 1e-4));
        Assert.Equal(violatedBefore, result.Messages.Any(m => m.Contains("is now PQ")));
    }

    [Fact]
    public void Flat_start_reaches_the_same_solution()
    {
        var net = TestData.Load("case118");
        var a = AcPowerFlow.Solve(net);
        var b = AcPowerFlow.Solve(net, new PowerFlowOptions { FlatStart = true });
        Assert.True(b.Converged);
        for (int i = 0; i < net.BusCount; i++) Assert.Equal(a.Buses[i].Vm, b.Buses[i].Vm, 7);
    }

    [Fact]
    public void Islands_are_solved_each_with_its_own_reference_and_dead_islands_reported()
    {
        // case9 with the branches 5-6 and 8-9 opened... instead split into two islands by opening 4-5, 6-7 and 8-9? Use a custom case.
        const string text = """
            mpc.baseMVA = 100;
            mpc.bus = [
              1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;
              2 1 50 10 0 0 1 1 0 230 1 1.1 0.9;
              3 2 0 0 0 0 1 1 0 230 1 1.1 0.9;
              4 1 40 5 0 0 1 1 0 230 1 1.1 0.9;
              5 1 10 0 0 0 1 1 0 230 1 1.1 0.9;
            ];
            mpc.gen = [1 0 0 100 -100 1.02 100 1 200 0; 3 40 0 100 -100 1.01 100 1 200 0];
            mpc.branch = [1 2 0.01 0.1 0.02 0 0 0 0 0 1 -360 360; 3 4 0.01 0.1 0.02 0 0 0 0 0 1 -360 360];
            """;
        var net = MatpowerCase.Parse(text, "two.m").Network;
        var r = AcPowerFlow.Solve(net);
        Assert.True(r.Converged);
        Assert.Contains(r.Messages, m => m.Contains("bus 3 is the reference bus"));
        Assert.Contains(r.Messages, m => m.Contains("bus 5") && m.Contains("not energised"));
        Assert.Equal(1.01, r.Buses[2].Vm, 9);
        Assert.Equal(0, r.Buses[4].Vm);
        // the island's new reference generator picks up its island's load plus losses
        Assert.Equal(40 + r.Branches[1].Pf + r.Branches[1].Pt, r.Generators[1].Pg, 6);
    }

    [Fact]
    public void Divergence_is_reported_not_thrown()
    {
        var net = TestData.Load("case9");
        var heavy = net.With(buses: net.Buses.Select(b => b with { Pd = b.Pd * 12, Qd = b.Qd * 12 }));
        var r = AcPowerFlow.Solve(heavy);
        Assert.False(r.Converged);
        Assert.Contains(r.Messages, m => m.Contains("did not converge"));
    }
}

public class IsolatedBusTests
{
    [Fact]
    public void A_branch_to_an_isolated_bus_carries_nothing()
    {
        const string text = """
            mpc.baseMVA = 100;
            mpc.bus = [
              1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;
              2 1 50 10 0 0 1 1 0 230 1 1.1 0.9;
              3 4 20 5 0 0 1 1 0 230 1 1.1 0.9;
            ];
            mpc.gen = [1 0 0 100 -100 1.02 100 1 200 0];
            mpc.branch = [1 2 0.01 0.1 0.02 0 0 0 0 0 1 -360 360; 2 3 0.01 0.1 0.02 0 0 0 0 0 1 -360 360];
            """;
        var net = OpenTE.Grid.Matpower.MatpowerCase.Parse(text, "iso.m").Network;
        var ac = AcPowerFlow.Solve(net);
        Assert.True(ac.Converged);
        Assert.Equal(0, ac.Branches[1].Pf);
        Assert.Equal(0, ac.Branches[1].Qf);
        Assert.Equal(50 + ac.Branches[0].Pf + ac.Branches[0].Pt, ac.Generators[0].Pg, 6); // load of bus 2 plus losses only
        var dc = DcPowerFlow.Solve(net);
        Assert.Equal(0, dc.Branches[1].Pf);
    }

    [Theory]
    [InlineData("mpc.bus = [1 3 Inf 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 0 0 0 0 1 1 0 230 1 1.1 0.9];", "infinite")]
    [InlineData("mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 1e400 0 0 0 1 1 0 230 1 1.1 0.9];", "infinite")]
    public void Infinite_loads_are_refused(string bus, string expected)
    {
        string text = "mpc.baseMVA = 100;\n" + bus + "\nmpc.gen = [1 0 0 100 -100 1 100 1 200 0];\nmpc.branch = [1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360];\n";
        Assert.Contains(expected, Assert.Throws<CaseFormatException>(() => OpenTE.Grid.Matpower.MatpowerCase.Parse(text, "inf.m")).Message);
    }
}
