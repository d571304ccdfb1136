using System.Text.Json;

namespace OpenTE.Cli.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "opente-cli-" + Guid.NewGuid().ToString("N")[..8] + "-" + name);

    [Fact]
    public void Pf_json_follows_the_contract()
    {
        var (code, output, err) = Run("pf", "case9", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(["case", "converged", "iterations", "solveSeconds", "buses", "branches"],
            root.EnumerateObject().Select(p => p.Name).Take(6));
        Assert.Equal("case9", root.GetProperty("case").GetString());
        Assert.True(root.GetProperty("converged").GetBoolean());
        var buses = root.GetProperty("buses");
        Assert.Equal(9, buses.GetArrayLength());
        Assert.Equal(["id", "vm", "vaDeg"], buses[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(1.04, buses[0].GetProperty("vm").GetDouble(), 9);
        var br = root.GetProperty("branches")[0];
        Assert.Equal(["index", "from", "to", "pf", "qf", "pt", "qt"], br.EnumerateObject().Select(p => p.Name));
        Assert.Equal(71.641, br.GetProperty("pf").GetDouble(), 3);
    }

    [Fact]
    public void Pf_prints_tables_and_writes_to_out_file()
    {
        var (code, output, _) = Run("pf", "case14");
        Assert.Equal(0, code);
        Assert.Contains("converged", output);
        Assert.Contains("Branch flows", output);
        string file = Temp("pf.json");
        try
        {
            Assert.Equal(0, Run("pf", "case14", "--json", "--out", file).Code);
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            Assert.Equal(14, doc.RootElement.GetProperty("buses").GetArrayLength());
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Not_converging_exits_1_with_the_reason()
    {
        var (code, _, err) = Run("pf", "case300", "--flat-start", "--max-it", "1");
        Assert.Equal(1, code);
        Assert.Contains("converge", err);
    }

    [Fact]
    public void Case_info_reports_counts_and_islands()
    {
        var (code, output, _) = Run("case", "info", "case118", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(118, doc.RootElement.GetProperty("buses").GetInt32());
        Assert.Equal(186, doc.RootElement.GetProperty("branches").GetInt32());
        Assert.Equal(1, doc.RootElement.GetProperty("islands").GetArrayLength());
        var human = Run("case", "info", "case33bw").Out;
        Assert.Contains("total load", human);
        Assert.Contains("3.715 MW", human);
    }

    [Fact]
    public void Case_convert_round_trips_through_files()
    {
        string json = Temp("case9.json"), m = Temp("case9.m");
        try
        {
            Assert.Equal(0, Run("case", "convert", "case9", "--to", "json", "--out", json).Code);
            Assert.Equal(0, Run("case", "convert", json, "--to", "m", "--out", m).Code);
            var a = JsonDocument.Parse(Run("pf", "case9", "--json").Out).RootElement.GetProperty("buses").ToString();
            var b = JsonDocument.Parse(Run("pf", m, "--json").Out).RootElement.GetProperty("buses").ToString();
            Assert.Equal(a, b);
        }
        finally { File.Delete(json); File.Delete(m); }
    }

    [Fact]
    public void Bad_case_file_exits_2_with_file_line_and_no_stack_trace()
    {
        string file = Temp("bad.m");
        File.WriteAllText(file, "mpc.baseMVA = 100;\nmpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 0 0 0 0 1 1 0 230 1;\n];\n");
        try
        {
            var (code, _, err) = Run("pf", file);
            Assert.Equal(2, code);
            Assert.Contains(file + ":4:", err);
            Assert.DoesNotContain("   at ", err);
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("pf")]
    [InlineData("pf", "case9", "--bogus")]
    [InlineData("pf", "no-such-case")]
    [InlineData("pf", "case9", "--tol", "-1")]
    [InlineData("case", "convert", "case9", "--to", "xml")]
    [InlineData("opf", "case9", "--model", "ac")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("pf", "--help")]
    [InlineData("opf", "--help")]
    [InlineData("demo", "--help")]
    [InlineData("case", "--help")]
    [InlineData("case", "info", "--help")]
    [InlineData("case", "convert", "--help")]
    public void Help_is_available_everywhere(params string[] args)
    {
        var (code, output, _) = Run(args);
        Assert.Equal(0, code);
        Assert.Contains("USAGE", output.ToUpperInvariant());
    }

    [Fact]
    public void Demo_prints_the_case30_power_flow()
    {
        var (code, output, _) = Run("demo");
        Assert.Equal(0, code);
        Assert.Contains("case30", output);
        Assert.Contains("Buses", output);
    }

    [Fact]
    public void Dc_opf_json_has_prices_and_their_parts()
    {
        var (code, output, err) = Run("opf", "case5", "--model", "dc", "--json");
        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("optimal", root.GetProperty("status").GetString());
        Assert.Equal(["case", "model", "status", "objective", "solveSeconds"], root.EnumerateObject().Select(p => p.Name).Take(5));
        var bus = root.GetProperty("buses")[0];
        foreach (var f in new[] { "id", "vm", "vaDeg", "lmp", "lmpQ", "muVmax", "muVmin", "lmpEnergy", "lmpCongestion", "lmpLoss" })
            Assert.True(bus.TryGetProperty(f, out _), f);
        foreach (var b in root.GetProperty("buses").EnumerateArray())
            Assert.Equal(b.GetProperty("lmp").GetDouble(), b.GetProperty("lmpEnergy").GetDouble() + b.GetProperty("lmpCongestion").GetDouble(), 4);
        Assert.Contains(root.GetProperty("branches").EnumerateArray(), l => l.GetProperty("muSf").GetDouble() + l.GetProperty("muSt").GetDouble() > 0);
    }
}
