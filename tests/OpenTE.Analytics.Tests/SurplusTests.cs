using CsCheck;
using OpenTE.Grid.Tests;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.Community;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Market.P2p;

namespace OpenTE.Analytics.Tests;

/// <summary>The rows of the surplus account add up to the market's own welfare, and money balances, for every mechanism.</summary>
public class SurplusTests
{
    private static readonly Gen<List<Bid>> Bids =
        Gen.Select(Gen.Int[1, 5], Gen.Bool, Gen.Double[0, 200], Gen.Double[0.1, 80])
            .Array[2, 30]
            .Select(rows => rows.Select((r, k) => new Bid($"p{k % 9}", r.Item1, r.Item2 ? Side.Buy : Side.Sell, Math.Round(r.Item3, 2), Math.Round(r.Item4, 2), k + 1, 0)).ToList());

    private static void Balanced(SurplusAccount a, double welfare)
    {
        double tol = 1e-7 * Math.Max(1, Math.Abs(welfare));
        Assert.InRange(a.RowSum, welfare - tol, welfare + tol);
        Assert.InRange(a.Welfare, welfare - tol, welfare + tol);
        Assert.InRange(a.MoneyImbalance, -tol, tol);
    }

    [Fact]
    public void Dc_clearing_rows_add_up_to_its_welfare_and_the_grid_rent_is_its_merchandising_surplus()
    {
        var net = TestData.Load("case5");
        Bids.Sample(bids =>
        {
            var r = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids, IncludeCaseGenerators = false, IncludeCaseLoad = false });
            if (r.Status != ClearingStatus.Optimal) return;
            // a random participant may both buy and sell: no storage here, every award at its own bid (a role other than storage)
            var a = SurplusAccounting.Compute(r.ToOutcome(intervalHours: 0.5), new SurplusOptions { Role = _ => ParticipantRole.Consumer });
            Balanced(a, 0.5 * r.Welfare);
            Assert.Equal(0.5 * r.MerchandisingSurplus, a.GridRent, 6);
            Assert.All(a.Rows.Where(x => x.Kind == RowKind.Participant), x => Assert.True(x.Surplus >= -1e-6, $"{x.Participant} loses {x.Surplus} at LMPs")); // LMPs are individually rational
        }, iter: 60);
    }

    [Fact]
    public void Auction_rows_add_up_to_its_welfare_and_pay_as_bid_leaves_the_spread_as_rent()
    {
        Bids.Sample(bids =>
        {
            foreach (var rule in new[] { PricingRule.UniformMidpoint, PricingRule.PayAsBid })
            {
                var r = DoubleAuction.Clear(bids, rule);
                var a = SurplusAccounting.Compute(r.ToOutcome(), new SurplusOptions { Role = _ => ParticipantRole.Consumer });
                Balanced(a, r.Welfare);
                Assert.Equal(r.BudgetSurplus, a.GridRent, 6);
                if (rule == PricingRule.PayAsBid) Assert.Equal(0, a.Rows.Where(x => x.Kind == RowKind.Participant).Sum(x => x.Surplus), 6);
                var bySurplus = a.ByParticipant().ToDictionary(p => p.Participant, p => p.Surplus);
                foreach (var (p, s) in r.SurplusByParticipant()) Assert.Equal(s, bySurplus.GetValueOrDefault(p), 6);
            }
        }, iter: 100);
    }

    [Fact]
    public void P2p_rows_add_up_to_its_welfare_with_the_trade_charges_as_grid_rent()
    {
        var net = TestData.Load("case30");
        var gen = Gen.Select(Gen.Int[1, 30], Gen.Bool, Gen.Double[5, 150], Gen.Double[0.5, 20]).Array[4, 24];
        gen.Sample(rows =>
        {
            var bids = rows.Select((r, k) => new Bid($"p{k}", r.Item1, k % 2 == 0 || r.Item2 ? Side.Buy : Side.Sell, r.Item3, r.Item4, 1, 0)).ToList();
            bids.Add(new Bid("grid", 1, Side.Sell, 60, 1000, 1, 0));
            var market = P2pBids.Build(bids, net, partners: 3, feePerMwh: 4);
            var r = P2pCentral.Solve(market.Data);
            if (r.Status != ClearingStatus.Optimal) return;
            var outcome = new ClearingOutcome("p2p", ClearingStatus.Optimal, P2pBids.Awards(market, r, 0), 1, null, []);
            double charges = 0;
            for (int n = 0; n < market.Data.Peers.Count; n++)
                foreach (var (m, p) in r.Trades[n]) charges += market.Data.Peers[n].Partners[m] * Math.Abs(p);
            var a = SurplusAccounting.Compute(outcome, new SurplusOptions { Role = _ => ParticipantRole.Consumer });
            double tol = 1e-5 * Math.Max(1, Math.Abs(r.Welfare));
            Assert.InRange(a.RowSum - (r.Welfare + charges), -tol, tol); // the charges are the grid's money, not lost
            Assert.InRange(a.GridRent - charges, -tol, tol);
            Assert.InRange(a.MoneyImbalance, -tol, tol);
        }, iter: 30);
    }

    [Fact]
    public void Sdr_prices_known_values_lie_between_the_tariffs_and_fall_with_supply()
    {
        Assert.Equal((100.0, 100.0), SdrPricing.Prices(0, 100, 50));
        Assert.Equal((50.0, 50.0), SdrPricing.Prices(1, 100, 50));
        Assert.Equal((50.0, 50.0), SdrPricing.Prices(3, 100, 50));
        var (s, b) = SdrPricing.Prices(0.5, 100, 50); // 100·50/(50·0.5 + 50) = 66.67; 66.67·0.5 + 100·0.5 = 83.33
        Assert.Equal(200.0 / 3, s, 10);
        Assert.Equal(250.0 / 3, b, 10);
        Assert.Throws<ArgumentException>(() => SdrPricing.Prices(0.5, 50, 60));
        Gen.Select(Gen.Double[0, 1], Gen.Double[0, 1], Gen.Double[10, 300], Gen.Double[0, 0.99]).Sample((x, y, retail, f) =>
        {
            double feedIn = f * retail;
            var (s1, b1) = SdrPricing.Prices(Math.Min(x, y), retail, feedIn);
            var (s2, b2) = SdrPricing.Prices(Math.Max(x, y), retail, feedIn);
            return s1 >= feedIn - 1e-9 && s1 <= retail + 1e-9 && b1 >= feedIn - 1e-9 && b1 <= retail + 1e-9
                && s2 <= s1 + 1e-9 && b2 <= b1 + 1e-9 && s1 <= b1 + 1e-9;
        }, iter: 500);
    }

    [Fact]
    public void Sdr_market_is_budget_balanced_and_its_rows_add_up()
    {
        Bids.Sample(bids =>
        {
            var r = SdrMarket.Clear(bids, retail: 90, feedIn: 40, interval: 0, intervalHours: 0.25);
            var a = SurplusAccounting.Compute(r.Outcome, new SurplusOptions { Role = _ => ParticipantRole.Consumer });
            double welfare = 0.25 * r.Outcome.Awards.Sum(x => (x.Side == Side.Buy ? 1 : -1) * x.BidPrice!.Value * x.Quantity);
            Balanced(a, welfare);
            Assert.Equal(0, a.GridRent, 6); // the operator keeps nothing
            Assert.InRange(r.SellPrice, 40 - 1e-9, 90 + 1e-9);
            // the grid covers the difference
            var grid = r.Outcome.Awards.Where(x => x.Participant == "grid").Sum(x => x.Side == Side.Sell ? x.Quantity : -x.Quantity);
            Assert.Equal(r.DemandMw - r.SupplyMw, grid, 9);
        }, iter: 100);
    }

    [Fact]
    public void Storage_counts_its_money_and_carbon_is_a_transfer()
    {
        var awards = new List<Award>
        {
            new("bat", 1, 0, Side.Buy, 2, 30, BidPrice: 35),
            new("bat", 1, 1, Side.Sell, 1.8, 80, BidPrice: 70),
            new("home", 1, 1, Side.Buy, 1.8, 80, BidPrice: 200),
            new("gas", 1, 0, Side.Sell, 2, 30, BidPrice: 25),
        };
        var o = new ClearingOutcome("test", ClearingStatus.Optimal, awards, 0.5, null, []);
        var a = SurplusAccounting.Compute(o, new SurplusOptions { CarbonPrice = x => x.Participant == "gas" ? 10 : 0 });
        var by = a.ByParticipant().ToDictionary(p => p.Participant);
        Assert.Equal(ParticipantRole.Storage, by["bat"].Role); // both sides: storage by default
        Assert.Equal(0.5 * (1.8 * 80 - 2 * 30), by["bat"].Surplus, 12);
        Assert.Equal(0.5 * (200 - 80) * 1.8, by["home"].Surplus, 12);
        Assert.Equal(0.5 * ((30 - 25) * 2 - 10 * 2), by["gas"].Surplus, 12);
        Assert.Equal(0.5 * 10 * 2, a.CarbonMoney, 12);
        // welfare: the home's value minus the gas cost; the battery moved energy in time
        Assert.Equal(0.5 * (200 * 1.8 - 25 * 2), a.Welfare, 12);
        Assert.Equal(a.Welfare, a.RowSum, 12);
        Assert.Equal(0, a.MoneyImbalance, 12);
        Assert.Equal(4, a.Rows.Count(r => r.Kind != RowKind.Participant)); // grid rent and carbon, per interval
    }

    [Fact]
    public void A_strategic_seller_is_measured_at_its_true_cost()
    {
        var awards = new List<Award> { new("chp", 1, 0, Side.Sell, 1, 70, BidPrice: 66), new("home", 1, 0, Side.Buy, 1, 70, BidPrice: 200) };
        var o = new ClearingOutcome("test", ClearingStatus.Optimal, awards, 1, null, []);
        var atOffer = SurplusAccounting.Compute(o);
        var atCost = SurplusAccounting.Compute(o, new SurplusOptions { Valuation = a => a.Participant == "chp" ? 40 : null });
        Assert.Equal(4, atOffer.ByParticipant().Single(p => p.Participant == "chp").Surplus, 12);
        Assert.Equal(30, atCost.ByParticipant().Single(p => p.Participant == "chp").Surplus, 12);
        Assert.Equal(200 - 40, atCost.Welfare, 12); // the welfare counts the true cost too
        Assert.Equal(atCost.Welfare, atCost.RowSum, 12);
    }
}
