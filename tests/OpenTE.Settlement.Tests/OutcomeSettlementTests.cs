using OpenTE.Grid.Tests;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;

namespace OpenTE.Settlement.Tests;

/// <summary><see cref="OutcomeSettlement"/>: a multi-interval outcome settled in one call, every participant's money as cleared.</summary>
public class OutcomeSettlementTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("opente-outcome-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_day_of_clearings_settles_each_participant_at_its_awards_and_the_operator_keeps_the_rent()
    {
        var net = TestData.Load("case5");
        var awards = new List<Award>();
        var rnd = new Random(5);
        for (int t = 0; t < 6; t++)
        {
            var bids = new List<Bid>
            {
                new("mall", 2, Side.Buy, 60 + t, 40 + 5 * rnd.NextDouble(), 1, 0),
                new("homes", 4, Side.Buy, 80, 30 + 10 * rnd.NextDouble(), 1, 0),
                new("solar", 3, Side.Sell, 5, 20 + 10 * rnd.NextDouble(), 1, 0),
                new("battery", 4, Side.Sell, 45, 25, 1, 0),
            };
            var rule = t % 2 == 0 ? PricingRule.PayAsBid : PricingRule.UniformMidpoint; // pay-as-bid leaves the operator a rent
            awards.AddRange(DoubleAuction.Clear(bids, rule).ToOutcome(0.25).Awards.Select(a => a with { Interval = t }));
        }
        var outcome = new ClearingOutcome("test", ClearingStatus.Optimal, awards, 0.25, null, []);
        var r = OutcomeSettlement.Run(outcome, Path.Combine(_dir, "l.db"), 1_780_272_000);
        Assert.True(r.Verified, r.VerifyReason);
        Assert.Equal(r.Trades, r.Settled);
        Assert.Equal(awards.Count, r.Trades);
        Assert.Equal(0, r.MoneySum);
        Assert.Equal(0, r.EnergySumWh);
        foreach (var p in awards.Select(a => a.Participant).Distinct())
        {
            double exact = awards.Where(a => a.Participant == p).Sum(a => (a.Side == Side.Sell ? 1 : -1) * a.Amount(0.25)) * 100;
            double bound = awards.Where(a => a.Participant == p).Sum(a => 0.5 * a.Quantity * 0.25 + 0.5e-6 * a.Price * 100 + 1);
            Assert.InRange(r.NetMoney[p], exact - bound, exact + bound);
        }
        double rent = awards.Sum(a => (a.Side == Side.Buy ? 1 : -1) * a.Amount(0.25)) * 100;
        Assert.True(rent > 100, "pay-as-bid intervals leave a rent");
        Assert.InRange(r.OperatorMoney, rent - r.OperatorRoundingBound, rent + r.OperatorRoundingBound);
    }

    [Fact]
    public void A_negative_price_is_refused_before_anything_is_written()
    {
        var outcome = new ClearingOutcome("test", ClearingStatus.Optimal, [new Award("a", 1, 0, Side.Sell, 1, -3)], 0.25, null, []);
        string path = Path.Combine(_dir, "neg.db");
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => OutcomeSettlement.Run(outcome, path, 1_780_272_000)).Message);
        Assert.False(File.Exists(path));
    }
}
