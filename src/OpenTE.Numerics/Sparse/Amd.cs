namespace OpenTE.Numerics.Sparse;

/// <summary>
/// Approximate minimum degree ordering (Amestoy, Davis and Duff, 1996) of the symmetric pattern A + Aᵀ.
/// <para>
/// The elimination graph is never formed. A quotient graph holds, for every uneliminated (super)variable,
/// the list of elements (eliminated pivots, each standing for the clique its elimination created) it belongs
/// to and the list of variables it is still directly adjacent to; for every element, the variables of its
/// clique. Eliminating a pivot merges its elements into one new element (element absorption), so storage
/// never grows beyond the original pattern plus one list per pivot. Instead of exact degrees, each touched
/// variable gets the cheap upper bound d(i) ≤ |A_i| + |L_p \ i| + Σ_e |L_e \ L_p|, where the set
/// differences |L_e \ L_p| come from one pass over the new element's variables. Elements swallowed by the
/// new element are absorbed aggressively, variables whose only neighbour is the new element are eliminated
/// with it (mass elimination), and variables with identical adjacency are merged into supervariables,
/// found by hashing their lists.
/// </para>
/// <para>
/// Nodes of very high degree (more than max(16, <c>denseFactor</c>·√n) neighbours, e.g. the hub of an
/// arrow matrix or a dense KKT constraint row) are removed before ordering and placed last.
/// </para>
/// </summary>
public static class Amd
{
    private const int Variable = 0, Element = 1, Absorbed = 2, Merged = 3, Dense = 4;

    /// <summary>Orders a square matrix by the pattern of A + Aᵀ; perm[k] = original index eliminated k-th.</summary>
    public static int[] Order(SparseMatrix a)
    {
        if (a.Rows != a.Cols) throw new ArgumentException($"AMD needs a square matrix, got {a.Rows}x{a.Cols}");
        return Order(a.Cols, a.ColPtr, a.RowIdx);
    }

    /// <summary>
    /// Orders the pattern of A + Aᵀ for an n×n pattern in compressed columns (the diagonal and duplicate
    /// entries are ignored; row indices need not be sorted). Returns perm with perm[k] = the original index
    /// placed k-th.
    /// </summary>
    /// <param name="denseFactor">Nodes with more than max(16, denseFactor·√n) neighbours are ordered last; a
    /// negative value turns this off.</param>
    public static int[] Order(int n, int[] colPtr, int[] rowIdx, double denseFactor = 10.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentNullException.ThrowIfNull(colPtr);
        ArgumentNullException.ThrowIfNull(rowIdx);
        if (colPtr.Length < n + 1) throw new ArgumentException($"colPtr has {colPtr.Length} entries, expected {n + 1}");
        if (colPtr[0] != 0) throw new ArgumentException("colPtr[0] must be 0");
        for (int j = 0; j < n; j++)
            if (colPtr[j + 1] < colPtr[j]) throw new ArgumentException($"colPtr decreases at column {j}");
        if (colPtr[n] > rowIdx.Length) throw new ArgumentException("rowIdx is shorter than colPtr[n]");
        if (n == 0) return [];

        var state = new Quotient(n);
        state.Build(colPtr, rowIdx, denseFactor);
        return state.Run();
    }

    /// <summary>The quotient graph and all work arrays of one ordering run.</summary>
    private sealed class Quotient
    {
        private readonly int _n;
        // node lists: for a variable, elements first (elen of them) then variables; for an element, its variables
        private readonly int[]?[] _list;
        private readonly int[] _len, _elen;
        private readonly int[] _status;
        private readonly int[] _nv;         // supervariable weight (principal variables), 0 otherwise
        private readonly int[] _degree;     // variable: approximate external degree; element: weight of its variables
        // degree buckets (doubly linked)
        private readonly int[] _head, _next, _prev;
        private int _minDeg;
        // members eliminated together with a principal variable (itself first)
        private readonly int[] _chainNext, _chainTail;
        // per-step marks and values
        private readonly int[] _inLp, _wStamp, _w, _partial, _cmpMark;
        private readonly long[] _hashFull;
        private readonly int[] _hashHead, _hashNext, _usedBuckets;
        private readonly int[] _lp, _tmp;
        private int _cmpStamp;
        private readonly List<int> _dense = [];

        public Quotient(int n)
        {
            _n = n;
            _list = new int[]?[n];
            _len = new int[n];
            _elen = new int[n];
            _status = new int[n];
            _nv = new int[n];
            _degree = new int[n];
            _head = new int[n + 1];
            _next = new int[n];
            _prev = new int[n];
            _chainNext = new int[n];
            _chainTail = new int[n];
            _inLp = new int[n];
            _wStamp = new int[n];
            _w = new int[n];
            _partial = new int[n];
            _cmpMark = new int[n];
            _hashFull = new long[n];
            _hashHead = new int[n];
            _hashNext = new int[n];
            _usedBuckets = new int[n];
            _lp = new int[n];
            _tmp = new int[n];
        }

        /// <summary>Adjacency of A + Aᵀ without diagonal and duplicates; dense nodes set aside.</summary>
        public void Build(int[] colPtr, int[] rowIdx, double denseFactor)
        {
            int n = _n;
            var count = new int[n];
            for (int j = 0; j < n; j++)
                for (int p = colPtr[j]; p < colPtr[j + 1]; p++)
                {
                    int i = rowIdx[p];
                    if ((uint)i >= (uint)n) throw new ArgumentException($"row index {i} at position {p} is outside an {n}x{n} pattern");
                    if (i == j) continue;
                    count[i]++;
                    count[j]++;
                }
            for (int i = 0; i < n; i++) _list[i] = new int[count[i]];
            Array.Clear(count);
            for (int j = 0; j < n; j++)
                for (int p = colPtr[j]; p < colPtr[j + 1]; p++)
                {
                    int i = rowIdx[p];
                    if (i == j) continue;
                    _list[i]![count[i]++] = j;
                    _list[j]![count[j]++] = i;
                }
            // remove duplicates (a marker per node)
            var mark = _cmpMark;
            Arrays.Fill(mark, -1);
            for (int i = 0; i < n; i++)
            {
                var li = _list[i]!;
                int w = 0;
                for (int t = 0; t < count[i]; t++)
                {
                    int j = li[t];
                    if (mark[j] == i) continue;
                    mark[j] = i;
                    li[w++] = j;
                }
                _len[i] = w;
            }
            Array.Clear(mark);
            // dense nodes leave the graph and are ordered last
            double threshold = denseFactor < 0 ? double.PositiveInfinity : Math.Max(16.0, denseFactor * Math.Sqrt(n));
            bool anyDense = false;
            for (int i = 0; i < n; i++)
                if (_len[i] > threshold && _len[i] > 0)
                {
                    _status[i] = Dense;
                    _dense.Add(i);
                    anyDense = true;
                }
            if (anyDense)
                for (int i = 0; i < n; i++)
                {
                    if (_status[i] == Dense) { _list[i] = null; _len[i] = 0; continue; }
                    var li = _list[i]!;
                    int w = 0;
                    for (int t = 0; t < _len[i]; t++)
                        if (_status[li[t]] != Dense) li[w++] = li[t];
                    _len[i] = w;
                }

            Arrays.Fill(_head, -1);
            Arrays.Fill(_hashHead, -1);
            for (int i = 0; i < n; i++)
            {
                _chainNext[i] = -1;
                _chainTail[i] = i;
                if (_status[i] == Dense) continue;
                _nv[i] = 1;
                _degree[i] = _len[i];
                Insert(i, _len[i]);
            }
            _minDeg = 0;
        }

        private void Insert(int i, int d)
        {
            int h = _head[d];
            _next[i] = h;
            _prev[i] = -1;
            if (h >= 0) _prev[h] = i;
            _head[d] = i;
            if (d < _minDeg) _minDeg = d;
        }

        private void Remove(int i)
        {
            int nx = _next[i], pv = _prev[i];
            if (nx >= 0) _prev[nx] = pv;
            if (pv >= 0) _next[pv] = nx;
            else _head[_degree[i]] = nx;
        }

        /// <summary>Appends the member chain of <paramref name="j"/> to that of <paramref name="i"/>.</summary>
        private void Append(int i, int j)
        {
            _chainNext[_chainTail[i]] = j;
            _chainTail[i] = _chainTail[j];
        }

        public int[] Run()
        {
            int n = _n;
            var perm = new int[n];
            int placed = 0;
            int nleft = n - _dense.Count;
            int step = 0;
            while (nleft > 0)
            {
                step++;
                while (_head[_minDeg] < 0) _minDeg++;
                int p = _head[_minDeg];
                Remove(p);
                int nvPivot = _nv[p];

                // ---- the new element L_p = (A_p ∪ ⋃_{e ∈ E_p} L_e) \ {p}; the elements of E_p are absorbed
                int cnt = 0, degme = 0;
                _inLp[p] = step;
                var lpList = _list[p]!;
                int elenP = _elen[p], lenP = _len[p];
                for (int t = 0; t < elenP; t++)
                {
                    int e = lpList[t];
                    if (_status[e] != Element) continue;
                    var le = _list[e]!;
                    for (int u = 0, leLen = _len[e]; u < leLen; u++)
                    {
                        int j = le[u];
                        if (_status[j] != Variable || _inLp[j] == step) continue;
                        _inLp[j] = step;
                        _lp[cnt++] = j;
                        degme += _nv[j];
                    }
                    _status[e] = Absorbed;
                    _list[e] = null;
                }
                for (int t = elenP; t < lenP; t++)
                {
                    int j = lpList[t];
                    if (_status[j] != Variable || _inLp[j] == step) continue;
                    _inLp[j] = step;
                    _lp[cnt++] = j;
                    degme += _nv[j];
                }
                _status[p] = Element;
                _list[p] = null;
                for (int t = 0; t < cnt; t++) Remove(_lp[t]);

                // ---- scan 1: w(e) = |L_e \ L_p| for every other element next to a variable of L_p
                for (int t = 0; t < cnt; t++)
                {
                    int i = _lp[t];
                    var li = _list[i]!;
                    int nvi = _nv[i];
                    for (int u = 0, ei = _elen[i]; u < ei; u++)
                    {
                        int e = li[u];
                        if (_status[e] != Element) continue;
                        if (_wStamp[e] != step) { _wStamp[e] = step; _w[e] = _degree[e]; }
                        _w[e] -= nvi;
                    }
                }

                // ---- scan 2: prune the lists of L_p's variables, partial degrees, absorption, mass elimination, hashes
                int hashUsed = 0;
                for (int t = 0; t < cnt; t++)
                {
                    int i = _lp[t];
                    var li = _list[i]!;
                    int ne = 0, na = 0, deg = 0;
                    long h = 0;
                    int ei = _elen[i], leni = _len[i];
                    for (int u = 0; u < ei; u++)
                    {
                        int e = li[u];
                        if (_status[e] != Element) continue;
                        int ext = _w[e];
                        if (ext > 0)
                        {
                            _tmp[ne++] = e;
                            deg += ext;
                            h += e;
                        }
                        else
                        {
                            // aggressive absorption: L_e ⊆ L_p
                            _status[e] = Absorbed;
                            _list[e] = null;
                        }
                    }
                    for (int u = ei; u < leni; u++)
                    {
                        int j = li[u];
                        if (_status[j] != Variable || _inLp[j] == step) continue;
                        _tmp[ne + na++] = j;
                        deg += _nv[j];
                        h += j;
                    }
                    if (ne == 0 && na == 0)
                    {
                        // only the new element is left: i is eliminated together with p
                        _status[i] = Merged;
                        nvPivot += _nv[i];
                        degme -= _nv[i];
                        _nv[i] = 0;
                        _list[i] = null;
                        _len[i] = _elen[i] = 0;
                        Append(p, i);
                        continue;
                    }
                    int size = 1 + ne + na;
                    if (li.Length < size) { li = new int[size]; _list[i] = li; }
                    li[0] = p;
                    Array.Copy(_tmp, 0, li, 1, ne + na);
                    _elen[i] = 1 + ne;
                    _len[i] = size;
                    _partial[i] = deg;
                    h += p;
                    _hashFull[i] = h;
                    int bucket = (int)((ulong)h % (ulong)n);
                    if (_hashHead[bucket] < 0) _usedBuckets[hashUsed++] = bucket;
                    _hashNext[i] = _hashHead[bucket];
                    _hashHead[bucket] = i;
                }

                // ---- supervariables: variables of L_p with identical lists are merged
                for (int b = 0; b < hashUsed; b++)
                {
                    int bucket = _usedBuckets[b];
                    for (int i = _hashHead[bucket]; i >= 0; i = _hashNext[i])
                    {
                        if (_status[i] != Variable || _hashNext[i] < 0) continue;
                        var li = _list[i]!;
                        bool marked = false;
                        for (int j = _hashNext[i]; j >= 0; j = _hashNext[j])
                        {
                            if (_status[j] != Variable || _hashFull[j] != _hashFull[i] || _len[j] != _len[i] || _elen[j] != _elen[i]) continue;
                            if (!marked)
                            {
                                _cmpStamp++;
                                for (int u = 0; u < _len[i]; u++) _cmpMark[li[u]] = _cmpStamp;
                                marked = true;
                            }
                            var lj = _list[j]!;
                            bool same = true;
                            for (int u = 0; u < _len[j]; u++)
                                if (_cmpMark[lj[u]] != _cmpStamp) { same = false; break; }
                            if (!same) continue;
                            _nv[i] += _nv[j];
                            _nv[j] = 0;
                            _status[j] = Merged;
                            _list[j] = null;
                            _len[j] = _elen[j] = 0;
                            Append(i, j);
                        }
                    }
                    _hashHead[bucket] = -1;
                }

                // ---- scan 3: final approximate degrees, back into the buckets; L_p keeps its principal variables
                nleft -= nvPivot;
                int kept = 0;
                for (int t = 0; t < cnt; t++)
                {
                    int i = _lp[t];
                    if (_status[i] != Variable) continue;
                    int nvi = _nv[i];
                    int ext = degme - nvi; // |L_p \ i|
                    int d = Math.Min(_degree[i] + ext, _partial[i] + ext);
                    d = Math.Min(d, nleft - nvi);
                    _degree[i] = d;
                    Insert(i, d);
                    _lp[kept++] = i;
                }
                _list[p] = _lp.AsSpan(0, kept).ToArray();
                _len[p] = kept;
                _elen[p] = 0;
                _degree[p] = degme;
                _nv[p] = 0;

                for (int v = p; v >= 0; v = _chainNext[v]) perm[placed++] = v;
            }
            foreach (int d in _dense) perm[placed++] = d;
            if (placed != n) throw new InvalidOperationException($"AMD placed {placed} of {n} nodes");
            return perm;
        }
    }
}
