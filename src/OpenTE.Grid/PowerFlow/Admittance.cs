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

    /// <summary>Builds from triplets, summing duplicates. O(nnz log(row length)).</summary>
    public static ComplexCsr FromTriplets(int rows, int cols, IReadOnlyList<(int Row, int Col, Complex Value)> entries)
    {
        var count = new int[rows + 1];
        foreach (var e in entries) count[e.Row + 1]++;
        for (int i = 0; i < rows; i++) count[i + 1] += count[i];
        var next = (int[])count.Clone();
        var cidx = new int[entries.Count];
        var vals = new Complex[entries.Count];
        foreach (var e in entries)
        {
            int p = next[e.Row]++;
            cidx[p] = e.Col;
            vals[p] = e.Value;
        }
        // sort each row by column and merge duplicates
        var rowPtr = new int[rows + 1];
        int w = 0;
        for (int i = 0; i < rows; i++)
        {
            int s = count[i], eEnd = count[i + 1];
            Array.Sort(cidx, vals, s, eEnd - s);
            rowPtr[i] = w;
            for (int p = s; p < eEnd; p++)
            {
                if (w > rowPtr[i] && cidx[w - 1] == cidx[p]) vals[w - 1] += vals[p];
                else { cidx[w] = cidx[p]; vals[w] = vals[p]; w++; }
            }
        }
        rowPtr[rows] = w;
        return new ComplexCsr(rows, cols, rowPtr, cidx[..w], vals[..w]);
    }

    /// <summary>y = A·x.</summary>
    public void Multiply(ReadOnlySpan<Complex> x, Span<Complex> y)
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
        var entries = new List<(int, int, Complex)>(4 * nl + nb);
        for (int l = 0; l < nl; l++)
        {
            var br = net.Branches[l];
            f[l] = net.BusIndex[br.From];
            t[l] = net.BusIndex[br.To];
            // a branch to an isolated bus (type 4) is open at that end: it carries nothing, as in the topology
            if (!br.InService || net.Buses[f[l]].Type == BusType.Isolated || net.Buses[t[l]].Type == BusType.Isolated) continue;
            Complex ys = 1.0 / new Complex(br.R, br.X);
            Complex tap = Complex.FromPolarCoordinates(br.Tap, br.AngleDeg * Math.PI / 180.0);
            Complex ychg = new(0, br.B / 2);
            ytt[l] = ys + ychg;
            yff[l] = ytt[l] / (tap * Complex.Conjugate(tap));
            yft[l] = -ys / Complex.Conjugate(tap);
            ytf[l] = -ys / tap;
            entries.Add((f[l], f[l], yff[l]));
            entries.Add((f[l], t[l], yft[l]));
            entries.Add((t[l], f[l], ytf[l]));
            entries.Add((t[l], t[l], ytt[l]));
        }
        for (int i = 0; i < nb; i++)
        {
            var b = net.Buses[i];
            // every bus gets a diagonal entry so that the Jacobian pattern has its diagonal
            entries.Add((i, i, new Complex(b.Gs, b.Bs) / net.BaseMva));
        }
        return new Admittance(ComplexCsr.FromTriplets(nb, nb, entries), yff, yft, ytf, ytt, f, t);
    }
}
