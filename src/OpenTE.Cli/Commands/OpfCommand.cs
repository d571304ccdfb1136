using System.ComponentModel;
using OpenTE.Market.DcOpf;
using OpenTE.Numerics.Optimization;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class OpfSettings : CaseSettings
{
    [CommandOption("--model <MODEL>")]
    [Description("dc (the linear network model). ac is tracked in issue #4.")]
    [DefaultValue("dc")]
    public string Model { get; init; } = "dc";

    [CommandOption("--solver <SOLVER>")]
    [Description("auto (GLOP for linear costs, interior point for quadratic), glop or ipm.")]
    [DefaultValue("auto")]
    public string Solver { get; init; } = "auto";

    [CommandOption("--voll <PRICE>")]
    [Description("Value of lost load in $/MWh: allow load shedding at this price instead of infeasibility.")]
    public double? Voll { get; init; }

    public override ValidationResult Validate() =>
        Model != "dc" ? ValidationResult.Error($"--model {Model} is not available yet: use --model dc")
        : Solver is not ("auto" or "glop" or "ipm") ? ValidationResult.Error("--solver must be auto, glop or ipm")
        : Voll is double v && !(v > 0 && double.IsFinite(v)) ? ValidationResult.Error("--voll must be a positive price")
        : ValidationResult.Success();

    public SolverKind SolverKind => Solver switch { "glop" => SolverKind.Glop, "ipm" => SolverKind.InteriorPoint, _ => SolverKind.Auto };
}

public sealed class OpfCommand : Command<OpfSettings>
{
    public override int Execute(CommandContext context, OpfSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        var r = DcOpfSolver.Solve(read.Network, new DcOpfOptions { Solver = s.SolverKind, ValueOfLostLoad = s.Voll });
        if (s.Json) Output.Emit(ToJson(r), s.Out);
        else Output.Render(Tables(r), s.Out);
        if (r.Status != "optimal")
        {
            CliApp.Io.Err.WriteLine($"{r.Status}: {string.Join("; ", r.Messages)}");
            return 1;
        }
        return 0;
    }

    public static string ToJson(DcOpfResult r) => Output.Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", r.Case);
        w.WriteString("model", "dc");
        w.WriteString("status", r.Status);
        w.Number("objective", r.Objective);
        w.WriteNumber("solveSeconds", r.SolveSeconds);
        w.WriteStartArray("buses");
        foreach (var b in r.Buses)
        {
            w.WriteStartObject();
            w.WriteNumber("id", b.Id);
            w.WriteNumber("vm", 1);
            w.Number("vaDeg", b.VaDeg);
            w.Number("lmp", b.Lmp);
            w.WriteNumber("lmpQ", 0);
            w.WriteNumber("muVmax", 0);
            w.WriteNumber("muVmin", 0);
            w.Number("lmpEnergy", b.LmpEnergy);
            w.Number("lmpCongestion", b.LmpCongestion);
            w.Number("lmpLoss", b.LmpLoss);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("generators");
        foreach (var g in r.Generators)
        {
            w.WriteStartObject();
            w.GeneratorFields(g.Index, g.Bus, g.Pg, 0);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("branches");
        foreach (var l in r.Branches)
        {
            w.WriteStartObject();
            w.BranchFields(l.Index, l.From, l.To, l.Pf, 0, l.Pt, 0);
            w.Number("muSf", l.MuSf);
            w.Number("muSt", l.MuSt);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.Number("congestionRent", r.CongestionRent);
        w.Number("merchandisingSurplus", r.MerchandisingSurplus);
        w.WriteString("solver", r.Solver);
        w.WriteStartArray("messages");
        foreach (var m in r.Messages) w.WriteStringValue(m);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static IEnumerable<IRenderable> Tables(DcOpfResult r)
    {
        string status = r.Status == "optimal" ? "[green]optimal[/]" : $"[red]{r.Status}[/]";
        yield return new Markup($"[bold]{Markup.Escape(r.Case)}[/]: DC OPF {status} ({Markup.Escape(r.Solver)}, {r.Iterations} iterations, {r.SolveSeconds * 1000:0.0} ms); " +
            $"cost {Output.F(r.Objective, "0.##")} $/h; congestion rent {Output.F(r.CongestionRent, "0.##")} $/h\n");
        foreach (var m in r.Messages) yield return new Markup($"  {Markup.Escape(m)}\n");
        if (r.Status != "optimal") yield break;
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
