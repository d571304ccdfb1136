using OpenTE.Market.Outcome;
using System.Diagnostics;
using OpenTE.Market.Scopf;

namespace OpenTE.Bench;

/// <summary>`--scopf [case] [preventive|corrective]`: full N-1 SCOPF with the time of every screening round.</summary>
public static class ScopfBench
{
    public static int Run(string[] args)
    {
        string name = args.FirstOrDefault(a => !a.StartsWith("--") && a is not ("preventive" or "corrective" or "default")) ?? "case_ACTIVSg2000";
        var modes = args.Contains("preventive") ? [ScopfMode.Preventive] : args.Contains("corrective") ? [ScopfMode.Corrective] : new[] { ScopfMode.Preventive, ScopfMode.Corrective };
        var net = BenchCases.Load(name);
        var contab = Path.Combine(BenchCases.SharedDir(), "cases", "contab_" + name.Replace("case_", "") + ".m");
        bool useContab = File.Exists(contab) && !args.Contains("default");
        var set = useContab ? Contingencies.Read(contab, net) : Contingencies.Default(net);
        Console.WriteLine($"{name}: {set.Secure.Count} secure contingencies, {set.Islanding.Count} islanding, {set.AlreadyOut.Count} already out ({(useContab ? Path.GetFileName(contab) : "default N-1: every non-islanding branch and every generator")})");
        OpenTE.Market.DcOpf.DcOpfSolver.Solve(net); // JIT
        var baseWatch = Stopwatch.StartNew();
        OpenTE.Market.DcOpf.DcOpfSolver.Solve(net);
        double baseline = baseWatch.Elapsed.TotalSeconds;
        Console.WriteLine($"  baseline: one DC OPF without contingencies {baseline * 1e3:0.0} ms");
        foreach (var mode in modes)
        {
            var sw = Stopwatch.StartNew();
            double last = 0;
            var result = ScopfSolver.Solve(net, set, new ScopfOptions
            {
                Mode = mode,
                Progress = new SyncProgress(p =>
                {
                    double now = sw.Elapsed.TotalSeconds;
                    Console.WriteLine($"  {mode,-10} round {p.Round,2}: {p.Added,5} constraints in the model, {p.Violations,6} violations found, round {now - last,6:0.00} s");
                    last = now;
                }),
            });
            Console.WriteLine($"  {mode}: {result.Opf.Status.Word()} in {result.SolveSeconds:0.00} s ({result.SolveSeconds / baseline:0}x the baseline), {result.Rounds} rounds, {result.ConstraintsAdded} contingency constraints, "
                + $"base cost {result.BaseCost:0.00} $/h, SCOPF cost {result.Opf.Objective:0.00} $/h, security cost {result.SecurityCost:0.00} $/h, {result.Binding.Count} binding");
            foreach (var m in result.Opf.Messages.Take(5)) Console.WriteLine("    " + m);
        }
        return 0;
    }

    private sealed class SyncProgress(Action<(int Round, int Added, int Violations)> report) : IProgress<(int Round, int Added, int Violations)>
    {
        public void Report((int Round, int Added, int Violations) value) => report(value);
    }
}
