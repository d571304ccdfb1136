namespace OpenTE.Numerics.Sparse;

/// <summary>A factorised square matrix that solves A·x = b in place.</summary>
public interface IFactorization
{
    /// <summary>The dimension.</summary>
    int N { get; }
    /// <summary>Solves A·x = b in place (b becomes x).</summary>
    void Solve(Span<double> b);
}

/// <summary>
/// Symmetric indefinite factorisation P·A·Pᵀ = L·D·Lᵀ with static pivots: L unit lower triangular, D block diagonal
/// with 1×1 blocks and the 2×2 blocks named by a pairing (typically <see cref="MinimumDegree.OrderSaddlePoint(SparseMatrix, out int[])"/>:
/// a zero-diagonal constraint row with its strongest variable, eliminated together, which keeps a saddle-point (KKT)
/// matrix factorisable without any pivot search). Up-looking (row k of L from one sparse triangular solve along the
/// elimination tree), so the patterns of L and of every row's solve are fixed by the first factorisation and
/// <see cref="Refactorize"/> is arithmetic only. About half the work and memory of an LU on the same order.
/// <para>
/// No pivot is rejected: a 1×1 pivot smaller than <c>PerturbationTolerance·‖A‖∞</c>, or a 2×2 block whose determinant is
/// that small relative to its entries, is replaced by a pivot of that size with the same sign (static pivoting, as in
/// SuperLU_DIST and PARDISO), and <see cref="PerturbedPivots"/> counts them: the factors then solve a nearby matrix and the
/// caller must refine (or factorise with a pivoting LU instead). The input is the full symmetric matrix; only the
/// entries on or above the permuted diagonal are read.
/// </para>
/// </summary>
public sealed class SparseLdl : IFactorization
{
    private readonly int[] _perm, _pinv;
    private readonly byte[] _kind; // by step: 0 a 1×1 pivot, 1 the first of a 2×2 block (k, k+1), 2 the second
    private readonly int[] _lp, _li;    // L by columns (strictly lower, rows sorted), column k's entries _lp[k].._lp[k+1]
    private readonly double[] _lx;
    private readonly int[] _rp, _rs;    // row k's solve: the steps of L(k, :) in a topological order of the solve
    private readonly double[] _d, _e;   // D's diagonal by step; _e[k] the off-diagonal of the block starting at k
    private readonly int[] _aColPtr, _aRowIdx, _aStep;
    private readonly int _aNnz;
    private readonly double[] _y, _stash;
    private readonly int[] _lnz;
    private readonly double _tolerance;

    /// <inheritdoc/>
    public int N { get; }
    /// <summary>Entries of L (strictly lower) plus the diagonal.</summary>
    public long Fill => (long)_lp[N] + N;
    /// <summary>Pivots replaced by static pivoting in the last factorisation.</summary>
    public int PerturbedPivots { get; private set; }
    /// <summary>Numeric factorisations done on the first one's patterns.</summary>
    public int RefactorCount { get; private set; }
    /// <summary>The number of 2×2 blocks.</summary>
    public int Blocks { get; }

    private SparseLdl(SparseMatrix a, int[] perm, int[]? partner, double tolerance)
    {
        int n = a.Cols;
        N = n;
        _tolerance = tolerance;
        _perm = perm;
        _pinv = new int[n];
        for (int k = 0; k < n; k++) _pinv[perm[k]] = k;
        _kind = new byte[n];
        if (partner is not null)
            for (int k = 0; k + 1 < n; k++)
            {
                if (_kind[k] != 0) continue;
                int mate = partner[perm[k]];
                if (mate >= 0 && _pinv[mate] == k + 1) { _kind[k] = 1; _kind[k + 1] = 2; Blocks++; }
            }
        _aColPtr = a.ColPtr;
        _aRowIdx = a.RowIdx;
        _aNnz = a.Nnz;
        _aStep = new int[_aNnz];
        for (int p = 0; p < _aNnz; p++) _aStep[p] = _pinv[_aRowIdx[p]];

        // symbolic: elimination tree and column counts (each row's solve walks up the tree from the row's entries)
        var parent = new int[n];
        var flag = new int[n];
        var lnz = new int[n];
        var rowCount = new int[n + 1];
        for (int k = 0; k < n; k++)
        {
            parent[k] = -1;
            flag[k] = k;
            int col = perm[k], count = 0;
            for (int p = _aColPtr[col]; p < _aColPtr[col + 1]; p++)
            {
                int i = _aStep[p];
                if (i >= k) continue;
                for (; flag[i] != k; i = parent[i])
                {
                    if (parent[i] == -1) parent[i] = k;
                    if (_kind[i] == 2 && flag[i - 1] != k)
                    {
                        // a block's first step joins every row its second one does: L(k, s) = (D⁻¹·y)ₛ needs both
                        lnz[i - 1]++;
                        count++;
                        flag[i - 1] = k;
                    }
                    lnz[i]++;
                    count++;
                    flag[i] = k;
                }
            }
            rowCount[k + 1] = count;
        }
        _lp = new int[n + 1];
        for (int k = 0; k < n; k++) _lp[k + 1] = _lp[k] + lnz[k];
        _rp = new int[n + 1];
        for (int k = 0; k < n; k++) _rp[k + 1] = _rp[k] + rowCount[k + 1];
        _li = new int[_lp[n]];
        _lx = new double[_lp[n]];
        _rs = new int[_rp[n]];
        // each row's steps in a topological order (paths pushed on a stack: a node after all nodes below it), and the
        // row indices of L by columns (rows come in increasing order)
        var stack = new int[n];
        Array.Fill(flag, -1);
        Array.Clear(lnz);
        for (int k = 0; k < n; k++)
        {
            flag[k] = k;
            int top = n, col = perm[k];
            for (int p = _aColPtr[col]; p < _aColPtr[col + 1]; p++)
            {
                int i = _aStep[p];
                if (i >= k) continue;
                int len = 0;
                for (; flag[i] != k; i = parent[i])
                {
                    if (_kind[i] == 2 && flag[i - 1] != k)
                    {
                        stack[len++] = i - 1; // before i in the solve (its y is zero here: nothing below it is in this row)
                        flag[i - 1] = k;
                    }
                    stack[len++] = i;
                    flag[i] = k;
                }
                // the path sits below everything found so far in this row: move it to the top of the stack region
                while (len > 0) stack[--top] = stack[--len];
            }
            Array.Copy(stack, top, _rs, _rp[k], n - top);
            for (int t = top; t < n; t++)
            {
                int i = stack[t];
                _li[_lp[i] + lnz[i]++] = k;
            }
        }
        _lnz = lnz;
        _d = new double[n];
        _e = new double[n];
        _y = new double[n];
        _stash = new double[n];
    }

    /// <summary>
    /// Factorises the symmetric matrix <paramref name="a"/> (full pattern, both triangles) in the step order
    /// <paramref name="perm"/> (perm[k] = the row and column eliminated k-th), with 2×2 blocks where
    /// <paramref name="partner"/> pairs two nodes that <paramref name="perm"/> puts next to each other.
    /// </summary>
    public static SparseLdl Factorize(SparseMatrix a, int[] perm, int[]? partner = null, double perturbationTolerance = 1e-10)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(perm);
        if (a.Rows != a.Cols) throw new ArgumentException("LDLᵀ needs a square matrix");
        if (perm.Length != a.Cols) throw new ArgumentException("the order must have one entry per column");
        var seen = new bool[perm.Length];
        foreach (int j in perm)
        {
            if ((uint)j >= (uint)perm.Length || seen[j]) throw new ArgumentException("the order must be a permutation");
            seen[j] = true;
        }
        if (partner is not null && partner.Length != a.Cols) throw new ArgumentException("partner must have one entry per column");
        if (!(perturbationTolerance >= 0)) throw new ArgumentException("the perturbation tolerance must be ≥ 0");
        var ldl = new SparseLdl(a, (int[])perm.Clone(), partner, perturbationTolerance);
        ldl.Numeric(a);
        return ldl;
    }

    /// <summary>Factorises a matrix with the pattern of the first one (same arrays or equal contents) on the same patterns.</summary>
    public void Refactorize(SparseMatrix a)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.Rows != N || a.Cols != N || a.Nnz != _aNnz
            || (!ReferenceEquals(a.ColPtr, _aColPtr) && !a.ColPtr.AsSpan(0, N + 1).SequenceEqual(_aColPtr.AsSpan(0, N + 1)))
            || (!ReferenceEquals(a.RowIdx, _aRowIdx) && !a.RowIdx.AsSpan(0, _aNnz).SequenceEqual(_aRowIdx.AsSpan(0, _aNnz))))
            throw new ArgumentException("Refactorize needs a matrix with the pattern of the factorised one");
        RefactorCount++;
        Numeric(a);
    }

    private void Numeric(SparseMatrix a)
    {
        int n = N;
        int[] colPtr = _aColPtr, aStep = _aStep, perm = _perm, lp = _lp, li = _li, lnz = _lnz, rp = _rp, rs = _rs;
        double[] values = a.Values, lx = _lx, d = _d, e = _e, y = _y, stash = _stash;
        byte[] kind = _kind;
        double norm = 0;
        for (int p = 0; p < _aNnz; p++)
        {
            double v = Math.Abs(values[p]);
            if (!(v <= double.MaxValue)) throw new ArgumentException("the matrix has a non-finite entry");
            norm = Math.Max(norm, v);
        }
        double tiny = _tolerance * Math.Max(norm, double.Epsilon);
        int perturbed = 0;
        Array.Clear(lnz);
        for (int k = 0; k < n; k++)
        {
            int col = perm[k];
            for (int p = colPtr[col], end = colPtr[col + 1]; p < end; p++)
            {
                int i = aStep[p];
                if (i <= k) y[i] += values[p];
            }
            double dk = y[k];
            y[k] = 0;
            for (int t = rp[k], tend = rp[k + 1]; t < tend; t++)
            {
                int i = rs[t];
                double yi = y[i];
                y[i] = 0;
                int start = lp[i], next = start + lnz[i];
                for (int q = start; q < next; q++) y[li[q]] -= lx[q] * yi;
                switch (kind[i])
                {
                    case 0:
                    {
                        double l = yi / d[i];
                        dk -= l * yi;
                        lx[next] = l;
                        lnz[i]++;
                        break;
                    }
                    case 1:
                        if (k == i + 1) { e[i] = yi; lx[next] = 0; lnz[i]++; } // the block's coupling lives in D
                        else stash[i] = yi; // L(k, i) needs y of the block's second step too
                        break;
                    default:
                    {
                        int s = i - 1;
                        double ys = stash[s], ds = d[s], di = d[i], es = e[s];
                        double det = ds * di - es * es;
                        double ls = (di * ys - es * yi) / det, l2 = (ds * yi - es * ys) / det;
                        dk -= ls * ys + l2 * yi;
                        lx[lp[s] + lnz[s]++] = ls;
                        lx[next] = l2;
                        lnz[i]++;
                        break;
                    }
                }
            }
            if (kind[k] == 2)
            {
                int s = k - 1;
                double ds = d[s], es = e[s];
                // singular to working precision: the determinant lost to cancellation, or below the tolerance squared
                double det = ds * dk - es * es;
                if (!(Math.Abs(det) > 64 * 2.220446049250313e-16 * (Math.Abs(ds * dk) + es * es)) || !(Math.Abs(det) > tiny * tiny))
                {
                    // a nearly singular block: push both diagonals away from zero until |det| is of the tolerance's size
                    perturbed++;
                    ds = ds >= 0 ? ds + tiny : ds - tiny;
                    dk = dk >= 0 ? dk + tiny : dk - tiny;
                    if (!(Math.Abs(ds * dk - es * es) > tiny * tiny)) { ds = Math.Abs(es) + tiny; dk = -ds; }
                    d[s] = ds;
                }
            }
            else if (kind[k] == 0 && !(Math.Abs(dk) > tiny))
            {
                perturbed++;
                dk = dk < 0 ? -tiny : tiny;
                if (tiny == 0) throw new SingularMatrixException($"zero pivot at step {k} (column {col})", col);
            }
            if (!double.IsFinite(dk)) throw new SingularMatrixException($"the pivot at step {k} (column {col}) is not finite", col);
            d[k] = dk;
        }
        PerturbedPivots = perturbed;
    }

    /// <inheritdoc/>
    public void Solve(Span<double> b)
    {
        int n = N;
        if (b.Length != n) throw new ArgumentException("right-hand side has the wrong length");
        double[] w = _y; // zero between factorisations' uses; restored below
        int[] lp = _lp, li = _li, perm = _perm;
        double[] lx = _lx, d = _d, e = _e;
        for (int k = 0; k < n; k++) w[k] = b[perm[k]];
        Triangular.UnitLowerByColumns(lp, li, lx, w);
        for (int k = 0; k < n; k++)
        {
            if (_kind[k] == 1)
            {
                double ds = d[k], di = d[k + 1], es = e[k], det = ds * di - es * es;
                double w0 = w[k], w1 = w[k + 1];
                w[k] = (di * w0 - es * w1) / det;
                w[k + 1] = (ds * w1 - es * w0) / det;
                k++;
            }
            else w[k] /= d[k];
        }
        for (int k = n - 1; k >= 0; k--)
        {
            double wk = w[k];
            for (int q = lp[k], end = lp[k + 1]; q < end; q++) wk -= lx[q] * w[li[q]];
            w[k] = wk;
        }
        for (int k = 0; k < n; k++) { b[perm[k]] = w[k]; w[k] = 0; }
    }
}
