using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Agents;

/// <summary>The simulated day as JSON (<c>opente simulate --json</c>, docs/simulate.md).</summary>
public static class SimulationJson
{
    public static string ToJson(this SimulationResult r, string dir) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", r.Scenario.Case);
        w.WriteNumber("intervals", r.Times.Count);
        w.WriteNumber("prosumers", r.Scenario.Prosumers.Count);
        w.WriteNumber("islandedIntervals", r.Mode.Count(m => m == "island"));
        w.Number("servedMwh", r.ServedMw.Sum() * r.Scenario.StepHours);
        w.Number("curtailedMwh", r.CurtailedMw.Sum() * r.Scenario.StepHours);
        w.Number("criticalCurtailedMwh", r.CriticalDemandMw.Zip(r.CriticalServedMw, (d, s) => d - s).Sum() * r.Scenario.StepHours);
        w.WriteString("outputDirectory", dir);
        w.Objects("intervalSummary", Enumerable.Range(0, r.Times.Count), t =>
        {
            w.WriteString("timestamp", Time(r.Times[t]));
            w.WriteString("mode", r.Mode[t]);
            w.Number("servedMw", r.ServedMw[t]);
            w.Number("curtailedMw", r.CurtailedMw[t]);
            w.Number("priceMin", r.Price[t].Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min());
            w.Number("priceMax", r.Price[t].Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max());
        });
        w.Strings("messages", r.Messages.Take(50));
        w.WriteEndObject();
    });

    private static string Time(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
}
