using OpenTE.Grid.Matpower;
using OpenTE.Grid.Input;

namespace OpenTE.Grid.Tests;

public class BadCaseInputTests
{
    private const string Head = "mpc.version = '2';\nmpc.baseMVA = 100;\n";
    private const string Bus = "mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 10 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n";
    private const string Gen = "mpc.gen = [1 0 0 100 -100 1 100 1 200 0];\n";
    private const string Branch = "mpc.branch = [1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360];\n";

    private static CaseFormatException Fails(string text) =>
        Assert.Throws<CaseFormatException>(() => MatpowerCase.Parse(text, "bad.m"));

    [Fact]
    public void Valid_base_text_parses() => Assert.Equal(2, MatpowerCase.Parse(Head + Bus + Gen + Branch, "ok.m").Network.BusCount);

    [Fact]
    public void Wrong_column_count_names_line_and_columns()
    {
        var ex = Fails(Head + "mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 10 0 0 0 1 1 0 230 1 1.1;\n];\n" + Gen + Branch);
        Assert.StartsWith("bad.m:5:", ex.Message);
        Assert.Contains("12 columns", ex.Message);
    }

    [Fact]
    public void Too_few_columns_in_every_row()
    {
        var ex = Fails(Head + "mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1];\n" + Gen + Branch);
        Assert.Contains("at least 13", ex.Message);
        Assert.Contains("bus_i", ex.Hint);
    }

    [Fact]
    public void Non_numeric_cell()
    {
        var ex = Fails(Head + Bus + "mpc.gen = [1 0 0 abc -100 1 100 1 200 0];\n" + Branch);
        Assert.Contains("bad.m:7:", ex.Message);
        Assert.Contains("'abc' is not a number", ex.Message);
        Assert.Contains("column 4", ex.Message);
    }

    [Fact]
    public void Unknown_bus_in_branch_and_generator()
    {
        var ex = Fails(Head + Bus + Gen + "mpc.branch = [1 7 0.01 0.1 0 0 0 0 0 0 1 -360 360];\n");
        Assert.Contains("bus 7", ex.Message);
        Assert.Contains(":8:", ex.Message);
        ex = Fails(Head + Bus + "mpc.gen = [9 0 0 100 -100 1 100 1 200 0];\n" + Branch);
        Assert.Contains("bus 9", ex.Message);
    }

    [Fact]
    public void Duplicate_bus_number_names_both_lines()
    {
        var ex = Fails(Head + "mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n1 1 10 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n" + Gen + Branch);
        Assert.Contains("bad.m:5:", ex.Message);
        Assert.Contains("line 4", ex.Message);
    }

    [Fact]
    public void No_reference_bus()
    {
        var ex = Fails(Head + "mpc.bus = [\n1 2 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 10 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n" + Gen + Branch);
        Assert.Contains("no reference bus", ex.Message);
        Assert.Contains("type", ex.Hint);
    }

    [Theory]
    [InlineData("mpc.branch = [1 2 0 0 0 0 0 0 0 0 1 -360 360];", "zero impedance")]
    [InlineData("mpc.branch = [1 2 0.01 0.1 0 -5 0 0 0 0 1 -360 360];", "negative rating")]
    [InlineData("mpc.branch = [1 2 0.01 0.1 0 0 0 0 -1 0 1 -360 360];", "negative tap")]
    [InlineData("mpc.branch = [1 1 0.01 0.1 0 0 0 0 0 0 1 -360 360];", "to itself")]
    [InlineData("mpc.branch = [1 2 0.01 NaN 0 0 0 0 0 0 1 -360 360];", "NaN")]
    public void Impossible_branch_values(string branch, string expected)
    {
        var ex = Fails(Head + Bus + Gen + branch + "\n");
        Assert.Contains(expected, ex.Message);
        Assert.Contains("bad.m:8:", ex.Message);
    }

    [Fact]
    public void Negative_reactance_is_allowed_for_series_capacitors()
    {
        var net = MatpowerCase.Parse(Head + Bus + Gen + "mpc.branch = [1 2 0 -0.1 0 0 0 0 0 0 1 -360 360];\n", "ok.m").Network;
        Assert.Equal(-0.1, net.Branches[0].X);
    }

    [Theory]
    [InlineData("mpc.gencost = [2 0 0 3 1 2];", "room for only 2")]
    [InlineData("mpc.gencost = [3 0 0 1 1];", "model 3")]
    [InlineData("mpc.gencost = [1 0 0 2 10 0 5 100];", "not increasing")]
    [InlineData("mpc.gencost = [2 0 0 1 1; 2 0 0 1 1; 2 0 0 1 1];", "3 rows for 1 generators")]
    public void Bad_cost_rows(string cost, string expected)
    {
        var ex = Fails(Head + Bus + Gen + Branch + cost + "\n");
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData("mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 5 10 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n", "type 5")]
    [InlineData("mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 0.9 1.1;\n2 1 10 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n", "Vmax 0.9 below Vmin 1.1")]
    [InlineData("mpc.bus = [\n1.5 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 10 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n", "not an integer")]
    public void Bad_bus_rows(string bus, string expected) => Assert.Contains(expected, Fails(Head + bus + Gen + Branch).Message);

    [Theory]
    [InlineData("mpc.baseMVA = 0;\n", "baseMVA is 0")]
    [InlineData("", "baseMVA is missing")]
    public void Bad_base(string baseLine, string expected) =>
        Assert.Contains(expected, Fails("mpc.version = '2';\n" + baseLine + Bus + Gen + Branch).Message);

    [Theory]
    [InlineData("mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n", "never closed")]
    [InlineData("mpc.version = '1';\n", "version '1'")]
    [InlineData("x = foo(3);\n", "unknown name 'foo'")]
    [InlineData("mpc.bus(:, 99) = 1;\n", "not a valid column")]
    public void Syntax_errors(string extra, string expected) =>
        Assert.Contains(expected, Fails(Head + Bus + Gen + Branch + extra).Message);

    [Fact]
    public void Isolated_bus_and_island_without_reference_are_reported()
    {
        string bus = "mpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 10 0 0 0 1 1 0 230 1 1.1 0.9;\n3 1 0 0 0 0 1 1 0 230 1 1.1 0.9;\n4 1 0 0 0 0 1 1 0 230 1 1.1 0.9;\n5 1 0 0 0 0 1 1 0 230 1 1.1 0.9;\n];\n";
        string branch = "mpc.branch = [1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360; 3 4 0.01 0.1 0 0 0 0 0 0 1 -360 360];\n";
        var result = MatpowerCase.Parse(Head + bus + Gen + branch, "islands.m");
        Assert.Contains(result.Warnings, w => w.Message.Contains("bus 5 is isolated"));
        Assert.Contains(result.Warnings, w => w.Message.Contains("island of 2 buses") && w.Message.Contains("no reference"));
        Assert.Equal(3, Topology.Islands(result.Network).Count);
    }

    [Fact]
    public void Missing_file_is_an_input_error()
    {
        var ex = Assert.Throws<InputException>(() => MatpowerCase.Read("/nonexistent/dir/case.m"));
        Assert.Contains("cannot read", ex.Message);
    }
}
