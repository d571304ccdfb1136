using System.Text.Json;

namespace OpenTE.Cli.Tests;

/// <summary>The command-line contract of DESIGN.md §5/§6: plain JSON, exit codes, one-sentence errors, help everywhere.</summary>
public class CliContractTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public CliContractTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private string File(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static void AssertOneSentenceError(string err)
    {
        Assert.StartsWith("error: ", err);
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Exception", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Pf_json_is_plain_and_has_the_contract_fields_for_every_bus_and_branch()
    {
        var (code, output, err) = Run("pf", "case9", "--json");
        Assert.True(code == 0, err);
        Assert.DoesNotContain('\u001b', output);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.InRange(root.GetProperty("iterations").GetInt32(), 1, 10);
        Assert.True(root.GetProperty("solveSeconds").GetDouble() >= 0);
        var branches = root.GetProperty("branches");
        Assert.Equal(9, branches.GetArrayLength());
        for (int i = 0; i < branches.GetArrayLength(); i++) Assert.Equal(i + 1, branches[i].GetProperty("index").GetInt32());
        // extra sections come after the contract's
        Assert.Equal(["generators", "messages"], root.EnumerateObject().Select(p => p.Name).Skip(6));
        Assert.Equal(3, root.GetProperty("generators").GetArrayLength());
        // PV set-points are held
        var vm = root.GetProperty("buses").EnumerateArray().ToDictionary(b => b.GetProperty("id").GetInt32(), b => b.GetProperty("vm").GetDouble());
        Assert.Equal(1.04, vm[1], 9);
        Assert.Equal(1.025, vm[2], 9);
        Assert.Equal(1.025, vm[3], 9);
    }

    [Fact]
    public void Pf_reads_a_json_case_and_gives_the_same_result_as_the_m_file()
    {
        string json = Path.Combine(_dir, "c14.json");
        Assert.Equal(0, Run("case", "convert", "case14", "--out", json).Code); // format from the extension
        var a = JsonDocument.Parse(Run("pf", "case14", "--json").Out).RootElement;
        var b = JsonDocument.Parse(Run("pf", json, "--json").Out).RootElement;
        Assert.Equal(a.GetProperty("buses").ToString(), b.GetProperty("buses").ToString());
        Assert.Equal(a.GetProperty("branches").ToString(), b.GetProperty("branches").ToString());
    }

    [Fact]
    public void Human_pf_output_to_a_file_is_plain_text_with_every_row_and_the_console_cuts_long_tables()
    {
        // issue #17: --out wrote the same cut-off text as the console; a file now has every row, the console a screenful
        string file = Path.Combine(_dir, "pf.txt");
        Assert.Equal(0, Run("pf", "case118", "--out", file).Code);
        string text = System.IO.File.ReadAllText(file);
        Assert.DoesNotContain('\u001b', text);
        Assert.Contains("converged", text);
        Assert.Contains("Buses", text);
        Assert.DoesNotContain("more rows", text);
        Assert.True(text.Split('\n').Length > 118 + 186, "every bus and branch row is in the file");
        var (code, console, _) = Run("pf", "case118");
        Assert.Equal(0, code);
        Assert.Contains("more rows: --all prints them", console);
    }

    [Fact]
    public void Case_convert_to_stdout_writes_the_case_json_format()
    {
        var (code, output, _) = Run("case", "convert", "case5", "--to", "json");
        Assert.Equal(0, code);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("opente-case", root.GetProperty("format").GetString());
        Assert.Equal(5, root.GetProperty("buses").GetArrayLength());
        var (mcode, m, _) = Run("case", "convert", "case5", "--to", "m");
        Assert.Equal(0, mcode);
        Assert.Contains("mpc.bus = [", m);
    }

    [Fact]
    public void Case_convert_round_trip_is_exact_through_files()
    {
        string json = Path.Combine(_dir, "a.json"), m = Path.Combine(_dir, "b.m"), json2 = Path.Combine(_dir, "c.json");
        Assert.Equal(0, Run("case", "convert", "case30", "--to", "json", "--out", json).Code);
        Assert.Equal(0, Run("case", "convert", json, "--to", "m", "--out", m).Code);
        Assert.Equal(0, Run("case", "convert", m, "--to", "json", "--out", json2).Code);
        Assert.Equal(System.IO.File.ReadAllText(json), System.IO.File.ReadAllText(json2));
    }

    [Fact]
    public void Case_info_json_counts_case9()
    {
        var (code, output, _) = Run("case", "info", "case9", "--json");
        Assert.Equal(0, code);
        Assert.DoesNotContain('\u001b', output);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("case9", root.GetProperty("case").GetString());
        Assert.Equal(3, root.GetProperty("generatorsInService").GetInt32());
        Assert.Equal(315, root.GetProperty("loadMw").GetDouble(), 9);
        Assert.Equal(820, root.GetProperty("generationCapacityMw").GetDouble(), 9);
        Assert.Equal(0, root.GetProperty("warnings").GetArrayLength());
    }

    [Fact]
    public void Case_info_reports_islands_without_a_reference_bus()
    {
        string file = File("split.m", """
            mpc.baseMVA = 100;
            mpc.bus = [
              1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;
              2 1 10 0 0 0 1 1 0 230 1 1.1 0.9;
              3 1 5 0 0 0 1 1 0 230 1 1.1 0.9;
              4 1 5 0 0 0 1 1 0 230 1 1.1 0.9;
            ];
            mpc.gen = [1 15 0 100 -100 1 100 1 100 0];
            mpc.branch = [1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360; 3 4 0.01 0.1 0 0 0 0 0 0 1 -360 360];
            """);
        var (code, output, _) = Run("case", "info", file, "--json");
        Assert.Equal(0, code);
        var root = JsonDocument.Parse(output).RootElement;
        var islands = root.GetProperty("islands");
        Assert.Equal(2, islands.GetArrayLength());
        Assert.Equal(0, islands[1].GetProperty("referenceBuses").GetArrayLength());
        Assert.Contains("no reference bus", root.GetProperty("warnings")[0].GetString());
        var human = Run("case", "info", file).Out;
        Assert.Contains("none", human);
        Assert.Contains("warning", human);
    }

    [Fact]
    public void Bad_json_case_exits_2_with_file_line_and_path()
    {
        string file = File("bad.json", "{\n  \"baseMVA\": 100,\n  \"buses\": [ { \"id\": 1, \"type\": \"SLACK\" } ],\n  \"generators\": [], \"branches\": []\n}\n");
        var (code, _, err) = Run("pf", file);
        Assert.Equal(2, code);
        AssertOneSentenceError(err);
        Assert.Contains(file + ":3: buses[0].type: 'SLACK' is not a bus type — use", err);

        string syntax = File("syntax.json", "{\n  \"baseMVA\": 100\n  \"buses\": []\n}\n");
        (code, _, err) = Run("case", "info", syntax);
        Assert.Equal(2, code);
        AssertOneSentenceError(err);
        Assert.Contains(syntax + ":3: invalid JSON", err);
    }

    [Fact]
    public void Bad_m_file_error_is_one_sentence_with_what_where_and_how()
    {
        string file = File("bad.m", "mpc.baseMVA = 100;\nmpc.bus = [\n1 3 0 0 0 0 1 1 0 230 1 1.1 0.9;\n2 1 0 0 0 0 1 1 0 230 1;\n];\n");
        foreach (var cmd in new[] { new[] { "pf", file }, ["pf", file, "--json"], ["case", "info", file], ["case", "convert", file, "--to", "json"] })
        {
            var (code, output, err) = Run(cmd);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            AssertOneSentenceError(err);
            Assert.Contains(file + ":4:", err);
            Assert.Contains(" — ", err); // … and how to fix it
        }
    }

    [Fact]
    public void Missing_case_names_exit_2()
    {
        var (code, _, err) = Run("demo", "--pf", "--case", "case_does_not_exist");
        Assert.Equal(2, code);
        AssertOneSentenceError(err);
        Assert.Contains("OPENTE_CASES", err);
        (code, _, err) = Run("pf", Path.Combine(_dir, "missing.m"));
        Assert.Equal(2, code);
        Assert.Contains("file not found", err);
    }

    [Theory]
    [InlineData("pf", "case9", "--max-it", "0")]
    [InlineData("pf", "case9", "--tol", "abc")]
    [InlineData("pf", "case9", "case14")]
    [InlineData("case", "convert", "case9")]
    [InlineData("case", "bogus")]
    [InlineData("--bogus")]
    public void Usage_errors_exit_2_with_one_sentence(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        AssertOneSentenceError(err);
    }

    [Theory]
    [InlineData("clear", "--help")]
    [InlineData("scopf", "--help")]
    [InlineData("meter", "--help")]
    [InlineData("meter", "reconcile", "--help")]
    [InlineData("meter", "synth", "--help")]
    [InlineData("privacy", "--help")]
    [InlineData("privacy", "release", "--help")]
    [InlineData("privacy", "utility", "--help")]
    [InlineData("case")]
    [InlineData("meter")]
    [InlineData("privacy")]
    [InlineData]
    public void Help_for_every_command_and_group(params string[] args)
    {
        var (code, output, _) = Run(args);
        Assert.Equal(0, code);
        Assert.Contains("USAGE", output.ToUpperInvariant());
        Assert.Contains("opente", output);
    }

    [Fact]
    public void Help_describes_options_and_gives_examples()
    {
        string help = Run("pf", "--help").Out;
        foreach (var option in new[] { "--json", "--enforce-q-lims", "--flat-start", "--tol", "--max-it", "--out", "EXAMPLES" })
            Assert.Contains(option, help);
        Assert.Contains("--to", Run("case", "convert", "--help").Out);
    }

    [Fact]
    public void Version_is_printed()
    {
        var (code, output, _) = Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+", output.Trim());
    }

    [Fact]
    public void Demo_prints_a_summary_bus_table_and_branch_flows()
    {
        var (code, output, err) = Run("demo", "--pf");
        Assert.True(code == 0, err);
        Assert.Contains("case30", output);
        Assert.Contains("converged", output);
        Assert.Contains("Buses", output);
        Assert.Contains("Branch flows", output);
        Assert.DoesNotContain("more rows", output); // 30 buses and 41 branches fit
    }
}
