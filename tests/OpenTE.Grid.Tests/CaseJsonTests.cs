using OpenTE.Grid.Json;
using OpenTE.Grid.Matpower;

namespace OpenTE.Grid.Tests;

public class CaseJsonTests
{
    [Theory]
    [MemberData(nameof(TestData.Cases), MemberType = typeof(TestData))]
    public void Matpower_to_json_to_matpower_round_trips(string name)
    {
        var net = TestData.Load(name);
        string json = CaseJson.Write(net);
        var back = CaseJson.Parse(json, name + ".json").Network;
        NetworkAssert.Equal(net, back);
        var again = MatpowerCase.Parse(MatpowerCase.Write(back), name + ".m").Network;
        NetworkAssert.Equal(net, again);
    }

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

    [Fact]
    public void Minimal_json_case_uses_defaults()
    {
        var net = CaseJson.Parse(Tiny(), "tiny.json").Network;
        Assert.Equal(2, net.BusCount);
        Assert.Equal(1.1, net.Buses[0].Vmax);
        Assert.Equal(-360, net.Branches[0].AngMinDeg);
    }

    [Fact]
    public void Syntax_error_reports_the_json_line()
    {
        var ex = Assert.Throws<CaseFormatException>(() => CaseJson.Parse("{\n  \"baseMVA\": 100,\n  \"buses\": [ oops ]\n}", "bad.json"));
        Assert.StartsWith("bad.json:3:", ex.Message);
    }

    [Theory]
    [InlineData("7", "branches[0].from: bus 7 is not in buses")]
    [InlineData("\"x\"", "branches[0].from")]
    public void Bad_branch_references_name_the_element(string from, string expected) =>
        Assert.Contains(expected, Assert.Throws<CaseFormatException>(() => CaseJson.Parse(Tiny(branchFrom: from), "bad.json")).Message);

    [Fact]
    public void Bad_bus_type_and_missing_reference()
    {
        Assert.Contains("buses[0].type", Assert.Throws<CaseFormatException>(() => CaseJson.Parse(Tiny(busType: "\"SLACK\""), "b.json")).Message);
        Assert.Contains("no reference bus", Assert.Throws<CaseFormatException>(() => CaseJson.Parse(Tiny(busType: "\"PV\""), "b.json")).Message);
    }

    [Fact]
    public void Model_checks_of_the_matpower_reader_apply_to_json()
    {
        string text = Tiny().Replace("\"r\": 0.01", "\"r\": -0.01");
        var ex = Assert.Throws<CaseFormatException>(() => CaseJson.Parse(text, "neg.json"));
        Assert.Contains("branches[0]", ex.Message);
        Assert.Contains("negative resistance", ex.Message);
    }
}
