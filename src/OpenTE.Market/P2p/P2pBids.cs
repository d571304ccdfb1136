using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.P2p;

/// <summary>
/// A P2P market built from price–quantity bids, so that the P2P design runs on the same bids as the pool designs.
/// Each bid block is one peer: a seller's block (price p, quantity q) has cost ½·a·P² + p·P on [0, q], a buyer's
/// utility p·|P| − ½·a·P² on [−q, 0], with a = <see cref="Slope"/>·max(|p|, 1)/q — its marginal value falls by 1 % of
/// its price across the block (ADMM needs a strictly convex cost; a step bid has none). Partnerships: each buyer with
/// the <c>partners</c> sellers nearest to it in electrical distance (d_ab = Σ_l |PTDF[l,a] − PTDF[l,b]|, the MW of branch
/// flow 1 MW from a to b causes) and with every large supplier (a seller block of at least <c>supplierMw</c>), so the
/// market stays sparse: O(buyers × partners) trades. The grid charge fee·d_ab is split between the two sides
/// (<see cref="GridCharges"/>).
/// </summary>
public static class P2pBids
{
    public const double Slope = 0.01;

    public sealed record Market(P2pMarketData Data, IReadOnlyList<Bid> Bids, IReadOnlyList<int> Bus);

    public static Market Build(IReadOnlyList<Bid> bids, Network net, int partners = 4, double feePerMwh = 0, double supplierMw = 1)
    {
        var used = Enumerable.Range(0, bids.Count).Where(k => bids[k].Quantity > 1e-9).ToArray();
        var sellers = used.Where(k => bids[k].Side == Side.Sell).ToArray();
        var buyers = used.Where(k => bids[k].Side == Side.Buy).ToArray();
        var peerOf = new Dictionary<int, int>();
        var order = sellers.Concat(buyers).ToArray();
        for (int i = 0; i < order.Length; i++) peerOf[order[i]] = i;
        var links = order.Select(_ => new Dictionary<int, double>()).ToArray();
        var distance = Distances(net, [.. order.Select(k => bids[k].Bus).Distinct()]);
        var suppliers = sellers.Where(k => bids[k].Quantity >= supplierMw).ToArray();
        var small = sellers.Where(k => bids[k].Quantity < supplierMw).ToArray();
        var nearest = new Dictionary<int, int[]>(); // per buyer bus (not per buyer): the small sellers nearest to it
        foreach (int b in buyers)
        {
            int pb = peerOf[b], at = bids[b].Bus;
            if (!nearest.TryGetValue(at, out var near))
                nearest[at] = near = [.. small.OrderBy(s => distance[(at, bids[s].Bus)]).ThenBy(s => s).Take(partners)];
            foreach (int s in suppliers.Concat(near))
            {
                int ps = peerOf[s];
                links[pb][ps] = links[ps][pb] = 0;
            }
        }
        var peers = order.Select((k, i) =>
        {
            var b = bids[k];
            double a = Slope * Math.Max(Math.Abs(b.Price), 1) / b.Quantity;
            return b.Side == Side.Sell
                ? new Peer(b.Participant, a, b.Price, 0, b.Quantity, links[i])
                : new Peer(b.Participant, a, b.Price, -b.Quantity, 0, links[i]);
        }).ToList();
        var data = new P2pMarketData(peers);
        var bus = order.Select(k => bids[k].Bus).ToArray();
        if (feePerMwh > 0) data = GridCharges.Apply(data, net, bus, feePerMwh).Market;
        return new Market(data, [.. order.Select(k => bids[k])], bus);
    }

    /// <summary>Electrical distance between every pair of the given buses.</summary>
    public static Dictionary<(int, int), double> Distances(Network net, IReadOnlyList<int> buses)
    {
        var dc = new DcNetwork(net);
        var branches = Enumerable.Range(0, net.Branches.Length).Where(l => dc.B[l] != 0).ToArray();
        var ptdf = dc.Ptdf(branches);
        var d = new Dictionary<(int, int), double>();
        foreach (int x in buses)
            foreach (int y in buses)
            {
                double s = 0;
                int ix = net.BusIndex[x], iy = net.BusIndex[y];
                foreach (var row in ptdf) s += Math.Abs(row[ix] - row[iy]);
                d[(x, y)] = s;
            }
        return d;
    }

    /// <summary>
    /// The awards of a solved P2P market: each trade P_nm &gt; 0 twice, the seller paid the trade price minus its own charge,
    /// the buyer paying it plus its own (so the grid keeps the charges), each with the peer's average value per MW as its
    /// bid price — cost/P for a seller (b + ½aP), utility/|P| for a buyer (b − ½a|P|) — so that Σ bid price × quantity is
    /// the peer's exact cost or utility.
    /// </summary>
    public static List<Award> Awards(Market market, P2pResult r, int interval)
    {
        var awards = new List<Award>();
        var data = market.Data;
        for (int n = 0; n < data.Peers.Count; n++)
        {
            var seller = data.Peers[n];
            if (!seller.Producer) continue;
            double pn = r.Power[n];
            foreach (var (m, p) in r.Trades[n].OrderBy(x => x.Key))
            {
                if (p <= Outcomes.MinQuantity) continue;
                var buyer = data.Peers[m];
                double price = r.Prices[n][m], pm = Math.Abs(r.Power[m]);
                double sellValue = seller.B + 0.5 * seller.A * pn, buyValue = buyer.B - 0.5 * buyer.A * pm;
                awards.Add(new Award(seller.Id, market.Bus[n], interval, Side.Sell, p, price - seller.Partners[m], buyer.Id, market.Bids[n].Block, BidPrice: sellValue));
                awards.Add(new Award(buyer.Id, market.Bus[m], interval, Side.Buy, p, price + buyer.Partners[n], seller.Id, market.Bids[m].Block, BidPrice: buyValue));
            }
        }
        return awards;
    }
}
