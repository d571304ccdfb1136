using System.Numerics;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Grid.PowerFlow;

/// <summary>
/// Newton–Raphson on the polar power-flow equations (MATPOWER's newtonpf). Unknowns: angles of PV and PQ
/// buses, magnitudes of PQ buses; equations: P mismatch at PV and PQ buses, Q mismatch at PQ buses.
/// The Jacobian pattern is built once per bus-type assignment (a <see cref="SparseAssembler"/>); each iteration
/// only scatters its values (O(nnz)) and refactorises with the symbolic analysis of the first factorisation.
/// </summary>
internal sealed class NewtonRaphson(ComplexCsr ybus)
{
    private SparseMatrix? _j;
    private SparseLU? _lu;
    private SparseAssembler? _jacobian;
    private int[] _angleIdx = [], _magIdx = [];
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
            NewPattern(angleIdx, magIdx, n, pv, pq);

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
        NewPattern(angleIdx, magIdx, pv.Length + 2 * pq.Length, pv, pq);
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

    /// <summary>Starts a Jacobian pattern for new bus types (built by the next fill) and its fill-reducing order.</summary>
    private void NewPattern(int[] angleIdx, int[] magIdx, int n, int[] pv, int[] pq)
    {
        _jacobian = new SparseAssembler(n, n);
        _angleIdx = angleIdx;
        _magIdx = magIdx;
        var order = new List<int>(n);
        foreach (int bus in _busOrder.Value)
        {
            if (angleIdx[bus] >= 0) order.Add(angleIdx[bus]);
            if (magIdx[bus] >= 0) order.Add(magIdx[bus]);
        }
        _order = [.. order];
        _patternPv = (int[])pv.Clone();
        _patternPq = (int[])pq.Clone();
        _j = null;
        _lu = null;
    }

    /// <summary>
    /// dS/dVa and dS/dVm entry by entry: off the diagonal −j·Vi·conj(Yik·Vk) and Vi·conj(Yik·Vk/|Vk|);
    /// on it the same plus j·Vi·conj(Ii) and conj(Ii)·Vi/|Vi|. Rows: P of PV and PQ buses, Q of PQ buses;
    /// columns: θ of PV and PQ buses, |V| of PQ buses. <see cref="EntryDerivatives"/> is one entry (also used by the loss factors).
    /// </summary>
    internal static (Complex DVa, Complex DVm) EntryDerivatives(Complex vi, Complex yik, Complex vk, Complex currentI, bool diagonal)
    {
        double vkAbs = vk.Magnitude;
        Complex yv = yik * vk;
        Complex dVa = -Complex.ImaginaryOne * vi * Complex.Conjugate(yv);
        Complex dVm = vkAbs > 0 ? vi * Complex.Conjugate(yv / vkAbs) : Complex.Zero;
        if (diagonal)
        {
            dVa += Complex.ImaginaryOne * vi * Complex.Conjugate(currentI);
            if (vkAbs > 0) dVm += Complex.Conjugate(currentI) * vi / vkAbs;
        }
        return (dVa, dVm);
    }

    private void FillJacobian(Complex[] v, Complex[] current)
    {
        var jac = _jacobian!;
        int[] angleIdx = _angleIdx, magIdx = _magIdx;
        jac.Begin();
        for (int i = 0; i < ybus.Rows; i++)
        {
            int pr = angleIdx[i], qr = magIdx[i];
            if (pr < 0) continue; // the reference bus has no equations (and a PQ bus has both)
            Complex vi = v[i];
            for (int p = ybus.RowPtr[i]; p < ybus.RowPtr[i + 1]; p++)
            {
                int k = ybus.ColIdx[p], ac = angleIdx[k], mc = magIdx[k];
                if (ac < 0) continue; // nor unknowns
                var (dVa, dVm) = EntryDerivatives(vi, ybus.Values[p], v[k], current[i], k == i);
                jac.Add(pr, ac, dVa.Real);
                if (mc >= 0) jac.Add(pr, mc, dVm.Real);
                if (qr >= 0)
                {
                    jac.Add(qr, ac, dVa.Imaginary);
                    if (mc >= 0) jac.Add(qr, mc, dVm.Imaginary);
                }
            }
        }
        _j = jac.Finish();
    }
}
