using System.Diagnostics;
using OpenTE.Grid.Model;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Market.Strategic;

namespace OpenTE.Bench;

/// <summary>
/// `--strategic [cases…]`: the strategic-bidding MPEC (issue #18) on MATPOWER cases with a leader of 3 and of 10 blocks, and a
/// two-leader equilibrium by diagonalisation. Each run is a cold solve in this process after one warm-up on case5-sized work;
/// the table gives wall time, binaries left to SCIP (and those fixed by the data), branch-and-bound nodes, MILP solves
/// (tangent and big-M rounds), and whether the re-clearing agreed.
/// </summary>
public static class StrategicBench
{
    public static int Run(string[] args)
    {
        string[] cases = args.Where(a => !a.StartsWith("--")).ToArray() is { Length: > 0 } named ? named : ["case30", "case118", "pglib/pglib_opf_case118_ieee"];
        // warm-up (JIT, native OR-Tools load)
        var warm = BenchCases.Load("case5");
        StrategicBidding.Solve(warm, Leader(warm, "L1", LargestLoadBuses(warm)[0], 3), ["L1"]);

        Console.WriteLine("Strategic bidding MPEC (SCIP through OR-Tools; single thread; wall time of StrategicBidding.Solve incl. competitive and re-clearing)");
        Console.WriteLine($"{"case",-30} {"scenario",-22} {"mode",-8} {"seconds",8} {"x clear",8} {"binaries",9} {"fixed",6} {"nodes",7} {"MILPs",6} {"profit $/h",12} {"competitive",12} {"re-clear",9}");
        foreach (var name in cases)
        {
            var net = BenchCases.Load(name);
            var buses = LargestLoadBuses(net);
            foreach (int blocks in new[] { 3, 10 })
                foreach (var mode in new[] { StrategicMode.Price, StrategicMode.Both })
                {
                    var bids = Leader(net, "L1", buses[0], blocks);
                    Report(name, $"1 leader, {blocks} blocks", mode, net, bids, ["L1"]);
                }
            if (name.Contains("118", StringComparison.Ordinal))
            {
                foreach (double share in new[] { 0.25, 0.12 })
                {
                    var bids = Leader(net, "L1", buses[0], 3, share).Concat(Leader(net, "L2", buses[1], 3, share)).ToList();
                    Report(name, $"2 leaders {share:P0}, 3 bl.", StrategicMode.Price, net, bids, ["L1", "L2"]);
                }
            }
        }
        return 0;
    }

    private static void Report(string name, string scenario, StrategicMode mode, Network net, IReadOnlyList<Bid> bids, string[] leaders)
    {
        // baseline in the same run: one ordinary DC clearing of the same market (warm, best of 3)
        double clear = double.PositiveInfinity;
        for (int i = 0; i < 3; i++)
        {
            var cw = Stopwatch.StartNew();
            DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids });
            clear = Math.Min(clear, cw.Elapsed.TotalSeconds);
        }
        var sw = Stopwatch.StartNew();
        var r = StrategicBidding.Solve(net, bids, leaders, new StrategicOptions { Mode = mode });
        double s = sw.Elapsed.TotalSeconds;
        string eq = r.Equilibrium is { } e ? $"  equilibrium: {(e.Converged ? "converged" : "not converged")} after {e.Iterations} rounds" : "";
        Console.WriteLine($"{name,-30} {scenario,-22} {mode.ToString().ToLowerInvariant(),-8} {s,8:0.00} {s / clear,7:0}x {r.Statistics.Binaries,9} {r.Statistics.FixedByData,6} {r.Statistics.Nodes,7} {r.Statistics.MilpSolves,6} {r.Profit,12:0.00} {r.Leaders.Sum(l => l.CompetitiveProfit),12:0.00} {(r.Recleared.Agrees ? "agrees" : "DIFFERS"),9}  {r.Status.Word()}{eq}");
        foreach (var m in r.Messages) Console.WriteLine("      " + m);
    }

    /// <summary>Buses by fixed load, largest first.</summary>
    public static int[] LargestLoadBuses(Network net) => [.. net.Buses.OrderByDescending(b => b.Pd).ThenBy(b => b.Id).Select(b => b.Id)];

    /// <summary>
    /// A leader at <paramref name="bus"/> with capacity <paramref name="share"/> of the case's load in <paramref name="blocks"/> equal blocks whose
    /// true costs rise from 0.6 to 1.2 times the competitive LMP at the bus (the case's DC clearing without the leader).
    /// </summary>
    public static List<Bid> Leader(Network net, string name, int bus, int blocks, double share = 0.25)
    {
        double load = net.Buses.Sum(b => b.Pd);
        var opf = DcOpfSolver.Solve(net);
        double lmp = opf.Status == ClearingStatus.Optimal ? opf.Lmp(bus) : 30;
        var list = new List<Bid>();
        for (int k = 0; k < blocks; k++)
        {
            double cost = Math.Round(lmp * (0.6 + 0.6 * k / Math.Max(1, blocks - 1)), 3);
            list.Add(new Bid(name, bus, Side.Sell, cost, Math.Round(share * load / blocks, 3), k + 1, 0));
        }
        return list;
    }
}
