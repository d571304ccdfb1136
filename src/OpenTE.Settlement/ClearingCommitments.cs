using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;

namespace OpenTE.Settlement;

/// <summary>
/// How a clearing's awards become settlement terms: the market, the calendar of its intervals, who is who on the chain.
/// </summary>
public sealed record ClearingTerms
{
    /// <summary>The settlement market's name (<see cref="MarketRules.Market"/>).</summary>
    public required string Market { get; init; }
    /// <summary>Start of the clearing's interval 0, unix seconds; interval t starts at Start + t·IntervalSeconds.</summary>
    public required long Start { get; init; }
    /// <summary>Interval length in seconds; must equal the outcome's interval (and the market rules').</summary>
    public long IntervalSeconds { get; init; } = 900;
    /// <summary>Each participant's address (the key that signs its commitments).</summary>
    public required IReadOnlyDictionary<string, string> Addresses { get; init; }
    /// <summary>The market operator's address: the counterparty of every pool award (the operator buys from sellers and sells to buyers).</summary>
    public required string Operator { get; init; }
    /// <summary>Minor currency units per dollar (100: cents). Prices are converted to minor units per MWh.</summary>
    public long MinorUnitsPerDollar { get; init; } = 100;
    /// <summary>Nonce of the first commitment; each further one takes the next.</summary>
    public ulong FirstNonce { get; init; } = 1;
}

/// <summary>One award turned into a commitment (a bilateral trade appears once, from its seller's award).</summary>
public sealed record ClearedTrade(Award Award, TradeCommitment Commitment);

/// <summary>
/// From a clearing to the settlement: every award becomes a trade commitment between the participant and its
/// counterparty — the other peer of a bilateral (P2P) trade, the market operator for a pool award — that both then sign.
/// <para>Rounding, stated once: energy to the Wh, half away from zero (MW × hours × 10⁶); the price to the minor unit per
/// MWh, half away from zero ($/MWh × <see cref="ClearingTerms.MinorUnitsPerDollar"/>); the money of a trade is then the
/// settlement's own rule, ⌊price × Wh / 10⁶⌋ (<see cref="Money.Amount"/>), so a trade's money is within one minor unit
/// plus half a minor unit per MWh of the exact price × quantity.</para>
/// </summary>
public static class Commitments
{
    public static long Wh(double mw, double hours) => checked((long)Math.Round(mw * hours * Money.WhPerMWh, MidpointRounding.AwayFromZero));

    public static long MinorPerMWh(double dollarsPerMWh, long minorPerDollar) =>
        checked((long)Math.Round(dollarsPerMWh * minorPerDollar, MidpointRounding.AwayFromZero));

    /// <summary>
    /// The commitments of a clearing, in the outcome's award order. Refuses (ArgumentException naming the award) an
    /// outcome that did not clear, a participant without an address, a reactive-power award (not energy), an interval
    /// length different from the terms', and an award at a negative price (the escrow moves money from the energy's buyer
    /// to its seller only; a negative price needs a separate charge). Awards that round to 0 Wh make no commitment.
    /// </summary>
    public static IReadOnlyList<ClearedTrade> FromClearing(ClearingOutcome outcome, ClearingTerms terms)
    {
        if (outcome.Status != ClearingStatus.Optimal)
            throw new ArgumentException($"the {outcome.Mechanism} clearing is {outcome.Status.Word()}: only an optimal clearing has awards to settle");
        if (Math.Abs(outcome.IntervalHours * 3600 - terms.IntervalSeconds) > 1e-6)
            throw new ArgumentException($"the clearing's interval is {outcome.IntervalHours * 60:0.##} min but the settlement's is {terms.IntervalSeconds / 60.0:0.##} min; use one interval length");
        var trades = new List<ClearedTrade>();
        ulong nonce = terms.FirstNonce;
        foreach (var a in outcome.Awards)
        {
            if (a.Counterparty is not null && a.Side == Side.Buy) continue; // the seller's award of the pair makes the trade
            string where = $"award of {a.Participant} at bus {a.Bus}, interval {a.Interval}";
            if (a.Product != Product.Energy) throw new ArgumentException($"{where}: reactive-power awards are paid by the operator, not settled as energy trades");
            if (!(a.Price >= 0) || !double.IsFinite(a.Price)) throw new ArgumentException($"{where}: price {a.Price} $/MWh is negative or not finite; the escrow settles only non-negative prices");
            long wh = Wh(a.Quantity, outcome.IntervalHours);
            if (wh <= 0) continue;
            string self = Address(terms, a.Participant, where);
            string other = a.Counterparty is null ? terms.Operator : Address(terms, a.Counterparty, where);
            var (buyer, seller) = a.Side == Side.Buy ? (self, other) : (other, self);
            long start = checked(terms.Start + a.Interval * terms.IntervalSeconds);
            var c = new TradeCommitment(terms.Market, start, buyer, seller, wh, MinorPerMWh(a.Price, terms.MinorUnitsPerDollar), nonce++, start);
            trades.Add(new ClearedTrade(a, c));
        }
        return trades;
    }

    private static string Address(ClearingTerms terms, string participant, string where) =>
        terms.Addresses.TryGetValue(participant, out var addr) ? addr
            : throw new ArgumentException($"{where}: participant '{participant}' has no address; give every awarded participant a key");
}
