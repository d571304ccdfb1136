using OpenTE.Grid.Output;

namespace OpenTE.Grid.PowerFlow;

/// <summary>The power-flow result as the JSON of DESIGN.md §5 (<c>opente pf --json</c>).</summary>
public static class PowerFlowJson
{
    public static string ToJson(this PowerFlowResult r) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", r.Case);
        w.WriteBoolean("converged", r.Converged);
        w.WriteNumber("iterations", r.Iterations);
        w.WriteNumber("solveSeconds", r.SolveSeconds);
        w.WriteStartArray("buses");
        foreach (var b in r.Buses)
        {
            w.WriteStartObject();
            w.WriteNumber("id", b.Id);
            w.Number("vm", b.Vm);
            w.Number("vaDeg", b.VaDeg);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("branches");
        foreach (var l in r.Branches)
        {
            w.WriteStartObject();
            w.BranchFields(l.Index, l.From, l.To, l.Pf, l.Qf, l.Pt, l.Qt);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("generators");
        foreach (var g in r.Generators)
        {
            w.WriteStartObject();
            w.GeneratorFields(g.Index, g.Bus, g.Pg, g.Qg);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("messages");
        foreach (var m in r.Messages) w.WriteStringValue(m);
        w.WriteEndArray();
        w.WriteEndObject();
    });
}
