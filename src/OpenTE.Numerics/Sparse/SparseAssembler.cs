using System.Runtime.CompilerServices;

namespace OpenTE.Numerics.Sparse;

/// <summary>
/// Assembles a sparse matrix whose pattern is fixed: every pass (<see cref="Begin"/>, <see cref="Add"/>…,
/// <see cref="Finish"/>) adds the same sequence of (row, column, value) entries, duplicates summed. The first
/// pass builds the CSC pattern and maps each entry to its slot in <see cref="SparseMatrix.Values"/>; later
/// passes add each value straight into its precomputed slot, O(entries) with no sorting, so the pattern arrays
/// stay the same objects and a <see cref="SparseLU"/> can refactorise on its symbolic analysis. Used for the
/// power-flow Jacobian, the AC OPF's derivatives and the interior point's KKT matrix.
/// </summary>
public sealed class SparseAssembler
{
    private readonly bool _patternMayChange, _newValues;
    // first pass (and every pass of a pattern that may change): the entries, to build or compare the pattern
    private int[] _rows, _cols;
    private double[] _vals;
    private int _count;
    private int[]? _slot;                      // entry k → its position in the values
    private int[]? _patternRows, _patternCols;
    // later passes of a fixed pattern: values go straight into their slots of _target
    private bool _direct;
    private double[]? _target;

    /// <param name="rows">Rows of the matrix.</param>
    /// <param name="cols">Columns of the matrix.</param>
    /// <param name="patternMayChange">
    /// false (a program whose pattern is fixed by contract): after the first pass each value goes straight into its
    /// slot and a pass with another number of entries throws. true (a consumer of matrices it does not own): every
    /// pass records its (row, column) sequence and a different sequence builds a new pattern (<see cref="Rebuilt"/>).
    /// </param>
    /// <param name="newValues">
    /// false: each pass refills <see cref="Matrix"/> in place. true: each pass returns a new matrix sharing the
    /// pattern arrays with its own values (for callers that keep the previous matrix, or tell a new one from the
    /// last by reference).
    /// </param>
    /// <param name="capacity">Expected entries per pass (the buffers grow past it).</param>
    public SparseAssembler(int rows, int cols, bool patternMayChange = false, bool newValues = false, int capacity = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        capacity = Math.Max(capacity, 16);
        _rows = new int[capacity];
        _cols = new int[capacity];
        _vals = new double[capacity];
        Rows = rows;
        Cols = cols;
        _patternMayChange = patternMayChange;
        _newValues = newValues;
    }

    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Entries added in the current pass.</summary>
    public int Count => _count;
    /// <summary>The last assembled matrix (null before the first <see cref="Finish"/>).</summary>
    public SparseMatrix? Matrix { get; private set; }
    /// <summary>Whether the last <see cref="Finish"/> built a new pattern (a factorisation must start afresh).</summary>
    public bool Rebuilt { get; private set; }

    /// <summary>Starts a pass (in place: the values of <see cref="Matrix"/> are cleared).</summary>
    public void Begin()
    {
        _count = 0;
        _direct = _slot is not null && !_patternMayChange;
        if (!_direct) return;
        var m = Matrix!;
        if (_newValues) _target = new double[m.Nnz];
        else
        {
            _target = m.Values;
            Array.Clear(_target, 0, m.Nnz);
        }
    }

    /// <summary>Adds value at (row, column); entries at the same position are summed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int row, int col, double value)
    {
        if (_direct)
        {
            var slot = _slot!;
            if ((uint)_count >= (uint)slot.Length) ThrowPatternChanged(_count + 1);
            _target![slot[_count++]] += value;
            return;
        }
        if (_count == _vals.Length) Grow();
        _rows[_count] = row;
        _cols[_count] = col;
        _vals[_count++] = value;
    }

    private void Grow()
    {
        int size = 2 * _vals.Length;
        Array.Resize(ref _vals, size);
        Array.Resize(ref _rows, size);
        Array.Resize(ref _cols, size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowPatternChanged(int count) =>
        throw new InvalidOperationException($"{count} entries where the pattern has {_slot!.Length}: the sparsity pattern changed between passes");

    /// <summary>Ends the pass and returns the matrix (<see cref="Matrix"/>).</summary>
    public SparseMatrix Finish()
    {
        if (_direct)
        {
            if (_count != _slot!.Length) ThrowPatternChanged(_count);
            Rebuilt = false;
            if (_newValues) Matrix = new SparseMatrix(Rows, Cols, Matrix!.ColPtr, Matrix.RowIdx, _target!);
            _target = null;
            return Matrix!;
        }
        if (_slot is not null && SamePattern())
        {
            // a pattern that may change, unchanged: scatter the recorded values
            Rebuilt = false;
            var m = Matrix!;
            var values = _newValues ? new double[m.Nnz] : m.Values;
            if (!_newValues) Array.Clear(values);
            var slot = _slot;
            for (int k = 0; k < _count; k++) values[slot[k]] += _vals[k];
            if (_newValues) Matrix = m = new SparseMatrix(Rows, Cols, m.ColPtr, m.RowIdx, values);
            return m;
        }
        Matrix = SparseMatrix.FromTriplets(Rows, Cols, _rows.AsSpan(0, _count), _cols.AsSpan(0, _count), _vals.AsSpan(0, _count), out _slot);
        if (_patternMayChange)
        {
            _patternRows = _rows[.._count];
            _patternCols = _cols[.._count];
        }
        Rebuilt = true;
        return Matrix;
    }

    private bool SamePattern() =>
        _patternRows!.Length == _count &&
        _rows.AsSpan(0, _count).SequenceEqual(_patternRows) && _cols.AsSpan(0, _count).SequenceEqual(_patternCols);
}
