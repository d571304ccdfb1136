using System.Numerics;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.PowerFlow;

/// <summary>A complex sparse matrix in compressed-row form (row-sorted, no duplicates).</summary>
public sealed class ComplexCsr
{
    public int Rows { get; }
    public int Cols { get; }
    public int[] RowPtr { get; }
    public int[] ColIdx { get; }
    public Complex[] Values { get; }

    public ComplexCsr(int rows, int cols, int[] rowPtr, int[] colIdx, Complex[] values)
    {
        Rows = rows;
        Cols = cols;
        RowPtr = rowPtr;
        ColIdx = colIdx;
        Values = values;
    }

    /// <summary>
    /// Builds from triplets, summing duplicates in the order given. Two stable counting sorts — by column, then by row — leave
    /// every row sorted by column with equal columns in their given order, so no comparison sort is needed. O(nnz + rows + cols).
    /// </summary>
    public static ComplexCsr FromTriplets(int rows, int cols, IReadOnlyList<(int Row, int Col, Complex Value)> entries)
    {
        int m = entries.Count;
        var rowIdx = new int[m];
        var colIdx = new int[m];
        for (int k = 0; k < m; k++) (rowIdx[k], colIdx[k], _) = entries[k];
        var colStart = new int[cols + 1];
        var rowStart = new int[rows + 1];
        for (int k = 0; k < m; k++)
        {
            int i = rowIdx[k], j = colIdx[k];
            if ((uint)i >= (uint)rows || (uint)j >= (uint)cols)
                throw new ArgumentOutOfRangeException(nameof(entries), $"triplet {k} ({i}, {j}) is outside a {rows}x{cols} matrix");
            colStart[j + 1]++;
            rowStart[i + 1]++;
        }
        for (int j = 0; j < cols; j++) colStart[j + 1] += colStart[j];
        for (int i = 0; i < rows; i++) rowStart[i + 1] += rowStart[i];
        var byCol = new int[m];
        for (int k = 0; k < m; k++) byCol[colStart[colIdx[k]]++] = k;
        var byRow = new int[m];
        for (int t = 0; t < m; t++)
        {
            int k = byCol[t];
            byRow[rowStart[rowIdx[k]]++] = k;
        }
        // rowStart[i] is now the end of row i
        var rowPtr = new int[rows + 1];
        var cidx = new int[m];
        var vals = new Complex[m];
        int w = 0, begin = 0;
        for (int i = 0; i < rows; i++)
        {
            rowPtr[i] = w;
            int end = rowStart[i];
            for (int t = begin; t < end; t++)
            {
                int k = byRow[t];
                if (w > rowPtr[i] && cidx[w - 1] == colIdx[k]) vals[w - 1] += entries[k].Value;
                else { cidx[w] = colIdx[k]; vals[w] = entries[k].Value; w++; }
            }
            begin = end;
        }
        rowPtr[rows] = w;
        if (w < m)
        {
            var c2 = new int[w];
            var v2 = new Complex[w];
            Array.Copy(cidx, c2, w);
            Array.Copy(vals, v2, w);
            (cidx, vals) = (c2, v2);
        }
        return new ComplexCsr(rows, cols, rowPtr, cidx, vals);
    }

    /// <summary>y = A·x. (Arrays, not spans: a span of Complex is a framework generic that ReadyToRun does not precompile for us,
    /// so it would be compiled by the JIT inside every cold power flow.)</summary>
    public void Multiply(Complex[] x, Complex[] y)
    {
        for (int i = 0; i < Rows; i++)
        {
            Complex s = Complex.Zero;
            for (int p = RowPtr[i]; p < RowPtr[i + 1]; p++) s += Values[p] * x[ColIdx[p]];
            y[i] = s;
        }
    }

    public Complex this[int i, int j]
    {
        get
        {
            int p = Array.BinarySearch(ColIdx, RowPtr[i], RowPtr[i + 1] - RowPtr[i], j);
            return p >= 0 ? Values[p] : Complex.Zero;
        }
    }

    public int Nnz => RowPtr[Rows];
}

/// <summary>
/// The bus admittance matrix and the branch admittances, as MATPOWER's makeYbus: series admittance
/// 1/(r + jx), line charging b split half to each end, off-nominal tap and phase shift at the from end,
/// bus shunts Gs + jBs (MW/MVAr at 1 p.u.). All in p.u. on baseMVA.
/// </summary>
public sealed class Admittance
{
    public ComplexCsr Ybus { get; }
    /// <summary>Per branch: Yff, Yft, Ytf, Ytt (zero for out-of-service branches).</summary>
    public Complex[] Yff { get; }
    public Complex[] Yft { get; }
    public Complex[] Ytf { get; }
    public Complex[] Ytt { get; }
    public int[] FromBus { get; }
    public int[] ToBus { get; }

    private Admittance(ComplexCsr ybus, Complex[] yff, Complex[] yft, Complex[] ytf, Complex[] ytt, int[] f, int[] t)
    {
        Ybus = ybus;
        Yff = yff;
        Yft = yft;
        Ytf = ytf;
        Ytt = ytt;
        FromBus = f;
        ToBus = t;
    }

    public static Admittance Build(Network net)
    {
        int nb = net.BusCount, nl = net.Branches.Length;
        var yff = new Complex[nl];
        var yft = new Complex[nl];
        var ytf = new Complex[nl];
        var ytt = new Complex[nl];
        var f = new int[nl];
        var t = new int[nl];
        var live = new bool[nl];
        var busIndex = net.BusIndex;
        var buses = net.Buses;
        var branches = net.Branches;
        for (int l = 0; l < nl; l++)
        {
            var br = branches[l];
            f[l] = busIndex[br.From];
            t[l] = busIndex[br.To];
            // a branch to an isolated bus (type 4) is open at that end: it carries nothing, as in the topology
            if (!br.InService || buses[f[l]].Type == BusType.Isolated || buses[t[l]].Type == BusType.Isolated) continue;
            live[l] = true;
            Complex ys = 1.0 / new Complex(br.R, br.X);
            Complex tap = Complex.FromPolarCoordinates(br.Tap, br.AngleDeg * Math.PI / 180.0);
            Complex ychg = new(0, br.B / 2);
            ytt[l] = ys + ychg;
            yff[l] = ytt[l] / (tap * Complex.Conjugate(tap));
            yft[l] = -ys / Complex.Conjugate(tap);
            ytf[l] = -ys / tap;
        }
        return new Admittance(Assemble(net, live, f, t, yff, yft, ytf, ytt), yff, yft, ytf, ytt, f, t);
    }

    /// <summary>
    /// Ybus in compressed rows straight from the branches, without a triplet list: the entries are, in this order, per
    /// in-service branch (f,f) (f,t) (t,f) (t,t), then every bus's shunt on its diagonal (every bus gets a diagonal entry so
    /// that the Jacobian pattern has its diagonal). Each row's entries are grouped in that order (one counting pass), equal
    /// columns are summed in that order (the first one assigned, the others added: the arithmetic of summing the triplets,
    /// <see cref="ComplexCsr.FromTriplets"/>), then each row is sorted by
    /// column. Work arrays: two integers per entry; O(entries + buses), a row of d distinct columns sorted in O(d log d).
    /// </summary>
    private static ComplexCsr Assemble(Network net, bool[] live, int[] f, int[] t, Complex[] yff, Complex[] yft, Complex[] ytf,
        Complex[] ytt)
    {
        int nb = net.BusCount, nl = live.Length;
        var buses = net.Buses;
        var start = new int[nb + 1];
        for (int l = 0; l < nl; l++)
        {
            if (!live[l]) continue;
            start[f[l] + 1] += 2;
            start[t[l] + 1] += 2;
        }
        for (int i = 0; i < nb; i++) start[i + 1] += start[i] + 1;
        int m = start[nb];
        // per entry, grouped by row in the order above: its column and its source (4·branch + part, or −1 − bus for a shunt)
        var col = new int[m];
        var src = new int[m];
        var fill = new int[nb];
        for (int i = 0; i < nb; i++) fill[i] = start[i];
        for (int l = 0; l < nl; l++)
        {
            if (!live[l]) continue;
            int a = f[l], b = t[l];
            int w = fill[a];
            col[w] = a; src[w] = 4 * l;
            col[w + 1] = b; src[w + 1] = 4 * l + 1;
            fill[a] = w + 2;
            w = fill[b];
            col[w] = a; src[w] = 4 * l + 2;
            col[w + 1] = b; src[w + 1] = 4 * l + 3;
            fill[b] = w + 2;
        }
        for (int i = 0; i < nb; i++)
        {
            col[fill[i]] = i;
            src[fill[i]] = -1 - i;
        }
        // distinct columns per row (slot[j]: the row's position of column j, valid while owner[j] is the row)
        var owner = fill; // reused
        for (int j = 0; j < nb; j++) owner[j] = -1;
        var rowPtr = new int[nb + 1];
        for (int i = 0; i < nb; i++)
        {
            int distinct = 0;
            for (int e = start[i]; e < start[i + 1]; e++)
                if (owner[col[e]] != i) { owner[col[e]] = i; distinct++; }
            rowPtr[i + 1] = rowPtr[i] + distinct;
        }
        var cidx = new int[rowPtr[nb]];
        var vals = new Complex[rowPtr[nb]];
        var slot = new int[nb];
        for (int j = 0; j < nb; j++) owner[j] = -1;
        for (int i = 0; i < nb; i++)
        {
            int w = rowPtr[i];
            for (int e = start[i]; e < start[i + 1]; e++)
            {
                int j = col[e], s = src[e];
                Complex y = s < 0 ? new Complex(buses[-1 - s].Gs, buses[-1 - s].Bs) / net.BaseMva : (s & 3) switch { 0 => yff[s >> 2], 1 => yft[s >> 2], 2 => ytf[s >> 2], _ => ytt[s >> 2] };
                if (owner[j] != i)
                {
                    owner[j] = i;
                    slot[j] = w;
                    cidx[w] = j;
                    vals[w] = y;
                    w++;
                }
                else vals[slot[j]] += y;
            }
            SortRow(cidx, vals, rowPtr[i], w);
        }
        return new ComplexCsr(nb, nb, rowPtr, cidx, vals);
    }

    /// <summary>Sorts the distinct columns cidx[lo..hi) ascending, their values along: insertion sort for a short row, heap sort for a long one.</summary>
    private static void SortRow(int[] cidx, Complex[] vals, int lo, int hi)
    {
        if (hi - lo <= 32)
        {
            for (int a = lo + 1; a < hi; a++)
            {
                int c = cidx[a];
                Complex v = vals[a];
                int b = a - 1;
                for (; b >= lo && cidx[b] > c; b--)
                {
                    cidx[b + 1] = cidx[b];
                    vals[b + 1] = vals[b];
                }
                cidx[b + 1] = c;
                vals[b + 1] = v;
            }
            return;
        }
        int n = hi - lo;
        for (int r = n / 2 - 1; r >= 0; r--) SiftDown(cidx, vals, lo, r, n);
        for (int end = n - 1; end > 0; end--)
        {
            (cidx[lo], cidx[lo + end]) = (cidx[lo + end], cidx[lo]);
            (vals[lo], vals[lo + end]) = (vals[lo + end], vals[lo]);
            SiftDown(cidx, vals, lo, 0, end);
        }
    }

    private static void SiftDown(int[] cidx, Complex[] vals, int lo, int root, int n)
    {
        while (true)
        {
            int child = 2 * root + 1;
            if (child >= n) return;
            if (child + 1 < n && cidx[lo + child + 1] > cidx[lo + child]) child++;
            if (cidx[lo + root] >= cidx[lo + child]) return;
            (cidx[lo + root], cidx[lo + child]) = (cidx[lo + child], cidx[lo + root]);
            (vals[lo + root], vals[lo + child]) = (vals[lo + child], vals[lo + root]);
            root = child;
        }
    }
}
