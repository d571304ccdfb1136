using OpenTE.Market.Outcome;
using System.ComponentModel;
using OpenTE.Market.Scopf;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class ScopfSettings : PlotSettings
{
    [CommandOption("--mode <MODE>")]
    [Description("preventive (one dispatch secure without action) or corrective (re-dispatch within ramp limits after each outage).")]
    [DefaultValue("preventive")]
    public string Mode { get; init; } = "preventive";

    [CommandOption("--contingencies <FILE>")]
    [Description("MATPOWER contab (.m) or CSV label,type,index. Default: every non-islanding branch and every generator.")]
    public string? ContingencyFile { get; init; }

    [CommandOption("--emergency-factor <F>")]
    [Description("Emergency rating = rateB, or rateA × F where rateB is 0 (default 1).")]
    [DefaultValue(1.0)]
    public double EmergencyFactor { get; init; } = 1.0;

    [CommandOption("--penalty <PRICE>")]
    [Description("$/MWh for each MW a post-contingency limit is exceeded when no dispatch can meet it (default 1000); 0 makes the limits hard.")]
    [DefaultValue(1000.0)]
    public double Penalty { get; init; } = 1000;

    [CommandOption("--recourse-generators <K>")]
    [Description("Corrective mode: generators allowed to re-dispatch per contingency, the K most effective on its limits (default 24; 0 = all).")]
    [DefaultValue(24)]
    public int RecourseGenerators { get; init; } = 24;

    public override ValidationResult Validate() =>
        Mode is not ("preventive" or "corrective") ? ValidationResult.Error("--mode must be preventive or corrective")
        : !(EmergencyFactor > 0) ? ValidationResult.Error("--emergency-factor must be positive")
        : !(Penalty >= 0) || double.IsPositiveInfinity(Penalty) ? ValidationResult.Error("--penalty must be a finite price ≥ 0 (0 = hard limits)")
        : RecourseGenerators < 0 ? ValidationResult.Error("--recourse-generators must be ≥ 0 (0 = every generator)")
        : ValidationResult.Success();
}

/// <summary>opente scopf: N-1 security-constrained DC OPF with the security part of the prices.</summary>
public sealed class ScopfCommand : Command<ScopfSettings>
{
    public override int Execute(CommandContext context, ScopfSettings s, CancellationToken cancellationToken)
    {
        var net = CaseLocator.Load(s.Case).Network;
        var set = s.ContingencyFile is null ? Contingencies.Default(net) : Contingencies.Read(s.ContingencyFile, net);
        var options = new ScopfOptions
        {
            Mode = s.Mode == "corrective" ? ScopfMode.Corrective : ScopfMode.Preventive,
            EmergencyFactor = s.EmergencyFactor,
            ViolationPenalty = s.Penalty,
            RecourseGenerators = s.RecourseGenerators,
        };
        var r = AnsiConsoleProgress.Run($"N-1 SCOPF of {net.Name}", step => ScopfSolver.Solve(net, set, options with
        {
            Progress = new Inline(p => step($"screening round {p.Round}: {p.Violations} violated post-contingency limits and reserve rows, {Plural(p.Added, "constraint", "constraints")} so far")),
        }));
        if (s.Plot is not null) Plots.Scopf(r, net, s.Plot);
        if (s.Json) Output.Emit(r.ToJson(), s.Out);
        else Output.Render(Tables(r), s.Out);
        if (s.Plot is not null) CliApp.Io.Err.WriteLine($"plot: {s.Plot}");
        if (r.Opf.Status != ClearingStatus.Optimal)
        {
            CliApp.Io.Err.WriteLine($"{r.Opf.Status.Word()}: {string.Join("; ", r.Opf.Messages)}");
            return 1;
        }
        return 0;
    }

    /// <summary>Reports on the solver's thread at once (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class Inline(Action<(int Round, int Added, int Violations)> report) : IProgress<(int Round, int Added, int Violations)>
    {
        public void Report((int Round, int Added, int Violations) value) => report(value);
    }


    private static IEnumerable<IRenderable> Tables(ScopfResult r)
    {
        string status = r.Opf.Status == ClearingStatus.Optimal ? "[green]optimal[/]" : $"[red]{r.Opf.Status.Word()}[/]";
        yield return new Markup($"[bold]{Markup.Escape(r.Opf.Case)}[/]: N-1 {r.Mode.ToString().ToLowerInvariant()} SCOPF {status}; " +
            $"{Plural(r.Contingencies.Secure.Count, "contingency", "contingencies")} ({Plural(r.Contingencies.Islanding.Count, "islanding outage", "islanding outages")} reported and left out); " +
            $"{Plural(r.Rounds, "screening round", "screening rounds")}, {Plural(r.ConstraintsAdded, "constraint", "constraints")} added; cost {Output.F(r.Opf.Objective, "0.##")} $/h, " +
            $"security cost {Output.F(r.SecurityCost, "0.##")} $/h, {r.SolveSeconds:0.00} s\n");
        foreach (var m in r.Opf.Messages) yield return new Markup($"  {Markup.Escape(m)}\n");
        if (r.Opf.Status != ClearingStatus.Optimal) yield break;
        yield return Output.Table("Binding contingencies", "contingency", "branch", "post flow (MW)", "limit (MW)", "muSf", "muSt")
            .Rows(r.Binding, c => [c.Contingency.ToString(), (c.Branch + 1).ToString(), Output.F(c.PostFlowMw), Output.F(c.LimitMw, "0.##"), Output.F(c.MuSf), Output.F(c.MuSt)]);
        if (r.Relaxed.Count > 0)
            yield return Output.Table("Limits no dispatch could meet (relaxed at the penalty price)", "contingency", "branch", "over by (MW)", "limit (MW)")
                .Rows(r.Relaxed, c => [c.Contingency.ToString(), (c.Branch + 1).ToString(), Output.F(c.ViolationMw), Output.F(c.LimitMw, "0.##")]);
        if (r.Reserve.Requirement.Count + r.Reserve.Headroom.Count > 0)
            yield return Output.Table($"Reserve for the largest lost output: {Output.F(r.Reserve.UpMw, "0.##")} MW up, {Output.F(r.Reserve.DownMw, "0.##")} MW down (priced rows)", "row", "generator", "price ($/MWh)")
                .Rows(r.Reserve.Requirement.Select(p => (Row: "requirement R ≥ Pg", P: p)).Concat(r.Reserve.Headroom.Select(p => (Row: "headroom Pg + ᾱR ≤ Pmax", P: p))).ToList(),
                    x => [x.Row + (x.P.Direction < 0 ? " (down)" : ""), (x.P.Generator + 1).ToString(), Output.F(x.P.PriceMwh)]);
        var buses = r.Opf.Buses.Select((b, i) => (b, sec: r.LmpSecurity[i])).ToList();
        yield return Output.Table("Prices ($/MWh)", "bus", "LMP", "energy", "congestion", "security")
            .Rows(buses, x => [x.b.Id.ToString(), Output.F(x.b.Lmp), Output.F(x.b.LmpEnergy), Output.F(x.b.LmpCongestion), Output.F(x.sec)]);
    }

    private static string Plural(int n, string one, string many) => $"{n} {(n == 1 ? one : many)}";
}
