using OpenTE.Grid.Model;
using OpenTE.Market.AcOpf;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Island;
using OpenTE.Market.MultiPeriod;
using OpenTE.Market.P2p;
using OpenTE.Market.Scopf;

namespace OpenTE.Market.Outcome;

/// <summary>
/// Every mechanism's result as the one <see cref="ClearingOutcome"/>: the awards (who, where, when, how much, at what
/// price) that settlement, analytics and the server read. One method per mechanism, each a few lines, so the mapping of
/// each market's prices to its participants is stated in one place.
/// </summary>
public static class Outcomes
{
    /// <summary>Quantities below this (MW, MVAr) are not awards: solver noise of a rejected bid.</summary>
    public const double MinQuantity = 1e-9;

    /// <summary>Copper-plate auction: each accepted bid at the price of the rule (uniform, or its own under pay-as-bid); no network.</summary>
    public static ClearingOutcome ToOutcome(this AuctionResult r, double intervalHours = 1, DateTimeOffset? start = null) =>
        new(r.Rule == PricingRule.PayAsBid ? "pay-as-bid" : "uniform", ClearingStatus.Optimal,
            [.. r.Accepted.Where(a => a.AcceptedMw > MinQuantity).Select(a => FromBid(a.Bid, 0, a.AcceptedMw, a.Price))],
            intervalHours, start, []);

    /// <summary>
    /// DC network clearing: each accepted bid at its bus's LMP. With <paramref name="includeGenerators"/> the case's
    /// generators are awarded too (participant <c>gen&lt;index&gt;</c>, selling Pg at their bus's LMP).
    /// </summary>
    public static ClearingOutcome ToOutcome(this DcOpfResult r, bool includeGenerators = false, double intervalHours = 1,
        DateTimeOffset? start = null, string mechanism = "dc-opf")
    {
        var awards = new List<Award>();
        if (r.Status == ClearingStatus.Optimal)
        {
            foreach (var b in r.Bids)
                if (b.AcceptedMw > MinQuantity) awards.Add(FromBid(b.Bid, 0, b.AcceptedMw, b.Price));
            if (includeGenerators)
                foreach (var g in r.Generators)
                    if (g.Pg > MinQuantity) awards.Add(new Award(GeneratorName(g.Index), g.Bus, 0, Side.Sell, g.Pg, r.Lmp(g.Bus)));
        }
        return new ClearingOutcome(mechanism, r.Status, awards, intervalHours, start, r.Messages);
    }

    /// <summary>Security-constrained clearing: the DC clearing's awards at the security-constrained LMPs.</summary>
    public static ClearingOutcome ToOutcome(this ScopfResult r, bool includeGenerators = false, double intervalHours = 1, DateTimeOffset? start = null) =>
        r.Opf.ToOutcome(includeGenerators, intervalHours, start, "scopf");

    /// <summary>
    /// AC clearing: generators sell P at their bus's λP; DERs in the reactive market sell Q (inject) or buy it (absorb)
    /// at their bus's λQ (<see cref="Product.Reactive"/>).
    /// </summary>
    public static ClearingOutcome ToOutcome(this AcOpfResult r, double intervalHours = 1, DateTimeOffset? start = null)
    {
        var awards = new List<Award>();
        if (r.Status == ClearingStatus.Optimal)
        {
            var lmp = r.Buses.ToDictionary(b => b.Id);
            foreach (var g in r.Generators)
                if (g.InService && g.Pg > MinQuantity) awards.Add(new Award(GeneratorName(g.Index), g.Bus, 0, Side.Sell, g.Pg, lmp[g.Bus].Lmp));
            foreach (var d in r.Ders)
                if (Math.Abs(d.QMvar) > MinQuantity)
                    awards.Add(new Award(d.Id, d.Bus, 0, d.QMvar > 0 ? Side.Sell : Side.Buy, Math.Abs(d.QMvar), d.LmpQ, Product: Product.Reactive));
        }
        return new ClearingOutcome("ac-opf", r.Status, awards, intervalHours, start, r.Messages);
    }

    /// <summary>Islanded microgrid: dispatched units sell and served loads buy at the island's one price.</summary>
    public static ClearingOutcome ToOutcome(this IslandResult r, int interval = 0, double intervalHours = 1, DateTimeOffset? start = null)
    {
        var awards = new List<Award>();
        foreach (var u in r.Units)
            if (u.Mw > MinQuantity) awards.Add(new Award(u.Id, u.Bus, interval, Side.Sell, u.Mw, r.Price));
        foreach (var l in r.Loads)
            if (l.ServedMw > MinQuantity) awards.Add(new Award(l.Id, l.Bus, interval, Side.Buy, l.ServedMw, r.Price));
        return new ClearingOutcome("island", r.Status, awards, intervalHours, start, r.Messages);
    }

    /// <summary>
    /// Multi-period clearing: each interval's accepted bids and each storage unit's charge (buy) and discharge (sell) at
    /// the bus's LMP of that interval. Needs the network and the options the clearing was run with (bids, storage).
    /// </summary>
    public static ClearingOutcome ToOutcome(this MultiPeriodResult r, Network net, MultiPeriodOptions options, double intervalHours)
    {
        var awards = new List<Award>();
        if (r.Status == ClearingStatus.Optimal)
        {
            int T = r.Times.Count;
            for (int t = 0; t < T; t++)
            {
                for (int k = 0; k < options.Bids.Count; k++)
                {
                    var (iv, bid) = options.Bids[k];
                    double q = r.AcceptedBidMw[k];
                    if (iv == t && q > MinQuantity) awards.Add(FromBid(bid, t, q, r.Lmp[t][net.BusIndex[bid.Bus]]));
                }
                foreach (var s in r.Storage)
                {
                    double price = r.Lmp[t][net.BusIndex[s.Bus]];
                    if (s.ChargeMw[t] > MinQuantity) awards.Add(new Award(s.Id, s.Bus, t, Side.Buy, s.ChargeMw[t], price));
                    if (s.DischargeMw[t] > MinQuantity) awards.Add(new Award(s.Id, s.Bus, t, Side.Sell, s.DischargeMw[t], price));
                }
            }
        }
        return new ClearingOutcome("multiperiod", r.Status, awards, intervalHours, r.Times.Count > 0 ? r.Times[0] : null, r.Messages);
    }

    /// <summary>
    /// P2P market: each bilateral trade P_nm &gt; 0 (n sells to m) twice — n sells to m and m buys from n — at the trade's
    /// price (the same for both at the consensus). <paramref name="busOf"/> gives each peer's bus (0 when not given).
    /// </summary>
    public static ClearingOutcome ToOutcome(this P2pResult r, P2pMarketData data, IReadOnlyList<int>? busOf = null,
        double intervalHours = 1, DateTimeOffset? start = null, int interval = 0)
    {
        var awards = new List<Award>();
        if (r.Status == ClearingStatus.Optimal)
        {
            for (int n = 0; n < data.Peers.Count; n++)
                foreach (var (m, p) in r.Trades[n].OrderBy(x => x.Key))
                {
                    if (p <= MinQuantity) continue;
                    string seller = data.Peers[n].Id, buyer = data.Peers[m].Id;
                    double price = r.Prices[n][m];
                    awards.Add(new Award(seller, busOf?[n] ?? 0, interval, Side.Sell, p, price, buyer));
                    awards.Add(new Award(buyer, busOf?[m] ?? 0, interval, Side.Buy, p, price, seller));
                }
        }
        return new ClearingOutcome("p2p", r.Status, awards, intervalHours, start, []);
    }

    /// <summary>The participant name of a case generator (1-based index in case-file order).</summary>
    public static string GeneratorName(int index) => $"gen{index}";

    private static Award FromBid(Bid b, int interval, double quantity, double price) =>
        new(b.Participant, b.Bus, interval, b.Side, quantity, price, null, b.Block, BidPrice: b.Price);
}
