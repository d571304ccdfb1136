using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.Scopf;

/// <summary>The security-constrained clearing as JSON (<c>opente scopf --json</c>, docs/cli.md).</summary>
public static class ScopfJson
{
    public static string ToJson(this ScopfResult r) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", r.Opf.Case);
        w.WriteString("mode", r.Mode.ToString().ToLowerInvariant());
        w.WriteString("status", r.Opf.Status.Word());
        w.Number("objective", r.Opf.Objective);
        w.Number("baseCost", r.BaseCost);
        w.Number("securityCost", r.SecurityCost);
        w.WriteNumber("rounds", r.Rounds);
        w.WriteNumber("constraintsAdded", r.ConstraintsAdded);
        w.WriteNumber("contingencies", r.Contingencies.Secure.Count);
        w.Strings("islandingOutages", r.Contingencies.Islanding.Select(c => c.ToString()));
        w.Strings("alreadyOut", r.Contingencies.AlreadyOut.Select(c => c.ToString()));
        w.Number("solveSeconds", r.SolveSeconds);
        w.Objects("buses", r.Opf.Buses.Select((bus, b) => (bus, b)), x =>
        {
            w.WriteNumber("id", x.bus.Id);
            w.Number("lmp", x.bus.Lmp);
            w.Number("lmpEnergy", x.bus.LmpEnergy);
            w.Number("lmpCongestion", x.bus.LmpCongestion);
            w.Number("lmpSecurity", r.LmpSecurity.Count > x.b ? r.LmpSecurity[x.b] : double.NaN);
        });
        w.Objects("generators", r.Opf.Generators, g => w.GeneratorFields(g.Index, g.Bus, g.Pg, 0));
        w.Objects("bindingContingencies", r.Binding, c =>
        {
            w.WriteString("contingency", c.Contingency.ToString());
            w.WriteNumber("branch", c.Branch + 1);
            w.Number("postFlowMw", c.PostFlowMw);
            w.Number("limitMw", c.LimitMw);
            w.Number("muSf", c.MuSf);
            w.Number("muSt", c.MuSt);
        });
        w.Objects("relaxedLimits", r.Relaxed, c =>
        {
            w.WriteString("contingency", c.Contingency.ToString());
            w.WriteNumber("branch", c.Branch + 1);
            w.Number("violationMw", c.ViolationMw);
            w.Number("limitMw", c.LimitMw);
        });
        w.WritePropertyName("reserve");
        w.WriteStartObject();
        w.Number("upMw", r.Reserve.UpMw);
        w.Number("downMw", r.Reserve.DownMw);
        w.Objects("requirement", r.Reserve.Requirement, p => { w.WriteNumber("generator", p.Generator + 1); w.WriteNumber("direction", p.Direction); w.Number("priceMwh", p.PriceMwh); });
        w.Objects("headroom", r.Reserve.Headroom, p => { w.WriteNumber("generator", p.Generator + 1); w.WriteNumber("direction", p.Direction); w.Number("priceMwh", p.PriceMwh); });
        w.WriteEndObject();
        w.Strings("messages", r.Opf.Messages);
        w.WriteEndObject();
    });
}
