using OpenTE.Market.Outcome;
using Orleans.TestingHost;
using OpenTE.Market.P2p;

namespace OpenTE.Cluster.Tests;

/// <summary>One 3-silo in-process cluster for the class (Orleans TestingHost).</summary>
public sealed class ThreeSilos : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(3);
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        await Cluster.WaitForLivenessToStabilizeAsync(); // every silo knows the others before grains are placed
    }

    public async Task DisposeAsync() => await Cluster.StopAllSilosAsync();
}

public class OrleansP2pTests(ThreeSilos silos) : IClassFixture<ThreeSilos>
{
    /// <summary>Issue #7: grains spread over a 3-silo cluster reach the same result as the in-process ADMM (plain and over-relaxed).</summary>
    [Theory]
    [InlineData(1.0)]
    [InlineData(1.6)]
    public async Task Three_silo_cluster_reaches_the_in_process_result(double alpha)
    {
        Assert.Equal(3, silos.Cluster.Silos.Count);
        var data = P2pGenerator.Random(40, 4, 21);
        var options = new AdmmOptions { Relaxation = alpha };
        var local = P2pAdmm.Solve(data, options);
        var placement = new Dictionary<string, int>();
        var cluster = await OrleansP2p.SolveAsync(silos.Cluster.GrainFactory, data, options, market: $"t1-{alpha}", placement: placement);
        Assert.Equal(data.Peers.Count, placement.Values.Sum());
        Assert.True(placement.Count >= 2, $"all {data.Peers.Count} grains on one silo: {string.Join(", ", placement)}");
        Assert.Equal(ClearingStatus.Optimal, cluster.Status);
        Assert.Equal(local.Iterations, cluster.Iterations); // the same iteration, step for step
        Assert.Equal(local.Welfare, cluster.Welfare, 1e-6 * Math.Abs(local.Welfare));
        for (int n = 0; n < data.Peers.Count; n++)
            foreach (var (m, p) in local.Trades[n])
            {
                Assert.Equal(p, cluster.Trades[n][m], 1e-9);
                Assert.Equal(local.Prices[n][m], cluster.Prices[n][m], 1e-9);
            }
    }

    [Fact]
    public async Task The_cluster_result_is_the_central_optimum()
    {
        var data = P2pGenerator.Random(30, 3, 22);
        var cluster = await OrleansP2p.SolveAsync(silos.Cluster.GrainFactory, data, market: "t2");
        var central = P2pCentral.Solve(data);
        Assert.True(Math.Abs(cluster.Welfare - central.Welfare) <= 1e-4 * Math.Abs(central.Welfare));
    }
}

public class OrleansInProcessTests
{
    [Fact]
    public async Task The_default_engine_hosts_a_local_silo_and_solves()
    {
        var data = P2pGenerator.Random(20, 3, 23);
        var r = await OrleansP2p.SolveInProcessAsync(data);
        var local = P2pAdmm.Solve(data);
        Assert.True(r.Status == ClearingStatus.Optimal, $"orleans {r.Status.Word()} after {r.Iterations}, local {local.Status.Word()} after {local.Iterations}; last residuals {r.History[^1]}");
        Assert.Equal(P2pAdmm.Solve(data).Welfare, r.Welfare, 1e-6 * Math.Abs(r.Welfare));
    }
}
