using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OpenTE.Grid.Input;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.Json;

/// <summary>
/// The network as JSON (docs/case-json.md): the same model and units as the MATPOWER file, with named
/// fields, one bus / generator / branch / cost per line. Reading never trusts the file: syntax errors
/// carry the JSON line; model errors carry the line and name the element and field
/// (e.g. <c>case.json:14: branches[3].to: bus 7 is not in buses</c>). The model checks are the
/// <see cref="NetworkValidator"/>'s, the same as for MATPOWER files, rendered as JSON paths and their lines.
/// </summary>
public static partial class CaseJson
{
    public const string FormatName = "opente-case";
    public const int FormatVersion = 1;

    // Field names in MATPOWER column order (the first 13 / 21 / 13 are the standard columns).
    internal static readonly string[] BusFields =
        ["id", "type", "pd", "qd", "gs", "bs", "area", "vm", "vaDeg", "baseKV", "zone", "vmax", "vmin", "name", "extra"];
    internal static readonly string[] GenFields =
        ["bus", "pg", "qg", "qmax", "qmin", "vg", "mBase", "status", "pmax", "pmin", "pc1", "pc2", "qc1min", "qc1max",
         "qc2min", "qc2max", "rampAgc", "ramp10", "ramp30", "rampQ", "apf", "extra"];
    internal static readonly string[] BranchFields =
        ["from", "to", "r", "x", "b", "rateA", "rateB", "rateC", "ratio", "angleDeg", "status", "angMinDeg", "angMaxDeg", "extra"];
    internal static readonly string[] CostFields = ["model", "startup", "shutdown", "coefficients", "padding"];
    internal static readonly string[] TopFields =
        ["format", "version", "name", "baseMVA", "buses", "generators", "branches", "genCosts", "cellArrays"];

    /// <summary>Cell-array names that mean something else in a MATPOWER file.</summary>
    private static readonly HashSet<string> ReservedCells = ["bus", "gen", "branch", "gencost", "baseMVA", "version", "bus_name"];

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // ======================================================================== writing

    /// <summary>The case as OpenTE case JSON. ±∞ and NaN (allowed by MATPOWER files) are written as the strings "Infinity", "-Infinity", "NaN".</summary>
    public static string Write(Network net)
    {
        var sb = new StringBuilder();
        sb.Append("{\n");
        sb.Append("  \"format\": ").Append(Str(FormatName)).Append(",\n");
        sb.Append("  \"version\": ").Append(FormatVersion).Append(",\n");
        sb.Append("  \"name\": ").Append(Str(net.Name)).Append(",\n");
        sb.Append("  \"baseMVA\": ").Append(Num(net.BaseMva).ToJsonString(Compact)).Append(",\n");
        Array(sb, "buses", net.Buses.Select(b =>
        {
            var o = Obj(BusFields, [b.Id, TypeName(b.Type), b.Pd, b.Qd, b.Gs, b.Bs, b.Area, b.Vm, b.VaDeg, b.BaseKV, b.Zone, b.Vmax, b.Vmin]);
            if (b.Name is not null) o["name"] = b.Name;
            return WithList(o, "extra", b.Extra);
        }));
        sb.Append(",\n");
        Array(sb, "generators", net.Generators.Select(g => WithList(Obj(GenFields,
            [g.Bus, g.Pg, g.Qg, g.Qmax, g.Qmin, g.Vg, g.MBase, g.Status, g.Pmax, g.Pmin, g.Pc1, g.Pc2, g.Qc1Min, g.Qc1Max,
             g.Qc2Min, g.Qc2Max, g.RampAgc, g.Ramp10, g.Ramp30, g.RampQ, g.Apf]), "extra", g.Extra)));
        sb.Append(",\n");
        Array(sb, "branches", net.Branches.Select(br => WithList(Obj(BranchFields,
            [br.From, br.To, br.R, br.X, br.B, br.RateA, br.RateB, br.RateC, br.Ratio, br.AngleDeg, br.Status, br.AngMinDeg, br.AngMaxDeg]),
            "extra", br.Extra)));
        sb.Append(",\n");
        Array(sb, "genCosts", net.GenCosts.Select(c =>
        {
            var o = Obj(CostFields, [c.Model == CostModel.Polynomial ? "polynomial" : "piecewiseLinear", c.Startup, c.Shutdown]);
            o["coefficients"] = List(c.Coefficients);
            return WithList(o, "padding", c.Padding);
        }));
        sb.Append(",\n  \"cellArrays\": {");
        var cells = net.CellArrays.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        for (int i = 0; i < cells.Count; i++)
        {
            sb.Append(i == 0 ? "\n" : ",\n");
            sb.Append("    ").Append(Str(cells[i].Key)).Append(": ")
              .Append(new JsonArray([.. cells[i].Value.Select(s => (JsonNode?)JsonValue.Create(s))]).ToJsonString(Compact));
        }
        sb.Append(cells.Count == 0 ? "}\n" : "\n  }\n");
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Write"/> to a file.</summary>
    public static void Save(Network net, string path) => File.WriteAllText(path, Write(net));

    private static string Str(string s) => JsonValue.Create(s).ToJsonString(Compact);

    private static JsonNode Num(double v) => double.IsFinite(v) ? JsonValue.Create(v)
        : JsonValue.Create(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");

    private static JsonObject Obj(string[] names, object[] values)
    {
        var o = new JsonObject();
        for (int k = 0; k < values.Length; k++)
            o[names[k]] = values[k] switch
            {
                double d => Num(d),
                int i => JsonValue.Create(i),
                string s => JsonValue.Create(s),
                _ => throw new ArgumentException("unsupported value", nameof(values)),
            };
        return o;
    }

    private static JsonArray List(ImmutableArray<double> values) => new([.. values.Select(v => (JsonNode?)Num(v))]);

    private static JsonObject WithList(JsonObject o, string name, ImmutableArray<double> values)
    {
        if (values.Length > 0) o[name] = List(values);
        return o;
    }

    private static void Array(StringBuilder sb, string name, IEnumerable<JsonObject> items)
    {
        sb.Append("  ").Append(Str(name)).Append(": [");
        bool first = true;
        foreach (var o in items)
        {
            sb.Append(first ? "\n    " : ",\n    ").Append(o.ToJsonString(Compact));
            first = false;
        }
        sb.Append(first ? "]" : "\n  ]");
    }

    private static string TypeName(BusType t) => t switch
    {
        BusType.PQ => "PQ",
        BusType.PV => "PV",
        BusType.Ref => "REF",
        _ => "ISOLATED",
    };

    // ======================================================================== reading

    public static CaseReadResult Read(string path) => Parse(InputFiles.ReadText(path), path);

    /// <summary>
    /// Reads OpenTE case JSON. Every problem is a <see cref="CaseFormatException"/> with the file, the JSON
    /// line, the element path and a hint; comments and trailing commas are accepted.
    /// </summary>
    public static CaseReadResult Parse(string text, string file)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var documentOptions = new JsonDocumentOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            AllowDuplicateProperties = false,
        };
        // the parser leaves the decoding of \u escapes for later: a lone surrogate would fail far from its line
        int undecodable = UndecodableStringLine(utf8);
        if (undecodable > 0)
            throw new CaseFormatException(file, undecodable, "invalid JSON: a string holds an incomplete UTF-16 escape (a lone \\uD800–\\uDFFF)",
                "write the character itself, or both halves of its surrogate pair");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8, documentOptions: documentOptions);
        }
        catch (JsonException e)
        {
            int duplicate = e.LineNumber is null ? DuplicateLine(utf8) : 0;
            if (duplicate > 0)
                throw new CaseFormatException(file, duplicate, $"invalid JSON: {SyntaxMessage(e.Message)}",
                    "a field may appear only once in an object: remove or rename one of them");
            throw new CaseFormatException(file, (int)(e.LineNumber ?? 0) + 1, $"invalid JSON: {SyntaxMessage(e.Message)}",
                "fix the JSON syntax at that line (a missing comma, quote or bracket is the usual cause)");
        }
        if (root is not JsonObject obj)
            throw new CaseFormatException(file, 1, "the JSON case must be an object", $"start the file with {{ \"format\": \"{FormatName}\", … }}");

        var lines = new LineMap(utf8, ReaderOptions);
        var r = new Reader(file, lines);
        var warnings = new List<Diagnostic>();

        if (obj["format"] is { } formatNode && r.Text(formatNode, "format") is var format && format != FormatName)
            throw r.Error("format", $"'{format}' is not an OpenTE case", $"set \"format\": \"{FormatName}\"");
        if (obj["version"] is { } versionNode && r.Int(versionNode, "version") is var version && version != FormatVersion)
            throw r.Error("version", $"case JSON version {version} is not supported (this OpenTE reads version {FormatVersion})",
                $"write \"version\": {FormatVersion} (see docs/case-json.md)");
        foreach (var (k, _) in obj)
            if (!TopFields.Contains(k))
                warnings.Add(new Diagnostic(file, lines.Of(k), $"\"{k}\" is not part of the OpenTE case format and is ignored"));

        string name = obj["name"] is { } nameNode ? r.Text(nameNode, "name") : Path.GetFileNameWithoutExtension(file);
        double baseMva = r.Num(obj["baseMVA"], "baseMVA");
        var buses = r.Items(obj, "buses").Select((n, i) => r.Bus(n, $"buses[{i}]")).ToList();
        var gens = r.Items(obj, "generators").Select((n, i) => r.Gen(n, $"generators[{i}]")).ToList();
        var branches = r.Items(obj, "branches").Select((n, i) => r.Branch(n, $"branches[{i}]")).ToList();
        var costs = obj["genCosts"] is null ? [] : r.Items(obj, "genCosts").Select((n, i) => r.Cost(n, $"genCosts[{i}]")).ToList();
        var cells = r.Cells(obj["cellArrays"]);

        // the model checks of every format (NetworkValidator), rendered as JSON paths and their lines
        var issues = NetworkValidator.Check(baseMva, buses, gens, branches, costs);
        if (issues.Count > 0)
        {
            var i = issues[0];
            string element = i.Element switch
            {
                CaseElement.Case => "",
                CaseElement.Bus => "buses",
                CaseElement.Generator => "generators",
                CaseElement.Branch => "branches",
                _ => "genCosts",
            };
            string path = i.Element == CaseElement.Case ? i.Field ?? "" : i.Index >= 0 ? $"{element}[{i.Index}]" + (i.Field is null ? "" : $".{i.Field}") : element;
            string message = Render(i.Message);
            throw new CaseFormatException(file, lines.Of(path), message.StartsWith(path, StringComparison.Ordinal) ? message : $"{path}: {message}", Render(i.Fix));
        }
        var network = new Network(name, baseMva, buses, gens, branches, costs, cells);
        foreach (var (bus, message) in NetworkValidator.Warnings(network))
            warnings.Add(bus < 0 ? new Diagnostic(file, 0, message) : new Diagnostic(file, lines.Of($"buses[{bus}]"), $"buses[{bus}]: {message}"));
        return new CaseReadResult(network, warnings);
    }

    /// <summary>A validation text in the JSON format's terms: «vmax» → "vmax", «bus-row:k» → buses[k].</summary>
    private static string Render(string text) =>
        NetworkValidator.Render(text, token => token switch
        {
            "buses" => "buses",
            "genCosts" => "genCosts",
            "REF" => "\"REF\"",
            "set-ref" => "set \"type\": \"REF\" on one bus with a generator",
            var t when t.StartsWith("bus-row:", StringComparison.Ordinal) => $"buses[{t[8..]}]",
            var f => $"\"{f}\"",
        });


    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static int LineAt(byte[] utf8, long offset) => 1 + utf8.AsSpan(0, (int)offset).Count((byte)'\n');

    /// <summary>The line of the first string or name whose \u escapes cannot be decoded, or 0 (also 0 at a syntax error: the parser reports it).</summary>
    private static int UndecodableStringLine(byte[] utf8)
    {
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
                try
                {
                    reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    return LineAt(utf8, reader.TokenStartIndex);
                }
            }
        }
        catch (JsonException)
        {
        }
        return 0;
    }

    /// <summary>The line of the first property name that repeats within its object (the parser does not report it), or 0.</summary>
    private static int DuplicateLine(byte[] utf8)
    {
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        var names = new Stack<HashSet<string>?>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject: names.Push(new HashSet<string>(StringComparer.Ordinal)); break;
                    case JsonTokenType.StartArray: names.Push(null); break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray: names.Pop(); break;
                    case JsonTokenType.PropertyName when names.Peek()?.Add(reader.GetString()!) == false:
                        return LineAt(utf8, reader.TokenStartIndex);
                }
            }
        }
        catch (JsonException)
        {
        }
        return 0;
    }

    private static string SyntaxMessage(string s)
    {
        // "'x' is an invalid start of a value. Path: $.buses[0] | LineNumber: 2 | BytePositionInLine: 14."
        int cut = s.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0) cut = s.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        return (cut > 0 ? s[..cut] : s).TrimEnd('.', ' ');
    }

    // ------------------------------------------------------------------------ element readers

    private sealed class Reader(string file, LineMap lines)
    {
        public CaseFormatException Error(string path, string message, string hint) => new(file, lines.Of(path), $"{path}: {message}", hint);

        public JsonArray Items(JsonObject o, string field) => o[field] switch
        {
            JsonArray a => a,
            null => throw Error(field, "is missing", $"add \"{field}\": [ … ] (it may be empty)"),
            _ => throw Error(field, "is not an array", $"write \"{field}\": [ {{ … }}, … ]"),
        };

        public string Text(JsonNode n, string path)
        {
            if (n is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
            throw Error(path, $"{n.ToJsonString()} is not a string", "write the value in double quotes");
        }

        /// <summary>A JSON number, or one of the strings "Infinity", "-Infinity", "NaN" (MATPOWER allows Inf).</summary>
        public double Num(JsonNode? n, string path, double? fallback = null)
        {
            if (n is null)
                return fallback ?? throw Error(path, "is missing", $"add the number \"{LastName(path)}\"");
            if (n is JsonValue v)
            {
                switch (v.GetValueKind())
                {
                    case JsonValueKind.Number:
                        if (v.TryGetValue(out double d)) return d;
                        break;
                    case JsonValueKind.String:
                        switch (v.GetValue<string>())
                        {
                            case "Infinity" or "Inf": return double.PositiveInfinity;
                            case "-Infinity" or "-Inf": return double.NegativeInfinity;
                            case "NaN": return double.NaN;
                        }
                        break;
                }
            }
            throw Error(path, $"{n.ToJsonString()} is not a number", "write a JSON number (or \"Infinity\", \"-Infinity\")");
        }

        public int Int(JsonNode? n, string path, int? fallback = null)
        {
            if (n is null && fallback is int f) return f;
            double v = Num(n, path);
            if (v != Math.Floor(v) || Math.Abs(v) > int.MaxValue)
                throw Error(path, $"{v.ToString(CultureInfo.InvariantCulture)} is not an integer", "write a whole number");
            return (int)v;
        }

        private static string LastName(string path)
        {
            int dot = path.LastIndexOf('.');
            return dot < 0 ? path : path[(dot + 1)..];
        }

        private JsonObject Object(JsonNode? n, string path, string[] known, string what, string example)
        {
            if (n is not JsonObject o) throw Error(path, $"is not an object", $"write {example}");
            foreach (var (k, v) in o)
            {
                if (v is null && known.Contains(k))
                    throw Error($"{path}.{k}", "is null", $"write a value, or leave \"{k}\" out to use its default (null is not 0)");
                if (known.Contains(k)) continue;
                string norm = Normalize(k);
                string? like = known.FirstOrDefault(f => Normalize(f) == norm)
                    ?? (Aliases.TryGetValue(norm, out var a) && known.Contains(a) ? a : null);
                throw Error($"{path}.{k}", $"is not a field of {what}",
                    like is not null ? $"did you mean \"{like}\"? (names are case-sensitive)" : $"the fields are: {string.Join(", ", known)}");
            }
            return o;
        }

        private static string Normalize(string s) => s.Replace("_", "").ToLowerInvariant();

        private static readonly Dictionary<string, string> Aliases = new()
        {
            ["busi"] = "id", ["va"] = "vaDeg", ["fbus"] = "from", ["tbus"] = "to", ["angle"] = "angleDeg",
            ["angmin"] = "angMinDeg", ["angmax"] = "angMaxDeg", ["basekv"] = "baseKV", ["rampagc"] = "rampAgc",
        };

        private ImmutableArray<double> Values(JsonNode? n, string path)
        {
            if (n is null) return ImmutableArray<double>.Empty;
            if (n is not JsonArray a) throw Error(path, "is not an array", "write a list of numbers [ … ]");
            return [.. a.Select((x, i) => Num(x, $"{path}[{i}]"))];
        }

        private string? Label(JsonNode? n, string path)
        {
            if (n is null) return null;
            string s = Text(n, path);
            if (s.AsSpan().IndexOfAny('\n', '\r') >= 0) throw Error(path, "contains a line break", "write the text on one line");
            return s;
        }

        public Bus Bus(JsonNode? node, string p)
        {
            var n = Object(node, p, BusFields, "a bus", "{ \"id\": 1, \"type\": \"PQ\", … }");
            string type = n["type"] is { } t ? Text(t, p + ".type") : throw Error(p + ".type", "is missing", "use \"PQ\", \"PV\", \"REF\" or \"ISOLATED\"");
            var bt = type.ToUpperInvariant() switch
            {
                "PQ" => BusType.PQ,
                "PV" => BusType.PV,
                "REF" => BusType.Ref,
                "ISOLATED" => BusType.Isolated,
                _ => throw Error(p + ".type", $"'{type}' is not a bus type", "use \"PQ\", \"PV\", \"REF\" or \"ISOLATED\""),
            };
            return new Bus(Int(n["id"], p + ".id"), bt, Num(n["pd"], p + ".pd", 0), Num(n["qd"], p + ".qd", 0),
                Num(n["gs"], p + ".gs", 0), Num(n["bs"], p + ".bs", 0), Int(n["area"], p + ".area", 1), Num(n["vm"], p + ".vm", 1),
                Num(n["vaDeg"], p + ".vaDeg", 0), Num(n["baseKV"], p + ".baseKV", 0), Int(n["zone"], p + ".zone", 1),
                Num(n["vmax"], p + ".vmax", 1.1), Num(n["vmin"], p + ".vmin", 0.9))
            {
                Name = Label(n["name"], p + ".name"),
                Extra = Values(n["extra"], p + ".extra"),
            };
        }

        public Generator Gen(JsonNode? node, string p)
        {
            var n = Object(node, p, GenFields, "a generator", "{ \"bus\": 1, \"pg\": 0, \"qmax\": 100, \"qmin\": -100, \"pmax\": 200, … }");
            double Opt(string f) => Num(n[f], $"{p}.{f}", 0);
            return new Generator(Int(n["bus"], p + ".bus"), Opt("pg"), Opt("qg"), Num(n["qmax"], p + ".qmax"), Num(n["qmin"], p + ".qmin"),
                Num(n["vg"], p + ".vg", 1), Num(n["mBase"], p + ".mBase", 100), Int(n["status"], p + ".status", 1),
                Num(n["pmax"], p + ".pmax"), Opt("pmin"))
            {
                Pc1 = Opt("pc1"), Pc2 = Opt("pc2"), Qc1Min = Opt("qc1min"), Qc1Max = Opt("qc1max"), Qc2Min = Opt("qc2min"),
                Qc2Max = Opt("qc2max"), RampAgc = Opt("rampAgc"), Ramp10 = Opt("ramp10"), Ramp30 = Opt("ramp30"),
                RampQ = Opt("rampQ"), Apf = Opt("apf"),
                Extra = Values(n["extra"], p + ".extra"),
            };
        }

        public Branch Branch(JsonNode? node, string p)
        {
            var n = Object(node, p, BranchFields, "a branch", "{ \"from\": 1, \"to\": 2, \"r\": 0.01, \"x\": 0.1, … }");
            double Opt(string f, double d = 0) => Num(n[f], $"{p}.{f}", d);
            return new Branch(Int(n["from"], p + ".from"), Int(n["to"], p + ".to"), Opt("r"), Num(n["x"], p + ".x"), Opt("b"),
                Opt("rateA"), Opt("rateB"), Opt("rateC"), Opt("ratio"), Opt("angleDeg"), Int(n["status"], p + ".status", 1),
                Opt("angMinDeg", -360), Opt("angMaxDeg", 360))
            { Extra = Values(n["extra"], p + ".extra") };
        }

        public GenCost Cost(JsonNode? node, string p)
        {
            var n = Object(node, p, CostFields, "a generator cost", "{ \"model\": \"polynomial\", \"coefficients\": [0.01, 20, 0] }");
            string model = n["model"] is { } m ? Text(m, p + ".model") : throw Error(p + ".model", "is missing", "use \"polynomial\" or \"piecewiseLinear\"");
            var cm = model switch
            {
                "polynomial" => CostModel.Polynomial,
                "piecewiseLinear" => CostModel.PiecewiseLinear,
                _ => throw Error(p + ".model", $"'{model}' is not a cost model", "use \"polynomial\" or \"piecewiseLinear\""),
            };
            if (n["coefficients"] is null) throw Error(p + ".coefficients", "is missing", "list the coefficients, e.g. [0.01, 20, 0]");
            var coefficients = Values(n["coefficients"], p + ".coefficients");
            if (cm == CostModel.PiecewiseLinear && coefficients.Length % 2 != 0)
                throw Error(p + ".coefficients", "has an odd number of values", "a piecewise-linear cost lists x1, y1, …, xn, yn");
            return new GenCost(cm, Num(n["startup"], p + ".startup", 0), Num(n["shutdown"], p + ".shutdown", 0), coefficients)
            {
                Padding = Values(n["padding"], p + ".padding"),
            };
        }

        public Dictionary<string, ImmutableArray<string>> Cells(JsonNode? node)
        {
            var cells = new Dictionary<string, ImmutableArray<string>>(StringComparer.Ordinal);
            if (node is null) return cells;
            if (node is not JsonObject o) throw Error("cellArrays", "is not an object", "write \"cellArrays\": { \"genfuel\": [\"coal\", …] }");
            foreach (var (k, v) in o)
            {
                string p = $"cellArrays.{k}";
                if (!Identifier().IsMatch(k))
                    throw Error(p, "is not a valid name", "use a name of letters, digits and '_' that starts with a letter (a MATPOWER field name)");
                if (ReservedCells.Contains(k))
                    throw Error(p, "is a reserved MATPOWER field name", k == "bus_name" ? "give bus names as \"name\" of each bus" : "choose another name");
                if (v is not JsonArray a) throw Error(p, "is not an array of strings", "write [\"text\", …]");
                cells[k] = [.. a.Select((x, i) => x is null ? throw Error($"{p}[{i}]", "is null", "write a string") : Label(x, $"{p}[{i}]")!)];
            }
            return cells;
        }
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    /// <summary>
    /// The line of each element of the top-level arrays and of their fields ("buses[3]", "buses[3].id",
    /// "cellArrays.genfuel"), so that model errors can point into the JSON file.
    /// </summary>
    private sealed class LineMap
    {
        private readonly List<int> _newlines = [];
        private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);

        public LineMap(byte[] utf8, JsonReaderOptions options)
        {
            for (int i = 0; i < utf8.Length; i++)
                if (utf8[i] == (byte)'\n') _newlines.Add(i);
            var reader = new Utf8JsonReader(utf8, options);
            string? top = null;
            bool topIsArray = false;
            int index = -1;
            while (reader.Read())
            {
                int depth = reader.CurrentDepth;
                var token = reader.TokenType;
                if (token is JsonTokenType.EndArray or JsonTokenType.EndObject or JsonTokenType.Comment) continue;
                if (depth == 1 && token == JsonTokenType.PropertyName)
                {
                    top = reader.GetString();
                    topIsArray = false;
                    index = -1;
                    Add(top!, reader.TokenStartIndex);
                }
                else if (depth == 1 && token == JsonTokenType.StartArray) topIsArray = true;
                else if (depth == 2 && topIsArray) Add($"{top}[{++index}]", reader.TokenStartIndex);
                else if (depth == 2 && token == JsonTokenType.PropertyName) Add($"{top}.{reader.GetString()}", reader.TokenStartIndex);
                else if (depth == 3 && topIsArray && token == JsonTokenType.PropertyName) Add($"{top}[{index}].{reader.GetString()}", reader.TokenStartIndex);
            }
        }

        private void Add(string path, long offset)
        {
            int k = _newlines.BinarySearch((int)offset);
            _lines.TryAdd(path, (k < 0 ? ~k : k) + 1);
        }

        /// <summary>The line of the path, or of its nearest enclosing element; 0 when unknown.</summary>
        public int Of(string path)
        {
            while (path.Length > 0)
            {
                if (_lines.TryGetValue(path, out int line)) return line;
                int cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
                if (cut <= 0) return 0;
                path = path[..cut];
            }
            return 0;
        }
    }
}
