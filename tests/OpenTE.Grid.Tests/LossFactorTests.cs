using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;

namespace OpenTE.Grid.Tests;

public class LossFactorTests
{
    private static readonly PowerFlowOptions Tight = new() { Tolerance = 1e-12, MaxIterations = 20 };

    /// <summary>Central finite differences of the re-solved AC power flow: (losses, import) at +δ and −δ MW injected at the bus.</summary>
    private static (double DLoss, double DImport) FiniteDifference(Network net, int bus, int refBus, double delta)
    {
        Network netUp = LossFactors.WithInjections(net, [(bus, delta)]), netDown = LossFactors.WithInjections(net, [(bus, -delta)]);
        var up = AcPowerFlow.Solve(netUp, Tight);
        var down = AcPowerFlow.Solve(netDown, Tight);
        Assert.True(up.Converged && down.Converged);
        return ((up.LossesMw - down.LossesMw) / (2 * delta),
                (LossFactors.ImportMw(netUp, up, refBus) - LossFactors.ImportMw(netDown, down, refBus)) / (2 * delta));
    }

    [Theory]
    // case33bw: the feeder's far ends (18 at the end of the main feeder, 33 at the end of a lateral, 25, 6) and near the substation (2)
    [InlineData("case33bw", new[] { 2, 6, 18, 25, 33 })]
    // case118: PQ buses, PV buses and buses far from the reference bus 69
    [InlineData("case118", new[] { 1, 2, 10, 33, 53, 75, 95, 117, 118 })]
    // case300: buses with shunt conductance (consumption, not a branch loss: it moves the import, not the MLF)
    [InlineData("case300", new[] { 9003, 9038, 9533, 1, 7049 })]
    public void Mlf_equals_central_finite_differences_of_the_ac_power_flow(string name, int[] buses)
    {
        var net = TestData.Load(name);
        var mlf = LossFactors.Compute(net, Tight);
        Assert.True(mlf.Converged);
        foreach (int bus in buses)
        {
            var (dLoss, dImport) = FiniteDifference(net, bus, mlf.ReferenceBus, 1e-3);
            var f = mlf.Bus(bus);
            Assert.True(Math.Abs(f.Mlf - dLoss) < 1e-6, $"{name} bus {bus}: MLF {f.Mlf} vs finite difference {dLoss}");
            Assert.True(Math.Abs(f.DImportDInjection - dImport) < 1e-6, $"{name} bus {bus}: dImport {f.DImportDInjection} vs finite difference {dImport}");
        }
        var r = mlf.Bus(mlf.ReferenceBus);
        Assert.Equal(0, r.Mlf);
        Assert.Equal(-1, r.DImportDInjection);
    }

    [Fact]
    public void Radial_feeder_injection_at_the_end_cuts_losses_more_than_near_the_substation()
    {
        var mlf = LossFactors.Compute(TestData.Load("case33bw"));
        // the load is served from the substation, so an injection anywhere downstream cuts losses, more the farther out
        Assert.All(mlf.Buses.Where(b => b.Id != mlf.ReferenceBus), b => Assert.True(b.Mlf < 0, $"bus {b.Id}: {b.Mlf}"));
        Assert.True(mlf.Bus(18).Mlf < mlf.Bus(6).Mlf && mlf.Bus(6).Mlf < mlf.Bus(2).Mlf);
        // no shunts in case33bw: the import changes by −1 + MLF
        Assert.All(mlf.Buses, b => Assert.Equal(-1 + b.Mlf, b.DImportDInjection, 12));
        // the DC approximation counts only the losses of active flow (rₗ·fₗ², no reactive part, flat voltages), so on a
        // feeder that carries reactive load it has the right sign but falls short: 70–100 % of the AC factor
        Assert.All(mlf.Buses.Where(b => b.Id != mlf.ReferenceBus), b => Assert.InRange(b.DcMlf / b.Mlf, 0.7, 1.0));
    }

    [Fact]
    public void Meshed_grid_dc_approximation_tracks_the_ac_factors()
    {
        var mlf = LossFactors.Compute(TestData.Load("case118"));
        var pairs = mlf.Buses.Where(b => b.Id != mlf.ReferenceBus).Select(b => (b.Mlf, b.DcMlf)).ToArray();
        double mean(IEnumerable<double> x) => x.Average();
        double ma = mean(pairs.Select(p => p.Mlf)), md = mean(pairs.Select(p => p.DcMlf));
        double cov = pairs.Sum(p => (p.Mlf - ma) * (p.DcMlf - md));
        double corr = cov / Math.Sqrt(pairs.Sum(p => (p.Mlf - ma) * (p.Mlf - ma)) * pairs.Sum(p => (p.DcMlf - md) * (p.DcMlf - md)));
        Assert.True(corr > 0.9, $"correlation of AC and DC loss factors {corr}");
    }

    [Fact]
    public void Json_has_the_documented_fields()
    {
        var mlf = LossFactors.Compute(TestData.Load("case33bw"));
        using var doc = System.Text.Json.JsonDocument.Parse(mlf.ToJson());
        var root = doc.RootElement;
        Assert.Equal("case33bw", root.GetProperty("case").GetString());
        Assert.Equal(mlf.LossesMw, root.GetProperty("lossesMw").GetDouble(), 9);
        Assert.Equal(1, root.GetProperty("referenceBus").GetInt32());
        var b18 = root.GetProperty("buses")[17];
        Assert.Equal(18, b18.GetProperty("id").GetInt32());
        Assert.Equal(mlf.Bus(18).Mlf, b18.GetProperty("mlf").GetDouble(), 12);
        Assert.Equal(mlf.Bus(18).DImportDInjection, b18.GetProperty("dImportDInjection").GetDouble(), 12);
    }
}
