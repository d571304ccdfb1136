using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.Community;

/// <summary>
/// The internal prices of an energy-sharing community by its supply–demand ratio (Liu, Wu, Huang, Cheng, Feng, Wang,
/// "Energy sharing model with price-based demand response for microgrids of peer-to-peer prosumers", IEEE Trans. Power
/// Systems 32(5), 2017). With retail price λ_b (what the grid charges), feed-in tariff λ_s &lt; λ_b (what it pays) and
/// SDR = community supply / community demand:
/// <code>
/// P_sell(SDR) = λ_s·λ_b / ((λ_b − λ_s)·SDR + λ_s)      0 ≤ SDR ≤ 1;    λ_s for SDR &gt; 1
/// P_buy(SDR)  = P_sell·SDR + λ_b·(1 − SDR)              0 ≤ SDR ≤ 1;    λ_s for SDR &gt; 1
/// </code>
/// Both lie between λ_s and λ_b, fall as supply grows, and meet λ_s at SDR = 1 (continuous). P_buy is the average price
/// of a buyer whose demand is met by the community's supply at P_sell and the rest from the grid at λ_b, so the money
/// balances: buyers pay P_buy·D = P_sell·S + λ_b·(D − S).
/// </summary>
public static class SdrPricing
{
    public static (double Sell, double Buy) Prices(double sdr, double retail, double feedIn)
    {
        if (!(feedIn < retail)) throw new ArgumentException($"the feed-in tariff ({feedIn}) must be below the retail price ({retail})");
        if (!(sdr >= 0)) throw new ArgumentException($"the supply–demand ratio must be ≥ 0 (got {sdr})");
        if (!(feedIn >= 0)) throw new ArgumentException($"the feed-in tariff must be ≥ 0 (got {feedIn})");
        if (sdr > 1) return (feedIn, feedIn);
        if (sdr == 0) return (retail, retail); // nobody supplies: the limit of P_sell as SDR → 0 (also for a zero feed-in tariff)
        double sell = feedIn * retail / ((retail - feedIn) * sdr + feedIn);
        return (sell, sell * sdr + retail * (1 - sdr));
    }
}

/// <summary>One interval of the community market: the dispatch, the ratio and the two prices.</summary>
public sealed record SdrResult(ClearingOutcome Outcome, double SupplyMw, double DemandMw, double Sdr, double SellPrice, double BuyPrice,
    IReadOnlyList<double> AcceptedMw);

/// <summary>
/// A community market priced by the supply–demand ratio: who trades is decided by the copper-plate merit order of the
/// members' bids against the grid (the grid sells any amount at the retail price and buys any amount at the feed-in
/// tariff); then every member seller is paid P_sell(SDR) and every member buyer pays P_buy(SDR)
/// (<see cref="SdrPricing"/>), the grid sells the deficit D − S at the retail price or buys the excess S − D at the
/// feed-in tariff. Budget balanced: the operator keeps nothing.
/// </summary>
public static class SdrMarket
{
    public static SdrResult Clear(IReadOnlyList<Bid> members, double retail, double feedIn, string grid = "grid", int gridBus = 0,
        int interval = 0, double intervalHours = 1)
    {
        SdrPricing.Prices(0, retail, feedIn); // checks the tariffs
        double buyMw = 0, sellMw = 0;
        foreach (var b in members) if (b.Side == Side.Buy) buyMw += b.Quantity; else sellMw += b.Quantity;
        var all = new List<Bid>(members.Count + 2);
        all.AddRange(members);
        if (buyMw > 0) all.Add(new Bid(grid, gridBus, Side.Sell, retail, buyMw, 1, 0));
        if (sellMw > 0) all.Add(new Bid(grid, gridBus, Side.Buy, feedIn, sellMw, 1, 0));
        var auction = DoubleAuction.Clear(all, PricingRule.UniformMidpoint);
        double S = 0, D = 0;
        var accepted = new double[members.Count];
        for (int k = 0; k < members.Count; k++)
        {
            accepted[k] = auction.Accepted[k].AcceptedMw;
            if (members[k].Side == Side.Buy) D += accepted[k]; else S += accepted[k];
        }
        double sdr = D > 0 ? S / D : S > 0 ? double.PositiveInfinity : 1;
        var (pSell, pBuy) = SdrPricing.Prices(sdr, retail, feedIn);
        var awards = new List<Award>();
        for (int k = 0; k < members.Count; k++)
        {
            if (accepted[k] <= Outcomes.MinQuantity) continue;
            var b = members[k];
            awards.Add(new Award(b.Participant, b.Bus, interval, b.Side, accepted[k], b.Side == Side.Buy ? pBuy : pSell, null, b.Block, BidPrice: b.Price));
        }
        if (D - S > Outcomes.MinQuantity) awards.Add(new Award(grid, gridBus, interval, Side.Sell, D - S, retail, BidPrice: retail));
        if (S - D > Outcomes.MinQuantity) awards.Add(new Award(grid, gridBus, interval, Side.Buy, S - D, feedIn, BidPrice: feedIn));
        var outcome = new ClearingOutcome("sdr", ClearingStatus.Optimal, awards, intervalHours, null, []);
        return new SdrResult(outcome, S, D, sdr, pSell, pBuy, accepted);
    }
}
