using OpenTE.Market.Outcome;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Bids;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.DcOpf;

/// <summary>Bus result: angle, LMP and its parts (energy + congestion + loss = LMP; loss = 0 in the lossless model).</summary>
public sealed record DcOpfBus(int Id, double VaDeg, double Lmp, double LmpEnergy, double LmpCongestion, double LmpLoss, double ShedMw);

public sealed record DcOpfGenerator(int Index, int Bus, double Pg, double CostPerHour);

/// <summary>Branch result; <c>MuSf</c>/<c>MuSt</c> are the shadow prices ($/MWh) of the from→to and to→from limits.</summary>
public sealed record DcOpfBranch(int Index, int From, int To, double Pf, double Pt, double RateA, double MuSf, double MuSt, double MuAngMin, double MuAngMax)
{
    public bool Binding => MuSf > 1e-6 || MuSt > 1e-6;
}

public sealed record ClearedBid(Bid Bid, double AcceptedMw, double Price, double Surplus);

public sealed record DcOpfResult(
    string Case,
    ClearingStatus Status,
    double Objective,
    double SolveSeconds,
    IReadOnlyList<DcOpfBus> Buses,
    IReadOnlyList<DcOpfGenerator> Generators,
    IReadOnlyList<DcOpfBranch> Branches,
    IReadOnlyList<ClearedBid> Bids,
    IReadOnlyList<string> Messages)
{
    /// <summary>Generator cost in $/h (MATPOWER's objective when there are no bids and no shedding).</summary>
    public double GenerationCost => Generators.Sum(g => g.CostPerHour);
    /// <summary>Social welfare in $/h: Σ buy price·q − Σ sell price·q − generator cost − VoLL·shed.</summary>
    public double Welfare { get; init; }
    /// <summary>Congestion rent Σ_l (LMP_to − LMP_from)·Pf_l in $/h.</summary>
    public double CongestionRent => Branches.Sum(b => (Lmp(b.To) - Lmp(b.From)) * b.Pf);
    /// <summary>Merchandising surplus: what loads pay minus what generators receive, at LMPs ($/h).</summary>
    public double MerchandisingSurplus { get; init; }
    public string Solver { get; init; } = "";
    public int Iterations { get; init; }
    /// <summary>Dual objective of the solved program (for the strong-duality check).</summary>
    public double DualObjective { get; init; }

    private Dictionary<int, double>? _lmp;
    public double Lmp(int busId) => (_lmp ??= Buses.ToDictionary(b => b.Id, b => b.Lmp))[busId];

    internal static DcOpfResult From(Network net, DcNetwork dc, DcOpfOptions o, OptimizationModel m, ModelSolution sol,
        Variable?[] theta, Variable?[] pg, Variable?[] bidVars, Variable?[] shed, Constraint?[] balance,
        Constraint?[] flowRow, Constraint?[] angleRow, List<string> messages, double seconds)
    {
        double baseMva = net.BaseMva;
        var status = ClearingStatuses.From(sol.Status);
        if (sol.Status != SolverStatus.Optimal)
        {
            messages.Add(sol.Message);
            if (sol.Status is SolverStatus.Infeasible or SolverStatus.NumericalError or SolverStatus.NotConverged) messages.AddRange(Diagnose(net, dc, o));
            return new DcOpfResult(net.Name, status, double.NaN, seconds, [], [], [], [], messages) { Solver = sol.Solver.ToString() };
        }
        if (sol.Message.Contains('→')) messages.Add("solver fallback: " + sol.Message); // which solver answered, after which failed
        int nb = net.BusCount, nl = net.Branches.Length;
        var lmp = new double[nb];
        for (int b = 0; b < nb; b++) lmp[b] = balance[b] is Constraint c ? sol.Dual(c) / baseMva : double.NaN;
        var va = new double[nb];
        for (int b = 0; b < nb; b++) va[b] = theta[b] is Variable t ? sol.Value(t) : 0;

        var branches = new List<DcOpfBranch>(nl);
        var muFlow = new double[nl];   // muSf − muSt in $/MWh (per p.u. flow / baseMVA)
        var muAngle = new double[nl];  // for θf − θt, $/h per rad
        for (int l = 0; l < nl; l++)
        {
            var br = net.Branches[l];
            double pf = dc.Flow(l, va) * baseMva;
            double dual = flowRow[l] is Constraint c ? sol.Dual(c) / baseMva : 0;
            double muSf = Math.Max(0, -dual), muSt = Math.Max(0, dual);
            double angDual = angleRow[l] is Constraint a ? sol.Dual(a) : 0;
            muFlow[l] = muSf - muSt;
            muAngle[l] = -angDual;
            branches.Add(new DcOpfBranch(l + 1, br.From, br.To, pf, -pf, br.RateA, muSf, muSt,
                Math.Max(0, angDual) * Math.PI / 180, Math.Max(0, -angDual) * Math.PI / 180));
        }

        // LMP decomposition: energy = LMP of the island's reference bus; congestion = −Σ_l PTDF[l,b]·μ_l
        // interior-point multipliers of slack limits are tiny but not zero: only priced limits enter (|μ| > 1e-9 $/MWh).
        // Σ_l PTDF[l,·]·w_l is one transposed solve on the DC network's factors (PtdfWeightedSum), not one per priced branch;
        // an angle-difference limit prices θf − θt, which is the flow over b_l: its weight is μ_angle/(b_l·baseMVA)
        var weight = new double[nl];
        for (int l = 0; l < nl; l++)
        {
            if (!(Math.Abs(muFlow[l]) > 1e-9 || Math.Abs(muAngle[l]) / baseMva > 1e-9) || dc.B[l] == 0) continue;
            weight[l] = muFlow[l];
            if (muAngle[l] != 0) weight[l] += muAngle[l] / (dc.B[l] * baseMva);
        }
        var congestionOf = dc.PtdfWeightedSum(weight);
        var refOf = ReferenceOfBus(net, dc);
        var buses = new List<DcOpfBus>(nb);
        for (int b = 0; b < nb; b++)
        {
            double congestion = 0 - congestionOf[b]; // +0 where no priced limit reaches the bus, as before
            double energy = refOf[b] >= 0 ? lmp[refOf[b]] : double.NaN;
            double shedMw = shed[b] is Variable s ? sol.Value(s) * baseMva : 0;
            buses.Add(new DcOpfBus(net.Buses[b].Id, va[b] * 180 / Math.PI, lmp[b], energy, congestion, 0, shedMw));
            if (shedMw > 1e-6) messages.Add($"bus {net.Buses[b].Id}: {shedMw:0.###} MW of load shed at VoLL");
        }

        var gens = new List<DcOpfGenerator>(net.Generators.Length);
        double genCost = 0;
        for (int g = 0; g < net.Generators.Length; g++)
        {
            double p = pg[g] is Variable v ? sol.Value(v) * baseMva : 0;
            double c = pg[g] is not null && net.ActiveCost(g) is GenCost gc ? gc.Evaluate(p) : 0;
            genCost += c;
            gens.Add(new DcOpfGenerator(g + 1, net.Generators[g].Bus, p, c));
        }

        var bids = new List<ClearedBid>(o.Bids.Count);
        double bidWelfare = 0, loadPayments = 0, supplyRevenue = 0;
        for (int k = 0; k < o.Bids.Count; k++)
        {
            var bid = o.Bids[k];
            double q = bidVars[k] is Variable v ? sol.Value(v) * baseMva : 0;
            double price = lmp[net.BusIndex[bid.Bus]];
            double surplus = bid.Side == Side.Buy ? (bid.Price - price) * q : (price - bid.Price) * q;
            bidWelfare += (bid.Side == Side.Buy ? 1 : -1) * bid.Price * q;
            if (bid.Side == Side.Buy) loadPayments += price * q; else supplyRevenue += price * q;
            bids.Add(new ClearedBid(bid, q, price, surplus));
        }
        for (int b = 0; b < nb; b++)
        {
            if (double.IsNaN(lmp[b])) continue;
            double served = (o.IncludeCaseLoad ? net.Buses[b].Pd : 0) - buses[b].ShedMw;
            loadPayments += lmp[b] * served;
        }
        foreach (var g in gens) if (g.Pg != 0) supplyRevenue += lmp[net.BusIndex[g.Bus]] * g.Pg;
        double shedMwTotal = 0;
        foreach (var bus in buses) shedMwTotal += bus.ShedMw;
        double shedCost = (o.ValueOfLostLoad ?? 0) * shedMwTotal;

        return new DcOpfResult(net.Name, status, sol.Objective, seconds, buses, gens, branches, bids, messages)
        {
            Welfare = bidWelfare - genCost - shedCost,
            MerchandisingSurplus = loadPayments - supplyRevenue,
            Solver = sol.Solver.ToString(),
            Iterations = sol.Iterations,
            DualObjective = sol.DualObjective(),
        };
    }

    private static int[] ReferenceOfBus(Network net, DcNetwork dc)
    {
        var refOf = new int[net.BusCount];
        for (int b = 0; b < refOf.Length; b++) refOf[b] = -1;
        var isRef = new bool[net.BusCount];
        foreach (int r in dc.ReferenceBuses) isRef[r] = true;
        foreach (var island in net.Islands)
        {
            var members = island.Buses;
            int r = -1;
            for (int k = 0; k < members.Count && r < 0; k++)
                if (isRef[members[k]]) r = members[k];
            for (int k = 0; k < members.Count; k++) refOf[members[k]] = r;
        }
        return refOf;
    }

    /// <summary>Why the clearing is infeasible: per island, demand against capacity; branches whose limits cut off load pockets.</summary>
    internal static IEnumerable<string> Diagnose(Network net, DcNetwork dc, DcOpfOptions o)
    {
        foreach (var island in net.Islands)
        {
            double demand = island.Buses.Sum(b => o.IncludeCaseLoad ? net.Buses[b].Pd : 0);
            double cap = 0, minGen = 0;
            var inIsland = new HashSet<int>(island.Buses);
            for (int g = 0; g < net.Generators.Length; g++)
            {
                var gen = net.Generators[g];
                if (!gen.InService || !inIsland.Contains(net.BusIndex[gen.Bus]) || !o.IncludeCaseGenerators) continue;
                cap += gen.Pmax;
                minGen += gen.Pmin;
            }
            cap += o.Bids.Where(b => b.Side == Side.Sell && inIsland.Contains(net.BusIndex[b.Bus])).Sum(b => b.Quantity);
            if (demand > cap + 1e-9)
                yield return $"island with bus {net.Buses[island.Buses[0]].Id}: fixed demand {demand:0.###} MW exceeds generation capacity {cap:0.###} MW";
            double flexibleDemand = o.Bids.Where(b => b.Side == Side.Buy && inIsland.Contains(net.BusIndex[b.Bus])).Sum(b => b.Quantity);
            if (minGen > demand + flexibleDemand + 1e-9)
                yield return $"island with bus {net.Buses[island.Buses[0]].Id}: minimum generation {minGen:0.###} MW exceeds demand {demand + flexibleDemand:0.###} MW";
        }
        // load pockets: a bus whose load exceeds its local supply plus the ratings of its branches
        var local = new double[net.BusCount];
        for (int g = 0; g < net.Generators.Length; g++)
            if (net.Generators[g].InService) local[net.BusIndex[net.Generators[g].Bus]] += net.Generators[g].Pmax;
        var import = new double[net.BusCount];
        for (int l = 0; l < net.Branches.Length; l++)
        {
            if (dc.B[l] == 0) continue;
            double rate = net.Branches[l].RateA > 0 ? net.Branches[l].RateA : double.PositiveInfinity;
            import[dc.From[l]] += rate;
            import[dc.To[l]] += rate;
        }
        for (int b = 0; b < net.BusCount; b++)
        {
            double demand = o.IncludeCaseLoad ? net.Buses[b].Pd : 0;
            if (!dc.Dead[b] && demand > local[b] + import[b] + 1e-9)
                yield return $"bus {net.Buses[b].Id}: load {demand:0.###} MW exceeds local supply {local[b]:0.###} MW plus branch ratings {import[b]:0.###} MW";
        }
    }
}
