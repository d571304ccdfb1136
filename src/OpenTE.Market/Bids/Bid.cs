namespace OpenTE.Market.Bids;

/// <summary>Buy: a bid, willing to pay up to its price. Sell: an offer, willing to sell from its price.</summary>
public enum Side { Buy, Sell }

/// <summary>
/// One price–quantity block of a participant at a bus.
/// </summary>
/// <param name="Participant">Who bids (a name; the bids file forbids commas and a leading '#').</param>
/// <param name="Bus">External bus number of the case file.</param>
/// <param name="Side">Buy (bid) or sell (offer).</param>
/// <param name="Price">$/MWh: the most a buyer pays, the least a seller accepts.</param>
/// <param name="Quantity">MW for the hour (MWh per hour), ≥ 0.</param>
/// <param name="Block">1, 2, … within one participant, bus and side (the step of its curve).</param>
/// <param name="Line">Line of the bids file it was read from; 0 when built in code.</param>
public sealed record Bid(string Participant, int Bus, Side Side, double Price, double Quantity, int Block, int Line)
{
    /// <summary>
    /// |price| ≤ this ($/MWh). Far above any price cap of a real market; with <see cref="MaxQuantity"/> it keeps every
    /// sum of quantities and payments exact enough in doubles that buyers' and sellers' totals balance (issue #23: at
    /// 1e16 MW the merit order lost whole megawatts).
    /// </summary>
    public const double MaxPrice = 1e6;

    /// <summary>Quantity ≤ this (MW per block).</summary>
    public const double MaxQuantity = 1e6;

    /// <summary>Null when the price and quantity are within the limits, else the sentence that says which is not.</summary>
    public static string? Check(double price, double quantity) =>
        !double.IsFinite(price) || Math.Abs(price) > MaxPrice ? $"price {price:G6} is outside [-{MaxPrice:G0}, {MaxPrice:G0}] $/MWh"
        : !double.IsFinite(quantity) || quantity < 0 || quantity > MaxQuantity ? $"quantity {quantity:G6} is outside [0, {MaxQuantity:G0}] MW"
        : null;
}
