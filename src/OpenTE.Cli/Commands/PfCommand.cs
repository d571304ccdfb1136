using OpenTE.Grid.Model;
using System.ComponentModel;
using OpenTE.Grid.PowerFlow;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

/// <summary>The --json option every result command shares (DESIGN.md §5).</summary>
public class JsonSettings : CommandSettings
{
    [CommandOption("--json")]
    [Description("Print JSON (see docs/cli.md) instead of tables.")]
    public bool Json { get; init; }
}

/// <summary>The output options of a result command: --json, --out FILE, --csv DIR and --all.</summary>
public class OutputSettings : JsonSettings
{
    [CommandOption("--out <FILE>")]
    [Description("Write the output to FILE instead of standard output (tables in full, without the 40-row cut).")]
    public string? Out { get; init; }

    [CommandOption("--csv <DIR>")]
    [Description("Also write every result table in full as a CSV file into DIR (created if missing), one file per table.")]
    public string? Csv { get; init; }

    [CommandOption("--all")]
    [Description("Print every row of long tables (by default a table of more than 50 rows shows its first 40).")]
    public bool All { get; init; }
}

public class CaseSettings : OutputSettings
{
    [CommandArgument(0, "<CASE>")]
    [Description("A MATPOWER .m or OpenTE .json case file, or a case name from ../shared/cases, searched upward from the current folder (e.g. case30).")]
    public string Case { get; init; } = "";
}

/// <summary>A case command that can draw its result (pf, opf, scopf).</summary>
public class PlotSettings : CaseSettings
{
    [CommandOption("--plot <FILE>")]
    [Description("Draw the result into FILE (.png, or .svg): pf — voltage profile and branch loading; opf — LMPs by bus with their parts and branch loading (AC: and the voltage profile); scopf — LMPs with the security part and the binding contingencies.")]
    public string? Plot { get; init; }
}

public class PfSettings : PlotSettings
{
    [CommandOption("--enforce-q-lims")]
    [Description("Switch generators that exceed their Q limits to fixed Q (PV → PQ) and re-solve, as MATPOWER's pf.enforce_q_lims.")]
    public bool EnforceQLimits { get; init; }

    [CommandOption("--flat-start")]
    [Description("Start from 1 p.u. and 0° instead of the case's voltages.")]
    public bool FlatStart { get; init; }

    [CommandOption("--tol <TOL>")]
    [Description("Largest mismatch allowed, p.u. (default 1e-8).")]
    [DefaultValue(1e-8)]
    public double Tolerance { get; init; } = 1e-8;

    [CommandOption("--max-it <N>")]
    [Description("Newton iterations allowed (default 10).")]
    [DefaultValue(10)]
    public int MaxIterations { get; init; } = 10;

    /// <summary>The power-flow options these settings give (pf and losses).</summary>
    public PowerFlowOptions Options() => new() { EnforceQLimits = EnforceQLimits, FlatStart = FlatStart, Tolerance = Tolerance, MaxIterations = MaxIterations };

    public override ValidationResult Validate() =>
        !(Tolerance > 0) ? ValidationResult.Error("--tol must be a positive number")
        : MaxIterations < 1 ? ValidationResult.Error("--max-it must be at least 1")
        : ValidationResult.Success();
}

public sealed class PfCommand : Command<PfSettings>
{
    public override int Execute(CommandContext context, PfSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        var result = AcPowerFlow.Solve(read.Network, s.Options());
        if (s.Plot is not null) Plots.PowerFlow(result, read.Network, s.Plot);
        if (s.Json) Output.Emit(result.ToJson(), s.Out);
        else Output.Render(Tables(result, read.Warnings.Select(w => w.ToString()), read.Network), s.Out);
        if (s.Plot is not null) CliApp.Io.Err.WriteLine($"plot: {s.Plot}");
        if (!result.Converged)
        {
            var reasons = result.Messages.Where(m => m.Contains("converge") || m.Contains("cannot")).ToList();
            CliApp.Io.Err.WriteLine(reasons.Count > 0
                ? $"not converged: {string.Join("; ", reasons)}"
                : $"not converged after {result.Iterations} Newton iterations (try --max-it, --flat-start or --enforce-q-lims)");
            return 1;
        }
        return 0;
    }


    public static IEnumerable<IRenderable> Tables(PowerFlowResult r, IEnumerable<string> warnings, Network? net = null)
    {
        foreach (var w in warnings) yield return new Markup($"[yellow]warning:[/] {Markup.Escape(w)}\n");
        string status = r.Converged ? "[green]converged[/]" : "[red]NOT converged[/]";
        yield return new Markup($"[bold]{Markup.Escape(r.Case)}[/]: AC power flow {status} in {r.Iterations} Newton iterations, " +
            $"{r.SolveSeconds * 1000:0.0} ms; losses {Output.F(r.LossesMw)} MW; generation {Output.F(r.Generators.Sum(g => g.Pg))} MW\n");
        foreach (var m in r.Messages) yield return new Markup($"  {Markup.Escape(m)}\n");
        yield return Output.Table("Buses", "bus", "Vm (p.u.)", "Va (deg)", "P inj (MW)", "Q inj (MVAr)")
            .Rows(r.Buses, b => [b.Id.ToString(), Output.F(b.Vm, "0.0000"), Output.F(b.VaDeg), Output.F(b.PInjectionMw), Output.F(b.QInjectionMvar)]);
        yield return Output.Table("Generators", "#", "bus", "Pg (MW)", "Qg (MVAr)", "Qmin", "Qmax")
            .Rows(r.Generators, g => [g.Index.ToString(), g.Bus.ToString(), Output.F(g.Pg), Output.F(g.Qg),
                Output.F(net?.Generators[g.Index - 1].Qmin ?? double.NaN), Output.F(net?.Generators[g.Index - 1].Qmax ?? double.NaN)]);
        // loading = the larger end's |S| against rateA (MVA), as MATPOWER's branch limit; "–" where the branch has no rating
        double Loading(BranchSolution l)
        {
            double rate = net?.Branches[l.Index - 1].RateA ?? 0;
            return rate > 0 ? 100 * Math.Max(Math.Sqrt(l.Pf * l.Pf + l.Qf * l.Qf), Math.Sqrt(l.Pt * l.Pt + l.Qt * l.Qt)) / rate : double.NaN;
        }
        yield return Output.Table("Branch flows", "#", "from", "to", "Pf (MW)", "Qf (MVAr)", "Pt (MW)", "Qt (MVAr)", "loss (MW)", "loading (% of rateA)")
            .Rows(r.Branches, l => [l.Index.ToString(), l.From.ToString(), l.To.ToString(), Output.F(l.Pf), Output.F(l.Qf), Output.F(l.Pt), Output.F(l.Qt), Output.F(l.Pf + l.Pt), Output.F(Loading(l), "0.0")]);
    }
}
