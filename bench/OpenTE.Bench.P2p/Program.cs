using OpenTE.Market.Outcome;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using OpenTE.Cluster;
using OpenTE.Market.P2p;

namespace OpenTE.Bench.P2p;

/// <summary>
/// `dotnet run -c Release --project bench/OpenTE.Bench.P2p [-- --peers 1000,10000] [--cluster-db CONN]`: consensus ADMM to
/// residuals ≤ 1e-4 (2-norms over all trades) with 10 partners per peer. Baseline: the local engine with plain ADMM
/// (α = 1) on the same market; then over-relaxed (α = 1.6, the default), the Orleans engine on an in-process silo, and
/// with --cluster-db (or OPENTE_CLUSTER_DB) three silos clustered through PostgreSQL plus a client (all in this process:
/// the ADO.NET clustering path and real TCP between silos; scripts/p2p-silos-postgres.sh runs separate processes).
/// Orleans runs are made for up to 1,000 peers.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int[] sizes = [1000, 10000];
        string? db = Environment.GetEnvironmentVariable("OPENTE_CLUSTER_DB");
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--peers" && i + 1 < args.Length) sizes = [.. args[++i].Split(',').Select(int.Parse)];
            else if (args[i] == "--cluster-db" && i + 1 < args.Length) db = args[++i];
            else { Console.Error.WriteLine($"unknown argument {args[i]}; use --peers N[,N…] and --cluster-db CONNECTION"); return 2; }
        }
        Console.WriteLine("P2P market by consensus ADMM, 10 partners per peer, residuals ≤ 1e-4 MW (baseline: local engine, α = 1, same market)");
        Console.WriteLine($"{"peers",7} {"engine",-22} {"status",14} {"iterations",11} {"seconds",9} {"ms/iteration",13} {"vs baseline",12}  welfare");
        foreach (int peers in sizes)
        {
            var data = P2pGenerator.Random(peers, 10, 5);
            var baseline = P2pAdmm.Solve(data, new AdmmOptions { Relaxation = 1.0, MaxIterations = 40_000 });
            Row(peers, "local α=1", baseline, baseline);
            var relaxed = P2pAdmm.Solve(data, new AdmmOptions { MaxIterations = 40_000 });
            Row(peers, "local α=1.6", relaxed, baseline);
            if (peers > 1000) continue;
            var central = P2pCentral.Solve(data); // the interior point on the whole market: its KKT fill grows fast beyond ~2,000 peers
            Console.WriteLine($"{peers,7} {"central QP (IPM)",-22} {central.Status.Word(),14} {central.Iterations,11} {central.Seconds,9:0.00} {"",13} {central.Seconds / baseline.Seconds,11:0.00}x  {central.Welfare:F3} (ADMM α=1.6 within {Math.Abs(relaxed.Welfare - central.Welfare) / Math.Abs(central.Welfare):E1} relative)");
            Row(peers, "orleans in-process", OrleansP2p.SolveInProcessAsync(data).GetAwaiter().GetResult(), baseline);
            if (db is not null) Row(peers, "orleans 3 silos (pg)", OnPostgresCluster(db, data), baseline);
        }
        return 0;
    }

    private static void Row(int peers, string engine, P2pResult r, P2pResult baseline) =>
        Console.WriteLine($"{peers,7} {engine,-22} {r.Status.Word(),14} {r.Iterations,11} {r.Seconds,9:0.00} {r.Seconds * 1e3 / r.Iterations,13:0.000} {r.Seconds / baseline.Seconds,11:0.00}x  {r.Welfare:F3}");

    private static P2pResult OnPostgresCluster(string db, P2pMarketData data)
    {
        ClusterHosting.EnsureSchemaAsync(db).GetAwaiter().GetResult();
        var id = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var silos = Enumerable.Range(0, 3).Select(_ => ClusterHosting.BuildSilo(new ClusterEndpoint(db, id) { SiloPort = FreePort(), GatewayPort = FreePort() })).ToList();
        foreach (var s in silos) s.StartAsync().GetAwaiter().GetResult();
        try
        {
            var (r, placement) = ClusterHosting.SolveOnClusterAsync(new ClusterEndpoint(db, id), data).GetAwaiter().GetResult();
            Console.WriteLine($"        (peer grains per silo: {string.Join(", ", placement.Values.Order())})");
            return r;
        }
        finally
        {
            foreach (var s in silos) { s.StopAsync().GetAwaiter().GetResult(); s.Dispose(); }
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
