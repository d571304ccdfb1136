using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

/// <summary>The consensus ADMM P2P market, all peers in this process (the reference engine; the Orleans engine runs the same steps in grains).</summary>
public static class P2pAdmm
{
    public static P2pResult Solve(P2pMarketData data, AdmmOptions? options = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var o = options ?? new AdmmOptions();
        data.Validate();
        int N = data.Peers.Count;
        var (partners, back) = data.Links();
        var P = partners.Select(p => new double[p.Length]).ToArray();
        var z = partners.Select(p => new double[p.Length]).ToArray();
        var lam = partners.Select(p => new double[p.Length]).ToArray();
        var charges = partners.Select((p, n) => p.Select(m => data.Peers[n].Partners[m]).ToArray()).ToArray();
        var target = new double[partners.Max(p => p.Length) + 1];
        double rho = o.Rho, alpha = o.Relaxation;
        var history = new List<(double Primal, double Dual, double Rho)>();
        var status = ClearingStatus.NotConverged;
        int iter = 0;
        for (iter = 1; iter <= o.MaxIterations; iter++)
        {
            for (int n = 0; n < N; n++)
            {
                for (int k = 0; k < partners[n].Length; k++) target[k] = z[n][k] - lam[n][k] / rho;
                PeerStep.Solve(data.Peers[n], charges[n], target, rho, P[n]);
            }
            var (primal, dz) = Residuals(partners, back, P, z, alpha, lam, rho);
            if (o.Converged(iter, primal, rho * dz, ref rho, history)) { status = ClearingStatus.Optimal; break; }
        }
        iter = Math.Min(iter, o.MaxIterations);
        return Result(data, partners, P, lam, status, iter, history, sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// After a round of proposals <paramref name="P"/>: the primal residual ‖P_nm + P_mn‖ (reciprocity) and ‖Δz‖, the
    /// change of the consensus (times ρ the dual residual), 2-norms over all trades. Updates z in place and, if given,
    /// the prices λ (<see cref="Consensus"/>). Needs only the proposals: the Orleans coordinator uses it too.
    /// </summary>
    public static (double Primal, double DeltaZ) Residuals(int[][] partners, int[][] back, double[][] P, double[][] z, double alpha,
        double[][]? lam = null, double rho = 0)
    {
        double primal = 0, dz = 0;
        for (int n = 0; n < partners.Length; n++)
            for (int k = 0; k < partners[n].Length; k++)
            {
                double own = P[n][k], other = P[partners[n][k]][back[n][k]];
                primal += (own + other) * (own + other);
                var (zNew, step) = Consensus(own, other, z[n][k], alpha);
                dz += (zNew - z[n][k]) * (zNew - z[n][k]);
                z[n][k] = zNew;
                if (lam is not null) lam[n][k] += rho * step;
            }
        return (Math.Sqrt(primal), Math.Sqrt(dz));
    }

    /// <summary>
    /// The consensus and price step for one trade (n, m) after a round: with over-relaxation α the proposals
    /// P̂_nm = α·P_nm + (1−α)·z_nm and P̂_mn = α·P_mn − (1−α)·z_nm give z_nm ← (P̂_nm − P̂_mn)/2 (z_mn = −z_nm) and
    /// λ_nm += ρ·(P̂_nm − z_nm) = ρ·(P̂_nm + P̂_mn)/2. Returns the new z_nm and (P̂_nm + P̂_mn)/2, the λ step over ρ.
    /// Needs only the peer's own proposal, its partner's and its own z: both sides compute the same z (antisymmetric).
    /// </summary>
    public static (double Z, double Step) Consensus(double own, double partner, double z, double alpha)
    {
        double hatOwn = alpha * own + (1 - alpha) * z, hatPartner = alpha * partner - (1 - alpha) * z;
        return (0.5 * (hatOwn - hatPartner), 0.5 * (hatOwn + hatPartner));
    }

    /// <summary>Packs trades and multipliers (λ, per peer and partner in ascending partner order) into a result.</summary>
    public static P2pResult Result(P2pMarketData data, int[][] partners, double[][] P, double[][] lam, ClearingStatus status, int iterations,
        List<(double, double, double)> history, double seconds)
    {
        int N = data.Peers.Count;
        var trades = new List<Dictionary<int, double>>(N);
        var prices = new List<Dictionary<int, double>>(N);
        for (int n = 0; n < N; n++)
        {
            trades.Add(partners[n].Select((m, k) => (m, k)).ToDictionary(x => x.m, x => P[n][x.k]));
            prices.Add(partners[n].Select((m, k) => (m, k)).ToDictionary(x => x.m, x => -lam[n][x.k]));
        }
        return new P2pResult(status, iterations, P2pResult.WelfareOf(data, trades), [.. trades.Select(t => t.Values.Sum())], trades, prices, history, seconds);
    }
}
