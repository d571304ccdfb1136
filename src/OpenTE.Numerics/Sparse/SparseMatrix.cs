namespace OpenTE.Numerics.Sparse;

/// <summary>
/// A real sparse matrix in compressed-sparse-column form: row indices sorted within each column, no
/// duplicates. Explicit zeros are kept, so a Jacobian's pattern stays fixed while its values change;
/// <see cref="Values"/> may be updated in place for that purpose (see <see cref="SetValuesFromTriplets"/>).
/// The shape and pattern are fixed once built.
/// </summary>
public sealed class SparseMatrix
{
    public int Rows { get; }
    public int Cols { get; }
    public int[] ColPtr { get; }
    public int[] RowIdx { get; }
    public double[] Values { get; }
    public int Nnz => ColPtr[Cols];

    /// <summary>
    /// Wraps CSC arrays without copying. The caller promises row indices sorted and distinct within each
    /// column and in range (only the array lengths are checked here).
    /// </summary>
    public SparseMatrix(int rows, int cols, int[] colPtr, int[] rowIdx, double[] values)
    {
        ArgumentNullException.ThrowIfNull(colPtr);
        ArgumentNullException.ThrowIfNull(rowIdx);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (colPtr.Length != cols + 1) throw new ArgumentException("colPtr must have cols + 1 entries");
        if (rowIdx.Length < colPtr[cols] || values.Length < colPtr[cols]) throw new ArgumentException("rowIdx/values shorter than nnz");
        Rows = rows;
        Cols = cols;
        ColPtr = colPtr;
        RowIdx = rowIdx;
        Values = values;
    }

    public static SparseMatrix FromTriplets(int rows, int cols, ReadOnlySpan<int> rowIdx, ReadOnlySpan<int> colIdx, ReadOnlySpan<double> values) =>
        FromTriplets(rows, cols, rowIdx, colIdx, values, out _);

    /// <summary>
    /// Builds from triplets, summing duplicates and keeping explicit zeros. <paramref name="tripletToSlot"/>
    /// maps triplet k to its position in <see cref="Values"/>, so a caller can refill values of the same
    /// pattern in O(nnz): <c>Values[tripletToSlot[k]] += v_k</c> after clearing.
    /// </summary>
    public static SparseMatrix FromTriplets(int rows, int cols, ReadOnlySpan<int> rowIdx, ReadOnlySpan<int> colIdx,
        ReadOnlySpan<double> values, out int[] tripletToSlot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        int nz = rowIdx.Length;
        if (colIdx.Length != nz || values.Length != nz) throw new ArgumentException("triplet arrays differ in length");
        var count = new int[cols + 1];
        for (int k = 0; k < nz; k++)
        {
            int i = rowIdx[k], j = colIdx[k];
            if ((uint)i >= (uint)rows || (uint)j >= (uint)cols)
                throw new ArgumentOutOfRangeException(nameof(rowIdx), $"triplet {k} ({i}, {j}) is outside a {rows}x{cols} matrix");
            count[j + 1]++;
        }
        for (int j = 0; j < cols; j++) count[j + 1] += count[j];
        // bucket by column, then by row with a second counting pass (stable, O(nnz + rows + cols))
        var byRowCount = new int[rows + 1];
        for (int k = 0; k < nz; k++) byRowCount[rowIdx[k] + 1]++;
        for (int i = 0; i < rows; i++) byRowCount[i + 1] += byRowCount[i];
        var rowOrder = new int[nz];
        var next = (int[])byRowCount.Clone();
        for (int k = 0; k < nz; k++) rowOrder[next[rowIdx[k]]++] = k;
        // traversing triplets in row order and placing them by column gives row-sorted columns
        var colNext = (int[])count.Clone();
        var sorted = new int[nz];
        foreach (int k in rowOrder) sorted[colNext[colIdx[k]]++] = k;
        var colPtr = new int[cols + 1];
        var ri = new int[nz];
        var vals = new double[nz];
        tripletToSlot = new int[nz];
        int w = 0;
        for (int j = 0; j < cols; j++)
        {
            colPtr[j] = w;
            int lastRow = -1;
            for (int p = count[j]; p < count[j + 1]; p++)
            {
                int k = sorted[p];
                if (rowIdx[k] == lastRow)
                {
                    vals[w - 1] += values[k];
                    tripletToSlot[k] = w - 1;
                    continue;
                }
                lastRow = rowIdx[k];
                ri[w] = lastRow;
                vals[w] = values[k];
                tripletToSlot[k] = w;
                w++;
            }
        }
        colPtr[cols] = w;
        if (w < nz)
        {
            // (copied by hand: Array.Resize<T> is a generic helper the JIT compiles at its first call in a CLI process)
            var riShort = new int[w];
            var valsShort = new double[w];
            Array.Copy(ri, riShort, w);
            Array.Copy(vals, valsShort, w);
            (ri, vals) = (riShort, valsShort);
        }
        return new SparseMatrix(rows, cols, colPtr, ri, vals);
    }

    /// <summary>
    /// Refills <see cref="Values"/> from triplet values of the pattern this matrix was built from:
    /// clears them, then <c>Values[tripletToSlot[k]] += values[k]</c> (duplicates summed), in O(nnz).
    /// </summary>
    public void SetValuesFromTriplets(ReadOnlySpan<int> tripletToSlot, ReadOnlySpan<double> values)
    {
        if (tripletToSlot.Length != values.Length)
            throw new ArgumentException($"{tripletToSlot.Length} slots for {values.Length} values");
        var v = Values.AsSpan(0, Nnz);
        v.Clear();
        for (int k = 0; k < values.Length; k++) v[tripletToSlot[k]] += values[k];
    }

    public static SparseMatrix Identity(int n)
    {
        var cp = new int[n + 1];
        var ri = new int[n];
        var v = new double[n];
        for (int i = 0; i < n; i++) { cp[i + 1] = i + 1; ri[i] = i; v[i] = 1; }
        return new SparseMatrix(n, n, cp, ri, v);
    }

    public static SparseMatrix FromDense(double[,] a)
    {
        var b = new TripletBuilder(a.GetLength(0), a.GetLength(1));
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++)
                if (a[i, j] != 0) b.Add(i, j, a[i, j]);
        return b.ToCsc();
    }

    /// <summary>Dense copy, for tests and small cases only.</summary>
    public double[,] ToDense()
    {
        var d = new double[Rows, Cols];
        for (int j = 0; j < Cols; j++)
            for (int p = ColPtr[j]; p < ColPtr[j + 1]; p++) d[RowIdx[p], j] += Values[p];
        return d;
    }

    /// <summary>Entry (i, j) by binary search in column j; 0 when not stored.</summary>
    public double this[int i, int j]
    {
        get
        {
            if ((uint)i >= (uint)Rows || (uint)j >= (uint)Cols)
                throw new ArgumentOutOfRangeException(nameof(i), $"({i}, {j}) is outside a {Rows}x{Cols} matrix");
            int p = Array.BinarySearch(RowIdx, ColPtr[j], ColPtr[j + 1] - ColPtr[j], i);
            return p >= 0 ? Values[p] : 0;
        }
    }

    /// <summary>y = A·x.</summary>
    public void Multiply(ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length < Cols || y.Length < Rows) throw new ArgumentException("vector length does not match the matrix");
        y[..Rows].Clear();
        MultiplyAdd(x, y);
    }

    /// <summary>y += A·x.</summary>
    public void MultiplyAdd(ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length < Cols || y.Length < Rows) throw new ArgumentException("vector length does not match the matrix");
        int[] colPtr = ColPtr, rowIdx = RowIdx; // locals: the JIT cannot keep the fields in registers across the stores into y
        double[] values = Values;
        for (int j = 0; j < Cols; j++)
        {
            double xj = x[j];
            if (xj == 0) continue;
            for (int p = colPtr[j], end = colPtr[j + 1]; p < end; p++) y[rowIdx[p]] += values[p] * xj;
        }
    }

    /// <summary>y = Aᵀ·x.</summary>
    public void MultiplyTranspose(ReadOnlySpan<double> x, Span<double> y)
    {
        if (x.Length < Rows || y.Length < Cols) throw new ArgumentException("vector length does not match the matrix");
        int[] colPtr = ColPtr, rowIdx = RowIdx;
        double[] values = Values;
        for (int j = 0; j < Cols; j++)
        {
            double s = 0;
            for (int p = colPtr[j], end = colPtr[j + 1]; p < end; p++) s += values[p] * x[rowIdx[p]];
            y[j] = s;
        }
    }

    public SparseMatrix Transpose()
    {
        var count = new int[Rows + 1];
        for (int p = 0; p < Nnz; p++) count[RowIdx[p] + 1]++;
        for (int i = 0; i < Rows; i++) count[i + 1] += count[i];
        var next = (int[])count.Clone();
        var ri = new int[Nnz];
        var v = new double[Nnz];
        for (int j = 0; j < Cols; j++)
            for (int p = ColPtr[j]; p < ColPtr[j + 1]; p++)
            {
                int q = next[RowIdx[p]]++;
                ri[q] = j;
                v[q] = Values[p];
            }
        return new SparseMatrix(Cols, Rows, count, ri, v);
    }

    /// <summary>α·A (same pattern, new arrays).</summary>
    public SparseMatrix Scale(double alpha)
    {
        var v = new double[Nnz];
        for (int p = 0; p < v.Length; p++) v[p] = alpha * Values[p];
        return new SparseMatrix(Rows, Cols, (int[])ColPtr.Clone(), RowIdx[..Nnz], v);
    }

    /// <summary>α·A + β·B (same shape); the pattern is the union of both (entries that cancel stay as explicit zeros).</summary>
    public SparseMatrix Add(SparseMatrix other, double alpha = 1, double beta = 1)
    {
        if (other.Rows != Rows || other.Cols != Cols) throw new ArgumentException("shapes differ");
        var b = new TripletBuilder(Rows, Cols, Nnz + other.Nnz);
        for (int j = 0; j < Cols; j++)
        {
            for (int p = ColPtr[j]; p < ColPtr[j + 1]; p++) b.Add(RowIdx[p], j, alpha * Values[p]);
            for (int p = other.ColPtr[j]; p < other.ColPtr[j + 1]; p++) b.Add(other.RowIdx[p], j, beta * other.Values[p]);
        }
        return b.ToCsc();
    }

    /// <summary>A·B (sparse × sparse), structural pattern kept.</summary>
    public SparseMatrix Multiply(SparseMatrix other)
    {
        if (Cols != other.Rows) throw new ArgumentException("inner dimensions differ");
        var cp = new int[other.Cols + 1];
        var ri = new List<int>(Nnz + other.Nnz);
        var vals = new List<double>(Nnz + other.Nnz);
        var mark = new int[Rows];
        Arrays.Fill(mark, -1);
        var acc = new double[Rows];
        var rows = new List<int>();
        for (int j = 0; j < other.Cols; j++)
        {
            rows.Clear();
            for (int p = other.ColPtr[j]; p < other.ColPtr[j + 1]; p++)
            {
                int k = other.RowIdx[p];
                double b = other.Values[p];
                for (int q = ColPtr[k]; q < ColPtr[k + 1]; q++)
                {
                    int i = RowIdx[q];
                    if (mark[i] != j) { mark[i] = j; acc[i] = 0; rows.Add(i); }
                    acc[i] += Values[q] * b;
                }
            }
            rows.Sort();
            foreach (int i in rows) { ri.Add(i); vals.Add(acc[i]); }
            cp[j + 1] = ri.Count;
        }
        return new SparseMatrix(Rows, other.Cols, cp, [.. ri], [.. vals]);
    }

    /// <summary>
    /// The submatrix of the listed rows and columns, in the order given (an index may be listed more than
    /// once; it is then repeated).
    /// </summary>
    public SparseMatrix SubMatrix(int[] rows, int[] cols)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(cols);
        // new positions of each original row, as linked lists (usually one entry each)
        var first = new int[Rows];
        Arrays.Fill(first, -1);
        var nextPos = new int[rows.Length];
        for (int k = rows.Length - 1; k >= 0; k--)
        {
            int r = rows[k];
            if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} (entry {k}) is outside 0..{Rows - 1}");
            nextPos[k] = first[r];
            first[r] = k;
        }
        var b = new TripletBuilder(rows.Length, cols.Length, Math.Max(16, Nnz / Math.Max(1, Cols) * cols.Length));
        for (int c = 0; c < cols.Length; c++)
        {
            int j = cols[c];
            if ((uint)j >= (uint)Cols) throw new ArgumentOutOfRangeException(nameof(cols), $"column {j} (entry {c}) is outside 0..{Cols - 1}");
            for (int p = ColPtr[j]; p < ColPtr[j + 1]; p++)
                for (int k = first[RowIdx[p]]; k >= 0; k = nextPos[k]) b.Add(k, c, Values[p]);
        }
        return b.ToCsc();
    }

    public bool SamePattern(SparseMatrix other) =>
        Rows == other.Rows && Cols == other.Cols && Nnz == other.Nnz &&
        ColPtr.AsSpan().SequenceEqual(other.ColPtr) && RowIdx.AsSpan(0, Nnz).SequenceEqual(other.RowIdx.AsSpan(0, other.Nnz));

    /// <summary>Largest absolute row sum (∞-norm).</summary>
    public double NormInf()
    {
        var s = new double[Rows];
        for (int p = 0; p < Nnz; p++) s[RowIdx[p]] += Math.Abs(Values[p]);
        return Rows == 0 ? 0 : s.Max();
    }
}

/// <summary>Collects (row, column, value) triplets and turns them into a <see cref="SparseMatrix"/>.</summary>
public sealed class TripletBuilder(int rows, int cols, int capacity = 16)
{
    // indices are checked when the matrix is built (ToCsc), which names the offending triplet
    private int[] _i = new int[Math.Max(capacity, 4)];
    private int[] _j = new int[Math.Max(capacity, 4)];
    private double[] _v = new double[Math.Max(capacity, 4)];

    public int Rows { get; } = rows;
    public int Cols { get; } = cols;
    public int Count { get; private set; }

    public void Add(int i, int j, double v)
    {
        if (Count == _i.Length)
        {
            int size = 2 * _i.Length;
            var i2 = new int[size];
            var j2 = new int[size];
            var v2 = new double[size];
            Array.Copy(_i, i2, Count);
            Array.Copy(_j, j2, Count);
            Array.Copy(_v, v2, Count);
            (_i, _j, _v) = (i2, j2, v2);
        }
        _i[Count] = i;
        _j[Count] = j;
        _v[Count] = v;
        Count++;
    }

    public void Clear() => Count = 0;

    public ReadOnlySpan<int> RowIndices => _i.AsSpan(0, Count);
    public ReadOnlySpan<int> ColIndices => _j.AsSpan(0, Count);
    /// <summary>The values added so far, in order (for <see cref="SparseMatrix.SetValuesFromTriplets"/>).</summary>
    public ReadOnlySpan<double> Values => _v.AsSpan(0, Count);

    /// <summary>Builds the matrix (duplicates summed, explicit zeros kept).</summary>
    public SparseMatrix ToCsc() => SparseMatrix.FromTriplets(Rows, Cols, RowIndices, ColIndices, Values);

    /// <summary>
    /// Builds the matrix and the map from each added triplet to its slot in <see cref="SparseMatrix.Values"/>:
    /// after <see cref="Clear"/> and adding the same (i, j) sequence with new values,
    /// <c>matrix.SetValuesFromTriplets(tripletToSlot, builder.Values)</c> refills the matrix in O(nnz).
    /// </summary>
    public SparseMatrix ToCsc(out int[] tripletToSlot) =>
        SparseMatrix.FromTriplets(Rows, Cols, RowIndices, ColIndices, Values, out tripletToSlot);
}
