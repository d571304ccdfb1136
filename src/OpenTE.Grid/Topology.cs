using OpenTE.Grid.Model;

namespace OpenTE.Grid;

/// <summary>A connected part of the network: internal bus indices, the reference buses it holds.</summary>
public sealed record Island(IReadOnlyList<int> Buses, IReadOnlyList<int> ReferenceBuses)
{
    public bool HasReference => ReferenceBuses.Count > 0;
}

/// <summary>Connectivity of the in-service network (buses of type 4 and out-of-service branches are left out).</summary>
public static class Topology
{
    /// <summary>
    /// The islands formed by in-service branches between energised buses (type ≠ 4), largest first.
    /// Buses of type 4 are not part of any island. Linear in buses + branches.
    /// </summary>
    public static IReadOnlyList<Island> Islands(Network net)
    {
        int n = net.BusCount;
        var parent = new int[n];
        for (int i = 0; i < n; i++) parent[i] = i;
        int Find(int x)
        {
            while (parent[x] != x) { parent[x] = parent[parent[x]]; x = parent[x]; }
            return x;
        }
        foreach (var br in net.Branches)
        {
            if (!br.InService) continue;
            int f = net.BusIndex[br.From], t = net.BusIndex[br.To];
            if (net.Buses[f].Type == BusType.Isolated || net.Buses[t].Type == BusType.Isolated) continue;
            int a = Find(f), b = Find(t);
            if (a != b) parent[a] = b;
        }
        var groups = new Dictionary<int, List<int>>();
        for (int i = 0; i < n; i++)
        {
            if (net.Buses[i].Type == BusType.Isolated) continue;
            int root = Find(i);
            if (!groups.TryGetValue(root, out var list)) groups[root] = list = [];
            list.Add(i);
        }
        return groups.Values
            .Select(g => new Island(g, g.Where(i => net.Buses[i].Type == BusType.Ref).ToList()))
            .OrderByDescending(i => i.Buses.Count).ThenBy(i => i.Buses[0])
            .ToList();
    }
}
