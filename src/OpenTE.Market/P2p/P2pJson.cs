using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.P2p;

/// <summary>The P2P market result as JSON (<c>opente p2p --json</c>, docs/p2p.md): status, engine, silos, residuals, peers and bilateral trades.</summary>
public static class P2pJson
{
    public static string ToJson(this P2pResult r, P2pMarketData data, string engine, string? plot, string clusterId, IReadOnlyDictionary<string, int> silos,
        Carbon.CarbonComparison? carbon = null) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("status", r.Status.Word());
        w.WriteString("engine", engine);
        if (silos.Count > 0)
        {
            w.WriteString("clusterId", clusterId);
            w.Objects("silos", silos.OrderBy(x => x.Key, StringComparer.Ordinal), x => { w.WriteString("silo", x.Key); w.WriteNumber("peers", x.Value); });
        }
        w.WriteNumber("iterations", r.Iterations);
        w.Number("welfare", r.Welfare);
        w.Number("seconds", r.Seconds);
        w.Number("primalResidual", r.History.Count > 0 ? r.History[^1].Primal : double.NaN);
        w.Number("dualResidual", r.History.Count > 0 ? r.History[^1].Dual : double.NaN);
        w.WriteString("png", plot);
        w.Objects("peers", Enumerable.Range(0, data.Peers.Count), n =>
        {
            w.WriteString("id", data.Peers[n].Id);
            w.Number("powerMw", r.Power[n]);
        });
        w.Objects("trades", Enumerable.Range(0, data.Peers.Count).Where(n => data.Peers[n].Producer).SelectMany(n => r.Trades[n].Select(t => (n, t.Key, t.Value))), x =>
        {
            w.WriteString("seller", data.Peers[x.n].Id);
            w.WriteString("buyer", data.Peers[x.Key].Id);
            w.Number("mw", x.Value);
            w.Number("sellerPrice", r.Prices[x.n][x.Key]);
            w.Number("buyerPrice", r.Prices[x.Key][x.n]);
            if (carbon is not null) w.Number("gco2PerKwh", carbon.Factors[x.n].GetValueOrDefault(x.Key));
        });
        if (carbon is not null)
        {
            w.WriteStartObject("carbon");
            w.Number("pricePerTonne", carbon.PricePerTonne);
            w.Number("upstreamGco2PerKwh", carbon.UpstreamGramsPerKwh);
            foreach (var (name, side) in new[] { ("without", carbon.Without), ("with", carbon.With) })
            {
                w.WriteStartObject(name);
                w.Number("emissionsKgPerH", side.EmissionsKgPerH);
                w.Number("welfare", side.Welfare);
                w.Number("welfareNetOfCarbon", side.WelfareNetOfCarbon);
                w.Number("meanPrice", side.MeanPrice);
                w.Number("tradedMw", side.TradedMw);
                w.WriteNumber("iterations", side.Result.Iterations);
                w.WriteString("status", side.Result.Status.Word());
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    });
}
