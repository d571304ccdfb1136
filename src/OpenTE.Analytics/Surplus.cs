using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;

namespace OpenTE.Analytics;

/// <summary>How a participant's surplus is measured (docs/fairness.md).</summary>
public enum ParticipantRole
{
    /// <summary>Buys energy it values at its bid: surplus = value at the bid − payment.</summary>
    Consumer,
    /// <summary>Sells energy it produces at the cost of its offer: surplus = revenue − cost at the offer.</summary>
    Producer,
    /// <summary>
    /// Buys and sells the same energy at other times (a battery, a prosumer's net position): its bid prices are
    /// opportunity values, not a value or a cost of its own, so its net benefit is its money: revenue − payment.
    /// </summary>
    Storage,
}

/// <summary>What a row of the account stands for: a participant, or the money the market itself keeps.</summary>
public enum RowKind
{
    Participant,
    /// <summary>What buyers paid minus what sellers received: congestion rent of nodal prices, the spread of pay-as-bid, the trade charges of a P2P market.</summary>
    GridRent,
    /// <summary>Carbon money collected from sellers (off unless a carbon price is given; see <see cref="SurplusOptions.CarbonPrice"/>).</summary>
    Carbon,
}

/// <summary>
/// One row of the surplus account for one interval, in $ over the interval. For a participant:
/// <c>Surplus = Value − Payment + Revenue − Cost − CarbonPaid</c>; for a storage participant Value = Cost = 0. For the
/// grid-rent row, Surplus = Σ payments − Σ revenues of the interval; for the carbon row, Σ carbon paid.
/// </summary>
public sealed record SurplusRow(string Participant, RowKind Kind, ParticipantRole? Role, int Interval,
    double Value, double Payment, double Revenue, double Cost, double CarbonPaid, double Surplus);

/// <summary>Options of <see cref="SurplusAccounting.Compute"/>.</summary>
public sealed record SurplusOptions
{
    /// <summary>Each participant's role; null: a participant that both buys and sells in the outcome is storage, else by its side.</summary>
    public Func<string, ParticipantRole>? Role { get; init; }

    /// <summary>
    /// The carbon hook: $/MWh a selling award pays for its emissions (null: no carbon pricing, the carbon row is 0).
    /// Carbon money is a transfer from sellers to the carbon row; welfare is unchanged by it.
    /// </summary>
    public Func<Award, double>? CarbonPrice { get; init; }

    /// <summary>
    /// A participant's true value or cost ($/MWh) where its bid is not (a strategic seller's offer is its cost plus a
    /// markup): null, or null for an award, keeps the award's bid price.
    /// </summary>
    public Func<Award, double?>? Valuation { get; init; }
}

/// <summary>
/// The surplus account of one clearing outcome: a row per participant and interval, the grid rent and the carbon money per
/// interval. The rows add up to <see cref="Welfare"/> exactly (by construction, up to floating-point rounding), and money
/// balances: Σ payments = Σ revenues + grid rent (<see cref="MoneyImbalance"/>).
/// </summary>
public sealed record SurplusAccount(string Mechanism, double IntervalHours, IReadOnlyList<SurplusRow> Rows)
{
    /// <summary>Welfare in $ over the outcome: Σ value of served energy at the bids − Σ cost of produced energy at the offers (storage counts neither).</summary>
    public double Welfare => Rows.Where(r => r.Kind == RowKind.Participant).Sum(r => r.Value - r.Cost);

    /// <summary>Σ of every row's surplus (participants, grid rent, carbon): equals <see cref="Welfare"/>.</summary>
    public double RowSum => Rows.Sum(r => r.Surplus);

    public double GridRent => Rows.Where(r => r.Kind == RowKind.GridRent).Sum(r => r.Surplus);
    public double CarbonMoney => Rows.Where(r => r.Kind == RowKind.Carbon).Sum(r => r.Surplus);

    /// <summary>Σ payments − Σ revenues − grid rent: 0 when money balances.</summary>
    public double MoneyImbalance
    {
        get
        {
            double pay = 0, rev = 0;
            foreach (var r in Rows.Where(r => r.Kind == RowKind.Participant)) { pay += r.Payment; rev += r.Revenue; }
            return pay - rev - GridRent;
        }
    }

    /// <summary>Per participant over all intervals, sorted by name (ordinal).</summary>
    public IReadOnlyList<ParticipantSurplus> ByParticipant()
    {
        var d = new SortedDictionary<string, ParticipantSurplus>(StringComparer.Ordinal);
        foreach (var r in Rows.Where(r => r.Kind == RowKind.Participant))
        {
            var t = d.GetValueOrDefault(r.Participant) ?? new ParticipantSurplus(r.Participant, r.Role!.Value, 0, 0, 0, 0, 0, 0);
            d[r.Participant] = t with
            {
                Value = t.Value + r.Value, Payment = t.Payment + r.Payment, Revenue = t.Revenue + r.Revenue,
                Cost = t.Cost + r.Cost, CarbonPaid = t.CarbonPaid + r.CarbonPaid, Surplus = t.Surplus + r.Surplus,
            };
        }
        return [.. d.Values];
    }
}

/// <summary>A participant's totals over the outcome, $.</summary>
public sealed record ParticipantSurplus(string Participant, ParticipantRole Role, double Value, double Payment, double Revenue,
    double Cost, double CarbonPaid, double Surplus)
{
    /// <summary>Money in minus money out: revenue − payment − carbon paid.</summary>
    public double NetMoney => Revenue - Payment - CarbonPaid;
}

/// <summary>Surplus accounting on the one clearing outcome (docs/fairness.md): every mechanism feeds it through its awards.</summary>
public static class SurplusAccounting
{
    /// <summary>
    /// The account of an outcome's energy awards (reactive awards are not energy and are left out). An award without a
    /// bid price (a case generator) is valued at its own price: its surplus is 0 and it adds price × quantity to value or cost.
    /// </summary>
    public static SurplusAccount Compute(ClearingOutcome outcome, SurplusOptions? options = null)
    {
        var o = options ?? new SurplusOptions();
        double h = outcome.IntervalHours;
        var energy = outcome.Awards.Where(a => a.Product == Product.Energy).ToList();
        Func<string, ParticipantRole> role = o.Role ?? DefaultRoles(energy);
        var acc = new Dictionary<(string, int), double[]>(); // value, payment, revenue, cost, carbon
        var order = new List<(string, int)>();
        int intervals = energy.Count == 0 ? 0 : energy.Max(a => a.Interval) + 1;
        var rent = new double[intervals];
        var carbon = new double[intervals];
        foreach (var a in energy)
        {
            var key = (a.Participant, a.Interval);
            if (!acc.TryGetValue(key, out var v)) { acc[key] = v = new double[5]; order.Add(key); }
            double money = a.Price * a.Quantity * h, atBid = (o.Valuation?.Invoke(a) ?? a.BidPrice ?? a.Price) * a.Quantity * h;
            bool storage = role(a.Participant) == ParticipantRole.Storage;
            if (a.Side == Side.Buy)
            {
                v[1] += money;
                if (!storage) v[0] += atBid;
                rent[a.Interval] += money;
            }
            else
            {
                v[2] += money;
                if (!storage) v[3] += atBid;
                rent[a.Interval] -= money;
                if (o.CarbonPrice is { } cp)
                {
                    double c = cp(a) * a.Quantity * h;
                    v[4] += c;
                    carbon[a.Interval] += c;
                }
            }
        }
        var rows = new List<SurplusRow>(order.Count + 2 * intervals);
        foreach (var key in order.OrderBy(k => k.Item2).ThenBy(k => k.Item1, StringComparer.Ordinal))
        {
            var v = acc[key];
            rows.Add(new SurplusRow(key.Item1, RowKind.Participant, role(key.Item1), key.Item2, v[0], v[1], v[2], v[3], v[4],
                v[0] - v[1] + v[2] - v[3] - v[4]));
        }
        for (int t = 0; t < intervals; t++)
        {
            rows.Add(new SurplusRow("(grid rent)", RowKind.GridRent, null, t, 0, 0, 0, 0, 0, rent[t]));
            rows.Add(new SurplusRow("(carbon)", RowKind.Carbon, null, t, 0, 0, 0, 0, 0, carbon[t]));
        }
        return new SurplusAccount(outcome.Mechanism, h, rows);
    }

    /// <summary>A participant with both buy and sell awards is storage; one that only sells a producer; else a consumer.</summary>
    public static Func<string, ParticipantRole> DefaultRoles(IEnumerable<Award> awards)
    {
        var sides = new Dictionary<string, (bool Buy, bool Sell)>(StringComparer.Ordinal);
        foreach (var a in awards)
        {
            var s = sides.GetValueOrDefault(a.Participant);
            sides[a.Participant] = a.Side == Side.Buy ? (true, s.Sell) : (s.Buy, true);
        }
        return p => sides.TryGetValue(p, out var s)
            ? s.Buy && s.Sell ? ParticipantRole.Storage : s.Sell ? ParticipantRole.Producer : ParticipantRole.Consumer
            : ParticipantRole.Consumer;
    }
}
