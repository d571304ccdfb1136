using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Numerics.Optimization;
using OpenTE.Privacy;
using OpenTE.Privacy.Metering;
using OpenTE.Privacy.Sampling;

namespace OpenTE.Bench;

/// <summary>
/// Benchmarks. Default: a quick harness that prints median wall time per solve against MATPOWER's
/// reference seconds (measured on the same machine kind), as a ratio. `--bdn` runs BenchmarkDotNet instead.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--pf-profile")) return PfProfileBench.Run(args.Where(a => a != "--pf-profile").ToArray());
        if (args.Contains("--cold")) return ColdBench.Run(args.Where(a => a != "--cold").ToArray());
        if (args.Contains("--server")) return ServerBench.Run(args);
        if (args.Contains("--simulate")) return SimulateBench.Run();
        if (args.Contains("--designs")) return DesignsBench.Run();
        if (args.Contains("--learn")) return LearnBench.Run();
        if (args.Contains("--strategic")) return StrategicBench.Run(args.Where(a => a != "--strategic").ToArray());
        if (args.Contains("--scopf")) return ScopfBench.Run(args.Where(a => a != "--scopf").ToArray());
        if (args.Contains("--pglib")) return PglibBench.Run(args.Where(a => a != "--pglib").ToArray());
        if (args.Contains("--carbon")) return CarbonBench.Run(args.Where(a => a != "--carbon").ToArray());
        if (args.Contains("--settle-chain"))
        {
            ChainSettleBench.Run(args);
            return 0;
        }
        if (args.Contains("--settle"))
        {
            SettleBench.Run(args);
            return 0;
        }
        if (args.Contains("--bdn"))
        {
            BenchmarkRunner.Run<PowerFlowBenchmarks>(args: args.Where(a => a != "--bdn").ToArray());
            return 0;
        }
        string[] cases = args.Where(a => !a.StartsWith("--")).ToArray() is { Length: > 0 } named ? named : ["case118", "case300", "case_ACTIVSg2000"];
        Console.WriteLine("AC and DC power flow (median wall time per solve; speed-up = MATPOWER runpf seconds / ours, same machine kind)");
        Console.WriteLine($"{"case",-18} {"buses",6} {"AC PF median ms",16} {"MATPOWER ms",12} {"speed-up",9} {"LU fill",9} {"DC PF ms",9}");
        foreach (var name in cases)
        {
            var net = BenchCases.Load(name);
            double reference = BenchCases.ReferenceSeconds(name, "pf");
            var (median, fill) = Measure(() => AcPowerFlow.Solve(net), r => r.FactorNonZeros);
            var (dcMedian, _) = Measure(() => DcPowerFlow.Solve(net), _ => 0);
            Console.WriteLine($"{name,-18} {net.BusCount,6} {median * 1e3,16:0.000} {reference * 1e3,12:0.0} {reference / median,8:0.0}x {fill,9} {dcMedian * 1e3,9:0.000}");
        }

        Console.WriteLine();
        Console.WriteLine("DC OPF (interior point, quadratic costs; speed-up = MATPOWER rundcopf seconds / ours)");
        Console.WriteLine($"{"case",-18} {"median ms",10} {"MATPOWER ms",12} {"speed-up",9} {"iterations",10}");
        foreach (var name in cases)
        {
            var net = BenchCases.Load(name);
            double reference = BenchCases.ReferenceSeconds(name, "dcopf");
            var (median, its) = Measure(() => DcOpfSolver.Solve(net, new DcOpfOptions { Solver = SolverKind.InteriorPoint }), r => r.Iterations);
            Console.WriteLine($"{name,-18} {median * 1e3,10:0.0} {reference * 1e3,12:0.0} {reference / median,8:0.0}x {its,10}");
        }

        Console.WriteLine();
        Console.WriteLine("AC OPF (interior point, MIPS iteration, exact Hessians; speed-up = MATPOWER runopf seconds / ours)");
        Console.WriteLine($"{"case",-18} {"median ms",10} {"MATPOWER ms",12} {"speed-up",9} {"iterations",10} {"ms/iteration",13}");
        foreach (var name in cases)
        {
            var net = BenchCases.Load(name);
            double reference = BenchCases.ReferenceSeconds(name, "acopf");
            var (median, its) = Measure(() => OpenTE.Market.AcOpf.AcOpfSolver.Solve(net), r => r.Iterations);
            string ipopt = "";
            if (OpenTE.Numerics.Optimization.Ipopt.IsAvailable)
            {
                var (ipoptMedian, _) = Measure(() => OpenTE.Market.AcOpf.AcOpfSolver.Solve(net, new OpenTE.Market.AcOpf.AcOpfOptions { Backend = OpenTE.Market.AcOpf.AcOpfBackend.Ipopt }), _ => 0);
                ipopt = $"   Ipopt (libipopt, MUMPS) {ipoptMedian * 1e3:0.0} ms: ours/Ipopt {median / ipoptMedian:0.00}";
            }
            Console.WriteLine($"{name,-18} {median * 1e3,10:0.0} {reference * 1e3,12:0.0} {reference / median,8:0.0}x {its,10} {median * 1e3 / its,13:0.00}{ipopt}");
        }
        if (args.Contains("--acopf")) return 0;

        Console.WriteLine();
        var net118 = BenchCases.Load("case118");
        var bids = RandomBids(net118, 10_000, seed: 1);
        var (bidMedian, bidIts) = Measure(() => DcOpfSolver.Solve(net118, new DcOpfOptions { Bids = bids }), r => r.Iterations);
        var (noBids, _) = Measure(() => DcOpfSolver.Solve(net118), r => r.Iterations);
        Console.WriteLine($"case118 DC OPF with 10,000 random bids: {bidMedian * 1e3:0.0} ms (GLOP+QP auto: {bidIts} iterations); without bids {noBids * 1e3:0.0} ms; ratio {bidMedian / noBids:0.0}x");

        var million = RandomBids(net118, 1_000_000, seed: 2);
        var (auction, volume) = Measure(() => DoubleAuction.Clear(million), r => (long)r.Volume);
        var (sortOnly, _) = Measure(() => { var keys = million.Select(b => b.Price).ToArray(); Array.Sort(keys); return keys.Length; }, n => n);
        Console.WriteLine($"uniform double auction of 1,000,000 bids: {auction * 1e3:0.0} ms (volume {volume} MW); baseline sort of the prices alone {sortOnly * 1e3:0.0} ms; ratio {auction / sortOnly:0.0}x");

        Console.WriteLine();
        var feeder = BenchCases.Load("case33bw");
        var day = SyntheticMeters.Generate(feeder, 10_000, new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.FromHours(2)), 96, seed: 3);
        string csv = MeterData.ToCsv(day);
        var (baseline, lines) = Measure(() => csv.Split('\n').Select(l => l.Split(',').Length).Sum(), n => n);
        var (ingest, accepted) = Measure(() => MeterData.ParseCsv(csv, "day.csv"), d => d.Readings.Count);
        var data = MeterData.ParseCsv(csv, "day.csv");
        var (aggregate, cells) = Measure(() => Aggregation.ByFeederAndInterval(data), a => a.Count);
        var (release, _) = Measure(() => PrivateRelease.Run(data, AggregateQuery.Sum, GroupBy.Feeder | GroupBy.Interval, 1, 0, 2, new PrivacyAccountant("bench", double.MaxValue), new CryptoRandomSource()), r => r.Values.Count);
        var (reconcile, _) = Measure(() => Aggregation.Reconcile(data, new LossModel.Fraction(0.03)), r => r.Count);
        Console.WriteLine($"meter data, 10,000 meters × 96 intervals ({accepted:N0} readings, {csv.Length / 1e6:0.0} MB CSV):");
        Console.WriteLine($"  parse + validate {ingest:0.000} s, aggregate {aggregate * 1e3:0.0} ms ({cells} feeder-intervals), reconcile {reconcile * 1e3:0.0} ms, DP release {release * 1e3:0.0} ms");
        Console.WriteLine($"  total {ingest + aggregate + release:0.000} s per day of data; baseline split of the CSV into fields {baseline:0.000} s; ratio {(ingest + aggregate + release) / baseline:0.0}x");
        return 0;
    }

    /// <summary>Random bids at random buses: buyers 20–120 $/MWh, sellers 0–100 $/MWh, 0.1–5 MW, monotone blocks.</summary>
    private static List<Bid> RandomBids(Network net, int count, int seed)
    {
        var rnd = new Random(seed);
        var bids = new List<Bid>(count);
        for (int k = 0; k < count; k++)
        {
            bool buy = rnd.Next(2) == 0;
            double price = buy ? 20 + rnd.NextDouble() * 100 : rnd.NextDouble() * 100;
            bids.Add(new Bid("p" + k, net.Buses[rnd.Next(net.BusCount)].Id, buy ? Side.Buy : Side.Sell, Math.Round(price, 2), 0.1 + rnd.NextDouble() * 4.9, 1, 0));
        }
        return bids;
    }

    private static (double Median, long Extra) Measure<T>(Func<T> run, Func<T, long> extra)
    {
        long e = extra(run()); // warm-up (JIT)
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || (total.Elapsed.TotalSeconds < 2 && times.Count < 200))
        {
            var sw = Stopwatch.StartNew();
            run();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return (times[times.Count / 2], e);
    }
}

public static class BenchCases
{
    public static string SharedDir()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared"), Path.Combine(dir.FullName, "..", "shared") })
                if (Directory.Exists(Path.Combine(candidate, "cases"))) return Path.GetFullPath(candidate);
        }
        throw new DirectoryNotFoundException("../shared/cases not found");
    }

    public static Network Load(string name) => MatpowerCase.Read(Path.Combine(SharedDir(), "cases", name + ".m")).Network;

    public static double ReferenceSeconds(string name, string section)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(SharedDir(), "reference", name + ".json")));
        return doc.RootElement.GetProperty(section).GetProperty("seconds").GetDouble();
    }
}

[MemoryDiagnoser]
public class PowerFlowBenchmarks
{
    private Network _net = null!;

    [Params("case118", "case300", "case_ACTIVSg2000")]
    public string Case { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _net = BenchCases.Load(Case);

    [Benchmark]
    public PowerFlowResult AcNewton() => AcPowerFlow.Solve(_net);

    [Benchmark]
    public DcPowerFlowResult Dc() => DcPowerFlow.Solve(_net);
}
