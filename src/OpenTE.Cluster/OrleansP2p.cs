using OpenTE.Market.Outcome;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTE.Market.P2p;

namespace OpenTE.Cluster;

/// <summary>
/// The ADMM P2P market with every peer in an Orleans grain. A coordinator routes trade proposals between
/// partners and computes the residuals (which need only the proposals), exactly the iteration of
/// <see cref="P2pAdmm"/>: the same market gives the same iterates. Grains may live on any silo of the cluster.
/// </summary>
public static class OrleansP2p
{
    /// <param name="placement">If given, receives how many peer grains each silo hosts.</param>
    public static async Task<P2pResult> SolveAsync(IGrainFactory grains, P2pMarketData data, AdmmOptions? options = null, string market = "market",
        IDictionary<string, int>? placement = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var o = options ?? new AdmmOptions();
        data.Validate();
        int N = data.Peers.Count;
        var (partners, back) = data.Links();
        var peers = Enumerable.Range(0, N).Select(n => grains.GetGrain<IPeerGrain>($"{market}/{n}")).ToArray();
        var silos = await Task.WhenAll(Enumerable.Range(0, N).Select(n =>
        {
            var p = data.Peers[n];
            return peers[n].Init(p.Id, p.A, p.B, p.Pmin, p.Pmax, partners[n], [.. partners[n].Select(m => p.Partners[m])]);
        }));
        if (placement is not null)
            foreach (var g in silos.GroupBy(s => s)) placement[g.Key] = g.Count();
        var P = partners.Select(p => new double[p.Length]).ToArray();
        var z = partners.Select(p => new double[p.Length]).ToArray();   // the coordinator's copy of the consensus, for the residuals only
        double rho = o.Rho, rhoPrev = o.Rho, alpha = o.Relaxation;
        var history = new List<(double Primal, double Dual, double Rho)>();
        var status = ClearingStatus.NotConverged;
        int iter;
        double[] Incoming(double[][] proposals, int n) => [.. partners[n].Select((m, k) => proposals[m][back[n][k]])];
        for (iter = 1; iter <= o.MaxIterations; iter++)
        {
            var current = P;
            var next = await Task.WhenAll(Enumerable.Range(0, N).Select(n => peers[n].Round(Incoming(current, n), rhoPrev, rho, alpha, iter == 1)));
            var (primal, dz) = P2pAdmm.Residuals(partners, back, next, z, alpha);
            P = next;
            rhoPrev = rho;
            if (o.Converged(iter, primal, rho * dz, ref rho, history)) { status = ClearingStatus.Optimal; break; }
        }
        var final = P;
        var prices = await Task.WhenAll(Enumerable.Range(0, N).Select(n => peers[n].Finish(Incoming(final, n), rhoPrev, alpha)));
        var result = P2pAdmm.Result(data, partners, P, [.. prices.Select(p => p.Select(v => -v).ToArray())], status, Math.Min(iter, o.MaxIterations), history, sw.Elapsed.TotalSeconds);
        return result;
    }

    /// <summary>Starts a single silo in this process (localhost clustering), solves, and stops it: the default Orleans engine.</summary>
    public static async Task<P2pResult> SolveInProcessAsync(P2pMarketData data, AdmmOptions? options = null)
    {
        using var host = Host.CreateDefaultBuilder()
            .UseOrleans(silo => silo.UseLocalhostClustering())
            .ConfigureLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.Error)) // stdout is the command's: no console logger
            .Build();
        await host.StartAsync();
        try { return await SolveAsync(host.Services.GetRequiredService<IGrainFactory>(), data, options); }
        finally { await host.StopAsync(); }
    }
}
