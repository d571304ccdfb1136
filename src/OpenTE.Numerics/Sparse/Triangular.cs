namespace OpenTE.Numerics.Sparse;

/// <summary>Triangular solves shared by the factorisations.</summary>
internal static class Triangular
{
    /// <summary>
    /// y ← L⁻¹·y for a unit lower triangular L stored by columns, strictly lower part only: column k's rows
    /// <paramref name="li"/>[lp[k]..lp[k+1]) and values <paramref name="lx"/> (column-oriented, skipping zero entries of y).
    /// </summary>
    public static void UnitLowerByColumns(int[] lp, int[] li, double[] lx, Span<double> y)
    {
        for (int k = 0; k < y.Length; k++)
        {
            double yk = y[k];
            if (yk == 0) continue;
            for (int t = lp[k], end = lp[k + 1]; t < end; t++) y[li[t]] -= lx[t] * yk;
        }
    }
}
