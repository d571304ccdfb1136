using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

/// <summary>The same market solved centrally as one QP (interior point): the reference the ADMM must reach.</summary>
public static class P2pCentral
{
    public static P2pResult Solve(P2pMarketData data)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        data.Validate();
        int N = data.Peers.Count;
        var m = new OptimizationModel();
        var (partners, back) = data.Links();
        var vars = new Variable[N][];
        for (int n = 0; n < N; n++)
        {
            var peer = data.Peers[n];
            double sign = peer.Producer ? 1 : -1;
            vars[n] = [.. partners[n].Select(k => m.AddVariable($"P[{n},{k}]", sign > 0 ? 0 : double.NegativeInfinity, sign > 0 ? double.PositiveInfinity : 0, peer.Partners[k] * sign))];
            var total = m.AddVariable($"P[{n}]", peer.Pmin, peer.Pmax, peer.B);
            m.AddQuadraticCost(total, total, peer.A);
            m.AddEquality($"sum[{n}]", 0, [(total, 1), .. vars[n].Select(v => (v, -1.0))]);
        }
        var recip = new Constraint[N][];
        for (int n = 0; n < N; n++)
        {
            recip[n] = new Constraint[partners[n].Length];
            for (int k = 0; k < partners[n].Length; k++)
            {
                int mm = partners[n][k];
                if (mm < n) continue;
                recip[n][k] = m.AddEquality($"reciprocity[{n},{mm}]", 0, [(vars[n][k], 1), (vars[mm][back[n][k]], 1)]);
            }
        }
        var sol = m.Solve(SolverKind.InteriorPoint);
        var P = vars.Select(v => v.Select(sol.Value).ToArray()).ToArray();
        // λ_nm: the price of the reciprocity constraint (same for both sides)
        var lam = partners.Select(p => new double[p.Length]).ToArray();
        for (int n = 0; n < N; n++)
            for (int k = 0; k < partners[n].Length; k++)
            {
                int mm = partners[n][k];
                var row = mm > n ? recip[n][k] : recip[mm][back[n][k]];
                lam[n][k] = -sol.Dual(row);
            }
        return P2pAdmm.Result(data, partners, P, lam, ClearingStatuses.From(sol.Status), sol.Iterations, [], sw.Elapsed.TotalSeconds);
    }
}
