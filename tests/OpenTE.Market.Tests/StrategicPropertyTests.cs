using System.Globalization;
using CsCheck;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Market.Strategic;

namespace OpenTE.Market.Tests;

/// <summary>
/// Properties of the strategic MPEC over random small markets (a 3-bus loop with random reactances and limits, two linear-cost
/// generators, random loads, other participants' bids and offers, load shedding at a VoLL so every market is feasible, one
/// leader block): the strategic profit is at least the competitive one and at least the best of a brute-force grid over the
/// leader's offer price (each point re-cleared by <see cref="DcOpfSolver"/>); the re-clearing agrees; doubling every big-M
/// does not change the answer.
/// </summary>
public class StrategicPropertyTests
{
    private const double Voll = 200;

    private sealed record Market(Network Net, List<Bid> Bids, int Seed)
    {
        public override string ToString() => $"seed {Seed}";
    }

    private static Market Random3Bus(int seed)
    {
        var rnd = new Random(seed);
        double U(double a, double b) => Math.Round(a + (b - a) * rnd.NextDouble(), 3);
        string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        double Rate() => rnd.NextDouble() < 0.3 ? 0 : U(15, 80);
        string text = $"""
            mpc.baseMVA = 100;
            mpc.bus = [1 3 {F(U(0, 40))} 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 {F(U(10, 80))} 0 0 0 1 1 0 230 1 1.1 0.9; 3 1 {F(U(10, 80))} 0 0 0 1 1 0 230 1 1.1 0.9];
            mpc.gen = [1 0 0 0 0 1 100 1 {F(U(40, 150))} 0; 3 0 0 0 0 1 100 1 {F(U(10, 80))} 0];
            mpc.branch = [1 2 0 {F(U(0.05, 0.2))} 0 {F(Rate())} 0 0 0 0 1 -360 360; 2 3 0 {F(U(0.05, 0.2))} 0 {F(Rate())} 0 0 0 0 1 -360 360; 1 3 0 {F(U(0.05, 0.2))} 0 {F(Rate())} 0 0 0 0 1 -360 360];
            mpc.gencost = [2 0 0 2 {F(U(5, 30))} 0; 2 0 0 2 {F(U(30, 90))} 0];
            """;
        var net = MatpowerCase.Parse(text, $"random{seed}.m").Network;
        var bids = new List<Bid> { new("leader", rnd.Next(1, 4), Side.Sell, U(5, 40), U(10, 70), 1, 0) };
        int others = rnd.Next(1, 4);
        for (int k = 0; k < others; k++)
        {
            bool sell = rnd.NextDouble() < 0.5;
            bids.Add(new Bid($"p{k}", rnd.Next(1, 4), sell ? Side.Sell : Side.Buy, sell ? U(5, 80) : U(20, 120), U(5, 40), 1, 0));
        }
        return new Market(net, bids, seed);
    }

    private static double ProfitAt(Market m, double offer)
    {
        var bids = m.Bids.Select((b, i) => i == 0 ? b with { Price = offer } : b).ToList();
        var r = DcOpfSolver.Solve(m.Net, new DcOpfOptions { Bids = bids, ValueOfLostLoad = Voll });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        return (r.Bids[0].Price - m.Bids[0].Price) * r.Bids[0].AcceptedMw;
    }

    private static readonly Gen<Market> Markets = Gen.Int[1, 1_000_000].Select(Random3Bus);

    [Fact]
    public void Strategic_profit_beats_competitive_and_every_grid_offer_and_reclearing_agrees()
    {
        Markets.Sample(m =>
        {
            var r = StrategicBidding.Solve(m.Net, m.Bids, ["leader"], new StrategicOptions { ValueOfLostLoad = Voll });
            Assert.Equal(ClearingStatus.Optimal, r.Status);
            double profit = r.Leaders[0].Profit, tol = 1e-6 * Math.Max(1, Math.Abs(profit));
            Assert.True(profit >= r.Leaders[0].CompetitiveProfit - tol, $"{m}: strategic {profit} < competitive {r.Leaders[0].CompetitiveProfit}");
            Assert.True(r.Recleared.Agrees, $"{m}: {string.Join("; ", r.Messages)}");
            Assert.True(r.WelfareLoss >= -1e-6 * Math.Max(1, Math.Abs(r.WelfareCompetitive)), $"{m}: welfare loss {r.WelfareLoss}");
            // brute force: 61 offer prices from the cost to the cap, each cleared by the ordinary DC clearing
            double cost = m.Bids[0].Price, cap = r.PriceCap, best = double.NegativeInfinity;
            for (int i = 0; i <= 60; i++) best = Math.Max(best, ProfitAt(m, cost + (cap - cost) * i / 60));
            Assert.True(profit >= best - tol, $"{m}: strategic {profit} < grid best {best}");
        }, iter: 25, threads: 1);
    }

    [Fact]
    public void Doubling_every_big_M_does_not_change_the_answer() => Markets.Sample(BigMDoublingHolds, iter: 15, threads: 1);

    [Theory]
    // both mode: the leader withholds down to 3.03 MW, which holds a branch exactly at its limit; its tie broke only with a
    // withheld quantity 1e-4 smaller (the reported offer), the smaller cuts being below the LP solvers' tolerance
    [InlineData(275161)]
    public void Doubling_every_big_M_does_not_change_the_answer_on_a_found_market(int seed) => BigMDoublingHolds(Random3Bus(seed));

    private static void BigMDoublingHolds(Market m)
    {
        foreach (var mode in new[] { StrategicMode.Price, StrategicMode.Both })
        {
            var a = StrategicBidding.Solve(m.Net, m.Bids, ["leader"], new StrategicOptions { ValueOfLostLoad = Voll, Mode = mode });
            var b = StrategicBidding.Solve(m.Net, m.Bids, ["leader"], new StrategicOptions { ValueOfLostLoad = Voll, Mode = mode, BigMScale = 2 });
            Assert.Equal(ClearingStatus.Optimal, b.Status);
            Assert.True(Math.Abs(a.Profit - b.Profit) <= 1e-6 * Math.Max(1, Math.Abs(a.Profit)), $"{m} {mode}: {a.Profit} vs {b.Profit} with every big-M doubled");
            Assert.True(b.Recleared.Agrees, $"{m} {mode}: {string.Join("; ", b.Messages)}");
        }
    }
}
