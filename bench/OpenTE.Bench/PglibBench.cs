using System.Diagnostics;
using System.Globalization;
using System.Text;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.AcOpf;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Bench;

/// <summary>
/// `--pglib [--max-buses N] [--no-ipopt] [--out FILE] [names…]`: every PGLib-OPF case in ../shared/cases/pglib — AC power
/// flow, DC OPF and AC OPF with default options, the Ipopt backend on the same machine in the same run, against the
/// published baseline (../shared/reference/pglib-baseline.csv) — written to docs/pglib.md (rewritten after each case,
/// so a long run leaves its partial table).
/// </summary>
public static class PglibBench
{
    private sealed record Row(string Case, int Buses, string Pf, string DcStatus, double DcObjective, double DcSeconds, string DcSolver,
        string DcPmStatus, double DcPmObjective,
        string AcStatus, double AcObjective, int AcIterations, double AcSeconds, string IpoptStatus, double IpoptObjective, double IpoptSeconds,
        double BaselineAc, double BaselineDc, string BaselineSeconds, string Note);

    public static int Run(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int maxBuses = args.SkipWhile(a => a != "--max-buses").Skip(1).Select(int.Parse).FirstOrDefault(int.MaxValue);
        bool ipopt = !args.Contains("--no-ipopt") && Ipopt.IsAvailable;
        string outFile = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? Path.Combine(RepoDir(), "docs", "pglib.md");
        var named = args.Where((a, i) => !a.StartsWith("--") && (i == 0 || args[i - 1] is not ("--max-buses" or "--out"))).ToHashSet();
        string shared = BenchCases.SharedDir();
        var baseline = File.ReadLines(Path.Combine(shared, "reference", "pglib-baseline.csv")).Skip(1).Select(l => l.Split(','))
            .ToDictionary(f => f[0], f => (Buses: int.Parse(f[1], ci), Dc: double.Parse(f[3], ci), Ac: double.Parse(f[4], ci), AcSeconds: f[6]));
        var rows = new List<Row>();
        foreach (var (name, b) in baseline.OrderBy(kv => kv.Value.Buses).Select(kv => (kv.Key, kv.Value)))
        {
            if (b.Buses > maxBuses || (named.Count > 0 && !named.Contains(name))) continue;
            Console.Error.Write($"{name} ({b.Buses} buses): ");
            string note = "";
            string pf = "", dcStatus = "", dcSolver = "", acStatus = "", ipStatus = "–", dcPmStatus = "";
            double dcPmObj = double.NaN, dcObj = double.NaN, dcSec = double.NaN, acObj = double.NaN, acSec = double.NaN, ipObj = double.NaN, ipSec = double.NaN;
            int acIt = 0;
            try
            {
                var net = MatpowerCase.Read(Path.Combine(shared, "cases", "pglib", name + ".m")).Network;
                var p = AcPowerFlow.Solve(net);
                pf = p.Converged ? $"converged ({p.Iterations} it.{(p.Messages.Any(m => m.Contains("DC power flow")) ? ", from DC angles" : "")})"
                    : "not converged: " + (p.Messages.LastOrDefault(m => m.Contains("converge") || m.Contains("diverged")) ?? string.Join("; ", p.Messages.Take(1)));
                var dc = DcOpfSolver.Solve(net);
                (dcStatus, dcObj, dcSec, dcSolver) = (dc.Status.Word(), dc.Objective, dc.SolveSeconds, dc.Solver);
                // the baseline's own DC model (PowerModels: b = x/(r² + x²)), so that its DC objective is a like-for-like check
                var dcPm = DcOpfSolver.Solve(net, new DcOpfOptions { Susceptance = DcSusceptance.Admittance });
                (dcPmStatus, dcPmObj) = (dcPm.Status.Word(), dcPm.Objective);
                var sw = Stopwatch.StartNew();
                var ac = AcOpfSolver.Solve(net);
                (acStatus, acObj, acIt, acSec) = (ac.Status.Word(), ac.Objective, ac.Iterations, sw.Elapsed.TotalSeconds);
                if (ac.Status != ClearingStatus.Optimal) note = string.Join("; ", ac.Messages.Take(2));
                if (ipopt)
                {
                    sw.Restart();
                    var ip = AcOpfSolver.Solve(net, new AcOpfOptions { Backend = AcOpfBackend.Ipopt });
                    (ipStatus, ipObj, ipSec) = (ip.Status.Word(), ip.Objective, sw.Elapsed.TotalSeconds);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                note = $"{e.GetType().Name}: {e.Message}";
            }
            Console.Error.WriteLine($"pf {pf}; dc {dcStatus}; ac {acStatus} {acObj:0.##} in {acSec:0.0} s ({acIt} it.); ipopt {ipStatus} {ipSec:0.0} s {note}");
            rows.Add(new Row(name, b.Buses, pf, dcStatus, dcObj, dcSec, dcSolver, dcPmStatus, dcPmObj, acStatus, acObj, acIt, acSec, ipStatus, ipObj, ipSec, b.Ac, b.Dc, b.AcSeconds, note));
            File.WriteAllText(outFile, Render(rows, ipopt));
        }
        Console.WriteLine(Render(rows, ipopt));
        Console.Error.WriteLine($"written: {outFile}");
        return 0;
    }

    private static string Render(List<Row> rows, bool ipopt)
    {
        var ci = CultureInfo.InvariantCulture;
        string G(double v) => double.IsNaN(v) ? "–" : v.ToString("+0.0e0;-0.0e0", ci);
        string S(double v) => double.IsNaN(v) ? "–" : v.ToString(v < 10 ? "0.00" : "0.0", ci);
        var sb = new StringBuilder();
        sb.AppendLine("# PGLib-OPF corpus: AC power flow, DC OPF and AC OPF on every case");
        sb.AppendLine();
        sb.AppendLine($"Written by `dotnet run -c Release --project bench/OpenTE.Bench -- --pglib` on {DateTime.UtcNow:yyyy-MM-dd} ({Environment.ProcessorCount} cores;");
        sb.AppendLine("other work was running on the machine, so absolute seconds are inflated — compare ours with the Ipopt column of the same run).");
        sb.AppendLine("Default options throughout. Gap = (ours − baseline) / baseline, against `ac_objective` of `../shared/reference/pglib-baseline.csv`");
        sb.AppendLine("(PowerModels + Ipopt/ma27). The baseline's DC column uses PowerModels' DC model (b = x/(r² + x²)); our default is MATPOWER's (b = 1/x),");
        sb.AppendLine("so \"DC gap\" is a magnitude check, and \"DC (PM model)\" solves the same DC OPF with `--dc-susceptance admittance` for a like-for-like");
        sb.AppendLine("\"PM-model gap\". \"PM s\" is the published PowerModels + Ipopt(ma27) AC time; \"Ipopt s\" is our Ipopt backend");
        sb.AppendLine("(Debian's coinor-libipopt, MUMPS) on the same formulation in the same run.");
        sb.AppendLine();
        var solved = rows.Where(r => r.AcStatus == "optimal").ToList();
        var gaps = solved.Select(r => Math.Abs((r.AcObjective - r.BaselineAc) / r.BaselineAc)).OrderBy(g => g).ToList();
        int within = gaps.Count(g => g <= 5e-4);
        sb.AppendLine($"* cases run: {rows.Count}; AC OPF optimal: {solved.Count}, of which within 5e-4 of the baseline: {within}; " +
                      $"median |gap| {(gaps.Count > 0 ? gaps[gaps.Count / 2].ToString("0.0e0", ci) : "–")}, worst {(gaps.Count > 0 ? gaps[^1].ToString("0.0e0", ci) : "–")}");
        var pmGaps = rows.Where(r => r.DcPmStatus == "optimal").Select(r => Math.Abs((r.DcPmObjective - r.BaselineDc) / r.BaselineDc)).OrderBy(g => g).ToList();
        sb.AppendLine($"* DC OPF in PowerModels' model (the baseline's): optimal {pmGaps.Count} of {rows.Count}, within 5e-4 of the baseline's DC objective: {pmGaps.Count(g => g <= 5e-4)}; " +
                      $"median |gap| {(pmGaps.Count > 0 ? pmGaps[pmGaps.Count / 2].ToString("0.0e0", ci) : "–")}, worst {(pmGaps.Count > 0 ? pmGaps[^1].ToString("0.0e0", ci) : "–")}");
        sb.AppendLine($"* DC OPF optimal (default, MATPOWER's model): {rows.Count(r => r.DcStatus == "optimal")} of {rows.Count}; AC power flow converged (from the case's point, else from DC angles): {rows.Count(r => r.Pf.StartsWith("converged"))} of {rows.Count}");
        if (ipopt)
        {
            var both = rows.Where(r => r.AcStatus == "optimal" && r.IpoptStatus == "optimal").ToList();
            sb.AppendLine($"* Ipopt backend optimal: {rows.Count(r => r.IpoptStatus == "optimal")}; total AC time on the {both.Count} cases both solve: ours {both.Sum(r => r.AcSeconds):0.0} s, Ipopt {both.Sum(r => r.IpoptSeconds):0.0} s (ratio {both.Sum(r => r.AcSeconds) / Math.Max(1e-9, both.Sum(r => r.IpoptSeconds)):0.00})");
        }
        sb.AppendLine();
        sb.AppendLine("| case | buses | AC PF | DC OPF | DC gap | DC (PM model) | PM-model gap | AC OPF | objective | gap | it. | ours s | Ipopt | Ipopt s | PM s | note |");
        sb.AppendLine("|---|---:|---|---|---:|---|---:|---|---:|---:|---:|---:|---|---:|---:|---|");
        foreach (var r in rows)
        {
            double gap = (r.AcObjective - r.BaselineAc) / r.BaselineAc, dgap = (r.DcObjective - r.BaselineDc) / r.BaselineDc, pmgap = (r.DcPmObjective - r.BaselineDc) / r.BaselineDc;
            sb.AppendLine($"| {r.Case.Replace("pglib_opf_", "")} | {r.Buses} | {r.Pf} | {r.DcStatus} ({r.DcSolver}) | {G(dgap)} | {r.DcPmStatus} | {G(pmgap)} | {r.AcStatus} | {(double.IsNaN(r.AcObjective) ? "–" : r.AcObjective.ToString("0.###", ci))} | {G(gap)} | {r.AcIterations} | {S(r.AcSeconds)} | {r.IpoptStatus} | {S(r.IpoptSeconds)} | {r.BaselineSeconds} | {r.Note.Replace("|", "/")} |");
        }
        return sb.ToString();
    }

    private static string RepoDir()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OpenTE.slnx"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
