using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;

namespace OpenTE.Bench;

/// <summary>
/// Benchmarks. Default: a quick harness that prints median wall time per solve against MATPOWER's
/// reference seconds (measured on the same machine kind), as a ratio. `--bdn` runs BenchmarkDotNet instead.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--bdn"))
        {
            BenchmarkRunner.Run<PowerFlowBenchmarks>(args: args.Where(a => a != "--bdn").ToArray());
            return 0;
        }
        string[] cases = args.Length > 0 ? args : ["case118", "case300", "case_ACTIVSg2000"];
        Console.WriteLine($"{"case",-18} {"buses",6} {"AC PF median ms",16} {"MATPOWER ms",12} {"speed-up",9} {"LU fill",9} {"DC PF ms",9}");
        foreach (var name in cases)
        {
            var net = BenchCases.Load(name);
            double reference = BenchCases.ReferenceSeconds(name, "pf");
            var (median, fill) = Measure(() => AcPowerFlow.Solve(net), r => r.FactorNonZeros);
            var (dcMedian, _) = Measure(() => DcPowerFlow.Solve(net), _ => 0);
            Console.WriteLine($"{name,-18} {net.BusCount,6} {median * 1e3,16:0.000} {reference * 1e3,12:0.0} {reference / median,8:0.0}x {fill,9} {dcMedian * 1e3,9:0.000}");
        }
        return 0;
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
