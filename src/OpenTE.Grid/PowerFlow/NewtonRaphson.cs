using System.Numerics;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Grid.PowerFlow;

/// <summary>
/// Newton–Raphson on the polar power-flow equations (MATPOWER's newtonpf). Unknowns: angles of PV and PQ
/// buses, magnitudes of PQ buses; equations: P mismatch at PV and PQ buses, Q mismatch at PQ buses.
/// The Jacobian pattern is built once per bus-type assignment; each iteration only refills its values
/// (O(nnz)) and refactorises with the symbolic analysis of the first factorisation.
/// </summary>
internal sealed class NewtonRaphson(ComplexCsr ybus)
{
    private SparseMatrix? _j;
    private SparseLU? _lu;
    private int[]? _slotPa, _slotPm, _slotQa, _slotQm;
    private int[]? _patternPv, _patternPq;
    private int[]? _order;
    // approximate-minimum-degree order of the bus graph (Ybus pattern), computed once: the Jacobian has 2×2 blocks on
    // that graph, so the bus order expanded to (θ, |V|) per bus is a fill-reducing order at a quarter of the cost
    private readonly Lazy<int[]> _busOrder = new(() => Amd.Order(ybus.Rows, RowPtrAsColPtr(ybus), ybus.ColIdx));

    private static int[] RowPtrAsColPtr(ComplexCsr y) => y.RowPtr; // Ybus is structurally symmetric: CSR pattern = CSC pattern

    public double LastMismatch { get; private set; }
    public long FactorNonZeros { get; private set; }

    /// <summary>Solves in place on <paramref name="v"/>. Returns convergence and the number of Newton updates.</summary>
    public (bool Converged, int Iterations) Solve(Complex[] sbus, Complex[] v, int[] pv, int[] pq, double tol, int maxIt)
    {
        int nb = v.Length;
        int npv = pv.Length, npq = pq.Length, n1 = npv + npq, n = n1 + npq;
        var (angleIdx, magIdx) = UnknownIndices(nb, pv, pq);
        if (_patternPv is null || !pv.AsSpan().SequenceEqual(_patternPv) || !pq.AsSpan().SequenceEqual(_patternPq))
            BuildPattern(angleIdx, magIdx, n, pv, pq);

        var vm = new double[nb];
        var va = new double[nb];
        for (int i = 0; i < nb; i++) { vm[i] = v[i].Magnitude; va[i] = v[i].Phase; }
        var current = new Complex[nb];
        var f = new double[n];

        double Mismatch()
        {
            ybus.Multiply(v, current);
            double norm = 0;
            for (int i = 0; i < nb; i++)
            {
                int a = angleIdx[i];
                if (a < 0) continue;
                Complex mis = v[i] * Complex.Conjugate(current[i]) - sbus[i];
                f[a] = mis.Real;
                norm = Math.Max(norm, Math.Abs(mis.Real));
                int m = magIdx[i];
                if (m >= 0)
                {
                    f[m] = mis.Imaginary;
                    norm = Math.Max(norm, Math.Abs(mis.Imaginary));
                }
            }
            return norm;
        }

        LastMismatch = Mismatch();
        if (n == 0) return (true, 0);
        int it = 0;
        while (!(LastMismatch < tol) && it < maxIt)
        {
            if (!double.IsFinite(LastMismatch)) return (false, it);
            it++;
            FillJacobian(v, current);
            try
            {
                if (_lu is null) _lu = SparseLU.Factorize(_j!, new LuOptions { ColumnOrder = _order });
                else _lu.Refactorize(_j!);
            }
            catch (SingularMatrixException)
            {
                LastMismatch = double.NaN;
                return (false, it);
            }
            FactorNonZeros = _lu.Fill;
            for (int k = 0; k < n; k++) f[k] = -f[k];
            _lu.Solve(f);
            for (int k = 0; k < npv; k++) va[pv[k]] += f[k];
            for (int k = 0; k < npq; k++)
            {
                va[pq[k]] += f[npv + k];
                vm[pq[k]] += f[n1 + k];
            }
            for (int i = 0; i < nb; i++)
                if (angleIdx[i] >= 0) v[i] = Complex.FromPolarCoordinates(vm[i], va[i]);
            LastMismatch = Mismatch();
        }
        return (LastMismatch < tol, it);
    }

    /// <summary>The Jacobian at voltages <paramref name="v"/> for the given bus types (tests and sensitivity studies).</summary>
    internal SparseMatrix Jacobian(Complex[] v, int[] pv, int[] pq)
    {
        int nb = v.Length;
        var (angleIdx, magIdx) = UnknownIndices(nb, pv, pq);
        BuildPattern(angleIdx, magIdx, pv.Length + 2 * pq.Length, pv, pq);
        var current = new Complex[nb];
        ybus.Multiply(v, current);
        FillJacobian(v, current);
        return _j!;
    }

    internal int[] JacobianOrder => _order!;

    /// <summary>Position of each bus's angle (PV and PQ buses) and magnitude (PQ buses) among the unknowns; −1 if none.</summary>
    private static (int[] Angle, int[] Magnitude) UnknownIndices(int nb, int[] pv, int[] pq)
    {
        int npv = pv.Length, n1 = npv + pq.Length;
        var angle = new int[nb];
        var magnitude = new int[nb];
        Array.Fill(angle, -1);
        Array.Fill(magnitude, -1);
        for (int k = 0; k < npv; k++) angle[pv[k]] = k;
        for (int k = 0; k < pq.Length; k++) { angle[pq[k]] = npv + k; magnitude[pq[k]] = n1 + k; }
        return (angle, magnitude);
    }

    private void BuildPattern(int[] angleIdx, int[] magIdx, int n, int[] pv, int[] pq)
    {
        int nnzY = ybus.Nnz;
        var rows = new List<int>(4 * nnzY);
        var cols = new List<int>(4 * nnzY);
        // per Ybus entry, the triplet number of each of its (up to) four Jacobian entries
        var tPa = new int[nnzY];
        var tPm = new int[nnzY];
        var tQa = new int[nnzY];
        var tQm = new int[nnzY];
        for (int i = 0; i < ybus.Rows; i++)
        {
            for (int p = ybus.RowPtr[i]; p < ybus.RowPtr[i + 1]; p++)
            {
                int k = ybus.ColIdx[p];
                tPa[p] = tPm[p] = tQa[p] = tQm[p] = -1;
                int pr = angleIdx[i], qr = magIdx[i], ac = angleIdx[k], mc = magIdx[k];
                if (pr >= 0 && ac >= 0) { tPa[p] = rows.Count; rows.Add(pr); cols.Add(ac); }
                if (pr >= 0 && mc >= 0) { tPm[p] = rows.Count; rows.Add(pr); cols.Add(mc); }
                if (qr >= 0 && ac >= 0) { tQa[p] = rows.Count; rows.Add(qr); cols.Add(ac); }
                if (qr >= 0 && mc >= 0) { tQm[p] = rows.Count; rows.Add(qr); cols.Add(mc); }
            }
        }
        _j = SparseMatrix.FromTriplets(n, n, rows.ToArray(), cols.ToArray(), new double[rows.Count], out int[] slot);
        int[] Map(int[] t) => Array.ConvertAll(t, x => x < 0 ? -1 : slot[x]);
        _slotPa = Map(tPa);
        _slotPm = Map(tPm);
        _slotQa = Map(tQa);
        _slotQm = Map(tQm);
        var order = new List<int>(n);
        foreach (int bus in _busOrder.Value)
        {
            if (angleIdx[bus] >= 0) order.Add(angleIdx[bus]);
            if (magIdx[bus] >= 0) order.Add(magIdx[bus]);
        }
        _order = [.. order];
        _patternPv = (int[])pv.Clone();
        _patternPq = (int[])pq.Clone();
        _lu = null;
    }

    /// <summary>
    /// dS/dVa and dS/dVm entry by entry: off the diagonal −j·Vi·conj(Yik·Vk) and Vi·conj(Yik·Vk/|Vk|);
    /// on it the same plus j·Vi·conj(Ii) and conj(Ii)·Vi/|Vi|.
    /// </summary>
    private void FillJacobian(Complex[] v, Complex[] current)
    {
        var values = _j!.Values;
        Array.Clear(values);
        for (int i = 0; i < ybus.Rows; i++)
        {
            Complex vi = v[i];
            for (int p = ybus.RowPtr[i]; p < ybus.RowPtr[i + 1]; p++)
            {
                if (_slotPa![p] < 0 && _slotPm![p] < 0 && _slotQa![p] < 0 && _slotQm![p] < 0) continue;
                int k = ybus.ColIdx[p];
                Complex vk = v[k];
                double vkAbs = vk.Magnitude;
                Complex yv = ybus.Values[p] * vk;
                Complex dVa = -Complex.ImaginaryOne * vi * Complex.Conjugate(yv);
                Complex dVm = vkAbs > 0 ? vi * Complex.Conjugate(yv / vkAbs) : Complex.Zero;
                if (k == i)
                {
                    dVa += Complex.ImaginaryOne * vi * Complex.Conjugate(current[i]);
                    if (vkAbs > 0) dVm += Complex.Conjugate(current[i]) * vi / vkAbs;
                }
                if (_slotPa![p] >= 0) values[_slotPa[p]] += dVa.Real;
                if (_slotPm![p] >= 0) values[_slotPm[p]] += dVm.Real;
                if (_slotQa![p] >= 0) values[_slotQa[p]] += dVa.Imaginary;
                if (_slotQm![p] >= 0) values[_slotQm[p]] += dVm.Imaginary;
            }
        }
    }
}
