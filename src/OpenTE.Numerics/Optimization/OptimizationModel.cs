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
    private readonly double[] _values, _duals, _reducedCosts;
    internal ModelSolution(OptimizationModel model, SolverStatus status, SolverKind solver, double objective, double[] values,
        double[] duals, double[] reducedCosts, int iterations, string message)
    {
        _model = model;
        Status = status;
        Solver = solver;
        Objective = objective;
        Values = _values = values;
        Duals = _duals = duals;
        ReducedCosts = _reducedCosts = reducedCosts;
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
        new(_model, Status, Solver, Objective, _values, _duals, _reducedCosts, Iterations, message);

    /// <summary>The same solution with another status and message (a failure that is not a proof of infeasibility).</summary>
    internal ModelSolution WithStatus(SolverStatus status, string message) =>
        new(_model, status, Solver, Objective, _values, _duals, _reducedCosts, Iterations, message);

    // through the arrays, not the IReadOnlyList views (an interface call on double[] is a generic helper the JIT compiles
    // at its first call in a ReadyToRun process)
    public double Value(Variable v) => _values[v.Index];
    public double Dual(Constraint c) => _duals[c.Index];
    public double Dual(string constraintName) => _duals[_model.ConstraintByName(constraintName).Index];
    public double ReducedCost(Variable v) => _reducedCosts[v.Index];

    /// <summary>
    /// The dual objective c₀ − ½xᵀQx + Σᵢ yᵢ·(active bound of row i) + Σⱼ rⱼ·(active bound of xⱼ). Equal to
    /// <see cref="Objective"/> at a KKT point (strong duality); tests compare the two.
    /// </summary>
    public double DualObjective() => _model.DualObjective(_values, _duals, _reducedCosts);
}

/// <summary>
/// A linear or convex quadratic program written with named variables and named constraints, so that a
/// clearing problem reads like its formulation and prices are read from duals by name:
/// min Σ cⱼxⱼ + ½ Σ qᵢⱼxᵢxⱼ + c₀  s.t.  lowerᵢ ≤ aᵢ·x ≤ upperᵢ,  lⱼ ≤ xⱼ ≤ uⱼ.
/// </summary>
public sealed class OptimizationModel
{
    // plain arrays with counts, not List<double> or lists of tuples: a CLI command is one short process, and the framework's
    // generic collections over value types are compiled by the JIT at their first call (ReadyToRun cannot precompile them
    // for our types) — about 0.1 ms per method, inside the solve time the user sees (docs/performance.md)
    private string[] _varNames = new string[16];
    private double[] _lower = new double[16], _upper = new double[16], _cost = new double[16];
    private int _nv;
    private string[] _conNames = new string[16];
    private double[] _conLower = new double[16], _conUpper = new double[16];
    private int _nc;
    // constraint coefficients (row, column, value) and quadratic objective terms (i, j, value), in the order added
    private int[] _aRow = new int[16], _aCol = new int[16];
    private double[] _aVal = new double[16];
    private int _na;
    private int[] _qI = new int[4], _qJ = new int[4];
    private double[] _qVal = new double[4];
    private int _nq;
    private readonly Dictionary<string, int> _conIndex = new(StringComparer.Ordinal);

    public double ObjectiveConstant { get; set; }
    public int VariableCount => _nv;
    public int ConstraintCount => _nc;
    public bool IsQuadratic
    {
        get
        {
            for (int k = 0; k < _nq; k++)
                if (_qVal[k] != 0) return true;
            return false;
        }
    }

    private static int Grown(int length, int count) => Math.Max(2 * length, count + 1);
    private static void Grow(ref double[] a, int count) { var b = new double[Grown(a.Length, count)]; Array.Copy(a, b, count); a = b; }
    private static void Grow(ref int[] a, int count) { var b = new int[Grown(a.Length, count)]; Array.Copy(a, b, count); a = b; }
    private static void Grow(ref string[] a, int count) { var b = new string[Grown(a.Length, count)]; Array.Copy(a, b, count); a = b; }
    private static double[] Head(double[] a, int count) { var b = new double[count]; Array.Copy(a, b, count); return b; }

    /// <summary>
    /// Room for this many variables, constraints and constraint terms in all (a hint for a model whose size is known
    /// beforehand, such as a network's: no regrowth while it is built; more may still be added).
    /// </summary>
    public void EnsureCapacity(int variables, int constraints, int terms)
    {
        static int Size(int wanted, int count, int length) => Math.Max(length, Math.Max(wanted, count));
        if (variables > _varNames.Length)
        {
            int size = Size(variables, _nv, _varNames.Length);
            Resize(ref _varNames, _nv, size);
            Resize(ref _lower, _nv, size);
            Resize(ref _upper, _nv, size);
            Resize(ref _cost, _nv, size);
        }
        if (constraints > _conNames.Length)
        {
            int size = Size(constraints, _nc, _conNames.Length);
            Resize(ref _conNames, _nc, size);
            Resize(ref _conLower, _nc, size);
            Resize(ref _conUpper, _nc, size);
            _conIndex.EnsureCapacity(constraints);
        }
        if (terms > _aVal.Length)
        {
            int size = Size(terms, _na, _aVal.Length);
            Resize(ref _aRow, _na, size);
            Resize(ref _aCol, _na, size);
            Resize(ref _aVal, _na, size);
        }
    }

    private static void Resize(ref double[] a, int count, int size) { var b = new double[size]; Array.Copy(a, b, count); a = b; }
    private static void Resize(ref int[] a, int count, int size) { var b = new int[size]; Array.Copy(a, b, count); a = b; }
    private static void Resize(ref string[] a, int count, int size) { var b = new string[size]; Array.Copy(a, b, count); a = b; }

    public Variable AddVariable(string name, double lower, double upper, double cost = 0)
    {
        if (double.IsNaN(lower) || double.IsNaN(upper) || lower > upper)
            throw new ArgumentException($"variable '{name}': bounds [{lower}, {upper}] are not an interval");
        if (!double.IsFinite(cost)) throw new ArgumentException($"variable '{name}': cost {cost} is not finite");
        if (_nv == _varNames.Length)
        {
            Grow(ref _varNames, _nv);
            Grow(ref _lower, _nv);
            Grow(ref _upper, _nv);
            Grow(ref _cost, _nv);
        }
        _varNames[_nv] = name;
        _lower[_nv] = lower;
        _upper[_nv] = upper;
        _cost[_nv] = cost;
        return new Variable(_nv++, name);
    }

    private int CheckVariable(Variable v) =>
        (uint)v.Index < (uint)_nv ? v.Index : throw new ArgumentOutOfRangeException(nameof(v), $"variable {v.Index} ('{v.Name}') is not one of this model's {_nv}");

    public void AddCost(Variable v, double cost) => _cost[CheckVariable(v)] += cost;

    /// <summary>Adds ½·coefficient·x² (i = j) or coefficient·xᵢ·xⱼ split symmetrically (i ≠ j) to the objective.</summary>
    public void AddQuadraticCost(Variable a, Variable b, double coefficient)
    {
        AddQuadraticTerm(a.Index, b.Index, coefficient);
        if (a.Index != b.Index) AddQuadraticTerm(b.Index, a.Index, coefficient);
    }

    private void AddQuadraticTerm(int i, int j, double value) => AppendTriplet(ref _qI, ref _qJ, ref _qVal, ref _nq, i, j, value);

    /// <summary>Appends (i, j, value) to triplet arrays holding <paramref name="n"/> entries, growing them when full.</summary>
    private static void AppendTriplet(ref int[] rows, ref int[] cols, ref double[] values, ref int n, int i, int j, double value)
    {
        if (n == values.Length)
        {
            Grow(ref rows, n);
            Grow(ref cols, n);
            Grow(ref values, n);
        }
        rows[n] = i;
        cols[n] = j;
        values[n++] = value;
    }

    public Constraint AddConstraint(string name, double lower, double upper, IEnumerable<(Variable Var, double Coef)> terms)
    {
        int row = NewRow(name, lower, upper);
        foreach (var (v, c) in terms)
            if (c != 0) AddTerm(row, v.Index, c);
        return new Constraint(row, name);
    }

    /// <summary>
    /// lower ≤ Σₖ coefficients[k]·variables[k] ≤ upper over k = start … start + count − 1 (zero coefficients are left out, as
    /// in the other overload): for callers that build many rows out of shared arrays, without a tuple per term.
    /// </summary>
    public Constraint AddConstraint(string name, double lower, double upper, Variable[] variables, double[] coefficients, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(coefficients);
        if (start < 0 || count < 0 || start + count > variables.Length || start + count > coefficients.Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"constraint '{name}': terms {start}..{start + count - 1} are outside the {variables.Length} variables / {coefficients.Length} coefficients given");
        int row = NewRow(name, lower, upper);
        for (int k = start; k < start + count; k++)
            if (coefficients[k] != 0) AddTerm(row, variables[k].Index, coefficients[k]);
        return new Constraint(row, name);
    }

    private int NewRow(string name, double lower, double upper)
    {
        if (double.IsNaN(lower) || double.IsNaN(upper) || lower > upper)
            throw new ArgumentException($"constraint '{name}': bounds [{lower}, {upper}] are not an interval");
        if (!_conIndex.TryAdd(name, _nc)) throw new ArgumentException($"constraint name '{name}' is used twice");
        if (_nc == _conNames.Length)
        {
            Grow(ref _conNames, _nc);
            Grow(ref _conLower, _nc);
            Grow(ref _conUpper, _nc);
        }
        _conNames[_nc] = name;
        _conLower[_nc] = lower;
        _conUpper[_nc] = upper;
        return _nc++;
    }

    private void AddTerm(int row, int col, double value) => AppendTriplet(ref _aRow, ref _aCol, ref _aVal, ref _na, row, col, value);

    public Constraint AddEquality(string name, double rhs, IEnumerable<(Variable Var, double Coef)> terms) => AddConstraint(name, rhs, rhs, terms);

    internal double DualObjective(double[] x, double[] y, double[] r)
    {
        double d = ObjectiveConstant;
        for (int k = 0; k < _nq; k++) d -= 0.5 * _qVal[k] * x[_qI[k]] * x[_qJ[k]];
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

    public string VariableName(int index) => (uint)index < (uint)_nv ? _varNames[index] : throw new ArgumentOutOfRangeException(nameof(index));
    public string ConstraintName(int index) => (uint)index < (uint)_nc ? _conNames[index] : throw new ArgumentOutOfRangeException(nameof(index));

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
        for (int k = 0; k < _na; k++) cons[_aRow[k]].SetCoefficient(vars[_aCol[k]], cons[_aRow[k]].GetCoefficient(vars[_aCol[k]]) + _aVal[k]);
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
            _lower = Head(m._lower, n);
            _upper = Head(m._upper, n);
            _cost = Head(m._cost, n);
            EqRow = new int[rows];
            UpperRow = new int[rows];
            LowerRow = new int[rows];
            var bEq = new double[rows];
            var bIq = new double[2 * rows];
            int neq = 0, niq = 0;
            for (int i = 0; i < rows; i++)
            {
                EqRow[i] = UpperRow[i] = LowerRow[i] = -1;
                double lo = m._conLower[i], hi = m._conUpper[i];
                if (lo == hi) { EqRow[i] = neq; bEq[neq++] = lo; continue; }
                if (double.IsFinite(hi)) { UpperRow[i] = niq; bIq[niq++] = hi; }
                if (double.IsFinite(lo)) { LowerRow[i] = niq; bIq[niq++] = -lo; }
            }
            _bEq = Head(bEq, neq);
            _bIq = Head(bIq, niq);
            int eqTerms = 0, iqTerms = 0;
            for (int k = 0; k < m._na; k++)
            {
                int r = m._aRow[k];
                if (EqRow[r] >= 0) eqTerms++;
                if (UpperRow[r] >= 0) iqTerms++;
                if (LowerRow[r] >= 0) iqTerms++;
            }
            var eq = new TripletBuilder(neq, n, eqTerms);
            var iq = new TripletBuilder(niq, n, iqTerms);
            for (int k = 0; k < m._na; k++)
            {
                int r = m._aRow[k], c = m._aCol[k];
                double v = m._aVal[k];
                if (EqRow[r] >= 0) eq.Add(EqRow[r], c, v);
                if (UpperRow[r] >= 0) iq.Add(UpperRow[r], c, v);
                if (LowerRow[r] >= 0) iq.Add(LowerRow[r], c, -v);
            }
            _aEq = eq.ToCsc();
            _aIq = iq.ToCsc();
            var q = new TripletBuilder(n, n, m._nq + n);
            for (int k = 0; k < m._nq; k++) q.Add(m._qI[k], m._qJ[k], m._qVal[k]);
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

        private SparseMatrix? _qScaled;
        private double _qSigma = double.NaN;

        /// <summary>σ·Q: Q itself for σ = 1, else one matrix over Q's pattern arrays refilled when σ changes (the contract allows it).</summary>
        public SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu)
        {
            if (sigma == 1) return _q;
            _qScaled ??= new SparseMatrix(_q.Rows, _q.Cols, _q.ColPtr, _q.RowIdx, new double[_q.Nnz]);
            if (!(sigma == _qSigma)) // NaN never equals: the first call fills
            {
                var v = _qScaled.Values;
                for (int p = 0; p < v.Length; p++) v[p] = sigma * _q.Values[p];
                _qSigma = sigma;
            }
            return _qScaled;
        }

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
