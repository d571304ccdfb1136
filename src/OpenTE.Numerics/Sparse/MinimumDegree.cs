namespace OpenTE.Numerics.Sparse;

public enum Ordering
{
    /// <summary>Columns in their given order.</summary>
    Natural,
    /// <summary>Minimum degree on the pattern of A + Aᵀ (fill-reducing; the default).</summary>
    MinimumDegree,
}

/// <summary>
/// Minimum-degree ordering on the symmetric pattern of A + Aᵀ. The elimination graph is kept explicitly
/// (hash sets of neighbours); at each step a node of least current degree is eliminated (ties: lowest
/// index) and its neighbours become a clique. Nodes whose neighbourhoods become identical to an eliminated
/// node's are not merged (no supernodes); on power-system matrices, whose fill stays small, this costs
/// O(Σ d²) over the elimination degrees d and gives orderings at least as good as approximate minimum degree.
/// </summary>
public static class MinimumDegree
{
    /// <summary>Returns perm with perm[k] = the original index eliminated k-th.</summary>
    public static int[] Order(int n, int[] colPtr, int[] rowIdx)
    {
        var adj = new HashSet<int>[n];
        for (int i = 0; i < n; i++) adj[i] = [];
        for (int j = 0; j < n; j++)
            for (int p = colPtr[j]; p < colPtr[j + 1]; p++)
            {
                int i = rowIdx[p];
                if (i == j || i >= n) continue;
                adj[i].Add(j);
                adj[j].Add(i);
            }
        var queue = new PriorityQueue<int, (int Degree, int Node)>(n);
        for (int i = 0; i < n; i++) queue.Enqueue(i, (adj[i].Count, i));
        var done = new bool[n];
        var perm = new int[n];
        var nbrs = new List<int>();
        int k = 0;
        while (queue.TryDequeue(out int v, out var key))
        {
            if (done[v] || key.Degree != adj[v].Count) continue; // stale entry
            done[v] = true;
            perm[k++] = v;
            nbrs.Clear();
            nbrs.AddRange(adj[v]);
            foreach (int u in nbrs) adj[u].Remove(v);
            for (int a = 0; a < nbrs.Count; a++)
            {
                var set = adj[nbrs[a]];
                for (int b = 0; b < nbrs.Count; b++)
                    if (a != b) set.Add(nbrs[b]);
            }
            adj[v] = [];
            foreach (int u in nbrs) queue.Enqueue(u, (adj[u].Count, u));
        }
        return perm;
    }

    public static int[] Order(SparseMatrix a)
    {
        if (a.Rows != a.Cols) throw new ArgumentException("ordering needs a square matrix");
        return Order(a.Cols, a.ColPtr, a.RowIdx);
    }
}
