using System.Numerics;
using System.Runtime.CompilerServices;
using OpenTE.Numerics;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Grid.PowerFlow;

/// <summary>
/// Newton–Raphson on the polar power-flow equations (MATPOWER's newtonpf). Unknowns: angles of PV and PQ
/// buses, magnitudes of PQ buses; equations: P mismatch at PV and PQ buses, Q mismatch at PQ buses.
/// <para>
/// Everything that depends only on the bus types is built once per assignment of types: the Jacobian's compressed
/// columns straight from the Ybus pattern, with each Ybus entry's (up to four) slots among the Jacobian's values, and
/// its fill-reducing order (the bus graph's minimum-degree order, expanded to (θ, |V|) per bus). An iteration then
/// writes the values in place through those slots (O(nnz), no allocation), refactorises on the LU's stored analysis
/// and solves with a preallocated work vector; the first factorisation predicts L and U from the elimination tree
/// (<see cref="LuOptions.DiagonalPivotsFirst"/>). Voltages, currents and mismatches are kept as real and imaginary
/// parts in double arrays: the same arithmetic as <see cref="Complex"/>, written out so that the ahead-of-time
/// compiled code needs no calls into System.Numerics.
/// </para>
/// </summary>
internal sealed class NewtonRaphson
{
    private readonly ComplexCsr _ybus;
    private readonly int _nb;
    private readonly int[] _rowPtr, _colIdx;
    private readonly double[] _g, _b;                 // Ybus = G + jB, entry by entry
    private readonly double[] _e, _f, _vm, _va;       // V = e + jf = vm·∠va, by bus (a Newton step may make vm negative: |V| = |vm|)
    private readonly double[] _ir, _ii;               // I = Ybus·V at the buses with equations
    private readonly double[] _sr, _si;               // scheduled injections
    private int[]? _busOrder;                         // minimum-degree order of the bus graph, computed once

    // per assignment of bus types
    private int[]? _patternPv, _patternPq;
    private int[] _angleIdx = [], _magIdx = [];
    private SparseMatrix? _j;
    private int[] _slotPa = [], _slotPm = [], _slotQa = [], _slotQm = []; // per Ybus entry: its slot in J's values, −1 if none
    private int[] _order = [];
    private LuOptions? _luOptions;
    private SparseLU? _lu;
    private double[] _rhs = Arrays.NoDoubles, _work = Arrays.NoDoubles;

    public NewtonRaphson(ComplexCsr ybus)
    {
        _ybus = ybus;
        _nb = ybus.Rows;
        _rowPtr = ybus.RowPtr;
        _colIdx = ybus.ColIdx;
        int nnz = ybus.Nnz;
        _g = new double[nnz];
        _b = new double[nnz];
        var y = ybus.Values;
        for (int p = 0; p < nnz; p++) { _g[p] = y[p].Real; _b[p] = y[p].Imaginary; }
        _e = new double[_nb];
        _f = new double[_nb];
        _vm = new double[_nb];
        _va = new double[_nb];
        _ir = new double[_nb];
        _ii = new double[_nb];
        _sr = new double[_nb];
        _si = new double[_nb];
    }

    public double LastMismatch { get; private set; }
    public long FactorNonZeros { get; private set; }

    /// <summary>Solves in place on <paramref name="v"/>. Returns convergence and the number of Newton updates.</summary>
    public (bool Converged, int Iterations) Solve(Complex[] sbus, Complex[] v, int[] pv, int[] pq, double tol, int maxIt)
    {
        int npv = pv.Length, npq = pq.Length, n1 = npv + npq, n = n1 + npq;
        if (_patternPv is null || !SameBuses(pv, _patternPv) || !SameBuses(pq, _patternPq!)) NewPattern(pv, pq);
        LoadVoltages(v);
        for (int i = 0; i < _nb; i++) { _sr[i] = sbus[i].Real; _si[i] = sbus[i].Imaginary; }
        double[] e = _e, f = _f, vm = _vm, va = _va, rhs = _rhs;
        int[] angleIdx = _angleIdx;

        LastMismatch = Mismatch();
        if (n == 0) return (true, 0);
        int it = 0;
        while (!(LastMismatch < tol) && it < maxIt)
        {
            if (!double.IsFinite(LastMismatch)) return (false, it);
            it++;
            FillJacobian();
            try
            {
                if (_lu is null) _lu = SparseLU.Factorize(_j!, _luOptions);
                else _lu.Refactorize(_j!);
            }
            catch (SingularMatrixException)
            {
                LastMismatch = double.NaN;
                return (false, it);
            }
            FactorNonZeros = _lu.Fill;
            for (int k = 0; k < n; k++) rhs[k] = -rhs[k];
            _lu.SolveWithWork(rhs.AsSpan(0, n), _work);
            for (int k = 0; k < npv; k++) va[pv[k]] += rhs[k];
            for (int k = 0; k < npq; k++)
            {
                va[pq[k]] += rhs[npv + k];
                vm[pq[k]] += rhs[n1 + k];
            }
            for (int i = 0; i < _nb; i++)
            {
                if (angleIdx[i] < 0) continue;
                // as Complex.FromPolarCoordinates
                var (sin, cos) = Math.SinCos(va[i]);
                e[i] = vm[i] * cos;
                f[i] = vm[i] * sin;
                v[i] = new Complex(e[i], f[i]);
            }
            LastMismatch = Mismatch();
        }
        return (LastMismatch < tol, it);
    }

    private static bool SameBuses(int[] a, int[] b)
    {
        if (a.Length != b.Length) return false;
        for (int k = 0; k < a.Length; k++)
            if (a[k] != b[k]) return false;
        return true;
    }

    private void LoadVoltages(Complex[] v)
    {
        for (int i = 0; i < _nb; i++)
        {
            _e[i] = v[i].Real;
            _f[i] = v[i].Imaginary;
            _vm[i] = v[i].Magnitude;
            _va[i] = v[i].Phase;
        }
    }

    /// <summary>
    /// I = Ybus·V and the mismatch V·conj(I) − S at the buses with equations, into the right-hand side (P rows at
    /// the angle unknowns' positions, Q rows at the magnitude unknowns'); returns its largest magnitude (NaN if any is).
    /// </summary>
    private double Mismatch()
    {
        int[] rowPtr = _rowPtr, colIdx = _colIdx, angleIdx = _angleIdx, magIdx = _magIdx;
        double[] g = _g, b = _b, e = _e, f = _f, ir = _ir, ii = _ii, rhs = _rhs;
        double norm = 0;
        for (int i = 0; i < _nb; i++)
        {
            int a = angleIdx[i];
            if (a < 0) continue;
            double re = 0, im = 0;
            for (int p = rowPtr[i], end = rowPtr[i + 1]; p < end; p++)
            {
                int k = colIdx[p];
                re += g[p] * e[k] - b[p] * f[k];
                im += g[p] * f[k] + b[p] * e[k];
            }
            ir[i] = re;
            ii[i] = im;
            double misP = e[i] * re + f[i] * im - _sr[i];
            double misQ = f[i] * re - e[i] * im - _si[i];
            rhs[a] = misP;
            norm = Math.Max(norm, Math.Abs(misP));
            int m = magIdx[i];
            if (m >= 0)
            {
                rhs[m] = misQ;
                norm = Math.Max(norm, Math.Abs(misQ));
            }
        }
        return norm;
    }

    /// <summary>The Jacobian at voltages <paramref name="v"/> for the given bus types (tests and sensitivity studies).</summary>
    internal SparseMatrix Jacobian(Complex[] v, int[] pv, int[] pq)
    {
        NewPattern(pv, pq);
        return JacobianValues(v);
    }

    /// <summary>The Jacobian's values at <paramref name="v"/> on the pattern of the last <see cref="Jacobian"/> call, in place.</summary>
    internal SparseMatrix JacobianValues(Complex[] v)
    {
        LoadVoltages(v);
        Mismatch(); // the currents; the mismatch itself is not needed here
        FillJacobian();
        return _j!;
    }

    /// <summary>Column order of the Jacobian's factorisation: the bus order expanded to (θ, |V|) per bus.</summary>
    internal int[] JacobianOrder => _order;

    /// <summary>
    /// The Jacobian's compressed columns for new bus types, straight from the Ybus pattern: row r of J is the P (or
    /// Q) equation of a bus i, its entries come from Ybus row i (one per unknown of each neighbour k). Rows are
    /// generated in increasing r and placed by column, so each column's rows come out sorted; every Ybus entry
    /// remembers its slots. Also the fill-reducing column order and a fresh factorisation.
    /// </summary>
    private void NewPattern(int[] pv, int[] pq)
    {
        int nb = _nb, npv = pv.Length, npq = pq.Length, n1 = npv + npq, n = n1 + npq;
        var angleIdx = new int[nb];
        var magIdx = new int[nb];
        for (int i = 0; i < nb; i++) { angleIdx[i] = -1; magIdx[i] = -1; }
        for (int k = 0; k < npv; k++) angleIdx[pv[k]] = k;
        for (int k = 0; k < npq; k++) { angleIdx[pq[k]] = npv + k; magIdx[pq[k]] = n1 + k; }

        int[] rowPtr = _rowPtr, colIdx = _colIdx;
        var colPtr = new int[n + 1];
        for (int r = 0; r < n; r++)
        {
            int i = r < npv ? pv[r] : r < n1 ? pq[r - npv] : pq[r - n1];
            for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++)
            {
                int k = colIdx[p], ac = angleIdx[k];
                if (ac < 0) continue;
                colPtr[ac + 1]++;
                int mc = magIdx[k];
                if (mc >= 0) colPtr[mc + 1]++;
            }
        }
        for (int c = 0; c < n; c++) colPtr[c + 1] += colPtr[c];
        var rowIdx = new int[colPtr[n]];
        var next = new int[n];
        Array.Copy(colPtr, next, n);
        int nnzY = _ybus.Nnz;
        int[] slotPa = new int[nnzY], slotPm = new int[nnzY], slotQa = new int[nnzY], slotQm = new int[nnzY];
        for (int p = 0; p < nnzY; p++) { slotPa[p] = -1; slotPm[p] = -1; slotQa[p] = -1; slotQm[p] = -1; }
        for (int r = 0; r < n; r++)
        {
            bool q = r >= n1;
            int i = r < npv ? pv[r] : r < n1 ? pq[r - npv] : pq[r - n1];
            int[] angleSlots = q ? slotQa : slotPa, magSlots = q ? slotQm : slotPm;
            for (int p = rowPtr[i]; p < rowPtr[i + 1]; p++)
            {
                int k = colIdx[p], ac = angleIdx[k];
                if (ac < 0) continue;
                int slot = next[ac]++;
                rowIdx[slot] = r;
                angleSlots[p] = slot;
                int mc = magIdx[k];
                if (mc < 0) continue;
                slot = next[mc]++;
                rowIdx[slot] = r;
                magSlots[p] = slot;
            }
        }
        _j = new SparseMatrix(n, n, colPtr, rowIdx, new double[rowIdx.Length]);
        _slotPa = slotPa;
        _slotPm = slotPm;
        _slotQa = slotQa;
        _slotQm = slotQm;
        _angleIdx = angleIdx;
        _magIdx = magIdx;

        // approximate-minimum-degree order of the bus graph (Ybus pattern), computed once: the Jacobian has 2×2 blocks on
        // that graph, so the bus order expanded to (θ, |V|) per bus is a fill-reducing order at a quarter of the cost
        // (Ybus is structurally symmetric: its CSR pattern is its CSC pattern)
        _busOrder ??= Amd.Order(nb, rowPtr, colIdx);
        var order = new int[n];
        int w = 0;
        foreach (int bus in _busOrder)
        {
            if (angleIdx[bus] >= 0) order[w++] = angleIdx[bus];
            if (magIdx[bus] >= 0) order[w++] = magIdx[bus];
        }
        _order = order;
        _luOptions = new LuOptions { ColumnOrder = order, DiagonalPivotsFirst = true };
        _patternPv = (int[])pv.Clone();
        _patternPq = (int[])pq.Clone();
        _rhs = new double[n];
        _work = new double[n];
        _lu = null;
    }

    /// <summary>
    /// dS/dVa and dS/dVm entry by entry (MATPOWER's dSbus_dV, polar): off the diagonal −j·Vi·conj(Yik·Vk) and
    /// Vi·conj(Yik·Vk/|Vk|); on it the same plus j·Vi·conj(Ii) and conj(Ii)·Vi/|Vi|. Rows: P of PV and PQ buses, Q
    /// of PQ buses; columns: θ of PV and PQ buses, |V| of PQ buses. <see cref="EntryDerivatives(Complex, Complex, Complex, Complex, bool)"/>
    /// is one entry in <see cref="Complex"/> form (the loss factors use it).
    /// </summary>
    internal static (Complex DVa, Complex DVm) EntryDerivatives(Complex vi, Complex yik, Complex vk, Complex currentI, bool diagonal)
    {
        EntryDerivatives(vi.Real, vi.Imaginary, yik.Real, yik.Imaginary, vk.Real, vk.Imaginary, vk.Magnitude,
            currentI.Real, currentI.Imaginary, diagonal, out double vaRe, out double vaIm, out double vmRe, out double vmIm);
        return (new Complex(vaRe, vaIm), new Complex(vmRe, vmIm));
    }

    /// <summary>One entry of dS/dVa and dS/dVm in real and imaginary parts: Vi = ei + j·fi, Yik = g + j·b, Vk = ek + j·fk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void EntryDerivatives(double ei, double fi, double g, double b, double ek, double fk, double vkAbs,
        double iRe, double iIm, bool diagonal, out double vaRe, out double vaIm, out double vmRe, out double vmIm)
    {
        // Yik·Vk, then Vi·conj(Yik·Vk): dVa = −j·(that)
        double yr = g * ek - b * fk, yi = g * fk + b * ek;
        vaRe = fi * yr - ei * yi;
        vaIm = -(ei * yr + fi * yi);
        vmRe = 0;
        vmIm = 0;
        if (vkAbs > 0)
        {
            double sr = yr / vkAbs, si = yi / vkAbs;
            vmRe = ei * sr + fi * si;
            vmIm = fi * sr - ei * si;
        }
        if (diagonal)
        {
            // Vi·conj(Ii) = s: dVa += j·s, dVm += s/|Vi|
            double s1 = ei * iRe + fi * iIm, s2 = fi * iRe - ei * iIm;
            vaRe += -s2;
            vaIm += s1;
            if (vkAbs > 0)
            {
                vmRe += s1 / vkAbs;
                vmIm += s2 / vkAbs;
            }
        }
    }

    /// <summary>Writes the Jacobian's values at the current voltages and currents through the slots (every slot once).</summary>
    private void FillJacobian()
    {
        int[] rowPtr = _rowPtr, colIdx = _colIdx, angleIdx = _angleIdx, magIdx = _magIdx;
        int[] slotPa = _slotPa, slotPm = _slotPm, slotQa = _slotQa, slotQm = _slotQm;
        double[] g = _g, b = _b, e = _e, f = _f, vm = _vm, values = _j!.Values;
        for (int i = 0; i < _nb; i++)
        {
            if (angleIdx[i] < 0) continue; // the reference bus has no equations (and a PQ bus has both)
            bool hasQ = magIdx[i] >= 0;
            double ei = e[i], fi = f[i], iRe = _ir[i], iIm = _ii[i];
            for (int p = rowPtr[i], end = rowPtr[i + 1]; p < end; p++)
            {
                int sa = slotPa[p];
                if (sa < 0) continue; // nor unknowns
                int k = colIdx[p];
                EntryDerivatives(ei, fi, g[p], b[p], e[k], f[k], Math.Abs(vm[k]), iRe, iIm, k == i,
                    out double vaRe, out double vaIm, out double vmRe, out double vmIm);
                values[sa] = vaRe;
                int sm = slotPm[p];
                if (sm >= 0) values[sm] = vmRe;
                if (hasQ)
                {
                    values[slotQa[p]] = vaIm;
                    if (sm >= 0) values[slotQm[p]] = vmIm;
                }
            }
        }
    }
}
