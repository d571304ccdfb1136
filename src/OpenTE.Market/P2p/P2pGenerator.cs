using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

/// <summary>Random markets for tests and benchmarks: producers and consumers with quadratic costs/utilities, a few partners each.</summary>
public static class P2pGenerator
{
    public static P2pMarketData Random(int peers, int partnersPerPeer, int seed, double chargeSpread = 2)
    {
        var rnd = new Random(seed);
        int producers = peers / 2;
        var isProducer = Enumerable.Range(0, peers).Select(n => n < producers).ToArray();
        var links = Enumerable.Range(0, peers).Select(_ => new Dictionary<int, double>()).ToArray();
        for (int n = 0; n < peers; n++)
        {
            int wanted = partnersPerPeer;
            for (int tries = 0; links[n].Count < wanted && tries < 20 * wanted; tries++)
            {
                int m = isProducer[n] ? producers + rnd.Next(peers - producers) : rnd.Next(producers);
                if (links[n].ContainsKey(m) || links[m].Count >= 2 * partnersPerPeer) continue;
                links[n][m] = Math.Round(chargeSpread * rnd.NextDouble(), 3);
                links[m][n] = Math.Round(chargeSpread * rnd.NextDouble(), 3);
            }
        }
        var list = new List<Peer>(peers);
        for (int n = 0; n < peers; n++)
        {
            if (links[n].Count == 0)
            {
                // an isolated peer still needs one partner
                int m = isProducer[n] ? producers + rnd.Next(peers - producers) : rnd.Next(producers);
                links[n][m] = 1;
                links[m][n] = 1;
            }
        }
        for (int n = 0; n < peers; n++)
            list.Add(isProducer[n]
                ? new Peer($"prod{n}", 0.05 + 0.2 * rnd.NextDouble(), 10 + 30 * rnd.NextDouble(), 0, 20 + 60 * rnd.NextDouble(), links[n])
                // a consumer's cost of P ≤ 0 is minus its utility of −P: C(P) = ½·a·P² + b·P with b = marginal utility at 0
                : new Peer($"cons{n}", 0.05 + 0.2 * rnd.NextDouble(), 40 + 50 * rnd.NextDouble(), -(10 + 50 * rnd.NextDouble()), 0, links[n]));
        return new P2pMarketData(list);
    }
}
