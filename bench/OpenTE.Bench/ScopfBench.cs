using OpenTE.Market.Outcome;
using System.Diagnostics;
using OpenTE.Market.Scopf;

namespace OpenTE.Bench;

/// <summary>
/// `--scopf [case] [preventive|corrective] [default]`: full N-1 SCOPF with the time of every screening round, each mode
/// with the old pick-up rule (in proportion to Pmax, headroom unchecked) and the reserve rule (issue #16) in the same run.
/// </summary>
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
        foreach (var rule in new[] { PickupRule.ProportionalToPmax, PickupRule.Reserve })
        {
            Console.WriteLine($"  {mode}, pick-up {(rule == PickupRule.Reserve ? "by reserve (headroom and ramp)" : "in proportion to Pmax (old)")}:");
            var sw = Stopwatch.StartNew();
            double last = 0;
            var result = ScopfSolver.Solve(net, set, new ScopfOptions
            {
                Mode = mode,
                Pickup = rule,
                Progress = new SyncProgress(p =>
                {
                    double now = sw.Elapsed.TotalSeconds;
                    Console.WriteLine($"  {mode,-10} round {p.Round,2}: {p.Added,5} constraints in the model, {p.Violations,6} violations found, round {now - last,6:0.00} s");
                    last = now;
                }),
            });
            Console.WriteLine($"  {mode}: {result.Opf.Status.Word()} in {result.SolveSeconds:0.00} s ({result.SolveSeconds / baseline:0}x the baseline), {result.Rounds} rounds, {result.ConstraintsAdded} contingency constraints, "
                + $"base cost {result.BaseCost:0.00} $/h, SCOPF cost {result.Opf.Objective:0.00} $/h, security cost {result.SecurityCost:0.00} $/h, {result.Binding.Count} binding");
            if (rule == PickupRule.Reserve)
                Console.WriteLine($"    reserve R = {result.Reserve.UpMw:0.0} MW up ({result.Reserve.Requirement.Count} requirement rows priced, {result.Reserve.Headroom.Count} headroom rows priced; "
                    + $"requirement price {result.Reserve.Requirement.Sum(p => p.PriceMwh):0.00} $/MWh); {result.Participation!.CapMw.Count(c => c > 0)} units respond");
            var over = PickupOverruns(net, set, result);
            Console.WriteLine($"    pick-up beyond Pmax: {over.Count} (outage, unit) pairs, worst {(over.Count > 0 ? over.Max() : 0):0.0} MW over");
            foreach (var m in result.Opf.Messages.Take(5)) Console.WriteLine("    " + m);
        }
        return 0;
    }

    /// <summary>For every generator outage, how far each unit's output after the rule's pick-up ends above its Pmax (MW).</summary>
    private static List<double> PickupOverruns(OpenTE.Grid.Model.Network net, ContingencySet set, ScopfResult r)
    {
        var over = new List<double>();
        if (r.Participation is not { } part || r.Opf.Generators.Count == 0) return over;
        foreach (var c in set.Secure.Where(c => c.Kind == ContingencyKind.Generator))
        {
            double lost = r.Opf.Generators[c.Index].Pg;
            foreach (var (j, share) in part.Pickup(c.Index))
            {
                double excess = r.Opf.Generators[j].Pg + share * lost - net.Generators[j].Pmax;
                if (excess > 1e-3) over.Add(excess);
            }
        }
        return over;
    }

    private sealed class SyncProgress(Action<(int Round, int Added, int Violations)> report) : IProgress<(int Round, int Added, int Violations)>
    {
        public void Report((int Round, int Added, int Violations) value) => report(value);
    }
}
