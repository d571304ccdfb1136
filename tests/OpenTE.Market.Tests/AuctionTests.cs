using System.Collections.ObjectModel;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;

namespace OpenTE.Market.Tests;

/// <summary>Small books cleared by hand.</summary>
public class AuctionTests
{
    private static Bid B(string who, double price, double q) => new(who, 1, Side.Buy, price, q, 1, 0);
    private static Bid S(string who, double price, double q) => new(who, 1, Side.Sell, price, q, 1, 0);

    [Fact]
    public void Midpoint_of_the_marginal_pair_when_the_next_blocks_are_out_of_the_money()
    {
        var r = DoubleAuction.Clear([B("b1", 100, 10), B("b2", 10, 10), S("s1", 20, 10), S("s2", 110, 10)]);
        Assert.Equal(10, r.Volume);
        Assert.Equal(60, r.ClearingPrice);            // (100 + 20)/2
        Assert.Equal(10 * 100 - 10 * 20, r.Welfare);
        Assert.Equal(0, r.BudgetSurplus, 9);
        Assert.Equal(400, r.SurplusByParticipant()["b1"]);  // (100 − 60)·10
        Assert.Equal(400, r.SurplusByParticipant()["s1"]);  // (60 − 20)·10
        Assert.Equal(0, r.SurplusByParticipant()["b2"]);
    }

    [Fact]
    public void A_rejected_block_between_the_marginal_pair_narrows_the_price_interval()
    {
        var r = DoubleAuction.Clear([B("b1", 100, 10), B("b2", 60, 10), S("s1", 20, 10), S("s2", 80, 10)]);
        Assert.Equal(10, r.Volume);
        // L = max(20, 60) = 60, U = min(100, 80) = 80: b2 at 60 would not buy at 70, s2 at 80 would not sell
        Assert.Equal(70, r.ClearingPrice);
        Assert.Equal(0, r.Accepted[1].AcceptedMw);
        Assert.Equal(0, r.Accepted[1].Price);
        // a rejected bid at 70, above the marginal pair's midpoint 60: the price rises to (70 + 80)/2
        Assert.Equal(75, DoubleAuction.Clear([B("b1", 100, 10), B("b2", 70, 10), S("s1", 20, 10), S("s2", 80, 10)]).ClearingPrice);
    }

    [Fact]
    public void A_partly_accepted_buy_block_sets_the_price()
    {
        var r = DoubleAuction.Clear([B("b1", 100, 10), B("b2", 90, 10), S("s1", 10, 15), S("s2", 95, 10)]);
        Assert.Equal(15, r.Volume);
        Assert.Equal(90, r.ClearingPrice); // b2 gets 5 of 10 MW: it must be indifferent
        Assert.Equal(10, r.Accepted[0].AcceptedMw);
        Assert.Equal(5, r.Accepted[1].AcceptedMw, 12);
        Assert.Equal(15, r.Accepted[2].AcceptedMw, 12);
        Assert.Equal(0, r.Accepted[3].AcceptedMw);
        Assert.Equal(10 * 100 + 5 * 90 - 15 * 10, r.Welfare, 9);
    }

    [Fact]
    public void A_partly_accepted_sell_block_sets_the_price()
    {
        var r = DoubleAuction.Clear([B("b1", 100, 10), B("b2", 90, 10), S("s1", 30, 5), S("s2", 50, 30)]);
        Assert.Equal(20, r.Volume);
        Assert.Equal(50, r.ClearingPrice);
        Assert.Equal(5, r.Accepted[2].AcceptedMw);
        Assert.Equal(15, r.Accepted[3].AcceptedMw, 12);
        Assert.Equal(0, r.Accepted[3].Surplus, 9);         // the marginal seller is indifferent
        Assert.Equal((50 - 30) * 5, r.Accepted[2].Surplus, 9);
        Assert.Equal(100 * 10 + 90 * 10 - 30 * 5 - 50 * 15, r.Welfare, 9);
    }

    [Fact]
    public void Curves_that_cross_on_a_vertical_segment_take_the_midpoint_of_the_open_interval()
    {
        // all supply meets all demand, nothing is left on either side: every price in [20, 100] clears
        var r = DoubleAuction.Clear([B("b", 100, 10), S("s", 20, 10)]);
        Assert.Equal(10, r.Volume);
        Assert.Equal(60, r.ClearingPrice);
    }

    [Fact]
    public void Rounding_dust_does_not_make_a_block_marginal()
    {
        // 0.3 − 0.1 − 0.2 leaves 2.8e-17 MW of the 25 $/MWh offer: it is fully accepted, not the price setter
        var r = DoubleAuction.Clear([B("b", 100, 0.3), S("s1", 20, 0.1), S("s2", 25, 0.2)]);
        Assert.Equal(0.3, r.Volume, 15);
        Assert.Equal(62.5, r.ClearingPrice);
        Assert.Equal(0.2, r.Accepted[2].AcceptedMw);
    }

    [Fact]
    public void Equal_buy_and_sell_prices_trade_at_that_price()
    {
        var r = DoubleAuction.Clear([B("b", 50, 10), S("s", 50, 4)]);
        Assert.Equal(4, r.Volume);
        Assert.Equal(50, r.ClearingPrice);
        Assert.Equal(0, r.Welfare);
    }

    [Fact]
    public void Ties_on_the_sell_side_are_rationed_pro_rata_not_by_input_order()
    {
        var r = DoubleAuction.Clear([S("s1", 30, 10), S("s2", 30, 30), B("b1", 50, 20)]);
        Assert.Equal(20, r.Volume);
        Assert.Equal(5, r.Accepted[0].AcceptedMw, 12);
        Assert.Equal(15, r.Accepted[1].AcceptedMw, 12);
        Assert.Equal(30, r.ClearingPrice);
    }

    [Fact]
    public void Ties_on_the_buy_side_are_rationed_pro_rata_whatever_the_input_order()
    {
        Bid[] book = [B("b1", 60, 10), B("b2", 60, 30), B("b3", 60, 60), B("b0", 70, 5), S("s", 20, 55)];
        var r = DoubleAuction.Clear(book);
        // b0 takes 5 in full; 50 MW left for 100 MW at 60: everybody at 60 gets half
        Assert.Equal(55, r.Volume, 12);
        Assert.Equal(5, r.Accepted[3].AcceptedMw);
        Assert.Equal(5, r.Accepted[0].AcceptedMw, 12);
        Assert.Equal(15, r.Accepted[1].AcceptedMw, 12);
        Assert.Equal(30, r.Accepted[2].AcceptedMw, 12);
        Assert.Equal(60, r.ClearingPrice);
        var reversed = DoubleAuction.Clear(book.Reverse().ToArray());
        foreach (var a in reversed.Accepted)
            Assert.Equal(r.Accepted.Single(x => x.Bid == a.Bid).AcceptedMw, a.AcceptedMw, 12);
    }

    [Fact]
    public void No_trade_when_the_best_bid_is_below_the_best_offer_or_a_side_is_empty()
    {
        var r = DoubleAuction.Clear([B("b", 10, 5), S("s", 20, 5)]);
        Assert.Null(r.ClearingPrice);
        Assert.Equal(0, r.Volume);
        Assert.Equal(0, r.Welfare);
        Assert.All(r.Accepted, a => Assert.Equal(0, a.AcceptedMw));
        var onlyBuyers = DoubleAuction.Clear([B("b1", 10, 5), B("b2", 30, 5)]);
        Assert.Null(onlyBuyers.ClearingPrice);
        Assert.Equal(0, onlyBuyers.Volume);
        Assert.Equal(2, onlyBuyers.Accepted.Count);
        var onlySellers = DoubleAuction.Clear([S("s", 10, 5)]);
        Assert.Null(onlySellers.ClearingPrice);
        Assert.Equal(0, onlySellers.SellerRevenues);
        Assert.Null(DoubleAuction.Clear([]).ClearingPrice);
    }

    [Fact]
    public void Blocks_of_zero_MW_take_no_part_and_do_not_move_the_price()
    {
        var r = DoubleAuction.Clear([B("b", 100, 10), S("s", 20, 10), B("ghost", 90, 0), S("ghost", 30, 0)]);
        Assert.Equal(60, r.ClearingPrice);
        Assert.Equal(0, r.Accepted[2].AcceptedMw);
        Assert.Equal(0, r.Accepted[3].AcceptedMw);
    }

    [Fact]
    public void Pay_as_bid_trades_the_same_volume_and_keeps_the_spread()
    {
        Bid[] book = [B("b1", 100, 10), B("b2", 60, 10), S("s1", 20, 10), S("s2", 80, 10)];
        var r = DoubleAuction.Clear(book, PricingRule.PayAsBid);
        Assert.Equal(PricingRule.PayAsBid, r.Rule);
        Assert.Equal(10, r.Volume);
        Assert.Equal(1000, r.BuyerPayments);
        Assert.Equal(200, r.SellerRevenues);
        Assert.Equal(800, r.BudgetSurplus);
        Assert.Equal(r.Welfare, r.BudgetSurplus);
        Assert.All(r.Accepted, a => Assert.Equal(0, a.Surplus));
        Assert.All(r.SurplusByParticipant().Values, s => Assert.Equal(0, s));
    }

    [Fact]
    public void The_example_bids_clear_as_computed_by_hand()
    {
        var book = BidFile.Parse("""
            participant,bus,side,price,quantity,block
            mall,2,buy,60,40,1
            mall,2,buy,35,30,2
            factory,3,buy,55,60,1
            factory,3,buy,20,40,2
            homes,4,buy,80,50,1
            solar-coop,3,sell,5,30,1
            solar-coop,3,sell,12,20,2
            battery,4,sell,45,25,1
            """, "case5-bids.csv");
        var r = DoubleAuction.Clear(book);
        // 80 vs 5: 30; 80 vs 12: 20; 60 vs 45: 25 — supply runs out with the mall's first block partly served
        Assert.Equal(75, r.Volume, 12);
        Assert.Equal(60, r.ClearingPrice);
        Assert.Equal(80 * 50 + 60 * 25 - (5 * 30 + 12 * 20 + 45 * 25), r.Welfare, 9);
        var surplus = r.SurplusByParticipant();
        Assert.Equal((80 - 60) * 50, surplus["homes"], 9);
        Assert.Equal(0, surplus["mall"], 9);
        Assert.Equal(0, surplus["factory"], 9);
        Assert.Equal((60 - 5) * 30 + (60 - 12) * 20, surplus["solar-coop"], 9);
        Assert.Equal((60 - 45) * 25, surplus["battery"], 9);
        Assert.Equal(r.Welfare, surplus.Values.Sum(), 9);
    }

    [Fact]
    public void Any_list_type_gives_the_same_result()
    {
        Bid[] array = [B("b1", 100, 10), B("b2", 90, 10), S("s1", 10, 15), S("s2", 95, 10)];
        var expected = DoubleAuction.Clear(array);
        foreach (IReadOnlyList<Bid> list in new IReadOnlyList<Bid>[] { array.ToList(), new BidBook(array), new ReadOnlyCollection<Bid>(array) })
        {
            var r = DoubleAuction.Clear(list);
            Assert.Equal(expected.ClearingPrice, r.ClearingPrice);
            Assert.Equal(expected.Accepted, r.Accepted);
        }
    }

    [Theory]
    [InlineData(double.NaN, 1)]
    [InlineData(double.PositiveInfinity, 1)]
    [InlineData(10, -1)]
    [InlineData(10, double.NaN)]
    [InlineData(10, double.PositiveInfinity)]
    public void Bids_that_cannot_be_cleared_are_refused(double price, double quantity)
    {
        var ex = Assert.Throws<ArgumentException>(() => DoubleAuction.Clear([B("b", 50, 1), S("bad", price, quantity)]));
        Assert.Contains("bid 2 of bad", ex.Message);
    }
}
