using OpenTE.Numerics;
using System.Diagnostics;
using System.Globalization;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.Strategic;

/// <summary>
/// Strategic bidding on OpenTE's DC clearing (docs/strategic.md). A leader — a participant of the bids whose sell rows are
/// its blocks with their true marginal cost as price and capacity as quantity — chooses its offers to maximise
/// Σ_k (LMP_bus(k) − cost_k)·q_k, anticipating the clearing; the bilevel problem is solved exactly as a MILP
/// (<see cref="Mpec"/>), then checked by re-clearing the market with the chosen offers (<see cref="DcOpfSolver"/>) and set
/// beside the competitive case (every leader at cost). Several leaders: an equilibrium search by diagonalisation.
/// </summary>
public static class StrategicBidding
{
    /// <summary>Relative tolerance of the re-clearing check (profit and LMPs).</summary>
    public const double CheckTolerance = 1e-6;

    public static StrategicResult Solve(Network net, IReadOnlyList<Bid> bids, IReadOnlyList<string> leaders, StrategicOptions? options = null)
    {
        var o = options ?? new StrategicOptions();
        var sw = Stopwatch.StartNew();
        Validate(bids, leaders);
        double cap = o.PriceCap ?? DefaultPriceCap(net, bids, o);
        var dc = new DcNetwork(net);
        // quadratic costs are cleared by the interior-point method: tightened so that its prices can be compared at 1e-6
        var dcOptions = new DcOpfOptions
        {
            ValueOfLostLoad = o.ValueOfLostLoad, IncludeCaseGenerators = o.IncludeCaseGenerators, IncludeCaseLoad = o.IncludeCaseLoad,
            InteriorPoint = new InteriorPointOptions { FeasibilityTolerance = 1e-11, GradientTolerance = 1e-11, ComplementarityTolerance = 1e-11 },
        };
        var leaderSet = leaders.ToHashSet(StringComparer.Ordinal);
        var nonLeader = bids.Where(b => !leaderSet.Contains(b.Participant)).ToList();
        var blocks = leaders.Select(l => (IReadOnlyList<Bid>)bids.Where(b => b.Participant == l).ToList()).ToList();
        var messages = new List<string>();

        var competitive = DcOpfSolver.Solve(net, dcOptions with { Bids = [.. nonLeader, .. blocks.SelectMany(x => x)] });
        if (competitive.Status != ClearingStatus.Optimal)
            messages.Add($"the competitive clearing is {competitive.Status.Word()}: {string.Join("; ", competitive.Messages)}");

        // the offer profile: per leader, per block, price and quantity (start: at cost, full capacity)
        var price = blocks.Select(bs => bs.Select(b => b.Price).ToArray()).ToArray();
        var qty = blocks.Select(bs => bs.Select(b => b.Quantity).ToArray()).ToArray();
        var last = new MpecSolution?[leaders.Count];
        EquilibriumReport? equilibrium = null;
        ClearingStatus status = ClearingStatus.Optimal;
        var stats = new List<MpecSolution>();

        IReadOnlyList<double>? dispatch = competitive.Status == ClearingStatus.Optimal ? [.. competitive.Generators.Select(g => g.Pg)] : null;
        MpecSolution BestResponse(int i)
        {
            var others = new List<Bid>(nonLeader);
            for (int j = 0; j < leaders.Count; j++)
                if (j != i) others.AddRange(Offers(blocks[j], price[j], qty[j]));
            var program = ClearingProgram.Build(net, dc, others, blocks[i], dcOptions);
            foreach (var m in program.Messages) if (!messages.Contains(m)) messages.Add(m);
            var s = new Mpec(program, new LeaderSpec(leaders[i], blocks[i], o.Mode, cap), o, dispatch).Solve();
            stats.Add(s);
            return s;
        }

        if (leaders.Count == 1)
        {
            var s = last[0] = BestResponse(0);
            if (s.Solved) { price[0] = s.OfferPrice; qty[0] = s.OfferQuantity; }
        }
        else
        {
            // ---- diagonalisation: each leader in turn best-responds to the others' current offers
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            var history = new List<IReadOnlyList<double>>();
            bool converged = false;
            IReadOnlyList<int>? cycle = null;
            int it = 0;
            seen[Signature(price, qty)] = 0;
            while (it < o.MaxIterations)
            {
                it++;
                bool improved = false;
                for (int i = 0; i < leaders.Count; i++)
                {
                    var now = Reclear(net, dcOptions, nonLeader, blocks, price, qty);
                    double current = now.Profits[i];
                    if (now.Market.Status == ClearingStatus.Optimal) dispatch = [.. now.Market.Generators.Select(g => g.Pg)];
                    var s = last[i] = BestResponse(i);
                    if (!s.Solved) break;
                    bool better = s.Profit > current + o.Tolerance * Math.Max(1, Math.Abs(current));
                    bool differs = Differs(s.OfferPrice, price[i]) || Differs(s.OfferQuantity, qty[i]);
                    if (better && differs) { price[i] = s.OfferPrice; qty[i] = s.OfferQuantity; improved = true; }
                }
                if (last.Any(s => s is null || !s.Solved)) break;
                history.Add(Reclear(net, dcOptions, nonLeader, blocks, price, qty).Profits);
                if (!improved) { converged = true; break; }
                string sig = Signature(price, qty);
                if (seen.TryGetValue(sig, out int first)) { cycle = [.. Enumerable.Range(first, it - first + 1)]; break; }
                seen[sig] = it;
            }
            equilibrium = new EquilibriumReport(converged, it, cycle, history);
            if (!converged)
            {
                status = ClearingStatus.NotConverged;
                messages.Add(cycle is not null
                    ? $"the best responses cycle: the offers after round {cycle[^1]} repeat those after round {cycle[0]}"
                    : $"no equilibrium within {o.MaxIterations} rounds: a leader still improves by more than {o.Tolerance:g} (relative)");
            }
        }

        // ---- status of the MPEC solves
        var failed = last.FirstOrDefault(s => s is null || !s.Solved);
        if (failed is not null || last.Any(s => s is null))
        {
            string why = failed?.Message ?? "not solved";
            messages.Add(why);
            var empty = competitive with { Status = ClearingStatus.Infeasible };
            return new StrategicResult(net.Name, failed?.Status ?? ClearingStatus.Error,
                o.Mode, cap, [], [], double.NaN, competitive.Welfare, new ReclearingCheck(double.NaN, double.NaN, double.NaN, false, 0),
                equilibrium, Statistics(stats), sw.Elapsed.TotalSeconds, messages)
            { ReclearedMarket = empty, CompetitiveMarket = competitive };
        }
        if (last.Any(s => !s!.Optimal))
        {
            if (status == ClearingStatus.Optimal) status = ClearingStatus.NotConverged;
            messages.AddRange(last.Where(s => !s!.Optimal).Select(s => s!.Message).Distinct());
        }

        // ---- the re-clearing check: the chosen offers cleared again; ties broken in the leaders' favour when needed
        var mpecLmp = last[^1]!.Lmp;
        double mpecProfit = last.Sum(s => s!.Profit);
        Recleared? rc = null;
        double shading = 0, withheld = 0, profitDiff = double.NaN, lmpDiff = double.NaN;
        bool agrees = false;
        double[][] offeredPrice = price, offeredQty = qty;
        // the last rung withholds 1e-4 more of a withheld quantity: the LP solvers' feasibility tolerance is 1e-7 p.u., so a 1e-7
        // relative cut of a few MW is invisible to them (a random market, seed 275161 in both mode, tied a branch exactly at its limit)
        foreach (var (markupShade, lmpShade, qtyShade) in new[] { (0.0, 0.0, 0.0), (1e-7, 0, 1e-7), (0, 1e-6, 1e-7), (0, 1e-5, 5e-7), (0, 1e-5, 1e-4) })
        {
            // first the offers as chosen; then ties broken in the leader's favour (see Implement)
            var (ip, iq) = lmpShade == 0 && markupShade == 0 ? (price, qty) : Implement(net, blocks, price, qty, last!, markupShade, lmpShade, qtyShade);
            double shade = MaxShift(ip, price);
            var r = Reclear(net, dcOptions, nonLeader, blocks, ip, iq);
            if (r.Market.Status != ClearingStatus.Optimal) { rc ??= r; continue; }
            double pd = 0;
            for (int i = 0; i < leaders.Count; i++) pd += Math.Abs(r.Profits[i] - last[i]!.Profit);
            double ld = 0, scale = 1;
            foreach (var bus in r.Market.Buses)
            {
                double m = mpecLmp[net.BusIndex[bus.Id]];
                if (double.IsNaN(m) || double.IsNaN(bus.Lmp)) continue;
                ld = Math.Max(ld, Math.Abs(m - bus.Lmp));
                scale = Math.Max(scale, Math.Abs(m));
            }
            // a tie broken by moving offers by δ realises the MPEC's optimum (a supremum at the tie) up to δ·q: allowed on top
            double allowProfit = 0;
            for (int i = 0; i < leaders.Count; i++)
                for (int k = 0; k < blocks[i].Count; k++)
                {
                    double lmpK = last[i]!.Lmp[net.BusIndex[blocks[i][k].Bus]];
                    allowProfit += Math.Abs(ip[i][k] - price[i][k]) * last[i]!.Cleared[k] + Math.Abs(iq[i][k] - qty[i][k]) * (double.IsNaN(lmpK) ? 0 : Math.Abs(lmpK));
                }
            bool ok = pd <= CheckTolerance * Math.Max(1, Math.Abs(mpecProfit)) + allowProfit && ld <= CheckTolerance * scale + shade;
            if (rc is null || ok || shade == 0) { rc = r; shading = shade; withheld = MaxShift(iq, qty); profitDiff = pd; lmpDiff = ld; agrees = ok; offeredPrice = ip; offeredQty = iq; }
            if (ok) break;
        }
        // the offers reported are the ones the re-clearing checked (prices or withheld quantities moved to break a tie)
        if (shading > 0 || withheld > 0) { price = offeredPrice; qty = offeredQty; }
        if (rc!.Market.Status != ClearingStatus.Optimal) messages.Add($"the re-clearing is {rc.Market.Status.Word()}");
        else if (!agrees) messages.Add($"the re-clearing does not agree: profit differs by {profitDiff:g4} $/h, LMPs by up to {lmpDiff:g4} $/MWh");
        else if (shading > 0 || withheld > 0) messages.Add($"the chosen offers tie with others at the LMP; the offers reported break the tie in the leader's favour ({string.Join(", ", new[] { shading > 0 ? $"offer prices moved by at most {shading:g} $/MWh" : null, withheld > 0 ? $"offered quantities by at most {withheld:g} MW" : null }.OfType<string>())}; the profit is the limit as that tends to 0, see docs/strategic.md)");

        // ---- results
        var leaderResults = new List<LeaderResult>();
        var compAccepted = AcceptedOf(competitive, blocks);
        for (int i = 0; i < leaders.Count; i++)
        {
            var s = last[i]!;
            var offers = new List<LeaderOffer>();
            for (int k = 0; k < blocks[i].Count; k++)
            {
                var b = blocks[i][k];
                int bi = net.BusIndex[b.Bus];
                double lmpC = competitive.Status == ClearingStatus.Optimal ? competitive.Lmp(b.Bus) : double.NaN;
                offers.Add(new LeaderOffer(b.Bus, b.Block, b.Price, b.Quantity, price[i][k], qty[i][k], s.Cleared[k], s.Lmp[bi],
                    compAccepted[i][k], lmpC));
            }
            double compProfit = competitive.Status == ClearingStatus.Optimal
                ? offers.Sum(x => (x.LmpCompetitive - x.Cost) * x.ClearedCompetitive) : double.NaN;
            leaderResults.Add(new LeaderResult(leaders[i], s.Profit, compProfit, rc.Profits[i], offers));
        }
        var buses = new List<StrategicBus>();
        for (int b = 0; b < net.BusCount; b++)
        {
            int id = net.Buses[b].Id;
            double lc = competitive.Status == ClearingStatus.Optimal ? competitive.Buses[b].Lmp : double.NaN;
            double lr = rc.Market.Status == ClearingStatus.Optimal ? rc.Market.Buses[b].Lmp : double.NaN;
            buses.Add(new StrategicBus(id, mpecLmp[b], lc, lr));
        }
        return new StrategicResult(net.Name, status, o.Mode, cap, leaderResults, buses, rc.TrueWelfare, competitive.Welfare,
            new ReclearingCheck(rc.Profits.Sum(), profitDiff, lmpDiff, agrees, shading), equilibrium, Statistics(stats),
            sw.Elapsed.TotalSeconds, messages)
        { ReclearedMarket = rc.Market, CompetitiveMarket = competitive };
    }

    /// <summary>Default price cap: the highest price in the market — bids and offers, generator marginal costs at Pmax, VoLL.</summary>
    public static double DefaultPriceCap(Network net, IReadOnlyList<Bid> bids, StrategicOptions o)
    {
        double cap = bids.Count > 0 ? bids.Max(b => b.Price) : 0;
        if (o.IncludeCaseGenerators)
            for (int g = 0; g < net.Generators.Length; g++)
            {
                var gen = net.Generators[g];
                if (!gen.InService || net.ActiveCost(g) is not GenCost c) continue;
                cap = Math.Max(cap, MarginalCostAt(c, gen.Pmax));
            }
        if (o.ValueOfLostLoad is double voll) cap = Math.Max(cap, voll);
        return cap;
    }

    private static double MarginalCostAt(GenCost c, double p)
    {
        if (c.Model == CostModel.Polynomial)
        {
            double d = 0;
            int n = c.Coefficients.Length;
            for (int i = 0; i < n - 1; i++) d += c.Coefficients[i] * (n - 1 - i) * Math.Pow(p, n - 2 - i);
            return d;
        }
        double best = 0;
        for (int s = 0; s + 1 < c.Points; s++)
            best = Math.Max(best, (c.Coefficients[2 * s + 3] - c.Coefficients[2 * s + 1]) / (c.Coefficients[2 * s + 2] - c.Coefficients[2 * s]));
        return best;
    }

    private static void Validate(IReadOnlyList<Bid> bids, IReadOnlyList<string> leaders)
    {
        if (leaders.Count == 0) throw new ArgumentException("name at least one leader");
        var dup = leaders.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"leader '{dup.Key}' is named twice");
        foreach (var l in leaders)
        {
            var own = bids.Where(b => b.Participant == l).ToList();
            if (own.Count == 0) throw new ArgumentException($"leader '{l}' has no rows in the bids");
            if (own.FirstOrDefault(b => b.Side == Side.Buy) is { } buy)
                throw new ArgumentException($"leader '{l}' has a buy row (bus {buy.Bus}, block {buy.Block}); a leader's rows are its sell blocks (true cost as price, capacity as quantity)");
        }
    }

    /// <summary>A leader's blocks as ordinary offers at the given prices and quantities.</summary>
    private static IEnumerable<Bid> Offers(IReadOnlyList<Bid> blocks, double[] price, double[] qty)
    {
        for (int k = 0; k < blocks.Count; k++) yield return blocks[k] with { Price = price[k], Quantity = Math.Max(0, qty[k]) };
    }

    /// <summary>
    /// Offers that implement the MPEC's outcome when its offers tie with others at the LMP (the MPEC takes the tie in the leader's
    /// favour; an LP clearing may not): a block cleared in full is offered a little below its LMP (1e-4 relative; it stays
    /// inframarginal, nothing changes), a block not cleared a little above it, a marginal block's mark-up is shaded by the
    /// factor <paramref name="markupShade"/> or lowered by <paramref name="lmpShade"/>·|LMP|, and a withheld quantity is reduced by the
    /// factor <paramref name="qtyShade"/>. The re-clearing then shows whether the outcome (and the profit, to 1e-6) is kept.
    /// </summary>
    private static (double[][] Price, double[][] Qty) Implement(Network net, List<IReadOnlyList<Bid>> blocks, double[][] price, double[][] qty,
        MpecSolution?[] sol, double markupShade, double lmpShade, double qtyShade)
    {
        var ip = new double[blocks.Count][];
        var iq = new double[blocks.Count][];
        for (int i = 0; i < blocks.Count; i++)
        {
            ip[i] = (double[])price[i].Clone();
            iq[i] = (double[])qty[i].Clone();
            for (int k = 0; k < blocks[i].Count; k++)
            {
                var b = blocks[i][k];
                double lmp = sol[i]!.Lmp[net.BusIndex[b.Bus]], x = sol[i]!.Cleared[k], q = qty[i][k];
                if (double.IsNaN(lmp)) continue;
                double tol = 1e-7 * Math.Max(1, q), delta = 1e-4 * Math.Max(1, Math.Abs(lmp));
                if (q > tol && x >= q - tol) ip[i][k] = Math.Max(b.Price, Math.Min(price[i][k], lmp - delta));
                else if (x <= tol) ip[i][k] = Math.Max(price[i][k], lmp + delta);
                else ip[i][k] = Math.Max(b.Price, price[i][k] - markupShade * Math.Max(0, price[i][k] - b.Price) - lmpShade * Math.Max(1, Math.Abs(lmp)));
                if (q < b.Quantity) iq[i][k] = q * (1 - qtyShade);
            }
        }
        return (ip, iq);
    }

    private sealed record Recleared(DcOpfResult Market, double[] Profits, double TrueWelfare);

    /// <summary>Clears the market with the leaders' offers by <see cref="DcOpfSolver"/>; profits at true cost, welfare at true cost.</summary>
    private static Recleared Reclear(Network net, DcOpfOptions dcOptions, List<Bid> nonLeader, List<IReadOnlyList<Bid>> blocks,
        double[][] price, double[][] qty)
    {
        var all = new List<Bid>(nonLeader);
        for (int i = 0; i < blocks.Count; i++) all.AddRange(Offers(blocks[i], price[i], qty[i]));
        // LMPs of a tied (degenerate) clearing depend on the simplex vertex: the check was built and validated on GLOP's
        // vertex, which agrees with the MPEC's tie-breaking where CLP's (the Auto default since issue #16) may not; GLOP
        // first, and the no-dead-end chain when GLOP fails (large cases).
        DcOpfResult? r = null;
        if (dcOptions.Solver == SolverKind.Auto)
            try
            {
                r = DcOpfSolver.Solve(net, dcOptions with { Bids = all, Solver = SolverKind.Glop });
            }
            catch (NotSupportedException) { } // quadratic generator costs: the interior point (Auto) clears them
        if (r is not { Status: ClearingStatus.Optimal }) r = DcOpfSolver.Solve(net, dcOptions with { Bids = all });
        var profits = new double[blocks.Count];
        double welfare = r.Welfare;
        if (r.Status == ClearingStatus.Optimal)
        {
            int at = nonLeader.Count;
            for (int i = 0; i < blocks.Count; i++)
                for (int k = 0; k < blocks[i].Count; k++, at++)
                {
                    var cb = r.Bids[at];
                    profits[i] += (cb.Price - blocks[i][k].Price) * cb.AcceptedMw;
                    welfare += (cb.Bid.Price - blocks[i][k].Price) * cb.AcceptedMw; // the clearing counted the offer price as cost
                }
        }
        else Arrays.Fill(profits, double.NaN);
        return new Recleared(r, profits, welfare);
    }

    private static double[][] AcceptedOf(DcOpfResult competitive, List<IReadOnlyList<Bid>> blocks)
    {
        var acc = new Dictionary<Bid, double>(ReferenceEqualityComparer.Instance);
        if (competitive.Status == ClearingStatus.Optimal)
            foreach (var cb in competitive.Bids) acc[cb.Bid] = cb.AcceptedMw;
        return [.. blocks.Select(bs => bs.Select(b => acc.TryGetValue(b, out double q) ? q : double.NaN).ToArray())];
    }

    private static double MaxShift(double[][] a, double[][] b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++)
            for (int k = 0; k < a[i].Length; k++) m = Math.Max(m, Math.Abs(a[i][k] - b[i][k]));
        return m;
    }

    // Offers closer than the largest tie-breaking shift the re-clearing check allows (1e-5 of the LMP, see the shading ladder in
    // Solve) are the same offer: a best response that prices a block at a tied LMP reads that LMP from the market's dispatch,
    // and two clearings of the same offers agree on it only to the solver's accuracy (3.7057271 vs 3.7057222 $/MWh on
    // case30), which at 1e-6 made the diagonalisation see a change of offer, or a cycle, where there was none.
    private static bool Differs(double[] a, double[] b)
    {
        for (int i = 0; i < a.Length; i++)
            if (Math.Abs(a[i] - b[i]) > 1e-5 * Math.Max(1, Math.Abs(b[i]))) return true;
        return false;
    }

    private static string Signature(double[][] price, double[][] qty) =>
        string.Join(";", price.Zip(qty, (p, q) => string.Join(",", p.Concat(q).Select(v => Math.Round(v, 5).ToString("R", CultureInfo.InvariantCulture)))));

    private static MpecStatistics Statistics(List<MpecSolution> s) => s.Count == 0 ? new MpecStatistics(0, 0, 0, double.NaN, 0, 0, 0, 0) :
        new(s.Max(x => x.Binaries), s.Max(x => x.FixedByData), s.Sum(x => x.Nodes),
            s.Where(x => x.Solved).Select(x => Math.Max(0, x.BestBound - x.Objective) / Math.Max(1, Math.Abs(x.Profit))).DefaultIfEmpty(double.NaN).Max(),
            s.Max(x => x.BigMRounds), s.Sum(x => x.BigMEnlarged), s.Sum(x => x.CutRounds), s.Sum(x => x.MilpSolves));
}
