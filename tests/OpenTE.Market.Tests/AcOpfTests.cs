using OpenTE.Market.Outcome;
using CsCheck;
using OpenTE.Grid.Tests;
using OpenTE.Market.AcOpf;
using Xunit.Abstractions;
using OpenTE.Grid.Input;

namespace OpenTE.Market.Tests;

public class AcOpfTests(ITestOutputHelper output)
{
    /// <summary>
    /// Issue #4 accuracy: objective within 1e-6 relative, |ΔVm| ≤ 1e-4 p.u., every λ_P and λ_Q within 1e-3 $/MWh
    /// (or 1e-5 relative) of MATPOWER's runopf (MIPS, tolerances 1e-6) on every shared case — except where
    /// MATPOWER's own multipliers are further than that from the true sensitivities: on case33bw, case300 and
    /// case_ACTIVSg2000 its λ differ from central finite differences of the optimal cost by up to 8e-3 $/MWh
    /// while ours agree to ~1e-5 (<see cref="AcOpfPriceTests"/>), and case300's optimum is flat in |V|
    /// (our cost is 0.008 $/h lower than MATPOWER's at |ΔVm| = 1.6e-3). Those three get the bounds in brackets.
    /// </summary>
    [Theory]
    [InlineData("case5", 1e-4, 1e-3, 1e-3)]
    [InlineData("case9", 1e-4, 1e-3, 1e-3)]
    [InlineData("case14", 1e-4, 1e-3, 1e-3)]
    [InlineData("case30", 1e-4, 1e-3, 1e-3)]
    [InlineData("case118", 1e-4, 1e-3, 1e-3)]
    [InlineData("case33bw", 1e-4, 1e-2, 1e-2)]
    [InlineData("case300", 2e-3, 2e-3, 2e-2)]
    [InlineData("case_ACTIVSg2000", 1e-4, 2e-3, 1e-2)]
    public void Matches_matpower_runopf(string name, double vmTol, double lambdaPTol, double lambdaQTol)
    {
        var net = TestData.Load(name);
        var reference = ReferenceResults.Load(name).AcOpf;
        var r = AcOpfSolver.Solve(net);
        output.WriteLine($"{name}: {r.Status.Word()} objective {r.Objective:R} (MATPOWER {reference.Objective:R}), {r.Iterations} iterations, {r.SolveSeconds:0.000} s; {string.Join("; ", r.Messages)}");
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        double worstVm = 0, worstP = 0, worstQ = 0, worstMuV = 0, worstSf = 0;
        int worstPBus = 0, worstQBus = 0, worstVmBus = 0;
        for (int i = 0; i < net.BusCount; i++)
        {
            var b = r.Buses[i];
            var rb = reference.Buses[i];
            Assert.Equal(rb.Id, b.Id);
            if (Math.Abs(b.Vm - rb.Vm) > worstVm) (worstVm, worstVmBus) = (Math.Abs(b.Vm - rb.Vm), b.Id);
            double ep = Math.Abs(b.Lmp - rb.Lmp) / Math.Max(1, 1e-2 * Math.Abs(rb.Lmp)), eq = Math.Abs(b.LmpQ - rb.LmpQ) / Math.Max(1, 1e-2 * Math.Abs(rb.LmpQ));
            if (ep > worstP) (worstP, worstPBus) = (ep, b.Id);
            if (eq > worstQ) (worstQ, worstQBus) = (eq, b.Id);
            if (Environment.GetEnvironmentVariable("ACOPF_DEBUG") == name)
                output.WriteLine($"  bus {b.Id}: vm {b.Vm:F6}/{rb.Vm:F6} lmp {b.Lmp:F6}/{rb.Lmp:F6} lmpQ {b.LmpQ:F6}/{rb.LmpQ:F6} muVmax {b.MuVmax:F4}/{rb.MuVmax:F4} muVmin {b.MuVmin:F4}/{rb.MuVmin:F4}");
            worstMuV = Math.Max(worstMuV, Math.Abs(b.MuVmax - rb.MuVmax) + Math.Abs(b.MuVmin - rb.MuVmin));
        }
        for (int l = 0; l < net.Branches.Length; l++)
            worstSf = Math.Max(worstSf, Math.Abs(r.Branches[l].MuSf - reference.Branches[l].MuSf) + Math.Abs(r.Branches[l].MuSt - reference.Branches[l].MuSt));
        output.WriteLine($"  max |ΔVm| {worstVm:E2} (bus {worstVmBus}), λP error {worstP:E2} (bus {worstPBus}), λQ error {worstQ:E2} (bus {worstQBus}) (1e-3 $/MWh or 1e-5 relative), muV {worstMuV:E2}, muS {worstSf:E2}");
        Assert.True(Math.Abs(r.Objective - reference.Objective) <= 1e-6 * Math.Abs(reference.Objective), $"objective {r.Objective} vs {reference.Objective}");
        Assert.True(worstVm <= vmTol, $"|ΔVm| {worstVm} at bus {worstVmBus}");
        Assert.True(worstP <= lambdaPTol, $"λP {worstP} at bus {worstPBus}");
        Assert.True(worstQ <= lambdaQTol, $"λQ {worstQ} at bus {worstQBus}");
        // the flows MATPOWER reports are met: branch flows at our solution within 1e-2 MW/MVAr where the dispatch is unique
        if (vmTol <= 1e-4)
            for (int l = 0; l < net.Branches.Length; l++)
                Assert.True(Math.Abs(r.Branches[l].Pf - reference.Branches[l].Pf) <= 0.05 + 1e-4 * Math.Abs(reference.Branches[l].Pf),
                    $"branch {l + 1}: pf {r.Branches[l].Pf} vs {reference.Branches[l].Pf}");
    }
}

public class AcOpfPriceTests(ITestOutputHelper output)
{
    /// <summary>
    /// λ_P and λ_Q are the sensitivities of the optimal cost to 1 MW / 1 MVAr more load: central differences
    /// (±0.01) of the optimal cost agree with them, and more closely than MATPOWER's multipliers do (the buses
    /// are those where ours and MATPOWER's differ most).
    /// </summary>
    [Theory]
    [InlineData("case33bw", 33)]
    [InlineData("case33bw", 18)]
    [InlineData("case30", 30)]
    [InlineData("case9", 5)]
    [InlineData("case300", 9033)]
    [InlineData("case300", 9533)]
    [InlineData("case_ACTIVSg2000", 6096)]
    [InlineData("case_ACTIVSg2000", 3124)]
    public void Prices_are_the_cost_sensitivity_to_load(string name, int busId)
    {
        var net = TestData.Load(name);
        var r = AcOpfSolver.Solve(net);
        int b = net.BusIndex[busId];
        double Cost(double dp, double dq) => AcOpfSolver.Solve(net.With(buses: net.Buses.Select((x, i) => i == b ? x with { Pd = x.Pd + dp, Qd = x.Qd + dq } : x))).Objective;
        const double h = 0.01;
        double lp = (Cost(h, 0) - Cost(-h, 0)) / (2 * h), lq = (Cost(0, h) - Cost(0, -h)) / (2 * h);
        var rb = ReferenceResults.Load(name).AcOpf.Buses[b];
        output.WriteLine($"{name} bus {busId}: λP {r.Buses[b].Lmp:F6} vs finite difference {lp:F6} (MATPOWER {rb.Lmp:F6}); λQ {r.Buses[b].LmpQ:F6} vs {lq:F6} (MATPOWER {rb.LmpQ:F6})");
        Assert.Equal(lp, r.Buses[b].Lmp, 1e-3);
        Assert.Equal(lq, r.Buses[b].LmpQ, 2e-3); // finite differences on the 2000-bus case carry ~1e-3 of solver noise
        Assert.True(Math.Abs(r.Buses[b].Lmp - lp) <= Math.Abs(rb.Lmp - lp) + 1e-5, "MATPOWER's λP is closer to the finite difference");
        Assert.True(Math.Abs(r.Buses[b].LmpQ - lq) <= Math.Abs(rb.LmpQ - lq) + 1e-5, "MATPOWER's λQ is closer to the finite difference");
    }
}

public class AcOpfInvariantTests
{
    /// <summary>Kirchhoff at the optimum from the reported flows: Σ Pg − Pd = Σ flows out + Gs·Vm² at every bus (MW, MVAr).</summary>
    private static void AssertBalanced(OpenTE.Grid.Model.Network net, AcOpfResult r, double tol = 1e-4)
    {
        int nb = net.BusCount;
        var p = new double[nb];
        var q = new double[nb];
        foreach (var g in r.Generators) { int b = net.BusIndex[g.Bus]; p[b] += g.Pg; q[b] += g.Qg; }
        for (int i = 0; i < nb; i++)
        {
            var bus = net.Buses[i];
            double v2 = r.Buses[i].Vm * r.Buses[i].Vm;
            p[i] -= bus.Pd + bus.Gs * v2;
            q[i] -= bus.Qd - bus.Bs * v2;
        }
        foreach (var br in r.Branches)
        {
            p[net.BusIndex[br.From]] -= br.Pf; q[net.BusIndex[br.From]] -= br.Qf;
            p[net.BusIndex[br.To]] -= br.Pt; q[net.BusIndex[br.To]] -= br.Qt;
        }
        for (int i = 0; i < nb; i++)
        {
            if (net.Buses[i].Type == OpenTE.Grid.Model.BusType.Isolated) continue;
            Assert.True(Math.Abs(p[i]) <= tol && Math.Abs(q[i]) <= tol, $"bus {net.Buses[i].Id}: mismatch {p[i]} MW, {q[i]} MVAr");
        }
    }

    [Theory]
    [InlineData("case9")]
    [InlineData("case30")]
    [InlineData("case118")]
    [InlineData("case300")]
    public void Optimum_is_balanced_within_limits_and_complementary(string name)
    {
        var net = TestData.Load(name);
        var r = AcOpfSolver.Solve(net);
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        AssertBalanced(net, r);
        for (int i = 0; i < net.BusCount; i++)
        {
            var b = r.Buses[i];
            var bus = net.Buses[i];
            Assert.InRange(b.Vm, bus.Vmin - 1e-7, bus.Vmax + 1e-7);
            // complementary slackness: a voltage price only where the limit binds
            Assert.True(b.MuVmax >= 0 && b.MuVmin >= 0);
            Assert.True(b.MuVmax * (bus.Vmax - b.Vm) <= 1e-3, $"bus {b.Id}: muVmax {b.MuVmax} with slack {bus.Vmax - b.Vm}");
            Assert.True(b.MuVmin * (b.Vm - bus.Vmin) <= 1e-3, $"bus {b.Id}: muVmin {b.MuVmin} with slack {b.Vm - bus.Vmin}");
        }
        foreach (var br in r.Branches)
        {
            if (!(br.RateA > 0)) continue;
            double sf = Math.Sqrt(br.Pf * br.Pf + br.Qf * br.Qf), st = Math.Sqrt(br.Pt * br.Pt + br.Qt * br.Qt);
            Assert.True(sf <= br.RateA + 1e-4 && st <= br.RateA + 1e-4, $"branch {br.Index}: |S| {sf}/{st} over {br.RateA}");
            Assert.True(br.MuSf * (br.RateA - sf) <= 1e-3 && br.MuSt * (br.RateA - st) <= 1e-3, $"branch {br.Index}: flow price without a binding limit");
        }
        foreach (var g in r.Generators.Where(g => g.InService))
        {
            var gen = net.Generators[g.Index - 1];
            Assert.InRange(g.Pg, gen.Pmin - 1e-5, gen.Pmax + 1e-5);
            Assert.InRange(g.Qg, gen.Qmin - 1e-5, gen.Qmax + 1e-5);
        }
    }

    /// <summary>
    /// The program is described by named blocks that cover its variables and rows exactly once, and the prices
    /// reported are the duals of those blocks read by name (λ_P[i] = dual of balanceP at bus i, μ_Sf = dual of flowLimitFrom).
    /// </summary>
    [Fact]
    public void Prices_are_the_duals_of_the_named_balance_and_flow_limit_blocks()
    {
        var net = TestData.Load("case30");
        // an out-of-service copy of generator 1 as generator 3: no Pg, Qg of its own
        static IEnumerable<T> Insert<T>(IEnumerable<T> items, int at, T item) => items.Take(at).Append(item).Concat(items.Skip(at));
        net = net.With(generators: Insert(net.Generators, 2, net.Generators[0] with { Status = 0 }), genCosts: Insert(net.GenCosts, 2, net.GenCosts[0]));
        var program = new AcOpfProgram(net);
        var layout = program.Layout;
        Assert.Equal(["Va", "Vm", "Pg", "Qg", "pwlCost", "derQ"], layout.Variables.Blocks.Select(b => b.Name));
        Assert.Equal(["balanceP", "balanceQ"], layout.Equalities.Blocks.Select(b => b.Name));
        Assert.Equal(["flowLimitFrom", "flowLimitTo", "angleDifference", "pwlSegment", "derCapability"], layout.Inequalities.Blocks.Select(b => b.Name));
        foreach (var (blocks, count) in new[] { (layout.Variables, program.Variables), (layout.Equalities, program.Equalities), (layout.Inequalities, program.Inequalities) })
        {
            Assert.Equal(count, blocks.Count);
            for (int i = 0; i < count; i++) Assert.Single(blocks.Blocks, b => b.Contains(i));
        }
        Assert.Equal(net.Generators.Length - 1, program.Pg.Length);
        Assert.False(program.Pg.Has(2));
        Assert.Equal(program.Pg[2], program.Pg.IndexOf(3));
        int rated = net.Branches.Count(b => b.InService && b.RateA > 0 && b.RateA < 1e10);
        Assert.Equal(rated, program.FlowLimitFrom.Length);

        var r = AcOpfSolver.Solve(net);
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        var ipm = OpenTE.Numerics.Optimization.InteriorPoint.Solve(program, new AcOpfOptions().Solver);
        var s = new OpenTE.Numerics.Optimization.BlockSolution(layout, ipm);
        for (int i = 0; i < net.BusCount; i++)
        {
            Assert.Equal(r.Buses[i].Lmp, s.Dual("balanceP", i) / net.BaseMva);
            Assert.Equal(r.Buses[i].LmpQ, s.Dual("balanceQ", i) / net.BaseMva);
            Assert.Equal(r.Buses[i].Vm, s.Value("Vm", i));
        }
        Assert.Contains(r.Branches, b => b.MuSf > 1e-3 || b.MuSt > 1e-3); // a binding limit
        for (int l = 0; l < net.Branches.Length; l++)
        {
            double rate = net.Branches[l].RateA / net.BaseMva;
            double MuS(string limit) => s.Has(limit, l) ? 2 * s.Dual(limit, l) * rate / net.BaseMva : 0;
            Assert.Equal(r.Branches[l].MuSf, MuS("flowLimitFrom"));
            Assert.Equal(r.Branches[l].MuSt, MuS("flowLimitTo"));
        }
        Assert.False(r.Generators[2].InService);
        Assert.Equal(r.Generators[3].Pg, s.Value("Pg", 3) * net.BaseMva);
    }

    [Fact]
    public void Random_load_levels_converge_balanced_and_cost_more_with_more_load()
    {
        var net = TestData.Load("case30");
        Gen.Double[0.6, 1.0].Sample(s => // case30 stops being feasible a little above 1.03 × its load (cost climbs steeply: 577, 598, 622 $/h at 1, 1.02, 1.03)
        {
            var scaled = net.With(buses: net.Buses.Select(b => b with { Pd = b.Pd * s, Qd = b.Qd * s }));
            var more = net.With(buses: net.Buses.Select(b => b with { Pd = b.Pd * (s + 0.02), Qd = b.Qd * (s + 0.02) }));
            var r = AcOpfSolver.Solve(scaled);
            var r2 = AcOpfSolver.Solve(more);
            Assert.True(r.Status == ClearingStatus.Optimal, $"load ×{s}: {string.Join("; ", r.Messages)}");
            Assert.True(r2.Status == ClearingStatus.Optimal, $"load ×{s + 0.02}: {string.Join("; ", r2.Messages)}");
            AssertBalanced(scaled, r);
            Assert.True(r2.Objective > r.Objective, $"load ×{s}: cost {r.Objective}, ×{s + 0.02}: {r2.Objective}");
            Assert.All(r.Buses, b => Assert.True(b.Lmp > 0));
        }, iter: 25);
    }

    [Fact]
    public void Impossible_voltage_limits_fail_with_a_status_and_no_prices()
    {
        // every bus must sit at 1.3–1.31 p.u. while generators hold case9's tight Q limits: no solution
        var net = TestData.Load("case9");
        var bad = net.With(buses: net.Buses.Select(b => b with { Vmin = 1.3, Vmax = 1.31 }),
            generators: net.Generators.Select(g => g with { Qmax = 1, Qmin = -1 }));
        var r = AcOpfSolver.Solve(bad);
        Assert.NotEqual(ClearingStatus.Optimal, r.Status);
        Assert.True(double.IsNaN(r.Objective));
        Assert.All(r.Buses, b => Assert.True(double.IsNaN(b.Lmp) && double.IsNaN(b.LmpQ)));
        Assert.Contains(r.Messages, m => m.Contains("IPM"));
    }
}

public class AcOpfDecompositionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("case9")]
    [InlineData("case30")]
    [InlineData("case33bw")]
    [InlineData("case118")]
    [InlineData("case300")]
    [InlineData("case_ACTIVSg2000")]
    public void Price_parts_add_up_to_the_prices(string name)
    {
        var net = TestData.Load(name);
        var r = AcOpfSolver.Solve(net);
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        double worst = 0;
        foreach (var b in r.Buses)
        {
            var p = b.Parts!;
            // the parts come from separate linear solves on the balance Jacobian; the prices from the interior point
            double eP = Math.Abs(p.Energy + p.Loss + p.Congestion + p.Voltage - b.Lmp), eQ = Math.Abs(p.QLoss + p.QCongestion + p.QVoltage - b.LmpQ);
            worst = Math.Max(worst, Math.Max(eP, eQ));
            Assert.True(eP <= 1e-5 * Math.Max(1, Math.Abs(b.Lmp)) && eQ <= 1e-5 * Math.Max(1, Math.Abs(b.Lmp)),
                $"bus {b.Id}: λP {b.Lmp} vs {p.Energy} + {p.Loss} + {p.Congestion} + {p.Voltage}; λQ {b.LmpQ} vs {p.QLoss} + {p.QCongestion} + {p.QVoltage}");
        }
        output.WriteLine($"{name}: parts add up to within {worst:E1}");
        // no branch limit binds → no congestion part; no voltage limit binds → no voltage part
        if (r.Branches.All(l => !(l.MuSf > 1e-8 || l.MuSt > 1e-8)))
            Assert.All(r.Buses, b => Assert.True(Math.Abs(b.Parts!.Congestion) < 1e-6 && Math.Abs(b.Parts.QCongestion) < 1e-6));
        if (r.Buses.All(b => b.MuVmax < 1e-8 && b.MuVmin < 1e-8))
            Assert.All(r.Buses, b => Assert.True(Math.Abs(b.Parts!.Voltage) < 1e-6));
    }

    [Fact]
    public void Prices_on_a_radial_feeder_rise_with_distance_and_carry_a_loss_part()
    {
        // case33bw: one source at bus 1 (the reference, |V| fixed at 1 p.u.: its voltage multiplier gives every bus a
        // voltage part), no binding flow limits; marginal losses raise the price along the main feeder 1 → 18
        var net = TestData.Load("case33bw");
        var r = AcOpfSolver.Solve(net);
        var feeder = Enumerable.Range(1, 18).Select(id => r.Buses[net.BusIndex[id]]).ToList();
        for (int k = 1; k < feeder.Count; k++)
        {
            Assert.True(feeder[k].Lmp > feeder[k - 1].Lmp, $"bus {feeder[k].Id}: LMP {feeder[k].Lmp} not above bus {feeder[k - 1].Id}'s");
            Assert.True(feeder[k].Parts!.Loss > feeder[k - 1].Parts!.Loss, $"bus {feeder[k].Id}: loss part {feeder[k].Parts!.Loss} not above bus {feeder[k - 1].Id}'s");
            Assert.Equal(0, feeder[k].Parts!.Congestion, 1e-9);
            output.WriteLine($"bus {feeder[k].Id}: λP {feeder[k].Lmp:F4} = {feeder[k].Parts!.Energy:F4} + loss {feeder[k].Parts!.Loss:F4} + voltage {feeder[k].Parts!.Voltage:F4}; λQ {feeder[k].LmpQ:F4} = loss {feeder[k].Parts!.QLoss:F4} + voltage {feeder[k].Parts!.QVoltage:F4}");
        }
        var sub = r.Buses[net.BusIndex[1]];
        Assert.Equal(0, sub.Parts!.Loss, 1e-9);
        Assert.Equal(sub.Lmp, sub.Parts.Energy + sub.Parts.Voltage, 1e-6);
    }
}

public class VarMarketTests
{
    private static List<Der> Ders(OpenTE.Grid.Model.Network net)
    {
        // the example offers, written here so the test does not depend on where the repository is checked out
        const string csv = """
            der,bus,p_mw,s_mva,direction,price,q_mvar
            pv14,14,0.10,0.50,inject,1.5,0.15
            pv14,14,0.10,0.50,inject,3.5,0.15
            pv14,14,0.10,0.50,absorb,3.0,0.10
            pv18,18,0.06,0.35,inject,1.0,0.12
            pv18,18,0.06,0.35,inject,2.5,0.12
            pv25,25,0.12,0.60,inject,2.5,0.15
            pv30,30,0.15,0.75,inject,1.8,0.20
            pv30,30,0.15,0.75,inject,3.0,0.20
            pv33,33,0.08,0.40,inject,1.2,0.12
            pv33,33,0.08,0.40,inject,2.2,0.12
            """;
        return DerFile.Parse(csv, "ders.csv", net);
    }

    [Fact]
    public void Reactive_market_on_case33bw_fixes_the_voltages_and_pays_the_nodal_reactive_price()
    {
        var net = TestData.Load("case33bw");
        var ders = Ders(net);
        var r = VarMarket.Run(net, ders, new VarMarketOptions { VoltageBand = (0.95, 1.05) });
        Assert.Equal(ClearingStatus.Optimal, r.Market.Status);
        Assert.True(r.ViolationsWithout > 5, $"{r.ViolationsWithout} buses below 0.95 p.u. without the market");
        Assert.Equal(0, r.ViolationsWith);
        Assert.Contains(r.Market.Ders, d => d.QMvar > 0.01);
        foreach (var (d, der) in r.Market.Ders.Zip(ders))
        {
            // capability and offered quantity respected; payment is λQ × Q
            Assert.True(d.QMvar * d.QMvar + d.PMw * d.PMw <= der.SMva * der.SMva + 1e-6);
            Assert.InRange(d.QMvar, -der.Blocks.Where(b => !b.Inject).Sum(b => b.QMvar) - 1e-6, der.Blocks.Where(b => b.Inject).Sum(b => b.QMvar) + 1e-6);
            Assert.Equal(d.LmpQ * d.QMvar, d.Payment, 1e-9);
            // merit order at the bus price: blocks cheaper than λQ are full, dearer ones empty (inject side)
            double cumulative = 0;
            foreach (var b in der.Blocks.Where(b => b.Inject).OrderBy(b => b.Price))
            {
                if (b.Price < d.LmpQ - 1e-3) cumulative += b.QMvar;
                else if (b.Price > d.LmpQ + 1e-3) continue;
                else { cumulative = double.NaN; break; } // a marginal block may be partly taken
            }
            if (!double.IsNaN(cumulative) && d.QMvar >= -1e-6 && d.QMvar * d.QMvar + d.PMw * d.PMw < der.SMva * der.SMva - 1e-4)
                Assert.Equal(cumulative, d.QMvar, 1e-4);
        }
        Assert.True(r.TotalPayment > 0);
    }

    [Fact]
    public void Der_rows_are_validated_with_their_line()
    {
        var net = TestData.Load("case33bw");
        void Bad(string row, string expect)
        {
            var ex = Assert.Throws<OpenTE.Grid.Input.InputException>(() => DerFile.Parse("der,bus,p_mw,s_mva,direction,price,q_mvar\n" + row + "\n", "d.csv", net));
            Assert.Contains("d.csv:2:", ex.Message);
            Assert.Contains(expect, ex.Message);
        }
        Bad("a,99,0.1,0.2,inject,1,0.1", "bus");
        Bad("a,5,0.3,0.2,inject,1,0.1", "p_mw");
        Bad("a,5,0.1,0.2,sideways,1,0.1", "direction");
        Bad("a,5,0.1,0.2,inject,NaN,0.1", "price");
        Bad("a,5,0.1,0.2,inject,1,-0.1", "q_mvar");
        Bad("a,5,0.1,0.2,inject,1", "6 columns where the header has 7");
        var ex = Assert.Throws<OpenTE.Grid.Input.InputException>(() => DerFile.Parse("der,bus,p_mw,s_mva,direction,price,q_mvar\na,5,0.1,0.2,inject,1,0.1\na,6,0.1,0.2,inject,2,0.1\n", "d.csv", net));
        Assert.Contains("d.csv:3:", ex.Message);
    }
}

/// <summary>A fact that is skipped, with the reason, where libipopt is not installed.</summary>
public sealed class IpoptTheoryAttribute : TheoryAttribute
{
    public IpoptTheoryAttribute()
    {
        if (!OpenTE.Numerics.Optimization.Ipopt.IsAvailable)
            Skip = "libipopt is not installed (Debian: apt-get install coinor-libipopt-dev; .ci/run installs it): the Ipopt cross-check is skipped";
    }
}

public class AcOpfIpoptTests(ITestOutputHelper output)
{
    /// <summary>
    /// Ipopt's sparse solver (the sequential MUMPS) keeps global state, so two native solves at once crashed the process (the
    /// test host died now and then when two Ipopt tests ran in parallel). Solves from many threads at once are now serialised
    /// and each gives the answer a solve alone gives.
    /// </summary>
    [IpoptTheory]
    [InlineData("case118")]
    [InlineData("case300")]
    public void Ipopt_solves_from_many_threads_at_once_agree_with_one_alone(string name)
    {
        var net = TestData.Load(name);
        var options = new AcOpfOptions { Backend = AcOpfBackend.Ipopt };
        var alone = AcOpfSolver.Solve(net, options);
        Assert.Equal(ClearingStatus.Optimal, alone.Status);
        var results = new AcOpfResult[24];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 6 }, k => results[k] = AcOpfSolver.Solve(net, options));
        foreach (var r in results)
        {
            Assert.Equal(ClearingStatus.Optimal, r.Status);
            Assert.Equal(alone.Objective, r.Objective);
            Assert.Equal(alone.Buses.Select(b => b.Vm), r.Buses.Select(b => b.Vm));
        }
    }

    /// <summary>Issue #4: the same program solved by Ipopt gives the same answer as our interior point.</summary>
    [IpoptTheory]
    [InlineData("case9", 1e-4, 1e-3)]
    [InlineData("case30", 1e-4, 1e-3)]
    [InlineData("case33bw", 1e-4, 1e-3)]
    [InlineData("case118", 1e-4, 1e-3)]
    // the two big cases: λQ agree to 1.0e-3 (case300, flat in |V|) and 3.4e-3 (2000 buses) — measured
    [InlineData("case300", 2e-3, 5e-3)]
    [InlineData("case_ACTIVSg2000", 1e-4, 5e-3)]
    public void Ipopt_and_the_managed_interior_point_agree(string name, double vmTol, double lambdaTol)
    {
        var net = TestData.Load(name);
        var ours = AcOpfSolver.Solve(net);
        var ipopt = AcOpfSolver.Solve(net, new AcOpfOptions { Backend = AcOpfBackend.Ipopt });
        output.WriteLine($"{name}: ours {ours.Objective:R} ({ours.SolveSeconds:0.000} s), Ipopt {ipopt.Objective:R} ({ipopt.SolveSeconds:0.000} s, {string.Join("; ", ipopt.Messages)})");
        Assert.Equal(ClearingStatus.Optimal, ipopt.Status);
        Assert.True(Math.Abs(ours.Objective - ipopt.Objective) <= 1e-6 * Math.Abs(ours.Objective), $"{ours.Objective} vs {ipopt.Objective}");
        double dv = 0, dp = 0, dq = 0;
        for (int i = 0; i < net.BusCount; i++)
        {
            dv = Math.Max(dv, Math.Abs(ours.Buses[i].Vm - ipopt.Buses[i].Vm));
            dp = Math.Max(dp, Math.Abs(ours.Buses[i].Lmp - ipopt.Buses[i].Lmp) / Math.Max(1, 1e-2 * Math.Abs(ours.Buses[i].Lmp)));
            dq = Math.Max(dq, Math.Abs(ours.Buses[i].LmpQ - ipopt.Buses[i].LmpQ) / Math.Max(1, 1e-2 * Math.Abs(ours.Buses[i].LmpQ)));
        }
        output.WriteLine($"  max |ΔVm| {dv:E2}, λP {dp:E2}, λQ {dq:E2}");
        Assert.True(dv <= vmTol, $"|ΔVm| {dv}");
        Assert.True(dp <= lambdaTol && dq <= lambdaTol, $"λP {dp}, λQ {dq}");
    }
}

public class AcOpfFallbackTests
{
    /// <summary>
    /// Issue #16: with <see cref="AcOpfBackend.Auto"/> (the CLI's --solver auto) a failed interior point hands the same program
    /// to Ipopt and says so; the prices come from the answer that is given. The failure is forced (3 iterations) so that the
    /// test does not depend on which grids our interior point cannot solve today.
    /// </summary>
    [IpoptTheory]
    [InlineData("case30")]
    [InlineData("case118")]
    public void A_failed_interior_point_falls_back_to_ipopt_and_says_so(string name)
    {
        var net = TestData.Load(name);
        var weak = new OpenTE.Numerics.Optimization.InteriorPointOptions { CostScale = 1e-4, PredictorCorrector = false, MaxIterations = 3 };
        var managed = AcOpfSolver.Solve(net, new AcOpfOptions { Backend = AcOpfBackend.Managed, Solver = weak });
        Assert.NotEqual(ClearingStatus.Optimal, managed.Status);
        Assert.Equal("IPM", managed.Solver);
        var auto = AcOpfSolver.Solve(net, new AcOpfOptions { Backend = AcOpfBackend.Auto, Solver = weak });
        Assert.Equal(ClearingStatus.Optimal, auto.Status);
        Assert.Equal("Ipopt", auto.Solver);
        Assert.Contains(auto.Messages, m => m.StartsWith("solver fallback:"));
        var reference = AcOpfSolver.Solve(net);
        Assert.Equal("IPM", reference.Solver);
        Assert.Equal(reference.Objective, auto.Objective, 1e-6 * reference.Objective);
        Assert.All(auto.Buses, b => Assert.True(double.IsFinite(b.Lmp), $"bus {b.Id}: LMP {b.Lmp}"));
        Assert.Contains("\"solver\": \"Ipopt\"", auto.ToJson());
    }

    [Fact]
    public void Placeholder_branch_limits_leave_the_optimum_and_the_power_balance_unchanged()
    {
        // PGLib's RTE cases rate some branches 320,795 MVA ("no limit"): |S|² − rate² puts a slack of ~1e7 p.u.² into the
        // interior point. The same limit on every unrated branch of case30 must give the optimum of the case as given, with
        // the power balance met to the solver's tolerance in p.u. — not to 1e-8 of the slack (issue #16)
        var net = TestData.Load("case5");
        var plain = AcOpfSolver.Solve(net);
        var huge = net.With(branches: net.Branches.Select(b => b.RateA > 0 ? b : b with { RateA = 320_795 }));
        Assert.Contains(net.Branches, b => !(b.RateA > 0));
        var placeholders = net.Branches.Select((b, l) => (b, l)).Where(t => !(t.b.RateA > 0)).Select(t => t.l).ToHashSet();
        var r = AcOpfSolver.Solve(huge, new AcOpfOptions { Backend = AcOpfBackend.Managed });
        Assert.Equal(ClearingStatus.Optimal, plain.Status);
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        Assert.Equal(plain.Objective, r.Objective, 1e-6 * plain.Objective);
        Assert.All(r.Branches.Where(b => placeholders.Contains(b.Index)), b => Assert.True(b.MuSf < 1e-6 && b.MuSt < 1e-6, $"branch {b.Index}: price {b.MuSf}/{b.MuSt} on a placeholder limit"));
        // Σ generation = Σ load + losses, in MW
        double gen = r.Generators.Where(g => g.InService).Sum(g => g.Pg), load = net.Buses.Sum(b => b.Pd);
        Assert.Equal(load + r.LossesMw, gen, 1e-4);
    }
}
