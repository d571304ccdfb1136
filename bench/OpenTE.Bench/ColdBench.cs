using System.Diagnostics;
using System.Text.Json;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.AcOpf;
using OpenTE.Market.DcOpf;

namespace OpenTE.Bench;

/// <summary>
/// `--cold [--cli PATH]... [--runs N] [--only pf|dcopf|acopf] [CASE...]`: what a user sees. Each command runs N times as a NEW process of the
/// CLI (JIT, assembly loading and case parsing inside), reporting the process wall time and the solveSeconds the CLI
/// prints in --json, beside the warm in-process median of the same solve, and MATPOWER's recorded seconds
/// (../shared/reference/CASE.json) divided by the cold solve. Several --cli (e.g. the JIT build and the ReadyToRun
/// single file of scripts/publish.sh) are measured interleaved, in the same run, so their ratios share the load.
/// The CLI keeps a startup profile per command (multicore JIT, src/OpenTE.Cli/Program.cs): by default each CLI runs each command
/// once before the rounds (not counted), so the rounds see what a user sees from the second run of a command on;
/// --no-startup-profile runs them with OPENTE_STARTUP_PROFILE=0, i.e. what the very first run of a command sees.
/// </summary>
public static class ColdBench
{
    private static readonly (string Name, string Section, string[] Args)[] Commands =
    [
        ("pf", "pf", ["pf"]),
        ("opf --model dc", "dcopf", ["opf", "--model", "dc"]),
        ("opf --model ac", "acopf", ["opf", "--model", "ac"]),
    ];

    /// <summary>
    /// MATPOWER's seconds on case_ACTIVSg2000 as issue #17 measured them in Octave on this machine kind (runpf, rundcopf, runopf),
    /// beside the reference file's (another run, 1.4–1.6× faster: this virtual machine's speed drifts by that much). MATPOWER does not
    /// run here (Octave is in Debian, MATPOWER is not), so neither is a same-run measurement; the two bracket the machine's speed.
    /// </summary>
    private static readonly Dictionary<(string Case, string Section), double> IssueSeconds = new()
    {
        [("case_ACTIVSg2000", "pf")] = 0.27,
        [("case_ACTIVSg2000", "dcopf")] = 1.27,
        [("case_ACTIVSg2000", "acopf")] = 4.98,
    };

    public static int Run(string[] args)
    {
        var clis = new List<string>();
        int runs = 5;
        string? only = null; // pf, dcopf or acopf: that command alone
        bool profile = true;
        var cases = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--cli" && i + 1 < args.Length) clis.Add(Path.GetFullPath(args[++i]));
            else if (args[i] == "--runs" && i + 1 < args.Length) runs = int.Parse(args[++i]);
            else if (args[i] == "--only" && i + 1 < args.Length) only = args[++i];
            else if (args[i] == "--no-startup-profile") profile = false;
            else if (!args[i].StartsWith("--")) cases.Add(args[i]);
        }
        if (clis.Count == 0) clis.Add(Path.GetFullPath(Path.Combine("src", "OpenTE.Cli", "bin", "Release", "net10.0", "opente")));
        foreach (var cli in clis)
        {
            if (!File.Exists(cli))
            {
                Console.Error.WriteLine($"{cli}: no such CLI binary; build it (dotnet build src/OpenTE.Cli -c Release) or give --cli PATH");
                return 2;
            }
        }
        if (cases.Count == 0) cases.Add("case_ACTIVSg2000");

        Console.WriteLine($"Cold (new process, median of {runs}) vs warm (in-process median) — seconds; vs MATPOWER = MATPOWER's recorded seconds / cold solve,");
        Console.WriteLine("with the reference file's seconds (../shared/reference/CASE.json) and, where issue #17 gives them, the issue's (Octave on this machine kind);");
        Console.WriteLine("cold/warm = the median over the rounds of (cold solve / the warm median measured right after it, in the same round); each round's in brackets");
        Console.WriteLine(profile
            ? "startup profile: on (each command ran once before the rounds, as from a user's second run of it on)"
            : "startup profile: off (OPENTE_STARTUP_PROFILE=0: every run as the very first run of a command)");
        for (int c = 0; c < clis.Count; c++) Console.WriteLine($"  cli{c}: {clis[c]}");
        Console.WriteLine($"{"case",-17} {"command",-15} {"cli",4} {"wall",7} {"cold solve",11} {"warm solve",11} {"cold/warm",10} {"MATPOWER",9} {"vs MATPOWER",12} {"issue's",8} {"vs issue's",11} {"cold solves (min–max)",22}  (cold/warm per round)");
        foreach (var name in cases)
        {
            var net = BenchCases.Load(name);
            foreach (var (label, section, cmd) in Commands)
            {
                if (only is not null && only != section) continue;
                Func<object> warmRun = section switch
                {
                    "pf" => () => AcPowerFlow.Solve(net),
                    "dcopf" => () => DcOpfSolver.Solve(net),
                    _ => () => AcOpfSolver.Solve(net),
                };
                WarmMedian(warmRun); // warm up (tiered compilation settles)
                if (profile)
                    foreach (var cli in clis) RunCli(cli, [.. cmd, name, "--json"], profile); // records the command's startup profile
                var walls = clis.Select(_ => new List<double>()).ToArray();
                var solves = clis.Select(_ => new List<double>()).ToArray();
                var ratios = clis.Select(_ => new List<double>()).ToArray();
                var warms = new List<double>();
                for (int r = 0; r < runs; r++)
                {
                    // the warm solves of this round right after its cold ones, so that the two share the machine's speed at
                    // that moment (this virtual machine's speed drifts by up to 1.7× within minutes)
                    var roundSolves = new double[clis.Count];
                    for (int c = 0; c < clis.Count; c++) // interleaved: the same load for every CLI
                    {
                        var (wall, solve) = RunCli(clis[c], [.. cmd, name, "--json"], profile);
                        walls[c].Add(wall);
                        solves[c].Add(solve);
                        roundSolves[c] = solve;
                    }
                    double roundWarm = WarmMedian(warmRun, minRuns: 3, seconds: 0.5);
                    warms.Add(roundWarm);
                    for (int c = 0; c < clis.Count; c++) ratios[c].Add(roundSolves[c] / roundWarm);
                }
                double warm = Median(warms);
                double reference = BenchCases.ReferenceSeconds(name, section);
                for (int c = 0; c < clis.Count; c++)
                {
                    double wall = Median(walls[c]), solve = Median(solves[c]);
                    string issue = IssueSeconds.TryGetValue((name, section), out double m) ? $"{m,8:0.00} {m / solve,10:0.0}x" : $"{"–",8} {"–",11}";
                    Console.WriteLine($"{name,-17} {label,-15} {"cli" + c,4} {wall,7:0.000} {solve,11:0.0000} {warm,11:0.0000} {Median(ratios[c]),9:0.00}x {reference,9:0.000} {reference / solve,11:0.0}x " +
                                      $"{issue} {solves[c].Min(),10:0.0000}–{solves[c].Max():0.0000}  ({string.Join(" ", ratios[c].Select(x => x.ToString("0.00")))})");
                }
            }
        }
        return 0;
    }

    private static (double Wall, double Solve) RunCli(string cli, string[] args, bool profile)
    {
        var psi = new ProcessStartInfo(cli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (!profile) psi.Environment["OPENTE_STARTUP_PROFILE"] = "0";
        foreach (var a in args) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        double wall = sw.Elapsed.TotalSeconds;
        if (p.ExitCode != 0) throw new InvalidOperationException($"{cli} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        using var doc = JsonDocument.Parse(stdout.Result);
        return (wall, doc.RootElement.GetProperty("solveSeconds").GetDouble());
    }

    private static double WarmMedian(Func<object> run, int minRuns = 5, double seconds = 2)
    {
        run();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < minRuns || (total.Elapsed.TotalSeconds < seconds && times.Count < 100))
        {
            var sw = Stopwatch.StartNew();
            run();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return Median(times);
    }

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s[s.Count / 2];
    }
}
