using OpenTE.Market.P2p;

namespace OpenTE.Cluster;

/// <summary>
/// A peer of the P2P market as an Orleans grain. Its cost, limits and trade charges are given to it once and never
/// leave it; each round it receives only its partners' trade proposals (P_mn) and answers with its own (P_nm).
/// It keeps its bilateral prices λ_nm itself.
/// </summary>
public interface IPeerGrain : IGrainWithStringKey
{
    Task Init(string id, double a, double b, double pmin, double pmax, int[] partners, double[] charges);

    /// <summary>
    /// One ADMM round: with its partners' last proposals, first update the prices from the last round
    /// (λ_nm += ρ_prev/2·(P_nm + P_mn), skipped in the first round), then solve the local step with ρ.
    /// </summary>
    Task<double[]> Round(double[] partnerProposals, double rhoPrevious, double rho, bool first);

    /// <summary>The last price update, after the final round, and the prices −λ_nm ($/MWh) per partner.</summary>
    Task<double[]> Finish(double[] partnerProposals, double rho);
}

public sealed class PeerGrain : Grain, IPeerGrain
{
    private Peer? _peer;
    private int[] _partners = [];
    private double[] _own = [], _lambda = [], _target = [];

    public Task Init(string id, double a, double b, double pmin, double pmax, int[] partners, double[] charges)
    {
        _peer = new Peer(id, a, b, pmin, pmax, partners.Zip(charges).ToDictionary(x => x.First, x => x.Second));
        _partners = partners;
        _own = new double[partners.Length];
        _lambda = new double[partners.Length];
        _target = new double[partners.Length];
        return Task.CompletedTask;
    }

    public Task<double[]> Round(double[] partnerProposals, double rhoPrevious, double rho, bool first)
    {
        var peer = _peer ?? throw new InvalidOperationException("the peer grain was not initialised");
        if (!first) UpdatePrices(partnerProposals, rhoPrevious);
        for (int k = 0; k < _partners.Length; k++) _target[k] = 0.5 * (_own[k] - partnerProposals[k]) - _lambda[k] / rho;
        var next = new double[_partners.Length];
        PeerStep.Solve(peer, _partners, _target, rho, next);
        _own = next;
        return Task.FromResult((double[])next.Clone());
    }

    public Task<double[]> Finish(double[] partnerProposals, double rho)
    {
        UpdatePrices(partnerProposals, rho);
        return Task.FromResult(_lambda.Select(l => -l).ToArray());
    }

    private void UpdatePrices(double[] partnerProposals, double rho)
    {
        for (int k = 0; k < _partners.Length; k++) _lambda[k] += 0.5 * rho * (_own[k] + partnerProposals[k]);
    }
}
