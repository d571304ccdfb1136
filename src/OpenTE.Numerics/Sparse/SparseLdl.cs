using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
/// matrix factorisable without any pivot search). About half the work and memory of an LU on the same order.
/// <para>
/// Supernodal and left-looking: the symbolic phase (elimination tree, column patterns) groups consecutive columns of L
/// into supernodes whose rows below the diagonal block are one list (a chain of the elimination tree with nested
/// patterns; small chains are merged with a few explicit zeros, as in CHOLMOD's relaxed amalgamation, and a 2×2 block
/// always sits inside one supernode). Each supernode is a dense column-major panel: when its turn comes, the numeric
/// phase clears it and gathers A into it through positions fixed by the symbolic phase (while the panel is in cache),
/// subtracts the updates of the supernodes below it in the tree as dense products, and factorises the panel densely — so
/// most of the arithmetic runs on contiguous columns instead of scattered single entries (eight rows to a 512-bit vector
/// where the processor has them, else four; each lane does the scalar loop's operations in its order, so the factors do
/// not depend on the vector width). All patterns are fixed by the first factorisation and <see cref="Refactorize"/> is
/// arithmetic only.
/// </para>
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
    private readonly int[] _perm;
    private readonly byte[] _kind; // by step: 0 a 1×1 pivot, 1 the first of a 2×2 block (k, k+1), 2 the second
    private readonly double[] _d, _e;   // D's diagonal by step; _e[k] the off-diagonal of the block starting at k
    // supernode s: columns (steps) _first[s].._first[s+1]-1, rows below its diagonal block _rows[_rowPtr[s].._rowPtr[s+1]]
    // (steps, ascending), values a dense column-major panel at _lx[_base[s]..] with leading dimension width + rows
    private readonly int[] _first, _rowPtr, _rows, _base;
    private readonly double[] _lx;
    private readonly int[] _aColPtr, _aRowIdx;
    // A's entries read (on or above the permuted diagonal) grouped by the step of the L column they land in:
    // _aEntry[_aByStep[i].._aByStep[i+1]] are their indices in A, _aEntrySlot their places in the panels
    private readonly int[] _aByStep, _aEntry, _aEntrySlot;
    private readonly int _aNnz;
    private readonly long _fill;
    private readonly double _tolerance;
    // numeric work space
    private readonly int[] _relative, _position, _superOf, _head, _next;
    private readonly double[] _w, _c, _y, _dots;

    /// <inheritdoc/>
    public int N { get; }
    /// <summary>Entries of L (strictly lower) plus the diagonal, structurally (the panels may hold a few explicit zeros more).</summary>
    public long Fill => _fill;
    /// <summary>The number of supernodes (dense panels) L is stored in.</summary>
    public int Supernodes => _first.Length - 1;
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
        var pinv = new int[n];
        for (int k = 0; k < n; k++) pinv[perm[k]] = k;
        _kind = new byte[n];
        if (partner is not null)
            for (int k = 0; k + 1 < n; k++)
            {
                if (_kind[k] != 0) continue;
                int mate = partner[perm[k]];
                if (mate >= 0 && pinv[mate] == k + 1) { _kind[k] = 1; _kind[k + 1] = 2; Blocks++; }
            }
        _aColPtr = a.ColPtr;
        _aRowIdx = a.RowIdx;
        _aNnz = a.Nnz;
        var aStep = new int[_aNnz];
        for (int p = 0; p < _aNnz; p++) aStep[p] = pinv[_aRowIdx[p]];

        // elimination tree and column counts (each row's pattern walks up the tree from the row's entries)
        var parent = new int[n];
        var flag = new int[n];
        var lnz = new int[n];
        for (int k = 0; k < n; k++)
        {
            parent[k] = -1;
            flag[k] = k;
            int col = perm[k];
            for (int p = _aColPtr[col]; p < _aColPtr[col + 1]; p++)
            {
                int i = aStep[p];
                if (i >= k) continue;
                for (; flag[i] != k; i = parent[i])
                {
                    if (parent[i] == -1) parent[i] = k;
                    if (_kind[i] == 2 && flag[i - 1] != k)
                    {
                        // a block's first step joins every row its second one does: L(k, s) = (D⁻¹·y)ₛ needs both
                        lnz[i - 1]++;
                        flag[i - 1] = k;
                    }
                    lnz[i]++;
                    flag[i] = k;
                }
            }
        }
        var lp = new int[n + 1];
        for (int k = 0; k < n; k++) lp[k + 1] = lp[k] + lnz[k];
        _fill = (long)lp[n] + n;
        // the rows of each column of L (ascending: rows are visited in order)
        var li = new int[lp[n]];
        for (int q = 0; q < flag.Length; q++) flag[q] = -1;
        Array.Clear(lnz);
        for (int k = 0; k < n; k++)
        {
            flag[k] = k;
            int col = perm[k];
            for (int p = _aColPtr[col]; p < _aColPtr[col + 1]; p++)
            {
                int i = aStep[p];
                if (i >= k) continue;
                for (; flag[i] != k; i = parent[i])
                {
                    if (_kind[i] == 2 && flag[i - 1] != k)
                    {
                        li[lp[i - 1] + lnz[i - 1]++] = k;
                        flag[i - 1] = k;
                    }
                    li[lp[i] + lnz[i]++] = k;
                    flag[i] = k;
                }
            }
        }

        // supernodes: column j joins the one ending at j − 1 when it is j − 1's parent and the merged panel holds few
        // explicit zeros (always for a block's second step and for a chain of 2; up to 30 % zeros for up to 16 columns, 5 %
        // for up to 48, 2 % beyond); the rows below a merged panel are the union of its columns' rows below it
        var first = new List<int>();
        var rowPtr = new List<int> { 0 };
        var rows = new List<int>();
        var current = new List<int>();  // the open supernode's rows below column j − 1 (ascending)
        var merged = new List<int>();
        long trueEntries = 0;           // the open supernode's structural entries (diagonal included)
        int start = 0;
        for (int j = 0; j < n; j++)
        {
            int cj = lp[j + 1] - lp[j];
            bool join = false;
            if (j > 0)
            {
                // rows of the merged panel below j: (current \ {j}) ∪ rows(j)
                merged.Clear();
                int x = 0, y = lp[j], yEnd = lp[j + 1];
                while (x < current.Count || y < yEnd)
                {
                    int v;
                    if (y >= yEnd || (x < current.Count && current[x] < li[y])) v = current[x++];
                    else if (x >= current.Count || li[y] < current[x]) v = li[y++];
                    else { v = current[x++]; y++; }
                    if (v != j) merged.Add(v);
                }
                int width = j - start + 1;
                long panel = (long)width * (width + 1) / 2 + (long)width * merged.Count;
                double zeros = (panel - (trueEntries + cj + 1)) / (double)panel;
                bool chain = parent[j - 1] == j;
                join = _kind[j] == 2
                    || (chain && (zeros <= 0 || width <= 2 || (width <= 16 && zeros < 0.3) || (width <= 48 && zeros < 0.05) || zeros < 0.02));
            }
            if (join)
            {
                (current, merged) = (merged, current);
                trueEntries += cj + 1;
            }
            else
            {
                if (j > 0)
                {
                    first.Add(start);
                    rows.AddRange(current);
                    rowPtr.Add(rows.Count);
                }
                start = j;
                current.Clear();
                for (int q = lp[j]; q < lp[j + 1]; q++) current.Add(li[q]);
                trueEntries = cj + 1;
            }
        }
        if (n > 0)
        {
            first.Add(start);
            rows.AddRange(current);
            rowPtr.Add(rows.Count);
        }
        first.Add(n);
        _first = [.. first];
        _rowPtr = [.. rowPtr];
        _rows = [.. rows];
        int ns = _first.Length - 1;
        _base = new int[ns + 1];
        int maxRows = 0, maxWidth = 0;
        var superOf = new int[n];
        for (int sn = 0; sn < ns; sn++)
        {
            int width = _first[sn + 1] - _first[sn], r = _rowPtr[sn + 1] - _rowPtr[sn];
            for (int j = _first[sn]; j < _first[sn + 1]; j++) superOf[j] = sn;
            _base[sn + 1] = checked(_base[sn] + (width + r) * width);
            maxRows = Math.Max(maxRows, r);
            maxWidth = Math.Max(maxWidth, width);
        }
        _lx = new double[_base[ns]];

        // where A's entries land: the entry in column perm[k] at step i ≤ k is L's row k, column i (the lower triangle)
        var position = new int[n]; // a row's place in the panel of the supernode being mapped
        for (int q = 0; q < position.Length; q++) position[q] = -1;
        var byColumn = new int[n + 1]; // A's entries grouped by the L column (step i) they go to
        for (int k = 0; k < n; k++)
        {
            int col = perm[k];
            for (int p = _aColPtr[col]; p < _aColPtr[col + 1]; p++)
                if (aStep[p] <= k) byColumn[aStep[p] + 1]++;
        }
        for (int i = 0; i < n; i++) byColumn[i + 1] += byColumn[i];
        var entries = new int[byColumn[n]];
        var entryRow = new int[byColumn[n]];
        var entrySlot = new int[byColumn[n]];
        var fillAt = (int[])byColumn.Clone();
        for (int k = 0; k < n; k++)
        {
            int col = perm[k];
            for (int p = _aColPtr[col]; p < _aColPtr[col + 1]; p++)
            {
                int i = aStep[p];
                if (i > k) continue;
                entries[fillAt[i]] = p;
                entryRow[fillAt[i]++] = k;
            }
        }
        for (int sn = 0; sn < ns; sn++)
        {
            int f = _first[sn], l = _first[sn + 1], width = l - f, ld = width + _rowPtr[sn + 1] - _rowPtr[sn];
            for (int j = f; j < l; j++) position[j] = j - f;
            for (int q = _rowPtr[sn]; q < _rowPtr[sn + 1]; q++) position[_rows[q]] = width + q - _rowPtr[sn];
            for (int i = f; i < l; i++)
                for (int q = byColumn[i]; q < byColumn[i + 1]; q++)
                {
                    int row = entryRow[q];
                    if (position[row] < 0) throw new InvalidOperationException("LDLᵀ symbolic: an entry of A outside its supernode's rows");
                    entrySlot[q] = _base[sn] + (i - f) * ld + position[row];
                }
            for (int j = f; j < l; j++) position[j] = -1;
            for (int q = _rowPtr[sn]; q < _rowPtr[sn + 1]; q++) position[_rows[q]] = -1;
        }
        (_aByStep, _aEntry, _aEntrySlot) = (byColumn, entries, entrySlot);
        _relative = new int[Math.Max(maxRows, 1)];
        _position = position;
        _superOf = superOf;
        _head = new int[ns];
        _next = new int[ns * 2]; // by supernode: the next one in its list, and its position in its rows
        _w = new double[Math.Max(maxWidth * maxWidth, 1)];
        _c = new double[Math.Max((long)maxRows * Math.Min(maxRows, maxWidth), 1)];
        _d = new double[n];
        _e = new double[n];
        _y = new double[n];
        _dots = new double[Math.Max(maxWidth, 1)];
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
        double[] values = a.Values, lx = _lx, d = _d, e = _e;
        double norm = NormMax(values, _aNnz);
        double tiny = _tolerance * Math.Max(norm, double.Epsilon);
        int perturbed = 0;
        int[] aByStep = _aByStep, aEntry = _aEntry, aEntrySlot = _aEntrySlot, panelBase = _base;
        int ns = _first.Length - 1;
        int[] first = _first, rowPtr = _rowPtr, rows = _rows, head = _head, next = _next, superOf = _superOf;
        for (int q = 0; q < head.Length; q++) head[q] = -1; // plain loops, not Array.Fill<int>: a cold CLI process would JIT that
        var position = _position;
        for (int sn = 0; sn < ns; sn++)
        {
            int f = first[sn], l = first[sn + 1], width = l - f, rp = rowPtr[sn], r = rowPtr[sn + 1] - rp, ld = width + r;
            // the panel starts as A's entries (each place receives at most one); nothing has written into it before its turn
            lx.AsSpan(panelBase[sn], panelBase[sn + 1] - panelBase[sn]).Clear();
            for (int q = aByStep[f]; q < aByStep[l]; q++) lx[aEntrySlot[q]] += values[aEntry[q]];
            for (int t = 0; t < width; t++) position[f + t] = t;
            for (int q = 0; q < r; q++) position[rows[rp + q]] = width + q;
            // the updates of the supernodes below this one whose rows reach its columns
            for (int k = head[sn]; k != -1;)
            {
                int following = next[2 * k], at = next[2 * k + 1];
                int p2 = Update(k, at, sn, l);
                int rk = rowPtr[k + 1] - rowPtr[k];
                if (p2 < rk)
                {
                    int target = superOf[rows[rowPtr[k] + p2]];
                    next[2 * k] = head[target];
                    next[2 * k + 1] = p2;
                    head[target] = k;
                }
                k = following;
            }
            head[sn] = -1;
            perturbed += FactorPanel(sn, tiny);
            if (r > 0)
            {
                int target = superOf[rows[rp]];
                next[2 * sn] = head[target];
                next[2 * sn + 1] = 0;
                head[target] = sn;
            }
        }
        PerturbedPivots = perturbed;
    }

    /// <summary>maxₚ |values[p]| over the first <paramref name="count"/> entries (a maximum does not depend on the order it is taken in); throws on a non-finite entry.</summary>
    private static unsafe double NormMax(double[] values, int count)
    {
        double norm = 0;
        int p = 0;
        fixed (double* v = values)
        {
            if (Vector256.IsHardwareAccelerated && count >= 8)
            {
                var acc = Vector256<double>.Zero;
                var limit = Vector256.Create(double.MaxValue);
                for (; p + 4 <= count; p += 4)
                {
                    var x = Vector256.Abs(*(Vector256<double>*)(v + p)); // pointer loads: ReadyToRun code does not inline Vector256.Load
                    if (!Vector256.LessThanOrEqualAll(x, limit)) throw new ArgumentException("the matrix has a non-finite entry");
                    acc = Vector256.Max(acc, x);
                }
                norm = Math.Max(Math.Max(acc.GetElement(0), acc.GetElement(1)), Math.Max(acc.GetElement(2), acc.GetElement(3)));
            }
            for (; p < count; p++)
            {
                double x = Math.Abs(v[p]);
                if (!(x <= double.MaxValue)) throw new ArgumentException("the matrix has a non-finite entry");
                norm = Math.Max(norm, x);
            }
        }
        return norm;
    }

    /// <summary>
    /// Subtracts supernode k's update L_k(R, :)·D_k·L_k(C, :)ᵀ from supernode j's panel, where C are k's rows from position
    /// <paramref name="at"/> that are columns of j (below <paramref name="end"/>) and R all of k's rows from there on.
    /// Returns the position of k's first row past j's columns.
    /// </summary>
    private unsafe int Update(int k, int at, int j, int end)
    {
        int fk = _first[k], wk = _first[k + 1] - fk, rpk = _rowPtr[k], rk = _rowPtr[k + 1] - rpk, ldk = wk + rk;
        int p2 = at;
        int[] rows = _rows;
        while (p2 < rk && rows[rpk + p2] < end) p2++;
        int nc = p2 - at, m = rk - at;
        int bj = _base[j], ldj = (_first[j + 1] - _first[j]) + (_rowPtr[j + 1] - _rowPtr[j]);
        fixed (double* lx = _lx, d = _d, e = _e, w = _w, c = _c)
        fixed (int* rowsP = rows, position = _position, rel = _relative)
        fixed (byte* kind = _kind)
        {
            int* kRows = rowsP + rpk + at;
            for (int i = 0; i < m; i++) rel[i] = position[kRows[i]];
            double* lk = lx + _base[k] + wk + at; // L_k(R, 0); column t at lk + t·ldk
            double* target = lx + bj;
            if (wk == 1 && kind[fk] == 0)
            {
                // one column: the update is a scaled outer product, scattered directly
                double dk = d[fk];
                for (int ci = 0; ci < nc; ci++)
                {
                    double wc = lk[ci] * dk;
                    if (wc == 0) continue;
                    double* col = target + rel[ci] * ldj;
                    for (int i = ci; i < m; i++) col[rel[i]] -= lk[i] * wc;
                }
                return p2;
            }
            // W = L_k(C, :)·D_k, row by row (nc × wk)
            for (int ci = 0; ci < nc; ci++) RowTimesD(lk + ci, ldk, fk, wk, d, e, kind, w + ci * wk);
            // C = L_k(R, :)·Wᵀ (m × nc, column-major, each column from the first row of its block of four down), four
            // columns at a time so each vector of L is loaded once for four products; then scattered into j's panel
            for (int c0 = 0; c0 < nc; c0 += 4)
            {
                int bw = Math.Min(4, nc - c0), i = c0;
                if (bw == 4 && Vector256.IsHardwareAccelerated)
                {
                    double* w0 = w + c0 * wk, w1 = w0 + wk, w2 = w1 + wk, w3 = w2 + wk;
                    if (Wide.Accelerated) i = Wide.UpdateFour(lk, ldk, wk, w0, w1, w2, w3, c + c0 * m, m, i);
                    for (; i + 4 <= m; i += 4)
                    {
                        Vector256<double> a0 = Vector256<double>.Zero, a1 = a0, a2 = a0, a3 = a0;
                        double* l = lk + i;
                        for (int t = 0; t < wk; t++, l += ldk)
                        {
                            var v = *(Vector256<double>*)l;
                            a0 += v * Vector256.Create(w0[t]);
                            a1 += v * Vector256.Create(w1[t]);
                            a2 += v * Vector256.Create(w2[t]);
                            a3 += v * Vector256.Create(w3[t]);
                        }
                        double* cc = c + c0 * m + i;
                        *(Vector256<double>*)cc = a0;
                        *(Vector256<double>*)(cc + m) = a1;
                        *(Vector256<double>*)(cc + 2 * m) = a2;
                        *(Vector256<double>*)(cc + 3 * m) = a3;
                    }
                }
                else if (Vector256.IsHardwareAccelerated)
                    // one to three columns left: each column's products on its own, four rows at a time (the same
                    // products summed in the same order of t as the scalar loop below, lane by lane)
                    for (; i + 4 <= m; i += 4)
                        for (int b = 0; b < bw; b++)
                        {
                            double* wrow = w + (c0 + b) * wk;
                            Vector256<double> acc = Vector256<double>.Zero;
                            double* l = lk + i;
                            for (int t = 0; t < wk; t++, l += ldk) acc += *(Vector256<double>*)l * Vector256.Create(wrow[t]);
                            *(Vector256<double>*)(c + (c0 + b) * m + i) = acc;
                        }
                for (; i < m; i++)
                    for (int b = 0; b < bw; b++)
                    {
                        double* wrow = w + (c0 + b) * wk;
                        double sum = 0;
                        for (int t = 0; t < wk; t++) sum += lk[i + t * ldk] * wrow[t];
                        c[(c0 + b) * m + i] = sum;
                    }
                for (int b = 0; b < bw; b++)
                {
                    int ci = c0 + b;
                    double* tcol = target + rel[ci] * ldj;
                    double* col = c + ci * m;
                    for (int i2 = ci; i2 < m; i2++) tcol[rel[i2]] -= col[i2];
                }
            }
        }
        return p2;
    }

    /// <summary>Factorises supernode <paramref name="sn"/>'s panel densely (1×1 and 2×2 static pivots); returns the pivots perturbed.</summary>
    private unsafe int FactorPanel(int sn, double tiny)
    {
        int f = _first[sn], width = _first[sn + 1] - f, ld = width + _rowPtr[sn + 1] - _rowPtr[sn];
        int perturbed = 0;
        fixed (double* lxAll = _lx, d = _d, e = _e, w = _w)
        {
            double* b = lxAll + _base[sn];
            for (int t = 0; t < width; t++)
            {
                int k = f + t;
                double* col = b + t * ld;
                // the updates of the panel's earlier columns, applied to this column (and its block partner) only now:
                // left-looking inside the panel, each entry gets the same products in the same order as right-looking
                ApplyEarlierColumns(b, ld, f, t, t, d, e, w);
                if (_kind[k] == 1) ApplyEarlierColumns(b, ld, f, t + 1, t, d, e, w);
                if (_kind[k] == 1)
                {
                    double* col1 = col + ld;
                    double ds = col[t], es = col[t + 1], dk = col1[t + 1];
                    // singular to working precision: the determinant lost to cancellation, or below the tolerance squared
                    double det = ds * dk - es * es;
                    if (!(Math.Abs(det) > 64 * 2.220446049250313e-16 * (Math.Abs(ds * dk) + es * es)) || !(Math.Abs(det) > tiny * tiny))
                    {
                        // a nearly singular block: push both diagonals away from zero until |det| is of the tolerance's size
                        perturbed++;
                        ds = ds >= 0 ? ds + tiny : ds - tiny;
                        dk = dk >= 0 ? dk + tiny : dk - tiny;
                        if (!(Math.Abs(ds * dk - es * es) > tiny * tiny)) { ds = Math.Abs(es) + tiny; dk = -ds; }
                        det = ds * dk - es * es;
                    }
                    if (!double.IsFinite(ds)) throw new SingularMatrixException($"the pivot at step {k} (column {_perm[k]}) is not finite", _perm[k]);
                    if (!double.IsFinite(dk)) throw new SingularMatrixException($"the pivot at step {k + 1} (column {_perm[k + 1]}) is not finite", _perm[k + 1]);
                    d[k] = ds;
                    d[k + 1] = dk;
                    e[k] = es;
                    col[t + 1] = 0; // the block's coupling lives in D
                    int i = t + 2;
                    if (Vector256.IsHardwareAccelerated)
                    {
                        // the same operations as the scalar loop below, four rows at a time (no fused multiply-add)
                        Vector256<double> vdk = Vector256.Create(dk), ves = Vector256.Create(es), vds = Vector256.Create(ds), vdet = Vector256.Create(det);
                        for (; i + 4 <= ld; i += 4)
                        {
                            var ys = *(Vector256<double>*)(col + i);
                            var yi = *(Vector256<double>*)(col1 + i);
                            *(Vector256<double>*)(col + i) = (vdk * ys - ves * yi) / vdet;
                            *(Vector256<double>*)(col1 + i) = (vds * yi - ves * ys) / vdet;
                        }
                    }
                    for (; i < ld; i++)
                    {
                        double ys = col[i], yi = col1[i];
                        col[i] = (dk * ys - es * yi) / det;
                        col1[i] = (ds * yi - es * ys) / det;
                    }
                    t++;
                }
                else
                {
                    double dk = col[t];
                    if (!(Math.Abs(dk) > tiny))
                    {
                        perturbed++;
                        dk = dk < 0 ? -tiny : tiny;
                        if (tiny == 0) throw new SingularMatrixException($"zero pivot at step {k} (column {_perm[k]})", _perm[k]);
                    }
                    if (!double.IsFinite(dk)) throw new SingularMatrixException($"the pivot at step {k} (column {_perm[k]}) is not finite", _perm[k]);
                    d[k] = dk;
                    int i = t + 1;
                    if (Vector256.IsHardwareAccelerated)
                    {
                        var vdk = Vector256.Create(dk); // a division per entry as below, four at a time
                        for (; i + 4 <= ld; i += 4) *(Vector256<double>*)(col + i) /= vdk;
                    }
                    for (; i < ld; i++) col[i] /= dk;
                }
            }
        }
        return perturbed;
    }

    /// <summary>
    /// w = row·D over the <paramref name="count"/> columns from step <paramref name="f"/> (a row of L given by its first
    /// entry and the stride between columns): wₜ = L(·, t)·dₜ, or for a 2×2 block (t, t+1) the row times the block.
    /// </summary>
    private static unsafe void RowTimesD(double* row, int stride, int f, int count, double* d, double* e, byte* kind, double* w)
    {
        for (int t = 0; t < count; t++)
        {
            double l0 = row[t * stride];
            if (kind[f + t] == 1)
            {
                double l1 = row[(t + 1) * stride];
                w[t] = l0 * d[f + t] + l1 * e[f + t];
                w[t + 1] = l0 * e[f + t] + l1 * d[f + t + 1];
                t++;
            }
            else w[t] = l0 * d[f + t];
        }
    }

    /// <summary>
    /// Column u of a panel (rows u…ld−1) minus the updates of its first <paramref name="count"/> columns, each
    /// L(i, s)·W(u, s) with W = L·D on row u (a 2×2 block's two columns together), subtracted in the order of s — the
    /// products and the order a right-looking update gives, with each entry loaded and stored once.
    /// </summary>
    private unsafe void ApplyEarlierColumns(double* b, int ld, int f, int u, int count, double* d, double* e, double* w)
    {
        int n = count;
        if (n == 0) return;
        fixed (byte* kind = _kind) RowTimesD(b + u, ld, f, n, d, e, kind, w);
        double* pu = b + u * ld;
        int i = u;
        if (Wide.Accelerated) i = Wide.ApplyEarlier(b, ld, pu, w, n, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 4 <= ld; i += 4)
            {
                var acc = *(Vector256<double>*)(pu + i);
                for (int s = 0; s < n; s++)
                {
                    double a = w[s];
                    if (a != 0) acc -= Vector256.Create(a) * *(Vector256<double>*)(b + s * ld + i);
                }
                *(Vector256<double>*)(pu + i) = acc;
            }
        for (; i < ld; i++)
        {
            double y = pu[i];
            for (int s = 0; s < n; s++)
            {
                double a = w[s];
                if (a != 0) y -= a * b[s * ld + i];
            }
            pu[i] = y;
        }
    }

    /// <inheritdoc/>
    public unsafe void Solve(Span<double> b)
    {
        int n = N;
        if (b.Length != n) throw new ArgumentException("right-hand side has the wrong length");
        int ns = _first.Length - 1;
        fixed (double* w = _y, lx = _lx, d = _d, e = _e, tmp = _c, dots = _dots) // _y is zero between solves; restored below
        fixed (int* perm = _perm, first = _first, rowPtr = _rowPtr, rowsAll = _rows, bases = _base)
        fixed (byte* kind = _kind)
        {
            for (int k = 0; k < n; k++) w[k] = b[perm[k]];
            // forward: L's diagonal block column by column, then the rows below as one dense product, scattered once
            for (int sn = 0; sn < ns; sn++)
            {
                int f = first[sn], width = first[sn + 1] - f, r = rowPtr[sn + 1] - rowPtr[sn], ld = width + r;
                double* panel = lx + bases[sn];
                double* x = w + f;
                for (int t = 0; t < width; t++)
                {
                    double xt = x[t];
                    if (xt == 0) continue;
                    double* col = panel + t * ld;
                    for (int i = t + 1; i < width; i++) x[i] -= col[i] * xt;
                }
                if (r == 0) continue;
                int* rows = rowsAll + rowPtr[sn];
                if (width == 1)
                {
                    double x0 = x[0];
                    if (x0 == 0) continue;
                    double* col = panel + 1;
                    for (int q = 0; q < r; q++) w[rows[q]] -= col[q] * x0;
                    continue;
                }
                double* below = panel + width;
                int q0 = 0;
                if (Wide.Accelerated) q0 = Wide.ForwardBelow(below, ld, width, x, w, rows, r);
                if (Vector256.IsHardwareAccelerated)
                    for (; q0 + 4 <= r; q0 += 4)
                    {
                        var acc = Vector256<double>.Zero;
                        for (int t = 0; t < width; t++)
                            acc += *(Vector256<double>*)(below + t * ld + q0) * Vector256.Create(x[t]);
                        w[rows[q0]] -= Vector256.GetElement(acc, 0);
                        w[rows[q0 + 1]] -= Vector256.GetElement(acc, 1);
                        w[rows[q0 + 2]] -= Vector256.GetElement(acc, 2);
                        w[rows[q0 + 3]] -= Vector256.GetElement(acc, 3);
                    }
                for (; q0 < r; q0++)
                {
                    double acc = 0;
                    for (int t = 0; t < width; t++) acc += below[t * ld + q0] * x[t];
                    w[rows[q0]] -= acc;
                }
            }
            for (int k = 0; k < n; k++)
            {
                if (kind[k] == 1)
                {
                    double ds = d[k], di = d[k + 1], es = e[k], det = ds * di - es * es;
                    double w0 = w[k], w1 = w[k + 1];
                    w[k] = (di * w0 - es * w1) / det;
                    w[k + 1] = (ds * w1 - es * w0) / det;
                    k++;
                }
                else w[k] /= d[k];
            }
            // backward: the rows below gathered once, each column's product with them, then the diagonal block
            for (int sn = ns - 1; sn >= 0; sn--)
            {
                int f = first[sn], width = first[sn + 1] - f, r = rowPtr[sn + 1] - rowPtr[sn], ld = width + r;
                double* panel = lx + bases[sn];
                double* x = w + f;
                int* rows = rowsAll + rowPtr[sn];
                if (width == 1)
                {
                    double s1 = x[0];
                    double* col = panel + 1;
                    for (int q = 0; q < r; q++) s1 -= col[q] * w[rows[q]];
                    x[0] = s1;
                    continue;
                }
                for (int q = 0; q < r; q++) tmp[q] = w[rows[q]];
                // each column's product with the rows below does not depend on the diagonal block's solve: all of them
                // first, four columns at a time (tmp loaded once for four), each summed exactly as Dot sums it
                int t0 = 0;
                for (; t0 + 4 <= width; t0 += 4) Dot4(panel + t0 * ld + width, ld, tmp, r, dots + t0);
                for (; t0 < width; t0++) dots[t0] = Dot(panel + t0 * ld + width, tmp, r);
                for (int t = width - 1; t >= 0; t--)
                {
                    double* col = panel + t * ld;
                    double s = x[t] - dots[t];
                    for (int i = t + 1; i < width; i++) s -= col[i] * x[i];
                    x[t] = s;
                }
            }
            for (int k = 0; k < n; k++) { b[perm[k]] = w[k]; w[k] = 0; }
        }
    }

    /// <summary>
    /// <see cref="Dot"/> of four vectors x, x + stride, x + 2·stride, x + 3·stride with y into result[0..3], each summed in
    /// exactly Dot's way (the same lanes, the same horizontal sum, the same scalar tail).
    /// </summary>
    private static unsafe void Dot4(double* x, int stride, double* y, int length, double* result)
    {
        double* x1 = x + stride, x2 = x1 + stride, x3 = x2 + stride;
        int i = 0;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated && length >= 8)
        {
            Vector256<double> a0 = Vector256<double>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (; i + 4 <= length; i += 4)
            {
                var yv = *(Vector256<double>*)(y + i);
                a0 += *(Vector256<double>*)(x + i) * yv;
                a1 += *(Vector256<double>*)(x1 + i) * yv;
                a2 += *(Vector256<double>*)(x2 + i) * yv;
                a3 += *(Vector256<double>*)(x3 + i) * yv;
            }
            s0 = Vector256.Sum(a0);
            s1 = Vector256.Sum(a1);
            s2 = Vector256.Sum(a2);
            s3 = Vector256.Sum(a3);
        }
        for (; i < length; i++)
        {
            double yi = y[i];
            s0 += x[i] * yi;
            s1 += x1[i] * yi;
            s2 += x2[i] * yi;
            s3 += x3[i] * yi;
        }
        result[0] = s0;
        result[1] = s1;
        result[2] = s2;
        result[3] = s3;
    }

    /// <summary>xᵀ·y over <paramref name="length"/> entries, in SIMD registers.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe double Dot(double* x, double* y, int length)
    {
        int i = 0;
        double s = 0;
        if (Vector256.IsHardwareAccelerated && length >= 8)
        {
            var acc = Vector256<double>.Zero;
            for (; i + 4 <= length; i += 4)
                acc += *(Vector256<double>*)(x + i) * *(Vector256<double>*)(y + i); // pointer loads: ReadyToRun code does not inline Vector256.Load
            s = Vector256.Sum(acc);
        }
        for (; i < length; i++) s += x[i] * y[i];
        return s;
    }
}

/// <summary>
/// The 512-bit kernels of <see cref="SparseLdl"/> (each lane the scalar loop's operations in its order, as the 256-bit ones).
/// They sit apart, behind a flag read at run time, because ReadyToRun code compiled for x86-64-v3 that asks
/// <c>Vector512.IsHardwareAccelerated</c> is rejected at start-up on a processor with AVX-512: the whole method — the
/// factorisation's update, the panel's left-looking step, the solve — then ran as unoptimised tier-0 code in a cold
/// process (seen with <c>DOTNET_JitDisasmSummary=1</c>: `opf --model ac` 0.63 s instead of 0.45 s). Here only these small
/// methods are compiled by the JIT, fully optimised at their first call, and only where AVX-512 exists.
/// </summary>
internal static class Wide
{
    public static readonly bool Accelerated = Vector512.IsHardwareAccelerated;

    /// <summary>Rows i.. (eight at a time) of the four columns C(:, 0..3) = L(R, :)·[w0 w1 w2 w3]ᵀ; returns the first row left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe int UpdateFour(double* lk, int ldk, int wk, double* w0, double* w1, double* w2, double* w3, double* c, int m, int i)
    {
        for (; i + 8 <= m; i += 8)
        {
            Vector512<double> a0 = Vector512<double>.Zero, a1 = a0, a2 = a0, a3 = a0;
            double* l = lk + i;
            for (int t = 0; t < wk; t++, l += ldk)
            {
                var v = *(Vector512<double>*)l;
                a0 += v * Vector512.Create(w0[t]);
                a1 += v * Vector512.Create(w1[t]);
                a2 += v * Vector512.Create(w2[t]);
                a3 += v * Vector512.Create(w3[t]);
            }
            double* cc = c + i;
            *(Vector512<double>*)cc = a0;
            *(Vector512<double>*)(cc + m) = a1;
            *(Vector512<double>*)(cc + 2 * m) = a2;
            *(Vector512<double>*)(cc + 3 * m) = a3;
        }
        return i;
    }

    /// <summary>Rows i.. (eight at a time) of column pu minus the earlier columns of the panel times w; returns the first row left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe int ApplyEarlier(double* b, int ld, double* pu, double* w, int n, int i)
    {
        for (; i + 8 <= ld; i += 8)
        {
            var acc = *(Vector512<double>*)(pu + i);
            for (int s = 0; s < n; s++)
            {
                double a = w[s];
                if (a != 0) acc -= Vector512.Create(a) * *(Vector512<double>*)(b + s * ld + i);
            }
            *(Vector512<double>*)(pu + i) = acc;
        }
        return i;
    }

    /// <summary>The rows below a panel (eight at a time) times the panel's solution, subtracted from w; returns the first row left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe int ForwardBelow(double* below, int ld, int width, double* x, double* w, int* rows, int r)
    {
        int q0 = 0;
        for (; q0 + 8 <= r; q0 += 8)
        {
            var acc = Vector512<double>.Zero;
            for (int t = 0; t < width; t++)
                acc += *(Vector512<double>*)(below + t * ld + q0) * Vector512.Create(x[t]);
            for (int lane = 0; lane < 8; lane++) w[rows[q0 + lane]] -= acc.GetElement(lane);
        }
        return q0;
    }
}
