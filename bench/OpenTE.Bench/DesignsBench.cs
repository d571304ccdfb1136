using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenTE.Agents;
using OpenTE.Analytics;
using OpenTE.Settlement;

namespace OpenTE.Bench;

/// <summary>
/// `--designs`: the demo's day (examples/demo-day.json, 96 × 15 min on case33bw) with 100 and 300 generated prosumers
/// under each market design, the surplus account, the settlement of the nodal day on the ledger; and the Gini in
/// O(n log n) against the double sum of its definition.
/// </summary>
public static class DesignsBench
{
    public static int Run()
    {
        string file = Path.Combine(FindExamples(), "demo-day.json");
        Console.WriteLine("Market designs on examples/demo-day.json (96 intervals of 15 min, case33bw); seconds per day, ratio to nodal");
        Console.WriteLine($"{"prosumers",10} {"design",11} {"seconds",9} {"vs nodal",9} {"account s",10} {"awards",8}");
        foreach (int count in new[] { 100, 300 })
        {
            double nodal = 0;
            SimulationResult? nodalRun = null;
            foreach (var d in MarketDesigns.All)
            {
                var (s, net) = Load(file, count);
                var sw = Stopwatch.StartNew();
                var r = MarketDesigns.Run(s, net, d);
                double sec = sw.Elapsed.TotalSeconds;
                if (d == MarketDesign.Nodal) { nodal = sec; nodalRun = r; }
                sw.Restart();
                var account = SurplusAccounting.Compute(r.Outcome);
                double acc = sw.Elapsed.TotalSeconds;
                Console.WriteLine($"{count,10} {d.Name(),11} {sec,9:0.00} {sec / nodal,8:0.0}x {acc,10:0.000} {r.Outcome.Awards.Count,8}");
                _ = account.RowSum;
            }
            string ledger = Path.Combine(Path.GetTempPath(), $"opente-bench-{Environment.ProcessId}.db");
            var l = OutcomeSettlement.Run(nodalRun!.Outcome, ledger, 1_780_272_000);
            Console.WriteLine($"{count,10} {"settlement",11} {l.Seconds,9:0.00} {l.Seconds / nodal,8:0.0}x   {l.Trades} trades, {l.Entries} entries, verified {l.Verified}");
            foreach (var f in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(ledger) + "*")) File.Delete(f);
        }
        Console.WriteLine();
        Console.WriteLine("Gini: sorted form O(n log n) vs the double sum O(n²) (seconds)");
        Console.WriteLine($"{"n",10} {"sorted",10} {"double sum",12}");
        var rnd = new Random(3);
        foreach (int n in new[] { 1_000, 10_000, 1_000_000 })
        {
            var x = Enumerable.Range(0, n).Select(_ => Math.Exp(3 * rnd.NextDouble())).ToArray();
            var sw = Stopwatch.StartNew();
            double g = Inequality.Gini(x);
            double fast = sw.Elapsed.TotalSeconds;
            string slow = "–";
            if (n <= 10_000)
            {
                sw.Restart();
                double g2 = Inequality.GiniByDoubleSum(x);
                slow = $"{sw.Elapsed.TotalSeconds:0.0000}";
                if (Math.Abs(g - g2) > 1e-9) throw new InvalidOperationException("the two Gini forms disagree");
            }
            Console.WriteLine($"{n,10} {fast,10:0.0000} {slow,12}");
        }
        return 0;
    }

    private static (Scenario, OpenTE.Grid.Model.Network) Load(string file, int count)
    {
        var node = JsonNode.Parse(File.ReadAllText(file), documentOptions: new() { CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        node["generate"] = new JsonObject { ["count"] = count, ["seed"] = 21 };
        using var doc = JsonDocument.Parse(node.ToJsonString());
        return ScenarioFile.Parse(doc.RootElement, file, name => BenchCases.Load(name));
    }

    private static string FindExamples()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "examples"))) return Path.Combine(dir.FullName, "examples");
        throw new DirectoryNotFoundException("examples/ not found");
    }
}
