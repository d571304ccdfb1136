using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

/// <summary>
/// One peer's ADMM step (Sorin, Baroche &amp; Pinson 2019): with targets t_nm (z_nm − λ_nm/ρ from the last round),
/// <code>min  C_n(Σ_m P_nm) + Σ_m c_nm·|P_nm| + Σ_m ρ/2·(P_nm − t_nm)²,   sign(P_nm) fixed by the role, Pmin ≤ Σ P_nm ≤ Pmax</code>
/// For a marginal value μ the trades are P_nm(μ) = clip((β_m − μ)/ρ) with β_m = ρ·t_nm − s·c_nm (s = +1 producer, −1
/// consumer, clip to the role's sign): the sum S(μ) is piecewise linear in μ with breakpoints β_m. The optimum has
/// μ = C'(P) = a·P + b with P = S(μ) unless P is at a limit; on each linear piece that is one linear equation, so after
/// sorting the breakpoints the step is solved exactly in O(K log K) for K partners (no iteration, no tolerance).
/// Only the peer's own data and its partners' proposals enter: this runs unchanged inside an agent.
/// </summary>
public static class PeerStep
{
    /// <param name="charges">c_nm per partner, in the order of <paramref name="target"/> and <paramref name="trades"/>.</param>
    /// <param name="target">t_nm per partner (at least as long as <paramref name="charges"/>).</param>
    /// <param name="trades">Receives P_nm per partner.</param>
    public static void Solve(Peer peer, ReadOnlySpan<double> charges, ReadOnlySpan<double> target, double rho, Span<double> trades)
    {
        int K = charges.Length;
        double s = peer.Producer ? 1 : -1, a = peer.A, b = peer.B;
        // breakpoints in the order trades switch on as μ moves away from them: descending for a producer
        // (trade k is active for μ < β_k), ascending for a consumer (active for μ > β_k); kept as −s·β to sort one way
        Span<double> beta = K <= 128 ? stackalloc double[K] : new double[K];
        for (int k = 0; k < K; k++) beta[k] = -s * (rho * target[k] - s * charges[k]);
        beta.Sort(); // ascending in −s·β: producers' β descending, consumers' β ascending
        // unconstrained: on the piece where the first j breakpoints (in that order) are active, S(μ) = (B_j − j·μ)/ρ for
        // both roles (B_j the sum of those β), and S(μ) = P = (μ − b)/a gives μ = (a·B_j + ρ·b)/(a·j + ρ); the first j whose
        // μ has not yet reached the (j+1)-th breakpoint is the piece of the root (S − P is monotone in μ)
        double mu = double.NaN, sumB = 0;
        for (int j = 0; j <= K; j++)
        {
            if (j > 0) sumB += -s * beta[j - 1];
            double m = (a * sumB + rho * b) / (a * j + rho);
            double next = j == K ? double.NaN : -s * beta[j];
            // valid if the (j+1)-th breakpoint is not yet reached: producer μ ≥ β_(j+1), consumer μ ≤ β_(j+1)
            if (j == K || s * (m - next) >= 0) { mu = m; break; }
        }
        double total = (mu - b) / a;
        if (total > peer.Pmax || total < peer.Pmin)
        {
            // at a limit T: the trades add up to it, (B_j − j·μ)/ρ = T on the piece with j active → μ = (B_j − ρ·T)/j
            double T = Math.Clamp(total, peer.Pmin, peer.Pmax);
            if (T == 0) { trades[..K].Clear(); return; }
            sumB = 0;
            for (int j = 1; j <= K; j++)
            {
                sumB += -s * beta[j - 1];
                double m = (sumB - rho * T) / j;
                double next = j == K ? double.NaN : -s * beta[j];
                if (j == K || s * (m - next) >= 0) { mu = m; break; }
            }
        }
        for (int k = 0; k < K; k++)
        {
            double v = (rho * target[k] - s * charges[k] - mu) / rho;
            trades[k] = s > 0 ? Math.Max(0, v) : Math.Min(0, v);
        }
    }
}
