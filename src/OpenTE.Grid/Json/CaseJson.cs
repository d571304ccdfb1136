using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.Json;

/// <summary>
/// The network as JSON (docs/case-json.md): the same model and units as the MATPOWER file, with named
/// fields. Reading validates like the MATPOWER reader: syntax errors carry the JSON line, model errors
/// name the array element (e.g. <c>branches[3].to</c>).
/// </summary>
public static class CaseJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Write(Network net)
    {
        var root = new JsonObject
        {
            ["format"] = "opente-case",
            ["version"] = 1,
            ["name"] = net.Name,
            ["baseMVA"] = net.BaseMva,
        };
        var buses = new JsonArray();
        foreach (var b in net.Buses)
        {
            var o = new JsonObject
            {
                ["id"] = b.Id, ["type"] = TypeName(b.Type), ["pd"] = b.Pd, ["qd"] = b.Qd, ["gs"] = b.Gs, ["bs"] = b.Bs,
                ["area"] = b.Area, ["vm"] = b.Vm, ["vaDeg"] = b.VaDeg, ["baseKV"] = b.BaseKV, ["zone"] = b.Zone,
                ["vmax"] = b.Vmax, ["vmin"] = b.Vmin,
            };
            if (b.Name is not null) o["name"] = b.Name;
            AddExtra(o, b.Extra);
            buses.Add(o);
        }
        root["buses"] = buses;
        var gens = new JsonArray();
        foreach (var g in net.Generators)
        {
            var o = new JsonObject
            {
                ["bus"] = g.Bus, ["pg"] = g.Pg, ["qg"] = g.Qg, ["qmax"] = g.Qmax, ["qmin"] = g.Qmin, ["vg"] = g.Vg,
                ["mBase"] = g.MBase, ["status"] = g.Status, ["pmax"] = g.Pmax, ["pmin"] = g.Pmin, ["pc1"] = g.Pc1,
                ["pc2"] = g.Pc2, ["qc1min"] = g.Qc1Min, ["qc1max"] = g.Qc1Max, ["qc2min"] = g.Qc2Min, ["qc2max"] = g.Qc2Max,
                ["rampAgc"] = g.RampAgc, ["ramp10"] = g.Ramp10, ["ramp30"] = g.Ramp30, ["rampQ"] = g.RampQ, ["apf"] = g.Apf,
            };
            AddExtra(o, g.Extra);
            gens.Add(o);
        }
        root["generators"] = gens;
        var branches = new JsonArray();
        foreach (var br in net.Branches)
        {
            var o = new JsonObject
            {
                ["from"] = br.From, ["to"] = br.To, ["r"] = br.R, ["x"] = br.X, ["b"] = br.B, ["rateA"] = br.RateA,
                ["rateB"] = br.RateB, ["rateC"] = br.RateC, ["ratio"] = br.Ratio, ["angleDeg"] = br.AngleDeg,
                ["status"] = br.Status, ["angMinDeg"] = br.AngMinDeg, ["angMaxDeg"] = br.AngMaxDeg,
            };
            AddExtra(o, br.Extra);
            branches.Add(o);
        }
        root["branches"] = branches;
        var costs = new JsonArray();
        foreach (var c in net.GenCosts)
        {
            var o = new JsonObject
            {
                ["model"] = c.Model == CostModel.Polynomial ? "polynomial" : "piecewiseLinear",
                ["startup"] = c.Startup, ["shutdown"] = c.Shutdown,
                ["coefficients"] = new JsonArray([.. c.Coefficients.Select(v => (JsonNode?)JsonValue.Create(v))]),
            };
            if (c.Padding.Length > 0) o["padding"] = new JsonArray([.. c.Padding.Select(v => (JsonNode?)JsonValue.Create(v))]);
            costs.Add(o);
        }
        root["genCosts"] = costs;
        var cells = new JsonObject();
        foreach (var (k, v) in net.CellArrays.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            cells[k] = new JsonArray([.. v.Select(s => (JsonNode?)JsonValue.Create(s))]);
        root["cellArrays"] = cells;
        return root.ToJsonString(Indented);
    }

    private static void AddExtra(JsonObject o, ImmutableArray<double> extra)
    {
        if (extra.Length > 0) o["extra"] = new JsonArray([.. extra.Select(v => (JsonNode?)JsonValue.Create(v))]);
    }

    private static string TypeName(BusType t) => t switch
    {
        BusType.PQ => "PQ",
        BusType.PV => "PV",
        BusType.Ref => "REF",
        _ => "ISOLATED",
    };

    public static CaseReadResult Read(string path)
    {
        string text = InputFiles.ReadText(path);
        return Parse(text, path);
    }

    /// <summary>
    /// Reads the JSON model by writing it as the MATPOWER text it stands for and reading that with the
    /// MATPOWER reader, so both formats share one set of checks; errors are re-labelled with JSON paths.
    /// </summary>
    public static CaseReadResult Parse(string text, string file)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new CaseFormatException(file, (int)(e.LineNumber ?? -1) + 1, $"invalid JSON: {FirstSentence(e.Message)}", "fix the JSON syntax at that line");
        }
        if (root is not JsonObject obj)
            throw new CaseFormatException(file, 1, "the JSON case must be an object", "start the file with { \"format\": \"opente-case\", … }");
        if (obj["format"]?.GetValue<string>() is string fmt && fmt != "opente-case")
            throw new CaseFormatException(file, 0, $"format '{fmt}' is not an OpenTE case", "set \"format\": \"opente-case\"");
        var reader = new Reader(file);
        string name = obj["name"]?.GetValue<string>() ?? Path.GetFileNameWithoutExtension(file);
        double baseMva = reader.Num(obj, "baseMVA", "baseMVA");
        var buses = reader.Array(obj, "buses").Select((n, i) => reader.Bus(n, $"buses[{i}]")).ToList();
        var gens = reader.Array(obj, "generators").Select((n, i) => reader.Gen(n, $"generators[{i}]")).ToList();
        var branches = reader.Array(obj, "branches").Select((n, i) => reader.Branch(n, $"branches[{i}]")).ToList();
        var costs = obj["genCosts"] is null ? [] : reader.Array(obj, "genCosts").Select((n, i) => reader.Cost(n, $"genCosts[{i}]")).ToList();
        var cells = new Dictionary<string, ImmutableArray<string>>();
        if (obj["cellArrays"] is JsonObject co)
            foreach (var (k, v) in co)
                cells[k] = v is JsonArray a ? [.. a.Select(x => x?.GetValue<string>() ?? "")] : throw new CaseFormatException(file, 0, $"cellArrays.{k} is not an array of strings", "write a list of strings");

        var ids = new Dictionary<int, int>();
        for (int i = 0; i < buses.Count; i++)
            if (!ids.TryAdd(buses[i].Id, i))
                throw reader.Error($"buses[{i}].id", $"duplicate bus number {buses[i].Id} (also buses[{ids[buses[i].Id]}])", "give every bus a unique number");
        for (int i = 0; i < gens.Count; i++)
            if (!ids.ContainsKey(gens[i].Bus))
                throw reader.Error($"generators[{i}].bus", $"bus {gens[i].Bus} is not in buses", "use a bus number defined in buses");
        for (int i = 0; i < branches.Count; i++)
            foreach (var (end, id) in new[] { ("from", branches[i].From), ("to", branches[i].To) })
                if (!ids.ContainsKey(id))
                    throw reader.Error($"branches[{i}].{end}", $"bus {id} is not in buses", "use a bus number defined in buses");
        var network = new Network(name, baseMva, buses, gens, branches, costs, cells);
        // one set of checks for both formats: write the MATPOWER text and read it back
        try
        {
            var viaMatpower = MatpowerCase.Parse(MatpowerCase.Write(network), file, name);
            return viaMatpower with { Network = network };
        }
        catch (CaseFormatException e)
        {
            throw new CaseFormatException(file, 0, Relabel(e.Message, buses, gens, branches), e.Hint);
        }
    }

    private static string FirstSentence(string s)
    {
        int i = s.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? s[..i] : s;
    }

    /// <summary>Replaces "file:line: generator 3 …" of the MATPOWER reader by the JSON element it came from.</summary>
    private static string Relabel(string message, List<Bus> buses, List<Generator> gens, List<Branch> branches)
    {
        int colon = message.IndexOf(": ", StringComparison.Ordinal);
        string rest = colon >= 0 && message[..colon].Contains(':') ? message[(colon + 2)..] : message;
        var m = System.Text.RegularExpressions.Regex.Match(rest, @"^(generator|branch) (\d+)");
        if (m.Success)
        {
            int k = int.Parse(m.Groups[2].Value) - 1;
            return (m.Groups[1].Value == "generator" ? $"generators[{k}]" : $"branches[{k}]") + ": " + rest;
        }
        var dup = System.Text.RegularExpressions.Regex.Match(rest, @"bus (?:number )?(\d+)");
        if (dup.Success && rest.StartsWith("bus", StringComparison.Ordinal) || rest.StartsWith("duplicate bus", StringComparison.Ordinal))
        {
            int id = int.Parse(dup.Groups[1].Value);
            int k = buses.FindLastIndex(b => b.Id == id);
            if (k >= 0) return $"buses[{k}]: " + rest;
        }
        _ = gens;
        _ = branches;
        return rest;
    }

    private sealed class Reader(string file)
    {
        public CaseFormatException Error(string path, string message, string hint) => new(file, 0, $"{path}: {message}", hint);

        public JsonArray Array(JsonObject o, string field) =>
            o[field] as JsonArray ?? throw Error(field, "is missing or not an array", $"add \"{field}\": [ … ]");

        public double Num(JsonNode? o, string field, string path, double? fallback = null)
        {
            var n = o?[field];
            if (n is null)
                return fallback ?? throw Error(path, "is missing", $"add the number \"{field}\"");
            try
            {
                return n.GetValue<double>();
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw Error(path, $"'{n.ToJsonString()}' is not a number", "write a JSON number");
            }
        }

        public int Int(JsonNode? o, string field, string path, int? fallback = null)
        {
            double v = Num(o, field, path, fallback);
            if (v != Math.Floor(v) || Math.Abs(v) > int.MaxValue) throw Error(path, $"{v} is not an integer", "write a whole number");
            return (int)v;
        }

        private ImmutableArray<double> Extra(JsonNode n, string path) =>
            n["extra"] is JsonArray a ? [.. a.Select((x, i) => Num(a, i, $"{path}.extra[{i}]"))] : ImmutableArray<double>.Empty;

        private double Num(JsonArray a, int i, string path)
        {
            try { return a[i]!.GetValue<double>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException)
            {
                throw Error(path, "is not a number", "write a JSON number");
            }
        }

        public Bus Bus(JsonNode? n, string p)
        {
            if (n is not JsonObject) throw Error(p, "is not an object", "write { \"id\": …, \"type\": … }");
            string type = n["type"]?.GetValue<string>() ?? throw Error(p + ".type", "is missing", "use PQ, PV, REF or ISOLATED");
            var bt = type.ToUpperInvariant() switch
            {
                "PQ" => BusType.PQ,
                "PV" => BusType.PV,
                "REF" => BusType.Ref,
                "ISOLATED" => BusType.Isolated,
                _ => throw Error(p + ".type", $"'{type}' is not a bus type", "use PQ, PV, REF or ISOLATED"),
            };
            return new Bus(Int(n, "id", p + ".id"), bt, Num(n, "pd", p + ".pd", 0), Num(n, "qd", p + ".qd", 0), Num(n, "gs", p + ".gs", 0),
                Num(n, "bs", p + ".bs", 0), Int(n, "area", p + ".area", 1), Num(n, "vm", p + ".vm", 1), Num(n, "vaDeg", p + ".vaDeg", 0),
                Num(n, "baseKV", p + ".baseKV", 0), Int(n, "zone", p + ".zone", 1), Num(n, "vmax", p + ".vmax", 1.1), Num(n, "vmin", p + ".vmin", 0.9))
            {
                Name = n["name"]?.GetValue<string>(),
                Extra = Extra(n, p),
            };
        }

        public Generator Gen(JsonNode? n, string p)
        {
            if (n is not JsonObject) throw Error(p, "is not an object", "write { \"bus\": …, \"pg\": … }");
            return new Generator(Int(n, "bus", p + ".bus"), Num(n, "pg", p + ".pg", 0), Num(n, "qg", p + ".qg", 0), Num(n, "qmax", p + ".qmax"),
                Num(n, "qmin", p + ".qmin"), Num(n, "vg", p + ".vg", 1), Num(n, "mBase", p + ".mBase", 100), Int(n, "status", p + ".status", 1),
                Num(n, "pmax", p + ".pmax"), Num(n, "pmin", p + ".pmin", 0))
            {
                Pc1 = Num(n, "pc1", p, 0), Pc2 = Num(n, "pc2", p, 0), Qc1Min = Num(n, "qc1min", p, 0), Qc1Max = Num(n, "qc1max", p, 0),
                Qc2Min = Num(n, "qc2min", p, 0), Qc2Max = Num(n, "qc2max", p, 0), RampAgc = Num(n, "rampAgc", p, 0),
                Ramp10 = Num(n, "ramp10", p, 0), Ramp30 = Num(n, "ramp30", p, 0), RampQ = Num(n, "rampQ", p, 0), Apf = Num(n, "apf", p, 0),
                Extra = Extra(n, p),
            };
        }

        public Branch Branch(JsonNode? n, string p)
        {
            if (n is not JsonObject) throw Error(p, "is not an object", "write { \"from\": …, \"to\": …, \"x\": … }");
            return new Branch(Int(n, "from", p + ".from"), Int(n, "to", p + ".to"), Num(n, "r", p + ".r", 0), Num(n, "x", p + ".x"),
                Num(n, "b", p + ".b", 0), Num(n, "rateA", p + ".rateA", 0), Num(n, "rateB", p + ".rateB", 0), Num(n, "rateC", p + ".rateC", 0),
                Num(n, "ratio", p + ".ratio", 0), Num(n, "angleDeg", p + ".angleDeg", 0), Int(n, "status", p + ".status", 1),
                Num(n, "angMinDeg", p + ".angMinDeg", -360), Num(n, "angMaxDeg", p + ".angMaxDeg", 360))
            { Extra = Extra(n, p) };
        }

        public GenCost Cost(JsonNode? n, string p)
        {
            if (n is not JsonObject) throw Error(p, "is not an object", "write { \"model\": \"polynomial\", \"coefficients\": [ … ] }");
            string model = n["model"]?.GetValue<string>() ?? throw Error(p + ".model", "is missing", "use \"polynomial\" or \"piecewiseLinear\"");
            var cm = model switch
            {
                "polynomial" => CostModel.Polynomial,
                "piecewiseLinear" => CostModel.PiecewiseLinear,
                _ => throw Error(p + ".model", $"'{model}' is not a cost model", "use \"polynomial\" or \"piecewiseLinear\""),
            };
            var coeffs = n["coefficients"] as JsonArray ?? throw Error(p + ".coefficients", "is missing", "list the coefficients");
            if (cm == CostModel.PiecewiseLinear && coeffs.Count % 2 != 0)
                throw Error(p + ".coefficients", "has an odd number of values", "a piecewise-linear cost lists x1, y1, …, xn, yn");
            return new GenCost(cm, Num(n, "startup", p, 0), Num(n, "shutdown", p, 0), [.. coeffs.Select((_, i) => Num(coeffs, i, $"{p}.coefficients[{i}]"))])
            {
                Padding = n["padding"] is JsonArray pad ? [.. pad.Select((_, i) => Num(pad, i, $"{p}.padding[{i}]"))] : ImmutableArray<double>.Empty,
            };
        }
    }
}
