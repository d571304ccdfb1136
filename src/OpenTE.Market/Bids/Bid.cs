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
public sealed record Bid(string Participant, int Bus, Side Side, double Price, double Quantity, int Block, int Line);
