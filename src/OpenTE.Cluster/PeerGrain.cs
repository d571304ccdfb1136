using OpenTE.Market.P2p;

namespace OpenTE.Cluster;

/// <summary>
/// A peer of the P2P market as an Orleans grain. Its cost, limits and trade charges are given to it once and never
/// leave it; each round it receives only its partners' trade proposals (P_mn) and answers with its own (P_nm).
/// It keeps its bilateral prices λ_nm itself.
/// </summary>
public interface IPeerGrain : IGrainWithStringKey
{
    /// <summary>Gives the peer its private data; returns the silo it lives on.</summary>
    Task<string> Init(string id, double a, double b, double pmin, double pmax, int[] partners, double[] charges);

    /// <summary>
    /// One ADMM round: with its partners' last proposals, first finish the last round — consensus z_nm and prices
    /// λ_nm with over-relaxation α (<see cref="P2pAdmm.Consensus"/>, with ρ_prev; skipped in the first round) —
    /// then solve the local step with ρ towards z_nm − λ_nm/ρ.
    /// </summary>
    Task<double[]> Round(double[] partnerProposals, double rhoPrevious, double rho, double alpha, bool first);

    /// <summary>The last consensus and price update, after the final round, and the prices −λ_nm ($/MWh) per partner.</summary>
    Task<double[]> Finish(double[] partnerProposals, double rho, double alpha);
}

/// <remarks>
/// Random placement: Orleans' default since 9.2 places by the silos' CPU and memory statistics, which put all of a
/// market's peers on one silo of an idle test cluster; a market's peers should spread over the silos.
/// </remarks>
[Orleans.Placement.RandomPlacement]
public sealed class PeerGrain : Grain, IPeerGrain
{
    private Peer? _peer;
    private int[] _partners = [];
    private double[] _own = [], _z = [], _lambda = [], _target = [], _charges = [];

    public Task<string> Init(string id, double a, double b, double pmin, double pmax, int[] partners, double[] charges)
    {
        _peer = new Peer(id, a, b, pmin, pmax, partners.Zip(charges).ToDictionary(x => x.First, x => x.Second));
        _partners = partners;
        _charges = charges;
        _own = new double[partners.Length];
        _z = new double[partners.Length];
        _lambda = new double[partners.Length];
        _target = new double[partners.Length];
        return Task.FromResult(RuntimeIdentity);
    }

    public Task<double[]> Round(double[] partnerProposals, double rhoPrevious, double rho, double alpha, bool first)
    {
        var peer = _peer ?? throw new InvalidOperationException("the peer grain was not initialised");
        if (!first) UpdatePrices(partnerProposals, rhoPrevious, alpha);
        for (int k = 0; k < _partners.Length; k++) _target[k] = _z[k] - _lambda[k] / rho;
        var next = new double[_partners.Length];
        PeerStep.Solve(peer, _charges, _target, rho, next);
        _own = next;
        return Task.FromResult((double[])next.Clone());
    }

    public Task<double[]> Finish(double[] partnerProposals, double rho, double alpha)
    {
        UpdatePrices(partnerProposals, rho, alpha);
        return Task.FromResult(_lambda.Select(l => -l).ToArray());
    }

    private void UpdatePrices(double[] partnerProposals, double rho, double alpha)
    {
        for (int k = 0; k < _partners.Length; k++)
        {
            (_z[k], double step) = P2pAdmm.Consensus(_own[k], partnerProposals[k], _z[k], alpha);
            _lambda[k] += rho * step;
        }
    }
}
