using System.Runtime.CompilerServices;

namespace OpenTE.Numerics.Sparse;

/// <summary>
/// Assembles a sparse matrix whose pattern is fixed: every pass (<see cref="Begin"/>, <see cref="Add"/>…,
/// <see cref="Finish"/>) adds the same sequence of (row, column, value) entries, duplicates summed. The first
/// pass builds the CSC pattern and maps each entry to its slot in <see cref="SparseMatrix.Values"/>; later
/// passes only scatter the values through that map, O(entries) with no sorting, so the pattern arrays stay the
/// same objects and a <see cref="SparseLU"/> can refactorise on its symbolic analysis. Used for the power-flow
/// Jacobian, the AC OPF's derivatives and the interior point's KKT matrix.
/// </summary>
public sealed class SparseAssembler
{
    private readonly bool _patternMayChange;
    private int[] _rows = new int[16], _cols = new int[16];
    private double[] _vals = new double[16];
    private int _count;
    private int[]? _slot;
    private int[]? _patternRows, _patternCols;
    private bool _record = true;

    /// <param name="rows">Rows of the matrix.</param>
    /// <param name="cols">Columns of the matrix.</param>
    /// <param name="patternMayChange">
    /// false (a program whose pattern is fixed by contract): after the first pass only the number of entries is
    /// checked and a different number throws. true (a consumer of matrices it does not own): every pass records
    /// its (row, column) sequence and a different sequence builds a new pattern (<see cref="Rebuilt"/>).
    /// </param>
    public SparseAssembler(int rows, int cols, bool patternMayChange = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        Rows = rows;
        Cols = cols;
        _patternMayChange = patternMayChange;
    }

    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Entries added in the current pass.</summary>
    public int Count => _count;
    /// <summary>The last assembled matrix (null before the first <see cref="Finish"/>).</summary>
    public SparseMatrix? Matrix { get; private set; }
    /// <summary>Whether the last <see cref="Finish"/> built a new pattern (a factorisation must start afresh).</summary>
    public bool Rebuilt { get; private set; }

    /// <summary>Starts a pass.</summary>
    public void Begin()
    {
        _count = 0;
        _record = _slot is null || _patternMayChange;
    }

    /// <summary>Adds value at (row, column); entries at the same position are summed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int row, int col, double value)
    {
        if (_count == _vals.Length) Grow();
        if (_record)
        {
            _rows[_count] = row;
            _cols[_count] = col;
        }
        _vals[_count++] = value;
    }

    private void Grow()
    {
        int size = 2 * _vals.Length;
        Array.Resize(ref _vals, size);
        Array.Resize(ref _rows, size);
        Array.Resize(ref _cols, size);
    }

    /// <summary>
    /// Ends the pass. With <paramref name="newValues"/> false the values are written into <see cref="Matrix"/> in
    /// place; with true a new matrix sharing the pattern arrays gets its own value array (for callers that keep
    /// the previous matrix, or tell an updated matrix from the last one by reference).
    /// </summary>
    public SparseMatrix Finish(bool newValues = false)
    {
        if (_slot is null || (_patternMayChange && !SamePattern()))
        {
            if (_slot is not null && !_patternMayChange)
                throw new InvalidOperationException($"{_count} entries where the pattern has {_slot.Length}: the sparsity pattern changed between passes");
            Matrix = SparseMatrix.FromTriplets(Rows, Cols, _rows.AsSpan(0, _count), _cols.AsSpan(0, _count), _vals.AsSpan(0, _count), out _slot);
            if (_patternMayChange)
            {
                _patternRows = _rows[.._count];
                _patternCols = _cols[.._count];
            }
            Rebuilt = true;
            return Matrix;
        }
        if (_count != _slot.Length)
            throw new InvalidOperationException($"{_count} entries where the pattern has {_slot.Length}: the sparsity pattern changed between passes");
        Rebuilt = false;
        var m = Matrix!;
        var values = newValues ? new double[m.Nnz] : m.Values;
        if (!newValues) Array.Clear(values);
        var slot = _slot;
        for (int k = 0; k < _count; k++) values[slot[k]] += _vals[k];
        if (newValues) Matrix = m = new SparseMatrix(Rows, Cols, m.ColPtr, m.RowIdx, values);
        return m;
    }

    private bool SamePattern() =>
        _patternRows!.Length == _count &&
        _rows.AsSpan(0, _count).SequenceEqual(_patternRows) && _cols.AsSpan(0, _count).SequenceEqual(_patternCols);
}
