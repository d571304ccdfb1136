using System.Text.Json;
using OpenTE.Grid;
using OpenTE.Grid.Model;
using OpenTE.Grid.Input;

namespace OpenTE.Market.P2p;

/// <summary>
/// P2P scenario JSON (docs/p2p.md): explicit peers and partnerships, or a generated market, optionally placed on a
/// case's buses with a grid fee. Errors name the file and JSON path.
/// </summary>
public static class P2pScenario
{
    public static P2pMarketData Read(string path, Func<string, Network> loadCase)
    {
        string text = InputFiles.ReadText(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InputException(path, (int)(e.LineNumber ?? 0) + 1, "not valid JSON: " + e.Message.Split('.')[0], "fix the JSON syntax"); }
        using (doc) return Parse(doc.RootElement, path, loadCase);
    }

    public static P2pMarketData Parse(JsonElement root, string file, Func<string, Network> loadCase)
    {
        InputException Err(string where, string what, string hint) => new(file, 0, $"{where}: {what}", hint);
        if (root.ValueKind != JsonValueKind.Object) throw Err("$", $"the scenario is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object", "write { \"peers\": [...], \"trades\": [...] } or { \"generate\": {...} } (docs/p2p.md)");
        foreach (var key in new[] { "generate", "network" })
            if (root.TryGetProperty(key, out var o) && o.ValueKind != JsonValueKind.Object) throw Err("$." + key, "is not an object", "see docs/p2p.md");
        double Num(JsonElement e, string name, string where, double? fallback = null)
        {
            if (e.ValueKind != JsonValueKind.Object) throw Err(where, "is not an object", "write { \"name\": value, … }");
            if (!e.TryGetProperty(name, out var v)) return fallback ?? throw Err($"{where}.{name}", "missing", $"add \"{name}\"");
            if (v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble())) throw Err($"{where}.{name}", $"'{v}' is not a finite number", "write a plain number");
            double x = v.GetDouble();
            if (Math.Abs(x) > MaxMagnitude) throw Err($"{where}.{name}", $"{x:G6} is outside [-{MaxMagnitude:G2}, {MaxMagnitude:G2}]", "use MW and $/MWh of a real market");
            return x;
        }
        int Int(JsonElement e, string name, string where, long min, long max, int? fallback = null)
        {
            double x = Num(e, name, where, fallback);
            if (x != Math.Floor(x) || x < min || x > max) throw Err($"{where}.{name}", $"{x:G} is not an integer in [{min}, {max}]", $"write a whole number from {min} to {max}");
            return (int)x;
        }
        P2pMarketData data;
        var busOf = new List<int>();
        if (root.TryGetProperty("generate", out var gen))
        {
            int peers = Int(gen, "peers", "$.generate", 2, 10_000_000), seed = Int(gen, "seed", "$.generate", int.MinValue, int.MaxValue, 1);
            int partners = Int(gen, "partners", "$.generate", 1, Math.Max(1, peers / 2));
            long need = EstimateBytes(peers, partners), have = AvailableBytes();
            if (need > have)
                throw Err("$.generate.peers", $"{peers:N0} peers with {partners} partners each need about {need / 1e9:0.0} GB, more than the {have / 1e9:0.0} GB this machine can give the market",
                    "generate fewer peers or partners (the limit is half the memory available to the process)");
            data = P2pGenerator.Random(peers, partners, seed);
        }
        else
        {
            if (!root.TryGetProperty("peers", out var list) || list.ValueKind != JsonValueKind.Array) throw Err("$.peers", "missing", "list the peers, or give \"generate\"");
            var ids = new Dictionary<string, int>();
            var specs = new List<(string Id, double A, double B, double Pmin, double Pmax)>();
            int k = 0;
            foreach (var e in list.EnumerateArray())
            {
                string where = $"$.peers[{k++}]";
                if (e.ValueKind != JsonValueKind.Object) throw Err(where, "is not an object", "write { \"id\", \"a\", \"b\", \"pmin\", \"pmax\" }");
                string id = e.TryGetProperty("id", out var idv) && idv.ValueKind == JsonValueKind.String ? idv.GetString()! : throw Err(where + ".id", "missing", "give every peer an id");
                if (!ids.TryAdd(id, specs.Count)) throw Err(where + ".id", $"'{id}' is used twice", "give every peer its own id");
                double a = Num(e, "a", where), b = Num(e, "b", where), pmin = Num(e, "pmin", where), pmax = Num(e, "pmax", where);
                if (!(a > 0)) throw Err(where + ".a", $"{a} must be positive", "the cost (or utility) must be strictly convex (concave)");
                if (pmin > pmax || (pmin < 0 && pmax > 0)) throw Err(where, $"limits [{pmin}, {pmax}] are inverted or straddle 0", "a producer has 0 ≤ pmin ≤ pmax, a consumer pmin ≤ pmax ≤ 0");
                specs.Add((id, a, b, pmin, pmax));
                if (e.TryGetProperty("bus", out _)) busOf.Add(Int(e, "bus", where, 0, int.MaxValue));
            }
            var links = specs.Select(_ => new Dictionary<int, double>()).ToArray();
            if (!root.TryGetProperty("trades", out var trades) || trades.ValueKind != JsonValueKind.Array) throw Err("$.trades", "missing", "list the partnerships: { \"seller\", \"buyer\", \"sellerCharge\", \"buyerCharge\" }");
            k = 0;
            foreach (var e in trades.EnumerateArray())
            {
                string where = $"$.trades[{k++}]";
                if (e.ValueKind != JsonValueKind.Object) throw Err(where, "is not an object", "write { \"seller\", \"buyer\", \"sellerCharge\", \"buyerCharge\" }");
                string S(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Err($"{where}.{name}", "missing", $"name the {name} by its id");
                string seller = S("seller"), buyer = S("buyer");
                if (!ids.TryGetValue(seller, out int s)) throw Err(where + ".seller", $"'{seller}' is not a peer", "use an id from $.peers");
                if (!ids.TryGetValue(buyer, out int bb)) throw Err(where + ".buyer", $"'{buyer}' is not a peer", "use an id from $.peers");
                if (specs[s].Pmax <= 0 || specs[bb].Pmin >= 0) throw Err(where, $"{seller} must be a producer and {buyer} a consumer", "pair a producer (seller) with a consumer (buyer)");
                if (links[s].ContainsKey(bb)) throw Err(where, $"the trade {seller} → {buyer} is listed twice", "list each partnership once");
                links[s][bb] = Num(e, "sellerCharge", where, 0);
                links[bb][s] = Num(e, "buyerCharge", where, 0);
            }
            data = new P2pMarketData([.. specs.Select((p, n) => new Peer(p.Id, p.A, p.B, p.Pmin, p.Pmax, links[n]))]);
        }
        try { data.Validate(); }
        catch (ArgumentException e) { throw Err("$", e.Message, "fix the peer's data"); }
        if (root.TryGetProperty("network", out var netSpec))
        {
            string caseName = netSpec.TryGetProperty("case", out var cv) && cv.ValueKind == JsonValueKind.String ? cv.GetString()! : throw Err("$.network.case", "missing", "name the case");
            double fee = Num(netSpec, "feePerMwh", "$.network");
            if (!(fee >= 0)) throw Err("$.network.feePerMwh", $"{fee} is negative", "the grid fee is ≥ 0");
            var net = loadCase(caseName);
            if (busOf.Count == 0)
            {
                var rnd = new Random(7); // generated markets: peers spread over the case's buses
                busOf = [.. data.Peers.Select(_ => net.Buses[rnd.Next(net.BusCount)].Id)];
            }
            if (busOf.Count != data.Peers.Count) throw Err("$.peers", "some peers have a bus and some do not", "give every peer a bus, or none");
            foreach (var b in busOf) if (!net.BusIndex.ContainsKey(b)) throw Err("$.peers", $"bus {b} is not in {net.Name}", "use bus numbers of the case");
            data = GridCharges.Apply(data, net, busOf, fee).Market;
        }
        return data;
    }

    /// <summary>The largest magnitude of a number in a scenario (MW, $/MWh, $/MW²h): far beyond any real market, far below overflow.</summary>
    public const double MaxMagnitude = 1e9;

    /// <summary>
    /// What a generated market of <paramref name="peers"/> with <paramref name="partners"/> partners each holds in memory,
    /// measured on this implementation (peak resident memory of <c>opente p2p</c> on generated markets of 100 000 peers
    /// with 1, 5 and 20 partners and 400 000 with 5: 0.34, 0.61, 1.75 and 2.1 GB): about 2 KB per peer and 0.75 KB per
    /// partnership (the peers' links and the engine's per-trade state).
    /// </summary>
    public static long EstimateBytes(long peers, long partners) => checked(peers * 2000 + peers * partners * 750);

    /// <summary>Half the memory the runtime may use (the rest is for the solver's work and the output).</summary>
    public static long AvailableBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
}
