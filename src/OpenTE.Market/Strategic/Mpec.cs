using OpenTE.Numerics;
using System.Diagnostics;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;
using OrSolver = Google.OrTools.LinearSolver.Solver;
using OrVar = Google.OrTools.LinearSolver.Variable;
using MPSolverParameters = Google.OrTools.LinearSolver.MPSolverParameters;

namespace OpenTE.Market.Strategic;

/// <summary>Which side of which bound a complementarity pair is: a row's lower/upper side or a variable's lower/upper bound.</summary>
internal enum PairSide { RowLower, RowUpper, VarLower, VarUpper }

/// <summary>
/// One complementarity condition 0 ≤ slack ⊥ μ ≥ 0 as the disjunction slack ≤ Mp·(1 − z), μ ≤ Md·z with z binary.
/// <see cref="PrimalExact"/>/<see cref="DualExact"/>: the bound is proven from the data (never binding wrongly);
/// otherwise it is a heuristic bound that is verified at the solution. <see cref="Inactive"/>: the data proves the
/// limit cannot bind, so μ = 0 and no binary is needed.
/// </summary>
internal sealed class Pair(PairSide side, int index, double primalM, bool primalExact, double dualM, bool dualExact)
{
    public PairSide Side { get; } = side;
    public int Index { get; } = index;
    public double PrimalM { get; set; } = primalM;
    public bool PrimalExact { get; } = primalExact;
    public double DualM { get; set; } = dualM;
    public bool DualExact { get; } = dualExact;
    public bool Inactive { get; set; }
}

/// <summary>The leader's blocks with their true cost and capacity and the mode of its decisions.</summary>
internal sealed record LeaderSpec(string Name, IReadOnlyList<Bid> Blocks, StrategicMode Mode, double PriceCap);

/// <summary>Solution of one MPEC (values after polishing with the binaries fixed).</summary>
internal sealed record MpecSolution(
    ClearingStatus Status, bool Solved, bool Optimal, string Message,
    double Profit, double Objective, double BestBound, double[] OfferPrice, double[] OfferQuantity, double[] Cleared, double[] Lmp,
    int Binaries, int FixedByData, long Nodes, int BigMRounds, int BigMEnlarged, int CutRounds, int MilpSolves, double Seconds);

/// <summary>
/// The leader's bilevel problem as one MILP (docs/strategic.md):
/// <code>
/// max  Σ_k (λ_b(k) − cost_k)·q_k            = D_other(λ, μ) − Σ_{j∉leader} c_j·x_j − Σ_j q_j·x_j² − Σ_k cost_k·q_k   (strong duality)
/// s.t. upper level:  cost_k ≤ o_k ≤ cap,  0 ≤ Q_k ≤ capacity_k,  o_k ≤ o_k+1 (blocks stay monotone)
///      lower level KKT of <see cref="ClearingProgram"/>:
///        primal feasibility                 lo ≤ A·x ≤ hi,  lo ≤ x ≤ hi  (q_k ≤ Q_k)
///        stationarity      c_j + q_j·x_j − Σ_i a_ij·y_i − ρ⁻_j + ρ⁺_j = 0   (c_k = o_k for the leader's blocks)
///        dual feasibility  y_i = λ free (equalities), y_i = μ⁻_i − μ⁺_i with μ ≥ 0 (ranges), ρ ≥ 0
///        complementarity   slack ≤ Mp·(1 − z),  μ ≤ Md·z,  z ∈ {0, 1}   for every pair
/// </code>
/// The quadratic term Σ q_j·x_j² (quadratic generator costs) is replaced by tangents t_j ≥ 2a·x_j − a², an outer
/// approximation refined until the profit of the solution equals the bound; the binaries of the final MILP are
/// then fixed and the continuous part re-solved by GLOP (exact complementarity, vertex accuracy).
/// </summary>
internal sealed class Mpec
{
    private readonly ClearingProgram _p;
    private readonly LeaderSpec _leader;
    private readonly StrategicOptions _o;
    private readonly List<(int Row, double Coef)>[] _cols;
    private readonly List<Pair> _pairs = [];
    private readonly List<double>[] _tangents;
    private const double TieWeight = 1e-6;
    /// <summary>Tangent rounds of the MILP stop when its bound is within this (relative) of the profit of its active set.</summary>
    private const double CutTolerance = 1e-8;

    /// <param name="dispatch">Generator outputs (MW, case order) of a nearby clearing: first tangent points of quadratic costs.</param>
    public Mpec(ClearingProgram p, LeaderSpec leader, StrategicOptions o, IReadOnlyList<double>? dispatch = null)
    {
        _p = p;
        _leader = leader;
        _o = o;
        _cols = p.Columns();
        _tangents = new List<double>[p.Vars.Count];
        for (int j = 0; j < p.Vars.Count; j++)
            if (p.Vars[j].Quad > 0 && !p.Vars[j].Fixed)
            {
                var v = p.Vars[j];
                _tangents[j] = [];
                for (int s = 0; s <= 4; s++) _tangents[j].Add(v.Lo + (v.Hi - v.Lo) * s / 4);
            }
        if (dispatch is not null)
            for (int g = 0; g < p.GenVar.Length && g < dispatch.Count; g++)
                if (p.GenVar[g] is int j && j >= 0 && _tangents[j] is { } pts && double.IsFinite(dispatch[g])) pts.Add(dispatch[g]);
        BuildPairs();
    }

    public int Binaries => _pairs.Count(x => !x.Inactive);
    public int FixedByData => _pairs.Count(x => x.Inactive);

    /// <summary>The scale of prices in the market ($/MWh): the largest cost coefficient, marginal cost at a bound, cap or VoLL.</summary>
    private double PriceScale()
    {
        double s = Math.Max(1, Math.Abs(_leader.PriceCap));
        foreach (var v in _p.Vars)
        {
            if (v.Kind is ClearingVarKind.Angle or ClearingVarKind.CostEpigraph) continue;
            double xmax = Math.Max(Math.Abs(v.Lo), Math.Abs(v.Hi));
            s = Math.Max(s, Math.Abs(v.Cost) + Math.Abs(v.Quad) * (double.IsFinite(xmax) ? xmax : 0));
        }
        foreach (var r in _p.Rows)
            if (r.Kind == ClearingRowKind.CostSegment) s = Math.Max(s, Math.Abs(r.Terms[0].Coef));
        return s;
    }

    /// <summary>
    /// The complementarity pairs with their big-Ms. Primal Ms are the exact ranges of the slacks (hi − lo; for a cost segment the
    /// largest gap between the cost curve and the segment over [Pmin, Pmax]); dual Ms are derived from the price scale Π of the data:
    /// bound multipliers |λ − c| ≤ 4Π + |c|, branch multipliers 8Π / max_b |PTDF_lb| (a lone binding branch moves the LMPs by at
    /// most 8Π), cost-segment multipliers ≤ 1 (they sum to 1). Heuristic Ms are verified at the solution.
    /// </summary>
    private void BuildPairs()
    {
        double pi = PriceScale();
        double lambdaM = 4 * pi * _o.BigMScale;
        var flowBranches = _p.Rows.Where(r => r.Kind is ClearingRowKind.Flow or ClearingRowKind.Angle).Select(r => r.Index).Distinct().ToList();
        var ptdf = flowBranches.Count > 0 ? _p.Dc.Ptdf(flowBranches) : [];
        var ptdfOf = new Dictionary<int, double[]>();
        for (int k = 0; k < flowBranches.Count; k++) ptdfOf[flowBranches[k]] = ptdf[k];

        for (int i = 0; i < _p.Rows.Count; i++)
        {
            var r = _p.Rows[i];
            if (r.Equality) continue;
            double dualM;
            bool dualExact = false;
            double primalM = r.Hi - r.Lo;
            bool primalExact = double.IsFinite(primalM);
            (double Min, double Max)? reach = null;
            if (r.Kind == ClearingRowKind.CostSegment)
            {
                dualM = 1;
                dualExact = true;
                primalM = SegmentGap(r);
                primalExact = true;
            }
            else
            {
                var h = ptdfOf[r.Index];
                double hmax = Math.Max(1e-3, h.Max(Math.Abs));
                dualM = 2 * lambdaM / hmax;
                if (r.Kind == ClearingRowKind.Angle) dualM *= Math.Abs(_p.Dc.B[r.Index]);
                reach = FlowReach(r, h);
                if (!primalExact) primalM = 2 * Math.PI * _p.Net.BaseMva; // a one-sided angle limit: heuristic, verified
            }
            if (double.IsFinite(r.Lo))
                _pairs.Add(new Pair(PairSide.RowLower, i, primalM, primalExact, dualM, dualExact)
                { Inactive = _o.FixBinariesFromData && reach is { } rl && rl.Min > r.Lo + 1e-6 * Math.Max(1, Math.Abs(r.Lo)) });
            if (double.IsFinite(r.Hi))
                _pairs.Add(new Pair(PairSide.RowUpper, i, primalM, primalExact, dualM, dualExact)
                { Inactive = _o.FixBinariesFromData && reach is { } ru && ru.Max < r.Hi - 1e-6 * Math.Max(1, Math.Abs(r.Hi)) });
        }
        for (int j = 0; j < _p.Vars.Count; j++)
        {
            var v = _p.Vars[j];
            if (v.Fixed) continue;
            double range = v.Hi - v.Lo;
            double dualM = lambdaM + Math.Abs(v.Cost) + Math.Abs(v.Quad) * Math.Max(Math.Abs(v.Lo), Math.Abs(v.Hi));
            if (v.Leader >= 0) dualM = lambdaM + Math.Max(Math.Abs(v.Cost), Math.Abs(_leader.PriceCap));
            if (double.IsFinite(v.Lo)) _pairs.Add(new Pair(PairSide.VarLower, j, range, true, dualM, false));
            if (double.IsFinite(v.Hi)) _pairs.Add(new Pair(PairSide.VarUpper, j, range, true, dualM, false));
        }
    }

    /// <summary>Largest slack of cost segment r over [Pmin, Pmax]: max over the generator's segments at both ends (convex curve).</summary>
    private double SegmentGap(ClearingRow r)
    {
        int x = r.Terms[0].Var;
        var v = _p.Vars[x];
        var segs = _p.Rows.Where(s => s.Kind == ClearingRowKind.CostSegment && s.Index == r.Index).ToList();
        double gap = 0;
        foreach (double p in new[] { v.Lo, v.Hi })
        {
            double curve = segs.Max(s => s.Terms[0].Coef * p - s.Hi);
            gap = Math.Max(gap, curve - (r.Terms[0].Coef * p - r.Hi));
        }
        return Math.Max(gap, 1e-9) * (1 + 1e-9) + 1e-9;
    }

    /// <summary>
    /// Range of a flow row's value over every dispatch within the injection bounds, by PTDF: flow (MW) = Σ_b PTDF_lb·(inj_b −
    /// baseMVA·Pbusinj_b) + baseMVA·Pfinj_l, and the row holds the flow less its fixed part (the midpoint of its bounds).
    /// A limit outside this range can never bind; its binary is fixed by the data. Angle rows: not bounded (infinite range).
    /// </summary>
    private (double Min, double Max) FlowReach(ClearingRow r, double[] h)
    {
        if (r.Kind != ClearingRowKind.Flow) return (double.NegativeInfinity, double.PositiveInfinity);
        int l = r.Index;
        double baseMva = _p.Net.BaseMva;
        double lo = baseMva * _p.Dc.PfInj[l], hi = lo;
        for (int b = 0; b < h.Length; b++)
        {
            if (h[b] == 0 || _p.Dc.Dead[b]) continue;
            double shift = baseMva * _p.Dc.PbusInj[b];
            double a = h[b] * (_p.InjMin[b] - shift), c = h[b] * (_p.InjMax[b] - shift);
            lo += Math.Min(a, c);
            hi += Math.Max(a, c);
        }
        double fixedPart = -(r.Hi + r.Lo) / 2; // bounds are ±rateA − fixed part
        return (lo - fixedPart, hi - fixedPart);
    }

    /// <summary>Handles of one built model.</summary>
    private sealed class Built : IDisposable
    {
        public void Dispose() => S.Dispose();
        public required OrSolver S;
        public required OrVar[] X;
        public required OrVar?[] Y;          // equality rows: free dual
        public required OrVar[] Mu;          // per pair
        public required OrVar?[] Z;          // per pair (null when inactive or fixed LP)
        public required OrVar?[] Price;      // per leader block
        public required OrVar?[] Qty;        // per leader block
        public required OrVar?[] T;          // per quadratic variable
    }

    /// <summary>
    /// Solves the MPEC. Each round: the MILP (SCIP) gives the binaries and a bound; with the binaries fixed GLOP solves the
    /// rest exactly (tangent rounds on the LP until the quadratic terms are exact), which gives the profit of that active set.
    /// The MILP is re-solved with the new tangents until its bound is within the tolerance of that profit (the outer
    /// approximation overstates every other active set, so this proves optimality). Then every heuristic big-M is checked:
    /// if one is active at the solution it is enlarged ×4 and the MPEC solved again.
    /// </summary>
    public MpecSolution Solve()
    {
        var sw = Stopwatch.StartNew();
        var st = new Counters();
        double[]? hint = null;
        bool trace = Environment.GetEnvironmentVariable("OPENTE_MPEC_TRACE") == "1";
        for (int round = 0; ; round++)
        {
            st.BigMRounds++;
            Built? milp = null, pb = null;
            double bound = double.NaN;
            bool optimal = false, infeasibleRetry = false;
            while (true)
            {
                milp?.Dispose();
                pb?.Dispose();
                milp = Build(null);
                st.Milps++;
                var prm = new MPSolverParameters();
                prm.SetDoubleParam(MPSolverParameters.DoubleParam.RELATIVE_MIP_GAP, _o.RelativeGap);
                milp.S.SetTimeLimit((long)(_o.TimeLimitSeconds * 1000));
                // SCIP's default feasibility tolerance (1e-6): tighter ones made its presolve report false infeasibility; the polish
                // LP with the binaries fixed gives the exact values
                milp.S.SetSolverSpecificParametersAsString("limits/absgap = 1e-7\n");
                if (hint is not null && hint.Length == milp.S.NumVariables()) milp.S.SetHint([.. milp.S.variables()], hint);
                if (trace) milp.S.EnableOutput();
                double t0 = sw.Elapsed.TotalSeconds;
                var rs = milp.S.Solve(prm);
                st.Nodes += milp.S.Nodes();
                if (rs == OrSolver.ResultStatus.INFEASIBLE && round + 1 < _o.MaxBigMRounds)
                {
                    // no KKT point within the bounds: either the clearing is infeasible for every offer or a heuristic
                    // big-M cuts off every KKT point; enlarge them all and try again
                    milp.Dispose();
                    milp = null;
                    foreach (var pr in _pairs)
                    {
                        if (pr.Inactive) continue;
                        if (!pr.DualExact) { pr.DualM *= 4; st.Enlarged++; }
                        if (!pr.PrimalExact) { pr.PrimalM *= 4; st.Enlarged++; }
                    }
                    hint = null;
                    infeasibleRetry = true;
                    break;
                }
                if (rs is not (OrSolver.ResultStatus.OPTIMAL or OrSolver.ResultStatus.FEASIBLE))
                {
                    milp.Dispose();
                    return Fail(rs == OrSolver.ResultStatus.INFEASIBLE ? ClearingStatus.Infeasible : rs == OrSolver.ResultStatus.NOT_SOLVED ? ClearingStatus.NotConverged : ClearingStatus.Error,
                        rs == OrSolver.ResultStatus.INFEASIBLE
                        ? $"the clearing has no feasible dispatch for any offer of the leader (SCIP: infeasible, after enlarging the big-Ms {round} times)"
                        : $"SCIP: {rs.ToString().ToLowerInvariant()}", sw, st);
                }
                optimal = rs == OrSolver.ResultStatus.OPTIMAL;
                bound = milp.S.Objective().BestBound();
                hint = [.. milp.S.variables().Select(v => v.SolutionValue())];
                bool[] zval = [.. milp.Z.Select(z => z is not null && z.SolutionValue() > 0.5)];
                pb = Polish(zval);
                if (pb is null)
                    return Read(milp, bound, optimal, "the LP with the binaries fixed did not solve (SCIP's solution kept)", sw, st);
                double exact = Evaluate(pb).Objective;
                if (trace)
                    Console.Error.WriteLine($"MILP {st.Milps}: {rs} {sw.Elapsed.TotalSeconds - t0:0.000} s, {milp.S.Nodes()} nodes, objective {milp.S.Objective().Value():g12}, bound {bound:g12}, active set {exact:g12}");
                if (!optimal || bound - exact <= Math.Max(_o.RelativeGap, CutTolerance) * Math.Max(1, Math.Abs(exact)) || st.Cuts >= 40) break;
                AddTangents(milp, 0);
                st.Cuts++;
            }
            if (infeasibleRetry || pb is null) { pb?.Dispose(); milp?.Dispose(); continue; }
            using var milpDone = milp;
            using var polished = pb;
            string message = optimal ? "optimal" : "time limit reached before proven optimality";
            // ---- verify the heuristic big-Ms: none may be active at the solution
            int active = 0;
            for (int k = 0; k < _pairs.Count; k++)
            {
                var pr = _pairs[k];
                if (pr.Inactive) continue;
                if (!pr.DualExact && pb.Mu[k].SolutionValue() >= pr.DualM * (1 - 1e-6)) { pr.DualM *= 4; active++; }
                if (!pr.PrimalExact && Slack(pb, pr) >= pr.PrimalM * (1 - 1e-6)) { pr.PrimalM *= 4; active++; }
            }
            if (active == 0 || round + 1 >= _o.MaxBigMRounds)
                return Read(pb, bound, optimal && active == 0,
                    active == 0 ? message : message + $"; {active} big-M bounds still active after {round + 1} rounds", sw, st);
            st.Enlarged += active;
        }
    }

    private sealed class Counters
    {
        public long Nodes;
        public int BigMRounds, Enlarged, Cuts, Milps;
    }

    private MpecSolution Fail(ClearingStatus status, string message, Stopwatch sw, Counters st) =>
        new(status, false, false, message, double.NaN, double.NaN, double.NaN, [], [], [], [], Binaries, FixedByData, st.Nodes, st.BigMRounds, st.Enlarged, st.Cuts, st.Milps, sw.Elapsed.TotalSeconds);

    private double Slack(Built b, Pair pr)
    {
        switch (pr.Side)
        {
            case PairSide.VarLower: return b.X[pr.Index].SolutionValue() - _p.Vars[pr.Index].Lo;
            case PairSide.VarUpper: return (_p.Vars[pr.Index].Leader >= 0 && b.Qty[_p.Vars[pr.Index].Leader] is OrVar q ? q.SolutionValue() : _p.Vars[pr.Index].Hi) - b.X[pr.Index].SolutionValue();
        }
        var r = _p.Rows[pr.Index];
        double ax = r.Terms.Sum(t => t.Coef * b.X[t.Var].SolutionValue());
        return pr.Side == PairSide.RowLower ? ax - r.Lo : r.Hi - ax;
    }

    /// <summary>Adds a tangent where t_j is below x_j² by more than the tolerance; true when any was added.</summary>
    private bool AddTangents(Built b, double relTol)
    {
        double obj = b.S.Objective().Value();
        double total = 0;
        var add = new List<(int, double)>();
        for (int j = 0; j < _p.Vars.Count; j++)
        {
            if (b.T[j] is not OrVar t) continue;
            double x = b.X[j].SolutionValue();
            double err = _p.Vars[j].Quad * (x * x - t.SolutionValue());
            total += Math.Max(0, err);
            if (err > 1e-12 * Math.Max(1, Math.Abs(obj))) add.Add((j, x));
        }
        if (total <= Math.Max(relTol, 1e-10) * Math.Max(1, Math.Abs(obj))) return false;
        foreach (var (j, x) in add) _tangents[j].Add(x);
        return add.Count > 0;
    }

    private Built? Polish(bool[] z)
    {
        for (int round = 0; ; round++)
        {
            var pb = Build(z);
            if (pb.S.Solve() != OrSolver.ResultStatus.OPTIMAL) { pb.Dispose(); return null; }
            if (round >= 60 || !AddTangents(pb, 1e-12)) return pb;
            pb.Dispose();
        }
    }

    /// <summary>The leader's profit Σ (λ − cost)·q at a solved model, and the MILP objective (profit with the tie-break terms).</summary>
    private (double Profit, double Objective) Evaluate(Built b)
    {
        double profit = 0, objective = 0;
        for (int k = 0; k < _leader.Blocks.Count; k++)
        {
            var blk = _leader.Blocks[k];
            int j = _p.LeaderVar[k];
            if (j >= 0 && b.Y[_p.BalanceRow[_p.Net.BusIndex[blk.Bus]]] is OrVar y)
                profit += (y.SolutionValue() - blk.Price) * Math.Max(0, b.X[j].SolutionValue());
            if (b.Price[k] is OrVar pv) objective -= TieWeight * pv.SolutionValue();
            if (b.Qty[k] is OrVar qv) objective += TieWeight * qv.SolutionValue();
        }
        return (profit, profit + objective);
    }

    private MpecSolution Read(Built b, double bound, bool optimal, string message, Stopwatch sw, Counters st)
    {
        int nk = _leader.Blocks.Count, nb = _p.Net.BusCount;
        var lmp = new double[nb];
        for (int bus = 0; bus < nb; bus++) lmp[bus] = _p.BalanceRow[bus] >= 0 && b.Y[_p.BalanceRow[bus]] is OrVar y ? y.SolutionValue() : double.NaN;
        var price = new double[nk];
        var qty = new double[nk];
        var cleared = new double[nk];
        for (int k = 0; k < nk; k++)
        {
            var blk = _leader.Blocks[k];
            price[k] = b.Price[k] is OrVar pv ? pv.SolutionValue() : blk.Price;
            qty[k] = b.Qty[k] is OrVar qv ? qv.SolutionValue() : blk.Quantity;
            int j = _p.LeaderVar[k];
            cleared[k] = j >= 0 ? Math.Max(0, b.X[j].SolutionValue()) : 0;
        }
        var (profit, objective) = Evaluate(b);
        return new MpecSolution(optimal ? ClearingStatus.Optimal : ClearingStatus.NotConverged, true, optimal, message, profit, objective, bound, price, qty, cleared, lmp, Binaries, FixedByData, st.Nodes,
            st.BigMRounds, st.Enlarged, st.Cuts, st.Milps, sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Builds the single-level model: SCIP with binaries (<paramref name="fixedZ"/> null) or GLOP with the binaries fixed.
    /// </summary>
    private Built Build(bool[]? fixedZ)
    {
        var s = (fixedZ is null ? OrSolver.CreateSolver("SCIP") : OrSolver.CreateSolver("GLOP"))
            ?? throw new InvalidOperationException("OR-Tools could not create the SCIP/GLOP solver");
        double inf = double.PositiveInfinity;
        int nv = _p.Vars.Count, nr = _p.Rows.Count, nk = _leader.Blocks.Count;

        // ---- upper level: offer prices and quantities of the leader's blocks
        var price = new OrVar?[nk];
        var qty = new OrVar?[nk];
        for (int k = 0; k < nk; k++)
        {
            var blk = _leader.Blocks[k];
            if (_leader.Mode != StrategicMode.Quantity)
                price[k] = s.MakeNumVar(blk.Price, Math.Max(blk.Price, _leader.PriceCap), $"offer[{k}]");
            if (_leader.Mode != StrategicMode.Price)
                qty[k] = s.MakeNumVar(0, blk.Quantity, $"quantity[{k}]");
        }
        // offers stay monotone per bus in block order (a bids file can hold them)
        if (_leader.Mode != StrategicMode.Quantity)
            foreach (var g in Enumerable.Range(0, nk).GroupBy(k => _leader.Blocks[k].Bus))
            {
                var ks = g.OrderBy(k => _leader.Blocks[k].Block).ToList();
                for (int i = 1; i < ks.Count; i++)
                {
                    var c = s.MakeConstraint(-inf, 0, $"monotone[{ks[i]}]");
                    c.SetCoefficient(price[ks[i - 1]]!, 1);
                    c.SetCoefficient(price[ks[i]]!, -1);
                }
            }

        // ---- lower level: primal feasibility
        var x = new OrVar[nv];
        for (int j = 0; j < nv; j++)
        {
            var v = _p.Vars[j];
            x[j] = s.MakeNumVar(v.Lo, v.Hi, v.Name);
            if (v.Leader >= 0 && qty[v.Leader] is OrVar q)
            {
                var c = s.MakeConstraint(-inf, 0, $"offered[{v.Leader}]");
                c.SetCoefficient(x[j], 1);
                c.SetCoefficient(q, -1);
            }
        }
        for (int i = 0; i < nr; i++)
        {
            var r = _p.Rows[i];
            var c = s.MakeConstraint(r.Lo, r.Hi, r.Name);
            foreach (var (j, a) in r.Terms) c.SetCoefficient(x[j], c.GetCoefficient(x[j]) + a);
        }

        // ---- dual variables: free for equalities, μ ≥ 0 per complementarity pair, with the disjunctions
        var y = new OrVar?[nr];
        for (int i = 0; i < nr; i++) if (_p.Rows[i].Equality) y[i] = s.MakeNumVar(-inf, inf, $"lambda[{_p.Rows[i].Name}]");
        var mu = new OrVar[_pairs.Count];
        var zs = new OrVar?[_pairs.Count];
        var rowLo = new int[nr]; var rowHi = new int[nr]; var varLo = new int[nv]; var varHi = new int[nv];
        Arrays.Fill(rowLo, -1); Arrays.Fill(rowHi, -1); Arrays.Fill(varLo, -1); Arrays.Fill(varHi, -1);
        for (int k = 0; k < _pairs.Count; k++)
        {
            var pr = _pairs[k];
            (pr.Side switch { PairSide.RowLower => rowLo, PairSide.RowUpper => rowHi, PairSide.VarLower => varLo, _ => varHi })[pr.Index] = k;
            if (pr.Inactive) { mu[k] = s.MakeNumVar(0, 0, $"mu[{k}]"); continue; }
            mu[k] = s.MakeNumVar(0, pr.DualM, $"mu[{k}]");
            OrVar z = fixedZ is null ? s.MakeBoolVar($"z[{k}]") : s.MakeNumVar(fixedZ[k] ? 1 : 0, fixedZ[k] ? 1 : 0, $"z[{k}]");
            zs[k] = z;
            // μ ≤ Md·z
            var cd = s.MakeConstraint(-inf, 0, $"dualM[{k}]");
            cd.SetCoefficient(mu[k], 1);
            cd.SetCoefficient(z, -pr.DualM);
            // slack ≤ Mp·(1 − z)   ⇔   slack + Mp·z ≤ Mp
            var cp = s.MakeConstraint(-inf, pr.PrimalM, $"primalM[{k}]");
            cp.SetCoefficient(z, pr.PrimalM);
            switch (pr.Side)
            {
                case PairSide.VarLower:
                    cp.SetCoefficient(x[pr.Index], 1);
                    cp.SetBounds(-inf, pr.PrimalM + _p.Vars[pr.Index].Lo);
                    break;
                case PairSide.VarUpper:
                    cp.SetCoefficient(x[pr.Index], -1);
                    if (_p.Vars[pr.Index].Leader is int lk && lk >= 0 && qty[lk] is OrVar q) cp.SetCoefficient(q, 1);
                    else cp.SetBounds(-inf, pr.PrimalM - _p.Vars[pr.Index].Hi);
                    break;
                default:
                {
                    var r = _p.Rows[pr.Index];
                    double sign = pr.Side == PairSide.RowLower ? 1 : -1;
                    foreach (var (j, a) in r.Terms) cp.SetCoefficient(x[j], cp.GetCoefficient(x[j]) + sign * a);
                    cp.SetBounds(-inf, pr.PrimalM + (pr.Side == PairSide.RowLower ? r.Lo : -r.Hi));
                    break;
                }
            }
        }
        // both sides of one range cannot bind at once
        if (fixedZ is null)
        {
            for (int i = 0; i < nr; i++)
                if (rowLo[i] >= 0 && rowHi[i] >= 0 && zs[rowLo[i]] is OrVar a && zs[rowHi[i]] is OrVar bz)
                { var c = s.MakeConstraint(-inf, 1, $"oneSide[{i}]"); c.SetCoefficient(a, 1); c.SetCoefficient(bz, 1); }
            for (int j = 0; j < nv; j++)
                if (varLo[j] >= 0 && varHi[j] >= 0 && zs[varLo[j]] is OrVar a && zs[varHi[j]] is OrVar bz && _p.Vars[j].Leader < 0)
                { var c = s.MakeConstraint(-inf, 1, $"oneBound[{j}]"); c.SetCoefficient(a, 1); c.SetCoefficient(bz, 1); }
        }

        // ---- stationarity: c_j + q_j·x_j − Σ_i a_ij·y_i − ρ⁻_j + ρ⁺_j = 0
        for (int j = 0; j < nv; j++)
        {
            var v = _p.Vars[j];
            double constCost = v.Leader >= 0 && price[v.Leader] is not null ? 0 : v.Cost;
            var c = s.MakeConstraint(-constCost, -constCost, $"stationarity[{v.Name}]");
            if (v.Leader >= 0 && price[v.Leader] is OrVar pv) c.SetCoefficient(pv, 1);
            if (v.Quad != 0) c.SetCoefficient(x[j], v.Quad);
            foreach (var (i, a) in _cols[j])
            {
                if (y[i] is OrVar yi) c.SetCoefficient(yi, c.GetCoefficient(yi) - a);
                if (rowLo[i] >= 0) c.SetCoefficient(mu[rowLo[i]], c.GetCoefficient(mu[rowLo[i]]) - a);
                if (rowHi[i] >= 0) c.SetCoefficient(mu[rowHi[i]], c.GetCoefficient(mu[rowHi[i]]) + a);
            }
            if (varLo[j] >= 0) c.SetCoefficient(mu[varLo[j]], -1);
            if (varHi[j] >= 0) c.SetCoefficient(mu[varHi[j]], 1);
        }

        // ---- objective: the leader's profit by strong duality
        //      Σ_k λ·q_k = Σ_eq rhs·λ + Σ_pairs (lo·μ⁻ − hi·μ⁺) [without the leader's own upper bounds] − Σ_{j∉leader} c_j·x_j − Σ q_j·x_j²
        var obj = s.Objective();
        void Add(OrVar v, double c) { if (c != 0) obj.SetCoefficient(v, obj.GetCoefficient(v) + c); }
        for (int i = 0; i < nr; i++) if (y[i] is OrVar yi) Add(yi, _p.Rows[i].Lo);
        for (int k = 0; k < _pairs.Count; k++)
        {
            var pr = _pairs[k];
            switch (pr.Side)
            {
                case PairSide.RowLower: Add(mu[k], _p.Rows[pr.Index].Lo); break;
                case PairSide.RowUpper: Add(mu[k], -_p.Rows[pr.Index].Hi); break;
                case PairSide.VarLower: Add(mu[k], _p.Vars[pr.Index].Lo); break;
                case PairSide.VarUpper: if (_p.Vars[pr.Index].Leader < 0) Add(mu[k], -_p.Vars[pr.Index].Hi); break;
            }
        }
        var t = new OrVar?[nv];
        for (int j = 0; j < nv; j++)
        {
            var v = _p.Vars[j];
            if (v.Leader >= 0) { Add(x[j], -_leader.Blocks[v.Leader].Price); continue; }
            Add(x[j], -v.Cost);
            if (_tangents[j] is { } pts)
            {
                t[j] = s.MakeNumVar(0, inf, $"sq[{v.Name}]");
                Add(t[j]!, -v.Quad);
                int n = 0;
                foreach (double a in pts)
                {
                    // t ≥ 2a·x − a²
                    var c = s.MakeConstraint(-a * a, inf, $"tangent[{j},{n++}]");
                    c.SetCoefficient(t[j]!, 1);
                    c.SetCoefficient(x[j], -2 * a);
                }
            }
        }
        // ties: among offers with the same profit prefer the lower price and the larger quantity
        for (int k = 0; k < nk; k++)
        {
            if (price[k] is OrVar pv) Add(pv, -TieWeight);
            if (qty[k] is OrVar qv) Add(qv, TieWeight);
        }
        obj.SetMaximization();
        return new Built { S = s, X = x, Y = y, Mu = mu, Z = zs, Price = price, Qty = qty, T = t };
    }
}
