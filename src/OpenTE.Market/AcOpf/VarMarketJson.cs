using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.AcOpf;

/// <summary>The reactive-power (var) market result as JSON (<c>opente var-market --json</c>).</summary>
public static class VarMarketJson
{
    public static string ToJson(this VarMarketResult r, string png) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", r.Market.Case);
        w.WriteString("status", r.Market.Status.Word());
        w.Number("objective", r.Market.Objective);
        w.Number("totalPayment", r.TotalPayment);
        w.WriteNumber("violationsWithout", r.ViolationsWithout);
        w.WriteNumber("violationsWith", r.ViolationsWith);
        w.WriteString("png", png);
        w.Objects("ders", r.Market.Ders, d =>
        {
            w.WriteString("der", d.Id);
            w.WriteNumber("bus", d.Bus);
            w.Number("pMw", d.PMw);
            w.Number("qMvar", d.QMvar);
            w.Number("capabilityMvar", d.CapabilityMvar);
            w.Number("lmpQ", d.LmpQ);
            w.Number("payment", d.Payment);
        });
        w.Objects("buses", r.Profile.Zip(r.Market.Buses), x =>
        {
            w.WriteNumber("id", x.First.Bus);
            w.Number("vmWithout", x.First.VmWithout);
            w.Number("vmWith", x.First.VmWith);
            w.Number("vmin", x.First.Vmin);
            w.Number("vmax", x.First.Vmax);
            w.Number("lmp", x.Second.Lmp);
            w.Number("lmpQ", x.Second.LmpQ);
        });
        w.Strings("messages", r.Market.Messages);
        w.WriteEndObject();
    });
}
