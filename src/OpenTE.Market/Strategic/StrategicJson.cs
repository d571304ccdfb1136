using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.Strategic;

/// <summary>The strategic-bidding result as JSON (<c>opente strategic --json</c>, docs/strategic.md).</summary>
public static class StrategicJson
{
    public static string ToJson(this StrategicResult r) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", r.Case);
        w.WriteString("status", r.Status.Word());
        w.WriteString("mode", r.Mode.ToString().ToLowerInvariant());
        w.Number("priceCap", r.PriceCap);
        w.Objects("leaders", r.Leaders, l =>
        {
            w.WriteString("name", l.Name);
            w.Number("profit", l.Profit);
            w.Number("competitiveProfit", l.CompetitiveProfit);
            w.Number("reclearedProfit", l.ReclearedProfit);
            w.Objects("offers", l.Offers, o =>
            {
                w.WriteNumber("bus", o.Bus);
                w.WriteNumber("block", o.Block);
                w.Number("cost", o.Cost);
                w.Number("quantity", o.Quantity);
                w.Number("offerPrice", o.OfferPrice);
                w.Number("offerQuantity", o.OfferQuantity);
                w.Number("cleared", o.Cleared);
                w.Number("lmp", o.Lmp);
                w.Number("markup", o.Markup);
                w.Number("lerner", o.Lerner);
                w.Number("clearedCompetitive", o.ClearedCompetitive);
                w.Number("lernerCompetitive", o.LernerCompetitive);
            });
        });
        w.Objects("buses", r.Buses, b =>
        {
            w.WriteNumber("id", b.Id);
            w.Number("lmp", b.Lmp);
            w.Number("lmpCompetitive", b.LmpCompetitive);
        });
        w.Number("welfare", r.Welfare);
        w.Number("welfareCompetitive", r.WelfareCompetitive);
        w.Number("welfareLoss", r.WelfareLoss);
        w.WriteStartObject("recleared");
        w.Number("profit", r.Recleared.Profit);
        w.Number("maxLmpDifference", r.Recleared.MaxLmpDifference);
        w.Number("profitDifference", r.Recleared.ProfitDifference);
        w.WriteBoolean("agrees", r.Recleared.Agrees);
        w.Number("shading", r.Recleared.Shading);
        w.WriteEndObject();
        if (r.Equilibrium is { } e)
        {
            w.WriteStartObject("equilibrium");
            w.WriteBoolean("converged", e.Converged);
            w.WriteNumber("iterations", e.Iterations);
            if (e.Cycle is { } c) { w.WriteStartArray("cycle"); foreach (int i in c) w.WriteNumberValue(i); w.WriteEndArray(); }
            else w.WriteNull("cycle");
            w.WriteEndObject();
        }
        else w.WriteNull("equilibrium");
        w.WriteNumber("binaries", r.Statistics.Binaries);
        w.WriteNumber("binariesFixedByData", r.Statistics.FixedByData);
        w.WriteNumber("nodes", r.Statistics.Nodes);
        w.Number("gap", r.Statistics.Gap);
        w.WriteNumber("bigMRounds", r.Statistics.BigMRounds);
        w.WriteNumber("bigMEnlarged", r.Statistics.BigMEnlarged);
        w.WriteNumber("milpSolves", r.Statistics.MilpSolves);
        w.WriteNumber("solveSeconds", r.SolveSeconds);
        w.Strings("messages", r.Messages);
        w.WriteEndObject();
    });
}
