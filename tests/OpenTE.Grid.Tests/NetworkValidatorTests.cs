using OpenTE.Grid.Input;
using OpenTE.Grid.Json;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.Tests;

/// <summary>One set of model checks for every format: the same bad value is refused by the MATPOWER and the JSON reader,
/// located as file:line and column in the one, as a JSON path and its line in the other.</summary>
public class NetworkValidatorTests
{
    private const string Two = "mpc.version = '2';\nmpc.baseMVA = 100;\n" +
        "mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 10 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n" +
        "mpc.gen = [1 0 0 100 -100 1 100 1 200 0];\nmpc.branch = [1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360];\nmpc.gencost = [2 0 0 2 10 0];\n";

    private static Network Valid() => MatpowerCase.Parse(Two, "two.m").Network;

    public static TheoryData<string, string, string> Mutations() => new()
    {
        // what, JSON path expected, MATPOWER column expected
        { "bus pd 1e308", "buses[1].pd", "column 3" },
        { "bus pd -inf", "buses[1].pd", "column 3" },
        { "gen vg inf", "generators[0].vg", "column 6" },
        { "gen pmax 1e308", "generators[0].pmax", "column 9" },
        { "branch ratio 1e308", "branches[0].ratio", "column 9" },
        { "branch shift 1e308", "branches[0].angleDeg", "column 10" },
        { "branch x tiny", "branches[0].x", "reactance" },
        { "branch angmin inf", "branches[0]", "angmin" },
        { "bus vm nan", "buses[1].vm", "column 8" },
    };

    private static Network Mutate(Network n, string what)
    {
        var buses = n.Buses.ToArray();
        var gens = n.Generators.ToArray();
        var branches = n.Branches.ToArray();
        switch (what)
        {
            case "bus pd 1e308": buses[1] = buses[1] with { Pd = 1e308 }; break;
            case "bus pd -inf": buses[1] = buses[1] with { Pd = double.NegativeInfinity }; break;
            case "bus vm nan": buses[1] = buses[1] with { Vm = double.NaN }; break;
            case "gen vg inf": gens[0] = gens[0] with { Vg = double.PositiveInfinity }; break;
            case "gen pmax 1e308": gens[0] = gens[0] with { Pmax = 1e308 }; break;
            case "branch ratio 1e308": branches[0] = branches[0] with { Ratio = 1e308 }; break;
            case "branch shift 1e308": branches[0] = branches[0] with { AngleDeg = 1e308 }; break;
            case "branch x tiny": branches[0] = branches[0] with { R = 0, X = 1e-308 }; break;
            case "branch angmin inf": branches[0] = branches[0] with { AngMinDeg = double.PositiveInfinity }; break;
            default: throw new ArgumentException(what);
        }
        return n.With(buses: buses, generators: gens, branches: branches);
    }

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Both_readers_refuse_the_same_value_in_their_own_terms(string what, string jsonPath, string matpowerWhere)
    {
        var bad = Mutate(Valid(), what);
        Assert.NotEmpty(NetworkValidator.Check(bad.BaseMva, bad.Buses, bad.Generators, bad.Branches, bad.GenCosts));

        var m = Assert.Throws<CaseFormatException>(() => MatpowerCase.Parse(MatpowerCase.Write(bad), "bad.m"));
        Assert.Matches(@"^bad\.m:\d+: ", m.Message);
        Assert.True(m.Line > 0);
        Assert.Contains(matpowerWhere, m.Message);
        Assert.False(string.IsNullOrWhiteSpace(m.Hint));

        var j = Assert.Throws<CaseFormatException>(() => CaseJson.Parse(CaseJson.Write(bad), "bad.json"));
        Assert.Contains($"bad.json:{j.Line}: {jsonPath}", j.Message);
        Assert.True(j.Line > 0);
        Assert.DoesNotContain("column", j.Message + j.Hint);
        Assert.DoesNotContain("mpc.", j.Message + j.Hint);
    }

    [Fact]
    public void The_line_of_the_json_issue_is_the_line_of_its_element()
    {
        var bad = Mutate(Valid(), "gen vg inf");
        string json = CaseJson.Write(bad);
        var j = Assert.Throws<CaseFormatException>(() => CaseJson.Parse(json, "bad.json"));
        Assert.Contains("\"vg\":\"Infinity\"", json.Split('\n')[j.Line - 1].Replace(" ", ""));
    }

    [Theory]
    [MemberData(nameof(TestData.Cases), MemberType = typeof(TestData))]
    public void The_shared_cases_are_valid(string name)
    {
        var n = TestData.Load(name);
        Assert.Empty(NetworkValidator.Check(n.BaseMva, n.Buses, n.Generators, n.Branches, n.GenCosts));
    }

    [Fact]
    public void Negative_reactance_and_out_of_service_elements_are_data_not_errors()
    {
        var n = Valid();
        n = n.With(branches: [n.Branches[0] with { X = -0.05 }], generators: [n.Generators[0] with { Status = 0, Pmax = 0, Pmin = 10 }]);
        Assert.Empty(NetworkValidator.Check(n.BaseMva, n.Buses, n.Generators, n.Branches, n.GenCosts));
    }
}

public class CaseWarningTests
{
    [Fact]
    public void Silent_assumptions_are_said_once_in_both_formats()
    {
        var net = TestData.Load("case118");
        var m = MatpowerCase.Read(TestData.Case("case118")).Warnings;
        Assert.Single(m, w => w.Message.Contains("no branch has a rating"));
        var j = OpenTE.Grid.Json.CaseJson.Parse(OpenTE.Grid.Json.CaseJson.Write(net), "c.json").Warnings;
        Assert.Single(j, w => w.Message.Contains("no branch has a rating"));
        Assert.DoesNotContain(MatpowerCase.Read(TestData.Case("case30")).Warnings, w => w.Message.Contains("rating"));

        var noCost = net.With(genCosts: []);
        Assert.Contains(OpenTE.Grid.Input.NetworkValidator.Warnings(noCost), w => w.Message.Contains("no generator costs"));
        var capacitor = net.With(branches: net.Branches.Select((b, i) => i == 0 ? b with { X = -0.01 } : b));
        Assert.Contains(OpenTE.Grid.Input.NetworkValidator.Warnings(capacitor), w => w.Bus == -1 && w.Message.Contains("1 in-service branch(es) with negative reactance"));
    }
}
