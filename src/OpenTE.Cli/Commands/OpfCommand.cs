using OpenTE.Market.Outcome;
using System.ComponentModel;
using OpenTE.Market.AcOpf;
using OpenTE.Market.DcOpf;
using OpenTE.Numerics.Optimization;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class OpfSettings : PlotSettings
{
    [CommandOption("--model <MODEL>")]
    [Description("dc (linear network model, LMPs with congestion) or ac (full AC OPF: voltages, reactive prices, losses).")]
    [DefaultValue("dc")]
    public string Model { get; init; } = "dc";

    [CommandOption("--solver <SOLVER>")]
    [Description("auto (dc: CLP for linear costs with GLOP and the interior point as fallbacks, interior point for quadratic; ac: our interior point, then Ipopt when it fails and libipopt is installed), clp, glop, ipm (ours only), or ipopt (ac, when libipopt is installed).")]
    [DefaultValue("auto")]
    public string Solver { get; init; } = "auto";

    [CommandOption("--voll <PRICE>")]
    [Description("Value of lost load in $/MWh: allow load shedding at this price instead of infeasibility.")]
    public double? Voll { get; init; }

    [CommandOption("--dc-susceptance <MODEL>")]
    [Description("The DC model's branch susceptance: reactance (b = 1/x, MATPOWER's, the default) or admittance (b = x/(r² + x²), taps and phase shifts ignored: PowerModels' DC model).")]
    [DefaultValue("reactance")]
    public string DcSusceptance { get; init; } = "reactance";

    public override ValidationResult Validate() =>
        DcSusceptance is not ("reactance" or "admittance") ? ValidationResult.Error($"--dc-susceptance must be reactance or admittance, not {DcSusceptance}")
        : Model == "ac" && DcSusceptance != "reactance" ? ValidationResult.Error("--dc-susceptance applies to --model dc only")
        : Model is "__default_command" or "" ? ValidationResult.Error("--model needs a value: dc or ac (e.g. --model dc)")
        : Model is not ("dc" or "ac") ? ValidationResult.Error($"--model must be dc or ac, not {Model}")
        : Solver is not ("auto" or "clp" or "glop" or "ipm" or "ipopt") ? ValidationResult.Error("--solver must be auto, clp, glop, ipm or ipopt")
        : Model == "dc" && Solver == "ipopt" ? ValidationResult.Error("--solver ipopt is for --model ac; the DC OPF uses auto, clp, glop or ipm")
        : Solver == "ipopt" && !OpenTE.Numerics.Optimization.Ipopt.IsAvailable ? ValidationResult.Error("--solver ipopt needs libipopt (Debian: apt-get install coinor-libipopt-dev); use --solver ipm")
        : Model == "ac" && Solver is "glop" or "clp" ? ValidationResult.Error($"--model ac is nonlinear: {(Solver == "glop" ? "GLOP" : "CLP")} cannot solve it; use --solver ipm (or auto)")
        : Model == "ac" && Voll is not null ? ValidationResult.Error("--voll applies to --model dc only")
        : Voll is double v && !(v > 0 && double.IsFinite(v)) ? ValidationResult.Error("--voll must be a positive price")
        : ValidationResult.Success();

    public SolverKind SolverKind => Solver switch { "glop" => SolverKind.Glop, "clp" => SolverKind.Clp, "ipm" => SolverKind.InteriorPoint, _ => SolverKind.Auto };
}

public sealed class OpfCommand : Command<OpfSettings>
{
    public override int Execute(CommandContext context, OpfSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        if (s.Model == "ac")
        {
            var options = new AcOpfOptions { Backend = s.Solver switch { "ipopt" => AcOpfBackend.Ipopt, "ipm" => AcOpfBackend.Managed, _ => AcOpfBackend.Auto } };
            var ac = AnsiConsoleProgress.Live($"AC OPF of {read.Network.Name}", report => AcOpfSolver.Solve(read.Network,
                options with { Solver = options.Solver with { OnIteration = t => report(AnsiConsoleProgress.Iteration(t)) } }));
            if (s.Plot is not null) Plots.AcOpf(ac, read.Network, s.Plot);
            if (s.Json) Output.Emit(ac.ToJson(), s.Out);
            else Output.Render(AcTables(ac), s.Out);
            if (s.Plot is not null) CliApp.Io.Err.WriteLine($"plot: {s.Plot}");
            if (ac.Status != ClearingStatus.Optimal)
            {
                CliApp.Io.Err.WriteLine($"{ac.Status.Word()}: {string.Join("; ", ac.Messages)}");
                return 1;
            }
            return 0;
        }
        var r = AnsiConsoleProgress.Live($"DC OPF of {read.Network.Name}", report => DcOpfSolver.Solve(read.Network, new DcOpfOptions { Solver = s.SolverKind, ValueOfLostLoad = s.Voll,
            InteriorPoint = new OpenTE.Numerics.Optimization.InteriorPointOptions { OnIteration = t => report(AnsiConsoleProgress.Iteration(t)) },
            Susceptance = s.DcSusceptance == "admittance" ? OpenTE.Grid.PowerFlow.DcSusceptance.Admittance : OpenTE.Grid.PowerFlow.DcSusceptance.Reactance }));
        if (s.Plot is not null) Plots.DcOpf(r, s.Plot);
        if (s.Json) Output.Emit(r.ToJson(), s.Out);
        else Output.Render(Tables(r), s.Out);
        if (s.Plot is not null) CliApp.Io.Err.WriteLine($"plot: {s.Plot}");
        if (r.Status != ClearingStatus.Optimal)
        {
            CliApp.Io.Err.WriteLine($"{r.Status.Word()}: {string.Join("; ", r.Messages)}");
            return 1;
        }
        return 0;
    }



    private static IEnumerable<IRenderable> AcTables(AcOpfResult r)
    {
        string status = r.Status == ClearingStatus.Optimal ? "[green]optimal[/]" : $"[red]{r.Status.Word()}[/]";
        yield return new Markup($"[bold]{Markup.Escape(r.Case)}[/]: AC OPF {status} ({(r.Iterations > 0 ? $"{r.Iterations} interior-point iterations, " : "")}{r.SolveSeconds * 1000:0.0} ms); " +
            $"cost {Output.F(r.Objective, "0.##")} $/h; losses {Output.F(r.LossesMw, "0.###")} MW\n");
        foreach (var m in r.Messages) yield return new Markup($"  {Markup.Escape(m)}\n");
        if (r.Status != ClearingStatus.Optimal) yield break;
        yield return Output.Table("Prices: λP ($/MWh) = energy + loss + congestion + voltage; λQ ($/MVArh) = loss + congestion + voltage",
                "bus", "|V| (p.u.)", "Va (deg)", "λP", "energy", "loss", "congestion", "voltage", "λQ", "Q loss", "Q cong.", "Q voltage")
            .Rows(r.Buses, b => [b.Id.ToString(), Output.F(b.Vm, "0.0000"), Output.F(b.VaDeg), Output.F(b.Lmp), Output.F(b.Parts?.Energy ?? double.NaN),
                Output.F(b.Parts?.Loss ?? double.NaN), Output.F(b.Parts?.Congestion ?? double.NaN), Output.F(b.Parts?.Voltage ?? double.NaN), Output.F(b.LmpQ),
                Output.F(b.Parts?.QLoss ?? double.NaN), Output.F(b.Parts?.QCongestion ?? double.NaN), Output.F(b.Parts?.QVoltage ?? double.NaN)]);
        yield return Output.Table("Dispatch", "gen", "bus", "Pg (MW)", "Qg (MVAr)")
            .Rows(r.Generators.Where(g => g.InService).ToList(), g => [g.Index.ToString(), g.Bus.ToString(), Output.F(g.Pg), Output.F(g.Qg)]);
        var binding = r.Branches.Where(b => b.MuSf > 1e-6 || b.MuSt > 1e-6).ToList();
        yield return binding.Count == 0
            ? new Markup("No binding branch limits.\n")
            : Output.Table("Binding branches", "#", "from", "to", "Pf (MW)", "Qf (MVAr)", "rateA (MVA)", "muSf", "muSt")
                .Rows(binding, l => [l.Index.ToString(), l.From.ToString(), l.To.ToString(), Output.F(l.Pf), Output.F(l.Qf), Output.F(l.RateA, "0.##"), Output.F(l.MuSf), Output.F(l.MuSt)]);
    }

    private static IEnumerable<IRenderable> Tables(DcOpfResult r)
    {
        string status = r.Status == ClearingStatus.Optimal ? "[green]optimal[/]" : $"[red]{r.Status.Word()}[/]";
        yield return new Markup($"[bold]{Markup.Escape(r.Case)}[/]: DC OPF {status} ({Markup.Escape(r.Solver)}, {r.Iterations} iterations, {r.SolveSeconds * 1000:0.0} ms); " +
            $"cost {Output.F(r.Objective, "0.##")} $/h; congestion rent {Output.F(r.CongestionRent, "0.##")} $/h\n");
        foreach (var m in r.Messages) yield return new Markup($"  {Markup.Escape(m)}\n");
        if (r.Status != ClearingStatus.Optimal) yield break;
        yield return Output.Table("Locational marginal prices ($/MWh)", "bus", "LMP", "energy", "congestion", "loss", "Va (deg)")
            .Rows(r.Buses, b => [b.Id.ToString(), Output.F(b.Lmp), Output.F(b.LmpEnergy), Output.F(b.LmpCongestion), Output.F(b.LmpLoss), Output.F(b.VaDeg)]);
        yield return Output.Table("Dispatch", "gen", "bus", "Pg (MW)", "cost ($/h)")
            .Rows(r.Generators, g => [g.Index.ToString(), g.Bus.ToString(), Output.F(g.Pg), Output.F(g.CostPerHour, "0.##")]);
        var binding = r.Branches.Where(b => b.Binding).ToList();
        yield return binding.Count == 0
            ? new Markup("No binding branch limits.\n")
            : Output.Table("Binding branches", "#", "from", "to", "flow (MW)", "rateA", "muSf", "muSt")
                .Rows(binding, l => [l.Index.ToString(), l.From.ToString(), l.To.ToString(), Output.F(l.Pf), Output.F(l.RateA, "0.##"), Output.F(l.MuSf), Output.F(l.MuSt)]);
    }
}
