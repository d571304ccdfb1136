using OpenTE.Market.Bids;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.Outcome;

/// <summary>
/// How a clearing ended — one enum for every mechanism (DC, AC, SCOPF, auctions, island, multi-period, P2P). It becomes
/// the words of DESIGN.md §5 once, in <see cref="ClearingStatuses.Word"/>, where JSON and tables are written.
/// </summary>
public enum ClearingStatus
{
    /// <summary>Solved to optimality (an auction or an island market that cleared; an ADMM market that converged).</summary>
    Optimal,
    Infeasible,
    Unbounded,
    /// <summary>An iterative method stopped before its tolerance (interior point, ADMM, SCOPF screening).</summary>
    NotConverged,
    Error,
}

public static class ClearingStatuses
{
    /// <summary>The status word of DESIGN.md §5: optimal, infeasible, unbounded, not-converged, error.</summary>
    public static string Word(this ClearingStatus s) => s switch
    {
        ClearingStatus.Optimal => "optimal",
        ClearingStatus.Infeasible => "infeasible",
        ClearingStatus.Unbounded => "unbounded",
        ClearingStatus.NotConverged => "not-converged",
        _ => "error",
    };

    public static ClearingStatus From(SolverStatus s) => s switch
    {
        SolverStatus.Optimal => ClearingStatus.Optimal,
        SolverStatus.Infeasible => ClearingStatus.Infeasible,
        SolverStatus.Unbounded => ClearingStatus.Unbounded,
        SolverStatus.NotConverged => ClearingStatus.NotConverged,
        _ => ClearingStatus.Error,
    };

    /// <summary>Exit code of DESIGN.md §5 for a result with this status: 0 optimal, 1 otherwise (solved but not optimal).</summary>
    public static int ExitCode(this ClearingStatus s) => s == ClearingStatus.Optimal ? 0 : 1;
}

/// <summary>What is traded: active energy (MW for the interval) or reactive power (MVAr, the AC reactive market).</summary>
public enum Product { Energy, Reactive }

/// <summary>
/// One award of a clearing: who, where, when, how much, at what price.
/// </summary>
/// <param name="Participant">Who is awarded (a bidder's name; a case generator is <c>gen&lt;index&gt;</c>).</param>
/// <param name="Bus">External bus number (0 when the mechanism has no network, e.g. a copper-plate auction without buses).</param>
/// <param name="Interval">0-based interval of the clearing (always 0 for a single-period mechanism).</param>
/// <param name="Side">Buy (the participant takes energy and pays) or sell (it delivers and is paid).</param>
/// <param name="Quantity">MW over the interval (MVAr for <see cref="Product.Reactive"/>), &gt; 0.</param>
/// <param name="Price">$/MWh ($/MVArh) the participant pays (buy) or receives (sell) for this award.</param>
/// <param name="Counterparty">The other side of a bilateral trade (P2P); null for a pool award, whose counterparty is the market operator.</param>
/// <param name="Block">The bid block (1, 2, …) the award comes from; 0 when not from a bid block.</param>
/// <param name="Product">Energy or reactive power.</param>
/// <param name="BidPrice">The price of the bid or offer the award comes from ($/MWh: the most a buyer would pay, the least a
/// seller would take); null when the award is not from a bid (a case generator, a storage schedule).</param>
public sealed record Award(string Participant, int Bus, int Interval, Side Side, double Quantity, double Price,
    string? Counterparty = null, int Block = 0, Product Product = Product.Energy, double? BidPrice = null)
{
    /// <summary>Surplus at the bid's own price, $/h: (bid − price)·q for a buyer, (price − offer)·q for a seller; 0 without a bid price.</summary>
    public double Surplus => BidPrice is double b ? (Side == Side.Buy ? b - Price : Price - b) * Quantity : 0;

    /// <summary>Money for the whole award over the interval: price × quantity × hours ($): paid by a buyer, received by a seller.</summary>
    public double Amount(double intervalHours) => Price * Quantity * intervalHours;
}

/// <summary>
/// The one shape every clearing mechanism returns besides its own detailed result: the status, the awards and the time
/// grid. <see cref="Awards"/> holds only accepted quantities (&gt; 0). A bilateral (P2P) trade appears twice, once per
/// side, each naming the other as <see cref="Award.Counterparty"/>.
/// </summary>
/// <param name="Mechanism">Which mechanism cleared: dc-opf, ac-opf, scopf, uniform, pay-as-bid, island, multiperiod, p2p.</param>
/// <param name="Status">How the clearing ended; awards are empty unless <see cref="ClearingStatus.Optimal"/>.</param>
/// <param name="Awards">Accepted awards, in a stable order (interval, then the mechanism's input order).</param>
/// <param name="IntervalHours">Length of one interval in hours.</param>
/// <param name="Start">Start of interval 0 (with offset), when the mechanism has a calendar; null otherwise.</param>
/// <param name="Messages">The mechanism's messages (diagnosis when not optimal).</param>
public sealed record ClearingOutcome(string Mechanism, ClearingStatus Status, IReadOnlyList<Award> Awards, double IntervalHours,
    DateTimeOffset? Start, IReadOnlyList<string> Messages)
{
    public int Intervals => Awards.Count == 0 ? 0 : Awards.Max(a => a.Interval) + 1;

    /// <summary>
    /// Per participant, over all intervals: energy bought and sold (MW·intervals, i.e. MWh per hour of interval), money paid
    /// and received, and surplus at its own bid prices, all $/h of interval; <paramref name="alsoListed"/> adds participants
    /// with nothing awarded (zeros). Sorted by name (ordinal).
    /// </summary>
    public IReadOnlyList<ParticipantTotals> Participants(IEnumerable<string>? alsoListed = null)
    {
        var d = new SortedDictionary<string, ParticipantTotals>(StringComparer.Ordinal);
        foreach (var n in alsoListed ?? []) d.TryAdd(n, new ParticipantTotals(n, 0, 0, 0, 0, 0));
        foreach (var a in Awards.Where(a => a.Product == Product.Energy))
        {
            var t = d.GetValueOrDefault(a.Participant) ?? new ParticipantTotals(a.Participant, 0, 0, 0, 0, 0);
            d[a.Participant] = a.Side == Side.Buy
                ? t with { BoughtMw = t.BoughtMw + a.Quantity, Payment = t.Payment + a.Price * a.Quantity, Surplus = t.Surplus + a.Surplus }
                : t with { SoldMw = t.SoldMw + a.Quantity, Revenue = t.Revenue + a.Price * a.Quantity, Surplus = t.Surplus + a.Surplus };
        }
        return [.. d.Values];
    }

    /// <summary>Energy bought and sold per interval (MWh): equal for a bilateral or copper-plate market; differ by the case's own load and generation in a nodal one.</summary>
    public (double BoughtMwh, double SoldMwh) Energy(int interval)
    {
        double b = 0, s = 0;
        foreach (var a in Awards)
            if (a.Interval == interval && a.Product == Product.Energy)
            {
                if (a.Side == Side.Buy) b += a.Quantity * IntervalHours; else s += a.Quantity * IntervalHours;
            }
        return (b, s);
    }
}

/// <summary>A participant's totals in an outcome (see <see cref="ClearingOutcome.Participants"/>).</summary>
public sealed record ParticipantTotals(string Participant, double BoughtMw, double SoldMw, double Payment, double Revenue, double Surplus);
