namespace OpenTE.Market.Bids;

public enum Side { Buy, Sell }

/// <summary>A price-quantity block: price in $/MWh, quantity in MW (MWh per hour), at a bus (external number).</summary>
public sealed record Bid(string Participant, int Bus, Side Side, double Price, double Quantity, int Block, int Line);
