namespace OpenTE.Numerics.Sparse;

/// <summary>No acceptable pivot: the matrix is singular or structurally singular.</summary>
public sealed class SingularMatrixException(string message) : InvalidOperationException(message);

public sealed record LuOptions
{
    /// <summary>
    /// Threshold partial pivoting: the diagonal candidate is kept when |a_diag| ≥ tolerance·max|column|;
    /// 1.0 is plain partial pivoting, smaller values favour the fill-reducing diagonal order.
    /// </summary>
    public double PivotTolerance { get; init; } = 0.1;
    /// <summary>
    /// The threshold a reused pivot must meet in <see cref="SparseLU.Refactorize"/> before the factorisation
    /// falls back to a fresh pivot search. Smaller accepts more growth for speed (pair it with iterative refinement).
    /// </summary>
    public double RefactorPivotTolerance { get; init; } = 0.1;
    public Ordering Ordering { get; init; } = Ordering.MinimumDegree;
    /// <summary>A column order computed by the caller (perm[k] = column factorised k-th); overrides <see cref="Ordering"/>.</summary>
    public int[]? ColumnOrder { get; init; }
}

/// <summary>
/// Sparse LU factorisation P·A·Q = L·U (L unit lower triangular, U upper triangular) by the left-looking
/// Gilbert–Peierls algorithm: each column is a sparse triangular solve whose nonzero pattern is found by a
/// depth-first search in the graph of L, followed by threshold partial pivoting. Q is a fill-reducing
/// minimum-degree ordering of A + Aᵀ. <see cref="Refactorize"/> reuses the ordering, the pivot sequence and
/// the patterns of L and U for a matrix with the same pattern and new values (Newton iterations), and falls
/// back to a fresh pivoting factorisation when a reused pivot becomes too small.
/// </summary>
public sealed class SparseLU
{
    private readonly LuOptions _options;
    private readonly int[] _q;        // column order: step k factorises column _q[k]
    private int[]? _partner;          // saddle-point pairs: the second-choice pivot row of a column
    private int[] _p = [];            // row pivot: step k pivots on original row _p[k]
    private int[] _pinv = [];         // original row → step
    // L: unit diagonal not stored; row indices in step numbering after factorisation
    private int[] _lp = [], _li = [];
    private double[] _lx = [];
    // U: diagonal stored last in each column; row indices in step numbering (ascending)
    private int[] _up = [], _ui = [];
    private double[] _ux = [];
    private int[] _aPattern = [], _aColPtr = [];

    public int N { get; }
    public int NnzL => _lp[N] + N;     // including the unit diagonal
    public int NnzU => _up[N];
    /// <summary>Non-zeros of L and U together (the unit diagonal of L counted once).</summary>
    public long Fill => (long)_lp[N] + _up[N];
    /// <summary>How many refactorisations had to fall back to fresh pivoting.</summary>
    public int RepivotCount { get; private set; }

    private SparseLU(int n, int[] q, LuOptions options)
    {
        N = n;
        _q = q;
        _options = options;
    }

    public static SparseLU Factorize(SparseMatrix a, LuOptions? options = null)
    {
        if (a.Rows != a.Cols) throw new ArgumentException($"LU needs a square matrix, got {a.Rows}x{a.Cols}");
        CheckFinite(a);
        var o = options ?? new LuOptions();
        int[]? partner = null;
        int[] q = o.ColumnOrder is int[] given ? CheckPermutation(given, a.Cols)
            : o.Ordering switch
            {
                Ordering.Natural => Enumerable.Range(0, a.Cols).ToArray(),
                Ordering.ColumnMinimumDegree => MinimumDegree.OrderColumns(a),
                Ordering.SaddlePoint => MinimumDegree.OrderSaddlePoint(a, out partner),
                _ => MinimumDegree.Order(a),
            };
        var lu = new SparseLU(a.Cols, q, o) { _partner = partner };
        lu.Numeric(a);
        return lu;
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

    /// <summary>Numeric factorisation with pivot search (the symbolic work is done column by column).</summary>
    private void Numeric(SparseMatrix a)
    {
        int n = N;
        double tol = _options.PivotTolerance;
        int cap = Math.Max(4 * a.Nnz + n, 16);
        var lp = new int[n + 1];
        var li = new int[cap];
        var lx = new double[cap];
        var up = new int[n + 1];
        var ui = new int[cap];
        var ux = new double[cap];
        var pinv = new int[n];
        Array.Fill(pinv, -1);
        var x = new double[n];
        var stack = new int[n];
        var pstack = new int[n];
        var mark = new int[n];
        Array.Fill(mark, -1);
        var topo = new int[n];      // reach output, filled from the end
        int lnz = 0, unz = 0;

        for (int k = 0; k < n; k++)
        {
            int col = _q[k];
            lp[k] = lnz;
            up[k] = unz;
            // ---- symbolic: reach of A(:,col) in the graph of L (columns = pivoted steps)
            int top = n;
            for (int p = a.ColPtr[col]; p < a.ColPtr[col + 1]; p++)
            {
                int i = a.RowIdx[p];
                if (mark[i] == k) continue;
                top = Dfs(i, k, top, li, lp, pinv, mark, stack, pstack, topo);
            }
            // ---- numeric: sparse triangular solve x = L \ A(:,col)
            for (int t = top; t < n; t++) x[topo[t]] = 0;
            for (int p = a.ColPtr[col]; p < a.ColPtr[col + 1]; p++) x[a.RowIdx[p]] += a.Values[p];
            for (int t = top; t < n; t++)
            {
                int i = topo[t];
                int s = pinv[i];
                if (s < 0) continue;
                double xi = x[i];
                if (xi == 0) continue;
                for (int p = lp[s]; p < lp[s + 1]; p++) x[li[p]] -= lx[p] * xi;
            }
            // ---- pivot choice among rows not yet pivotal
            int pivotRow = -1;
            double maxAbs = -1;
            for (int t = top; t < n; t++)
            {
                int i = topo[t];
                if (pinv[i] >= 0) continue;
                double v = Math.Abs(x[i]);
                if (v > maxAbs) { maxAbs = v; pivotRow = i; }
            }
            if (pivotRow < 0 || maxAbs <= 0 || !double.IsFinite(maxAbs))
                throw new SingularMatrixException($"the matrix is singular: no pivot in column {col}");
            if (pinv[col] < 0 && mark[col] == k && Math.Abs(x[col]) >= tol * maxAbs) pivotRow = col;
            else if (_partner is not null && _partner[col] is int mate && mate >= 0 && pinv[mate] < 0 && mark[mate] == k && Math.Abs(x[mate]) >= tol * maxAbs)
                pivotRow = mate; // keep the pivot inside the pair the ordering planned for
            double pivot = x[pivotRow];
            // ---- store U(:,k) (pivoted rows, step numbering) and L(:,k)
            int need = n - top + 1;
            if (unz + need > ui.Length) { Array.Resize(ref ui, Math.Max(2 * ui.Length, unz + need)); Array.Resize(ref ux, ui.Length); }
            if (lnz + need > li.Length) { Array.Resize(ref li, Math.Max(2 * li.Length, lnz + need)); Array.Resize(ref lx, li.Length); }
            int ustart = unz;
            for (int t = top; t < n; t++)
            {
                int i = topo[t];
                int s = pinv[i];
                if (s >= 0) { ui[unz] = s; ux[unz++] = x[i]; }
                else if (i != pivotRow) { li[lnz] = i; lx[lnz++] = x[i] / pivot; }
            }
            Array.Sort(ui, ux, ustart, unz - ustart);
            ui[unz] = k;
            ux[unz++] = pivot;
            pinv[pivotRow] = k;
        }
        lp[n] = lnz;
        up[n] = unz;
        // L row indices to step numbering
        for (int p = 0; p < lnz; p++) li[p] = pinv[li[p]];
        var pv = new int[n];
        for (int i = 0; i < n; i++) pv[pinv[i]] = i;
        _p = pv;
        _pinv = pinv;
        _lp = lp;
        _li = li[..lnz];
        _lx = lx[..lnz];
        _up = up;
        _ui = ui[..unz];
        _ux = ux[..unz];
        _aColPtr = (int[])a.ColPtr.Clone();
        _aPattern = a.RowIdx[..a.Nnz];
    }

    /// <summary>Depth-first search from row i through L; pushes finished nodes onto topo (from the end).</summary>
    private static int Dfs(int start, int k, int top, int[] li, int[] lp, int[] pinv, int[] mark, int[] stack, int[] pstack, int[] topo)
    {
        int head = 0;
        stack[0] = start;
        while (head >= 0)
        {
            int i = stack[head];
            int s = pinv[i];
            if (mark[i] != k)
            {
                mark[i] = k;
                pstack[head] = s < 0 ? 0 : lp[s];
            }
            bool done = true;
            if (s >= 0)
            {
                int end = lp[s + 1];
                for (int p = pstack[head]; p < end; p++)
                {
                    int r = li[p];
                    if (mark[r] == k) continue;
                    pstack[head] = p + 1;
                    stack[++head] = r;
                    done = false;
                    break;
                }
            }
            if (done)
            {
                head--;
                topo[--top] = i;
            }
        }
        return top;
    }

    /// <summary>
    /// Factorises a matrix with the same pattern as the first one, reusing ordering, pivots and the L/U
    /// patterns (no graph search, no sorting). Falls back to a fresh pivot search (same column order) when
    /// a reused pivot is below the threshold relative to its column.
    /// </summary>
    public void Refactorize(SparseMatrix a)
    {
        if (a.Rows != N || a.Cols != N || !a.ColPtr.AsSpan().SequenceEqual(_aColPtr) || !a.RowIdx.AsSpan(0, a.Nnz).SequenceEqual(_aPattern))
            throw new ArgumentException("Refactorize needs a matrix with the same pattern as the factorised one");
        CheckFinite(a);
        int n = N;
        double tol = _options.RefactorPivotTolerance;
        var x = new double[n]; // indexed by step
        for (int k = 0; k < n; k++)
        {
            int col = _q[k];
            for (int p = _up[k]; p < _up[k + 1]; p++) x[_ui[p]] = 0;
            for (int p = _lp[k]; p < _lp[k + 1]; p++) x[_li[p]] = 0;
            for (int p = a.ColPtr[col]; p < a.ColPtr[col + 1]; p++) x[_pinv[a.RowIdx[p]]] += a.Values[p];
            int last = _up[k + 1] - 1; // the diagonal
            for (int p = _up[k]; p < last; p++)
            {
                int s = _ui[p];
                double xs = x[s];
                _ux[p] = xs;
                if (xs == 0) continue;
                for (int q = _lp[s]; q < _lp[s + 1]; q++) x[_li[q]] -= _lx[q] * xs;
            }
            double pivot = x[k];
            double maxAbs = Math.Abs(pivot);
            for (int p = _lp[k]; p < _lp[k + 1]; p++) maxAbs = Math.Max(maxAbs, Math.Abs(x[_li[p]]));
            if (pivot == 0 || Math.Abs(pivot) < tol * maxAbs || !double.IsFinite(maxAbs))
            {
                RepivotCount++;
                Numeric(a);
                return;
            }
            _ux[last] = pivot;
            for (int p = _lp[k]; p < _lp[k + 1]; p++) _lx[p] = x[_li[p]] / pivot;
        }
    }

    /// <summary>Solves A·x = b in place.</summary>
    public void Solve(Span<double> b)
    {
        if (b.Length != N) throw new ArgumentException($"right-hand side has {b.Length} entries, expected {N}");
        int n = N;
        var y = new double[n];
        for (int k = 0; k < n; k++) y[k] = b[_p[k]];
        for (int k = 0; k < n; k++)
        {
            double yk = y[k];
            if (yk == 0) continue;
            for (int p = _lp[k]; p < _lp[k + 1]; p++) y[_li[p]] -= _lx[p] * yk;
        }
        for (int k = n - 1; k >= 0; k--)
        {
            int last = _up[k + 1] - 1;
            double yk = y[k] / _ux[last];
            y[k] = yk;
            if (yk == 0) continue;
            for (int p = _up[k]; p < last; p++) y[_ui[p]] -= _ux[p] * yk;
        }
        for (int k = 0; k < n; k++) b[_q[k]] = y[k];
    }

    public void Solve(ReadOnlySpan<double> b, Span<double> x)
    {
        b.CopyTo(x);
        Solve(x);
    }

    /// <summary>Solves Aᵀ·x = b in place.</summary>
    public void SolveTranspose(Span<double> b)
    {
        if (b.Length != N) throw new ArgumentException($"right-hand side has {b.Length} entries, expected {N}");
        int n = N;
        var y = new double[n];
        for (int k = 0; k < n; k++) y[k] = b[_q[k]];
        // Uᵀ w = z (forward): column k of U is row k of Uᵀ
        for (int k = 0; k < n; k++)
        {
            int last = _up[k + 1] - 1;
            double s = y[k];
            for (int p = _up[k]; p < last; p++) s -= _ux[p] * y[_ui[p]];
            y[k] = s / _ux[last];
        }
        // Lᵀ v = w (backward)
        for (int k = n - 1; k >= 0; k--)
        {
            double s = y[k];
            for (int p = _lp[k]; p < _lp[k + 1]; p++) s -= _lx[p] * y[_li[p]];
            y[k] = s;
        }
        for (int k = 0; k < n; k++) b[_p[k]] = y[k];
    }
}
