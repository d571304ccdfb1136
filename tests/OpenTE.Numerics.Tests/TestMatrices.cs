using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Tests;

/// <summary>Kinds of random square test matrices.</summary>
public enum MatrixKind
{
    /// <summary>Strictly diagonally dominant: every diagonal pivot is acceptable.</summary>
    Dominant,
    /// <summary>Random entries plus one guaranteed entry per row in a permuted position; no dominance.</summary>
    General,
    /// <summary>Like <see cref="General"/>, with every diagonal entry removed: forces off-diagonal pivots.</summary>
    ZeroDiagonal,
    /// <summary>A dominant matrix with its rows shuffled: the large entries sit off the diagonal.</summary>
    PermutedDominant,
}

/// <summary>Generators of test matrices and a dense reference LU.</summary>
internal static class TestMatrices
{
    public static SparseMatrix Random(int n, int seed, double density, MatrixKind kind)
    {
        var rnd = new Random(seed);
        var b = new TripletBuilder(n, n);
        var perm = Enumerable.Range(0, n).OrderBy(_ => rnd.Next()).ToArray();
        double Sign() => rnd.Next(2) == 0 ? -1 : 1;
        for (int i = 0; i < n; i++)
        {
            int row = kind == MatrixKind.PermutedDominant ? perm[i] : i;
            for (int j = 0; j < n; j++)
            {
                if (kind == MatrixKind.ZeroDiagonal && i == j) continue;
                if (rnd.NextDouble() < density) b.Add(row, j, rnd.NextDouble() * 2 - 1);
            }
            switch (kind)
            {
                case MatrixKind.Dominant:
                case MatrixKind.PermutedDominant:
                    b.Add(row, i, Sign() * (n + 1) * (rnd.NextDouble() + 0.5));
                    break;
                case MatrixKind.General:
                    b.Add(i, perm[i], Sign() * (rnd.NextDouble() + 0.5));
                    break;
                case MatrixKind.ZeroDiagonal:
                    // a derangement-like guaranteed entry: never on the diagonal when n > 1
                    int j2 = perm[i] == i ? perm[(i + 1) % n] : perm[i];
                    if (j2 != i) b.Add(i, j2, Sign() * (rnd.NextDouble() + 0.5));
                    break;
            }
        }
        return b.ToCsc();
    }

    /// <summary>
    /// A random symmetric KKT matrix [H Aᵀ; A 0]: H symmetric positive definite (diagonal plus weak coupling),
    /// A (m×nv, m ≤ nv) with one guaranteed entry per row on distinct columns, so K is nonsingular.
    /// </summary>
    public static SparseMatrix Kkt(int nv, int m, int seed, double density)
    {
        var rnd = new Random(seed);
        int n = nv + m;
        var b = new TripletBuilder(n, n);
        for (int i = 0; i < nv; i++) b.Add(i, i, 1 + 4 * rnd.NextDouble());
        for (int i = 0; i < nv; i++)
            for (int j = 0; j < i; j++)
                if (rnd.NextDouble() < density / 4)
                {
                    double v = 0.2 * (rnd.NextDouble() - 0.5);
                    b.Add(i, j, v);
                    b.Add(j, i, v);
                }
        var cols = Enumerable.Range(0, nv).OrderBy(_ => rnd.Next()).ToArray();
        for (int r = 0; r < m; r++)
        {
            void Add(int j, double v)
            {
                b.Add(nv + r, j, v);
                b.Add(j, nv + r, v);
            }
            Add(cols[r], (rnd.Next(2) == 0 ? -1 : 1) * (1 + rnd.NextDouble()));
            for (int j = 0; j < nv; j++)
                if (j != cols[r] && rnd.NextDouble() < density) Add(j, rnd.NextDouble() * 2 - 1);
        }
        return b.ToCsc();
    }

    /// <summary>
    /// The reduced interior-point KKT matrix of a DC OPF on an m×m bus grid: unknowns (θ, g) and one balance
    /// row per bus plus the angle reference; M = Bfᵀ·D·Bf + 1e-8·I on θ with barrier weights D spread over
    /// eight decades, diag(2 + barrier) on g; the constraint block is −1e-8·I (dual regularisation).
    /// </summary>
    public static SparseMatrix OpfKkt(int m, int seed)
    {
        var rnd = new Random(seed);
        int nb = m * m, nv = 2 * nb, n = nv + nb + 1;
        var t = new TripletBuilder(n, n, 16 * n);
        void Sym(int r, int c, double v)
        {
            t.Add(r, c, v);
            t.Add(c, r, v);
        }
        void Line(int i, int j)
        {
            double b = 5 + 10 * rnd.NextDouble();
            double d = Math.Pow(10, rnd.NextDouble() * 8 - 4) * b * b;
            t.Add(i, i, d);
            t.Add(j, j, d);
            Sym(i, j, -d);
            Sym(nv + i, i, b);
            Sym(nv + j, j, b);
            Sym(nv + i, j, -b);
            Sym(nv + j, i, -b);
        }
        for (int r = 0; r < m; r++)
            for (int c = 0; c < m; c++)
            {
                int i = r * m + c;
                if (c + 1 < m) Line(i, i + 1);
                if (r + 1 < m && (c == 0 || rnd.NextDouble() < 0.7)) Line(i, i + m);
            }
        for (int i = 0; i < nb; i++)
        {
            t.Add(i, i, 1e-8);
            t.Add(nb + i, nb + i, 2 + Math.Pow(10, rnd.NextDouble() * 8 - 4));
            Sym(nv + i, nb + i, -1);
            t.Add(nv + i, nv + i, -1e-8);
        }
        Sym(n - 1, 0, 1);
        t.Add(n - 1, n - 1, -1e-8);
        return t.ToCsc();
    }

    /// <summary>The 5-point Laplacian (plus a small shift) of an m×k grid, nodes row by row.</summary>
    public static SparseMatrix Grid(int m, int k, double diagonal = 4.5)
    {
        int n = m * k;
        var b = new TripletBuilder(n, n, 5 * n);
        for (int r = 0; r < m; r++)
            for (int c = 0; c < k; c++)
            {
                int i = r * k + c;
                b.Add(i, i, diagonal);
                if (c + 1 < k) { b.Add(i, i + 1, -1); b.Add(i + 1, i, -1); }
                if (r + 1 < m) { b.Add(i, i + k, -1); b.Add(i + k, i, -1); }
            }
        return b.ToCsc();
    }

    /// <summary>Arrow matrix: diagonal plus a full first row and column (the hub is node 0).</summary>
    public static SparseMatrix Arrow(int n)
    {
        var b = new TripletBuilder(n, n, 3 * n);
        for (int i = 0; i < n; i++)
        {
            b.Add(i, i, n);
            if (i > 0) { b.Add(0, i, 1); b.Add(i, 0, 1); }
        }
        return b.ToCsc();
    }

    public static SparseMatrix WithValues(SparseMatrix a, Func<int, double, double> f) =>
        new(a.Rows, a.Cols, a.ColPtr, a.RowIdx, a.Values.Select((v, k) => f(k, v)).ToArray());

    public static double[] RandomVector(int n, int seed)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rnd.NextDouble() * 10 - 5).ToArray();
    }

    public static double NormInf(ReadOnlySpan<double> v)
    {
        double m = 0;
        foreach (double x in v) m = Math.Max(m, Math.Abs(x));
        return m;
    }

    /// <summary>‖A·x − b‖∞ (or Aᵀ·x − b).</summary>
    public static double Residual(SparseMatrix a, double[] x, double[] b, bool transpose = false)
    {
        var ax = new double[transpose ? a.Cols : a.Rows];
        if (transpose) a.MultiplyTranspose(x, ax); else a.Multiply(x, ax);
        double r = 0;
        for (int i = 0; i < ax.Length; i++) r = Math.Max(r, Math.Abs(ax[i] - b[i]));
        return r;
    }

    /// <summary>The backward-error scale ‖A‖·‖x‖ + ‖b‖ (∞-norms; ‖Aᵀ‖∞ = ‖A‖₁ for the transpose).</summary>
    public static double Scale(SparseMatrix a, double[] x, double[] b, bool transpose = false) =>
        (transpose ? a.Transpose().NormInf() : a.NormInf()) * NormInf(x) + NormInf(b) + 1e-300;
}

/// <summary>Dense LU with partial pivoting, the reference for the sparse LU in tests.</summary>
internal sealed class DenseLu
{
    private readonly double[,] _lu;
    private readonly int[] _piv;

    /// <summary>max|u_kk| / min|u_kk| times n: a crude condition indicator used to skip hopeless samples.</summary>
    public double Cond { get; }

    private DenseLu(double[,] lu, int[] piv, double cond)
    {
        _lu = lu;
        _piv = piv;
        Cond = cond;
    }

    /// <summary>Null when some pivot is below 1e-13 relative to the matrix's largest entry (singular to working accuracy).</summary>
    public static DenseLu? TryFactor(double[,] a)
    {
        int n = a.GetLength(0);
        var lu = (double[,])a.Clone();
        var piv = Enumerable.Range(0, n).ToArray();
        double amax = 0;
        foreach (double v in a) amax = Math.Max(amax, Math.Abs(v));
        double maxPivot = 0, minPivot = double.PositiveInfinity;
        for (int k = 0; k < n; k++)
        {
            int p = k;
            for (int i = k + 1; i < n; i++) if (Math.Abs(lu[i, k]) > Math.Abs(lu[p, k])) p = i;
            if (!(Math.Abs(lu[p, k]) > 1e-13 * amax)) return null;
            if (p != k)
            {
                for (int j = 0; j < n; j++) (lu[k, j], lu[p, j]) = (lu[p, j], lu[k, j]);
                (piv[k], piv[p]) = (piv[p], piv[k]);
            }
            maxPivot = Math.Max(maxPivot, Math.Abs(lu[k, k]));
            minPivot = Math.Min(minPivot, Math.Abs(lu[k, k]));
            for (int i = k + 1; i < n; i++)
            {
                lu[i, k] /= lu[k, k];
                for (int j = k + 1; j < n; j++) lu[i, j] -= lu[i, k] * lu[k, j];
            }
        }
        return new DenseLu(lu, piv, n == 0 ? 1 : maxPivot / minPivot * n);
    }

    public double[] Solve(double[] b)
    {
        int n = b.Length;
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = b[_piv[i]];
        for (int i = 0; i < n; i++) for (int j = 0; j < i; j++) x[i] -= _lu[i, j] * x[j];
        for (int i = n - 1; i >= 0; i--)
        {
            for (int j = i + 1; j < n; j++) x[i] -= _lu[i, j] * x[j];
            x[i] /= _lu[i, i];
        }
        return x;
    }
}
