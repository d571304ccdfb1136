using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Optimization;

/// <summary>
/// A smooth nonlinear program  min f(x)  s.t.  g(x) = 0,  h(x) ≤ 0,  lower ≤ x ≤ upper,
/// with sparse first and second derivatives. Jacobian and Hessian patterns must not change between calls.
/// </summary>
public interface INonlinearProgram
{
    int Variables { get; }
    int Equalities { get; }
    int Inequalities { get; }
    /// <summary>Bounds (±∞ allowed; lower = upper fixes a variable).</summary>
    ReadOnlySpan<double> Lower { get; }
    ReadOnlySpan<double> Upper { get; }
    /// <summary>f(x); writes ∇f(x) into <paramref name="gradient"/>.</summary>
    double Objective(ReadOnlySpan<double> x, Span<double> gradient);
    /// <summary>g(x) and h(x).</summary>
    void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h);
    /// <summary>
    /// ∂g/∂x (Equalities × Variables) and ∂h/∂x (Inequalities × Variables). The same object again means the same values (a
    /// constant Jacobian): the solver keeps what it derived from a Jacobian under its reference, so new values need a new object.
    /// </summary>
    (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x);
    /// <summary>
    /// ∇²f·σ + Σ λᵢ∇²gᵢ + Σ μⱼ∇²hⱼ, full symmetric (both triangles). It may be one object refilled at every call: the solver
    /// uses it before its next call (and calls again after anything else, such as a restoration, may have called).
    /// </summary>
    SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu);
    /// <summary>A starting point (need not be feasible).</summary>
    double[] InitialPoint();
}

public enum SolverStatus { Optimal, Infeasible, Unbounded, NotConverged, NumericalError }

public sealed record InteriorPointOptions
{
    public double FeasibilityTolerance { get; init; } = 1e-8;
    public double GradientTolerance { get; init; } = 1e-8;
    public double ComplementarityTolerance { get; init; } = 1e-8;
    /// <summary>
    /// Relative gap between the objective and the Lagrangian, (|λᵀg + μᵀ(h + z)| + zᵀμ) / (1 + |f|): the residuals
    /// weighted by their prices. The scaled feasibility and complementarity conditions alone let a residual of
    /// 1e-8 p.u. under a 5,000 $/p.u. price leave the objective 1e-6 from its dual (a DC clearing on case30).
    /// </summary>
    public double GapTolerance { get; init; } = 1e-7;
    public int MaxIterations { get; init; } = 200;
    /// <summary>Fraction of the step to the boundary (MIPS ξ).</summary>
    public double StepFraction { get; init; } = 0.99995;
    /// <summary>Centering parameter σ of the barrier update γ = σ·zᵀμ/m (without predictor–corrector).</summary>
    public double Centering { get; init; } = 0.1;
    /// <summary>Mehrotra's predictor–corrector: an affine step chooses the centering and adds the second-order term (fewer iterations; the same factorisation serves both solves).</summary>
    public bool PredictorCorrector { get; init; } = true;
    /// <summary>
    /// Keep the first factorisation's pivots while they stay above 1e-8 of their column (fast, with iterative
    /// refinement). If that run does not converge, the solve is repeated with threshold pivoting (0.1).
    /// </summary>
    public bool StaticPivoting { get; init; } = true;
    /// <summary>
    /// The objective is multiplied by this inside the solver (MIPS's <c>cost_mult</c>; MATPOWER's AC OPF uses 1e-4)
    /// so that its multipliers are on the scale of the constraints; results are reported unscaled.
    /// </summary>
    public double CostScale { get; init; } = 1;
    /// <summary>
    /// Factorise D·K·D instead of the KKT matrix K, D from symmetric Ruiz equilibration (every row and column's largest
    /// entry near 1). Near the optimum μ/z spans 10⁻²⁰…10²⁰ and threshold pivoting on K itself lost backward stability
    /// (componentwise backward error 1 on an LP-like SCOPF); the refinement still runs against K.
    /// </summary>
    public bool ScaleKkt { get; init; } = true;
    /// <summary>
    /// Multiply <see cref="CostScale"/> further so that the scaled objective's gradient at the initial point is at most 100
    /// (Ipopt's gradient-based scaling). The tolerances then apply to the scaled objective: the gap is within
    /// <see cref="GapTolerance"/>·(max|∇f(x₀)|/100 + |f|) in the objective's own units.
    /// </summary>
    public bool ObjectiveScaling { get; init; } = true;
    /// <summary>Divide each constraint row by its largest derivative at the initial point when that exceeds 100 (Ipopt's gradient-based scaling); multipliers are reported unscaled.</summary>
    public bool ConstraintScaling { get; init; } = true;
    /// <summary>Regularise the Hessian block (δ_w·I) when a direction has negative curvature (inertia-free test).</summary>
    public bool InertiaCorrection { get; init; } = true;
    /// <summary>
    /// Feasibility restoration: when ten primal steps in a row are shorter than 1e-2 without halving the constraint violation,
    /// minimise the violation (with elastic variables and a proximity term, Ipopt's restoration problem) and restart there.
    /// </summary>
    public bool Restoration { get; init; } = true;
    /// <summary>
    /// Factorise the (scaled) KKT matrix as L·D·Lᵀ (<see cref="SparseLdl"/>: static 1×1 and 2×2 pivots from the saddle-point
    /// order, half the work of an LU) while the iterative refinement accepts its solutions; false: an LU on the same order
    /// with loose threshold pivoting. Either way, a step the refinement cannot make accurate switches the run to a
    /// threshold-pivoting LU.
    /// </summary>
    public bool SymmetricFactorization { get; init; } = true;
    /// <summary>
    /// Called after every iteration of the main loop (not of a feasibility restoration's inner solve) with its figures:
    /// for a progress display or a trace. The objective is the one the solver sees (after objective scaling).
    /// </summary>
    public Action<InteriorPointIterate>? OnIteration { get; init; }
}

/// <summary>One iteration of <see cref="InteriorPoint"/>: the conditions after the step, the step lengths and the Hessian regularisation.</summary>
public readonly record struct InteriorPointIterate(
    int Iteration, double Objective, double Feasibility, double Gradient, double Complementarity, double Gap,
    double StepPrimal, double StepDual, double HessianRegularization, bool Restored);

/// <summary>
/// Result of <see cref="InteriorPoint.Solve"/>. Multipliers follow the Lagrangian
/// L = f + λᵀg + μᵀh (μ ≥ 0): relaxing gᵢ(x) = 0 to gᵢ(x) = ε changes the optimum by −λᵢ·ε, and
/// hⱼ(x) ≤ 0 to hⱼ(x) ≤ ε by −μⱼ·ε. Bound multipliers are ≥ 0: <c>MuUpper</c> for x ≤ upper, <c>MuLower</c> for x ≥ lower.
/// </summary>
public sealed record InteriorPointResult(
    SolverStatus Status, double[] X, double Objective, double[] Lambda, double[] Mu,
    double[] MuLower, double[] MuUpper, int Iterations, string Message)
{
    public double FeasibilityError { get; init; }
    public double GradientError { get; init; }
    public double ComplementarityError { get; init; }
}

/// <summary>
/// Primal–dual interior-point method for <see cref="INonlinearProgram"/> following the published MATPOWER
/// Interior Point Solver (MIPS) algorithm (Wang, Murillo-Sánchez, Zimmerman, Thomas 2007): slack z for the
/// inequalities, Newton steps on the perturbed KKT conditions with the reduced system
/// [M Jgᵀ; Jg 0]·[Δx; Δλ] = [−N; −g], M = ∇²L + Jhᵀ·diag(μ/z)·Jh, solved with the sparse LU (symbolic
/// analysis reused between iterations), fraction-to-boundary step lengths, and γ = σ·zᵀμ/m.
/// Variable bounds become inequality rows (fixed variables become equalities), as in MIPS.
/// </summary>
public static class InteriorPoint
{
    public static InteriorPointResult Solve(INonlinearProgram problem, InteriorPointOptions? options = null)
    {
        var o = options ?? new InteriorPointOptions();
        if (!(o.CostScale > 0) || !double.IsFinite(o.CostScale)) throw new ArgumentException("CostScale must be positive and finite");
        double scale = o.CostScale;
        if (o.ObjectiveScaling)
        {
            // Ipopt's gradient-based objective scaling: ‖s·∇f(x₀)‖∞ ≤ 100, so that the multipliers start on the scale of
            // the initial μ = 1 (an LP with costs of 1e5 per unit and bounds of 0.01 stalled at feasibility 1e-3)
            var x0 = problem.InitialPoint();
            var g0 = new double[problem.Variables];
            problem.Objective(x0, g0);
            double gmax = NormInf(g0) * scale;
            if (gmax > 100 && double.IsFinite(gmax)) scale *= 100 / gmax;
        }
        if (o.ConstraintScaling && ScaledConstraints.Create(problem) is { } scaled)
        {
            // Ipopt's gradient-based constraint scaling: every row's largest derivative at the start at most 100 (a
            // branch of x = 5e-5 p.u. puts 2e4 in the balance rows of PGLib's RTE grids)
            var r = Solve(scaled, o with { ConstraintScaling = false });
            var lambda = new double[r.Lambda.Length];
            for (int i = 0; i < lambda.Length; i++) lambda[i] = r.Lambda[i] * scaled.Sg[i];
            var mu = new double[r.Mu.Length];
            for (int j = 0; j < mu.Length; j++) mu[j] = r.Mu[j] * scaled.Sh[j];
            return r with { Lambda = lambda, Mu = mu };
        }
        if (scale != 1)
        {
            double s = scale;
            var r = Solve(new ScaledObjective(problem, s), o with { CostScale = 1, ObjectiveScaling = false });
            static double[] Div(double[] v, double s)
            {
                var w = new double[v.Length];
                for (int i = 0; i < w.Length; i++) w[i] = v[i] / s;
                return w;
            }
            return r with { Objective = r.Objective / s, Lambda = Div(r.Lambda, s), Mu = Div(r.Mu, s), MuLower = Div(r.MuLower, s), MuUpper = Div(r.MuUpper, s) };
        }
        var first = SolveOnce(problem, o);
        // an infeasibility verdict (feasibility stalled while the multipliers grew without bound) is not the accuracy loss the
        // threshold-pivoting repeat is for: it cost PGLib case10192_epigrids' infeasible DC OPF 135 more iterations
        if (first.Status is SolverStatus.Optimal or SolverStatus.Infeasible || !o.StaticPivoting || (RestorationDepth > 0 && RestorationReached)) return first;
        // static pivots can lose the accuracy the last iterations need: solve again with threshold pivoting
        var second = SolveOnce(problem, o with { StaticPivoting = false });
        if (second.Status == SolverStatus.Optimal) return second with { Iterations = first.Iterations + second.Iterations };
        // the last attempt changes the centring rule, with threshold pivoting: Mehrotra's adaptive centring can drive a pair to
        // the wrong boundary early (a random LP whose only feasible value of a variable lies 1.2e-6 above its bound, CsCheck
        // seed 87kk7LUe17g2, sat at full steps with feasibility 3.6e-7 for 200 iterations; MIPS's fixed centring solves it in
        // 13), and MIPS's fixed centring crept for 200 iterations at gradient 1e-2 on PGLib case8387_pegase (its couplers of
        // x = 3.5e-5 p.u. and r = 0 leave a nearly flat face of optimal dispatches), which Mehrotra's solves in 54
        if (RestorationDepth > 0) return first; // a restoration that fails hands back to the main iteration, which goes on
        var third = SolveOnce(problem, o with { PredictorCorrector = !o.PredictorCorrector, StaticPivoting = false });
        string rule = o.PredictorCorrector ? "MIPS's centring after Mehrotra's stalled" : "Mehrotra's centring after MIPS's stalled";
        return third.Status == SolverStatus.Optimal
            ? third with { Iterations = first.Iterations + second.Iterations + third.Iterations, Message = $"{third.Message} (with {rule})" }
            : first;
    }

    private static InteriorPointResult SolveOnce(INonlinearProgram problem, InteriorPointOptions o)
    {
        int n = problem.Variables, neqP = problem.Equalities, niqP = problem.Inequalities;
        var lower = problem.Lower.ToArray();
        var upper = problem.Upper.ToArray();
        if (lower.Length != n || upper.Length != n) throw new ArgumentException("bounds must have one entry per variable");

        // bound rows: fixed → equality x_i − l_i = 0; finite upper → x_i − u_i ≤ 0; finite lower → l_i − x_i ≤ 0
        var fixedVars = new List<int>();
        var upperVars = new List<int>();
        var lowerVars = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (lower[i] > upper[i]) throw new ArgumentException($"variable {i}: lower bound {lower[i]} above upper bound {upper[i]}");
            if (lower[i] == upper[i]) { fixedVars.Add(i); continue; }
            if (double.IsFinite(upper[i])) upperVars.Add(i);
            if (double.IsFinite(lower[i])) lowerVars.Add(i);
        }
        int neq = neqP + fixedVars.Count;
        int niq = niqP + upperVars.Count + lowerVars.Count;

        var x = problem.InitialPoint();
        if (x.Length != n) throw new ArgumentException("initial point has the wrong length");
        // start strictly inside finite bounds where possible (MIPS starts at the given point; nudging helps LPs)
        for (int i = 0; i < n; i++)
        {
            if (lower[i] == upper[i]) { x[i] = lower[i]; continue; }
            double lo = lower[i], hi = upper[i];
            if (double.IsFinite(lo) && double.IsFinite(hi))
            {
                double margin = Math.Min(1.0, 0.25 * (hi - lo));
                x[i] = Math.Clamp(x[i], lo + margin, hi - margin);
            }
            else if (double.IsFinite(lo)) x[i] = Math.Max(x[i], lo + 1);
            else if (double.IsFinite(hi)) x[i] = Math.Min(x[i], hi - 1);
        }

        var grad = new double[n];
        var gP = new double[neqP];
        var hP = new double[niqP];
        var g = new double[neq];
        var h = new double[niq];
        var lam = new double[neq];
        var z = new double[niq];
        var mu = new double[niq];
        var lx = new double[n];

        SparseMatrix? lastJgP = null, lastJhP = null, lastJg = null, lastJh = null;
        var augG = new UnitRowAugmenter(fixedVars, 1.0, [], 0, n);
        var augH = new UnitRowAugmenter(upperVars, 1.0, lowerVars, -1.0, n);
        double Eval(double[] xx, out SparseMatrix jg, out SparseMatrix jh)
        {
            double f = problem.Objective(xx, grad);
            problem.Constraints(xx, gP, hP);
            var (jgP, jhP) = problem.Jacobians(xx);
            gP.CopyTo(g, 0);
            for (int k = 0; k < fixedVars.Count; k++) g[neqP + k] = xx[fixedVars[k]] - lower[fixedVars[k]];
            hP.CopyTo(h, 0);
            for (int k = 0; k < upperVars.Count; k++) h[niqP + k] = xx[upperVars[k]] - upper[upperVars[k]];
            for (int k = 0; k < lowerVars.Count; k++) h[niqP + upperVars.Count + k] = lower[lowerVars[k]] - xx[lowerVars[k]];
            // constant Jacobians (linear constraints) come back as the same objects: keep their augmented forms
            if (!ReferenceEquals(jgP, lastJgP)) { lastJgP = jgP; lastJg = augG.Apply(jgP); }
            if (!ReferenceEquals(jhP, lastJhP)) { lastJhP = jhP; lastJh = augH.Apply(jhP); }
            jg = lastJg!;
            jh = lastJh!;
            return f;
        }

        double fval = Eval(x, out var Jg, out var Jh);
        var transposeH = new Transposer();
        var transposeG = new Transposer();
        var JhT = transposeH.Of(Jh);
        var JgT = transposeG.Of(Jg);
        // f, g, h and the Jacobians (with their transposes, when the program made new ones) at the current x
        void Reevaluate()
        {
            var (jgOld, jhOld) = (Jg, Jh);
            fval = Eval(x, out Jg, out Jh);
            if (!ReferenceEquals(Jg, jgOld)) JgT = transposeG.Of(Jg);
            if (!ReferenceEquals(Jh, jhOld)) JhT = transposeH.Of(Jh);
        }

        // initial slacks and multipliers (MIPS)
        double gamma = 1;
        const double z0 = 1;
        for (int k = 0; k < niq; k++)
        {
            z[k] = h[k] < -z0 ? -h[k] : z0;
            mu[k] = gamma / z[k] > z0 ? gamma / z[k] : z0;
        }
        if (niq > 0)
        {
            double zmu = 0;
            for (int k = 0; k < niq; k++) zmu += z[k] * mu[k];
            gamma = o.Centering * zmu / niq;
        }

        void Lagrangian()
        {
            grad.CopyTo(lx, 0);
            JgT.MultiplyAdd(lam, lx);
            JhT.MultiplyAdd(mu, lx);
        }

        Lagrangian();
        IFactorization? lu = null; // the factors in use: the LDLᵀ, or the LU once the run needed pivoting
        SparseLU? slu = null;
        SparseLdl? ldl = null;
        int ldlPerturbedAtOrder = 0, ldlFailures = 0;
        bool ldlReorder = false, ldlAbandoned = false;
        // once the static pivots fail the refinement, the rest of the run factorises with threshold pivoting
        // (refactorising on those pivots) instead of trying static pivots afresh at every iteration
        bool strict = !o.StaticPivoting;
        int it = 0;
        string message = "";
        var status = SolverStatus.NotConverged;
        double feas = 0, gradc = 0, comp = 0, gapc = 0;

        // feasibility as MIPS measures it, max(‖g‖∞, max h) / (1 + max(‖x‖∞, ‖z‖∞)), kept only for the infeasibility
        // heuristic at the end; the stopping test divides by 1 + ‖x‖∞ alone (see Conditions)
        double feasMips = 0;
        (double Feas, double Grad, double Comp) Conditions()
        {
            double gap = 0, zmuAll = 0;
            for (int k = 0; k < neq; k++) gap += lam[k] * g[k];
            for (int k = 0; k < niq; k++) { gap += mu[k] * (h[k] + z[k]); zmuAll += z[k] * mu[k]; }
            gapc = (Math.Abs(gap) + zmuAll) / (1 + Math.Abs(fval));
            double maxX = NormInf(x), maxZ = NormInf(z), maxLam = NormInf(lam), maxMu = NormInf(mu);
            double violation = Violation(g, h);
            // not relative to the slacks z, as MIPS has it: a placeholder branch limit of 320,795 MVA (PGLib's RTE cases) has
            // a slack of |S|² − rate² ≈ 1e7 p.u.², and dividing by it let balance residuals of ~5 p.u. pass as 4e-7 — the
            // "feasible but complementarity stuck" state of issue #16 was in fact an iterate stuck far from feasibility
            double fe = violation / (1 + maxX);
            feasMips = violation / (1 + Math.Max(maxX, maxZ));
            double gr = NormInf(lx) / (1 + Math.Max(maxLam, maxMu));
            double zmu = 0;
            for (int k = 0; k < niq; k++) zmu += z[k] * mu[k];
            double co = zmu / (1 + maxX);
            return (fe, gr, co);
        }

        (feas, gradc, comp) = Conditions();
        // a tenth of the complementarity tolerance per pair (comp = zᵀμ/(1 + ‖x‖∞))
        double MuFloor() => niq == 0 ? 0 : 0.1 * o.ComplementarityTolerance * (1 + NormInf(x)) / niq;
        var dx = new double[n];
        var dz = new double[niq];
        var dmu = new double[niq];
        var dlam = new double[neq];
        var rhs = new double[n + neq];
        var hx = problem.Hessian(x, 1.0, lam.AsSpan(0, neqP), mu.AsSpan(0, niqP));
        var d = new double[niq];
        var rc = new double[niq];
        var w = new double[niq];
        var residual = new double[n + neq];
        var products = new double[2 * (n + neq)];
        var rowMax = new double[n + neq];
        var bestSol = new double[n + neq];
        var solution = new double[n + neq];
        var assembler = new KktAssembler(n, neq);
        var scaling = new KktScaling(o.ScaleKkt);
        double lastDeltaW = 0;
        int regularised = 0;

        // residual = rhs − K·x of the unregularised K (K_reg + δ·I on the (2,2) block) and the componentwise backward error
        // ω = maxᵢ |residual|ᵢ / (|K|·|x| + |b|)ᵢ (Arioli, Demmel & Duff): ω₁ on rows whose |K|·|x| + |b| is above rounding
        // level, else ω₂ with ‖Kᵢ‖∞·‖x‖∞ (a row of noise-level terms is judged against what rounding can do to it)
        unsafe double BackwardError(double[] sol)
        {
            var kkt = assembler.Matrix;
            // the products K·x (even slots) and |K|·|x| (odd slots) side by side: the scatter below touches one cache line per row
            var acc = products;
            Array.Clear(acc);
            double xInf = 0;
            int[] colPtr = kkt.ColPtr, rowIdx = kkt.RowIdx;
            double[] values = kkt.Values;
            // K·x and |K|·|x| in one sweep over K (the product in MultiplyAdd's order: columns in turn, zero xⱼ skipped)
            for (int j = 0; j < kkt.Cols; j++)
            {
                double x = sol[j], xj = Math.Abs(x);
                xInf = Math.Max(xInf, xj);
                if (x == 0) continue;
                int p = colPtr[j], end = colPtr[j + 1];
                if (Vector128.IsHardwareAccelerated)
                {
                    // the pair (v·x, |v|·|x|) added to the row's pair in one 128-bit operation: lane by lane the same products and sums
                    var xs = Vector128.Create(x, xj);
                    var magnitude = Vector128.Create(-1L, long.MaxValue).AsDouble(); // lane 1 loses the sign bit
                    fixed (double* a = acc, vp = values)
                    fixed (int* ri = rowIdx)
                        for (; p < end; p++)
                        {
                            var pair = (Vector128.Create(vp[p]) & magnitude) * xs;
                            var at = (Vector128<double>*)(a + 2 * ri[p]);
                            *at += pair;
                        }
                }
                for (; p < end; p++)
                {
                    double v = values[p];
                    int i = 2 * rowIdx[p];
                    acc[i] += v * x;
                    acc[i + 1] += Math.Abs(v) * xj;
                }
            }
            for (int k = 0; k < neq; k++) acc[2 * (n + k)] += KktAssembler.DualRegularization * sol[n + k];
            double omega = 0, tau = 1000.0 * residual.Length * 1.1e-16;
            for (int i = 0; i < residual.Length; i++)
            {
                double absScale = acc[2 * i + 1];
                residual[i] = rhs[i] - acc[2 * i];
                double den = absScale + Math.Abs(rhs[i]);
                if (den <= tau * (rowMax[i] * xInf + Math.Abs(rhs[i]))) den = absScale + rowMax[i] * xInf;
                if (den > 0) omega = Math.Max(omega, Math.Abs(residual[i]) / den);
                else if (residual[i] != 0) omega = double.PositiveInfinity;
            }
            return omega;
        }

        // the largest |entry| of each row of the KKT matrix (of each column: it is symmetric), once per matrix for BackwardError
        // (the Ruiz scaling's first pass has them already)
        void RowMaxima()
        {
            var kkt = assembler.Matrix;
            int[] colPtr = kkt.ColPtr;
            double[] values = kkt.Values;
            for (int j = 0; j < kkt.Cols; j++) rowMax[j] = KktScaling.MaxAbs(values, colPtr[j], colPtr[j + 1]);
        }

        // dxᵀ·M·dx on the (1,1) block of the KKT matrix, or −∞ when it is negative beyond rounding (relative to dxᵀ·|M|·|dx|)
        double Curvature(SparseMatrix kkt)
        {
            double c = 0, cabs = 0;
            int[] colPtr = kkt.ColPtr, rowIdx = kkt.RowIdx;
            double[] values = kkt.Values;
            for (int j = 0; j < n; j++)
            {
                double xj = dx[j];
                if (xj == 0) continue;
                for (int p = colPtr[j], end = colPtr[j + 1]; p < end; p++)
                {
                    int i = rowIdx[p];
                    if (i >= n) continue;
                    double t = dx[i] * values[p] * xj;
                    c += t;
                    cabs += Math.Abs(t);
                }
            }
            return c >= -1e-10 * cabs ? Math.Max(c, 0) : double.NegativeInfinity;
        }

        // One Newton direction for complementarity right-hand side r: solves the reduced system (with one
        // step of iterative refinement on the same factors), then Δz = −h − z − Jh·Δx, Δμ = −μ + (r − μ∘Δz)/z.
        bool Step(double[] r)
        {
            for (int k = 0; k < niq; k++) w[k] = (mu[k] * h[k] + r[k]) / z[k];
            for (int i = 0; i < n; i++) rhs[i] = lx[i];
            JhT.MultiplyAdd(w, rhs.AsSpan(0, n));
            for (int i = 0; i < n; i++) rhs[i] = -rhs[i];
            for (int k = 0; k < neq; k++) rhs[n + k] = -g[k];
            var sol = solution; // one array for every solve (the caller copies out what it keeps)
            rhs.CopyTo(sol, 0);
            scaling.Solve(lu!, sol);
            // iterative refinement to the componentwise backward error ω = maxᵢ |b − K·x|ᵢ / (|K|·|x| + |b|)ᵢ (Arioli,
            // Demmel & Duff): a norm-wise test is meaningless once μ/z spans 20 orders of magnitude — the rows of the
            // equality constraints (entries O(1)) lost their accuracy under a norm of 1e12 and the iterates, nearly
            // optimal, drifted off feasibility by 1e-7. If the reused (static) pivots leave ω large, factorise afresh.
            double omegaPrev = double.PositiveInfinity, bestOmega = double.PositiveInfinity;
            bool refactored = false;
            if (!scaling.ColumnMaxima(assembler.Matrix, rowMax)) RowMaxima();
            for (int pass = 0; pass < 8; pass++)
            {
                double omega = BackwardError(sol);
                if (omega < bestOmega) { bestOmega = omega; sol.CopyTo(bestSol, 0); }
                if (omega <= 1e-14) break;
                if (pass >= 4 || omega > 0.5 * omegaPrev) // refinement stopped paying
                {
                    if (refactored || bestOmega <= 1e-6) break;
                    if (ReferenceEquals(lu, ldl))
                    {
                        // the static pivots of the LDLᵀ are not good enough for this matrix: an LU with threshold
                        // pivoting on the same order for this step; the next iteration pairs and orders the LDLᵀ afresh,
                        // and after three such failures the rest of the run factorises with the LU
                        lu = slu = SparseLU.Factorize(scaling.Scaled!, KktLu);
                        ldlReorder = true;
                        if (++ldlFailures >= 3) { ldlAbandoned = true; ldl = null; }
                        rhs.CopyTo(sol, 0);
                        scaling.Solve(lu, sol);
                        omegaPrev = double.PositiveInfinity;
                        continue;
                    }
                    // the reused pivots are not good enough for this matrix: a fresh threshold-pivoting factorisation
                    lu = slu = SparseLU.Factorize(scaling.Scaled!, KktLuStrict);
                    strict = refactored = true;
                    rhs.CopyTo(sol, 0);
                    scaling.Solve(lu, sol);
                    omegaPrev = double.PositiveInfinity;
                    continue;
                }
                omegaPrev = omega;
                scaling.Solve(lu!, residual);
                for (int i = 0; i < sol.Length; i++) sol[i] += residual[i];
            }
            bestSol.CopyTo(sol, 0);
            bool finite = true;
            foreach (double v in sol) finite &= double.IsFinite(v); // no LINQ here: a cold CLI process would JIT it mid-solve
            if (!finite)
            {
                status = SolverStatus.NumericalError;
                message = "the Newton step is not finite";
                return false;
            }
            Array.Copy(sol, 0, dx, 0, n);
            Array.Copy(sol, n, dlam, 0, neq);
            Jh.Multiply(dx, dz);
            for (int k = 0; k < niq; k++)
            {
                dz[k] = -h[k] - z[k] - dz[k];
                dmu[k] = -mu[k] + (r[k] - mu[k] * dz[k]) / z[k];
            }
            return true;
        }

        (double P, double D) StepLengths(double fraction)
        {
            double ap = 1, ad = 1;
            for (int k = 0; k < niq; k++)
            {
                if (dz[k] < 0) ap = Math.Min(ap, -z[k] / dz[k] * fraction);
                if (dmu[k] < 0) ad = Math.Min(ad, -mu[k] / dmu[k] * fraction);
            }
            return (ap, ad);
        }

        // the best iterate so far, by the worst of the three conditions relative to its tolerance: near the
        // optimum, rounding in the ill-conditioned KKT system can make the iterates wander off again
        double Score() => Math.Max(Math.Max(feas / o.FeasibilityTolerance, gapc / o.GapTolerance), Math.Max(gradc / o.GradientTolerance, comp / o.ComplementarityTolerance));
        int shortSteps = 0, restorations = 0, restorationIterations = 0;
        double thetaStreak = double.PositiveInfinity;
        int restorationsFailed = 0;
        // min ρ‖p + n + q‖₁ + ζ/2‖D(x − x_R)‖² s.t. g(x) − p + n = 0, h(x) − q ≤ 0, the bounds (Ipopt's restoration
        // problem), solved by this method; on success the iteration restarts there with slacks and multipliers on the
        // central path of the current barrier parameter
        bool Restore(double theta)
        {
            // like Ipopt, the restoration ends once the violation is down to a tenth (not at the restoration problem's optimum)
            var rp = new RestorationProgram(problem, x, Math.Sqrt(Math.Max(gamma, 1e-8)), 0.1 * theta);
            InteriorPointResult rr;
            RestorationDepth++;
            RestorationReached = false;
            try { rr = Solve(rp, o with { MaxIterations = RestorationIterations, CostScale = 1 }); }
            finally { RestorationDepth--; RestorationReached = false; }
            restorationIterations += rr.Iterations;
            var xr = rp.BestX;
            for (int i = 0; i < n; i++)
            {
                if (lower[i] == upper[i]) { xr[i] = lower[i]; continue; }
                double push = 1e-2 * Math.Min(1, upper[i] - lower[i]);
                if (double.IsFinite(lower[i])) xr[i] = Math.Max(xr[i], lower[i] + Math.Min(push, 1e-2 * Math.Max(1, Math.Abs(lower[i]))));
                if (double.IsFinite(upper[i])) xr[i] = Math.Min(xr[i], upper[i] - Math.Min(push, 1e-2 * Math.Max(1, Math.Abs(upper[i]))));
            }
            var xOld = (double[])x.Clone();
            xr.CopyTo(x, 0);
            Reevaluate();
            if (!(Violation(g, h) < 0.9 * theta) || !double.IsFinite(fval))
            {
                xOld.CopyTo(x, 0);
                Reevaluate();
                // a program may refill one Hessian object in place (AcOpfProgram does): the restoration's own Hessian calls
                // overwrote the one the main loop holds, so it is evaluated again at the restored point
                hx = problem.Hessian(x, 1.0, lam.AsSpan(0, neqP), mu.AsSpan(0, niqP));
                return false;
            }
            for (int k = 0; k < niq; k++)
            {
                z[k] = Math.Max(-h[k], 1e-2 * Math.Max(1, Math.Abs(h[k])));
                mu[k] = gamma / z[k];
            }
            Array.Clear(lam);
            Lagrangian();
            hx = problem.Hessian(x, 1.0, lam.AsSpan(0, neqP), mu.AsSpan(0, niqP));
            (feas, gradc, comp) = Conditions();
            return true;
        }
        double bestScore = double.PositiveInfinity;
        int bestIt = 0;
        double[] bestX = new double[n], bestZ = new double[niq], bestMu = new double[niq], bestLam = new double[neq];
        (double F, double Feas, double Grad, double Comp, double Gap)? best = null;
        while (it < o.MaxIterations)
        {
            if (RestorationDepth > 0 && RestorationReached) { message = "the restoration's target violation is reached"; break; }
            if (feas < o.FeasibilityTolerance && gradc < o.GradientTolerance && comp < o.ComplementarityTolerance && gapc < o.GapTolerance)
            {
                status = SolverStatus.Optimal;
                break;
            }
            double score = Score();
            if (score < bestScore)
            {
                bestScore = score;
                bestIt = it;
                // kept in arrays allocated once (a 2,000-bus AC OPF improves its score at nearly every iteration)
                x.CopyTo(bestX, 0); z.CopyTo(bestZ, 0); mu.CopyTo(bestMu, 0); lam.CopyTo(bestLam, 0);
                best = (fval, feas, gradc, comp, gapc);
            }
            else if (bestScore <= 100 && it - bestIt >= 5) break; // stalled within 100× the tolerances
            it++;
            double thetaBefore = Violation(g, h);
            // reduced KKT system [M Jgᵀ; Jg 0], M = ∇²L + Jhᵀ·diag(μ/z)·Jh, on a fixed pattern
            for (int k = 0; k < niq; k++) d[k] = mu[k] / z[k];
            // inertia-free regularisation (Chiang & Zavala 2016): the first direction must see non-negative curvature
            // dxᵀ·(∇²L + Jhᵀ·diag(μ/z)·Jh + δ_w·I)·dx; if not (a nonconvex AC OPF far from its optimum), δ_w grows as in Ipopt
            // (1e-4, ×100, then ×8; the next iteration starts from a third of the last one) and the system is refactorised
            double deltaW = 0, muAvg = 0;
            bool abort = false;
            for (int attempt = 0; ; attempt++)
            {
                var kkt = assembler.Assemble(hx, JhT, d, Jg, deltaW);
                try
                {
                    var scaled = scaling.Apply(kkt);
                    if (!strict && o.SymmetricFactorization && !ldlAbandoned)
                    {
                        try
                        {
                            if (ldl is not null && !assembler.Rebuilt && !ldlReorder) ldl.Refactorize(scaled);
                            // the pairs were chosen on the first iteration's diagonals; as bounds go inactive (μ/z → 0) a
                            // variable without curvature gets an empty diagonal and static pivoting has to perturb it: when
                            // those perturbations pile up, pair and order afresh on the current matrix
                            if (ldl is null || assembler.Rebuilt || ldlReorder || ldl.PerturbedPivots > ldlPerturbedAtOrder * 2 + Math.Max(16, (n + neq) / 256))
                            {
                                var order = MinimumDegree.OrderSaddlePoint(scaled, out var partner);
                                ldl = SparseLdl.Factorize(scaled, order, partner);
                                ldlPerturbedAtOrder = ldl.PerturbedPivots;
                                ldlReorder = false;
                            }
                            lu = ldl;
                        }
                        catch (SingularMatrixException)
                        {
                            // static pivots cannot take this matrix: threshold pivoting for the rest of the run
                            strict = true;
                            ldl = null;
                            lu = slu = SparseLU.Factorize(scaled, KktLuStrict);
                        }
                    }
                    else
                    {
                        if (slu is not null && ReferenceEquals(lu, slu) && !assembler.Rebuilt) slu.Refactorize(scaled);
                        else slu = SparseLU.Factorize(scaled, strict ? KktLuStrict : KktLu);
                        lu = slu;
                    }
                }
                catch (SingularMatrixException e)
                {
                    status = SolverStatus.NumericalError;
                    message = $"the KKT system became singular ({e.Message})";
                    abort = true;
                    break;
                }
                catch (ArgumentException) // a non-finite entry: the iterates diverged (typically an infeasible or unbounded problem)
                {
                    status = SolverStatus.NumericalError;
                    message = "the iterates diverged (an entry of the KKT system overflowed): the problem is likely infeasible or unbounded";
                    abort = true;
                    break;
                }
                muAvg = 0;
                for (int k = 0; k < niq; k++) muAvg += z[k] * mu[k];
                muAvg = niq > 0 ? muAvg / niq : 0;
                // complementarity right-hand side r_c (MIPS: γ·e; Mehrotra: σ·μ̄·e − Δz_aff∘Δμ_aff); the first solve is
                // Mehrotra's affine direction, or MIPS's only one
                if (o.PredictorCorrector && niq > 0) Array.Clear(rc);
                else { double r0 = Math.Max(gamma, MuFloor()); for (int k = 0; k < niq; k++) rc[k] = r0; }
                if (!Step(rc)) { abort = true; break; }
                if (!o.InertiaCorrection || attempt >= 20 || Curvature(kkt) >= 0) break;
                deltaW = deltaW == 0 ? (lastDeltaW == 0 ? 1e-4 : Math.Max(1e-20, lastDeltaW / 3)) : deltaW * (lastDeltaW == 0 ? 100 : 8);
                regularised++;
            }
            if (abort) break;
            lastDeltaW = deltaW;
            if (o.PredictorCorrector && niq > 0)
            {
                var (ap, ad) = StepLengths(1.0);
                double muAff = 0;
                for (int k = 0; k < niq; k++) muAff += (z[k] + ap * dz[k]) * (mu[k] + ad * dmu[k]);
                muAff /= niq;
                double sigma = Math.Pow(Math.Clamp(muAff / muAvg, 0, 1), 3);
                // the barrier target never falls below a tenth of what the complementarity tolerance asks (Ipopt's μ_min):
                // with σ → 0 the products z∘μ collapsed to 1e-27 on an LP long before feasibility, the reduced system's
                // μ/z spread over 30 orders of magnitude and the steps lost the accuracy feasibility needed
                double target = Math.Max(sigma * muAvg, MuFloor());
                for (int k = 0; k < niq; k++) rc[k] = target - dz[k] * dmu[k];
            }
            if ((o.PredictorCorrector && niq > 0) && !Step(rc)) break;
            var (alphaP, alphaD) = StepLengths(o.StepFraction);
            for (int i = 0; i < n; i++) x[i] += alphaP * dx[i];
            for (int k = 0; k < niq; k++) { z[k] += alphaP * dz[k]; mu[k] += alphaD * dmu[k]; }
            if (niq > 0)
            {
                // Ipopt's κ_Σ safeguard: each μ_k stays within [m/(κ·z_k), κ·m/z_k] of the central path, m the average
                // product, so no single pair runs ahead of the others
                double m = 0;
                for (int k = 0; k < niq; k++) m += z[k] * mu[k];
                m /= niq;
                for (int k = 0; k < niq; k++) mu[k] = Math.Clamp(mu[k], m / (KappaSigma * z[k]), KappaSigma * m / z[k]);
            }
            for (int k = 0; k < neq; k++) lam[k] += alphaD * dlam[k];
            double zmu = 0;
            for (int k = 0; k < niq; k++) zmu += z[k] * mu[k];
            if (niq > 0) gamma = o.Centering * zmu / niq;

            Reevaluate();
            Lagrangian();
            hx = problem.Hessian(x, 1.0, lam.AsSpan(0, neqP), mu.AsSpan(0, niqP));
            (feas, gradc, comp) = Conditions();
            if (!double.IsFinite(fval) || NormInf(x) > 1e12)
            {
                status = NormInf(x) > 1e12 ? SolverStatus.Unbounded : SolverStatus.NumericalError;
                message = status == SolverStatus.Unbounded ? "the iterates grow without bound: the problem looks unbounded" : "the objective is not finite";
                break;
            }
            if (NormInf(lam) > 1e14 || NormInf(mu) > 1e14)
            {
                status = SolverStatus.Infeasible;
                message = "the multipliers grow without bound: the constraints look infeasible";
                break;
            }
            // feasibility restoration (Ipopt's, simplified): a run of short primal steps that leaves the constraint violation
            // where it was means the Newton directions are blocked at the boundary (PGLib's RTE cases: α ≈ 1e-3…1e-9 for
            // 190 iterations with balance residuals of ~5 p.u.). Minimise the violation instead, then start afresh there.
            double thetaNow = Violation(g, h);
            bool restoredNow = false;
            if (alphaP >= RestorationStep) shortSteps = 0;
            else if (shortSteps++ == 0) thetaStreak = thetaBefore;
            if (o.Restoration && RestorationDepth == 0 && restorations < MaxRestorations && shortSteps >= RestorationStreak
                && thetaNow > 0.5 * thetaStreak && thetaNow > o.FeasibilityTolerance * (1 + NormInf(x)))
            {
                restorations++;
                shortSteps = 0;
                if (!Restore(thetaNow)) restorationsFailed++;
                else restoredNow = true;
            }
            if (RestorationDepth == 0) o.OnIteration?.Invoke(new InteriorPointIterate(it + restorationIterations, fval, feas, gradc, comp, gapc, alphaP, alphaD, deltaW, restoredNow));
        }
        if (status != SolverStatus.Optimal && best is { } b && bestScore <= 100 && Score() > bestScore)
        {
            // accept the best iterate when it meets the tolerances within a factor 100 (MIPS's own defaults are 1e-6)
            bestX.CopyTo(x, 0);
            bestZ.CopyTo(z, 0);
            bestMu.CopyTo(mu, 0);
            bestLam.CopyTo(lam, 0);
            (fval, feas, gradc, comp, gapc) = (b.F, b.Feas, b.Grad, b.Comp, b.Gap);
            status = SolverStatus.Optimal;
        }
        if (status == SolverStatus.NotConverged)
        {
            message = $"no convergence in {it + restorationIterations} iterations (feasibility {feas:E1}, gradient {gradc:E1}, complementarity {comp:E1}, gap {gapc:E1})";
            // the infeasibility guess keeps MIPS's measure (its statuses unchanged by the stopping test above; with the plain
            // measure PGLib's RTE cases, which Ipopt solves, would be called infeasible here)
            if (feasMips > 1e-3 && NormInf(lam) + NormInf(mu) > 1e8) { status = SolverStatus.Infeasible; message = "the constraints look infeasible: " + message; }
        }
        if (status == SolverStatus.Optimal)
            message = Score() <= 1 ? $"converged in {it + restorationIterations} iterations" : $"converged in {it + restorationIterations} iterations to within {Score():0} × the tolerances (numerical accuracy limit)";
        if (regularised > 0) message += $"; the Hessian block was regularised {regularised} times for negative curvature";
        if (restorations > 0) message += $"; {restorations} feasibility restoration{(restorations > 1 ? "s" : "")} ({restorationIterations} of the iterations{(restorationsFailed > 0 ? $"; {restorationsFailed} without progress" : "")})";

        var muLower = new double[n];
        var muUpper = new double[n];
        for (int k = 0; k < upperVars.Count; k++) muUpper[upperVars[k]] = mu[niqP + k];
        for (int k = 0; k < lowerVars.Count; k++) muLower[lowerVars[k]] = mu[niqP + upperVars.Count + k];
        // a fixed variable's equality multiplier: positive part acts on the upper side, negative on the lower
        for (int k = 0; k < fixedVars.Count; k++)
        {
            double l = lam[neqP + k];
            if (l > 0) muUpper[fixedVars[k]] = l; else muLower[fixedVars[k]] = -l;
        }
        return new InteriorPointResult(status, x, fval, Head(lam, neqP), Head(mu, niqP), muLower, muUpper, it + restorationIterations, message)
        {
            FeasibilityError = feas,
            GradientError = gradc,
            ComplementarityError = comp,
        };
    }

    // KKT systems: column ordering that tolerates off-diagonal pivots; refactorisations keep their pivots
    // unless they fall below 1e-3 of their column (each solve is followed by a step of iterative refinement)
    private const double KappaSigma = 1e10;
    // restoration: after this many consecutive primal steps shorter than RestorationStep that did not halve the violation
    private const double RestorationStep = 1e-2;
    private const int RestorationStreak = 10, MaxRestorations = 5, RestorationIterations = 100;
    [ThreadStatic] private static int RestorationDepth;
    // set by the restoration program once its iterate's violation of the original constraints is down to its target
    [ThreadStatic] private static bool RestorationReached;

    /// <summary>
    /// Ipopt's feasibility restoration problem around x_R: variables (x, p, n, q), p, n ≥ 0 elastic for each equality and
    /// q ≥ 0 for each inequality violated at x_R; min ρ·Σ(p + n + q) + ζ/2·Σ D_i²(x_i − x_R,i)² (ρ = 1000, D_i = min(1, 1/|x_R,i|))
    /// s.t. g(x) − p + n = 0, h(x) − q ≤ 0 (h(x) ≤ 0 where x_R meets it) and the original bounds on x: x_R with its elastics
    /// meets every row; its x is a point of less violation.
    /// </summary>
    private sealed class RestorationProgram : INonlinearProgram
    {
        private const double Rho = 1000;
        private readonly INonlinearProgram _p;
        private readonly double[] _xr, _d2, _lower, _upper, _g, _h;
        private readonly int _n, _me, _mi, _nq;
        private readonly int[] _qRows;
        private readonly double _zeta, _target;
        private double _best = double.PositiveInfinity;

        /// <summary>The x (original variables) of least violation max(‖g‖∞, max h⁺) among the points evaluated.</summary>
        public double[] BestX { get; }

        public RestorationProgram(INonlinearProgram p, double[] xr, double zeta, double target)
        {
            _target = target;
            BestX = (double[])xr.Clone();
            _p = p;
            _n = p.Variables; _me = p.Equalities; _mi = p.Inequalities;
            _g = new double[_me];
            _h = new double[_mi];
            p.Constraints(xr, _g, _h);
            // elastic q only for the inequalities violated at x_R (the others keep their slack as in the main problem)
            // (q for every row made each restoration iteration twice the cost of a main one: case2742_goc lost 70 % CPU time)
            _qRows = [.. Enumerable.Range(0, _mi).Where(k => _h[k] > 0)];
            _nq = _qRows.Length;
            _xr = (double[])xr.Clone();
            _zeta = zeta;
            _d2 = [.. _xr.Select(v => Math.Pow(Math.Min(1, 1 / Math.Max(Math.Abs(v), 1e-300)), 2))];
            int nv = _n + 2 * _me + _nq;
            _lower = new double[nv];
            _upper = new double[nv];
            p.Lower.CopyTo(_lower);
            p.Upper.CopyTo(_upper);
            for (int i = _n; i < nv; i++) { _lower[i] = 0; _upper[i] = double.PositiveInfinity; }
        }

        public int Variables => _n + 2 * _me + _nq;
        public int Equalities => _me;
        public int Inequalities => _mi;
        public ReadOnlySpan<double> Lower => _lower;
        public ReadOnlySpan<double> Upper => _upper;

        public double Objective(ReadOnlySpan<double> x, Span<double> gradient)
        {
            double f = 0;
            for (int i = 0; i < _n; i++)
            {
                double e = x[i] - _xr[i];
                f += 0.5 * _zeta * _d2[i] * e * e;
                gradient[i] = _zeta * _d2[i] * e;
            }
            for (int i = _n; i < Variables; i++) { f += Rho * x[i]; gradient[i] = Rho; }
            return f;
        }

        public void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h)
        {
            _p.Constraints(x[.._n], g, h);
            double v = Violation(g, h);
            if (v < _best)
            {
                _best = v;
                x[.._n].CopyTo(BestX);
                if (v <= _target) RestorationReached = true;
            }
            for (int k = 0; k < _me; k++) g[k] += -x[_n + k] + x[_n + _me + k];
            for (int t = 0; t < _nq; t++) h[_qRows[t]] -= x[_n + 2 * _me + t];
        }

        public (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x)
        {
            var (jg, jh) = _p.Jacobians(x[.._n]);
            var bg = new TripletBuilder(_me, Variables, jg.Nnz + 2 * _me);
            for (int j = 0; j < jg.Cols; j++)
                for (int q = jg.ColPtr[j]; q < jg.ColPtr[j + 1]; q++) bg.Add(jg.RowIdx[q], j, jg.Values[q]);
            for (int k = 0; k < _me; k++) { bg.Add(k, _n + k, -1); bg.Add(k, _n + _me + k, 1); }
            var bh = new TripletBuilder(_mi, Variables, jh.Nnz + _nq);
            for (int j = 0; j < jh.Cols; j++)
                for (int q = jh.ColPtr[j]; q < jh.ColPtr[j + 1]; q++) bh.Add(jh.RowIdx[q], j, jh.Values[q]);
            for (int t = 0; t < _nq; t++) bh.Add(_qRows[t], _n + 2 * _me + t, -1);
            return (bg.ToCsc(), bh.ToCsc());
        }

        public SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu)
        {
            var hp = _p.Hessian(x[.._n], 0, lambda, mu);
            var b = new TripletBuilder(Variables, Variables, hp.Nnz + _n);
            for (int j = 0; j < hp.Cols; j++)
                for (int q = hp.ColPtr[j]; q < hp.ColPtr[j + 1]; q++) b.Add(hp.RowIdx[q], j, hp.Values[q]);
            for (int i = 0; i < _n; i++) b.Add(i, i, sigma * _zeta * _d2[i]);
            return b.ToCsc();
        }

        public double[] InitialPoint()
        {
            var x0 = new double[Variables];
            _xr.CopyTo(x0, 0);
            _p.Constraints(_xr, _g, _h);
            for (int k = 0; k < _me; k++) { x0[_n + k] = Math.Max(_g[k], 0) + 1e-2; x0[_n + _me + k] = Math.Max(-_g[k], 0) + 1e-2; }
            for (int t = 0; t < _nq; t++) x0[_n + 2 * _me + t] = Math.Max(_h[_qRows[t]], 0) + 1e-2;
            return x0;
        }
    }

    private static readonly LuOptions KktLuStrict = new() { Ordering = Ordering.ColumnMinimumDegree, PivotTolerance = 0.1, RefactorPivotTolerance = 0.01 };
    private static readonly LuOptions KktLu = new() { Ordering = Ordering.SaddlePoint, PivotTolerance = 1e-6, RefactorPivotTolerance = 1e-8 };

    /// <summary>The same program with constraint row i multiplied by s_i (gᵢ·sgᵢ = 0, hⱼ·shⱼ ≤ 0): same solution, multipliers λ/sg, μ/sh.</summary>
    private sealed class ScaledConstraints : INonlinearProgram
    {
        private readonly INonlinearProgram _p;
        public double[] Sg { get; }
        public double[] Sh { get; }
        private SparseMatrix? _jgIn, _jhIn, _jgOut, _jhOut;
        private double[] _lam = Arrays.NoDoubles, _mu = Arrays.NoDoubles;

        private ScaledConstraints(INonlinearProgram p, double[] sg, double[] sh) { _p = p; Sg = sg; Sh = sh; }

        /// <summary>The scaled program, or null when no row's largest derivative at the initial point exceeds 100.</summary>
        public static ScaledConstraints? Create(INonlinearProgram p)
        {
            var (jg, jh) = p.Jacobians(p.InitialPoint());
            bool scaled = false;
            double[] Factors(SparseMatrix j)
            {
                var max = new double[j.Rows];
                for (int c = 0; c < j.Cols; c++)
                    for (int q = j.ColPtr[c]; q < j.ColPtr[c + 1]; q++) max[j.RowIdx[q]] = Math.Max(max[j.RowIdx[q]], Math.Abs(j.Values[q]));
                for (int i = 0; i < max.Length; i++)
                {
                    double m = max[i];
                    max[i] = m > 100 && double.IsFinite(m) ? 100 / m : 1.0;
                    scaled |= max[i] != 1;
                }
                return max;
            }
            double[] sg = Factors(jg), sh = Factors(jh);
            return scaled ? new ScaledConstraints(p, sg, sh) : null;
        }

        public int Variables => _p.Variables;
        public int Equalities => _p.Equalities;
        public int Inequalities => _p.Inequalities;
        public ReadOnlySpan<double> Lower => _p.Lower;
        public ReadOnlySpan<double> Upper => _p.Upper;
        public double Objective(ReadOnlySpan<double> x, Span<double> gradient) => _p.Objective(x, gradient);

        public void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h)
        {
            _p.Constraints(x, g, h);
            for (int i = 0; i < g.Length; i++) g[i] *= Sg[i];
            for (int j = 0; j < h.Length; j++) h[j] *= Sh[j];
        }

        public (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x)
        {
            var (jg, jh) = _p.Jacobians(x);
            // a program that returns the same (constant) Jacobian object gets the same scaled object back
            if (!ReferenceEquals(jg, _jgIn)) { _jgIn = jg; _jgOut = RowScaled(jg, Sg, _jgValues); }
            if (!ReferenceEquals(jh, _jhIn)) { _jhIn = jh; _jhOut = RowScaled(jh, Sh, _jhValues); }
            return (_jgOut!, _jhOut!);
        }

        private readonly AlternatingBuffers _jgValues = new(), _jhValues = new();

        private static SparseMatrix RowScaled(SparseMatrix a, double[] s, AlternatingBuffers buffers)
        {
            var v = buffers.Next(a.Values.Length);
            for (int q = 0; q < v.Length; q++) v[q] = a.Values[q] * s[a.RowIdx[q]];
            return new SparseMatrix(a.Rows, a.Cols, a.ColPtr, a.RowIdx, v);
        }

        public SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu)
        {
            if (_lam.Length != lambda.Length) _lam = new double[lambda.Length];
            if (_mu.Length != mu.Length) _mu = new double[mu.Length];
            for (int i = 0; i < lambda.Length; i++) _lam[i] = lambda[i] * Sg[i];
            for (int j = 0; j < mu.Length; j++) _mu[j] = mu[j] * Sh[j];
            return _p.Hessian(x, sigma, _lam, _mu);
        }

        public double[] InitialPoint() => _p.InitialPoint();
    }

    /// <summary>The same program with its objective (and so its gradient and Hessian weight) multiplied by s.</summary>
    private sealed class ScaledObjective(INonlinearProgram p, double s) : INonlinearProgram
    {
        public int Variables => p.Variables;
        public int Equalities => p.Equalities;
        public int Inequalities => p.Inequalities;
        public ReadOnlySpan<double> Lower => p.Lower;
        public ReadOnlySpan<double> Upper => p.Upper;

        public double Objective(ReadOnlySpan<double> x, Span<double> gradient)
        {
            double f = p.Objective(x, gradient);
            for (int i = 0; i < gradient.Length; i++) gradient[i] *= s;
            return f * s;
        }

        public void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h) => p.Constraints(x, g, h);
        public (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x) => p.Jacobians(x);
        public SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu) => p.Hessian(x, sigma * s, lambda, mu);
        public double[] InitialPoint() => p.InitialPoint();
    }

    /// <summary>The constraint violation max(‖g‖∞, max h⁺).</summary>
    private static double Violation(ReadOnlySpan<double> g, ReadOnlySpan<double> h) => Max(h, NormInf(g), false);

    /// <summary>The first <paramref name="count"/> entries of <paramref name="a"/> in a new array (a[..count] without the generic helper the JIT compiles).</summary>
    private static double[] Head(double[] a, int count)
    {
        var b = new double[count];
        Array.Copy(a, b, count);
        return b;
    }

    private static double NormInf(ReadOnlySpan<double> v) => Max(v, 0, true);

    /// <summary>
    /// Math.Max folded over start and the entries (their magnitudes if <paramref name="abs"/>): the same answer in SIMD
    /// registers (a maximum does not depend on the order it is taken in; a NaN anywhere gives NaN, as Math.Max does; the
    /// lanes end in Math.Max against the start, so a zero maximum is +0 whenever the start is +0).
    /// </summary>
    /// <summary>
    /// Whether no lane is NaN (|x| ≤ +∞ holds for every other value). Not <c>Vector256.EqualsAll(x, x)</c>: ReadyToRun code
    /// for x86-64-v3 that uses it is rejected at start-up on a processor with AVX-512 (its code there differs), and the
    /// method then runs as unoptimised tier-0 code in a cold process.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool NoNaN(Vector256<double> x) => Vector256.LessThanOrEqualAll(Vector256.Abs(x), Vector256.Create(double.PositiveInfinity));

    private static unsafe double Max(ReadOnlySpan<double> v, double start, bool abs)
    {
        fixed (double* p = v) return Max(p, v.Length, start, abs);
    }

    /// <summary>The same over the <paramref name="count"/> entries from <paramref name="p"/> (the scaling's column maxima use it too).</summary>
    private static unsafe double Max(double* p, int count, double start, bool abs)
    {
        double m = start;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            var acc = Vector256.Create(start);
            for (; i + 4 <= count; i += 4)
            {
                var x = *(Vector256<double>*)(p + i);
                if (!NoNaN(x)) return double.NaN;
                acc = Vector256.Max(acc, abs ? Vector256.Abs(x) : x);
            }
            m = Math.Max(Math.Max(Math.Max(m, acc.GetElement(0)), Math.Max(acc.GetElement(1), acc.GetElement(2))), acc.GetElement(3));
        }
        for (; i < count; i++) m = Math.Max(m, abs ? Math.Abs(p[i]) : p[i]);
        return m;
    }

    /// <summary>
    /// Stacks the bound rows under a Jacobian. A Jacobian whose pattern arrays are the same objects as last time
    /// (a program that refills one pattern) only has its values copied into the stacked pattern: no re-sorting.
    /// </summary>
    private sealed class UnitRowAugmenter(List<int> first, double firstSign, List<int> second, double secondSign, int n)
    {
        private int[]? _srcColPtr, _srcRowIdx;
        private SparseMatrix? _template;
        private int[] _shift = []; // per column of A: how many unit entries the columns before it gained
        private int[] _unitSlots = [];
        private readonly AlternatingBuffers _values = new();

        public SparseMatrix Apply(SparseMatrix a)
        {
            if (first.Count + second.Count == 0) return a;
            if (_template is null || !ReferenceEquals(a.ColPtr, _srcColPtr) || !ReferenceEquals(a.RowIdx, _srcRowIdx))
            {
                _srcColPtr = a.ColPtr;
                _srcRowIdx = a.RowIdx;
                _template = AppendUnitRows(a, first, firstSign, second, secondSign, n);
                _shift = new int[a.Cols];
                var units = new List<int>();
                for (int j = 0; j < _template.Cols; j++)
                {
                    int len = j < a.Cols ? a.ColPtr[j + 1] - a.ColPtr[j] : 0;
                    if (j < a.Cols) _shift[j] = _template.ColPtr[j] - a.ColPtr[j];
                    for (int q = _template.ColPtr[j] + len; q < _template.ColPtr[j + 1]; q++) units.Add(q);
                }
                _unitSlots = [.. units];
                return _template;
            }
            // in each column the original rows come first (they are numbered below the appended ones), then the unit entries
            var values = _values.Next(_template.Values.Length);
            double[] src = a.Values, unitValues = _template.Values;
            int[] colPtr = a.ColPtr, shift = _shift;
            for (int j = 0; j < a.Cols; j++)
            {
                int s = shift[j];
                for (int p = colPtr[j], end = colPtr[j + 1]; p < end; p++) values[p + s] = src[p];
            }
            foreach (int q in _unitSlots) values[q] = unitValues[q];
            return new SparseMatrix(_template.Rows, _template.Cols, _template.ColPtr, _template.RowIdx, values);
        }
    }

    /// <summary>
    /// 2^round(log₂ x) for a positive finite x. The exponent comes from the bits: x = M·2^e with M in [1, 2) rounds up
    /// when M > √2; only an M within rounding of √2 asks Math.Log2, so the result is the one Log2 and Round give.
    /// </summary>
    internal static double NearestPowerOfTwo(double x)
    {
        const double Sqrt2 = 1.4142135623730951;
        // a positive normal x (and 2x normal too): mantissa and result straight from the bits, the values ILogB and
        // ScaleB give (both exact there)
        long bits = BitConverter.DoubleToInt64Bits(x);
        ulong biased = (ulong)bits >> 52; // the sign bit makes a negative x ≥ 0x800
        if (biased is > 0 and < 0x7FE)
        {
            double m = BitConverter.Int64BitsToDouble((bits & 0xF_FFFF_FFFF_FFFFL) | 0x3FF0_0000_0000_0000L);
            if (Math.Abs(m - Sqrt2) > 1e-9) return BitConverter.Int64BitsToDouble((long)(m > Sqrt2 ? biased + 1 : biased) << 52);
        }
        int e = Math.ILogB(x);
        double mantissa = Math.ScaleB(x, -e);
        if (Math.Abs(mantissa - Sqrt2) > 1e-9) return Math.ScaleB(1.0, mantissa > Sqrt2 ? e + 1 : e);
        return Math.ScaleB(1.0, (int)Math.Round(Math.Log2(x)));
    }

    /// <summary>
    /// Symmetric Ruiz equilibration of the KKT matrix: D with every column of D·K·D having its largest entry in [0.5, 2]
    /// (a few passes of d_j ← d_j/√max_i |d_i·K_ij·d_j|), powers of two so scaling adds no rounding. The scaled matrix
    /// shares K's pattern, so the LU's refactorisation keeps working.
    /// </summary>
    private sealed class KktScaling(bool enabled)
    {
        private double[] _d = Arrays.NoDoubles;
        private double[] _colMax = Arrays.NoDoubles;
        private int[] _changed = [];
        private int[] _changedList = [];
        private int[]? _patternColPtr, _patternRowIdx;
        private bool _symmetricPattern;
        private double[] _firstMax = Arrays.NoDoubles;
        private SparseMatrix? _maximaOf;
        public SparseMatrix? Scaled { get; private set; }

        /// <summary>
        /// maxᵢ |Kᵢⱼ| of every column of the matrix the last <see cref="Apply"/> scaled (its first pass, dᵢ = 1), when
        /// <paramref name="k"/> is that matrix object; false otherwise (scaling off, or another matrix).
        /// </summary>
        public bool ColumnMaxima(SparseMatrix k, double[] max)
        {
            if (!ReferenceEquals(k, _maximaOf) || max.Length != _firstMax.Length) return false;
            Array.Copy(_firstMax, max, max.Length);
            return true;
        }

        public SparseMatrix Apply(SparseMatrix k)
        {
            if (!enabled) return Scaled = k;
            int n = k.Cols;
            if (_d.Length != n) { _d = new double[n]; _colMax = new double[n]; _changed = new int[n]; _changedList = new int[n]; _firstMax = new double[n]; }
            _maximaOf = null; // until the first pass has them
            double[] d = _d, colMax = _colMax, values = k.Values;
            int[] colPtr = k.ColPtr, rowIdx = k.RowIdx, changed = _changed, changedList = _changedList;
            if (!ReferenceEquals(colPtr, _patternColPtr) || !ReferenceEquals(rowIdx, _patternRowIdx))
            {
                (_patternColPtr, _patternRowIdx) = (colPtr, rowIdx);
                _symmetricPattern = k.Rows == n && StructurallySymmetric(n, colPtr, rowIdx);
            }
            bool symmetric = _symmetricPattern;
            for (int j = 0; j < n; j++) { d[j] = 1.0; changed[j] = 0; } // not Array.Fill<double>: the JIT compiles it at its first call in a CLI process
            // colMax[j] holds maxᵢ |dᵢ·Kᵢⱼ| (without dⱼ); after the first pass only a few d change (on a 2,000-bus AC OPF about
            // 15 % in the second pass, 2 % in the fourth), so a column is re-swept only when a dᵢ of one of its rows changed in
            // the last pass — the same maxima, so the same scaling, for far fewer sweeps. On a structurally symmetric pattern
            // (the KKT matrix's) the columns with an entry in row i are the rows of column i: the changed rows' columns mark
            // the columns to re-sweep (changed[j] == pass) without scanning every column; otherwise every column is scanned.
            // In the first pass every dᵢ is 1, so dᵢ·Kᵢⱼ is Kᵢⱼ itself and the column's maximum is taken in SIMD registers
            // (Vector256.Max propagates NaN as Math.Max does, and a maximum does not depend on the order it is taken in).
            int changedCount = 0;
            for (int pass = 0; pass < 8; pass++)
            {
                bool done = true;
                if (pass == 0)
                {
                    for (int j = 0; j < n; j++) colMax[j] = MaxAbs(values, colPtr[j], colPtr[j + 1]);
                    Array.Copy(colMax, _firstMax, n);
                    _maximaOf = k;
                }
                else if (4 * changedCount > n)
                    // most factors changed (the second pass): every column again (a column none of whose dᵢ changed gets
                    // the maximum it had, so this is the same as sweeping only the marked ones, without the marking)
                    for (int j = 0; j < n; j++) colMax[j] = MaxAbsScaled(d, values, rowIdx, colPtr[j], colPtr[j + 1]);
                else if (symmetric)
                {
                    for (int c = 0; c < changedCount; c++)
                    {
                        int i = changedList[c];
                        for (int p = colPtr[i], end = colPtr[i + 1]; p < end; p++) changed[rowIdx[p]] = pass;
                    }
                    for (int j = 0; j < n; j++)
                    {
                        if (changed[j] != pass) continue;
                        colMax[j] = MaxAbsScaled(d, values, rowIdx, colPtr[j], colPtr[j + 1]);
                    }
                }
                else
                    for (int j = 0; j < n; j++)
                    {
                        int start = colPtr[j], end = colPtr[j + 1];
                        int p0 = start;
                        while (p0 < end && changed[rowIdx[p0]] != pass) p0++;
                        if (p0 == end) continue;
                        double m = 0;
                        for (int p = start; p < end; p++) m = Math.Max(m, Math.Abs(d[rowIdx[p]] * values[p]));
                        colMax[j] = m;
                    }
                changedCount = 0;
                for (int j = 0; j < n; j++)
                {
                    double m = colMax[j] * d[j];
                    if (m == 0 || !double.IsFinite(m) || (m >= 0.5 && m <= 2)) continue;
                    done = false;
                    d[j] *= NearestPowerOfTwo(1 / Math.Sqrt(m));
                    if (!symmetric) changed[j] = pass + 1;
                    changedList[changedCount++] = j;
                }
                if (done) break;
            }
            if (Scaled is null || !ReferenceEquals(Scaled.ColPtr, k.ColPtr) || !ReferenceEquals(Scaled.RowIdx, k.RowIdx))
                Scaled = new SparseMatrix(k.Rows, k.Cols, k.ColPtr, k.RowIdx, new double[k.Values.Length]);
            ScaleEntries(d, values, rowIdx, colPtr, n, Scaled.Values);
            return Scaled;
        }

        // The kernels below take the products dᵢ·Kᵢⱼ (and ·dⱼ) exactly as the scalar loops do, four at a time with the dᵢ
        // gathered by row; a maximum does not depend on the order it is taken in, and a NaN gives NaN as Math.Max does.
        // Pointer loads: ReadyToRun code does not inline Vector256.Load.

        /// <summary>maxₚ |values[p]| over [start, end) (Math.Max's answer: NaN once a NaN is met): NormInf's kernel on the range.</summary>
        internal static unsafe double MaxAbs(double[] values, int start, int end)
        {
            fixed (double* v = values) return Max(v + start, end - start, 0, true);
        }

        /// <summary>maxₚ |d[rowIdx[p]]·values[p]| over [start, end) (NaN once a NaN is met).</summary>
        private static unsafe double MaxAbsScaled(double[] d, double[] values, int[] rowIdx, int start, int end)
        {
            double m = 0;
            int p = start;
            fixed (double* dp = d, v = values)
            fixed (int* ri = rowIdx)
            {
                if (Avx2.IsSupported && end - start >= 4)
                {
                    var acc = Vector256<double>.Zero;
                    for (; p + 4 <= end; p += 4)
                    {
                        var x = Avx2.GatherVector256(dp, Sse2.LoadVector128(ri + p), 8) * *(Vector256<double>*)(v + p);
                        if (!NoNaN(x)) return double.NaN;
                        acc = Vector256.Max(acc, Vector256.Abs(x));
                    }
                    m = Math.Max(Math.Max(acc.GetElement(0), acc.GetElement(1)), Math.Max(acc.GetElement(2), acc.GetElement(3)));
                }
                for (; p < end; p++) m = Math.Max(m, Math.Abs(dp[ri[p]] * v[p]));
            }
            return m;
        }

        /// <summary>scaled[p] = d[rowIdx[p]]·values[p]·d[j] for every entry p of every column j.</summary>
        private static unsafe void ScaleEntries(double[] d, double[] values, int[] rowIdx, int[] colPtr, int n, double[] scaled)
        {
            fixed (double* dp = d, v = values, s = scaled)
            fixed (int* ri = rowIdx)
                for (int j = 0; j < n; j++)
                {
                    double dj = d[j];
                    int p = colPtr[j], end = colPtr[j + 1];
                    if (Avx2.IsSupported)
                    {
                        var djv = Vector256.Create(dj);
                        for (; p + 4 <= end; p += 4)
                            *(Vector256<double>*)(s + p) = Avx2.GatherVector256(dp, Sse2.LoadVector128(ri + p), 8) * *(Vector256<double>*)(v + p) * djv;
                    }
                    for (; p < end; p++) s[p] = dp[ri[p]] * v[p] * dj;
                }
        }

        /// <summary>Whether every entry (i, j) of the pattern has its mirror (j, i) (rows sorted in each column).</summary>
        private static bool StructurallySymmetric(int n, int[] colPtr, int[] rowIdx)
        {
            var next = new int[n];
            for (int j = 0; j < n; j++) next[j] = colPtr[j];
            // visiting columns in order, the entries (i, j) of row i arrive in increasing j: each must be column i's next row
            for (int j = 0; j < n; j++)
                for (int p = colPtr[j]; p < colPtr[j + 1]; p++)
                {
                    int i = rowIdx[p];
                    if ((uint)i >= (uint)n || next[i] >= colPtr[i + 1] || rowIdx[next[i]] != j) return false;
                    next[i]++;
                }
            for (int j = 0; j < n; j++) if (next[j] != colPtr[j + 1]) return false;
            return true;
        }

        /// <summary>Solves K·x = b in place through the factors of D·K·D: x = D·(DKD)⁻¹·D·b.</summary>
        public void Solve(IFactorization lu, double[] b)
        {
            if (!enabled) { lu.Solve(b); return; }
            for (int i = 0; i < b.Length; i++) b[i] *= _d[i];
            lu.Solve(b);
            for (int i = 0; i < b.Length; i++) b[i] *= _d[i];
        }

    }

    /// <summary>
    /// Stacks unit rows under A: sign₁·e_i for each variable of the first list, then sign₂·e_i for each of the second (each
    /// list without repeats). Written column by column straight into CSC: in every column A's rows come first, then the
    /// column's row of the first list, then of the second — already in order, no triplets to sort.
    /// </summary>
    private static SparseMatrix AppendUnitRows(SparseMatrix a, List<int> first, double firstSign, List<int> second, double secondSign, int n)
    {
        int rows = a.Rows + first.Count + second.Count;
        var inFirst = new int[n];
        var inSecond = new int[n];
        for (int j = 0; j < n; j++) inFirst[j] = inSecond[j] = -1;
        for (int k = 0; k < first.Count; k++) inFirst[first[k]] = k;
        for (int k = 0; k < second.Count; k++) inSecond[second[k]] = k;
        int nnz = a.Nnz + first.Count + second.Count;
        var colPtr = new int[n + 1];
        var rowIdx = new int[nnz];
        var values = new double[nnz];
        int w = 0;
        for (int j = 0; j < n; j++)
        {
            colPtr[j] = w;
            if (j < a.Cols)
            {
                int len = a.ColPtr[j + 1] - a.ColPtr[j];
                Array.Copy(a.RowIdx, a.ColPtr[j], rowIdx, w, len);
                Array.Copy(a.Values, a.ColPtr[j], values, w, len);
                w += len;
            }
            if (inFirst[j] >= 0) { rowIdx[w] = a.Rows + inFirst[j]; values[w++] = firstSign; }
            if (inSecond[j] >= 0) { rowIdx[w] = a.Rows + first.Count + inSecond[j]; values[w++] = secondSign; }
        }
        colPtr[n] = w;
        return new SparseMatrix(rows, n, colPtr, rowIdx, values);
    }

    /// <summary>
    /// Two value arrays used in turn: a stage that derives a matrix from the program's Jacobian at each new point (row
    /// scaling, the bound rows, the transpose) returns a new matrix object over the array it did not fill last time. The
    /// solver holds one generation at a time (the previous one only to compare references), so nothing it still reads is
    /// overwritten — and a 2,000-bus AC OPF no longer allocates six large arrays per iteration (full collections mid-solve).
    /// </summary>
    private sealed class AlternatingBuffers
    {
        private double[] _a = Arrays.NoDoubles, _b = Arrays.NoDoubles;
        private bool _second;

        public double[] Next(int length)
        {
            _second = !_second;
            ref var buffer = ref _second ? ref _b : ref _a;
            if (buffer.Length != length) buffer = new double[length];
            return buffer;
        }
    }

    /// <summary>
    /// Aᵀ of a Jacobian whose pattern stays the same from one iteration to the next: the first call (or a new pattern)
    /// transposes and keeps where each entry went; later calls move the values through that map into new matrix objects
    /// (on alternating value arrays) over the same pattern arrays (so the KKT assembly recognises the pattern by reference).
    /// </summary>
    private sealed class Transposer
    {
        private int[]? _colPtr, _rowIdx, _map;
        private SparseMatrix? _last;
        private readonly AlternatingBuffers _values = new();

        public SparseMatrix Of(SparseMatrix a)
        {
            if (_last is null || !ReferenceEquals(a.ColPtr, _colPtr) || !ReferenceEquals(a.RowIdx, _rowIdx))
            {
                // Aᵀ's pattern by a counting pass over A's rows (as SparseMatrix.Transpose), keeping each entry's source
                int nnz = a.Nnz;
                var colPtr = new int[a.Rows + 1];
                for (int p = 0; p < nnz; p++) colPtr[a.RowIdx[p] + 1]++;
                for (int i = 0; i < a.Rows; i++) colPtr[i + 1] += colPtr[i];
                var next = new int[a.Rows];
                Array.Copy(colPtr, next, a.Rows);
                var rowIdx = new int[nnz];
                _map = new int[nnz];
                for (int j = 0; j < a.Cols; j++)
                    for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
                    {
                        int q = next[a.RowIdx[p]]++;
                        rowIdx[q] = j;
                        _map[q] = p;
                    }
                (_colPtr, _rowIdx) = (a.ColPtr, a.RowIdx);
                _last = new SparseMatrix(a.Cols, a.Rows, colPtr, rowIdx, new double[nnz]);
            }
            var v = _values.Next(a.Nnz);
            var map = _map!;
            var src = a.Values;
            for (int q = 0; q < v.Length; q++) v[q] = src[map[q]];
            return _last = new SparseMatrix(_last.Rows, _last.Cols, _last.ColPtr, _last.RowIdx, v);
        }
    }

    /// <summary>
    /// Builds [H + Jhᵀ·diag(d)·Jh + δ_w·I, Jgᵀ; Jg, −δ·I] in CSC. The first call (and any call whose H, Jhᵀ or Jg
    /// pattern differs from the last one's) sorts the entries into a pattern and keeps, for every term, the slot it
    /// lands in; later calls only scatter the values through those slots into the same matrix (no recording, no
    /// sorting, no pattern comparison beyond the input patterns' identity), so the factorisation can refactorise.
    /// </summary>
    internal sealed class KktAssembler(int n, int neq, bool direct = true)
    {
        public const double DualRegularization = 1e-10;

        private int[]? _hp, _hi, _jp, _ji, _gp, _gi; // the input patterns the slots were built for
        private int[] _hSlot = [], _jSlot = [], _diagSlot = [], _gLower = [], _gUpper = [], _dualSlot = [];
        public SparseMatrix Matrix { get; private set; } = null!;
        /// <summary>Whether the pattern was built straight from the blocks (else from triplets: an unsymmetric H pattern).</summary>
        internal bool BuiltDirectly { get; private set; }
        /// <summary>Whether the last <see cref="Assemble"/> built a new pattern (so the factorisation must start afresh).</summary>
        public bool Rebuilt { get; private set; }

        private static bool Same(SparseMatrix m, ref int[]? colPtr, ref int[]? rowIdx)
        {
            if (ReferenceEquals(m.ColPtr, colPtr) && ReferenceEquals(m.RowIdx, rowIdx)) return true;
            if (colPtr is null || rowIdx is null || m.Nnz != colPtr[^1] || m.ColPtr.Length != colPtr.Length
                || !m.ColPtr.AsSpan().SequenceEqual(colPtr) || !m.RowIdx.AsSpan(0, m.Nnz).SequenceEqual(rowIdx.AsSpan(0, m.Nnz))) return false;
            (colPtr, rowIdx) = (m.ColPtr, m.RowIdx); // equal contents in new arrays: the slots still hold
            return true;
        }

        public SparseMatrix Assemble(SparseMatrix hess, SparseMatrix jhT, double[] d, SparseMatrix jg, double deltaW = 0)
        {
            Rebuilt = Matrix is null | !Same(hess, ref _hp, ref _hi) | !Same(jhT, ref _jp, ref _ji) | !Same(jg, ref _gp, ref _gi);
            if (Rebuilt) Build(hess, jhT, jg);
            var v = Matrix!.Values;
            Array.Clear(v);
            double[] hv = hess.Values, jv = jhT.Values, gv = jg.Values;
            int[] hSlot = _hSlot, jSlot = _jSlot, jp = jhT.ColPtr;
            for (int p = 0; p < hess.Nnz; p++) v[hSlot[p]] += hv[p];
            // Jhᵀ D Jh: row r of Jh is column r of Jhᵀ
            int t = 0;
            for (int r = 0; r < jhT.Cols; r++)
            {
                int s = jp[r], e = jp[r + 1];
                double dr = d[r];
                for (int p = s; p < e; p++)
                {
                    double a = dr * jv[p];
                    for (int q = s; q < e; q++) v[jSlot[t++]] += a * jv[q];
                }
            }
            if (deltaW != 0) foreach (int slot in _diagSlot) v[slot] += deltaW;
            for (int p = 0; p < jg.Nnz; p++) { v[_gLower[p]] += gv[p]; v[_gUpper[p]] += gv[p]; }
            foreach (int slot in _dualSlot) v[slot] -= DualRegularization;
            return Matrix;
        }

        private void Build(SparseMatrix hess, SparseMatrix jhT, SparseMatrix jg)
        {
            BuiltDirectly = direct && BuildDirect(hess, jhT, jg);
            if (!BuiltDirectly) BuildFromTriplets(hess, jhT, jg);
            (_hp, _hi, _jp, _ji, _gp, _gi) = (hess.ColPtr, hess.RowIdx, jhT.ColPtr, jhT.RowIdx, jg.ColPtr, jg.RowIdx);
        }

        /// <summary>
        /// The pattern and the slots straight from the blocks' patterns, for a symmetric H pattern (false otherwise, and the
        /// triplet path runs): each column's distinct rows are gathered unsorted (a marker per column), one counting
        /// transposition sorts them (the pattern is symmetric, so the transpose is the pattern itself, rows in order), and
        /// every term's slot is read from a row → position map of its column. The same pattern and slots as the triplets
        /// give (<see cref="BuildFromTriplets"/>), without the term-by-term triplets and their two sorting passes.
        /// </summary>
        private bool BuildDirect(SparseMatrix hess, SparseMatrix jhT, SparseMatrix jg)
        {
            int size = n + neq, niq = jhT.Cols;
            if (hess.Rows != n || hess.Cols != n || jhT.Rows != n || jg.Cols != n || jg.Rows != neq) return false;
            // Jh by variable: the inequality rows r holding variable j, with j's position q in column r of Jhᵀ
            var jhStart = new int[n + 1];
            for (int q = 0; q < jhT.Nnz; q++) jhStart[jhT.RowIdx[q] + 1]++;
            for (int j = 0; j < n; j++) jhStart[j + 1] += jhStart[j];
            var next = new int[Math.Max(n, neq)];
            Array.Copy(jhStart, next, n);
            var jhRow = new int[jhT.Nnz];
            var jhPos = new int[jhT.Nnz];
            var jhBase = new int[niq]; // first term index of row r in the (r, p, q) sequence of Jhᵀ·D·Jh
            int terms = 0;
            for (int r = 0; r < niq; r++)
            {
                int len = jhT.ColPtr[r + 1] - jhT.ColPtr[r];
                jhBase[r] = terms;
                terms = checked(terms + len * len);
                for (int q = jhT.ColPtr[r]; q < jhT.ColPtr[r + 1]; q++)
                {
                    int k = next[jhT.RowIdx[q]]++;
                    jhRow[k] = r;
                    jhPos[k] = q;
                }
            }
            // Jg by row: the variables of equality row r, with their positions in Jg
            var jgStart = new int[neq + 1];
            for (int p = 0; p < jg.Nnz; p++) jgStart[jg.RowIdx[p] + 1]++;
            for (int r = 0; r < neq; r++) jgStart[r + 1] += jgStart[r];
            Array.Copy(jgStart, next, neq);
            var jgVar = new int[jg.Nnz];
            var jgPos = new int[jg.Nnz];
            for (int j = 0; j < n; j++)
                for (int p = jg.ColPtr[j]; p < jg.ColPtr[j + 1]; p++)
                {
                    int k = next[jg.RowIdx[p]]++;
                    jgVar[k] = j;
                    jgPos[k] = p;
                }

            // each column's distinct rows, unsorted
            var mark = new int[size];
            for (int i = 0; i < size; i++) mark[i] = -1;
            var unsortedStart = new int[size + 1];
            var unsorted = new int[Math.Max(16, hess.Nnz + terms + n + 2 * jg.Nnz + neq)];
            int w = 0;
            for (int c = 0; c < size; c++)
            {
                unsortedStart[c] = w;
                if (c < n)
                {
                    for (int p = hess.ColPtr[c]; p < hess.ColPtr[c + 1]; p++)
                        if (mark[hess.RowIdx[p]] != c) { mark[hess.RowIdx[p]] = c; unsorted[w++] = hess.RowIdx[p]; }
                    for (int k = jhStart[c]; k < jhStart[c + 1]; k++)
                    {
                        int r = jhRow[k];
                        for (int p = jhT.ColPtr[r]; p < jhT.ColPtr[r + 1]; p++)
                            if (mark[jhT.RowIdx[p]] != c) { mark[jhT.RowIdx[p]] = c; unsorted[w++] = jhT.RowIdx[p]; }
                    }
                    if (mark[c] != c) { mark[c] = c; unsorted[w++] = c; }
                    for (int p = jg.ColPtr[c]; p < jg.ColPtr[c + 1]; p++)
                        if (mark[n + jg.RowIdx[p]] != c) { mark[n + jg.RowIdx[p]] = c; unsorted[w++] = n + jg.RowIdx[p]; }
                }
                else
                {
                    int r = c - n;
                    for (int k = jgStart[r]; k < jgStart[r + 1]; k++)
                        if (mark[jgVar[k]] != c) { mark[jgVar[k]] = c; unsorted[w++] = jgVar[k]; }
                    if (mark[c] != c) { mark[c] = c; unsorted[w++] = c; }
                }
            }
            unsortedStart[size] = w;
            // one counting transposition: column i receives the columns c that hold row i, in increasing order
            var colPtr = new int[size + 1];
            for (int p = 0; p < w; p++) colPtr[unsorted[p] + 1]++;
            for (int i = 0; i < size; i++) colPtr[i + 1] += colPtr[i];
            var fill = new int[size];
            Array.Copy(colPtr, fill, size);
            var rowIdx = new int[w];
            for (int c = 0; c < size; c++)
                for (int p = unsortedStart[c]; p < unsortedStart[c + 1]; p++) rowIdx[fill[unsorted[p]]++] = c;
            // symmetric pattern: column i of the transpose is column i itself (same count, every row found among its rows)
            for (int i = 0; i < size; i++) mark[i] = -1;
            for (int c = 0; c < size; c++)
            {
                if (colPtr[c + 1] - colPtr[c] != unsortedStart[c + 1] - unsortedStart[c]) return false;
                for (int p = unsortedStart[c]; p < unsortedStart[c + 1]; p++) mark[unsorted[p]] = c;
                for (int p = colPtr[c]; p < colPtr[c + 1]; p++)
                    if (mark[rowIdx[p]] != c) return false;
            }

            // every term's slot through its column's row → position map
            var pos = mark; // reused: only the rows of the current column are read
            _hSlot = new int[hess.Nnz];
            _jSlot = new int[terms];
            _diagSlot = new int[n];
            _gLower = new int[jg.Nnz];
            _gUpper = new int[jg.Nnz];
            _dualSlot = new int[neq];
            for (int c = 0; c < size; c++)
            {
                for (int p = colPtr[c]; p < colPtr[c + 1]; p++) pos[rowIdx[p]] = p;
                if (c < n)
                {
                    for (int p = hess.ColPtr[c]; p < hess.ColPtr[c + 1]; p++) _hSlot[p] = pos[hess.RowIdx[p]];
                    // term (r, p, q) of Jhᵀ·D·Jh lands in row Jhᵀ.RowIdx[p] of column Jhᵀ.RowIdx[q] = c
                    for (int k = jhStart[c]; k < jhStart[c + 1]; k++)
                    {
                        int r = jhRow[k], s = jhT.ColPtr[r], len = jhT.ColPtr[r + 1] - s, q = jhPos[k];
                        for (int p = s; p < s + len; p++) _jSlot[jhBase[r] + (p - s) * len + (q - s)] = pos[jhT.RowIdx[p]];
                    }
                    _diagSlot[c] = pos[c];
                    for (int p = jg.ColPtr[c]; p < jg.ColPtr[c + 1]; p++) _gLower[p] = pos[n + jg.RowIdx[p]];
                }
                else
                {
                    int r = c - n;
                    for (int k = jgStart[r]; k < jgStart[r + 1]; k++) _gUpper[jgPos[k]] = pos[jgVar[k]];
                    _dualSlot[r] = pos[c];
                }
            }
            Matrix = new SparseMatrix(size, size, colPtr, rowIdx, new double[w]);
            return true;
        }

        private void BuildFromTriplets(SparseMatrix hess, SparseMatrix jhT, SparseMatrix jg)
        {
            // exactly as many triplets as are added below (Σ over the rows of Jh of their length², for Jhᵀ·D·Jh): no regrowth
            long jhTerms = 0;
            for (int r = 0; r < jhT.Cols; r++) jhTerms += (long)(jhT.ColPtr[r + 1] - jhT.ColPtr[r]) * (jhT.ColPtr[r + 1] - jhT.ColPtr[r]);
            var b = new TripletBuilder(n + neq, n + neq, checked((int)(hess.Nnz + jhTerms + n + 2L * jg.Nnz + neq)));
            for (int j = 0; j < hess.Cols; j++)
                for (int p = hess.ColPtr[j]; p < hess.ColPtr[j + 1]; p++) b.Add(hess.RowIdx[p], j, 1);
            int hEnd = b.Count;
            for (int r = 0; r < jhT.Cols; r++)
                for (int p = jhT.ColPtr[r]; p < jhT.ColPtr[r + 1]; p++)
                    for (int q = jhT.ColPtr[r]; q < jhT.ColPtr[r + 1]; q++) b.Add(jhT.RowIdx[p], jhT.RowIdx[q], 1);
            int jEnd = b.Count;
            for (int i = 0; i < n; i++) b.Add(i, i, 1);
            int dEnd = b.Count;
            for (int j = 0; j < jg.Cols; j++)
                for (int p = jg.ColPtr[j]; p < jg.ColPtr[j + 1]; p++)
                {
                    b.Add(n + jg.RowIdx[p], j, 1);
                    b.Add(j, n + jg.RowIdx[p], 1);
                }
            int gEnd = b.Count;
            for (int r = 0; r < neq; r++) b.Add(n + r, n + r, 1);
            Matrix = b.ToCsc(out var slot);
            _hSlot = Slice(slot, 0, hEnd);
            _jSlot = Slice(slot, hEnd, jEnd);
            _diagSlot = Slice(slot, jEnd, dEnd);
            _gLower = new int[jg.Nnz];
            _gUpper = new int[jg.Nnz];
            for (int p = 0; p < jg.Nnz; p++) { _gLower[p] = slot[dEnd + 2 * p]; _gUpper[p] = slot[dEnd + 2 * p + 1]; }
            _dualSlot = Slice(slot, gEnd, slot.Length);
        }

        /// <summary>a[start..end] (without the generic range helper, which the JIT compiles at its first call in a CLI process).</summary>
        private static int[] Slice(int[] a, int start, int end)
        {
            var b = new int[end - start];
            Array.Copy(a, start, b, 0, b.Length);
            return b;
        }
    }
}
