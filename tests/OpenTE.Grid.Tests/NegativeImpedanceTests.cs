using OpenTE.Grid.Input;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.PowerFlow;

namespace OpenTE.Grid.Tests;

/// <summary>
/// Issue #16: negative r and x are data (series compensation, star equivalents of three-winding transformers, network
/// reductions), loaded with a warning and solved — known answers worked by hand.
/// </summary>
public class NegativeImpedanceTests
{
    private const string Head = "mpc.version = '2';\nmpc.baseMVA = 100;\n";
    // bus 1 slack at 1∠0, bus 2 a 50 MW, 0 MVAr load; one generator at bus 1
    private const string Buses = "mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 50 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n";
    private const string Gen = "mpc.gen = [1 0 0 100 -100 1 100 1 200 0];\n";

    private static Model.Network TwoBus(double r, double x) =>
        MatpowerCase.Parse(Head + Buses + Gen + $"mpc.branch = [1 2 {r} {x} 0 0 0 0 0 0 1 -360 360];\n", "two-bus.m").Network;

    /// <summary>
    /// A lossless series capacitor x = −0.1 p.u. feeding P = 0.5 p.u. at unity power factor. With V₁ = 1∠0 and V₂ = V∠θ the
    /// power received at bus 2 is S = (V·sinθ + j(V² − V·cosθ))/x, so Q = 0 gives V = cosθ and P = −0.5 gives
    /// sin 2θ = −2xP = 0.1: θ = ½·asin 0.1 = +2.867° (bus 2 leads: the capacitor), V = cos θ = 0.998748; the slack
    /// sends P₁ = 0.5 and Q₁ = (1 − V·cosθ)/x = sin²θ/x = −2.502 MVAr (the capacitor's reactive power flows back).
    /// </summary>
    [Fact]
    public void Series_capacitor_two_bus_case_solved_by_hand()
    {
        var net = TwoBus(0, -0.1);
        Assert.Contains(NetworkValidator.Warnings(net), w => w.Message.Contains("negative reactance"));
        var pf = AcPowerFlow.Solve(net);
        Assert.True(pf.Converged);
        double theta = 0.5 * Math.Asin(0.1), v = Math.Cos(theta);
        Assert.Equal(v, pf.Buses[1].Vm, 1e-9);
        Assert.Equal(theta * 180 / Math.PI, pf.Buses[1].VaDeg, 1e-7);
        Assert.Equal(50, pf.Generators[0].Pg, 1e-7);
        Assert.Equal(100 * Math.Sin(theta) * Math.Sin(theta) / -0.1, pf.Generators[0].Qg, 1e-6);
        Assert.Equal(0, pf.LossesMw, 1e-7);

        // DC: θ₂ = θ₁ − P·x = +0.05 rad
        var dc = DcPowerFlow.Solve(net);
        Assert.Equal(0.05 * 180 / Math.PI, dc.Buses[1].VaDeg, 1e-9);
        Assert.Equal(50, dc.Branches[0].Pf, 1e-9);
    }

    /// <summary>
    /// A negative resistance "generates" loss: the branch's loss P_f + P_t equals r·|I|² = r·(P_f² + Q_f²)/V_f² (negative),
    /// and generation = load + losses.
    /// </summary>
    [Theory]
    [InlineData(-0.01, 0.1)]
    [InlineData(-0.02, -0.08)]
    [InlineData(0.01, 0.1)]
    public void Negative_resistance_is_solved_with_its_negative_loss(double r, double x)
    {
        var net = TwoBus(r, x);
        if (r < 0) Assert.Contains(NetworkValidator.Warnings(net), w => w.Message.Contains("negative resistance"));
        var pf = AcPowerFlow.Solve(net);
        Assert.True(pf.Converged);
        var br = pf.Branches[0];
        double vf = pf.Buses[0].Vm;
        double expected = r * (br.Pf * br.Pf + br.Qf * br.Qf) / (vf * vf) / 100;
        Assert.Equal(expected, br.Pf + br.Pt, 1e-7);
        Assert.Equal(Math.Sign(r), Math.Sign(pf.LossesMw));
        Assert.Equal(50 + pf.LossesMw, pf.Generators[0].Pg, 1e-7);
    }

    [Fact]
    public void Zero_reactance_branch_takes_its_impedance_magnitude_in_the_dc_model()
    {
        var net = TwoBus(0.02, 0);
        var dc = new DcNetwork(net);
        Assert.Equal(1 / 0.02, dc.B[0], 1e-9);
        Assert.Contains(dc.Messages, m => m.Contains("zero reactance"));
        Assert.Equal(50, DcPowerFlow.Solve(net).Branches[0].Pf, 1e-9);
    }
}

/// <summary>Issue #16: a power flow that diverges from the case's point is tried again from the DC power flow's angles.</summary>
public class PowerFlowStartTests
{
    [Theory]
    [InlineData("pglib_opf_case1888_rte")]
    [InlineData("pglib_opf_case2742_goc")]
    public void A_case_point_outside_newtons_basin_converges_from_dc_angles(string name)
    {
        var net = TestData.LoadPglib(name);
        var pf = AcPowerFlow.Solve(net);
        Assert.True(pf.Converged, string.Join("; ", pf.Messages));
        Assert.Contains(pf.Messages, m => m.Contains("converged from the DC power flow's angles"));
        // a real solution: generation = load + shunt consumption + losses
        double load = net.Buses.Sum(b => b.Pd), shunts = pf.Buses.Select((b, i) => net.Buses[i].Gs * b.Vm * b.Vm).Sum();
        Assert.Equal(load + shunts + pf.LossesMw, pf.Generators.Sum(g => g.Pg), 1e-4 * load);
    }
}
