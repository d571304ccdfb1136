using System.Diagnostics;
using OpenTE.Cluster;
using OpenTE.Market.P2p;

namespace OpenTE.Bench.P2p;

/// <summary>
/// `dotnet run -c Release --project bench/OpenTE.Bench.P2p`: ADMM to residuals ≤ 1e-4 for 1,000 peers × 10 partners
/// (local engine = the baseline, and the Orleans engine in the same run) and 10,000 peers (local).
/// </summary>
public static class Program
{
    public static int Main()
    {
        Console.WriteLine("P2P market by consensus ADMM, 10 partners per peer, residuals ≤ 1e-4 (baseline: the local engine on the same market)");
        Console.WriteLine($"{"peers",7} {"engine",8} {"status",14} {"iterations",11} {"seconds",9} {"ms/iteration",13} {"vs local",9}");
        foreach (int peers in new[] { 1000, 10000 })
        {
            var data = P2pGenerator.Random(peers, 10, 5);
            var local = P2pAdmm.Solve(data);
            Console.WriteLine($"{peers,7} {"local",8} {local.Status,14} {local.Iterations,11} {local.Seconds,9:0.00} {local.Seconds * 1e3 / local.Iterations,13:0.00} {1.0,8:0.0}x");
            if (peers > 1000) continue;
            var sw = Stopwatch.StartNew();
            var orleans = OrleansP2p.SolveInProcessAsync(data).GetAwaiter().GetResult();
            double total = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"{peers,7} {"orleans",8} {orleans.Status,14} {orleans.Iterations,11} {orleans.Seconds,9:0.00} {orleans.Seconds * 1e3 / orleans.Iterations,13:0.00} {orleans.Seconds / local.Seconds,8:0.0}x  (with silo start/stop {total:0.00} s; welfare differs by {Math.Abs(orleans.Welfare - local.Welfare) / Math.Abs(local.Welfare):E1})");
        }
        return 0;
    }
}
