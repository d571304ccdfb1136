using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

/// <summary>
/// A peer's private data: quadratic cost ½·a·P² + b·P ($/h, P in MW; for a consumer, P ≤ 0 and the cost is minus its
/// utility of consuming −P, so b is its marginal utility at zero and C'(P) its marginal utility),
/// its limits (a producer has 0 ≤ Pmin ≤ P ≤ Pmax, a consumer Pmin ≤ P ≤ Pmax ≤ 0), and its per-partner trade
/// charges c_nm ($/MWh on |P_nm|: distance, green premium as a negative charge, grid fees).
/// </summary>
public sealed record Peer(string Id, double A, double B, double Pmin, double Pmax, IReadOnlyDictionary<int, double> Partners)
{
    public bool Producer => Pmin >= 0 && Pmax >= 0;
    public double Cost(double p) => 0.5 * A * p * p + B * p;
}

/// <summary>A P2P market: peers and who may trade with whom (each partnership listed on both sides, producer–consumer).</summary>
public sealed record P2pMarketData(IReadOnlyList<Peer> Peers)
{
    /// <summary>
    /// Each peer's partners in ascending order, and for each (n, k) the position of n in its k-th partner's list
    /// (where P_mn is read): the index both ADMM engines and the central QP work on.
    /// </summary>
    public (int[][] Partners, int[][] Back) Links()
    {
        var partners = Peers.Select(p => p.Partners.Keys.Order().ToArray()).ToArray();
        var back = partners.Select((list, n) => list.Select(m => Array.BinarySearch(partners[m], n)).ToArray()).ToArray();
        return (partners, back);
    }

    /// <summary>Checks the market: limits, partner symmetry, producer–consumer pairs. Throws ArgumentException naming the peer.</summary>
    public void Validate()
    {
        for (int n = 0; n < Peers.Count; n++)
        {
            var p = Peers[n];
            if (!(p.A > 0) || !double.IsFinite(p.A) || !double.IsFinite(p.B)) throw new ArgumentException($"peer {p.Id}: the quadratic coefficient a must be positive and finite (got {p.A})");
            if (!(p.Pmin <= p.Pmax)) throw new ArgumentException($"peer {p.Id}: Pmin {p.Pmin} is above Pmax {p.Pmax}");
            if (!(p.Pmin >= 0 || p.Pmax <= 0)) throw new ArgumentException($"peer {p.Id}: limits [{p.Pmin}, {p.Pmax}] straddle 0; a peer is either a producer (≥ 0) or a consumer (≤ 0)");
            foreach (var (m, c) in p.Partners)
            {
                if (m < 0 || m >= Peers.Count || m == n) throw new ArgumentException($"peer {p.Id}: partner {m} does not exist");
                if (!Peers[m].Partners.ContainsKey(n)) throw new ArgumentException($"peer {p.Id} lists {Peers[m].Id} as a partner but not the other way round");
                if (Peers[m].Producer == p.Producer) throw new ArgumentException($"peers {p.Id} and {Peers[m].Id} are both {(p.Producer ? "producers" : "consumers")}: trades pair a producer with a consumer");
                if (!double.IsFinite(c)) throw new ArgumentException($"peer {p.Id}: trade charge towards {Peers[m].Id} is not finite");
            }
        }
    }
}
