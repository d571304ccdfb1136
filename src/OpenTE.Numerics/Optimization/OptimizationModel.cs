using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Optimization;

/// <summary>A variable of an <see cref="OptimizationModel"/>.</summary>
public readonly record struct Variable(int Index, string Name);

/// <summary>A named linear constraint lower ≤ a·x ≤ upper of an <see cref="OptimizationModel"/>.</summary>
public readonly record struct Constraint(int Index, string Name);

public enum SolverKind
{
    /// <summary>
    /// Linear models: CLP (dual simplex with presolve), falling back to GLOP without presolve and then to the interior
    /// point when a solver ends in anything but optimal/infeasible/unbounded; "infeasible" is confirmed by a second solver.
    /// Quadratic objectives: the interior-point method. <see cref="ModelSolution.Solver"/> names the one that answered.
    /// </summary>
    Auto,
    /// <summary>Google OR-Tools GLOP (simplex; linear objectives only). Vertex duals.</summary>
    Glop,
    /// <summary>COIN-OR CLP through OR-Tools (dual simplex with presolve; linear objectives only). Vertex duals.</summary>
    Clp,
    /// <summary>OpenTE's primal–dual interior-point method (LP and convex QP). Central duals, like MATPOWER's MIPS.</summary>
    InteriorPoint,
}

/// <summary>
/// The solution of an <see cref="OptimizationModel"/>. <see cref="Dual(Constraint)"/> is the sensitivity of
/// the optimal objective to the constraint's active bound (∂f*/∂rhs, the textbook sign for a minimisation:
/// e.g. min 10x + 20y s.t. x + y = 5, x ≤ 3 gives dual 20 on the balance row).
/// </summary>
public sealed class ModelSolution
{
    private readonly OptimizationModel _model;
    internal ModelSolution(OptimizationModel model, SolverStatus status, SolverKind solver, double objective, double[] values,
        double[] duals, double[] reducedCosts, int iterations, string message)
    {
        _model = model;
        Status = status;
        Solver = solver;
        Objective = objective;
        Values = values;
        Duals = duals;
        ReducedCosts = reducedCosts;
        Iterations = iterations;
        Message = message;
    }

    public SolverStatus Status { get; }
    public SolverKind Solver { get; }
    public double Objective { get; }
    public IReadOnlyList<double> Values { get; }
    public IReadOnlyList<double> Duals { get; }
    /// <summary>∂f*/∂(bound) of each variable's active bound (0 when strictly inside its bounds).</summary>
    public IReadOnlyList<double> ReducedCosts { get; }
    public int Iterations { get; }
    public string Message { get; }

    /// <summary>The same solution with another message (the fallback trail of <see cref="SolverKind.Auto"/>).</summary>
    internal ModelSolution WithMessage(string message) =>
        new(_model, Status, Solver, Objective, (double[])Values, (double[])Duals, (double[])ReducedCosts, Iterations, message);

    /// <summary>The same solution with another status and message (a failure that is not a proof of infeasibility).</summary>
    internal ModelSolution WithStatus(SolverStatus status, string message) =>
        new(_model, status, Solver, Objective, (double[])Values, (double[])Duals, (double[])ReducedCosts, Iterations, message);

    public double Value(Variable v) => Values[v.Index];
    public double Dual(Constraint c) => Duals[c.Index];
    public double Dual(string constraintName) => Duals[_model.ConstraintByName(constraintName).Index];
    public double ReducedCost(Variable v) => ReducedCosts[v.Index];

    /// <summary>
    /// The dual objective c₀ − ½xᵀQx + Σᵢ yᵢ·(active bound of row i) + Σⱼ rⱼ·(active bound of xⱼ). Equal to
    /// <see cref="Objective"/> at a KKT point (strong duality); tests compare the two.
    /// </summary>
    public double DualObjective() => _model.DualObjective(Values, Duals, ReducedCosts);
}

/// <summary>
/// A linear or convex quadratic program written with named variables and named constraints, so that a
/// clearing problem reads like its formulation and prices are read from duals by name:
/// min Σ cⱼxⱼ + ½ Σ qᵢⱼxᵢxⱼ + c₀  s.t.  lowerᵢ ≤ aᵢ·x ≤ upperᵢ,  lⱼ ≤ xⱼ ≤ uⱼ.
/// </summary>
public sealed class OptimizationModel
{
    private readonly List<string> _varNames = [];
    private readonly List<double> _lower = [], _upper = [], _cost = [];
    private readonly List<string> _conNames = [];
    private readonly List<double> _conLower = [], _conUpper = [];
    private readonly List<(int Row, int Col, double Value)> _a = [];
    private readonly List<(int I, int J, double Value)> _q = [];
    private readonly Dictionary<string, int> _conIndex = new(StringComparer.Ordinal);

    public double ObjectiveConstant { get; set; }
    public int VariableCount => _varNames.Count;
    public int ConstraintCount => _conNames.Count;
    public bool IsQuadratic => _q.Any(t => t.Value != 0);

    public Variable AddVariable(string name, double lower, double upper, double cost = 0)
    {
        if (double.IsNaN(lower) || double.IsNaN(upper) || lower > upper)
            throw new ArgumentException($"variable '{name}': bounds [{lower}, {upper}] are not an interval");
        if (!double.IsFinite(cost)) throw new ArgumentException($"variable '{name}': cost {cost} is not finite");
        _varNames.Add(name);
        _lower.Add(lower);
        _upper.Add(upper);
        _cost.Add(cost);
        return new Variable(_varNames.Count - 1, name);
    }

    public void AddCost(Variable v, double cost) => _cost[v.Index] += cost;

    /// <summary>Adds ½·coefficient·x² (i = j) or coefficient·xᵢ·xⱼ split symmetrically (i ≠ j) to the objective.</summary>
    public void AddQuadraticCost(Variable a, Variable b, double coefficient)
    {
        if (a.Index == b.Index) _q.Add((a.Index, a.Index, coefficient));
        else
        {
            _q.Add((a.Index, b.Index, coefficient));
            _q.Add((b.Index, a.Index, coefficient));
        }
    }

    public Constraint AddConstraint(string name, double lower, double upper, IEnumerable<(Variable Var, double Coef)> terms)
    {
        if (double.IsNaN(lower) || double.IsNaN(upper) || lower > upper)
            throw new ArgumentException($"constraint '{name}': bounds [{lower}, {upper}] are not an interval");
        if (!_conIndex.TryAdd(name, _conNames.Count)) throw new ArgumentException($"constraint name '{name}' is used twice");
        int row = _conNames.Count;
        _conNames.Add(name);
        _conLower.Add(lower);
        _conUpper.Add(upper);
        foreach (var (v, c) in terms)
            if (c != 0) _a.Add((row, v.Index, c));
        return new Constraint(row, name);
    }

    public Constraint AddEquality(string name, double rhs, IEnumerable<(Variable Var, double Coef)> terms) => AddConstraint(name, rhs, rhs, terms);

    internal double DualObjective(IReadOnlyList<double> x, IReadOnlyList<double> y, IReadOnlyList<double> r)
    {
        double d = ObjectiveConstant;
        foreach (var (i, j, v) in _q) d -= 0.5 * v * x[i] * x[j];
        static double Side(double dual, double lo, double hi)
        {
            double b = dual > 0 ? lo : dual < 0 ? hi : 0;
            return double.IsFinite(b) ? b : 0;
        }
        for (int i = 0; i < ConstraintCount; i++)
            if (y[i] != 0) d += y[i] * Side(y[i], _conLower[i], _conUpper[i]);
        for (int j = 0; j < VariableCount; j++)
            if (r[j] != 0) d += r[j] * Side(r[j], _lower[j], _upper[j]);
        return d;
    }

    public Constraint ConstraintByName(string name) =>
        _conIndex.TryGetValue(name, out int i) ? new Constraint(i, name) : throw new KeyNotFoundException($"no constraint named '{name}'");

    public string VariableName(int index) => _varNames[index];
    public string ConstraintName(int index) => _conNames[index];

    public ModelSolution Solve(SolverKind kind = SolverKind.Auto, InteriorPointOptions? options = null)
    {
        if (kind is SolverKind.Glop or SolverKind.Clp && IsQuadratic)
            throw new NotSupportedException($"{(kind == SolverKind.Glop ? "GLOP" : "CLP")} solves linear programs only and this problem has quadratic costs — use the interior-point solver (SolverKind.InteriorPoint or Auto; --solver ipm or auto)");
        return kind switch
        {
            SolverKind.Glop => SolveOrTools(SolverKind.Glop, null),
            SolverKind.Clp => SolveOrTools(SolverKind.Clp, null),
            SolverKind.InteriorPoint => SolveIpm(options),
            _ => IsQuadratic ? SolveQuadraticAuto(options) : SolveLinearAuto(options),
        };
    }

    /// <summary>
    /// The no-dead-end chain for linear programs. GLOP's presolve was seen to answer "abnormal" on 19 and "infeasible"
    /// on 9 of the 59 PGLib DC OPFs that CLP solves (issue #16), so CLP goes first (HiGHS, also in OR-Tools, solves
    /// them too but its duals through OR-Tools 9.15 were wrong on pglib case5_pjm: LMPs of 0); a status other than
    /// optimal/infeasible/unbounded moves on to GLOP without presolve, then to the interior point. An "infeasible" or
    /// "unbounded" answer is only reported when a second simplex (GLOP without presolve) does not find an optimum.
    /// </summary>
    private ModelSolution SolveLinearAuto(InteriorPointOptions? options)
    {
        var trail = new List<string>();
        ModelSolution? last = null;
        foreach (var attempt in new Func<ModelSolution>[]
                 { () => SolveOrTools(SolverKind.Clp, null), () => SolveOrTools(SolverKind.Glop, "use_preprocessing: false"), () => SolveIpm(options) })
        {
            var r = attempt();
            if (r.Status == SolverStatus.Optimal)
                return trail.Count == 0 ? r : r.WithMessage(string.Join("; ", trail) + " → " + r.Message);
            trail.Add(r.Message);
            if (last is { Status: SolverStatus.Infeasible or SolverStatus.Unbounded } && r.Status == last.Status)
                return last.WithMessage(string.Join("; ", trail) + $" (confirmed by {r.Solver})");
            if (last is not { Status: SolverStatus.Infeasible or SolverStatus.Unbounded }) last = r;
        }
        return last!.WithMessage(string.Join("; ", trail));
    }

    /// <summary>
    /// The no-dead-end chain for quadratic programs: the interior point; if it does not answer "optimal", the same
    /// constraints with the linear part of the costs go to the simplex chain. Its "infeasible" (itself confirmed by a
    /// second simplex) confirms the interior point's; its optimum is a feasible vertex from which the interior point
    /// starts again (PGLib case10192_epigrids: "the multipliers grow without bound" from the box midpoint, optimal from
    /// the vertex), and if that fails once more, from the vertex with the other centring rule (with/without Mehrotra's
    /// corrector). A failure of all three is reported as not converged, never as infeasible.
    /// </summary>
    private ModelSolution SolveQuadraticAuto(InteriorPointOptions? options)
    {
        var first = SolveIpm(options);
        if (first.Status == SolverStatus.Optimal) return first;
        var lp = SolveLinearAuto(options);
        if (lp.Status is SolverStatus.Infeasible or SolverStatus.Unbounded && lp.Status == first.Status)
            return first.WithMessage($"{first.Message}; confirmed by the linear part ({lp.Message})");
        if (lp.Status == SolverStatus.Infeasible)
            return lp.WithMessage($"{first.Message}; the constraints alone: {lp.Message}");
        if (lp.Status != SolverStatus.Optimal)
            return first.WithStatus(SolverStatus.NotConverged, $"{first.Message}; the linear part: {lp.Message}");
        var second = SolveIpm(options, [.. lp.Values]);
        string trail = $"{first.Message}; restarted from the {lp.Solver} vertex of the linear costs";
        if (second.Status == SolverStatus.Optimal) return second.WithMessage($"{trail} → {second.Message}");
        // the other centring rule from the same vertex: a random preventive SCOPF (CsCheck seed 0eZpwXclL2z2) stalled at
        // gradient 4e-3 with Mehrotra's corrector from both starts and converged in 11 iterations with MIPS's centring
        var o = options ?? new InteriorPointOptions();
        var third = SolveIpm(o with { PredictorCorrector = !o.PredictorCorrector }, [.. lp.Values]);
        string rule = o.PredictorCorrector ? "without" : "with";
        trail = $"{trail}: {second.Message}; again {rule} Mehrotra's corrector";
        return third.Status == SolverStatus.Optimal
            ? third.WithMessage($"{trail} → {third.Message}")
            : third.WithStatus(SolverStatus.NotConverged, $"{trail}: {third.Message}");
    }

    private ModelSolution SolveOrTools(SolverKind kind, string? parameters)
    {
        string id = kind == SolverKind.Clp ? "CLP" : "GLOP";
        using var solver = Google.OrTools.LinearSolver.Solver.CreateSolver(id)
            ?? throw new InvalidOperationException($"OR-Tools could not create the {id} solver");
        solver.SuppressOutput();
        if (parameters is not null) solver.SetSolverSpecificParametersAsString(parameters);
        var vars = new Google.OrTools.LinearSolver.Variable[VariableCount];
        for (int j = 0; j < vars.Length; j++) vars[j] = solver.MakeNumVar(_lower[j], _upper[j], _varNames[j]);
        var cons = new Google.OrTools.LinearSolver.Constraint[ConstraintCount];
        for (int i = 0; i < cons.Length; i++) cons[i] = solver.MakeConstraint(_conLower[i], _conUpper[i], _conNames[i]);
        foreach (var (r, c, v) in _a) cons[r].SetCoefficient(vars[c], cons[r].GetCoefficient(vars[c]) + v);
        var obj = solver.Objective();
        for (int j = 0; j < vars.Length; j++) obj.SetCoefficient(vars[j], _cost[j]);
        obj.SetOffset(ObjectiveConstant);
        obj.SetMinimization();
        var rs = solver.Solve();
        if (rs == Google.OrTools.LinearSolver.Solver.ResultStatus.INFEASIBLE)
        {
            // presolve reports "infeasible or unbounded" as INFEASIBLE: a feasibility solve tells them apart
            obj.Clear();
            if (solver.Solve() == Google.OrTools.LinearSolver.Solver.ResultStatus.OPTIMAL) rs = Google.OrTools.LinearSolver.Solver.ResultStatus.UNBOUNDED;
        }
        var status = rs switch
        {
            Google.OrTools.LinearSolver.Solver.ResultStatus.OPTIMAL => SolverStatus.Optimal,
            Google.OrTools.LinearSolver.Solver.ResultStatus.INFEASIBLE => SolverStatus.Infeasible,
            Google.OrTools.LinearSolver.Solver.ResultStatus.UNBOUNDED => SolverStatus.Unbounded,
            Google.OrTools.LinearSolver.Solver.ResultStatus.FEASIBLE => SolverStatus.NotConverged,
            _ => SolverStatus.NumericalError,
        };
        var values = new double[vars.Length];
        var rc = new double[vars.Length];
        var duals = new double[cons.Length];
        if (status == SolverStatus.Optimal)
        {
            for (int j = 0; j < vars.Length; j++) { values[j] = CleanValue(vars[j].SolutionValue(), _lower[j], _upper[j]); rc[j] = vars[j].ReducedCost(); }
            for (int i = 0; i < cons.Length; i++) duals[i] = cons[i].DualValue();
        }
        double objective = double.NaN;
        if (status == SolverStatus.Optimal)
        {
            objective = ObjectiveConstant; // of the cleaned values (the solver's own value differs by ≤ tolerance × cost)
            for (int j = 0; j < vars.Length; j++) objective += _cost[j] * values[j];
        }
        string name = kind == SolverKind.Clp ? "CLP" : parameters is null ? "GLOP" : "GLOP (no presolve)";
        return new ModelSolution(this, status, kind, objective, values, duals, rc, (int)solver.Iterations(),
            $"{name}: {rs.ToString().ToLowerInvariant()}");
    }

    /// <summary>
    /// A simplex value as the user reads it: inside its bounds (a basic variable may sit outside by up to the solver's
    /// feasibility tolerance, ~1e-7 — e.g. CLP returning an accepted bid of −1e-10 p.u.) and exactly on a bound it is
    /// within 1e-9 of (the vertex the simplex stands on), so "nothing traded" reads 0, not ±1e-8 MW.
    /// </summary>
    internal static double CleanValue(double x, double lower, double upper)
    {
        const double snap = 1e-9;
        if (double.IsFinite(lower) && x <= lower + snap * Math.Max(1, Math.Abs(lower))) return lower;
        if (double.IsFinite(upper) && x >= upper - snap * Math.Max(1, Math.Abs(upper))) return upper;
        return x;
    }

    private ModelSolution SolveIpm(InteriorPointOptions? options, double[]? start = null)
    {
        var program = new QpProgram(this) { Start = start };
        var r = InteriorPoint.Solve(program, options);
        var duals = new double[ConstraintCount];
        for (int i = 0; i < ConstraintCount; i++)
        {
            int e = program.EqRow[i], u = program.UpperRow[i], l = program.LowerRow[i];
            if (e >= 0) duals[i] = -r.Lambda[e];
            else duals[i] = (l >= 0 ? r.Mu[l] : 0) - (u >= 0 ? r.Mu[u] : 0);
        }
        var rc = new double[VariableCount];
        for (int j = 0; j < VariableCount; j++) rc[j] = r.MuLower[j] - r.MuUpper[j];
        return new ModelSolution(this, r.Status, SolverKind.InteriorPoint, r.Objective, r.X, duals, rc, r.Iterations, "IPM: " + r.Message);
    }

    /// <summary>The model as an <see cref="INonlinearProgram"/>: equalities for lower = upper rows, ≤ rows for finite sides.</summary>
    private sealed class QpProgram : INonlinearProgram
    {
        private readonly OptimizationModel _m;
        private readonly double[] _lower, _upper, _cost;
        private readonly SparseMatrix _q, _aEq, _aIq;
        private readonly double[] _bEq, _bIq;
        public int[] EqRow { get; }
        public int[] UpperRow { get; }
        public int[] LowerRow { get; }

        public QpProgram(OptimizationModel m)
        {
            _m = m;
            int n = m.VariableCount, rows = m.ConstraintCount;
            _lower = [.. m._lower];
            _upper = [.. m._upper];
            _cost = [.. m._cost];
            EqRow = new int[rows];
            UpperRow = new int[rows];
            LowerRow = new int[rows];
            var bEq = new List<double>();
            var bIq = new List<double>();
            var rowsOf = new List<(int Eq, int Up, int Lo)>();
            for (int i = 0; i < rows; i++)
            {
                EqRow[i] = UpperRow[i] = LowerRow[i] = -1;
                double lo = m._conLower[i], hi = m._conUpper[i];
                if (lo == hi) { EqRow[i] = bEq.Count; bEq.Add(lo); continue; }
                if (double.IsFinite(hi)) { UpperRow[i] = bIq.Count; bIq.Add(hi); }
                if (double.IsFinite(lo)) { LowerRow[i] = bIq.Count; bIq.Add(-lo); }
            }
            _bEq = [.. bEq];
            _bIq = [.. bIq];
            var eq = new TripletBuilder(_bEq.Length, n, m._a.Count);
            var iq = new TripletBuilder(_bIq.Length, n, m._a.Count);
            foreach (var (r, c, v) in m._a)
            {
                if (EqRow[r] >= 0) eq.Add(EqRow[r], c, v);
                if (UpperRow[r] >= 0) iq.Add(UpperRow[r], c, v);
                if (LowerRow[r] >= 0) iq.Add(LowerRow[r], c, -v);
            }
            _aEq = eq.ToCsc();
            _aIq = iq.ToCsc();
            var q = new TripletBuilder(n, n, m._q.Count + n);
            foreach (var (i, j, v) in m._q) q.Add(i, j, v);
            for (int j = 0; j < n; j++) q.Add(j, j, 0);
            _q = q.ToCsc();
        }

        public int Variables => _m.VariableCount;
        public int Equalities => _bEq.Length;
        public int Inequalities => _bIq.Length;
        public ReadOnlySpan<double> Lower => _lower;
        public ReadOnlySpan<double> Upper => _upper;

        public double Objective(ReadOnlySpan<double> x, Span<double> gradient)
        {
            _q.Multiply(x, gradient);
            double f = _m.ObjectiveConstant;
            for (int j = 0; j < x.Length; j++)
            {
                f += _cost[j] * x[j] + 0.5 * gradient[j] * x[j];
                gradient[j] += _cost[j];
            }
            return f;
        }

        public void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h)
        {
            _aEq.Multiply(x, g);
            for (int k = 0; k < g.Length; k++) g[k] -= _bEq[k];
            _aIq.Multiply(x, h);
            for (int k = 0; k < h.Length; k++) h[k] -= _bIq[k];
        }

        public (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x) => (_aEq, _aIq);

        public SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu) => sigma == 1 ? _q : _q.Scale(sigma);

        /// <summary>A starting point (e.g. a feasible vertex); null: the midpoint of each variable's bounds.</summary>
        public double[]? Start { get; init; }

        public double[] InitialPoint()
        {
            if (Start is not null) return (double[])Start.Clone();
            var x = new double[Variables];
            for (int j = 0; j < x.Length; j++)
            {
                double lo = _lower[j], hi = _upper[j];
                x[j] = double.IsFinite(lo) && double.IsFinite(hi) ? 0.5 * (lo + hi) : double.IsFinite(lo) ? lo : double.IsFinite(hi) ? hi : 0;
            }
            return x;
        }
    }
}
