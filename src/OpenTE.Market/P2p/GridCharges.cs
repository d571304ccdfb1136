using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;

namespace OpenTE.Market.P2p;

/// <summary>
/// The network-aware P2P market: each trade pays for the network it uses. A trade of 1 MW from bus a to bus b
/// changes the flow on branch l by PTDF[l,a] − PTDF[l,b] (DC model); its <em>electrical distance</em>
/// d_ab = Σ_l |PTDF[l,a] − PTDF[l,b]| is the MW of branch flow it causes in all. The grid charge is fee × d_ab
/// $/MWh, split half to the seller and half to the buyer (added to both sides' c_nm), so that a trade across the
/// whole network pays more than one between neighbours and trades on the same bus pay nothing. Chosen over a
/// distance-based fee because it follows the physics (parallel paths, meshing) and needs only the PTDF rows of
/// the case; over full nodal pricing because it keeps the market a P2P market (no central dispatch), at the cost of
/// not enforcing line limits — charges steer trades, they do not guarantee feasibility.
/// </summary>
public static class GridCharges
{
    public static (P2pMarketData Market, double[,] Distance) Apply(P2pMarketData data, Network net, IReadOnlyList<int> busOfPeer, double feePerMwh)
    {
        if (busOfPeer.Count != data.Peers.Count) throw new ArgumentException("give one bus per peer");
        if (!(feePerMwh >= 0)) throw new ArgumentException("the grid fee must be ≥ 0");
        var dc = new DcNetwork(net);
        var branches = Enumerable.Range(0, net.Branches.Length).Where(l => dc.B[l] != 0).ToArray();
        var ptdf = dc.Ptdf(branches); // rows per branch, columns per bus
        var buses = busOfPeer.Distinct().ToArray();
        var index = new Dictionary<int, int>();
        foreach (int b in buses)
            index[b] = net.BusIndex.TryGetValue(b, out int i) ? i : throw new ArgumentException($"bus {b} is not in {net.Name}");
        var distance = new double[buses.Length, buses.Length];
        var pos = buses.Select((b, k) => (b, k)).ToDictionary(x => x.b, x => x.k);
        for (int x = 0; x < buses.Length; x++)
            for (int y = x + 1; y < buses.Length; y++)
            {
                double d = 0;
                foreach (var row in ptdf) d += Math.Abs(row[index[buses[x]]] - row[index[buses[y]]]);
                distance[x, y] = distance[y, x] = d;
            }
        var peers = data.Peers.Select((p, n) => p with
        {
            Partners = p.Partners.ToDictionary(kv => kv.Key, kv => kv.Value + 0.5 * feePerMwh * distance[pos[busOfPeer[n]], pos[busOfPeer[kv.Key]]]),
        }).ToList();
        return (new P2pMarketData(peers), distance);
    }
}
