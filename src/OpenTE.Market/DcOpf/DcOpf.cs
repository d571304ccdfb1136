using OpenTE.Market.Outcome;
using System.Diagnostics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Bids;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.DcOpf;

/// <summary>The built clearing problem: the model and the handles other formulations extend it through.</summary>
internal sealed record DcOpfModel(OptimizationModel Model, DcNetwork Dc, Variable?[] Theta, Variable?[] Pg, Constraint?[] Balance, Constraint?[] FlowRow);

/// <summary>Options of the DC optimal power flow / network-constrained clearing.</summary>
public sealed record DcOpfOptions
{
    /// <summary>Price-quantity bids and offers cleared together with the case's generators and fixed load.</summary>
    public IReadOnlyList<Bid> Bids { get; init; } = [];
    /// <summary>Value of lost load in $/MWh: when set, each bus may shed its fixed load at this price.</summary>
    public double? ValueOfLostLoad { get; init; }
    /// <summary>The branches' DC susceptance: MATPOWER's 1/x (default) or PowerModels' x/(r² + x²).</summary>
    public DcSusceptance Susceptance { get; init; } = DcSusceptance.Reactance;
    /// <summary>Solver: Auto = GLOP for linear costs, interior point for quadratic costs.</summary>
    public SolverKind Solver { get; init; } = SolverKind.Auto;
    /// <summary>Interior-point settings when that solver runs (null: its defaults).</summary>
    public InteriorPointOptions? InteriorPoint { get; init; }
    /// <summary>Include the generators of the case (their gencost) as offers. Default true.</summary>
    public bool IncludeCaseGenerators { get; init; } = true;
    /// <summary>Include the case's fixed demand Pd. Default true.</summary>
    public bool IncludeCaseLoad { get; init; } = true;
}

/// <summary>
/// Welfare-maximising clearing on the DC network (MATPOWER's DC OPF extended with bids):
/// <code>
/// min  Σ_g C_g(Pg) + Σ_sell price·q − Σ_buy price·q + Σ_b VoLL·shed_b
/// s.t. balance[b]:  Σ Pg + Σ q_sell − Σ q_buy + shed_b − Σ_k B_bk·θ_k = Pd_b + Gs_b + Pbusinj_b   (dual/baseMVA = LMP_b)
///      flow[l]:     −rateA ≤ b_l·(θ_f − θ_t) + Pfinj_l ≤ rateA                                   (rateA = 0: no limit)
///      angle[l]:    angmin ≤ θ_f − θ_t ≤ angmax                                                   (when set)
///      pwl[g,k]:    y_g ≥ m_k·(Pg − x_k) + c_k                                                    (piecewise-linear costs)
///      Pmin ≤ Pg ≤ Pmax,  0 ≤ q ≤ Q,  0 ≤ shed_b ≤ Pd_b,  θ_ref fixed
/// </code>
/// All quantities inside are p.u. on baseMVA; results are MW, $/MWh, degrees.
/// </summary>
public static class DcOpfSolver
{
    public static DcOpfResult Solve(Network net, DcOpfOptions? options = null)
    {
        var o = options ?? new DcOpfOptions();
        var dc = new DcNetwork(net, o.Susceptance);
        var result = Solve(net, o, dc, null, out _, out _);
        if (result.Status != ClearingStatus.Infeasible || o.ValueOfLostLoad is not null) return result;
        var sw = Stopwatch.StartNew();
        var why = ExplainInfeasible(net, o, dc);
        return result with { Messages = [.. result.Messages, .. why], SolveSeconds = result.SolveSeconds + sw.Elapsed.TotalSeconds };
    }

    /// <summary>Value of lost load of the elastic re-solve that explains an infeasible clearing, $/MWh.</summary>
    internal const double DiagnosticVoll = 1e5;

    /// <summary>
    /// Where an infeasible clearing fails: the same clearing with every bus allowed to shed its load at a value of lost load
    /// far above any cost (<see cref="DiagnosticVoll"/>) sheds only what the network cannot serve — those buses, and the
    /// branch limits and angle limits whose prices (at that VoLL) keep it from being served — and, for the DC model, whether
    /// the other branch-susceptance model would be feasible (PGLib case10192_epigrids: infeasible with b = 1/x, feasible with
    /// PowerModels' b = x/(r² + x²)).
    /// </summary>
    internal static IEnumerable<string> ExplainInfeasible(Network net, DcOpfOptions o, DcNetwork dc)
    {
        var elastic = Solve(net, o with { ValueOfLostLoad = DiagnosticVoll }, dc, null, out _, out _);
        if (elastic.Status != ClearingStatus.Optimal)
        {
            yield return $"diagnosis: the clearing with load shedding allowed is {elastic.Status.Word()} too — the generators' or bids' limits conflict, not the network";
            yield break;
        }
        var shed = elastic.Buses.Where(b => b.ShedMw > 1e-6).OrderByDescending(b => b.ShedMw).ToList();
        if (shed.Count == 0)
        {
            yield return "diagnosis: with load shedding allowed the clearing is feasible without shedding — the infeasibility verdict is numerical; try --solver ipm or clp";
            yield break;
        }
        string buses = string.Join(", ", shed.Take(10).Select(b => $"{b.Id} ({b.ShedMw:0.###} MW)")) + (shed.Count > 10 ? $" and {shed.Count - 10} more" : "");
        yield return $"diagnosis: {shed.Sum(b => b.ShedMw):0.###} MW of load at {shed.Count} bus(es) cannot be served within the limits: {buses}";
        // the limits that keep it from being served are priced near the VoLL: list the most expensive
        var binding = elastic.Branches
            .Select(b => (b, Mu: Math.Max(b.MuSf + b.MuSt, 0), Angle: b.MuAngMin + b.MuAngMax))
            .Where(t => t.Mu > 1e-3 * DiagnosticVoll || t.Angle > 1e-3 * DiagnosticVoll)
            .OrderByDescending(t => Math.Max(t.Mu, t.Angle)).ToList();
        if (binding.Count > 0)
            yield return "diagnosis: limits that cut those buses off: " + string.Join(", ", binding.Take(10).Select(t =>
                $"branch {t.b.Index} ({t.b.From}–{t.b.To}, {(t.Mu >= t.Angle ? $"rating {t.b.RateA:0.###} MW" : "angle-difference limit")})")) + (binding.Count > 10 ? $" and {binding.Count - 10} more" : "");
        var other = o.Susceptance == DcSusceptance.Reactance ? DcSusceptance.Admittance : DcSusceptance.Reactance;
        var alt = Solve(net, o with { Susceptance = other }, new DcNetwork(net, other), null, out _, out _);
        if (alt.Status == ClearingStatus.Optimal)
            yield return $"diagnosis: with the other DC branch model ({(other == DcSusceptance.Admittance ? "b = x/(r² + x²), PowerModels'; --dc-susceptance admittance" : "b = 1/x, MATPOWER's; --dc-susceptance reactance")}) the clearing is feasible: optimal at {alt.Objective:0.##} $/h";
        else
            yield return "diagnosis: give a value of lost load (--voll PRICE) to clear with load shedding, or raise the limits named above";
    }

    /// <summary>
    /// Builds the clearing problem, lets <paramref name="extend"/> add variables and constraints (security
    /// constraints of the SCOPF), solves and reads the result. The model and solution are returned for duals.
    /// </summary>
    internal static DcOpfResult Solve(Network net, DcOpfOptions o, DcNetwork dc, Action<DcOpfModel>? extend,
        out DcOpfModel model, out ModelSolution solution)
    {
        if (o.ValueOfLostLoad is double vollIn && !(vollIn > 0 && double.IsFinite(vollIn)))
            throw new ArgumentOutOfRangeException(nameof(o), $"the value of lost load must be a positive finite price, not {vollIn} (a value ≤ 0 sheds all load)");
        var sw = Stopwatch.StartNew();
        var m = new OptimizationModel();
        // the network's size is known: θ and Pg per bus and generator (and a bid or shedding variable each), a balance row
        // per bus with B's entries and the injections, up to a flow and an angle row per branch with two terms each
        int nbus = net.BusCount, nbranch = net.Branches.Length, ngen = net.Generators.Length;
        m.EnsureCapacity(nbus + ngen + o.Bids.Count + (o.ValueOfLostLoad is null ? 0 : nbus),
            nbus + 2 * nbranch, dc.Bbus.Nnz + ngen + o.Bids.Count + nbus + 4 * nbranch);
        var messages = new List<string>(dc.Messages);
        var load = DcBlock.CaseLoad(net, o.IncludeCaseLoad);
        var block = new DcBlock(m, net, dc).AddAngles();
        if (o.IncludeCaseGenerators) block.AddGenerators();
        if (o.Bids.Count > 0) block.AddBids(o.Bids.Select((b, k) => (b, k)), messages);
        block.AddShedding(load, o.ValueOfLostLoad)
             .AddBalance(load)
             .AddBranchLimits();
        var bidVars = new Variable?[o.Bids.Count];
        if (o.Bids.Count > 0)
            foreach (var (k, v) in block.Bids) bidVars[k] = v;
        var (theta, pg, balance, flowRow) = (block.Theta, block.Pg, block.Balance, block.Flow);

        model = new DcOpfModel(m, dc, theta, pg, balance, flowRow);
        extend?.Invoke(model);
        var sol = m.Solve(o.Solver, o.InteriorPoint);
        solution = sol;

        // Load in an island without a generator in service (de-energised) cannot be served: without a value of lost
        // load the clearing is infeasible; with one, that load is shed at VoLL (issue #23: was "optimal", cost 0).
        int nb = net.BusCount;
        double baseMva = net.BaseMva;
        var unserved = new List<int>();
        double unservedLoad = 0;
        for (int b = 0; b < nb; b++)
            if (dc.Dead[b] && net.Buses[b].Type != BusType.Isolated && load[b] > 0)
            {
                unserved.Add(b);
                unservedLoad += load[b];
            }
        double unservedMw = unservedLoad * baseMva;
        string where = unserved.Count == 0 ? ""
            : string.Join(", ", unserved.Take(10).Select(b => net.Buses[b].Id)) + (unserved.Count > 10 ? $" and {unserved.Count - 10} more" : "");
        if (unserved.Count > 0 && o.ValueOfLostLoad is null)
        {
            messages.Add($"{unservedMw:0.###} MW of load at bus(es) {where} is in islands without a generator in service and cannot be served " +
                         "— put a generator in service there, or give a value of lost load to shed it");
            sw.Stop();
            return new DcOpfResult(net.Name, ClearingStatus.Infeasible, double.NaN, sw.Elapsed.TotalSeconds, [], [], [], [], messages)
            { Solver = sol.Solver.ToString() };
        }
        sw.Stop();
        var result = DcOpfResult.From(net, dc, o, m, sol, theta, pg, bidVars, block.Shed, balance, flowRow, block.Angle, messages, sw.Elapsed.TotalSeconds);
        if (unserved.Count > 0 && o.ValueOfLostLoad is double vollDead && result.Status == ClearingStatus.Optimal)
        {
            var dead = unserved.ToHashSet();
            var buses = result.Buses.Select((x, b) => dead.Contains(b) ? x with { ShedMw = load[b] * baseMva, Lmp = vollDead, LmpEnergy = vollDead, LmpCongestion = 0 } : x).ToList();
            var msgs = result.Messages.ToList();
            msgs.Add($"{unservedMw:0.###} MW of load at bus(es) {where} shed at VoLL: its island has no generator in service");
            result = result with { Buses = buses, Objective = result.Objective + vollDead * unservedMw, Messages = msgs, Welfare = result.Welfare - vollDead * unservedMw };
        }
        return result;
    }

    /// <summary>Adds generator g's cost: polynomial up to degree 2 as linear + quadratic terms, piecewise linear by its epigraph.</summary>
    internal static void AddCost(OptimizationModel m, Network net, int g, Variable pg, double baseMva, double weight = 1)
    {
        var cost = net.ActiveCost(g);
        if (cost is null) return;
        if (cost.Model == CostModel.Polynomial)
        {
            var c = cost.Coefficients;
            int degree = c.Length - 1;
            while (degree > 0 && c[c.Length - 1 - degree] == 0) degree--;
            if (degree > 2)
                throw new NotSupportedException($"generator {g + 1} has a polynomial cost of degree {degree}; the DC OPF handles degree ≤ 2 (use a piecewise-linear cost)");
            double c0 = c.Length >= 1 ? c[^1] : 0, c1 = c.Length >= 2 ? c[^2] : 0, c2 = c.Length >= 3 ? c[^3] : 0;
            m.ObjectiveConstant += c0 * weight;
            m.AddCost(pg, c1 * baseMva * weight);
            if (c2 != 0) m.AddQuadraticCost(pg, pg, 2 * c2 * baseMva * baseMva * weight);
            return;
        }
        int n = cost.Points;
        if (n < 2) { if (n == 1) m.ObjectiveConstant += cost.Coefficients[1] * weight; return; }
        var y = m.AddVariable($"cost[{pg.Name}]", double.NegativeInfinity, double.PositiveInfinity, weight);
        for (int k = 0; k < n - 1; k++)
        {
            double x0 = cost.Coefficients[2 * k], y0 = cost.Coefficients[2 * k + 1];
            double x1 = cost.Coefficients[2 * k + 2], y1 = cost.Coefficients[2 * k + 3];
            double slope = (y1 - y0) / (x1 - x0);
            // slope·(baseMVA·Pg − x0) + y0 ≤ y
            m.AddConstraint($"pwl[{pg.Name},{k + 1}]", double.NegativeInfinity, slope * x0 - y0, [(pg, slope * baseMva), (y, -1)]);
        }
    }
}
