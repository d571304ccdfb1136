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
    /// <summary>∂g/∂x (Equalities × Variables) and ∂h/∂x (Inequalities × Variables).</summary>
    (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x);
    /// <summary>∇²f·σ + Σ λᵢ∇²gᵢ + Σ μⱼ∇²hⱼ, full symmetric (both triangles).</summary>
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
}

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
        if (o.CostScale != 1)
        {
            if (!(o.CostScale > 0) || !double.IsFinite(o.CostScale)) throw new ArgumentException("CostScale must be positive and finite");
            double s = o.CostScale;
            var r = Solve(new ScaledObjective(problem, s), o with { CostScale = 1 });
            static double[] Div(double[] v, double s) => [.. v.Select(a => a / s)];
            return r with { Objective = r.Objective / s, Lambda = Div(r.Lambda, s), Mu = Div(r.Mu, s), MuLower = Div(r.MuLower, s), MuUpper = Div(r.MuUpper, s) };
        }
        var first = SolveOnce(problem, o);
        if (first.Status == SolverStatus.Optimal || !o.StaticPivoting) return first;
        // static pivots can lose the accuracy the last iterations need: solve again with threshold pivoting
        var second = SolveOnce(problem, o with { StaticPivoting = false });
        return second.Status == SolverStatus.Optimal ? second with { Iterations = first.Iterations + second.Iterations } : first;
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
        var JhT = Jh.Transpose();
        var JgT = Jg.Transpose();

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
        SparseLU? lu = null;
        // once the static pivots fail the refinement, the rest of the run factorises with threshold pivoting
        // (refactorising on those pivots) instead of trying static pivots afresh at every iteration
        bool strict = !o.StaticPivoting;
        int it = 0;
        string message = "";
        var status = SolverStatus.NotConverged;
        double feas = 0, gradc = 0, comp = 0;

        (double Feas, double Grad, double Comp) Conditions()
        {
            double maxX = NormInf(x), maxZ = NormInf(z), maxLam = NormInf(lam), maxMu = NormInf(mu);
            double maxH = 0;
            foreach (double v in h) maxH = Math.Max(maxH, v);
            double fe = Math.Max(NormInf(g), maxH) / (1 + Math.Max(maxX, maxZ));
            double gr = NormInf(lx) / (1 + Math.Max(maxLam, maxMu));
            double zmu = 0;
            for (int k = 0; k < niq; k++) zmu += z[k] * mu[k];
            double co = zmu / (1 + maxX);
            return (fe, gr, co);
        }

        (feas, gradc, comp) = Conditions();
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
        var assembler = new KktAssembler(n, neq);
        double kktNorm = 1;

        // One Newton direction for complementarity right-hand side r: solves the reduced system (with one
        // step of iterative refinement on the same factors), then Δz = −h − z − Jh·Δx, Δμ = −μ + (r − μ∘Δz)/z.
        bool Step(double[] r)
        {
            for (int k = 0; k < niq; k++) w[k] = (mu[k] * h[k] + r[k]) / z[k];
            for (int i = 0; i < n; i++) rhs[i] = lx[i];
            JhT.MultiplyAdd(w, rhs.AsSpan(0, n));
            for (int i = 0; i < n; i++) rhs[i] = -rhs[i];
            for (int k = 0; k < neq; k++) rhs[n + k] = -g[k];
            var sol = (double[])rhs.Clone();
            lu!.Solve(sol);
            for (int pass = 0; pass < 4; pass++)
            {
                // iterative refinement; if the reused (static) pivots leave the residual large, factorise afresh
                // residual of the unregularised system: K = K_reg + δ·I on the (2,2) block
                assembler.Matrix.Multiply(sol, residual);
                for (int k = 0; k < neq; k++) residual[n + k] += KktAssembler.DualRegularization * sol[n + k];
                double res = 0, scale = NormInf(rhs) + kktNorm * NormInf(sol);
                for (int i = 0; i < residual.Length; i++) { residual[i] = rhs[i] - residual[i]; res = Math.Max(res, Math.Abs(residual[i])); }
                if (res <= 1e-12 * scale) break;
                if (pass == 1 && res > 1e-9 * scale)
                {
                    lu = SparseLU.Factorize(assembler.Matrix, KktLuStrict);
                    strict = true;
                    rhs.CopyTo(sol, 0);
                    lu.Solve(sol);
                    continue;
                }
                lu.Solve(residual);
                for (int i = 0; i < sol.Length; i++) sol[i] += residual[i];
            }
            if (sol.Any(v => !double.IsFinite(v)))
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
        double Score() => Math.Max(feas / o.FeasibilityTolerance, Math.Max(gradc / o.GradientTolerance, comp / o.ComplementarityTolerance));
        double bestScore = double.PositiveInfinity;
        int bestIt = 0;
        (double[] X, double[] Z, double[] Mu, double[] Lam, double F, double Feas, double Grad, double Comp)? best = null;
        while (it < o.MaxIterations)
        {
            if (feas < o.FeasibilityTolerance && gradc < o.GradientTolerance && comp < o.ComplementarityTolerance)
            {
                status = SolverStatus.Optimal;
                break;
            }
            double score = Score();
            if (score < bestScore)
            {
                bestScore = score;
                bestIt = it;
                best = ((double[])x.Clone(), (double[])z.Clone(), (double[])mu.Clone(), (double[])lam.Clone(), fval, feas, gradc, comp);
            }
            else if (bestScore <= 100 && it - bestIt >= 5) break; // stalled within 100× the tolerances
            it++;
            // reduced KKT system [M Jgᵀ; Jg 0], M = ∇²L + Jhᵀ·diag(μ/z)·Jh, on a fixed pattern
            for (int k = 0; k < niq; k++) d[k] = mu[k] / z[k];
            var kkt = assembler.Assemble(hx, JhT, d, Jg);
            kktNorm = kkt.NormInf();
            try
            {
                if (lu is not null && !assembler.Rebuilt) lu.Refactorize(kkt);
                else lu = SparseLU.Factorize(kkt, strict ? KktLuStrict : KktLu);
            }
            catch (SingularMatrixException e)
            {
                status = SolverStatus.NumericalError;
                message = $"the KKT system became singular ({e.Message})";
                break;
            }
            catch (ArgumentException) // a non-finite entry: the iterates diverged (typically an infeasible or unbounded problem)
            {
                status = SolverStatus.NumericalError;
                message = "the iterates diverged (an entry of the KKT system overflowed): the problem is likely infeasible or unbounded";
                break;
            }
            double muAvg = 0;
            for (int k = 0; k < niq; k++) muAvg += z[k] * mu[k];
            muAvg = niq > 0 ? muAvg / niq : 0;
            // complementarity right-hand side r_c (MIPS: γ·e; Mehrotra: σ·μ̄·e − Δz_aff∘Δμ_aff)
            if (o.PredictorCorrector && niq > 0)
            {
                Array.Clear(rc);
                if (!Step(rc)) break;
                var (ap, ad) = StepLengths(1.0);
                double muAff = 0;
                for (int k = 0; k < niq; k++) muAff += (z[k] + ap * dz[k]) * (mu[k] + ad * dmu[k]);
                muAff /= niq;
                double sigma = Math.Pow(Math.Clamp(muAff / muAvg, 0, 1), 3);
                for (int k = 0; k < niq; k++) rc[k] = sigma * muAvg - dz[k] * dmu[k];
            }
            else Array.Fill(rc, gamma);
            if (!Step(rc)) break;
            var (alphaP, alphaD) = StepLengths(o.StepFraction);
            for (int i = 0; i < n; i++) x[i] += alphaP * dx[i];
            for (int k = 0; k < niq; k++) { z[k] += alphaP * dz[k]; mu[k] += alphaD * dmu[k]; }
            for (int k = 0; k < neq; k++) lam[k] += alphaD * dlam[k];
            double zmu = 0;
            for (int k = 0; k < niq; k++) zmu += z[k] * mu[k];
            if (niq > 0) gamma = o.Centering * zmu / niq;

            var (jgOld, jhOld) = (Jg, Jh);
            fval = Eval(x, out Jg, out Jh);
            if (!ReferenceEquals(Jg, jgOld)) JgT = Jg.Transpose();
            if (!ReferenceEquals(Jh, jhOld)) JhT = Jh.Transpose();
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
        }
        if (status != SolverStatus.Optimal && best is { } b && bestScore <= 100 && Score() > bestScore)
        {
            // accept the best iterate when it meets the tolerances within a factor 100 (MIPS's own defaults are 1e-6)
            b.X.CopyTo(x, 0);
            b.Z.CopyTo(z, 0);
            b.Mu.CopyTo(mu, 0);
            b.Lam.CopyTo(lam, 0);
            (fval, feas, gradc, comp) = (b.F, b.Feas, b.Grad, b.Comp);
            status = SolverStatus.Optimal;
        }
        if (status == SolverStatus.NotConverged)
        {
            message = $"no convergence in {o.MaxIterations} iterations (feasibility {feas:E1}, gradient {gradc:E1}, complementarity {comp:E1})";
            if (feas > 1e-3 && NormInf(lam) + NormInf(mu) > 1e8) { status = SolverStatus.Infeasible; message = "the constraints look infeasible: " + message; }
        }
        if (status == SolverStatus.Optimal)
            message = Score() <= 1 ? $"converged in {it} iterations" : $"converged in {it} iterations to within {Score():0} × the tolerances (numerical accuracy limit)";

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
        return new InteriorPointResult(status, x, fval, lam[..neqP], mu[..niqP], muLower, muUpper, it, message)
        {
            FeasibilityError = feas,
            GradientError = gradc,
            ComplementarityError = comp,
        };
    }

    // KKT systems: column ordering that tolerates off-diagonal pivots; refactorisations keep their pivots
    // unless they fall below 1e-3 of their column (each solve is followed by a step of iterative refinement)
    private static readonly LuOptions KktLuStrict = new() { Ordering = Ordering.ColumnMinimumDegree, PivotTolerance = 0.1, RefactorPivotTolerance = 0.01 };
    private static readonly LuOptions KktLu = new() { Ordering = Ordering.SaddlePoint, PivotTolerance = 1e-6, RefactorPivotTolerance = 1e-8 };

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

    private static double NormInf(ReadOnlySpan<double> v)
    {
        double m = 0;
        foreach (double a in v) m = Math.Max(m, Math.Abs(a));
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

        public SparseMatrix Apply(SparseMatrix a)
        {
            if (first.Count + second.Count == 0) return a;
            if (_template is null || !ReferenceEquals(a.ColPtr, _srcColPtr) || !ReferenceEquals(a.RowIdx, _srcRowIdx))
            {
                _srcColPtr = a.ColPtr;
                _srcRowIdx = a.RowIdx;
                _template = AppendUnitRows(AppendUnitRows(a, first, firstSign, n), second, secondSign, n);
                return _template;
            }
            // in each column the original rows come first (they are numbered below the appended ones)
            var values = (double[])_template.Values.Clone();
            for (int j = 0; j < a.Cols; j++)
                Array.Copy(a.Values, a.ColPtr[j], values, _template.ColPtr[j], a.ColPtr[j + 1] - a.ColPtr[j]);
            return new SparseMatrix(_template.Rows, _template.Cols, _template.ColPtr, _template.RowIdx, values);
        }
    }

    /// <summary>Stacks unit rows (sign·e_i for each listed variable) under A.</summary>
    private static SparseMatrix AppendUnitRows(SparseMatrix a, List<int> vars, double sign, int n)
    {
        if (vars.Count == 0) return a;
        var b = new TripletBuilder(a.Rows + vars.Count, n, a.Nnz + vars.Count);
        for (int j = 0; j < a.Cols; j++)
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++) b.Add(a.RowIdx[p], j, a.Values[p]);
        for (int k = 0; k < vars.Count; k++) b.Add(a.Rows + k, vars[k], sign);
        return b.ToCsc();
    }

    /// <summary>
    /// Builds [H + Jhᵀ·diag(d)·Jh, Jgᵀ; Jg, 0] in CSC. The entries come out in the same order every iteration
    /// (the patterns are fixed), so after the first call the <see cref="SparseAssembler"/> only scatters the
    /// values into the existing matrix: no sorting, and the LU can refactorise. A program that changes its
    /// patterns gets a new KKT pattern (<see cref="Rebuilt"/>).
    /// </summary>
    private sealed class KktAssembler(int n, int neq)
    {
        public const double DualRegularization = 1e-10;

        private readonly SparseAssembler _kkt = new(n + neq, n + neq, patternMayChange: true);
        public SparseMatrix Matrix => _kkt.Matrix!;
        /// <summary>Whether the last <see cref="Assemble"/> built a new pattern (so the LU must start afresh).</summary>
        public bool Rebuilt => _kkt.Rebuilt;

        public SparseMatrix Assemble(SparseMatrix hess, SparseMatrix jhT, double[] d, SparseMatrix jg)
        {
            var k = _kkt;
            k.Begin();
            for (int j = 0; j < hess.Cols; j++)
                for (int p = hess.ColPtr[j]; p < hess.ColPtr[j + 1]; p++) k.Add(hess.RowIdx[p], j, hess.Values[p]);
            // Jhᵀ D Jh: row r of Jh is column r of Jhᵀ
            for (int r = 0; r < jhT.Cols; r++)
            {
                int s = jhT.ColPtr[r], e = jhT.ColPtr[r + 1];
                for (int p = s; p < e; p++)
                {
                    double a = d[r] * jhT.Values[p];
                    for (int q = s; q < e; q++) k.Add(jhT.RowIdx[p], jhT.RowIdx[q], a * jhT.Values[q]);
                }
            }
            for (int i = 0; i < n; i++) k.Add(i, i, 0);
            for (int j = 0; j < jg.Cols; j++)
                for (int p = jg.ColPtr[j]; p < jg.ColPtr[j + 1]; p++)
                {
                    k.Add(n + jg.RowIdx[p], j, jg.Values[p]);
                    k.Add(j, n + jg.RowIdx[p], jg.Values[p]);
                }
            // −δ on the (2,2) block: keeps the system nonsingular when equality rows are dependent or empty
            for (int r = 0; r < neq; r++) k.Add(n + r, n + r, -DualRegularization);
            return k.Finish();
        }
    }
}
