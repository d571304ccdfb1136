namespace OpenTE.Numerics.Sparse;

/// <summary>No acceptable pivot: the matrix is singular or structurally singular.</summary>
public sealed class SingularMatrixException : InvalidOperationException
{
    public SingularMatrixException(string message) : base(message) { }

    public SingularMatrixException(string message, int column) : base(message) => Column = column;

    /// <summary>The column (original numbering) where no acceptable pivot existed; −1 when not known.</summary>
    public int Column { get; } = -1;
}

public sealed record LuOptions
{
    /// <summary>
    /// Threshold partial pivoting: the diagonal candidate is kept when |a_diag| ≥ tolerance·max|column|;
    /// 1.0 is plain partial pivoting, smaller values favour the fill-reducing diagonal order.
    /// </summary>
    public double PivotTolerance { get; init; } = 0.1;
    /// <summary>
    /// The threshold a reused pivot must meet in <see cref="SparseLU.Refactorize"/> before the factorisation
    /// falls back to a fresh pivot search; null (the default) means <see cref="PivotTolerance"/>/10, so that
    /// pivots chosen near the threshold survive the small value changes between Newton iterations. Smaller
    /// accepts more growth for speed (pair it with iterative refinement).
    /// </summary>
    public double? RefactorPivotTolerance { get; init; }
    /// <summary>The fill-reducing column ordering; AMD on A + Aᵀ by default (see <see cref="Sparse.Ordering"/>).</summary>
    public Ordering Ordering { get; init; } = Ordering.Amd;
    /// <summary>A column order computed by the caller (perm[k] = column factorised k-th); overrides <see cref="Ordering"/>.</summary>
    public int[]? ColumnOrder { get; init; }
    /// <summary>
    /// How a column whose diagonal fails the threshold picks its pivot. True (the default): among the rows
    /// within max(<see cref="PivotTolerance"/>, 0.1) of the column's largest entry, a row whose own column is
    /// already factorised (left free by an earlier off-diagonal pivot), the largest such; otherwise the row
    /// whose column comes soonest in the column order, which disturbs the symmetric fill-reducing order least
    /// (in effect a 2×2 pivot with that column). On symmetric indefinite (KKT) matrices this cuts the fill
    /// several-fold. False: the largest entry (classic threshold pivoting).
    /// </summary>
    public bool OffDiagonalPivotsByOrder { get; init; } = true;
    /// <summary>
    /// Try the diagonal pivots first (default false). The patterns of L and U are predicted once from the
    /// elimination tree of the symmetrised pattern Q(A + Aᵀ)Qᵀ and the numeric factorisation runs on them without
    /// any graph search; the first column whose diagonal fails <see cref="PivotTolerance"/> hands over to the
    /// pivot search (<see cref="SparseLU"/>) from that column on. The pivots are the ones the search takes (it keeps
    /// every diagonal that passes the same test), the factors equal up to rounding. For matrices whose diagonal is
    /// usable and whose pattern is symmetric or nearly so (power-flow Jacobians, admittance matrices): there it is
    /// several times faster than the search, and the patterns are exact; on an unsymmetric pattern L and U keep
    /// the explicit zeros of the symmetrised one (more <see cref="SparseLU.Fill"/>).
    /// </summary>
    public bool DiagonalPivotsFirst { get; init; }
}

/// <summary>
/// Sparse LU factorisation P·A·Q = L·U (L unit lower triangular, U upper triangular) by the left-looking
/// Gilbert–Peierls algorithm. Column k of the factors is one sparse triangular solve L·x = A(:, q_k): the
/// nonzero pattern of x is the set reachable from A(:, q_k)'s rows in the graph of L, found by a depth-first
/// search that also yields a topological order for the numeric solve; the search skips the parts of L
/// columns made redundant by symmetric pruning (Eisenstat–Liu). The pivot is then chosen by threshold
/// partial pivoting: the diagonal entry (the row with the column's original index, so the symmetric
/// fill-reducing order is kept) when |x_diag| ≥ tol·max|x|, otherwise an off-diagonal row chosen for
/// stability and fill (see <see cref="LuOptions.OffDiagonalPivotsByOrder"/>).
/// <para>
/// Q is a fill-reducing ordering (<see cref="Ordering.Amd"/> on A + Aᵀ by default). <see cref="Refactorize"/>
/// reuses Q, the pivot sequence and the patterns of L and U for a matrix with the same pattern and new values
/// (Newton iterations): no graph search, only the arithmetic. When a reused pivot falls below the refactor
/// threshold, the columns already done are kept and the factorisation continues from that column with a
/// fresh pivot search (same Q).
/// </para>
/// <para>
/// With <see cref="LuOptions.DiagonalPivotsFirst"/> the first factorisation predicts the patterns of L and U from
/// the elimination tree of Q(A + Aᵀ)Qᵀ and runs the same arithmetic as <see cref="Refactorize"/> on them, handing
/// over to the pivot search at the first diagonal that fails the threshold.
/// </para>
/// <para>
/// Symmetric orderings (AMD, the default) assume mostly diagonal pivots. Matrices with many zero or weak
/// diagonal entries — interior-point KKT systems with a (near-)zero constraint block, general unsymmetric
/// matrices — fill far less with <see cref="Ordering.ColumnMinimumDegree"/>, which <see cref="Ordering.Auto"/>
/// picks for them.
/// </para>
/// <para>The factors are read-only during <see cref="Solve(Span{double})"/>, so concurrent solves on one
/// factorisation are safe; <see cref="Refactorize"/> must not run concurrently with anything else. If a
/// refactorisation's fallback throws <see cref="SingularMatrixException"/>, solves throw until a later
/// <see cref="Refactorize"/> (which then does a full pivot search) succeeds.</para>
/// </summary>
public sealed class SparseLU : IFactorization
{
    private readonly LuOptions _options;
    private readonly int[] _q;          // column order: step k factorises original column _q[k]
    private readonly int[] _qinv;       // original column → step
    private readonly bool _byOrder;     // off-diagonal pivot rows chosen by the column order (see LuOptions)
    private readonly int[]? _partner;   // saddle-point pairs: the second-choice pivot row of a column
    private int[] _p = [];              // row pivot: step k pivots on original row _p[k]
    private int[] _pinv = [];           // original row → step
    // L: unit diagonal not stored; row indices in step numbering
    private int[] _lp = [], _li = [];
    private double[] _lx = Arrays.NoDoubles;
    // U: strictly upper part by columns in a topological order of the solve; row indices in step numbering
    private int[] _up = [], _ui = [];
    private double[] _ux = Arrays.NoDoubles;
    private double[] _ud = Arrays.NoDoubles;          // diagonal of U (the pivots)
    // the factorised pattern (for Refactorize) and each of its entries' pivot step
    private readonly int[] _aColPtr, _aRowIdx;
    private readonly int _aNnz;
    private int[] _aStep = [];
    private bool _valid;                // false after a refactorisation failed half-way
    private readonly double[] _work;    // dense work column of the pattern-reusing arithmetic, all zero between calls

    public int N { get; }
    /// <summary>Non-zeros of L, including its unit diagonal.</summary>
    public int NnzL => _lp[N] + N;
    /// <summary>Non-zeros of U, including its diagonal.</summary>
    public int NnzU => _up[N] + N;
    /// <summary>Non-zeros of L and U together, the shared diagonal counted once: NnzL + NnzU − N.</summary>
    public long Fill => (long)_lp[N] + _up[N] + N;
    /// <summary>How many refactorisations had to fall back to a fresh pivot search.</summary>
    public int RepivotCount { get; private set; }
    /// <summary>How many <see cref="Refactorize"/> calls completed (with or without falling back).</summary>
    public int RefactorCount { get; private set; }
    /// <summary>Column order: step k factorised original column ColumnOrder[k] (a copy).</summary>
    public int[] ColumnOrder => (int[])_q.Clone();
    /// <summary>Row pivots: step k pivoted on original row RowOrder[k] (a copy).</summary>
    public int[] RowOrder => (int[])_p.Clone();

    /// <summary>
    /// min|u_kk| / max|u_kk|: a cheap, crude indicator of ill-conditioning (not a condition number estimate;
    /// a tiny value means trouble, a moderate one proves nothing).
    /// </summary>
    public double PivotRatio
    {
        get
        {
            if (N == 0) return 1;
            double min = double.PositiveInfinity, max = 0;
            foreach (double d in _ud)
            {
                double v = Math.Abs(d);
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
            return max == 0 ? 0 : min / max;
        }
    }

    private SparseLU(SparseMatrix a, int[] q, int[]? partner, LuOptions options)
    {
        N = a.Cols;
        _q = q;
        _qinv = new int[N];
        for (int k = 0; k < N; k++) _qinv[q[k]] = k;
        _byOrder = options.OffDiagonalPivotsByOrder;
        _partner = partner;
        _options = options;
        // the pattern arrays themselves (a SparseMatrix's pattern is fixed once built): a Newton loop that refills the
        // values of one matrix passes the pattern check by reference, without an O(nnz) comparison or a copy
        _aColPtr = a.ColPtr;
        _aRowIdx = a.RowIdx;
        _aNnz = a.Nnz;
        _work = new double[N];
    }

    /// <summary>Orders (unless <see cref="LuOptions.ColumnOrder"/> is given) and factorises a square matrix.</summary>
    /// <exception cref="ArgumentException">A is not square, has a NaN or infinite entry, or the column order is not a permutation.</exception>
    /// <exception cref="SingularMatrixException">No nonzero pivot exists in some column.</exception>
    public static SparseLU Factorize(SparseMatrix a, LuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.Rows != a.Cols) throw new ArgumentException($"LU needs a square matrix, got {a.Rows}x{a.Cols}");
        CheckFinite(a);
        var o = options ?? new LuOptions();
        if (!(o.PivotTolerance > 0 && o.PivotTolerance <= 1))
            throw new ArgumentException($"PivotTolerance must be in (0, 1], got {o.PivotTolerance}");
        int[]? partner = null;
        int[] q = o.ColumnOrder is int[] given ? CheckPermutation(given, a.Cols)
            : o.Ordering switch
            {
                Ordering.Natural => Enumerable.Range(0, a.Cols).ToArray(),
                Ordering.MinimumDegree => MinimumDegree.Order(a),
                Ordering.ColumnMinimumDegree => MinimumDegree.OrderColumns(a),
                Ordering.SaddlePoint => MinimumDegree.OrderSaddlePoint(a, out partner),
                Ordering.Auto => UsableDiagonalFraction(a, o.PivotTolerance) >= 0.95 ? Amd.Order(a) : MinimumDegree.OrderColumns(a),
                _ => Amd.Order(a),
            };
        var lu = new SparseLU(a, q, partner, o);
        if (o.DiagonalPivotsFirst) lu.FactorizeDiagonalFirst(a);
        else lu.Numeric(a, 0);
        return lu;
    }

    /// <summary>The fraction of columns whose diagonal entry passes the pivot threshold on A itself.</summary>
    internal static double UsableDiagonalFraction(SparseMatrix a, double tol)
    {
        if (a.Cols == 0) return 1;
        int usable = 0;
        for (int j = 0; j < a.Cols; j++)
        {
            double max = 0, diag = 0;
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
            {
                double v = Math.Abs(a.Values[p]);
                max = Math.Max(max, v);
                if (a.RowIdx[p] == j) diag = v;
            }
            if (diag > 0 && diag >= tol * max) usable++;
        }
        return (double)usable / a.Cols;
    }

    private static int[] CheckPermutation(int[] perm, int n)
    {
        if (perm.Length != n) throw new ArgumentException($"column order has {perm.Length} entries for {n} columns");
        var seen = new bool[n];
        foreach (int c in perm)
        {
            if ((uint)c >= (uint)n || seen[c]) throw new ArgumentException($"column order is not a permutation (entry {c})");
            seen[c] = true;
        }
        return (int[])perm.Clone();
    }

    private static void CheckFinite(SparseMatrix a)
    {
        for (int j = 0; j < a.Cols; j++)
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
                if (!double.IsFinite(a.Values[p]))
                    throw new ArgumentException($"matrix entry ({a.RowIdx[p]}, {j}) is {a.Values[p]}");
    }

    /// <summary>
    /// Numeric factorisation with pivot search from column <paramref name="k0"/> on. Columns before k0 must
    /// hold a valid factorisation of A's leading columns (a refactorisation that stopped at k0).
    /// </summary>
    private void Numeric(SparseMatrix a, int k0)
    {
        int n = N;
        double tol = _options.PivotTolerance;
        int[] colPtr = a.ColPtr, rowIdx = a.RowIdx;
        double[] values = a.Values;

        int[] lp, li, up, ui, pinv, pv;
        double[] lx, ux, ud;
        int lnz, unz;
        if (k0 == 0)
        {
            int cap = Math.Max(2 * a.Nnz + n, 16);
            lp = new int[n + 1];
            li = new int[cap];
            lx = new double[cap];
            up = new int[n + 1];
            ui = new int[cap];
            ux = new double[cap];
            ud = new double[n];
            pinv = new int[n];
            pv = new int[n];
            Arrays.Fill(pinv, -1);
            lnz = unz = 0;
        }
        else
        {
            // continue the refactorisation's factors: L back to original row numbering, later steps unpivoted
            lp = _lp; li = _li; lx = _lx; up = _up; ui = _ui; ux = _ux; ud = _ud; pinv = _pinv; pv = _p;
            lnz = lp[k0];
            unz = up[k0];
            for (int t = 0; t < lnz; t++) li[t] = pv[li[t]];
            for (int k = k0; k < n; k++) pinv[pv[k]] = -1;
        }
        // the DFS scans L(:, s) only up to lpend[s] (symmetric pruning); columns before k0 stay unpruned
        var lpend = new int[n];
        var pruned = new bool[n];
        for (int s = 0; s < k0; s++) lpend[s] = lp[s + 1];
        var x = new double[n];       // dense work column by original row, all zero between columns
        var mark = new int[n];
        Arrays.Fill(mark, -1);
        var stack = new int[n];
        var pstack = new int[n];
        var topo = new int[n];       // reach in topological order, filled from the end
        int[] qinv = _qinv;

        for (int k = k0; k < n; k++)
        {
            int col = _q[k];
            lp[k] = lnz;
            up[k] = unz;
            int aStart = colPtr[col], aEnd = colPtr[col + 1];

            // ---- symbolic: rows reachable from A(:, col) in the graph of L
            int top = n;
            for (int p = aStart; p < aEnd; p++)
            {
                int i = rowIdx[p];
                if (mark[i] != k) top = Reach(i, k, top, li, lp, lpend, pinv, mark, stack, pstack, topo);
            }

            // ---- numeric: x = L \ A(:, col) over the reach, in topological order
            for (int p = aStart; p < aEnd; p++) x[rowIdx[p]] += values[p];
            for (int t = top; t < n; t++)
            {
                int i = topo[t];
                int s = pinv[i];
                if (s < 0) continue;
                double xi = x[i];
                if (xi == 0) continue;
                for (int p = lp[s], end = lp[s + 1]; p < end; p++) x[li[p]] -= lx[p] * xi;
            }

            // ---- pivot: the diagonal (or the saddle-point partner) if within the threshold, else the largest
            int pivotRow = -1;
            double maxAbs = -1;
            bool finite = true;
            for (int t = top; t < n; t++)
            {
                int i = topo[t];
                if (pinv[i] >= 0) continue;
                double v = Math.Abs(x[i]);
                if (v > maxAbs) { maxAbs = v; pivotRow = i; }
                else if (double.IsNaN(v)) finite = false;
            }
            if (!double.IsFinite(maxAbs)) finite = false;
            if (pivotRow < 0 || !(maxAbs > 0) || !finite)
            {
                for (int t = top; t < n; t++) x[topo[t]] = 0;
                string why = pivotRow < 0 ? "structurally singular" : !finite ? "numerically unstable (overflow)" : "singular";
                throw new SingularMatrixException($"the matrix is {why}: no acceptable pivot in column {col}", col);
            }
            double threshold = tol * maxAbs;
            if (pinv[col] < 0 && mark[col] == k && Math.Abs(x[col]) >= threshold) pivotRow = col;
            else if (_partner is not null && _partner[col] is int mate && mate >= 0 && pinv[mate] < 0 && mark[mate] == k
                     && Math.Abs(x[mate]) >= threshold)
                pivotRow = mate; // keep the pivot inside the pair the ordering planned for
            else if (_byOrder)
            {
                // among the rows within max(tol, 0.1) of the largest (no less stable than classic threshold
                // pivoting): one whose column is done (left free by an earlier off-diagonal pivot), the largest;
                // otherwise the one whose column comes soonest
                double offThreshold = Math.Max(tol, 0.1) * maxAbs;
                int leftover = -1, soonest = -1, soonestStep = int.MaxValue;
                double leftoverAbs = -1;
                for (int t = top; t < n; t++)
                {
                    int i = topo[t];
                    if (pinv[i] >= 0) continue;
                    double v = Math.Abs(x[i]);
                    if (v < offThreshold) continue;
                    int si = qinv[i];
                    if (si < k) { if (v > leftoverAbs) { leftoverAbs = v; leftover = i; } }
                    else if (si < soonestStep) { soonestStep = si; soonest = i; }
                }
                pivotRow = leftover >= 0 ? leftover : soonest >= 0 ? soonest : pivotRow;
            }
            double pivot = x[pivotRow];

            // ---- store U(:, k) (pivoted rows, as steps) and L(:, k) (the other rows, divided by the pivot)
            int need = n - top;
            if (unz + need > ui.Length) Grow(ref ui, ref ux, unz + need);
            if (lnz + need > li.Length) Grow(ref li, ref lx, lnz + need);
            for (int t = top; t < n; t++)
            {
                int i = topo[t];
                int s = pinv[i];
                if (s >= 0) { ui[unz] = s; ux[unz++] = x[i]; }
                else if (i != pivotRow) { li[lnz] = i; lx[lnz++] = x[i] / pivot; }
                x[i] = 0;
            }
            ud[k] = pivot;
            pinv[pivotRow] = k;
            pv[k] = pivotRow;
            lp[k + 1] = lnz;
            up[k + 1] = unz;
            lpend[k] = lnz;

            // ---- symmetric pruning: for s with U(s, k) ≠ 0 and L(pivotRow, s) ≠ 0, the rows of L(:, s) not yet
            // pivotal are reachable through column k, so the search needs only L(:, s)'s pivotal rows
            for (int p = up[k]; p < unz; p++)
            {
                int s = ui[p];
                if (pruned[s]) continue;
                int start = lp[s], end = lp[s + 1];
                bool found = false;
                for (int t = start; t < end; t++)
                    if (li[t] == pivotRow) { found = true; break; }
                if (!found) continue;
                int head = start, tail = end - 1;
                while (head <= tail)
                {
                    if (pinv[li[head]] >= 0) head++;
                    else if (pinv[li[tail]] < 0) tail--;
                    else
                    {
                        (li[head], li[tail]) = (li[tail], li[head]);
                        (lx[head], lx[tail]) = (lx[tail], lx[head]);
                        head++;
                        tail--;
                    }
                }
                lpend[s] = head;
                pruned[s] = true;
            }
        }

        // L's row indices to step numbering
        for (int t = 0; t < lnz; t++) li[t] = pinv[li[t]];
        _p = pv;
        _pinv = pinv;
        _lp = lp;
        _li = li;
        _lx = lx;
        _up = up;
        _ui = ui;
        _ux = ux;
        _ud = ud;
        if (_aStep.Length != _aNnz) _aStep = new int[_aNnz];
        for (int t = 0; t < _aNnz; t++) _aStep[t] = pinv[_aRowIdx[t]];
        _valid = true;
    }

    private void EnsureValid()
    {
        if (!_valid) throw new InvalidOperationException("the factorisation is invalid: the last Refactorize failed (singular matrix)");
    }

    private static void Grow(ref int[] idx, ref double[] val, int need)
    {
        int size = Math.Max(2 * idx.Length, need);
        Array.Resize(ref idx, size);
        Array.Resize(ref val, size);
    }

    /// <summary>
    /// Iterative depth-first search from row <paramref name="start"/> through the (pruned) graph of L; every
    /// node is pushed onto <paramref name="topo"/> (from the end) once all nodes it reaches are there.
    /// </summary>
    private static int Reach(int start, int k, int top, int[] li, int[] lp, int[] lpend, int[] pinv, int[] mark,
        int[] stack, int[] pstack, int[] topo)
    {
        int head = 0;
        stack[0] = start;
        mark[start] = k;
        pstack[0] = pinv[start] >= 0 ? lp[pinv[start]] : 0;
        while (head >= 0)
        {
            int i = stack[head];
            int s = pinv[i];
            bool descended = false;
            if (s >= 0)
            {
                int end = lpend[s];
                for (int p = pstack[head]; p < end; p++)
                {
                    int r = li[p];
                    if (mark[r] == k) continue;
                    pstack[head] = p + 1;
                    mark[r] = k;
                    int sr = pinv[r];
                    stack[++head] = r;
                    pstack[head] = sr >= 0 ? lp[sr] : 0;
                    descended = true;
                    break;
                }
            }
            if (!descended)
            {
                head--;
                topo[--top] = i;
            }
        }
        return top;
    }

    /// <summary>
    /// Factorises a matrix with the same pattern as the first one, reusing the ordering, the pivot sequence
    /// and the patterns of L and U (no graph search). If a reused pivot falls below
    /// <see cref="LuOptions.RefactorPivotTolerance"/> times the largest candidate in its column, the columns
    /// before it are kept and the rest is factorised with a fresh pivot search (same column order); this
    /// counts in <see cref="RepivotCount"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The pattern differs from the factorised one, or an entry is NaN or infinite.</exception>
    /// <exception cref="SingularMatrixException">The fallback found no nonzero pivot in some column.</exception>
    public void Refactorize(SparseMatrix a)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.Rows != N || a.Cols != N || a.Nnz != _aNnz
            || (!ReferenceEquals(a.ColPtr, _aColPtr) && !SameInts(a.ColPtr, _aColPtr, N + 1))
            || (!ReferenceEquals(a.RowIdx, _aRowIdx) && !SameInts(a.RowIdx, _aRowIdx, _aNnz)))
            throw new ArgumentException("Refactorize needs a matrix with the same pattern as the factorised one");
        CheckFinite(a);
        if (!_valid)
        {
            // the previous refactorisation failed half-way: start over with a full pivot search
            RefactorCount++;
            Numeric(a, 0);
            return;
        }
        int failed = NumericOnPattern(a, _options.RefactorPivotTolerance ?? _options.PivotTolerance / 10);
        RefactorCount++;
        if (failed >= 0)
        {
            RepivotCount++;
            _valid = false; // until the fresh pivot search completes
            Numeric(a, failed);
        }
    }

    private static bool SameInts(int[] a, int[] b, int count)
    {
        if (a.Length < count || b.Length < count) return false;
        for (int i = 0; i < count; i++)
            if (a[i] != b[i]) return false;
        return true;
    }

    /// <summary>
    /// The arithmetic of the factorisation on the stored patterns, pivots and column order (no graph search): column
    /// by column, x = A(:, q_k) scattered by step, updated by the L columns of U(:, k)'s rows in their stored
    /// (topological) order, the pivot x_k kept if |x_k| ≥ <paramref name="tol"/>·max(|x_k|, |L(:, k)|). Returns −1
    /// when every pivot was kept, else the first step whose pivot failed: the columns before it hold a valid
    /// factorisation of A's leading columns, the work vector is clean.
    /// </summary>
    private int NumericOnPattern(SparseMatrix a, double tol)
    {
        int n = N;
        int[] colPtr = a.ColPtr, aStep = _aStep, lp = _lp, li = _li, up = _up, ui = _ui, q = _q;
        double[] values = a.Values, lx = _lx, ux = _ux, ud = _ud;
        double[] x = _work; // by step, all zero between columns
        for (int k = 0; k < n; k++)
        {
            int col = q[k];
            for (int p = colPtr[col], end = colPtr[col + 1]; p < end; p++) x[aStep[p]] += values[p];
            for (int p = up[k], end = up[k + 1]; p < end; p++)
            {
                int s = ui[p];
                double xs = x[s];
                x[s] = 0;
                ux[p] = xs;
                if (xs == 0) continue;
                for (int t = lp[s], tend = lp[s + 1]; t < tend; t++) x[li[t]] -= lx[t] * xs;
            }
            double pivot = x[k];
            x[k] = 0;
            double maxAbs = Math.Abs(pivot);
            int lstart = lp[k], lend = lp[k + 1];
            for (int t = lstart; t < lend; t++) maxAbs = Math.Max(maxAbs, Math.Abs(x[li[t]]));
            if (!(Math.Abs(pivot) >= tol * maxAbs) || pivot == 0 || !double.IsFinite(maxAbs))
            {
                Array.Clear(x);
                return k;
            }
            ud[k] = pivot;
            double inv = 1.0 / pivot;
            for (int t = lstart; t < lend; t++)
            {
                int i = li[t];
                lx[t] = x[i] * inv;
                x[i] = 0;
            }
        }
        return -1;
    }

    /// <summary>
    /// <see cref="LuOptions.DiagonalPivotsFirst"/>: the patterns of L and U for diagonal pivots in the column order,
    /// then the arithmetic on them; at the first diagonal that fails the threshold the pivot search takes over.
    /// </summary>
    private void FactorizeDiagonalFirst(SparseMatrix a)
    {
        SymbolicDiagonal(a);
        int failed = NumericOnPattern(a, _options.PivotTolerance);
        if (failed >= 0) Numeric(a, failed);
        else _valid = true;
    }

    /// <summary>
    /// The patterns of L and U when step k pivots on the diagonal of column q_k: those of the Cholesky factor of
    /// C = Q(A + Aᵀ)Qᵀ, from its elimination tree (Liu). U(:, k)'s rows are the steps reached from C's entries
    /// above the diagonal of column k by walking up the tree to k; L(:, s) holds the steps whose walks passed s.
    /// Both come out sorted (ascending steps are a topological order of the triangular solves). O(|A| + |L|).
    /// </summary>
    private void SymbolicDiagonal(SparseMatrix a)
    {
        int n = N;
        int[] qinv = _qinv, colPtr = a.ColPtr, rowIdx = a.RowIdx;
        // C's strictly upper part by columns, duplicates allowed: A(i, j) links steps qinv[i] and qinv[j]
        var cp = new int[n + 1];
        for (int j = 0; j < n; j++)
        {
            int sj = qinv[j];
            for (int p = colPtr[j], end = colPtr[j + 1]; p < end; p++)
            {
                int si = qinv[rowIdx[p]];
                if (si != sj) cp[(si > sj ? si : sj) + 1]++;
            }
        }
        for (int k = 0; k < n; k++) cp[k + 1] += cp[k];
        var ci = new int[cp[n]];
        var next = new int[n];
        Array.Copy(cp, next, n);
        for (int j = 0; j < n; j++)
        {
            int sj = qinv[j];
            for (int p = colPtr[j], end = colPtr[j + 1]; p < end; p++)
            {
                int si = qinv[rowIdx[p]];
                if (si < sj) ci[next[sj]++] = si;
                else if (si > sj) ci[next[si]++] = sj;
            }
        }
        // elimination tree, with path compression through `ancestor`
        var parent = new int[n];
        var mark = new int[n];
        for (int k = 0; k < n; k++)
        {
            parent[k] = -1;
            mark[k] = -1;
            for (int p = cp[k]; p < cp[k + 1]; p++)
            {
                for (int s = ci[p]; s != -1 && s < k;)
                {
                    int up = mark[s];
                    mark[s] = k;
                    if (up == -1) parent[s] = k;
                    s = up;
                }
            }
        }
        // counts: |U(:, k)| = the size of k's reach, |L(:, s)| = the number of reaches through s
        var lcount = next; // reused
        for (int k = 0; k < n; k++) { lcount[k] = 0; mark[k] = -1; }
        var upPtr = new int[n + 1];
        for (int k = 0; k < n; k++)
        {
            mark[k] = k;
            int count = 0;
            for (int p = cp[k]; p < cp[k + 1]; p++)
                for (int s = ci[p]; mark[s] != k; s = parent[s])
                {
                    mark[s] = k;
                    lcount[s]++;
                    count++;
                }
            upPtr[k + 1] = upPtr[k] + count;
        }
        var lpPtr = new int[n + 1];
        for (int s = 0; s < n; s++) lpPtr[s + 1] = lpPtr[s] + lcount[s];
        // L by columns: reaches in increasing k, so each column's rows come out sorted
        var li = new int[lpPtr[n]];
        for (int s = 0; s < n; s++) { lcount[s] = lpPtr[s]; mark[s] = -1; }
        for (int k = 0; k < n; k++)
        {
            mark[k] = k;
            for (int p = cp[k]; p < cp[k + 1]; p++)
                for (int s = ci[p]; mark[s] != k; s = parent[s])
                {
                    mark[s] = k;
                    li[lcount[s]++] = k;
                }
        }
        // U by columns: the transpose of L's pattern, taken in increasing s, so sorted too
        var ui = new int[upPtr[n]];
        var unext = mark; // reused
        Array.Copy(upPtr, unext, n);
        for (int s = 0; s < n; s++)
            for (int t = lpPtr[s], end = lpPtr[s + 1]; t < end; t++) ui[unext[li[t]]++] = s;

        _lp = lpPtr;
        _li = li;
        _lx = new double[li.Length];
        _up = upPtr;
        _ui = ui;
        _ux = new double[ui.Length];
        _ud = new double[n];
        _p = (int[])_q.Clone();
        _pinv = (int[])qinv.Clone();
        if (_aStep.Length != _aNnz) _aStep = new int[_aNnz];
        for (int t = 0; t < _aNnz; t++) _aStep[t] = qinv[_aRowIdx[t]];
    }

    /// <summary>Solves A·x = b in place (b becomes x).</summary>
    public void Solve(Span<double> b)
    {
        if (b.Length != N) throw new ArgumentException($"right-hand side has {b.Length} entries, expected {N}");
        EnsureValid();
        SolveCore(b, ThreadWork(N).AsSpan(0, N));
    }

    /// <summary>
    /// A work vector of at least n entries for this thread's solves (a solve calls no other solve, so one per thread is enough).
    /// Not <c>ArrayPool&lt;double&gt;.Shared</c>: its generic code (Rent, Return, Trim) is not precompiled for us and was compiled
    /// by the JIT in every cold process that solved once.
    /// </summary>
    private static double[] ThreadWork(int n)
    {
        var w = t_work;
        if (w is null || w.Length < n) t_work = w = new double[n];
        return w;
    }

    [ThreadStatic] private static double[]? t_work;

    /// <summary>
    /// Solves A·x = b in place with the caller's work vector (at least <see cref="N"/> entries, its contents
    /// overwritten): no pooled buffer, for loops that solve again and again (Newton's method). Concurrent solves
    /// need one work vector each.
    /// </summary>
    public void SolveWithWork(Span<double> b, double[] work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (b.Length != N) throw new ArgumentException($"right-hand side has {b.Length} entries, expected {N}");
        if (work.Length < N) throw new ArgumentException($"work vector has {work.Length} entries, needs at least {N}");
        EnsureValid();
        SolveCore(b, work.AsSpan(0, N));
    }

    private void SolveCore(Span<double> b, Span<double> y)
    {
        int n = N;
        int[] p = _p, q = _q, lp = _lp, li = _li, up = _up, ui = _ui;
        double[] lx = _lx, ux = _ux, ud = _ud;
        for (int k = 0; k < n; k++) y[k] = b[p[k]];
        Triangular.UnitLowerByColumns(lp, li, lx, y);
        for (int k = n - 1; k >= 0; k--)
        {
            double yk = y[k] / ud[k];
            y[k] = yk;
            if (yk == 0) continue;
            for (int t = up[k], end = up[k + 1]; t < end; t++) y[ui[t]] -= ux[t] * yk;
        }
        for (int k = 0; k < n; k++) b[q[k]] = y[k];
    }

    /// <summary>Solves A·x = b into <paramref name="x"/>, leaving b unchanged.</summary>
    public void Solve(ReadOnlySpan<double> b, Span<double> x)
    {
        if (b.Length != N || x.Length != N) throw new ArgumentException($"vectors have {b.Length} and {x.Length} entries, expected {N}");
        b.CopyTo(x);
        Solve(x);
    }

    /// <summary>Solves Aᵀ·x = b in place (b becomes x).</summary>
    public void SolveTranspose(Span<double> b)
    {
        if (b.Length != N) throw new ArgumentException($"right-hand side has {b.Length} entries, expected {N}");
        EnsureValid();
        int n = N;
        var y = ThreadWork(n).AsSpan(0, n);
        int[] lp = _lp, li = _li, up = _up, ui = _ui;
        double[] lx = _lx, ux = _ux, ud = _ud;
        for (int k = 0; k < n; k++) y[k] = b[_q[k]];
        // Uᵀ·w = y, forward: column k of U is row k of Uᵀ
        for (int k = 0; k < n; k++)
        {
            double s = y[k];
            for (int t = up[k], end = up[k + 1]; t < end; t++) s -= ux[t] * y[ui[t]];
            y[k] = s / ud[k];
        }
        // Lᵀ·v = w, backward
        for (int k = n - 1; k >= 0; k--)
        {
            double s = y[k];
            for (int t = lp[k], end = lp[k + 1]; t < end; t++) s -= lx[t] * y[li[t]];
            y[k] = s;
        }
        for (int k = 0; k < n; k++) b[_p[k]] = y[k];
    }

    /// <summary>Solves Aᵀ·x = b into <paramref name="x"/>, leaving b unchanged.</summary>
    public void SolveTranspose(ReadOnlySpan<double> b, Span<double> x)
    {
        if (b.Length != N || x.Length != N) throw new ArgumentException($"vectors have {b.Length} and {x.Length} entries, expected {N}");
        b.CopyTo(x);
        SolveTranspose(x);
    }
}
