using OpenTE.Market.Outcome;
using OpenTE.Grid;
using OpenTE.Grid.Model;

namespace OpenTE.Market.Island;

/// <summary>A local source in the microgrid: capacity (MW) offered at a price; the grid-forming one keeps a reserve.</summary>
public sealed record IslandUnit(string Id, int Bus, double CapacityMw, double Price, bool GridForming = false);

/// <summary>A load's bid: MW wanted at up to a price. Critical loads are served first, at the value of lost load.</summary>
public sealed record IslandLoad(string Id, int Bus, double DemandMw, double Price, bool Critical = false);

public sealed record IslandOptions
{
    /// <summary>Blackstart / headroom reserve kept on the grid-forming unit, out of the energy market (MW).</summary>
    public double ReserveMw { get; init; }
    /// <summary>Price of critical load (and of any load when curtailment reaches it), $/MWh.</summary>
    public double ValueOfLostLoad { get; init; } = 10_000;
}

public sealed record IslandDispatch(string Id, int Bus, double Mw, double OfferedMw);
public sealed record IslandService(string Id, int Bus, double ServedMw, double DemandMw, bool Critical);

public sealed record IslandResult(
    ClearingStatus Status,
    double Price,
    IReadOnlyList<int> IslandBuses,            // bus ids of the microgrid
    IReadOnlyList<IslandDispatch> Units,
    IReadOnlyList<IslandService> Loads,
    IReadOnlyList<string> Disconnected,       // units and loads outside the microgrid, by id
    double ReserveMw,
    IReadOnlyList<string> Messages)
{
    public double CriticalDemandMw => Loads.Where(l => l.Critical).Sum(l => l.DemandMw);
    public double CriticalServedMw => Loads.Where(l => l.Critical).Sum(l => l.ServedMw);
    public double CurtailedMw => Loads.Sum(l => l.DemandMw - l.ServedMw);
}

/// <summary>
/// The islanded microgrid market. When the point of common coupling opens (a list of branches taken out of
/// service), the microgrid is the island of the network that holds the grid-forming unit (found from the
/// topology). Inside it, one uniform-price merit-order clearing (the island is a few feeders: no network
/// limits are enforced): sources ascending by price, the grid-forming unit offering its capacity minus the
/// reserve (which is never sold as energy); demand descending by price with critical loads first at the value
/// of lost load; flexible loads are curtailed from the cheapest bid up. The price is the marginal curtailed bid
/// when any demand is not served (so it rises with scarcity, up to VoLL when critical load is curtailed), else the
/// marginal dispatched offer.
/// </summary>
public static class IslandMarket
{
    public static IslandResult Clear(Network net, IEnumerable<int> openBranches, IReadOnlyList<IslandUnit> units, IReadOnlyList<IslandLoad> loads, IslandOptions? options = null)
    {
        var o = options ?? new IslandOptions();
        if (!(o.ReserveMw >= 0)) throw new ArgumentException("the reserve must be ≥ 0 MW");
        var open = new HashSet<int>(openBranches);
        foreach (int l in open) if (l < 0 || l >= net.Branches.Length) throw new ArgumentException($"branch {l + 1} is not in {net.Name}");
        foreach (var u in units) if (!net.BusIndex.ContainsKey(u.Bus) || !(u.CapacityMw >= 0) || !double.IsFinite(u.Price)) throw new ArgumentException($"unit {u.Id}: unknown bus {u.Bus} or bad capacity/price");
        foreach (var d in loads) if (!net.BusIndex.ContainsKey(d.Bus) || !(d.DemandMw >= 0) || !double.IsFinite(d.Price)) throw new ArgumentException($"load {d.Id}: unknown bus {d.Bus} or bad demand/price");
        var former = units.Where(u => u.GridForming).ToList();
        if (former.Count != 1) throw new ArgumentException($"an islanded microgrid needs exactly one grid-forming unit; {former.Count} given");
        var gf = former[0];

        var islandNet = net.With(branches: net.Branches.Select((b, i) => open.Contains(i) ? b with { Status = 0 } : b));
        int gfBus = net.BusIndex[gf.Bus];
        var island = islandNet.Islands.First(i => i.Buses.Contains(gfBus));
        var inside = new HashSet<int>(island.Buses.Select(b => net.Buses[b].Id));
        var messages = new List<string>();
        var disconnected = units.Where(u => !inside.Contains(u.Bus)).Select(u => u.Id).Concat(loads.Where(d => !inside.Contains(d.Bus)).Select(d => d.Id)).ToList();
        if (disconnected.Count > 0) messages.Add($"{disconnected.Count} units and loads are outside the microgrid and not served by it");

        // supply: ascending price, the grid-forming unit without its reserve
        var supply = units.Where(u => inside.Contains(u.Bus))
            .Select(u => (Unit: u, Offered: u.GridForming ? Math.Max(0, u.CapacityMw - o.ReserveMw) : u.CapacityMw))
            .OrderBy(x => x.Unit.Price).ThenBy(x => x.Unit.Id, StringComparer.Ordinal).ToList();
        if (gf.CapacityMw < o.ReserveMw) messages.Add($"the grid-forming unit {gf.Id} ({gf.CapacityMw} MW) cannot hold the {o.ReserveMw} MW reserve: it offers no energy");
        // demand: critical first (at VoLL), then descending price
        var demand = loads.Where(d => inside.Contains(d.Bus))
            .Select(d => (Load: d, Price: d.Critical ? o.ValueOfLostLoad : Math.Min(d.Price, o.ValueOfLostLoad)))
            .OrderByDescending(x => x.Load.Critical).ThenByDescending(x => x.Price).ThenBy(x => x.Load.Id, StringComparer.Ordinal).ToList();

        var dispatched = new double[supply.Count];
        var served = new double[demand.Count];
        int si = 0;
        double left = supply.Count > 0 ? supply[0].Offered : 0;
        for (int di = 0; di < demand.Count; di++)
        {
            double want = demand[di].Load.DemandMw;
            while (want > 1e-12 && si < supply.Count)
            {
                if (supply[si].Unit.Price > demand[di].Price) break; // the bid does not pay for the next offer
                double take = Math.Min(want, left);
                dispatched[si] += take;
                served[di] += take;
                want -= take;
                left -= take;
                if (left <= 1e-12) { si++; left = si < supply.Count ? supply[si].Offered : 0; }
            }
        }
        // price: the marginal curtailed bid when demand is not all served, else the marginal dispatched offer
        int curtailed = Enumerable.Range(0, demand.Count).FirstOrDefault(d => served[d] < demand[d].Load.DemandMw - 1e-9, -1);
        int lastUnit = Enumerable.Range(0, supply.Count).LastOrDefault(s => dispatched[s] > 1e-12, -1);
        double price = curtailed >= 0 ? demand[curtailed].Price : lastUnit >= 0 ? supply[lastUnit].Unit.Price : 0;
        if (curtailed >= 0 && demand[curtailed].Load.Critical) messages.Add("critical load is curtailed: the price is the value of lost load");

        var unitResults = units.Select(u =>
        {
            int k = supply.FindIndex(x => ReferenceEquals(x.Unit, u));
            return k < 0 ? new IslandDispatch(u.Id, u.Bus, 0, 0) : new IslandDispatch(u.Id, u.Bus, dispatched[k], supply[k].Offered);
        }).ToList();
        var loadResults = loads.Select(d =>
        {
            int k = demand.FindIndex(x => ReferenceEquals(x.Load, d));
            return new IslandService(d.Id, d.Bus, k < 0 ? 0 : served[k], d.DemandMw, d.Critical);
        }).ToList();
        return new IslandResult(ClearingStatus.Optimal, price, [.. inside.Order()], unitResults, loadResults, disconnected, Math.Min(o.ReserveMw, gf.CapacityMw), messages);
    }
}
