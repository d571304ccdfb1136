using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.DcOpf;

/// <summary>The DC OPF / clearing result as the JSON of DESIGN.md §5 (<c>opente opf --model dc --json</c>).</summary>
public static class DcOpfJson
{
    public static string ToJson(this DcOpfResult r) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.OpfHead(r.Case, "dc", r.Status.Word(), r.Objective, r.SolveSeconds);
        w.Objects("buses", r.Buses, b =>
        {
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
        });
        w.Objects("generators", r.Generators, g => w.GeneratorFields(g.Index, g.Bus, g.Pg, 0));
        w.Objects("branches", r.Branches, l =>
        {
            w.BranchFields(l.Index, l.From, l.To, l.Pf, 0, l.Pt, 0);
            w.Number("muSf", l.MuSf);
            w.Number("muSt", l.MuSt);
        });
        w.Number("congestionRent", r.CongestionRent);
        w.Number("merchandisingSurplus", r.MerchandisingSurplus);
        w.WriteString("solver", r.Solver);
        w.Strings("messages", r.Messages);
        w.WriteEndObject();
    });
}
