using System.Globalization;
using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.MultiPeriod;

/// <summary>The multi-period clearing as JSON (<c>opente multiperiod --json</c>, docs/multiperiod.md).</summary>
public static class MultiPeriodJson
{
    public static string ToJson(this MultiPeriodResult r, OpenTE.Grid.Model.Network net) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", r.Case);
        w.WriteString("status", r.Status.Word());
        w.Number("objective", r.Objective);
        w.Number("solveSeconds", r.SolveSeconds);
        w.Objects("intervals", Enumerable.Range(0, r.Times.Count), t =>
        {
            w.WriteString("timestamp", Time(r.Times[t]));
            w.Objects("buses", Enumerable.Range(0, net.BusCount), b =>
            {
                w.WriteNumber("id", net.Buses[b].Id);
                w.Number("lmp", r.Lmp[t][b]);
                w.Number("pvUsedMw", r.PvUsedMw[t][b]);
                w.Number("shedMw", r.ShedMw[t][b]);
            });
            w.Objects("generators", Enumerable.Range(0, net.Generators.Length), g =>
            {
                w.WriteNumber("index", g + 1);
                w.Number("pg", r.PgMw[t][g]);
            });
        });
        w.Objects("storage", r.Storage, s =>
        {
            w.WriteString("id", s.Id);
            w.WriteNumber("bus", s.Bus);
            w.WriteStartArray("chargeMw"); foreach (var v in s.ChargeMw) w.WriteNumberValue(double.IsFinite(v) ? v : 0); w.WriteEndArray();
            w.WriteStartArray("dischargeMw"); foreach (var v in s.DischargeMw) w.WriteNumberValue(double.IsFinite(v) ? v : 0); w.WriteEndArray();
            w.WriteStartArray("socMwh"); foreach (var v in s.SocMwh) w.WriteNumberValue(double.IsFinite(v) ? v : 0); w.WriteEndArray();
        });
        w.Strings("messages", r.Messages);
        w.WriteEndObject();
    });

    private static string Time(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);
}
