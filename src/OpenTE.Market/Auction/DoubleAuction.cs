using OpenTE.Market.Bids;

namespace OpenTE.Market.Auction;

public enum PricingRule
{
    /// <summary>One price for all: the midpoint of the interval of market-clearing prices (see <see cref="DoubleAuction"/>).</summary>
    UniformMidpoint,
    /// <summary>Every accepted buyer pays its bid, every accepted seller receives its offer.</summary>
    PayAsBid,
}

/// <summary>One bid's outcome: accepted MW and the price per MWh it pays (buyer) or receives (seller).</summary>
public readonly record struct Acceptance(Bid Bid, double AcceptedMw, double Price)
{
    /// <summary>Buyer: (bid − paid)·q; seller: (received − offer)·q, in $/h.</summary>
    public double Surplus => Bid.Side == Side.Buy ? (Bid.Price - Price) * AcceptedMw : (Price - Bid.Price) * AcceptedMw;
}

public sealed record AuctionResult(
    PricingRule Rule,
    double? ClearingPrice,
    double Volume,
    IReadOnlyList<Acceptance> Accepted,
    double Welfare,
    double BuyerPayments,
    double SellerRevenues)
{
    /// <summary>Payments − revenues: 0 under a uniform price, ≥ 0 under pay-as-bid.</summary>
    public double BudgetSurplus => BuyerPayments - SellerRevenues;

    public IReadOnlyDictionary<string, double> SurplusByParticipant()
    {
        var d = new Dictionary<string, double>();
        foreach (var a in Accepted) d[a.Bid.Participant] = d.GetValueOrDefault(a.Bid.Participant) + a.Surplus;
        return d;
    }
}

/// <summary>
/// Copper-plate double auction (no network). Bids are sorted once: buys by falling price, sells by rising
/// price, and blocks of equal price form a level. Levels are matched while the buy price is at least the
/// sell price, which gives the welfare-maximising volume. A level that is only partly needed is rationed
/// <b>pro rata</b> to the quantities of its blocks (never by input order).
/// <para>
/// Uniform price: every price in [L, U] clears the market, with L = max(last accepted offer, first bid not
/// fully accepted) and U = min(last accepted bid, first offer not fully accepted). The price is the midpoint
/// (L + U)/2. When both marginal blocks are fully accepted this is the midpoint of the marginal pair, and a
/// partly accepted block sets the price to its own. So every accepted buyer bid ≥ price ≥ every accepted
/// seller's offer, and no rejected block would trade at that price.
/// </para>
/// O(n log n) for the sort, O(n) for the rest.
/// </summary>
public static class DoubleAuction
{
    public static AuctionResult Clear(IReadOnlyList<Bid> bids, PricingRule rule = PricingRule.UniformMidpoint)
    {
        int n = bids.Count;
        int nb = 0, ns = 0;
        for (int k = 0; k < n; k++)
        {
            var b = bids[k];
            if (!double.IsFinite(b.Price) || !(b.Quantity >= 0) || double.IsPositiveInfinity(b.Quantity))
                throw new ArgumentException($"bid {k + 1} of {b.Participant}: price {b.Price} and quantity {b.Quantity} must be finite, quantity ≥ 0");
            if (b.Side == Side.Buy) nb++; else ns++;
        }
        var buyIdx = new int[nb];
        var buyKey = new double[nb];
        var sellIdx = new int[ns];
        var sellKey = new double[ns];
        for (int k = 0, ib = 0, iS = 0; k < n; k++)
        {
            if (bids[k].Side == Side.Buy) { buyIdx[ib] = k; buyKey[ib++] = -bids[k].Price; }
            else { sellIdx[iS] = k; sellKey[iS++] = bids[k].Price; }
        }
        Array.Sort(buyKey, buyIdx);
        Array.Sort(sellKey, sellIdx);
        var buyLevels = Levels(bids, buyIdx);
        var sellLevels = Levels(bids, sellIdx);

        // match levels
        var fraction = new double[n];
        int lb = 0, ls = 0;
        double remB = buyLevels.Count > 0 ? buyLevels[0].Quantity : 0, remS = sellLevels.Count > 0 ? sellLevels[0].Quantity : 0;
        double volume = 0;
        int lastB = -1, lastS = -1;
        while (lb < buyLevels.Count && ls < sellLevels.Count && buyLevels[lb].Price >= sellLevels[ls].Price)
        {
            double q = Math.Min(remB, remS);
            if (q > 0)
            {
                volume += q;
                lastB = lb;
                lastS = ls;
            }
            remB -= q;
            remS -= q;
            if (remB <= 0) { lb++; remB = lb < buyLevels.Count ? buyLevels[lb].Quantity : 0; }
            if (remS <= 0) { ls++; remS = ls < sellLevels.Count ? sellLevels[ls].Quantity : 0; }
        }
        // accepted share of every level: full before the stopping level, partial at it
        AssignFractions(buyLevels, buyIdx, lb, remB, fraction);
        AssignFractions(sellLevels, sellIdx, ls, remS, fraction);

        double? price = null;
        if (volume > 0)
        {
            // first level not fully accepted on each side (the stopping level, partial or untouched)
            double nextBuy = lb < buyLevels.Count ? buyLevels[lb].Price : double.NegativeInfinity;
            double nextSell = ls < sellLevels.Count ? sellLevels[ls].Price : double.PositiveInfinity;
            double lo = Math.Max(sellLevels[lastS].Price, nextBuy);
            double hi = Math.Min(buyLevels[lastB].Price, nextSell);
            price = 0.5 * (lo + hi);
        }

        var accepted = new Acceptance[n];
        double welfare = 0, payments = 0, revenues = 0;
        for (int k = 0; k < n; k++)
        {
            var b = bids[k];
            double q = b.Quantity * fraction[k];
            double p = q > 0 ? (rule == PricingRule.PayAsBid ? b.Price : price!.Value) : 0;
            accepted[k] = new Acceptance(b, q, p);
            if (b.Side == Side.Buy) { welfare += b.Price * q; payments += p * q; }
            else { welfare -= b.Price * q; revenues += p * q; }
        }
        return new AuctionResult(rule, price, volume, accepted, welfare, payments, revenues);
    }

    private readonly record struct Level(int Start, int End, double Price, double Quantity);

    private static List<Level> Levels(IReadOnlyList<Bid> bids, int[] order)
    {
        var levels = new List<Level>();
        int s = 0;
        while (s < order.Length)
        {
            double p = bids[order[s]].Price;
            int e = s;
            double q = 0;
            while (e < order.Length && bids[order[e]].Price == p) q += bids[order[e++]].Quantity;
            levels.Add(new Level(s, e, p, q));
            s = e;
        }
        return levels;
    }

    private static void AssignFractions(List<Level> levels, int[] order, int stop, double remaining, double[] fraction)
    {
        for (int l = 0; l < Math.Min(stop, levels.Count); l++)
            for (int t = levels[l].Start; t < levels[l].End; t++) fraction[order[t]] = 1;
        if (stop < levels.Count && levels[stop].Quantity > 0)
        {
            double f = (levels[stop].Quantity - remaining) / levels[stop].Quantity;
            for (int t = levels[stop].Start; t < levels[stop].End; t++) fraction[order[t]] = f;
        }
    }
}
