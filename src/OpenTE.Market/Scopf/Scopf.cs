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
    public SolverKind Solver { get; init; } = SolverKind.InteriorPoint;
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
    public IProgress<(int Round, int Added, int Violations)>? Progress { get; init; }
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

    public double SecurityCost => Opf.Objective - BaseCost;
}

/// <summary>
/// N-1 security-constrained DC OPF by constraint generation. Post-contingency flows come from LODF (branch
/// outages: f_l + LODF[l,k]·f_k) and PTDF (generator outages: the lost output is taken up by the other
/// generators in proportion to their Pmax, f_l − (PTDF[l,g] − Σ_j α_j·PTDF[l,j])·Pg), screened after each solve with one sparse solve per contingency on the base
/// factorisation; only violated (contingency, branch) limits are added and the problem is solved again.
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
        // with security rows and their penalised slacks the KKT systems need threshold pivoting: static pivots
        // stall there (measured on case_ACTIVSg2000: 200 iterations without convergence, then 26–75 with it)
        var opfOptions = new DcOpfOptions { Solver = o.Solver, InteriorPoint = new InteriorPointOptions { StaticPivoting = false } };
        if (baseResult.Status != ClearingStatus.Optimal)
            return new ScopfResult(baseResult, o.Mode, double.NaN, 0, 0, [], [], new Dictionary<Contingency, double[]>(), contingencies, sw.Elapsed.TotalSeconds);

        var limit = new double[nl]; // emergency limits, p.u. (∞ = unlimited)
        for (int l = 0; l < nl; l++)
        {
            var br = net.Branches[l];
            limit[l] = br.RateB > 0 ? br.RateB / baseMva : br.RateA > 0 ? br.RateA * o.EmergencyFactor / baseMva : double.PositiveInfinity;
        }
        var monitored = Enumerable.Range(0, nl).Where(l => dc.B[l] != 0 && double.IsFinite(limit[l])).ToArray();
        var sens = new Sensitivities(net, dc);

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
            result = DcOpfSolver.Solve(net, opfOptions, dc, m => AddSecurity(m, net, dc, sens, o, active, limit, rowsNow, recourseNow, slacksNow), out model, out solution);
            rows = rowsNow;
            recourse = recourseNow;
            slacks = slacksNow;
            if (result.Status != ClearingStatus.Optimal || o.ExtensiveForm) break;
            var violations = Screen(net, dc, sens, contingencies.Secure, monitored, limit, result, solution, recourse, o.Tolerance)
                .Where(v => !active.Contains((v.C, v.L))).ToList(); // a limit in the model and still over is relaxed at the penalty
            o.Progress?.Report((rounds, added, violations.Count));
            if (violations.Count == 0 || rounds >= o.MaxRounds)
            {
                if (violations.Count > 0)
                    result = result with { Status = ClearingStatus.NotConverged, Messages = [.. result.Messages, $"screening stopped after {rounds} rounds with {violations.Count} post-contingency violations left"] };
                break;
            }
            foreach (var v in violations.OrderByDescending(v => v.Excess).Take(o.MaxAddedPerRound))
                if (active.Add((v.C, v.L))) added++;
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
            foreach (var ((c, l), (up, down)) in slacks)
            {
                double mw = solution.Value(up) + solution.Value(down); // slacks are in MW
                if (mw > 1e-6) relaxed.Add(new RelaxedConstraint(c, l, mw, limit[l] * baseMva));
            }
        if (relaxed.Count > 0)
            result = result with { Messages = [.. result.Messages, $"{relaxed.Count} post-contingency limits cannot be met by {(o.Mode == ScopfMode.Corrective ? "dispatch and re-dispatch" : "dispatch")}: relaxed by {relaxed.Sum(r => r.ViolationMw):0.###} MW in all at {o.ViolationPenalty} $/MWh"] };
        var redispatch = recourse.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => v is Variable x ? solution.Value(x) * baseMva : 0).ToArray());
        return new ScopfResult(result, o.Mode, baseResult.Objective, rounds, added, binding, lmpSecurity, redispatch, contingencies, sw.Elapsed.TotalSeconds)
        {
            Relaxed = relaxed,
        };
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
                // lost output −Pg at its bus, taken up by the other generators in proportion to Pmax
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
        for (int g = 0; g < ng; g++)
        {
            if (!chosen[g] || m.Pg[g] is not Variable pg) continue;
            var gen = net.Generators[g];
            double ramp = Ramp(gen, o);
            var d = m.Model.AddVariable($"redispatch[{c.Label},{g + 1}]", -ramp / baseMva, ramp / baseMva);
            if (o.RedispatchWeight > 0) m.Model.AddQuadraticCost(d, d, o.RedispatchWeight * baseMva * baseMva);
            delta[g] = d;
            sum.Add((d, 1));
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
    private sealed class Sensitivities(Network net, DcNetwork dc)
    {
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

        /// <summary>Where the output of lost generator g goes: the other in-service generators, in proportion to Pmax.</summary>
        public List<(int Bus, double Share)> Pickup(int g)
        {
            if (_pickup.TryGetValue(g, out var list)) return list;
            double total = 0;
            for (int j = 0; j < net.Generators.Length; j++)
                if (j != g && net.Generators[j].InService && !dc.Dead[net.BusIndex[net.Generators[j].Bus]]) total += Math.Max(net.Generators[j].Pmax, 0);
            list = [];
            for (int j = 0; j < net.Generators.Length; j++)
                if (j != g && net.Generators[j].InService && !dc.Dead[net.BusIndex[net.Generators[j].Bus]] && net.Generators[j].Pmax > 0 && total > 0)
                    list.Add((net.BusIndex[net.Generators[j].Bus], net.Generators[j].Pmax / total));
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
