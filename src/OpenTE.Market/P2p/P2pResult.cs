using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

/// <summary>The result: trades P_nm (n sells to m when positive), the bilateral prices λ_nm, welfare and the ADMM history.</summary>
public sealed record P2pResult(
    ClearingStatus Status,
    int Iterations,
    double Welfare,
    double[] Power,                                   // per peer: Σ_m P_nm
    IReadOnlyList<Dictionary<int, double>> Trades,     // per peer n: partner m → P_nm
    IReadOnlyList<Dictionary<int, double>> Prices,     // per peer n: partner m → the trade's price −λ_nm ($/MWh): producer's MC + its charge = consumer's MU − its charge
    IReadOnlyList<(double Primal, double Dual, double Rho)> History,
    double Seconds)
{
    /// <summary>Σ over peers of cost (utility counts negative) plus trade charges, with the sign flipped: $/h.</summary>
    public static double WelfareOf(P2pMarketData data, IReadOnlyList<Dictionary<int, double>> trades)
    {
        double cost = 0;
        for (int n = 0; n < data.Peers.Count; n++)
        {
            var peer = data.Peers[n];
            cost += peer.Cost(trades[n].Values.Sum());
            foreach (var (m, p) in trades[n]) cost += peer.Partners[m] * Math.Abs(p);
        }
        return -cost;
    }
}
