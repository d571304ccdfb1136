using OpenTE.Market.Outcome;
using System.Diagnostics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.DcOpf;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.Scopf;

public enum ScopfMode
{
    /// <summary>One dispatch that stays within emergency ratings after every contingency without any action.</summary>
    Preventive,
    /// <summary>Base dispatch plus a re-dispatch per contingency within ramp limits (|ΔPg| ≤ R).</summary>
    Corrective,
}

public sealed record ScopfOptions
{
    public ScopfMode Mode { get; init; } = ScopfMode.Preventive;
    /// <summary>Emergency rating = rateB when set, else rateA × this factor.</summary>
    public double EmergencyFactor { get; init; } = 1.0;
    /// <summary>Ramp limit when the case has none (RAMP_30, else 3 × RAMP_10): this share of |Pmax| per 30 minutes (see <see cref="Ramps.Limit"/>).</summary>
    public double DefaultRampShare { get; init; } = 0.2;
    /// <summary>Post-contingency flows may exceed the rating by this much (p.u.) before a constraint is added.</summary>
    public double Tolerance { get; init; } = 1e-6;
    public int MaxRounds { get; init; } = 30;
    /// <summary>Constraints added per screening round at most (the most violated first).</summary>
    public int MaxAddedPerRound { get; init; } = 400;
    /// <summary>Add every (contingency, branch) constraint at once instead of screening (small cases, for checks).</summary>
    public bool ExtensiveForm { get; init; }
    /// <summary>
    /// Auto (default): the no-dead-end chain — with quadratic costs (or the reserve's weight) the interior point, and when it
    /// fails, the simplex on the linear part to confirm infeasibility or restart from a feasible vertex; with linear costs CLP.
    /// A random case9 variant (CsCheck seed 4uIBTRPtrcO4) left the interior point alone at "not converged" (gradient 1.0).
    /// </summary>
    public SolverKind Solver { get; init; } = SolverKind.Auto;
    /// <summary>
    /// Price of violating a post-contingency limit, $/MWh per MW over the emergency rating (a transmission-constraint
    /// penalty factor, as ISOs use). A limit that no dispatch can meet is then relaxed at this price and reported in
    /// <see cref="ScopfResult.Relaxed"/> instead of making the whole market infeasible. 0 or less: hard limits.
    /// </summary>
    public double ViolationPenalty { get; init; } = 1000;
    /// <summary>
    /// Corrective mode: generators allowed to re-dispatch for one contingency, chosen per post-contingency limit by
    /// their effect on it (the most positive and most negative post-contingency PTDFs, half each). 0: every generator.
    /// </summary>
    public int RecourseGenerators { get; init; } = 24;
    /// <summary>
    /// Corrective mode: a small quadratic cost on re-dispatch, ½·w·ΔPg² with w in $/MW²h. It picks the smallest
    /// re-dispatch among equally cheap ones (a unique answer) and keeps the interior point's KKT systems regular
    /// (free zero-cost variables make them singular). Δ = 0 stays feasible and free, so cost(corrective) ≤ cost(preventive).
    /// </summary>
    public double RedispatchWeight { get; init; } = 0.01;
    /// <summary>Who picks up a lost generator's output (<see cref="PickupRule.Reserve"/>; the old Pmax shortcut only to compare).</summary>
    public PickupRule Pickup { get; init; } = PickupRule.Reserve;
    /// <summary>
    /// A small quadratic cost ½·w·R² ($/MW²h) on the reserve variable R: it makes R the largest lost output (not any value
    /// the headroom allows) and keeps the KKT systems regular (case_ACTIVSg2000 preventive, one run each on the shared machine: 24.6 s without, 9.9 s with);
    /// 1e-6 is 0.5 $/h at R = 1,000 MW, left out of the reported objective.
    /// </summary>
    public double ReserveWeight { get; init; } = 1e-6;
    public IProgress<(int Round, int Added, int Violations)>? Progress { get; init; }
}

/// <summary>The shadow price ($/MWh) of one reserve row: R ≥ Pg_k of lost unit k, or unit j's headroom Pg_j + ᾱ_j·R ≤ Pmax_j.</summary>
public sealed record ReservePrice(int Generator, int Direction, double PriceMwh);

/// <summary>
/// The reserve for picking up the largest lost output (up: a unit's output lost; down: a dispatchable load's), MW, and
/// the shadow prices of its rows in the model: <see cref="Requirement"/> of R ≥ Pg_k, <see cref="Headroom"/> of
/// Pg_j + ᾱ_j·R ≤ Pmax_j (Pg_j − ᾱ_j·R ≥ Pmin_j downwards).
/// </summary>
public sealed record ScopfReserve(double UpMw, double DownMw, IReadOnlyList<ReservePrice> Requirement, IReadOnlyList<ReservePrice> Headroom)
{
    public static readonly ScopfReserve None = new(0, 0, [], []);
}

/// <summary>A post-contingency limit in the final problem, with its shadow prices ($/MWh).</summary>
public sealed record SecurityConstraint(Contingency Contingency, int Branch, double PostFlowMw, double LimitMw, double MuSf, double MuSt);

/// <summary>A post-contingency limit no dispatch could meet: relaxed by <paramref name="ViolationMw"/> at the penalty price.</summary>
public sealed record RelaxedConstraint(Contingency Contingency, int Branch, double ViolationMw, double LimitMw);

public sealed record ScopfResult(
    DcOpfResult Opf,
    ScopfMode Mode,
    double BaseCost,
    int Rounds,
    int ConstraintsAdded,
    IReadOnlyList<SecurityConstraint> Binding,
    IReadOnlyList<double> LmpSecurity,
    IReadOnlyDictionary<Contingency, double[]> Redispatch,
    ContingencySet Contingencies,
    double SolveSeconds)
{
    /// <summary>Post-contingency limits relaxed at <see cref="ScopfOptions.ViolationPenalty"/> (empty when every limit is met).</summary>
    public IReadOnlyList<RelaxedConstraint> Relaxed { get; init; } = [];
    /// <summary>The reserve that covers the largest lost output, and its prices.</summary>
    public ScopfReserve Reserve { get; init; } = ScopfReserve.None;
    /// <summary>Who picked up each lost unit's output (<see cref="Participation.Pickup"/>).</summary>
    public Participation? Participation { get; init; }

    public double SecurityCost => Opf.Objective - BaseCost;
}

/// <summary>
/// N-1 security-constrained DC OPF by constraint generation. Post-contingency flows come from LODF (branch
/// outages: f_l + LODF[l,k]·f_k) and PTDF (generator outages: the lost output is picked up by the responding units
/// by their shares s_jk (<see cref="Participation"/>), f_l − (PTDF[l,k] − Σ_j s_jk·PTDF[l,j])·Pg_k, each unit within its
/// headroom and ramp through the compact reserve rows R ≥ Pg_k, Pg_j + ᾱ_j·R ≤ Pmax_j), screened after each solve with
/// one sparse solve per contingency on the base factorisation; only violated (contingency, branch) limits and reserve
/// rows are added and the problem is solved again.
/// Corrective mode gives each contingency that needs it a re-dispatch ΔPg^c (Σ ΔPg^c = 0, |ΔPg| ≤ R,
/// Pmin ≤ Pg + ΔPg^c ≤ Pmax) acting through the post-contingency PTDF.
/// </summary>
public static class ScopfSolver
{
    public static ScopfResult Solve(Network net, ContingencySet contingencies, ScopfOptions? options = null)
    {
        var sw = Stopwatch.StartNew();
        var o = options ?? new ScopfOptions();
        var dc = new DcNetwork(net);
        double baseMva = net.BaseMva;
        int nl = net.Branches.Length;
        var baseResult = DcOpfSolver.Solve(net, new DcOpfOptions { Solver = o.Solver }, dc, null, out _, out _);
        // cost scale 0.01: with penalties of 1,000 $/MWh the multipliers reach 1e5 per p.u.; unscaled, the interior point
        // accepted a point 0.005 MW out of balance as optimal on case30 at 60 % ratings (corrective), scaled it meets 1e-7 MW.
        // with security rows and their penalised slacks the KKT systems need threshold pivoting: static pivots
        // stall there (measured on case_ACTIVSg2000: 200 iterations without convergence, then 26–75 with it)
        var opfOptions = new DcOpfOptions { Solver = o.Solver, InteriorPoint = new InteriorPointOptions { StaticPivoting = false, CostScale = 0.01 } };
        if (baseResult.Status != ClearingStatus.Optimal)
            return new ScopfResult(baseResult, o.Mode, double.NaN, 0, 0, [], [], new Dictionary<Contingency, double[]>(), contingencies, sw.Elapsed.TotalSeconds);

        var limit = new double[nl]; // emergency limits, p.u. (∞ = unlimited)
        for (int l = 0; l < nl; l++)
        {
            var br = net.Branches[l];
            limit[l] = br.RateB > 0 ? br.RateB / baseMva : br.RateA > 0 ? br.RateA * o.EmergencyFactor / baseMva : double.PositiveInfinity;
        }
        var monitored = Enumerable.Range(0, nl).Where(l => dc.B[l] != 0 && double.IsFinite(limit[l])).ToArray();
        var lostUnits = contingencies.Secure.Where(c => c.Kind == ContingencyKind.Generator).Select(c => c.Index).Distinct().ToList();
        var part = new Participation(net, dc, lostUnits, o.Pickup);
        var sens = new Sensitivities(net, dc, part);
        var reserve = new ReserveState(o.Pickup == PickupRule.Reserve ? lostUnits.Where(k => part.Pickup(k).Count > 0).ToList() : []);
        var unpicked = lostUnits.Where(k => part.Pickup(k).Count == 0).ToList();
        if (o.ExtensiveForm)
            foreach (int dir in (int[])[1, -1])
            {
                foreach (int k in reserve.Units) reserve.Lost.Add((dir, k));
                if (reserve.Units.Count > 0)
                    for (int j = 0; j < net.Generators.Length; j++) if (part.CapMw[j] > 0) reserve.Headroom.Add((dir, j));
            }

        var active = new HashSet<(Contingency C, int L)>();
        if (o.ExtensiveForm)
            foreach (var c in contingencies.Secure)
                foreach (int l in monitored)
                    if (!(c.Kind == ContingencyKind.Branch && c.Index == l)) active.Add((c, l));

        DcOpfResult result = baseResult;
        DcOpfModel model = null!;
        ModelSolution solution = null!;
        Dictionary<(Contingency, int), Constraint[]> rows = [];
        Dictionary<Contingency, Variable?[]> recourse = [];
        Dictionary<(Contingency, int), (Variable Up, Variable Down)> slacks = [];
        int rounds = 0, added = active.Count;
        while (true)
        {
            rounds++;
            var rowsNow = new Dictionary<(Contingency, int), Constraint[]>();
            var recourseNow = new Dictionary<Contingency, Variable?[]>();
            var slacksNow = new Dictionary<(Contingency, int), (Variable, Variable)>();
            result = DcOpfSolver.Solve(net, opfOptions, dc, m =>
            {
                AddReserve(m, net, part, reserve, o);
                AddSecurity(m, net, dc, sens, o, active, limit, rowsNow, recourseNow, slacksNow);
            }, out model, out solution);
            rows = rowsNow;
            recourse = recourseNow;
            slacks = slacksNow;
            if (result.Status != ClearingStatus.Optimal || o.ExtensiveForm) break;
            var violations = Screen(net, dc, sens, contingencies.Secure, monitored, limit, result, solution, recourse, o.Tolerance)
                .Where(v => !active.Contains((v.C, v.L))).ToList(); // a limit in the model and still over is relaxed at the penalty
            var (lostRows, headroomRows) = ScreenReserve(net, part, reserve, result, solution, o.Tolerance);
            int found = violations.Count + lostRows.Count + headroomRows.Count;
            o.Progress?.Report((rounds, added, found));
            if (found == 0 || rounds >= o.MaxRounds)
            {
                if (found > 0)
                    result = result with { Status = ClearingStatus.NotConverged, Messages = [.. result.Messages, $"screening stopped after {rounds} rounds with {violations.Count} post-contingency violations and {lostRows.Count + headroomRows.Count} reserve rows left"] };
                break;
            }
            foreach (var v in violations.OrderByDescending(v => v.Excess).Take(o.MaxAddedPerRound))
                if (active.Add((v.C, v.L))) added++;
            foreach (var x in lostRows) if (reserve.Lost.Add(x)) added++;
            foreach (var x in headroomRows) if (reserve.Headroom.Add(x)) added++;
        }

        // prices: security part −Σ PTDF_post[l,b]·(μ_Sf − μ_St) over the post-contingency limits
        var binding = new List<SecurityConstraint>();
        var lmpSecurity = new double[net.BusCount];
        if (result.Status == ClearingStatus.Optimal)
        {
            var flows = result.Branches.Select(b => b.Pf / baseMva).ToArray();
            var postOf = new Dictionary<Contingency, double[]>(); // one post-contingency solve per contingency
            foreach (var ((c, l), row) in rows)
            {
                double dual = row.Sum(solution.Dual) / baseMva;
                double muSf = Math.Max(0, -dual), muSt = Math.Max(0, dual);
                if (muSf + muSt <= 1e-9) continue;
                var post = sens.PostPtdfRow(c, l);
                for (int b = 0; b < net.BusCount; b++) lmpSecurity[b] -= post[b] * (muSf - muSt);
                if (!postOf.TryGetValue(c, out var post_))
                    postOf[c] = post_ = PostFlows(net, dc, sens, c, flows, result, solution, recourse.GetValueOrDefault(c));
                double postFlow = post_[l] * baseMva;
                binding.Add(new SecurityConstraint(c, l, postFlow, limit[l] * baseMva, muSf, muSt));
            }
        }
        var relaxed = new List<RelaxedConstraint>();
        if (result.Status == ClearingStatus.Optimal)
        {
            var flows = result.Branches.Select(b => b.Pf / baseMva).ToArray();
            var postOf = new Dictionary<Contingency, double[]>();
            foreach (var ((c, l), (up, down)) in slacks)
            {
                double mw = solution.Value(up) + solution.Value(down); // slacks are in MW
                if (mw <= 1e-6) continue;
                // the excess of the post-contingency flow itself: the slack is met only to the solver's feasibility tolerance
                if (!postOf.TryGetValue(c, out var post))
                    postOf[c] = post = PostFlows(net, dc, sens, c, flows, result, solution, recourse.GetValueOrDefault(c));
                relaxed.Add(new RelaxedConstraint(c, l, Math.Max(mw, (Math.Abs(post[l]) - limit[l]) * baseMva), limit[l] * baseMva));
            }
        }
        if (relaxed.Count > 0)
            result = result with { Messages = [.. result.Messages, $"{relaxed.Count} post-contingency limits cannot be met by {(o.Mode == ScopfMode.Corrective ? "dispatch and re-dispatch" : "dispatch")}: relaxed by {relaxed.Sum(r => r.ViolationMw):0.###} MW in all at {o.ViolationPenalty} $/MWh"] };
        if (unpicked.Count > 0)
            result = result with { Messages = [.. result.Messages, $"no other unit can pick up the output of generator(s) {string.Join(", ", unpicked.Take(10).Select(k => k + 1))}: the reference bus balances their loss in the post-contingency flows"] };
        var reserveResult = ScopfReserve.None;
        if (result.Status == ClearingStatus.Optimal && reserve.R.Any(r => r is not null))
        {
            double Value(int dir) => reserve.R[dir > 0 ? 0 : 1] is Variable r ? solution.Value(r) * baseMva : 0;
            // R − dir·Pg_k ≥ 0: its dual is the cost of 1 MW more requirement (≥ 0); dir·Pg_j + ᾱ_j·R ≤ bound: −dual ≥ 0
            var requirement = reserve.LostRows.Select(kv => new ReservePrice(kv.Key.K, kv.Key.Dir, solution.Dual(kv.Value) / baseMva)).Where(p => Math.Abs(p.PriceMwh) > 1e-6).ToList();
            var headroom = reserve.HeadroomRows.Select(kv => new ReservePrice(kv.Key.J, kv.Key.Dir, -solution.Dual(kv.Value) / baseMva)).Where(p => Math.Abs(p.PriceMwh) > 1e-6).ToList();
            reserveResult = new ScopfReserve(Value(1), Value(-1), requirement, headroom);
            // the reserve weight is a numerical device, not a cost: the reported objective leaves it out
            double weight = 0.5 * o.ReserveWeight * (Value(1) * Value(1) + Value(-1) * Value(-1));
            result = result with { Objective = result.Objective - weight };
        }
        var redispatch = recourse.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => v is Variable x ? solution.Value(x) * baseMva : 0).ToArray());
        return new ScopfResult(result, o.Mode, baseResult.Objective, rounds, added, binding, lmpSecurity, redispatch, contingencies, sw.Elapsed.TotalSeconds)
        {
            Relaxed = relaxed,
            Reserve = reserveResult,
            Participation = part,
        };
    }

    /// <summary>The reserve rows in the model: which (direction, lost unit) requirements and (direction, unit) headroom rows.</summary>
    private sealed class ReserveState(List<int> units)
    {
        /// <summary>The lost units whose output someone can pick up (the reserve's K).</summary>
        public List<int> Units { get; } = units;
        public HashSet<(int Dir, int K)> Lost { get; } = [];
        public HashSet<(int Dir, int J)> Headroom { get; } = [];
        /// <summary>R up and R down of the last model built (null when that direction has no rows).</summary>
        public Variable?[] R { get; } = new Variable?[2];
        public Dictionary<(int Dir, int K), Constraint> LostRows { get; } = [];
        public Dictionary<(int Dir, int J), Constraint> HeadroomRows { get; } = [];
    }

    /// <summary>
    /// The compact reserve (docs/scopf.md): R ≥ dir·Pg_k for the lost units k in the model, dir·Pg_j + ᾱ_j·R ≤ Pmax_j
    /// (−Pmin_j downwards) for the units j in the model, and 0 ≤ R ≤ min_j cap_j/ᾱ_j (so ᾱ_j·R ≤ ramp_j).
    /// </summary>
    private static void AddReserve(DcOpfModel m, Network net, Participation part, ReserveState st, ScopfOptions o)
    {
        double baseMva = net.BaseMva;
        st.LostRows.Clear();
        st.HeadroomRows.Clear();
        st.R[0] = st.R[1] = null;
        foreach (int dir in (int[])[1, -1])
        {
            var lost = st.Lost.Where(x => x.Dir == dir).Select(x => x.K).Order().ToList();
            var head = st.Headroom.Where(x => x.Dir == dir).Select(x => x.J).Order().ToList();
            if (lost.Count == 0 && head.Count == 0) continue;
            string name = dir > 0 ? "up" : "down";
            double upper = double.IsFinite(part.MaxReserveMw) ? part.MaxReserveMw : part.CapMw.Sum();
            var r = m.Model.AddVariable($"reserve[{name}]", 0, upper / baseMva);
            if (o.ReserveWeight > 0) m.Model.AddQuadraticCost(r, r, o.ReserveWeight * baseMva * baseMva);
            st.R[dir > 0 ? 0 : 1] = r;
            foreach (int k in lost)
                if (m.Pg[k] is Variable pk)
                    st.LostRows[(dir, k)] = m.Model.AddConstraint($"reserve[{name},{k + 1}]", 0, double.PositiveInfinity, [(r, 1), (pk, -dir)]);
            foreach (int j in head)
                if (m.Pg[j] is Variable pj)
                    st.HeadroomRows[(dir, j)] = m.Model.AddConstraint($"headroom[{name},{j + 1}]", double.NegativeInfinity, part.Bound(j, dir), [(pj, dir), (r, part.Alpha[j])]);
        }
    }

    /// <summary>
    /// The reserve rows the dispatch breaks, O(units): a unit without headroom for ᾱ_j·max(R, largest lost output), and —
    /// when R matters (headroom rows, or a loss beyond what the ramps allow) — every lost output above R.
    /// </summary>
    private static (List<(int Dir, int K)> Lost, List<(int Dir, int J)> Headroom) ScreenReserve(Network net, Participation part, ReserveState st,
        DcOpfResult result, ModelSolution solution, double tol)
    {
        var lost = new List<(int, int)>();
        var head = new List<(int, int)>();
        if (st.Units.Count == 0) return (lost, head);
        double baseMva = net.BaseMva;
        double Pg(int g) => result.Generators[g].Pg / baseMva;
        foreach (int dir in (int[])[1, -1])
        {
            double rv = st.R[dir > 0 ? 0 : 1] is Variable r ? solution.Value(r) : 0;
            double need = st.Units.Max(k => dir * Pg(k));
            double safe = Math.Max(rv, need);
            bool rows = st.Headroom.Any(x => x.Dir == dir);
            for (int j = 0; j < net.Generators.Length; j++)
                if (part.Alpha[j] > 0 && !st.Headroom.Contains((dir, j)) && dir * Pg(j) + part.Alpha[j] * safe - part.Bound(j, dir) > tol)
                    head.Add((dir, j));
            if (rows || head.Any(x => x.Item1 == dir) || need > part.MaxReserveMw / baseMva + tol)
                foreach (int k in st.Units)
                    if (dir * Pg(k) > rv + tol && !st.Lost.Contains((dir, k))) lost.Add((dir, k));
        }
        return (lost, head);
    }

    /// <summary>Adds the active post-contingency limits (and, in corrective mode, each contingency's re-dispatch) to the model.</summary>
    private static void AddSecurity(DcOpfModel m, Network net, DcNetwork dc, Sensitivities sens, ScopfOptions o,
        HashSet<(Contingency C, int L)> active, double[] limit, Dictionary<(Contingency, int), Constraint[]> rows, Dictionary<Contingency, Variable?[]> recourse,
        Dictionary<(Contingency, int), (Variable, Variable)> slacks)
    {
        var ordered = active.OrderBy(a => a.C.Kind).ThenBy(a => a.C.Index).ThenBy(a => a.L).ToList();
        if (o.Mode == ScopfMode.Corrective)
            foreach (var group in ordered.GroupBy(a => a.C))
                Recourse(m, net, sens, group.Key, group.Select(a => a.L).ToList(), o, recourse);
        double baseMva = net.BaseMva;
        // no flow exceeds a limit by more than all generation and load together: a finite box keeps the interior point's barrier on both sides
        double slackBound = (net.Generators.Where(g => g.InService).Sum(g => Math.Abs(g.Pmax)) + net.Buses.Sum(b => Math.Abs(b.Pd))) + baseMva; // MW
        foreach (var (c, l) in ordered)
        {
            var terms = new List<(Variable, double)>();
            double shift = 0;
            FlowTerms(m, dc, l, 1, terms, ref shift);
            if (c.Kind == ContingencyKind.Branch)
                FlowTerms(m, dc, c.Index, sens.Lodf(l, c.Index), terms, ref shift);
            else if (m.Pg[c.Index] is Variable lost)
            {
                // lost output −Pg at its bus, picked up by the responding units by their shares (Participation.Pickup)
                var row = sens.PtdfRow(l);
                double pickup = 0;
                foreach (var (bus, share) in sens.Pickup(c.Index)) pickup += share * row[bus];
                terms.Add((lost, -(row[net.BusIndex[net.Generators[c.Index].Bus]] - pickup)));
            }
            if (o.Mode == ScopfMode.Corrective)
            {
                var delta = recourse[c];
                var post = sens.PostPtdfRow(c, l);
                for (int g = 0; g < delta.Length; g++)
                    if (delta[g] is Variable d) terms.Add((d, post[net.BusIndex[net.Generators[g].Bus]]));
            }
            if (o.ViolationPenalty > 0)
            {
                // slacks in MW (cost = the penalty itself): better scaled for the interior point than p.u. at penalty × baseMVA
                var up = m.Model.AddVariable($"over[{c.Label},{l + 1}]", 0, slackBound, o.ViolationPenalty);
                var down = m.Model.AddVariable($"under[{c.Label},{l + 1}]", 0, slackBound, o.ViolationPenalty);
                slacks[(c, l)] = (up, down);
                terms.Add((up, -1 / baseMva));
                terms.Add((down, 1 / baseMva));
            }
            rows[(c, l)] = [m.Model.AddConstraint($"security[{c.Label},{l + 1}]", -limit[l] - shift, limit[l] - shift, terms)];
        }
    }

    private static void FlowTerms(DcOpfModel m, DcNetwork dc, int l, double scale, List<(Variable, double)> terms, ref double shift)
    {
        if (scale == 0 || dc.B[l] == 0) return;
        if (m.Theta[dc.From[l]] is Variable tf) terms.Add((tf, scale * dc.B[l]));
        if (m.Theta[dc.To[l]] is Variable tt) terms.Add((tt, -scale * dc.B[l]));
        shift += scale * dc.PfInj[l];
    }

    /// <summary>How far a generator can move after an outage (MW): the one ramp rule over 30 minutes (<see cref="Ramps.Limit"/>; the default share is per 30 minutes).</summary>
    private static double Ramp(Generator gen, ScopfOptions o) => Ramps.Limit(gen, 0.5, 2 * o.DefaultRampShare);

    /// <summary>
    /// The re-dispatch variables of contingency c. With <see cref="ScopfOptions.RecourseGenerators"/> = K the
    /// generators are, for each of c's limits in the model, the K/2 with the largest and the K/2 with the smallest
    /// post-contingency PTDF (moving output from the second kind to the first relieves the limit most per MW).
    /// </summary>
    private static void Recourse(DcOpfModel m, Network net, Sensitivities sens, Contingency c, List<int> branches, ScopfOptions o,
        Dictionary<Contingency, Variable?[]> recourse)
    {
        double baseMva = net.BaseMva;
        int ng = net.Generators.Length;
        bool Eligible(int g) => m.Pg[g] is Variable && !(c.Kind == ContingencyKind.Generator && c.Index == g) && Ramp(net.Generators[g], o) > 0;
        var chosen = new bool[ng];
        var eligible = Enumerable.Range(0, ng).Where(Eligible).ToArray();
        if (o.RecourseGenerators <= 0 || eligible.Length <= o.RecourseGenerators)
            foreach (int g in eligible) chosen[g] = true;
        else
            foreach (int l in branches)
            {
                var post = sens.PostPtdfRow(c, l);
                var bySensitivity = eligible.OrderBy(g => post[net.BusIndex[net.Generators[g].Bus]]).ThenBy(g => g).ToArray();
                int half = Math.Max(1, o.RecourseGenerators / 2);
                for (int k = 0; k < half; k++)
                {
                    chosen[bySensitivity[k]] = true;
                    chosen[bySensitivity[^(k + 1)]] = true;
                }
            }
        var delta = new Variable?[ng];
        var sum = new List<(Variable, double)>();
        // a generator outage: the post-contingency output is Pg_j + s_jk·Pg_k (the pick-up) + ΔPg_j, within [Pmin, Pmax]
        // and, for units with a ramp in the case, moving no more than that ramp in all (Δ = 0 stays feasible: the reserve
        // rows keep s_jk·Pg_k within headroom and ramp). The old Pmax rule is kept as it was (pick-up unchecked).
        var share = new Dictionary<int, double>();
        Variable? lostPg = null;
        if (c.Kind == ContingencyKind.Generator && o.Pickup == PickupRule.Reserve && m.Pg[c.Index] is Variable lp)
        {
            lostPg = lp;
            foreach (var (j, s) in sens.Part.Pickup(c.Index)) share[j] = s;
        }
        for (int g = 0; g < ng; g++)
        {
            if (!chosen[g] || m.Pg[g] is not Variable pg) continue;
            var gen = net.Generators[g];
            double ramp = Ramp(gen, o);
            var d = m.Model.AddVariable($"redispatch[{c.Label},{g + 1}]", -ramp / baseMva, ramp / baseMva);
            if (o.RedispatchWeight > 0) m.Model.AddQuadraticCost(d, d, o.RedispatchWeight * baseMva * baseMva);
            delta[g] = d;
            sum.Add((d, 1));
            double s = lostPg is not null ? share.GetValueOrDefault(g) : 0;
            if (s > 0)
            {
                m.Model.AddConstraint($"capacity[{c.Label},{g + 1}]", gen.Pmin / baseMva, gen.Pmax / baseMva, [(pg, 1), (d, 1), (lostPg!.Value, s)]);
                if (gen.Ramp30 > 0 || gen.Ramp10 > 0)
                    m.Model.AddConstraint($"ramp[{c.Label},{g + 1}]", -ramp / baseMva, ramp / baseMva, [(d, 1), (lostPg!.Value, s)]);
            }
            else
                m.Model.AddConstraint($"capacity[{c.Label},{g + 1}]", gen.Pmin / baseMva, gen.Pmax / baseMva, [(pg, 1), (d, 1)]);
        }
        m.Model.AddEquality($"redispatch-balance[{c.Label}]", 0, sum);
        recourse[c] = delta;
    }

    private sealed record Violation(Contingency C, int L, double Excess);

    /// <summary>Post-contingency flows of every contingency on every monitored branch; the limits they break.</summary>
    private static List<Violation> Screen(Network net, DcNetwork dc, Sensitivities sens, IReadOnlyList<Contingency> contingencies, int[] monitored,
        double[] limit, DcOpfResult result, ModelSolution solution, Dictionary<Contingency, Variable?[]> recourse, double tol)
    {
        double baseMva = net.BaseMva;
        var flows = result.Branches.Select(b => b.Pf / baseMva).ToArray();
        var violations = new List<Violation>();
        foreach (var c in contingencies)
        {
            var post = PostFlows(net, dc, sens, c, flows, result, solution, recourse.GetValueOrDefault(c));
            foreach (int l in monitored)
            {
                if (c.Kind == ContingencyKind.Branch && c.Index == l) continue;
                double excess = Math.Abs(post[l]) - limit[l];
                if (excess > tol) violations.Add(new Violation(c, l, excess));
            }
        }
        return violations;
    }

    /// <summary>All branch flows (p.u.) after contingency c, with its re-dispatch if it has one.</summary>
    private static double[] PostFlows(Network net, DcNetwork dc, Sensitivities sens, Contingency c, double[] flows, DcOpfResult result,
        ModelSolution solution, Variable?[]? delta)
    {
        int nl = flows.Length;
        var post = (double[])flows.Clone();
        // injection changes on the intact network: lost generation (taken by the reference bus) and re-dispatch
        var dp = new double[net.BusCount];
        bool any = false;
        if (c.Kind == ContingencyKind.Generator)
        {
            double lost = result.Generators[c.Index].Pg / net.BaseMva;
            dp[net.BusIndex[net.Generators[c.Index].Bus]] -= lost;
            foreach (var (bus, share) in sens.Pickup(c.Index)) dp[bus] += share * lost;
            any = lost != 0;
        }
        if (delta is not null)
            for (int g = 0; g < delta.Length; g++)
                if (delta[g] is Variable d) { double v = solution.Value(d); dp[net.BusIndex[net.Generators[g].Bus]] += v; any |= v != 0; }
        if (any)
        {
            var dTheta = dc.AngleChange(dp); // the reference buses balance the change
            for (int l = 0; l < nl; l++) if (dc.B[l] != 0) post[l] += dc.B[l] * (dTheta[dc.From[l]] - dTheta[dc.To[l]]);
        }
        if (c.Kind == ContingencyKind.Branch)
        {
            var column = sens.LodfColumn(c.Index);
            double fk = post[c.Index];
            for (int l = 0; l < nl; l++) post[l] += column[l] * fk;
            post[c.Index] = 0;
        }
        return post;
    }

    /// <summary>Cached PTDF rows and LODF columns on the base factorisation.</summary>
    private sealed class Sensitivities(Network net, DcNetwork dc, Participation part)
    {
        public Participation Part => part;
        private readonly Dictionary<int, double[]> _ptdf = [];
        private readonly Dictionary<int, double[]> _lodf = [];

        public double[] PtdfRow(int l)
        {
            if (!_ptdf.TryGetValue(l, out var row)) _ptdf[l] = row = dc.Ptdf([l])[0];
            return row;
        }

        /// <summary>LODF[:, k]: change of every branch flow per unit of pre-outage flow on k (one solve).</summary>
        public double[] LodfColumn(int k)
        {
            if (_lodf.TryGetValue(k, out var col)) return col;
            var dp = new double[net.BusCount];
            dp[dc.From[k]] += 1;
            dp[dc.To[k]] -= 1;
            var theta = dc.AngleChange(dp);
            int nl = net.Branches.Length;
            col = new double[nl];
            double hkk = dc.B[k] * (theta[dc.From[k]] - theta[dc.To[k]]);
            for (int l = 0; l < nl; l++)
                col[l] = dc.B[l] == 0 || l == k ? 0 : dc.B[l] * (theta[dc.From[l]] - theta[dc.To[l]]) / (1 - hkk); // LODF[l,k] = H_l / (1 − h_kk)
            _lodf[k] = col;
            return col;
        }

        public double Lodf(int l, int k) => LodfColumn(k)[l];

        private readonly Dictionary<int, List<(int Bus, double Share)>> _pickup = [];

        /// <summary>Where the output of lost generator g goes, by bus: <see cref="Participation.Pickup"/>.</summary>
        public List<(int Bus, double Share)> Pickup(int g)
        {
            if (_pickup.TryGetValue(g, out var list)) return list;
            list = [.. part.Pickup(g).Select(p => (net.BusIndex[net.Generators[p.Generator].Bus], p.Share))];
            _pickup[g] = list;
            return list;
        }

        /// <summary>PTDF of branch l after contingency c: PTDF_l + LODF[l,k]·PTDF_k for a branch outage.</summary>
        public double[] PostPtdfRow(Contingency c, int l)
        {
            var row = PtdfRow(l);
            if (c.Kind != ContingencyKind.Branch) return row;
            double lodf = Lodf(l, c.Index);
            if (lodf == 0) return row;
            var rk = PtdfRow(c.Index);
            var post = new double[row.Length];
            for (int b = 0; b < post.Length; b++) post[b] = row[b] + lodf * rk[b];
            return post;
        }
    }
}
