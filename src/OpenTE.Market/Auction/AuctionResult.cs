using OpenTE.Market.Bids;

namespace OpenTE.Market.Auction;

public enum PricingRule
{
    /// <summary>One price for all: the midpoint of the interval of market-clearing prices (see <see cref="DoubleAuction"/>).</summary>
    UniformMidpoint,
    /// <summary>Every accepted buyer pays its bid, every accepted seller receives its offer.</summary>
    PayAsBid,
}

/// <summary>
/// One bid's outcome.
/// </summary>
/// <param name="Bid">The bid as given.</param>
/// <param name="AcceptedMw">Accepted quantity in MW, 0 ≤ AcceptedMw ≤ Bid.Quantity.</param>
/// <param name="Price">
/// The price paid (buyer) or received (seller) in $/MWh for the accepted quantity; 0 when nothing is accepted.
/// </param>
public readonly record struct Acceptance(Bid Bid, double AcceptedMw, double Price)
{
    /// <summary>Buyer: (bid − paid)·q; seller: (received − offer)·q, in $/h.</summary>
    public double Surplus => Bid.Side == Side.Buy ? (Bid.Price - Price) * AcceptedMw : (Price - Bid.Price) * AcceptedMw;

    /// <summary>Money in $/h: paid by a buyer, received by a seller.</summary>
    public double Amount => Price * AcceptedMw;
}

/// <summary>
/// The outcome of a copper-plate double auction.
/// </summary>
/// <param name="Rule">The pricing rule applied.</param>
/// <param name="ClearingPrice">
/// The uniform market-clearing price in $/MWh (see <see cref="DoubleAuction"/>); null when nothing trades. Under
/// <see cref="PricingRule.PayAsBid"/> it is reported for comparison only: nobody pays it.
/// </param>
/// <param name="Volume">MW traded: Σ accepted buys = Σ accepted sells.</param>
/// <param name="Accepted">One entry per input bid, in input order (rejected bids with 0 MW).</param>
/// <param name="Welfare">Total welfare in $/h: Σ buy price·q − Σ sell price·q (independent of the pricing rule).</param>
/// <param name="BuyerPayments">Σ over buyers of price paid·q, $/h.</param>
/// <param name="SellerRevenues">Σ over sellers of price received·q, $/h.</param>
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

    /// <summary>
    /// Surplus per participant in $/h (buyers (bid − paid)·q, sellers (received − offer)·q), summed over its
    /// blocks; every participant with a bid appears, with 0 when nothing of it is accepted. Computed on each call
    /// (one pass over <see cref="Accepted"/>), so that clearing itself does not pay for it.
    /// </summary>
    public IReadOnlyDictionary<string, double> SurplusByParticipant()
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var a in Accepted) d[a.Bid.Participant] = d.GetValueOrDefault(a.Bid.Participant) + a.Surplus;
        return d;
    }
}
