namespace OpenTE.Numerics.Sparse;

/// <summary>
/// Minimum-degree ordering on the symmetric pattern of A + Aᵀ. The elimination graph is kept explicitly
/// (adjacency lists merged with a marker array); at each step a node of least current degree is eliminated (ties: lowest
/// index) and its neighbours become a clique. Nodes whose neighbourhoods become identical to an eliminated
/// node's are not merged (no supernodes); on power-system matrices, whose fill stays small, this costs
/// O(Σ d²) over the elimination degrees d, so it is meant for small graphs (bus graphs); large patterns
/// should use <see cref="Amd"/>. The column (AᵀA) and saddle-point orderings below build their graph and
/// order it with <see cref="Amd"/>.
/// </summary>
public static class MinimumDegree
{
    /// <summary>Returns perm with perm[k] = the original index eliminated k-th.</summary>
    public static int[] Order(int n, int[] colPtr, int[] rowIdx)
    {
        // adjacency lists of A + Aᵀ without the diagonal and without duplicates
        var adj = new List<int>[n];
        var mark = new int[n];
        Arrays.Fill(mark, -1);
        var deg = new int[n];
        for (int j = 0; j < n; j++)
            for (int p = colPtr[j]; p < colPtr[j + 1]; p++)
            {
                int i = rowIdx[p];
                if (i != j && i < n) { deg[i]++; deg[j]++; }
            }
        for (int i = 0; i < n; i++) adj[i] = new List<int>(deg[i]);
        for (int j = 0; j < n; j++)
            for (int p = colPtr[j]; p < colPtr[j + 1]; p++)
            {
                int i = rowIdx[p];
                if (i == j || i >= n) continue;
                adj[i].Add(j);
                adj[j].Add(i);
            }
        for (int i = 0; i < n; i++)
        {
            var list = adj[i];
            int w = 0;
            for (int k = 0; k < list.Count; k++)
                if (mark[list[k]] != i) { mark[list[k]] = i; list[w++] = list[k]; }
            list.RemoveRange(w, list.Count - w);
        }
        Arrays.Fill(mark, -1);
        var queue = new PriorityQueue<int, long>(n);
        for (int i = 0; i < n; i++) queue.Enqueue(i, Key(adj[i].Count, i));
        var done = new bool[n];
        var perm = new int[n];
        int k2 = 0, stamp = 0;
        while (queue.TryDequeue(out int v, out long key))
        {
            if (done[v] || key != Key(adj[v].Count, v)) continue; // stale entry
            done[v] = true;
            perm[k2++] = v;
            var nbrs = adj[v];
            // each neighbour u: adj[u] ← adj[u] ∪ nbrs \ {u, v}
            foreach (int u in nbrs)
            {
                stamp++;
                var list = adj[u];
                int w = 0;
                for (int k = 0; k < list.Count; k++)
                {
                    int x = list[k];
                    if (x == v) continue;
                    mark[x] = stamp;
                    list[w++] = x;
                }
                list.RemoveRange(w, list.Count - w);
                mark[u] = stamp;
                foreach (int x in nbrs)
                    if (mark[x] != stamp) { mark[x] = stamp; list.Add(x); }
            }
            foreach (int u in nbrs) queue.Enqueue(u, Key(adj[u].Count, u));
            adj[v] = [];
        }
        return perm;
    }

    private static long Key(int degree, int node) => ((long)degree << 32) | (uint)node;

    /// <summary>
    /// Approximate-minimum-degree column order on the pattern of AᵀA (two columns adjacent when they share a
    /// row). Rows with more than max(16, 10·√n) entries are left out of AᵀA (as COLAMD does), since each would
    /// make its columns a clique; such rows are dealt with by the pivoting.
    /// </summary>
    public static int[] OrderColumns(SparseMatrix a)
    {
        var at = a.Transpose(); // rows of A as columns
        int n = a.Cols;
        double dense = Math.Max(16.0, 10.0 * Math.Sqrt(n));
        var colPtr = new int[n + 1];
        var rows = new List<int>(4 * a.Nnz);
        var mark = new int[n];
        Arrays.Fill(mark, -1);
        for (int j = 0; j < n; j++)
        {
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
            {
                int r = a.RowIdx[p];
                if (at.ColPtr[r + 1] - at.ColPtr[r] > dense) continue;
                for (int q = at.ColPtr[r]; q < at.ColPtr[r + 1]; q++)
                {
                    int k = at.RowIdx[q];
                    if (mark[k] == j) continue;
                    mark[k] = j;
                    rows.Add(k);
                }
            }
            colPtr[j + 1] = rows.Count;
        }
        return Amd.Order(n, colPtr, [.. rows]);
    }

    /// <summary>Approximate minimum degree on the graph with zero-diagonal nodes paired to a neighbour (see <see cref="Ordering.SaddlePoint"/>).</summary>
    public static int[] OrderSaddlePoint(SparseMatrix a) => OrderSaddlePoint(a, out _);

    /// <summary>As <see cref="OrderSaddlePoint(SparseMatrix)"/>; <paramref name="partner"/>[j] is j's pair (−1 if none).</summary>
    public static int[] OrderSaddlePoint(SparseMatrix a, out int[] partner)
    {
        partner = SaddlePointPairs(a, out var diag, out var zero);
        return OrderPairs(a, partner, diag, zero);
    }

    private static int[] SaddlePointPairs(SparseMatrix a, out double[] diag, out bool[] zero)
    {
        int n = a.Cols;
        var partner = new int[n];
        for (int j = 0; j < n; j++) partner[j] = -1; // loops, not Array.Fill<int>: a generic helper the JIT compiles in a CLI process
        diag = new double[n];
        var colMax = new double[n];
        for (int j = 0; j < n; j++)
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
            {
                colMax[j] = Math.Max(colMax[j], Math.Abs(a.Values[p]));
                if (a.RowIdx[p] == j) diag[j] = Math.Abs(a.Values[p]);
            }
        // "zero" diagonal: exactly zero or a tiny regularisation next to the column's entries
        zero = new bool[n];
        var candidates = new int[n];
        for (int j = 0; j < n; j++) zero[j] = !(diag[j] > 1e-8 * colMax[j]);
        int zeros = 0, maxCandidates = 0;
        for (int j = 0; j < n; j++)
        {
            if (!zero[j]) continue;
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
                if (a.RowIdx[p] != j) candidates[j]++;
            zeros++;
            maxCandidates = Math.Max(maxCandidates, candidates[j]);
        }
        // greedy, the zero-diagonal nodes with the fewest candidates first (a row with one variable must get it), each
        // with its strongest free neighbour (the 2×2 block [d c; c 0] is best conditioned for the largest |c|); the order by
        // (candidates, index) is a counting sort over the candidate counts
        var bucket = new int[maxCandidates + 2];
        for (int j = 0; j < n; j++)
            if (zero[j]) bucket[candidates[j] + 1]++;
        for (int c = 0; c <= maxCandidates; c++) bucket[c + 1] += bucket[c];
        var order = new int[zeros];
        for (int j = 0; j < n; j++)
            if (zero[j]) order[bucket[candidates[j]]++] = j;
        int Strongest(int j)
        {
            int best = -1;
            double bestVal = 0;
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
            {
                int i = a.RowIdx[p];
                if (i == j || partner[i] >= 0) continue;
                double v = Math.Abs(a.Values[p]);
                if (v > bestVal) { bestVal = v; best = i; }
            }
            return best;
        }
        var unmatched = new List<int>();
        foreach (int j in order)
        {
            if (partner[j] >= 0) continue; // taken as another zero-diagonal node's partner
            int best = Strongest(j);
            if (best >= 0) { partner[j] = best; partner[best] = j; }
            else unmatched.Add(j);
        }
        // the rest by augmenting paths (bipartite matching of zero-diagonal nodes to their neighbours): j takes a neighbour
        // whose zero-diagonal partner can move on to another free neighbour, and so on
        if (unmatched.Count > 0)
        {
            // breadth-first over alternating paths: zero node → free-or-matched neighbour → that neighbour's zero partner …
            var visited = new int[n];
            var via = new int[n];
            for (int v = 0; v < n; v++) visited[v] = -1;
            var queue = new int[n]; // each zero-diagonal node is queued at most once per search
            foreach (int j in unmatched)
            {
                if (partner[j] >= 0) continue;
                int head = 0, tail = 0;
                queue[tail++] = j;
                int free = -1;
                while (head < tail && free < 0)
                {
                    int z = queue[head++];
                    for (int p = a.ColPtr[z]; p < a.ColPtr[z + 1]; p++)
                    {
                        int v = a.RowIdx[p];
                        // bipartite: zero-diagonal nodes on one side, the others on the other (a zero-zero pair stays as
                        // the greedy pass made it), so every path alternates and each zero node is queued at most once
                        if (v == z || zero[v] || visited[v] == j) continue;
                        visited[v] = j;
                        via[v] = z;
                        if (partner[v] < 0) { free = v; break; }
                        if (zero[partner[v]]) queue[tail++] = partner[v];
                    }
                }
                // flip the path: every zero node on it takes the neighbour it was reached through
                for (int v = free, guard = 0; v >= 0 && guard++ <= n;)
                {
                    int z = via[v], previous = partner[z];
                    partner[z] = v;
                    partner[v] = z;
                    v = z == j ? -1 : previous;
                }
            }
        }
        return partner;
    }

    private static int[] OrderPairs(SparseMatrix a, int[] partner, double[] diag, bool[] zero)
    {
        int n = a.Cols;
        // compressed node of each original node: pairs share the smaller index's node; a node has one or two members (a
        // pair), first the smaller index (plain arrays, not a list per node: this runs once per KKT pattern)
        var node = new int[n];
        var first = new int[n];
        var second = new int[n];
        int m = 0;
        for (int j = 0; j < n; j++)
        {
            if (partner[j] >= 0 && partner[j] < j) { node[j] = node[partner[j]]; second[node[j]] = j; continue; }
            node[j] = m;
            first[m] = j;
            second[m++] = -1;
        }
        var ri = new int[a.Nnz]; // the compressed pattern has at most A's entries
        var cp = new int[m + 1];
        var mark = new int[m];
        for (int c = 0; c < m; c++) mark[c] = -1;
        int w = 0;
        for (int c = 0; c < m; c++)
        {
            for (int t = 0; t < 2; t++)
            {
                int j = t == 0 ? first[c] : second[c];
                if (j < 0) continue;
                for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++)
                {
                    int r = node[a.RowIdx[p]];
                    if (mark[r] == c) continue;
                    mark[r] = c;
                    ri[w++] = r;
                }
            }
            cp[c + 1] = w;
        }
        var compressed = Amd.Order(m, cp, ri);
        var perm = new int[n];
        int k = 0;
        // a pair's members by descending diagonal (ties: the smaller index first; the comparison of a stable sort, NaN lowest);
        // a zero-diagonal node left without a partner (its neighbours all taken: dependent rows) goes last, once its
        // neighbours' eliminations have filled its diagonal; eliminated early, its tiny pivot would blow up theirs
        foreach (int c in compressed)
        {
            int j0 = first[c], j1 = second[c];
            if (j1 >= 0 && diag[j1].CompareTo(diag[j0]) > 0) (j0, j1) = (j1, j0);
            if (!zero[j0] || partner[j0] >= 0) perm[k++] = j0;
            if (j1 >= 0 && (!zero[j1] || partner[j1] >= 0)) perm[k++] = j1;
        }
        for (int j = 0; j < n; j++)
            if (zero[j] && partner[j] < 0) perm[k++] = j;
        return perm;
    }

    public static int[] Order(SparseMatrix a)
    {
        if (a.Rows != a.Cols) throw new ArgumentException("ordering needs a square matrix");
        return Order(a.Cols, a.ColPtr, a.RowIdx);
    }
}
