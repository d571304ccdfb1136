using System.Collections;

namespace OpenTE.Market.Bids;

/// <summary>
/// An immutable list of bids in input order, with look-ups by participant, bus and side and total
/// quantities. It is an <see cref="IReadOnlyList{T}"/>, so it goes wherever a list of bids does
/// (<c>DoubleAuction.Clear</c>, <c>DcOpfOptions.Bids</c>). The look-up tables are built on first use.
/// </summary>
public sealed class BidBook : IReadOnlyList<Bid>
{
    private readonly Bid[] _bids;
    private Index? _index;

    public static BidBook Empty { get; } = new([]);

    /// <summary>Copies <paramref name="bids"/> (none may be null).</summary>
    public BidBook(IEnumerable<Bid> bids)
    {
        ArgumentNullException.ThrowIfNull(bids);
        _bids = [.. bids];
        for (int k = 0; k < _bids.Length; k++)
            if (_bids[k] is null) throw new ArgumentException($"bid {k + 1} is null", nameof(bids));
    }

    public int Count => _bids.Length;
    public Bid this[int index] => _bids[index];
    public ReadOnlySpan<Bid> AsSpan() => _bids;
    public IEnumerator<Bid> GetEnumerator() => ((IEnumerable<Bid>)_bids).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Participants in the order of their first bid.</summary>
    public IReadOnlyList<string> Participants => Lookups.Participants;

    /// <summary>Buses that carry a bid, in the order of their first bid.</summary>
    public IReadOnlyList<int> Buses => Lookups.Buses;

    /// <summary>A participant's bids in input order (empty when it has none).</summary>
    public IReadOnlyList<Bid> OfParticipant(string participant) =>
        Lookups.ByParticipant.TryGetValue(participant, out var list) ? list : [];

    /// <summary>The bids at a bus (external number) in input order (empty when none).</summary>
    public IReadOnlyList<Bid> AtBus(int bus) => Lookups.ByBus.TryGetValue(bus, out var list) ? list : [];

    /// <summary>The buy bids or the sell offers, in input order.</summary>
    public IReadOnlyList<Bid> OfSide(Side side) => side == Side.Buy ? Lookups.Buys : Lookups.Sells;

    /// <summary>Total MW offered (sell) or asked for (buy).</summary>
    public double TotalQuantity(Side side) => side == Side.Buy ? Lookups.BuyTotal : Lookups.SellTotal;

    /// <summary>Total MW of one side at one bus.</summary>
    public double TotalQuantity(Side side, int bus) => Sum(AtBus(bus), side);

    /// <summary>Total MW of one side of one participant.</summary>
    public double TotalQuantity(string participant, Side side) => Sum(OfParticipant(participant), side);

    private static double Sum(IReadOnlyList<Bid> bids, Side side)
    {
        double total = 0;
        foreach (var b in bids) if (b.Side == side) total += b.Quantity;
        return total;
    }

    private Index Lookups => LazyInitializer.EnsureInitialized(ref _index, () => new Index(_bids));

    /// <summary>Look-up tables, built once and read-only (a cast cannot change the book through them).</summary>
    private sealed class Index
    {
        public readonly IReadOnlyList<string> Participants;
        public readonly IReadOnlyList<int> Buses;
        public readonly Dictionary<string, IReadOnlyList<Bid>> ByParticipant;
        public readonly Dictionary<int, IReadOnlyList<Bid>> ByBus;
        public readonly IReadOnlyList<Bid> Buys, Sells;
        public readonly double BuyTotal, SellTotal;

        public Index(Bid[] bids)
        {
            var participants = new List<string>();
            var buses = new List<int>();
            var byParticipant = new Dictionary<string, List<Bid>>(StringComparer.Ordinal);
            var byBus = new Dictionary<int, List<Bid>>();
            var buys = new List<Bid>();
            var sells = new List<Bid>();
            foreach (var b in bids)
            {
                if (!byParticipant.TryGetValue(b.Participant, out var ofParticipant))
                {
                    byParticipant[b.Participant] = ofParticipant = [];
                    participants.Add(b.Participant);
                }
                ofParticipant.Add(b);
                if (!byBus.TryGetValue(b.Bus, out var atBus))
                {
                    byBus[b.Bus] = atBus = [];
                    buses.Add(b.Bus);
                }
                atBus.Add(b);
                if (b.Side == Side.Buy) { buys.Add(b); BuyTotal += b.Quantity; }
                else { sells.Add(b); SellTotal += b.Quantity; }
            }
            Participants = participants.AsReadOnly();
            Buses = buses.AsReadOnly();
            ByParticipant = byParticipant.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<Bid>)kv.Value.AsReadOnly(), StringComparer.Ordinal);
            ByBus = byBus.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<Bid>)kv.Value.AsReadOnly());
            Buys = buys.AsReadOnly();
            Sells = sells.AsReadOnly();
        }
    }
}
