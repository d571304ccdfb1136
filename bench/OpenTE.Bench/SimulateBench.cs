using System.Diagnostics;
using OpenTE.Agents;

namespace OpenTE.Bench;

/// <summary>`--simulate`: one day at 15 min on case33bw with 500, 1,000 and 5,000 generated prosumers (with the afternoon outage).</summary>
public static class SimulateBench
{
    public static int Run()
    {
        string file = Path.Combine(FindExamples(), "microgrid-day.json");
        var (baseScenario, net) = ScenarioFile.Read(file, name => BenchCases.Load(name));
        Console.WriteLine("Scenario simulation, case33bw, 96 intervals of 15 min, outage 14:00–17:00 (time per day; baseline: the example's 70 prosumers)");
        Console.WriteLine($"{"prosumers",10} {"seconds",9} {"ms/interval",12} {"vs baseline",12}");
        double baseline = 0;
        foreach (int count in new[] { 0, 500, 1000, 5000 })
        {
            var (fresh, _) = ScenarioFile.Read(file, name => BenchCases.Load(name)); // agents carry state: a fresh copy each run
            var irr = Enumerable.Range(0, 96).Select(t => { double h = t / 4.0 + 0.125; return h is > 6 and < 20 ? Math.Sin(Math.PI * (h - 6) / 14) : 0; }).ToArray();
            var scenario = fresh with { Prosumers = [.. fresh.Prosumers, .. ScenarioFile.Generate(net, count, 11, 15, 96, irr)] };
            var sw = Stopwatch.StartNew();
            var r = ScenarioRunner.Run(scenario, net);
            double s = sw.Elapsed.TotalSeconds;
            if (count == 0) baseline = s;
            Console.WriteLine($"{scenario.Prosumers.Count,10} {s,9:0.00} {s * 1e3 / r.Times.Count,12:0.0} {s / baseline,11:0.0}x");
        }
        _ = baseScenario;
        return 0;
    }

    private static string FindExamples()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "examples"))) return Path.Combine(dir.FullName, "examples");
        throw new DirectoryNotFoundException("examples/ not found");
    }
}
