using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Market.Strategic;

namespace OpenTE.Market.Tests;

/// <summary>The known answers of docs/strategic.md, worked by hand, and properties over random small markets.</summary>
public class StrategicTests
{
    // one bus, 100 MW of fixed load, a 100 MW peaker at 50 $/MWh
    private const string OneBus = """
        mpc.baseMVA = 100;
        mpc.bus = [1 3 100 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 0 0 0 0 1 1 0 230 1 1.1 0.9];
        mpc.gen = [1 0 0 0 0 1 100 1 100 0];
        mpc.branch = [1 2 0 0.1 0 0 0 0 0 0 1 -360 360];
        mpc.gencost = [2 0 0 2 50 0];
        """;

    private static Network Net(string text) => MatpowerCase.Parse(text, "test.m").Network;

    [Fact]
    public void One_bus_withholding_pays()
    {
        var net = Net(OneBus);
        Bid[] bids =
        [
            new("big", 1, Side.Sell, 10, 50, 1, 0),
            new("big", 1, Side.Sell, 12, 30, 2, 0),
            new("rival", 1, Side.Sell, 20, 30, 1, 0),
        ];
        var r = StrategicBidding.Solve(net, bids, ["big"], new StrategicOptions { Mode = StrategicMode.Quantity });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        var big = r.Leaders[0];
        // competitive: big 80 MW + rival 20 MW, the rival sets 20 $/MWh: (20 − 10)·50 + (20 − 12)·30 = 740
        Assert.Equal(740, big.CompetitiveProfit, 6);
        // withhold 10 MW of block 2: the peaker becomes marginal, 50 $/MWh: 40·50 + 38·20 = 2760
        Assert.Equal(2760, big.Profit, 4);
        Assert.Equal(50, big.Offers[0].OfferQuantity, 5);
        Assert.Equal(20, big.Offers[1].OfferQuantity, 5);
        Assert.Equal(50, r.Buses[0].Lmp, 5);
        Assert.Equal(20, r.Buses[0].LmpCompetitive, 6);
        Assert.True(r.Recleared.Agrees, string.Join("; ", r.Messages));
        Assert.Equal(2760, r.Recleared.Profit, 2);
    }

    [Fact]
    public void One_bus_price_cap_limits_the_offer_not_the_price_withholding_beats_pricing()
    {
        var net = Net(OneBus);
        Bid[] bids =
        [
            new("big", 1, Side.Sell, 10, 50, 1, 0),
            new("big", 1, Side.Sell, 12, 30, 2, 0),
            new("rival", 1, Side.Sell, 20, 30, 1, 0),
        ];
        // capped at 40, pricing alone makes block 2 marginal at 40: 30·50 + 28·20 = 2060
        var price = StrategicBidding.Solve(net, bids, ["big"], new StrategicOptions { Mode = StrategicMode.Price, PriceCap = 40 });
        Assert.Equal(2060, price.Leaders[0].Profit, 4);
        Assert.Equal(40, price.Leaders[0].Offers[1].OfferPrice, 5);
        Assert.Equal(40, price.Buses[0].Lmp, 5);
        // withholding lets the peaker (not subject to the leader's cap) set 50: 2760
        var both = StrategicBidding.Solve(net, bids, ["big"], new StrategicOptions { Mode = StrategicMode.Both, PriceCap = 40 });
        Assert.Equal(2760, both.Leaders[0].Profit, 4);
        Assert.True(price.Recleared.Agrees && both.Recleared.Agrees);
    }

    // two buses: a 200 MW generator at 10 $/MWh at bus 1, 150 MW of load at bus 2, the line between them limited to 100 MW
    private const string TwoBus = """
        mpc.baseMVA = 100;
        mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 150 0 0 0 1 1 0 230 1 1.1 0.9];
        mpc.gen = [1 0 0 0 0 1 100 1 200 0];
        mpc.branch = [1 2 0 0.1 0 100 100 100 0 0 1 -360 360];
        mpc.gencost = [2 0 0 2 10 0];
        """;

    private static readonly Bid[] TwoBusBids =
    [
        new("local", 2, Side.Sell, 20, 100, 1, 0),
        new("peaker", 2, Side.Sell, 60, 100, 1, 0),
        new("flex", 2, Side.Buy, 40, 30, 1, 0),
    ];

    [Fact]
    public void Two_bus_congestion_gives_the_local_leader_market_power()
    {
        var r = StrategicBidding.Solve(Net(TwoBus), TwoBusBids, ["local"]);
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        var local = r.Leaders[0];
        // competitive: 100 MW imported at 10, local marginal for 80 MW (150 + flex 30 − 100) at its cost 20: no profit
        Assert.Equal(0, local.CompetitiveProfit, 6);
        Assert.Equal(20, r.Buses[1].LmpCompetitive, 6);
        Assert.Equal(80, local.Offers[0].ClearedCompetitive, 6);
        // strategic: offer 60 (the peaker's price); flex (40) drops out; local sells 50 MW at 60: (60 − 20)·50 = 2000
        Assert.Equal(2000, local.Profit, 4);
        Assert.Equal(60, local.Offers[0].OfferPrice, 5);
        Assert.Equal(50, local.Offers[0].Cleared, 5);
        Assert.Equal(60, r.Buses[1].Lmp, 5);
        Assert.Equal(10, r.Buses[0].Lmp, 5);
        Assert.Equal(40.0 / 60, local.Offers[0].Lerner, 6);
        // the strategy costs the flexible load's 30 MW worth 40 against a cost of 20: 600 $/h of welfare
        Assert.Equal(600, r.WelfareLoss, 3);
        Assert.True(r.Recleared.Agrees, string.Join("; ", r.Messages));
        Assert.Equal(2000, r.Recleared.Profit, 2);
    }

    [Fact]
    public void Without_the_congestion_the_same_leader_has_no_market_power()
    {
        var net = Net(TwoBus.Replace("0 0.1 0 100 100 100", "0 0.1 0 0 0 0", StringComparison.Ordinal));
        var r = StrategicBidding.Solve(net, TwoBusBids, ["local"]);
        Assert.Equal(0, r.Leaders[0].Profit, 6);
        Assert.Equal(10, r.Buses[1].Lmp, 6);
    }

    [Fact]
    public void Strategy_does_not_pay_when_the_cost_is_above_the_price()
    {
        var net = Net(OneBus);
        Bid[] bids = [new("dear", 1, Side.Sell, 55, 50, 1, 0), new("rival", 1, Side.Sell, 30, 30, 1, 0)];
        foreach (var mode in new[] { StrategicMode.Price, StrategicMode.Quantity, StrategicMode.Both })
        {
            var r = StrategicBidding.Solve(net, bids, ["dear"], new StrategicOptions { Mode = mode, PriceCap = 100 });
            Assert.Equal(ClearingStatus.Optimal, r.Status);
            // the peaker (50) is marginal whatever "dear" offers: nothing clears at or above its cost 55
            Assert.Equal(0, r.Leaders[0].Profit, 6);
            Assert.Equal(0, r.Leaders[0].CompetitiveProfit, 6);
            Assert.Equal(0, r.Leaders[0].Offers[0].Cleared, 6);
            Assert.Equal(55, r.Leaders[0].Offers[0].OfferPrice, 6);
            Assert.Equal(50, r.Buses[0].Lmp, 6);
            Assert.Equal(0, r.WelfareLoss, 6);
        }
    }

    [Fact]
    public void Two_leaders_reach_the_hand_worked_equilibrium_by_diagonalisation()
    {
        // one bus, 100 MW of load, the 100 MW peaker at 50; A: 60 MW at cost 10, B: 60 MW at cost 20.
        // Competitive: A 60 + B 40, B marginal: LMP 20; A earns 600, B 0.
        // Round 1: A against B at 20 prices up to the peaker's 50 and sells the 40 MW B leaves (40·40 = 1600 > 600);
        // B against A at 50 sells its 60 MW at 50 (1800) whatever it offers below 50: it stays at cost.
        // Round 2: nobody improves: converged, LMP 50.
        var net = Net(OneBus);
        Bid[] bids = [new("A", 1, Side.Sell, 10, 60, 1, 0), new("B", 1, Side.Sell, 20, 60, 1, 0)];
        var r = StrategicBidding.Solve(net, bids, ["A", "B"]);
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        var eq = Assert.IsType<EquilibriumReport>(r.Equilibrium);
        Assert.True(eq.Converged);
        Assert.Equal(2, eq.Iterations);
        Assert.Null(eq.Cycle);
        Assert.Equal(600, r.Leaders[0].CompetitiveProfit, 6);
        Assert.Equal(0, r.Leaders[1].CompetitiveProfit, 6);
        Assert.Equal(1600, r.Leaders[0].Profit, 4);
        Assert.Equal(1800, r.Leaders[1].Profit, 4);
        Assert.Equal(40, r.Leaders[0].Offers[0].Cleared, 5);
        Assert.Equal(20, r.Leaders[1].Offers[0].OfferPrice, 5);
        Assert.Equal(50, r.Buses[0].Lmp, 5);
        Assert.True(r.Recleared.Agrees, string.Join("; ", r.Messages));
        // cut short after one round, the search reports it did not converge
        var cut = StrategicBidding.Solve(net, bids, ["A", "B"], new StrategicOptions { MaxIterations = 1 });
        Assert.Equal(ClearingStatus.NotConverged, cut.Status);
        Assert.False(cut.Equilibrium!.Converged);
    }

    [Fact]
    public void A_market_that_cannot_be_cleared_is_reported_infeasible()
    {
        // 300 MW of load against 100 MW of peaker and 50 MW of leader, no load shedding: no offer helps
        var net = Net(OneBus.Replace("1 3 100 0", "1 3 300 0", StringComparison.Ordinal));
        var r = StrategicBidding.Solve(net, [new Bid("big", 1, Side.Sell, 10, 50, 1, 0)], ["big"]);
        Assert.Equal(ClearingStatus.Infeasible, r.Status);
        Assert.Contains(r.Messages, m => m.Contains("infeasible", StringComparison.Ordinal));
        Assert.Equal(ClearingStatus.Infeasible, r.ToOutcome().Status);
    }

    [Fact]
    public void The_recleared_market_is_the_one_clearing_outcome()
    {
        var r = StrategicBidding.Solve(Net(TwoBus), TwoBusBids, ["local"]);
        var outcome = r.ToOutcome();
        Assert.Equal("strategic", outcome.Mechanism);
        Assert.Equal(ClearingStatus.Optimal, outcome.Status);
        var award = Assert.Single(outcome.Awards, a => a.Participant == "local");
        Assert.Equal(50, award.Quantity, 5);
        Assert.Equal(60, award.Price, 5);
        Assert.DoesNotContain(outcome.Awards, a => a.Participant == "flex");
    }

    [Fact]
    public void Bad_leaders_are_refused()
    {
        var net = Net(TwoBus);
        Assert.Contains("no rows", Assert.Throws<ArgumentException>(() => StrategicBidding.Solve(net, TwoBusBids, ["nobody"])).Message);
        Assert.Contains("buy row", Assert.Throws<ArgumentException>(() => StrategicBidding.Solve(net, TwoBusBids, ["flex"])).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => StrategicBidding.Solve(net, TwoBusBids, ["local", "local"])).Message);
        Assert.Throws<ArgumentException>(() => StrategicBidding.Solve(net, TwoBusBids, []));
    }
}

/// <summary>The lower level of the MPEC is exactly the DC clearing: <see cref="ClearingProgram"/> solved on its own gives DcOpfSolver's objective and LMPs.</summary>
public class StrategicClearingProgramTests
{
    [Theory]
    [InlineData("case5")]
    [InlineData("case9")]
    [InlineData("case30")]
    [InlineData("case118")]
    public void The_clearing_program_is_the_dc_clearing(string name)
    {
        var net = OpenTE.Grid.Tests.TestData.Load(name);
        var dc = new OpenTE.Grid.PowerFlow.DcNetwork(net);
        int busA = net.Buses[^1].Id, busB = net.Buses[net.BusCount / 2].Id;
        Bid[] others = [new("flex", busA, Side.Buy, 60, 25, 1, 0), new("solar", busB, Side.Sell, 5, 15, 1, 0)];
        Bid[] leader = [new("L", busB, Side.Sell, 12, 20, 1, 0), new("L", busB, Side.Sell, 25, 20, 2, 0)];
        var opts = new DcOpfOptions { ValueOfLostLoad = 1000, InteriorPoint = new OpenTE.Numerics.Optimization.InteriorPointOptions { FeasibilityTolerance = 1e-10, GradientTolerance = 1e-10, ComplementarityTolerance = 1e-10 } };
        var reference = DcOpfSolver.Solve(net, opts with { Bids = [.. others, .. leader] });
        Assert.Equal(ClearingStatus.Optimal, reference.Status);

        var p = ClearingProgram.Build(net, dc, others, leader, opts);
        var m = new OpenTE.Numerics.Optimization.OptimizationModel { ObjectiveConstant = p.Constant };
        var x = p.Vars.Select(v => m.AddVariable(v.Name, v.Lo, v.Hi, v.Cost)).ToArray();
        for (int j = 0; j < x.Length; j++) if (p.Vars[j].Quad != 0) m.AddQuadraticCost(x[j], x[j], p.Vars[j].Quad);
        var rows = p.Rows.Select(r => m.AddConstraint(r.Name, r.Lo, r.Hi, r.Terms.Select(t => (x[t.Var], t.Coef)))).ToArray();
        var s = m.Solve(OpenTE.Numerics.Optimization.SolverKind.Auto, opts.InteriorPoint);
        Assert.Equal(OpenTE.Numerics.Optimization.SolverStatus.Optimal, s.Status);
        Assert.Equal(reference.Objective, s.Objective, 1e-6 * Math.Max(1, Math.Abs(reference.Objective)));
        for (int b = 0; b < net.BusCount; b++)
            if (p.BalanceRow[b] >= 0)
                Assert.Equal(reference.Buses[b].Lmp, s.Dual(rows[p.BalanceRow[b]]), 1e-5 * Math.Max(1, Math.Abs(reference.Buses[b].Lmp)));
    }
}
