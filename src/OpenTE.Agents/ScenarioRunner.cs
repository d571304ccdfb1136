using OpenTE.Market.Outcome;
using OpenTE.Grid.Model;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Island;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Agents;

/// <summary>Everything a simulation recorded, interval by interval.</summary>
public sealed record SimulationResult(
    Scenario Scenario,
    IReadOnlyList<DateTimeOffset> Times,
    IReadOnlyList<string> Mode,               // "grid" or "island"
    double[][] Price,                         // [t][bus index], $/MWh
    double[][] AgentNetMw,                    // [t][prosumer]: + delivered, − taken
    double[] DemandMw, double[] ServedMw,     // base and critical load asked for vs served
    double[] CriticalDemandMw, double[] CriticalServedMw,
    double[] ReserveMw, double[] GridFormingMw,
    IReadOnlyDictionary<string, double[]> SocMwh,   // battery id → T + 1 values
    IReadOnlyList<string> Messages)
{
    /// <summary>Every interval's awards as the one clearing outcome (docs/platform.md): who bought and sold what at what price.</summary>
    public ClearingOutcome Outcome { get; init; } = new("simulation", ClearingStatus.Optimal, [], 1, null, []);

    public double[] CurtailedMw => [.. DemandMw.Zip(ServedMw, (d, s) => Math.Max(0, d - s))];
}

/// <summary>
/// Steps a scenario: in each interval every prosumer bids from its own state, the market clears — the DC OPF
/// with bids while connected (LMPs per bus), the islanded microgrid market while the point of common coupling is
/// open — and each prosumer is told what it delivered or took and at what price.
/// </summary>
public static class ScenarioRunner
{
    /// <summary>The participant name of the substation's supply (the grid beyond the feeder).</summary>
    public const string Substation = "substation";

    /// <summary>
    /// Runs the scenario. <paramref name="market"/> clears the grid-connected intervals under another market design
    /// (<see cref="MarketDesigns"/>); null is the nodal market (DC OPF, LMP per bus). Islanded intervals are always cleared
    /// by the island market (one price in the island).
    /// </summary>
    public static SimulationResult Run(Scenario s, Network net, IProgress<int>? progress = null, IntervalMarket? market = null)
    {
        int T = s.Intervals, nb = net.BusCount, n = s.Prosumers.Count;
        var forecast = Enumerable.Range(0, T).Select(s.GridPrice).ToArray();
        int refBus = net.Buses.FirstOrDefault(b => b.Type == BusType.Ref)?.Id ?? net.Buses[0].Id;
        var substation = new SourceAgent(Substation, refBus, 1e4, forecast);
        SourceAgent? former = s.Microgrid is { } mg ? new SourceAgent(mg.GridFormingId, mg.GridFormingBus, mg.GridFormingMw, Enumerable.Repeat(mg.GridFormingPrice, T).ToArray()) : null;
        var index = new Dictionary<string, int>();
        for (int k = 0; k < n; k++) index[s.Prosumers[k].Id] = k;

        var times = new DateTimeOffset[T];
        var mode = new string[T];
        var price = new double[T][];
        var net_ = new double[T][];
        double[] demand = new double[T], served = new double[T], critD = new double[T], critS = new double[T], reserve = new double[T], gfMw = new double[T];
        var batteries = s.Prosumers.OfType<BatteryAgent>().ToList();
        var soc = batteries.ToDictionary(b => b.Id, b => { var a = new double[T + 1]; a[0] = b.SocMwh; return a; });
        var messages = new List<string>();
        var awards = new List<Award>();
        string mechanism = market is null ? "dc-opf" : "";
        bool island = false;
        int ev = 0;
        for (int t = 0; t < T; t++)
        {
            times[t] = s.Time(t);
            while (ev < s.Events.Count && s.Events[ev].At <= times[t]) island = s.Events[ev++].Type == "pcc-open";
            mode[t] = island ? "island" : "grid";
            var view = new MarketView(t, s.StepHours, forecast, s.ValueOfLostLoad);
            int awardsBefore = awards.Count;
            var bids = new List<Bid>();
            var owner = new List<int>(); // prosumer index, −1 substation, −2 grid-forming unit
            for (int k = 0; k < n; k++)
                foreach (var b in s.Prosumers[k].Bids(view)) { bids.Add(b); owner.Add(k); }
            var accepted = new double[bids.Count];
            price[t] = new double[nb];
            if (!island)
            {
                foreach (var b in substation.Bids(view)) { bids.Add(b); owner.Add(-1); }
                if (former is not null) foreach (var b in former.Bids(view)) { bids.Add(b); owner.Add(-2); }
                if (market is not null)
                {
                    var c = market(new IntervalBids(t, times[t], s.StepHours, bids, net, forecast[t]));
                    if (c.Accepted.Count != bids.Count) throw new InvalidOperationException("the market design returned a different number of bids");
                    accepted = [.. c.Accepted];
                    price[t] = [.. c.BusPrice];
                    awards.AddRange(c.Awards.Select(a => a with { Interval = t }));
                    if (mechanism == "") mechanism = c.Mechanism;
                    foreach (var msg in c.Messages) messages.Add($"{times[t]:yyyy-MM-ddTHH:mm}: {msg}");
                }
                else
                {
                    var r = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids, IncludeCaseGenerators = false, IncludeCaseLoad = false, Solver = SolverKind.Glop });
                    if (r.Status != ClearingStatus.Optimal) throw new InvalidOperationException($"interval {t} ({times[t]:yyyy-MM-ddTHH:mm}): the grid-connected market is {r.Status.Word()}: {string.Join("; ", r.Messages)}");
                    for (int b = 0; b < nb; b++) price[t][b] = r.Buses[b].Lmp;
                    accepted = [.. r.Bids.Select(c => c.AcceptedMw)];
                    if (accepted.Length != bids.Count) throw new InvalidOperationException("the clearing returned a different number of bids");
                    awards.AddRange(r.ToOutcome(intervalHours: s.StepHours).Awards.Select(a => a with { Interval = t }));
                }
                reserve[t] = 0;
            }
            else
            {
                var m = s.Microgrid!;
                var units = new List<IslandUnit>();
                var loads = new List<IslandLoad>();
                var unitOf = new List<int>();
                var loadOf = new List<int>();
                foreach (var b in former!.Bids(view)) { bids.Add(b); owner.Add(-2); }
                for (int k = 0; k < bids.Count; k++)
                {
                    var b = bids[k];
                    string id = $"{k}";
                    if (b.Side == Side.Sell) { units.Add(new IslandUnit(id, b.Bus, b.Quantity, b.Price, GridForming: owner[k] == -2)); unitOf.Add(k); }
                    else { loads.Add(new IslandLoad(id, b.Bus, b.Quantity, b.Price, Critical: owner[k] >= 0 && s.Prosumers[owner[k]].Critical)); loadOf.Add(k); }
                }
                accepted = new double[bids.Count];
                var r = IslandMarket.Clear(net, [m.PccBranch - 1], units, loads, new IslandOptions { ReserveMw = m.ReserveMw, ValueOfLostLoad = s.ValueOfLostLoad });
                for (int u = 0; u < units.Count; u++) accepted[unitOf[u]] = r.Units[u].Mw;
                for (int l = 0; l < loads.Count; l++) accepted[loadOf[l]] = r.Loads[l].ServedMw;
                var inside = new HashSet<int>(r.IslandBuses);
                for (int b = 0; b < nb; b++) price[t][b] = inside.Contains(net.Buses[b].Id) ? r.Price : forecast[t];
                reserve[t] = r.ReserveMw;
                // the island's one price for everyone in it
                for (int k = 0; k < bids.Count; k++)
                    if (accepted[k] > Outcomes.MinQuantity)
                        awards.Add(new Award(bids[k].Participant, bids[k].Bus, t, bids[k].Side, accepted[k], r.Price, null, bids[k].Block, BidPrice: bids[k].Price));
                foreach (var msg in r.Messages) messages.Add($"{times[t]:yyyy-MM-ddTHH:mm}: {msg}");
            }
            net_[t] = new double[n];
            for (int k = 0; k < bids.Count; k++)
            {
                var b = bids[k];
                double signed = b.Side == Side.Sell ? accepted[k] : -accepted[k];
                if (owner[k] >= 0) net_[t][owner[k]] += signed;
                if (owner[k] == -2) gfMw[t] += accepted[k];
                // demand that must be served (base and critical load): flexible loads, EVs and batteries that wait for a
                // better price are not curtailed, they shift
                if (b.Side == Side.Buy && owner[k] >= 0 && s.Prosumers[owner[k]] is BaseLoadAgent or CriticalLoadAgent)
                {
                    demand[t] += b.Quantity;
                    served[t] += accepted[k];
                    if (owner[k] >= 0 && s.Prosumers[owner[k]].Critical) { critD[t] += b.Quantity; critS[t] += accepted[k]; }
                }
            }
            // each agent learns the price it was paid or charged (its awards' average; its bus's price when it has none)
            var got = new Dictionary<string, (double Money, double Mw)>(StringComparer.Ordinal);
            for (int i = awardsBefore; i < awards.Count; i++)
            {
                var a = awards[i];
                var (money, mw) = got.GetValueOrDefault(a.Participant);
                got[a.Participant] = (money + a.Price * a.Quantity, mw + a.Quantity);
            }
            for (int k = 0; k < n; k++)
            {
                double p = got.TryGetValue(s.Prosumers[k].Id, out var g) && g.Mw > 0 ? g.Money / g.Mw : price[t][net.BusIndex[s.Prosumers[k].Bus]];
                s.Prosumers[k].Apply(view, net_[t][k], p);
            }
            foreach (var b in batteries) soc[b.Id][t + 1] = b.SocMwh;
            progress?.Report(t + 1);
        }
        return new SimulationResult(s, times, mode, price, net_, demand, served, critD, critS, reserve, gfMw, soc, messages)
        {
            Outcome = new ClearingOutcome(mechanism == "" ? "dc-opf" : mechanism, ClearingStatus.Optimal, awards, s.StepHours, T > 0 ? times[0] : null, []),
        };
    }
}
