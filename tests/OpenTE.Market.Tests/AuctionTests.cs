using CsCheck;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;

namespace OpenTE.Market.Tests;

public class AuctionTests
{
    private static Bid B(string who, double price, double q) => new(who, 1, Side.Buy, price, q, 1, 0);
    private static Bid S(string who, double price, double q) => new(who, 1, Side.Sell, price, q, 1, 0);

    [Fact]
    public void Marginal_pair_midpoint_when_both_marginal_blocks_are_fully_accepted()
    {
        var r = DoubleAuction.Clear([B("b1", 100, 10), B("b2", 60, 10), S("s1", 20, 10), S("s2", 80, 10)]);
        Assert.Equal(10, r.Volume);
        // L = max(20, 60) = 60, U = min(100, 80) = 80
        Assert.Equal(70, r.ClearingPrice);
        Assert.Equal(10 * 100 - 10 * 20, r.Welfare);
        Assert.Equal(0, r.BudgetSurplus, 9);
    }

    [Fact]
    public void Partially_accepted_block_sets_the_price()
    {
        var r = DoubleAuction.Clear([B("b1", 100, 10), B("b2", 90, 10), S("s1", 10, 15), S("s2", 95, 10)]);
        Assert.Equal(15, r.Volume);
        Assert.Equal(90, r.ClearingPrice); // b2 gets 5 of 10 MW: it must be indifferent
        Assert.Equal(5, r.Accepted[1].AcceptedMw, 12);
        Assert.Equal(0, r.Accepted[3].AcceptedMw);
    }

    [Fact]
    public void Ties_at_the_margin_are_rationed_pro_rata_not_by_input_order()
    {
        var r = DoubleAuction.Clear([S("s1", 30, 10), S("s2", 30, 30), B("b1", 50, 20)]);
        Assert.Equal(20, r.Volume);
        Assert.Equal(5, r.Accepted[0].AcceptedMw, 12);
        Assert.Equal(15, r.Accepted[1].AcceptedMw, 12);
        Assert.Equal(30, r.ClearingPrice);
    }

    [Fact]
    public void No_trade_when_the_best_bid_is_below_the_best_offer_or_a_side_is_empty()
    {
        var r = DoubleAuction.Clear([B("b", 10, 5), S("s", 20, 5)]);
        Assert.Null(r.ClearingPrice);
        Assert.Equal(0, r.Volume);
        Assert.Null(DoubleAuction.Clear([B("b", 10, 5)]).ClearingPrice);
        Assert.Null(DoubleAuction.Clear([S("s", 10, 5)]).ClearingPrice);
        Assert.Null(DoubleAuction.Clear([]).ClearingPrice);
    }

    [Fact]
    public void Pay_as_bid_trades_the_same_volume_and_keeps_the_spread()
    {
        Bid[] book = [B("b1", 100, 10), B("b2", 60, 10), S("s1", 20, 10), S("s2", 80, 10)];
        var r = DoubleAuction.Clear(book, PricingRule.PayAsBid);
        Assert.Equal(10, r.Volume);
        Assert.Equal(1000, r.BuyerPayments);
        Assert.Equal(200, r.SellerRevenues);
        Assert.Equal(800, r.BudgetSurplus);
        Assert.All(r.Accepted, a => Assert.Equal(0, a.Surplus));
    }

    private static readonly Gen<Bid[]> Books =
        Gen.Select(Gen.Bool, Gen.Int[0, 20], Gen.Int[0, 5], Gen.Int[0, 8])
           .Select((buy, price, q, who) => new Bid("p" + who, 1, buy ? Side.Buy : Side.Sell, price * 5, q, 1, 0))
           .Array[0, 40];

    [Fact]
    public void Properties_over_random_books()
    {
        Books.Sample(book =>
        {
            var r = DoubleAuction.Clear(book);
            double sold = r.Accepted.Where(a => a.Bid.Side == Side.Sell).Sum(a => a.AcceptedMw);
            double bought = r.Accepted.Where(a => a.Bid.Side == Side.Buy).Sum(a => a.AcceptedMw);
            Assert.Equal(sold, bought, 9);           // energy sold = energy bought
            Assert.Equal(r.Volume, bought, 9);
            Assert.Equal(0, r.BudgetSurplus, 6);
            foreach (var a in r.Accepted)
            {
                Assert.InRange(a.AcceptedMw, 0, a.Bid.Quantity + 1e-12);
                if (a.AcceptedMw <= 0) continue;      // individual rationality
                if (a.Bid.Side == Side.Buy) Assert.True(a.Bid.Price >= r.ClearingPrice!.Value - 1e-9);
                else Assert.True(a.Bid.Price <= r.ClearingPrice!.Value + 1e-9);
            }
            if (r.ClearingPrice is double p)
            {
                // no block left out that would trade at the price: unmet buyers above it, unmet sellers below it
                Assert.DoesNotContain(r.Accepted, a => a.Bid.Side == Side.Buy && a.AcceptedMw < a.Bid.Quantity - 1e-9 && a.Bid.Price > p + 1e-9);
                Assert.DoesNotContain(r.Accepted, a => a.Bid.Side == Side.Sell && a.AcceptedMw < a.Bid.Quantity - 1e-9 && a.Bid.Price < p - 1e-9);
            }
            // welfare is the maximum: the greedy unit-by-unit matching of a brute-force merit order gives the same
            Assert.Equal(BruteForceWelfare(book), r.Welfare, 6);
            var pab = DoubleAuction.Clear(book, PricingRule.PayAsBid);
            Assert.Equal(r.Volume, pab.Volume, 9);
            Assert.True(pab.BudgetSurplus >= -1e-9);
        }, iter: 500);
    }

    /// <summary>Welfare of matching 1 MW units: the highest remaining buy unit with the lowest remaining sell unit while profitable.</summary>
    private static double BruteForceWelfare(Bid[] book)
    {
        var buys = book.Where(b => b.Side == Side.Buy).SelectMany(b => Enumerable.Repeat(b.Price, (int)b.Quantity)).OrderDescending().ToList();
        var sells = book.Where(b => b.Side == Side.Sell).SelectMany(b => Enumerable.Repeat(b.Price, (int)b.Quantity)).Order().ToList();
        double w = 0;
        for (int k = 0; k < Math.Min(buys.Count, sells.Count) && buys[k] >= sells[k]; k++) w += buys[k] - sells[k];
        return w;
    }
}
