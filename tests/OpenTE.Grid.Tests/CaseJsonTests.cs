using System.Collections.Immutable;
using System.Text.Json;
using CsCheck;
using OpenTE.Grid.Json;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;
using OpenTE.Grid.Input;

namespace OpenTE.Grid.Tests;

public class CaseJsonTests
{
    [Theory]
    [MemberData(nameof(TestData.Cases), MemberType = typeof(TestData))]
    public void Matpower_to_json_to_matpower_round_trips(string name)
    {
        var net = TestData.Load(name);
        string json = CaseJson.Write(net);
        var read = CaseJson.Parse(json, name + ".json");
        NetworkAssert.Equal(net, read.Network);
        var again = MatpowerCase.Parse(MatpowerCase.Write(read.Network), name + ".m").Network;
        NetworkAssert.Equal(net, again);
        // byte-for-byte: nothing NetworkAssert does not look at (cost padding, name order) is lost either
        Assert.Equal(MatpowerCase.Write(net), MatpowerCase.Write(read.Network));
        Assert.Equal(json, CaseJson.Write(read.Network));
        // the JSON reader finds the same problems as the MATPOWER reader (islands etc.), located in the JSON
        static int Islands(IEnumerable<Diagnostic> ws) => ws.Count(w => w.Message.Contains("isolated") || w.Message.Contains("island"));
        Assert.Equal(Islands(MatpowerCase.Read(TestData.Case(name)).Warnings), Islands(read.Warnings));
        Assert.All(read.Warnings, w => Assert.DoesNotContain("mpc.", w.Message));
    }

    [Fact]
    public void Every_field_survives_including_names_extras_infinity_padding_and_cell_arrays()
    {
        var b = TestData.Load("case9");
        var buses = b.Buses.Select((x, i) => x with
        {
            Name = i switch { 0 => "Bus 'one' – Zürich", 1 => "", _ => $"B{i}" },
            Extra = i == 0 ? [1.5, double.NaN, -2e-17, 3] : [0.25, 0, 0, 1],
        });
        var gens = b.Generators.Select((g, i) => g with
        {
            Qmax = i == 0 ? double.PositiveInfinity : g.Qmax,
            Qmin = i == 0 ? double.NegativeInfinity : g.Qmin,
            RampAgc = 1.25 * i, Apf = 0.1, Pc1 = 7,
            Extra = [i, 2 * i, 0.1 + 0.2, 1e-300],
        });
        var branches = b.Branches.Select((l, i) => l with { Ratio = i == 1 ? 0.978 : 0, AngleDeg = i == 1 ? -3 : 0, Extra = [i] });
        var costs = b.GenCosts.Select((c, i) => i == 0
            ? new GenCost(CostModel.PiecewiseLinear, 10, 5, [0, 0, 50, 1000, 250, 6000]) { Padding = [0, 0] }
            : c);
        var cells = new Dictionary<string, ImmutableArray<string>>
        {
            ["genfuel"] = ["coal", "ng", "it's \"nuclear\""],
            ["gentype"] = ["ST", "GT", "NB"],
        };
        var net = new Network("odd name.v2", 100, buses, gens, branches, costs, cells);

        var back = CaseJson.Parse(CaseJson.Write(net), "x.json").Network;
        NetworkAssert.Equal(net, back);
        for (int i = 0; i < net.GenCosts.Length; i++) Assert.Equal(net.GenCosts[i].Padding.ToArray(), back.GenCosts[i].Padding.ToArray());
        Assert.Equal(MatpowerCase.Write(net), MatpowerCase.Write(back));
        Assert.True(double.IsPositiveInfinity(back.Generators[0].Qmax));
        Assert.True(double.IsNaN(back.Buses[0].Extra[1]));
        Assert.Equal("Bus 'one' – Zürich", back.Buses[0].Name);
        Assert.Equal("odd name.v2", back.Name);

        // and through the MATPOWER format the same (names with quotes, ±Inf)
        var viaM = MatpowerCase.Parse(MatpowerCase.Write(back), "x.m").Network;
        Assert.Equal("odd_name_v2", viaM.Name); // a MATPOWER file keeps the name as a function name
        NetworkAssert.Equal(net.With(name: viaM.Name), viaM);
    }

    [Fact]
    public void Written_json_is_valid_one_element_per_line_and_readable()
    {
        string json = CaseJson.Write(TestData.Load("case14"));
        Assert.DoesNotContain("\\u00", json); // readable: no needless escapes
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(["format", "version", "name", "baseMVA", "buses", "generators", "branches", "genCosts", "cellArrays"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("opente-case", root.GetProperty("format").GetString());
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        var bus = root.GetProperty("buses")[0];
        Assert.Equal(["id", "type", "pd", "qd", "gs", "bs", "area", "vm", "vaDeg", "baseKV", "zone", "vmax", "vmin"],
            bus.EnumerateObject().Select(p => p.Name).Take(13));
        Assert.Equal("REF", bus.GetProperty("type").GetString());
        var lines = json.Split('\n');
        Assert.Equal(14, lines.Count(l => l.TrimStart().StartsWith("{\"id\":", StringComparison.Ordinal)));
        Assert.Equal(20, lines.Count(l => l.TrimStart().StartsWith("{\"from\":", StringComparison.Ordinal)));
    }

    [Fact]
    public void Read_and_save_go_through_files()
    {
        string file = Path.Combine(Path.GetTempPath(), $"opente-casejson-{Guid.NewGuid():N}.json");
        try
        {
            CaseJson.Save(TestData.Load("case30"), file);
            var read = CaseJson.Read(file);
            NetworkAssert.Equal(TestData.Load("case30"), read.Network);
            Assert.Empty(read.Warnings);
        }
        finally { File.Delete(file); }
        var missing = Assert.Throws<InputException>(() => CaseJson.Read(file));
        Assert.StartsWith(file + ":", missing.Message);
    }

    // ------------------------------------------------------------------ bad input

    private static string Tiny(string branchFrom = "1", string busType = "\"REF\"", string extra = "") => $$"""
        {
          "format": "opente-case", "version": 1, "name": "tiny", "baseMVA": 100,
          "buses": [
            { "id": 1, "type": {{busType}}, "vm": 1, "baseKV": 230 },
            { "id": 2, "type": "PQ", "pd": 10, "baseKV": 230 }
          ],
          "generators": [ { "bus": 1, "pg": 10, "qmax": 100, "qmin": -100, "pmax": 200 } ],
          "branches": [ { "from": {{branchFrom}}, "to": 2, "r": 0.01, "x": 0.1 } ]{{extra}}
        }
        """;

    private static CaseFormatException Bad(string json) => Assert.Throws<CaseFormatException>(() => CaseJson.Parse(json, "bad.json"));

    [Fact]
    public void Minimal_json_case_uses_defaults()
    {
        var net = CaseJson.Parse(Tiny(), "tiny.json").Network;
        Assert.Equal(2, net.BusCount);
        Assert.Equal(1.1, net.Buses[0].Vmax);
        Assert.Equal(0.9, net.Buses[1].Vmin);
        Assert.Equal(1, net.Buses[1].Area);
        Assert.Equal(100, net.Generators[0].MBase);
        Assert.Equal(1, net.Generators[0].Status);
        Assert.Equal(-360, net.Branches[0].AngMinDeg);
        Assert.Empty(net.GenCosts);
    }

    [Fact]
    public void Comments_and_trailing_commas_are_accepted() =>
        Assert.Equal(2, CaseJson.Parse(Tiny().Replace("\"baseMVA\": 100,", "\"baseMVA\": 100, // system base\n")
            .Replace("\"x\": 0.1 }", "\"x\": 0.1, }"), "c.json").Network.BusCount);

    [Fact]
    public void Syntax_error_reports_the_json_line()
    {
        var ex = Bad("{\n  \"baseMVA\": 100,\n  \"buses\": [ oops ]\n}");
        Assert.StartsWith("bad.json:3: invalid JSON", ex.Message);
        Assert.Contains("syntax", ex.Hint);
        Assert.StartsWith("bad.json:1:", Bad("").Message);
        Assert.StartsWith("bad.json:8:", Bad(Tiny().Replace("\"x\": 0.1 }", "\"x\": 0.1")).Message);
    }

    [Fact]
    public void Duplicate_json_field_reports_its_line()
    {
        var ex = Bad(Tiny().Replace("\"pd\": 10,", "\"pd\": 10, \"pd\": 20,"));
        Assert.StartsWith("bad.json:5: invalid JSON", ex.Message);
        Assert.Contains("'pd'", ex.Message);
    }

    [Theory]
    [InlineData("7", "bad.json:8: branches[0].from: bus 7 is not in buses")]
    [InlineData("\"x\"", "bad.json:8: branches[0].from: \"x\" is not a number")]
    [InlineData("1.5", "branches[0].from: 1.5 is not an integer")]
    [InlineData("2", "bad.json:8: branches[0]: branch 1 connects bus 2 to itself")]
    public void Bad_branch_references_name_the_element(string from, string expected) =>
        Assert.Contains(expected, Bad(Tiny(branchFrom: from)).Message);

    [Theory]
    [InlineData("\"id\": 2, \"type\": \"PQ\"", "\"id\": 1, \"type\": \"PQ\"", "bad.json:5: buses[1].id: duplicate bus number 1 (also buses[0])")]
    [InlineData("\"id\": 2, ", "", "bad.json:5: buses[1].id: is missing")]
    [InlineData("\"qmax\": 100, ", "", "bad.json:7: generators[0].qmax: is missing")]
    [InlineData("\"bus\": 1, \"pg\"", "\"bus\": 3, \"pg\"", "bad.json:7: generators[0].bus: bus 3 is not in buses")]
    [InlineData("\"r\": 0.01, \"x\": 0.1", "\"r\": 0, \"x\": 0", "bad.json:8: branches[0]: branch 1 (1-2) has zero impedance")]
    [InlineData("\"x\": 0.1", "\"x\": 0.1, \"rateA\": -5", "branches[0]: branch 1 (1-2) has a negative rating -5 in \"rateA\"")]
    [InlineData("\"pmax\": 200", "\"pmax\": 200, \"pmin\": 300", "generators[0]: generator 1 has Pmax 200 below Pmin 300")]
    [InlineData("\"vm\": 1,", "\"vm\": 1, \"vmax\": 0.8,", "bad.json:4: buses[0]: bus 1 has Vmax 0.8 below Vmin 0.9")]
    [InlineData("\"pd\": 10", "\"Pd\": 10", "bad.json:5: buses[1].Pd: is not a field of a bus")]
    [InlineData("\"pd\": 10", "\"pd\": [10]", "buses[1].pd: [10] is not a number")]
    [InlineData("\"pd\": 10", "\"pd\": \"10\"", "buses[1].pd: \"10\" is not a number")]
    [InlineData("\"type\": \"PQ\"", "\"type\": 1", "bad.json:5: buses[1].type: 1 is not a string")]
    [InlineData("\"type\": \"PQ\"", "\"type\": \"SLACK\"", "buses[1].type: 'SLACK' is not a bus type")]
    [InlineData("\"baseMVA\": 100", "\"baseMVA\": 0", "bad.json:2: baseMVA is 0")]
    [InlineData("\"baseMVA\": 100", "\"baseMVA\": null", "bad.json:2: baseMVA: is missing")]
    [InlineData("\"version\": 1", "\"version\": 2", "bad.json:2: version: case JSON version 2 is not supported")]
    [InlineData("\"format\": \"opente-case\"", "\"format\": \"matpower\"", "format: 'matpower' is not an OpenTE case")]
    [InlineData("\"name\": \"tiny\"", "\"name\": 5", "name: 5 is not a string")]
    [InlineData("\"generators\": [", "\"generators\": 3, \"x\": [", "bad.json:7: generators: is not an array")]
    [InlineData("{ \"bus\": 1,", "7, { \"bus\": 1,", "bad.json:7: generators[0]: is not an object")]
    [InlineData("\"name\": \"tiny\",", "", "")]
    public void Model_errors_give_line_element_and_field(string find, string replace, string expected)
    {
        string text = Tiny();
        Assert.Contains(find, text);
        text = text.Replace(find, replace);
        if (expected.Length == 0)
        {
            Assert.Equal("bad", CaseJson.Parse(text, "bad.json").Network.Name); // name defaults to the file name
            return;
        }
        var ex = Bad(text);
        Assert.Contains(expected, ex.Message);
        Assert.False(string.IsNullOrWhiteSpace(ex.Hint));
        Assert.DoesNotContain("column", ex.Message + ex.Hint); // JSON terms, not MATPOWER column numbers
        Assert.DoesNotContain("mpc.", ex.Message + ex.Hint);
    }

    [Fact]
    public void Misspelt_fields_get_a_suggestion()
    {
        Assert.Contains("\"pd\"", Bad(Tiny().Replace("\"pd\": 10", "\"Pd\": 10")).Hint);
        Assert.Contains("\"from\"", Bad(Tiny(branchFrom: "1, \"fbus\": 1")).Hint);
        Assert.Contains("fields are", Bad(Tiny().Replace("\"pd\": 10", "\"load\": 10")).Hint);
    }

    [Fact]
    public void No_reference_bus_is_reported_in_json_terms()
    {
        var ex = Bad(Tiny(busType: "\"PV\""));
        Assert.Equal("bad.json:3: buses: no reference bus: no bus has type \"REF\"", ex.Message);
        Assert.Contains("\"type\": \"REF\"", ex.Hint);
    }

    [Theory]
    [InlineData("{ \"model\": \"cubic\", \"coefficients\": [1] }", "genCosts[0].model: 'cubic' is not a cost model")]
    [InlineData("{ \"model\": \"polynomial\" }", "genCosts[0].coefficients: is missing")]
    [InlineData("{ \"model\": \"piecewiseLinear\", \"coefficients\": [0, 0, 10] }", "genCosts[0].coefficients: has an odd number")]
    [InlineData("{ \"model\": \"piecewiseLinear\", \"coefficients\": [10, 0, 5, 100] }", "genCosts[0]: gencost row 1: piecewise-linear x values are not increasing")]
    [InlineData("{ \"model\": \"polynomial\", \"coefficients\": [1, \"a\"] }", "genCosts[0].coefficients[1]: \"a\" is not a number")]
    [InlineData("{ \"model\": \"polynomial\", \"coefficients\": [1] }, { \"model\": \"polynomial\", \"coefficients\": [1] }, { \"model\": \"polynomial\", \"coefficients\": [1] }",
        "genCosts has 3 rows for 1 generators")]
    public void Bad_costs(string costs, string expected) =>
        Assert.Contains(expected, Bad(Tiny(extra: $",\n  \"genCosts\": [ {costs} ]")).Message);

    [Theory]
    [InlineData("{ \"fuel\": [\"coal\"] }", "")]
    [InlineData("[\"coal\"]", "cellArrays: is not an object")]
    [InlineData("{ \"fuel\": \"coal\" }", "cellArrays.fuel: is not an array of strings")]
    [InlineData("{ \"fuel\": [1] }", "cellArrays.fuel[0]: 1 is not a string")]
    [InlineData("{ \"fuel\": [null] }", "cellArrays.fuel[0]: is null")]
    [InlineData("{ \"my fuel\": [\"coal\"] }", "cellArrays.my fuel: is not a valid name")]
    [InlineData("{ \"bus_name\": [\"a\", \"b\"] }", "cellArrays.bus_name: is a reserved MATPOWER field name")]
    [InlineData("{ \"fuel\": [\"co\\nal\"] }", "cellArrays.fuel[0]: contains a line break")]
    public void Cell_arrays_are_checked(string cells, string expected)
    {
        string text = Tiny(extra: $",\n  \"cellArrays\": {cells}");
        if (expected.Length == 0) Assert.Equal(["coal"], CaseJson.Parse(text, "c.json").Network.CellArrays["fuel"].ToArray());
        else Assert.Contains(expected, Bad(text).Message);
    }

    [Fact]
    public void Bus_names_must_be_single_line_strings()
    {
        Assert.Contains("buses[0].name: contains a line break", Bad(Tiny().Replace("\"vm\": 1,", "\"vm\": 1, \"name\": \"a\\nb\",")).Message);
        Assert.Contains("buses[0].name: 3 is not a string", Bad(Tiny().Replace("\"vm\": 1,", "\"vm\": 1, \"name\": 3,")).Message);
    }

    [Fact]
    public void Undecodable_escapes_report_their_line()
    {
        Assert.StartsWith("bad.json:4: invalid JSON: a string holds an incomplete UTF-16 escape",
            Bad(Tiny().Replace("\"vm\": 1,", "\"vm\": 1, \"name\": \"\\ud800\",")).Message);
        Assert.StartsWith("bad.json:5: invalid JSON", Bad(Tiny().Replace("\"pd\": 10,", "\"pd\": 10, \"\\udc00\": 1,")).Message);
    }

    [Fact]
    public void Root_must_be_an_object() =>
        Assert.Contains("must be an object", Bad("[1, 2]").Message);

    [Fact]
    public void Warnings_carry_the_json_line()
    {
        string text = Tiny(extra: ",\n  \"comment\": \"hand written\"").Replace(
            "{ \"id\": 2, \"type\": \"PQ\", \"pd\": 10, \"baseKV\": 230 }",
            "{ \"id\": 2, \"type\": \"PQ\", \"pd\": 10, \"baseKV\": 230 },\n    { \"id\": 3, \"type\": \"PQ\" }");
        var warnings = CaseJson.Parse(text, "w.json").Warnings.Select(w => w.ToString()).ToList();
        Assert.Contains("w.json:6: buses[2]: bus 3 is isolated (no in-service branch)", warnings);
        Assert.Contains(warnings, w => w.StartsWith("w.json:10: \"comment\" is not part", StringComparison.Ordinal));
    }

    [Fact]
    public void Damaged_json_never_escapes_as_another_exception()
    {
        string json = CaseJson.Write(TestData.Load("case9"));
        string[] junk = ["", "0", "-", "\"", "{", "}", "[", "]", ",", ":", "null", "\"PQ\"", "1e999", "-1", "0.5", "true", "\"NaN\"", "\"x\\n\"",
            "{}", "[]", "2147483648", "\"Infinity\"", "/*", "\"\\ud800\"", "\"\\ud800\": 1,"];
        Gen.Select(Gen.Int[0, json.Length - 1], Gen.Int[0, 40], Gen.Int[0, junk.Length - 1]).Sample((at, cut, k) =>
        {
            string text = json[..at] + junk[k] + json[Math.Min(json.Length, at + cut)..];
            try
            {
                CaseJson.Parse(text, "fuzz.json");
            }
            catch (CaseFormatException e)
            {
                Assert.StartsWith("fuzz.json", e.Message);
                Assert.False(string.IsNullOrWhiteSpace(e.Hint));
            }
        }, iter: 3000);
    }
}
