using CsCheck;
using OpenTE.Market.Bids;
using OpenTE.Market.MultiPeriod;

namespace OpenTE.Market.Tests;

public class StorageArbitrageTests
{
    private static StorageUnit Battery(double etaC = 0.95, double etaD = 0.95, double initial = 2) =>
        new("bess", 1, 0.5, 10, 2.5, 2.5, etaC, etaD, initial);

    private static readonly Gen<(double[] Prices, double EtaC, double EtaD)> Cases =
        Gen.Select(Gen.Double[-20, 200].Array[4, 48], Gen.Double[0.6, 1.0], Gen.Double[0.6, 1.0]);

    /// <summary>
    /// Issue #6: every charge/discharge pair the optimum executes satisfies p_sell/p_buy ≥ 1/(η_c·η_d) — for a
    /// charge at t₁ and a discharge at a later t₂ with the store never at its minimum in between (otherwise the
    /// energy sold is not the energy bought: buying less and selling less would pay more).
    /// </summary>
    [Fact]
    public void Executed_pairs_obey_the_break_even_rule()
    {
        Cases.Sample(x =>
        {
            var u = Battery(x.EtaC, x.EtaD);
            var r = StorageArbitrage.Optimize(x.Prices, 0.25, u);
            int T = x.Prices.Length;
            const double tol = 1e-6;
            for (int t1 = 0; t1 < T; t1++)
            {
                if (r.ChargeMw[t1] <= tol) continue;
                double minSoc = double.PositiveInfinity;
                for (int t2 = t1 + 1; t2 < T; t2++)
                {
                    minSoc = Math.Min(minSoc, r.SocMwh[t2]); // state of charge between t1 and t2
                    if (minSoc <= u.EnergyMinMwh + tol) break;
                    if (r.DischargeMw[t2] <= tol) continue;
                    double p1 = x.Prices[t1], p2 = x.Prices[t2];
                    Assert.True(p2 * x.EtaC * x.EtaD >= p1 - 1e-6,
                        $"charged at {p1} (t={t1}), sold at {p2} (t={t2}): p2/p1 below 1/(ηc·ηd) = {1 / (x.EtaC * x.EtaD):0.###}");
                }
            }
            // the schedule is physical: state of charge within limits, follows the dynamics, ends at least where it began
            for (int t = 0; t < T; t++)
            {
                Assert.InRange(r.SocMwh[t + 1], u.EnergyMinMwh - tol, u.EnergyMaxMwh + tol);
                Assert.Equal(r.SocMwh[t] + x.EtaC * r.ChargeMw[t] * 0.25 - r.DischargeMw[t] * 0.25 / x.EtaD, r.SocMwh[t + 1], 1e-6);
            }
            Assert.True(r.SocMwh[T] >= u.InitialMwh - tol);
            double profit = Enumerable.Range(0, T).Sum(t => x.Prices[t] * (r.DischargeMw[t] - r.ChargeMw[t]) * 0.25);
            Assert.Equal(profit, r.Profit, 1e-6);
            Assert.True(r.Profit >= -1e-9, "doing nothing is always possible and earns 0");
        }, iter: 300);
    }

    /// <summary>Issue #6: when η_c·η_d·max(p)/min(p) &lt; 1 no trade can pay for its losses, and the unit does nothing.</summary>
    [Fact]
    public void Without_a_profitable_spread_it_does_nothing()
    {
        Gen.Select(Gen.Double[10, 100], Gen.Double[0.5, 0.95], Gen.Int[2, 30], Gen.Int).Sample((floor, eta, T, seed) =>
        {
            // prices within a band narrower than the losses: max/min < 1/(η_c·η_d)
            var rnd = new Random(seed);
            double spread = 1 / (eta * eta);
            var prices = Enumerable.Range(0, T).Select(_ => floor * (1 + (spread - 1) * 0.999 * rnd.NextDouble())).ToArray();
            Assert.True(eta * eta * prices.Max() / prices.Min() < 1);
            var r = StorageArbitrage.Optimize(prices, 1, Battery(eta, eta));
            Assert.All(r.ChargeMw, c => Assert.True(c <= 1e-7, $"charges {c} MW"));
            Assert.All(r.DischargeMw, d => Assert.True(d <= 1e-7, $"discharges {d} MW"));
            Assert.Equal(0, r.Profit, 1e-6);
        }, iter: 200);
    }

    [Fact]
    public void A_clear_spread_is_traded_at_full_power()
    {
        // cheap night, dear evening: buy 2.5 MW for 4 h, sell back what was stored
        double[] prices = [20, 20, 20, 20, 100, 100, 100, 100];
        var u = new StorageUnit("bess", 1, 0, 10, 2.5, 2.5, 0.9, 0.9, 0);
        var r = StorageArbitrage.Optimize(prices, 1, u);
        Assert.All(r.ChargeMw.Take(4), c => Assert.Equal(2.5, c, 6));
        Assert.Equal(9, r.SocMwh[4], 6); // 4 h × 2.5 MW × 0.9
        Assert.Equal(9 * 0.9, r.DischargeMw.Skip(4).Sum(), 6);
        Assert.Equal(100 * 8.1 - 20 * 10, r.Profit, 6);
    }

    [Fact]
    public void Bid_curve_prices_the_opportunity_cost_monotonically()
    {
        // a peak ahead, cheap hours before it and a 40 $/MWh hour at the end where the unit refills to its start level
        double[] prices = [50, 30, 30, 120, 120, 40];
        var u = new StorageUnit("bess", 7, 0, 8, 2, 2, 0.9, 0.9, 4);
        var bids = StorageArbitrage.BidCurve(prices, 1, u, blocks: 4);
        var sells = bids.Where(b => b.Side == Side.Sell).ToList();
        var buys = bids.Where(b => b.Side == Side.Buy).ToList();
        Assert.NotEmpty(sells);
        Assert.NotEmpty(buys);
        Assert.All(bids, b => Assert.Equal(7, b.Bus));
        for (int k = 1; k < sells.Count; k++) Assert.True(sells[k].Price >= sells[k - 1].Price - 1e-6);
        for (int k = 1; k < buys.Count; k++) Assert.True(buys[k].Price <= buys[k - 1].Price + 1e-6);
        // both 30 $/MWh hours already charge at full power for the peak, so energy sold now is replaced in the last
        // hour: 1 MWh sold costs 1/(η_c·η_d) MWh bought at 40 → the first sell block is priced 40/0.81
        Assert.Equal(40 / 0.81, sells[0].Price, 1e-6);
        // its own bid and offer leave no round trip to itself: buying now is worth at most the selling price after
        // both losses (V is concave in the state of charge), and never more than the peak after losses
        Assert.True(buys[0].Price <= sells[0].Price * 0.81 + 1e-6, $"buy {buys[0].Price} vs sell {sells[0].Price}");
        Assert.True(buys[0].Price <= 120 * 0.81 + 1e-6);
    }

    [Theory]
    [InlineData(1.2, 0.9, "eta_charge")]
    [InlineData(0.9, 0, "eta_discharge")]
    public void Inconsistent_units_are_refused(double etaC, double etaD, string field)
    {
        var u = new StorageUnit("b", 1, 0, 10, 1, 1, etaC, etaD, 5);
        Assert.Equal(field, u.Check()!.Value.Field);
        Assert.Throws<ArgumentException>(() => StorageArbitrage.Optimize([1, 2], 1, u));
        Assert.Equal("energy_mwh", new StorageUnit("b", 1, 5, 4, 1, 1, 0.9, 0.9, 5).Check()!.Value.Field);
        Assert.Equal("initial_mwh", new StorageUnit("b", 1, 0, 4, 1, 1, 0.9, 0.9, 5).Check()!.Value.Field);
    }
}
