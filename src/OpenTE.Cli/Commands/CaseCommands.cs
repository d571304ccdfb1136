using System.ComponentModel;
using OpenTE.Grid;
using OpenTE.Grid.Json;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class CaseInfoCommand : Command<CaseSettings>
{
    public override int Execute(CommandContext context, CaseSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        var net = read.Network;
        var islands = net.Islands;
        var gensOn = net.Generators.Where(g => g.InService).ToList();
        var branchesOn = net.Branches.Where(b => b.InService).ToList();
        int transformers = net.Branches.Count(b => b.Ratio != 0 || b.AngleDeg != 0);
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("case", net.Name);
                w.WriteNumber("baseMVA", net.BaseMva);
                w.WriteNumber("buses", net.BusCount);
                w.WriteNumber("generators", net.Generators.Length);
                w.WriteNumber("generatorsInService", gensOn.Count);
                w.WriteNumber("branches", net.Branches.Length);
                w.WriteNumber("branchesInService", branchesOn.Count);
                w.WriteNumber("transformers", transformers);
                w.Number("loadMw", net.TotalLoadMw);
                w.Number("loadMvar", net.TotalLoadMvar);
                w.Number("generationCapacityMw", gensOn.Sum(g => g.Pmax));
                w.Number("generationDispatchMw", gensOn.Sum(g => g.Pg));
                w.WriteStartArray("islands");
                foreach (var i in islands)
                {
                    w.WriteStartObject();
                    w.WriteNumber("buses", i.Buses.Count);
                    w.WriteNumber("firstBus", net.Buses[i.Buses[0]].Id);
                    w.WriteStartArray("referenceBuses");
                    foreach (int r in i.ReferenceBuses) w.WriteNumberValue(net.Buses[r].Id);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("warnings");
                foreach (var d in read.Warnings) w.WriteStringValue(d.ToString());
                w.WriteEndArray();
                w.WriteEndObject();
            }), s.Out);
            return 0;
        }
        var grid = new Spectre.Console.Grid().AddColumn().AddColumn(new GridColumn().RightAligned());
        void Row(string k, string v) => grid.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("case", net.Name);
        Row("base MVA", Output.F(net.BaseMva, "0.##"));
        Row("buses", net.BusCount.ToString());
        Row("generators (in service)", $"{net.Generators.Length} ({gensOn.Count})");
        Row("branches (in service)", $"{net.Branches.Length} ({branchesOn.Count})");
        Row("transformers / phase shifters", transformers.ToString());
        Row("total load", $"{Output.F(net.TotalLoadMw, "0.###")} MW, {Output.F(net.TotalLoadMvar, "0.###")} MVAr");
        Row("generation capacity", $"{Output.F(gensOn.Sum(g => g.Pmax), "0.###")} MW");
        Row("generation dispatch", $"{Output.F(gensOn.Sum(g => g.Pg), "0.###")} MW");
        Row("islands", islands.Count == 1 ? "1 (connected)" : islands.Count.ToString());
        var items = new List<IRenderable> { grid };
        if (islands.Count > 1)
            items.Add(Output.Table("Islands", "buses", "first bus", "reference bus")
                .Rows(islands, i => [i.Buses.Count.ToString(), net.Buses[i.Buses[0]].Id.ToString(),
                    i.HasReference ? string.Join(",", i.ReferenceBuses.Select(r => net.Buses[r].Id)) : "none"]));
        foreach (var d in read.Warnings) items.Add(new Markup($"[yellow]warning:[/] {Markup.Escape(d.ToString())}\n"));
        Output.Render(items, s.Out);
        return 0;
    }
}

public sealed class ConvertSettings : CommandSettings
{
    [CommandArgument(0, "<CASE>")]
    [Description("The case to convert: a .m or .json file, or a case name from ../shared/cases.")]
    public string Case { get; init; } = "";

    [CommandOption("--to <FORMAT>")]
    [Description("Target format: json (docs/case-json.md) or m (MATPOWER version 2). May be left out when --out ends in .json or .m.")]
    public string? To { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("Write to FILE instead of standard output.")]
    public string? Out { get; init; }

    /// <summary>The target format: --to, or the extension of --out.</summary>
    public string Format => To ?? Path.GetExtension(Out ?? "").TrimStart('.').ToLowerInvariant();

    public override ValidationResult Validate() =>
        Format is "json" or "m" ? ValidationResult.Success()
        : To is null ? ValidationResult.Error("give the target format with --to json or --to m")
        : ValidationResult.Error($"--to {To}: the format must be 'json' or 'm'");
}

public sealed class CaseConvertCommand : Command<ConvertSettings>
{
    public override int Execute(CommandContext context, ConvertSettings s, CancellationToken cancellationToken)
    {
        var read = CaseLocator.Load(s.Case);
        foreach (var w in read.Warnings) CliApp.Io.Err.WriteLine($"warning: {w}");
        string text = s.Format == "json" ? CaseJson.Write(read.Network) : MatpowerCase.Write(read.Network);
        Output.Emit(text.TrimEnd('\n'), s.Out);
        return 0;
    }
}
