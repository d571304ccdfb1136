using OpenTE.Market.Outcome;
using CsCheck;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Tests;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.Tests;

public class DcOpfTests
{
    /// <summary>Issue #3 accuracy: objective within 1e-6 relative, every LMP within 1e-3 $/MWh of MATPOWER's rundcopf.</summary>
    [Theory]
    [MemberData(nameof(TestData.Cases), MemberType = typeof(TestData))]
    public void Matches_matpower_dcopf(string name)
    {
        var net = TestData.Load(name);
        var reference = ReferenceResults.Load(name).DcOpf;
        var r = DcOpfSolver.Solve(net, new DcOpfOptions { Solver = SolverKind.InteriorPoint });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        Assert.True(Math.Abs(r.Objective - reference.Objective) <= 1e-6 * Math.Abs(reference.Objective),
            $"objective {r.Objective} vs {reference.Objective}");
        foreach (var rb in reference.Buses)
        {
            double lmp = r.Lmp(rb.Id);
            Assert.True(Math.Abs(lmp - rb.Lmp) <= 1e-3, $"bus {rb.Id}: LMP {lmp} vs {rb.Lmp}");
        }
        foreach (var rl in reference.Branches)
        {
            var l = r.Branches[rl.Index - 1];
            Assert.True(Math.Abs(l.MuSf - rl.MuSf) <= 1e-3 && Math.Abs(l.MuSt - rl.MuSt) <= 1e-3,
                $"branch {rl.Index}: mu {l.MuSf}/{l.MuSt} vs {rl.MuSf}/{rl.MuSt}");
        }
    }

    [Theory]
    [InlineData("case5", SolverKind.Glop)]
    [InlineData("case5", SolverKind.InteriorPoint)]
    [InlineData("case9", SolverKind.InteriorPoint)]
    [InlineData("case30", SolverKind.InteriorPoint)]
    [InlineData("case118", SolverKind.InteriorPoint)]
    public void Invariants_balance_complementarity_duality_and_congestion_rent(string name, SolverKind solver)
    {
        var net = TestData.Load(name);
        var r = DcOpfSolver.Solve(net, new DcOpfOptions { Solver = solver });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        // balance: generation = load (+ shunt) in the lossless model, and per bus via flows
        Assert.Equal(net.Buses.Sum(b => b.Pd + b.Gs), r.Generators.Sum(g => g.Pg), 5);
        var flowOut = new double[net.BusCount];
        foreach (var l in r.Branches) { flowOut[net.IndexOf(l.From)] += l.Pf; flowOut[net.IndexOf(l.To)] += l.Pt; }
        var gen = new double[net.BusCount];
        foreach (var g in r.Generators) gen[net.IndexOf(g.Bus)] += g.Pg;
        for (int b = 0; b < net.BusCount; b++)
            Assert.Equal(gen[b] - net.Buses[b].Pd - net.Buses[b].Gs, flowOut[b], 5);
        // complementary slackness: a priced limit is a binding limit, a slack limit has no price
        foreach (var l in r.Branches)
        {
            if (l.RateA <= 0) continue;
            double slackF = l.RateA - l.Pf, slackT = l.RateA + l.Pf;
            Assert.True(l.MuSf * slackF <= 1e-4 && l.MuSt * slackT <= 1e-4, $"branch {l.Index}: μ·slack = {l.MuSf * slackF}, {l.MuSt * slackT}");
            Assert.True(slackF >= -1e-5 && slackT >= -1e-5, $"branch {l.Index} over its rating: {l.Pf} > {l.RateA}");
        }
        // strong duality
        Assert.True(Math.Abs(r.Objective - r.DualObjective) <= 1e-6 * Math.Max(1, Math.Abs(r.Objective)),
            $"primal {r.Objective} vs dual {r.DualObjective}");
        // congestion rent identity: Σ μ·rate = Σ (LMP_to − LMP_from)·flow
        double fromMu = r.Branches.Sum(l => (l.MuSf + l.MuSt) * l.RateA);
        Assert.Equal(fromMu, r.CongestionRent, 3);
        // LMP decomposition adds up
        foreach (var b in r.Buses) Assert.Equal(b.Lmp, b.LmpEnergy + b.LmpCongestion + b.LmpLoss, 4);
    }

    [Theory]
    [InlineData("case5", false, false)]
    [InlineData("case5", false, true)]
    [InlineData("case30", false, true)]
    [InlineData("pglib_opf_case89_pegase", true, false)]
    [InlineData("pglib_opf_case1354_pegase", true, false)]
    [InlineData("pglib_opf_case240_pserc", true, false)]
    public void Congestion_component_is_the_ptdf_weighted_sum_of_the_priced_limits(string name, bool pglib, bool angleLimit)
    {
        // the result forms −Σₗ PTDF[l,·]·wₗ with one transposed solve; here the same sum branch by branch from the PTDF rows
        // (flow limits priced μ_Sf − μ_St; angle-difference limits priced on θf − θt, i.e. per b_l of flow), both solvers
        var net = pglib ? TestData.LoadPglib(name) : TestData.Load(name);
        if (angleLimit)
        {
            // the branch with the widest angle difference may open only half as far: an angle-difference limit is priced
            var free = DcOpfSolver.Solve(net);
            var va = free.Buses.Select(b => b.VaDeg).ToArray();
            int widest = Enumerable.Range(0, net.Branches.Length).MaxBy(l => Math.Abs(va[net.BusIndex[net.Branches[l].From]] - va[net.BusIndex[net.Branches[l].To]]));
            double half = 0.5 * Math.Abs(va[net.BusIndex[net.Branches[widest].From]] - va[net.BusIndex[net.Branches[widest].To]]);
            var branches = net.Branches.ToArray();
            branches[widest] = branches[widest] with { AngMinDeg = -half, AngMaxDeg = half };
            net = net.With(branches: branches);
        }
        var dc = new OpenTE.Grid.PowerFlow.DcNetwork(net);
        foreach (var solver in new[] { SolverKind.Auto, SolverKind.InteriorPoint })
        {
            var r = DcOpfSolver.Solve(net, new DcOpfOptions { Solver = solver });
            Assert.Equal(ClearingStatus.Optimal, r.Status);
            var priced = new List<int>();
            var weight = new List<double>();
            foreach (var l in r.Branches)
            {
                int k = l.Index - 1;
                double muFlow = l.MuSf - l.MuSt, muAngle = (l.MuAngMax - l.MuAngMin) * 180 / Math.PI;
                if (!(Math.Abs(muFlow) > 1e-9 || Math.Abs(muAngle) / net.BaseMva > 1e-9) || dc.B[k] == 0) continue;
                priced.Add(k);
                weight.Add(muFlow + muAngle / (dc.B[k] * net.BaseMva));
            }
            if (angleLimit) Assert.Contains(r.Branches, l => l.MuAngMin + l.MuAngMax > 1e-3);
            var rows = dc.Ptdf(priced);
            double scale = 1 + r.Buses.Max(b => Math.Abs(b.LmpCongestion));
            Assert.Contains(r.Buses, b => Math.Abs(b.LmpCongestion) > 1e-3); // congested: the check is not of zeros
            for (int b = 0; b < net.BusCount; b++)
            {
                double expected = 0;
                for (int k = 0; k < priced.Count; k++) expected -= rows[k][b] * weight[k];
                Assert.True(Math.Abs(expected - r.Buses[b].LmpCongestion) <= 1e-9 * scale,
                    $"{solver}, bus {r.Buses[b].Id}: congestion {r.Buses[b].LmpCongestion:R}, branch by branch {expected:R}");
            }
        }
    }

    [Fact]
    public void Case5_is_congested_and_prices_separate()
    {
        var r = DcOpfSolver.Solve(TestData.Load("case5"));
        Assert.Contains(r.Branches, l => l.Binding);
        Assert.True(r.Buses.Max(b => b.Lmp) - r.Buses.Min(b => b.Lmp) > 1);
        Assert.True(r.MerchandisingSurplus > 0);
        Assert.Equal(r.CongestionRent, r.MerchandisingSurplus, 4);
    }

    [Fact]
    public void Glop_and_interior_point_agree_on_a_linear_case()
    {
        var net = TestData.Load("case5");
        var a = DcOpfSolver.Solve(net, new DcOpfOptions { Solver = SolverKind.Glop });
        var b = DcOpfSolver.Solve(net, new DcOpfOptions { Solver = SolverKind.InteriorPoint });
        Assert.Equal(a.Objective, b.Objective, 4);
    }

    private const string TwoBus = """
        mpc.baseMVA = 100;
        mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 0 0 0 0 1 1 0 230 1 1.1 0.9];
        mpc.gen = [1 0 0 0 0 1 100 1 0 0];
        mpc.branch = [1 2 0 0.1 0 50 50 50 0 0 1 -360 360];
        mpc.gencost = [2 0 0 2 0 0];
        """;

    [Fact]
    public void Bids_clear_against_the_line_limit_with_the_textbook_prices()
    {
        var net = MatpowerCase.Parse(TwoBus, "two.m").Network;
        Bid[] bids =
        [
            new("cheap", 1, Side.Sell, 20, 100, 1, 0),
            new("dear", 2, Side.Sell, 50, 100, 1, 0),
            new("load", 2, Side.Buy, 80, 120, 1, 0),
        ];
        var r = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        // the line carries its 50 MW limit; bus 1 is priced by the cheap seller, bus 2 by the dear one
        Assert.Equal(50, r.Bids[0].AcceptedMw, 6);
        Assert.Equal(70, r.Bids[1].AcceptedMw, 6);
        Assert.Equal(120, r.Bids[2].AcceptedMw, 6);
        Assert.Equal(20, r.Lmp(1), 6);
        Assert.Equal(50, r.Lmp(2), 6);
        Assert.Equal(30, r.Branches[0].MuSf, 6);
        Assert.Equal(30 * 50, r.CongestionRent, 6);
        Assert.Equal(120 * 80 - 50 * 20 - 70 * 50, r.Welfare, 6);
        Assert.Equal(0, r.Bids[0].Surplus, 6);
        Assert.Equal((80 - 50) * 120, r.Bids[2].Surplus, 6);
    }

    [Fact]
    public void A_clearing_where_nothing_trades_reports_exactly_zero_within_the_bounds()
    {
        // CsCheck seed 8k3bUWEb0pU3 of the surplus test: CLP stood on a vertex with one buyer at +1.26e-10 p.u. and another
        // at −1.26e-10 p.u. (outside its bound 0 by the simplex's feasibility tolerance), welfare 1.7e-7 $/h from nothing
        var net = TestData.Load("case5");
        Bid[] bids =
        [
            new("p0", 3, Side.Buy, 47, 53.07, 1, 0), new("p1", 1, Side.Buy, 33.41, 68, 2, 0),
            new("p2", 5, Side.Buy, 7, 39, 3, 0), new("p3", 1, Side.Sell, 95.04, 73.03, 4, 0),
        ];
        foreach (var solver in new[] { SolverKind.Auto, SolverKind.Clp, SolverKind.Glop })
        {
            var r = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids, IncludeCaseGenerators = false, IncludeCaseLoad = false, Solver = solver });
            Assert.Equal(ClearingStatus.Optimal, r.Status);
            Assert.All(r.Bids, b => Assert.Equal(0.0, b.AcceptedMw)); // the seller asks more than any buyer offers
            Assert.Equal(0.0, r.Welfare);
            Assert.Equal(0.0, r.Objective);
        }
    }

    /// <summary>A generator at bus 1 (0–300 MW, 10 $/MWh), 100 MW of load at bus 2, and two branches 1–2 (MATPOWER rows).</summary>
    private static OpenTE.Grid.Model.Network TwoParallelLines(string branchA, string branchB) => MatpowerCase.Parse($"""
        mpc.baseMVA = 100;
        mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 100 0 0 0 1 1 0 230 1 1.1 0.9];
        mpc.gen = [1 0 0 0 0 1 100 1 300 0];
        mpc.branch = [{branchA}; {branchB}];
        mpc.gencost = [2 0 0 2 10 0];
        """, "parallel.m").Network;

    [Fact]
    public void The_admittance_susceptance_splits_flows_by_x_over_r2_plus_x2()
    {
        // two parallel lines 1→2: A (r 0, x 0.1) and B (r 0.1, x 0.1). MATPOWER's b = 1/x: 10 and 10, an even split of
        // the 100 MW; PowerModels' b = x/(r² + x²): 10 and 5, so A carries 2/3
        var net = TwoParallelLines("1 2 0 0.1 0 0 0 0 0 0 1 -360 360", "1 2 0.1 0.1 0 0 0 0 0 0 1 -360 360");
        var x = DcOpfSolver.Solve(net);
        Assert.Equal(50, x.Branches[0].Pf, 6);
        Assert.Equal(50, x.Branches[1].Pf, 6);
        var y = DcOpfSolver.Solve(net, new DcOpfOptions { Susceptance = OpenTE.Grid.PowerFlow.DcSusceptance.Admittance });
        Assert.Equal(200.0 / 3, y.Branches[0].Pf, 6);
        Assert.Equal(100.0 / 3, y.Branches[1].Pf, 6);
        Assert.Equal(x.Objective, y.Objective, 6); // the same dispatch: only the flows differ
    }

    [Fact]
    public void The_admittance_model_ignores_taps_and_phase_shifts_as_PowerModels_does()
    {
        // the same two parallel lines, the second now a phase-shifting transformer (tap 0.5, shift 10°): MATPOWER's model
        // gives it b = 1/(x·tap) and a shift injection; PowerModels' p = −b·(θf − θt) has neither — its flows do not change
        var pm = new DcOpfOptions { Susceptance = OpenTE.Grid.PowerFlow.DcSusceptance.Admittance };
        var a = DcOpfSolver.Solve(TwoParallelLines("1 2 0 0.1 0 0 0 0 0 0 1 -360 360", "1 2 0.1 0.1 0 0 0 0 0 0 1 -360 360"), pm);
        var shifted = TwoParallelLines("1 2 0 0.1 0 0 0 0 0 0 1 -360 360", "1 2 0.1 0.1 0 0 0 0 0.5 10 1 -360 360");
        var b = DcOpfSolver.Solve(shifted, pm);
        Assert.Equal(a.Branches[1].Pf, b.Branches[1].Pf, 6);
        Assert.Equal(100.0 / 3, b.Branches[1].Pf, 6);
        var m = DcOpfSolver.Solve(shifted); // MATPOWER's model does see them
        Assert.True(Math.Abs(m.Branches[1].Pf - 100.0 / 3) > 1, $"MATPOWER's model: {m.Branches[1].Pf} MW");
    }

    [Fact]
    public void An_infeasible_clearing_names_the_load_it_cannot_serve_the_limits_and_the_other_branch_model()
    {
        // 100 MW at bus 2 over two parallel lines: A (r 0.3, x 0.1, 40 MW) and B (r 0, x 0.1, 95 MW). b = 1/x splits 50/50 and
        // overloads A (infeasible: at most 80 MW arrive, 20 MW short); b = x/(r² + x²) gives A 1/11 of the flow (feasible)
        var net = TwoParallelLines("1 2 0.3 0.1 0 40 40 40 0 0 1 -360 360", "1 2 0 0.1 0 95 95 95 0 0 1 -360 360");
        var r = DcOpfSolver.Solve(net);
        Assert.Equal(ClearingStatus.Infeasible, r.Status);
        var why = string.Join("\n", r.Messages);
        Assert.Contains("diagnosis: 20 MW of load at 1 bus(es) cannot be served within the limits: 2 (20 MW)", why);
        Assert.Contains("branch 1 (1–2, rating 40 MW)", why);
        Assert.DoesNotContain("branch 2 (", why); // B carries 40 MW of its 95: not a cause
        Assert.Contains("--dc-susceptance admittance) the clearing is feasible: optimal at 1000 $/h", why);
        // with the PowerModels model it is optimal, and its diagnosis is not needed
        var pm = DcOpfSolver.Solve(net, new DcOpfOptions { Susceptance = OpenTE.Grid.PowerFlow.DcSusceptance.Admittance });
        Assert.Equal(ClearingStatus.Optimal, pm.Status);
        Assert.DoesNotContain(pm.Messages, m => m.StartsWith("diagnosis"));
        // a value of lost load turns the diagnosis into the clearing itself: 20 MW shed at bus 2
        var voll = DcOpfSolver.Solve(net, new DcOpfOptions { ValueOfLostLoad = 5000 });
        Assert.Equal(20, voll.Buses[1].ShedMw, 6);
    }

    [Fact]
    public void Minimum_generation_above_the_load_is_infeasible_with_quadratic_costs_too()
    {
        // Σ Pmin = 200 MW > 150 MW of load, quadratic costs (the interior point's problem): the interior point diverges, the
        // simplex chain on the same constraints confirms infeasibility — reported as infeasible, not as a numerical error
        const string text = """
            mpc.baseMVA = 100;
            mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 150 0 0 0 1 1 0 230 1 1.1 0.9];
            mpc.gen = [1 0 0 0 0 1 100 1 300 200];
            mpc.branch = [1 2 0 0.1 0 300 300 300 0 0 1 -360 360];
            mpc.gencost = [2 0 0 3 0.01 10 0];
            """;
        var net = MatpowerCase.Parse(text, "minimum.m").Network;
        var r = DcOpfSolver.Solve(net);
        Assert.Equal(ClearingStatus.Infeasible, r.Status);
    }

    [Fact]
    public void Infeasible_demand_is_reported_and_voll_sheds_instead()
    {
        const string text = """
            mpc.baseMVA = 100;
            mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 150 0 0 0 1 1 0 230 1 1.1 0.9];
            mpc.gen = [1 0 0 0 0 1 100 1 300 0];
            mpc.branch = [1 2 0 0.1 0 100 100 100 0 0 1 -360 360];
            mpc.gencost = [2 0 0 2 10 0];
            """;
        var net = MatpowerCase.Parse(text, "short.m").Network;
        var r = DcOpfSolver.Solve(net);
        Assert.Equal(ClearingStatus.Infeasible, r.Status);
        Assert.Contains(r.Messages, m => m.Contains("bus 2") && m.Contains("exceeds"));
        var v = DcOpfSolver.Solve(net, new DcOpfOptions { ValueOfLostLoad = 1000 });
        Assert.Equal(ClearingStatus.Optimal, v.Status);
        Assert.Equal(50, v.Buses[1].ShedMw, 5);
        Assert.Equal(1000, v.Lmp(2), 4);
        Assert.Equal(10, v.Lmp(1), 4);
    }
}

public class DcOpfPropertyTests
{
    [Fact]
    public void Random_bids_on_case30_keep_balance_duality_and_individual_rationality()
    {
        var net = TestData.Load("case30");
        Gen.Select(Gen.Int[1, 40], Gen.Int).Sample((count, seed) =>
        {
            var rnd = new Random(seed);
            var bids = Enumerable.Range(0, count).Select(k =>
            {
                bool buy = rnd.Next(2) == 0;
                return new Bid("p" + k, net.Buses[rnd.Next(net.BusCount)].Id, buy ? Side.Buy : Side.Sell,
                    Math.Round(rnd.NextDouble() * 80, 1), Math.Round(0.5 + rnd.NextDouble() * 20, 1), 1, 0);
            }).ToList();
            foreach (var solver in new[] { SolverKind.InteriorPoint })
            {
                var r = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids, Solver = solver });
                Assert.Equal(ClearingStatus.Optimal, r.Status);
                double sold = r.Generators.Sum(g => g.Pg) + r.Bids.Where(b => b.Bid.Side == Side.Sell).Sum(b => b.AcceptedMw);
                double bought = net.Buses.Sum(b => b.Pd + b.Gs) + r.Bids.Where(b => b.Bid.Side == Side.Buy).Sum(b => b.AcceptedMw);
                Assert.True(Math.Abs(bought - sold) <= 1e-4, $"sold {sold} MW, bought {bought} MW"); // energy sold = energy bought (lossless), to 0.1 kW
                Assert.True(Math.Abs(r.Objective - r.DualObjective) <= 1e-6 * Math.Max(1, Math.Abs(r.Objective)), $"objective {r.Objective:R}, dual {r.DualObjective:R}, {r.Iterations} it.; {string.Join("; ", r.Messages)}");
                foreach (var b in r.Bids)
                {
                    // accepted bids are in the money at their LMP, rejected ones out of it (up to solver tolerance)
                    if (b.AcceptedMw > 1e-4) Assert.True(b.Surplus >= -1e-4 * (1 + b.AcceptedMw), $"negative surplus {b.Surplus}");
                    bool inMoney = b.Bid.Side == Side.Buy ? b.Bid.Price > b.Price + 1e-3 : b.Bid.Price < b.Price - 1e-3;
                    if (inMoney) Assert.True(Math.Abs(b.Bid.Quantity - b.AcceptedMw) <= 1e-3, $"in the money but only {b.AcceptedMw} of {b.Bid.Quantity} MW accepted");
                }
                foreach (var bus in r.Buses) // the decomposition adds up to the solver's accuracy (1e-3 $/MWh, as the MATPOWER comparison)
                    Assert.True(Math.Abs(bus.Lmp - bus.LmpEnergy - bus.LmpCongestion) <= 1e-3, $"bus {bus.Id}: {bus.Lmp} vs {bus.LmpEnergy} + {bus.LmpCongestion}");
            }
        }, iter: 100, threads: 1);
    }
}
