using System.Text.Json;

namespace OpenTE.Cli.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

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
    [InlineData("opf", "case9", "--model", "acdc")]
    [InlineData("opf", "case9", "--model", "ac", "--solver", "glop")]
    [InlineData("opf", "case9", "--model", "ac", "--voll", "1000")]
    [InlineData("opf", "case9", "--dc-susceptance", "impedance")]
    [InlineData("opf", "case9", "--model", "ac", "--dc-susceptance", "admittance")]
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
    [InlineData("var-market", "--help")]
    [InlineData("multiperiod", "--help")]
    [InlineData("simulate", "--help")]
    [InlineData("p2p", "--help")]
    [InlineData("silo", "--help")]
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
    public void Demo_pf_prints_the_case30_power_flow()
    {
        var (code, output, _) = Run("demo", "--pf");
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

    [Fact]
    public void Ac_opf_json_follows_the_contract_with_reactive_prices_and_their_parts()
    {
        var (code, output, err) = Run("opf", "case30", "--model", "ac", "--json");
        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(["case", "model", "status", "objective", "solveSeconds"], root.EnumerateObject().Select(p => p.Name).Take(5));
        Assert.Equal("ac", root.GetProperty("model").GetString());
        Assert.Equal("optimal", root.GetProperty("status").GetString());
        Assert.Equal(576.8923361980255, root.GetProperty("objective").GetDouble(), 576.89 * 1e-6); // MATPOWER runopf
        foreach (var b in root.GetProperty("buses").EnumerateArray())
        {
            double P(string f) => b.GetProperty(f).GetDouble();
            Assert.Equal(P("lmp"), P("lmpEnergy") + P("lmpLoss") + P("lmpCongestion") + P("lmpVoltage"), 1e-6);
            Assert.Equal(P("lmpQ"), P("lmpQLoss") + P("lmpQCongestion") + P("lmpQVoltage"), 1e-6);
            Assert.InRange(P("vm"), 0.9, 1.1);
        }
        var gen = root.GetProperty("generators")[0];
        Assert.True(gen.TryGetProperty("qg", out _));
        var br = root.GetProperty("branches")[0];
        foreach (var f in new[] { "index", "from", "to", "pf", "qf", "pt", "qt", "muSf", "muSt" }) Assert.True(br.TryGetProperty(f, out _), f);
        Assert.True(br.GetProperty("pf").GetDouble() + br.GetProperty("pt").GetDouble() > 0, "a line's losses are positive");
    }

    private static string RepoFile(string relative) => CliRunner.Repo(relative);

    [Fact]
    public void Var_market_clears_the_example_writes_the_plot_and_rejects_bad_offers()
    {
        string png = Path.Combine(Path.GetTempPath(), "opente-var-" + Guid.NewGuid().ToString("N")[..6] + ".png");
        string bad = Path.Combine(Path.GetTempPath(), "opente-ders-" + Guid.NewGuid().ToString("N")[..6] + ".csv");
        try
        {
            var (code, output, err) = Run("var-market", "case33bw", "--ders", RepoFile("examples/case33bw-ders.csv"), "--plot", png, "--json");
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal("optimal", root.GetProperty("status").GetString());
            Assert.True(root.GetProperty("violationsWithout").GetInt32() > 0);
            Assert.Equal(0, root.GetProperty("violationsWith").GetInt32());
            foreach (var d in root.GetProperty("ders").EnumerateArray())
                Assert.Equal(d.GetProperty("lmpQ").GetDouble() * d.GetProperty("qMvar").GetDouble(), d.GetProperty("payment").GetDouble(), 1e-9);
            Assert.True(new FileInfo(png).Length > 1000);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
            File.WriteAllText(bad, "der,bus,p_mw,s_mva,direction,price,q_mvar\npv,77,0.1,0.2,inject,1,0.1\n");
            var (badCode, _, badErr) = Run("var-market", "case33bw", "--ders", bad, "--plot", png);
            Assert.Equal(2, badCode);
            Assert.Contains(bad + ":2:", badErr);
            Assert.Equal(2, Run("var-market", "case33bw").Code);
        }
        finally { File.Delete(png); File.Delete(bad); }
    }

    [Fact]
    public void Multiperiod_clears_the_example_day_and_writes_csv_and_plots()
    {
        string dir = Path.Combine(Path.GetTempPath(), "opente-mp-" + Guid.NewGuid().ToString("N")[..6]);
        string bad = Path.Combine(Path.GetTempPath(), "opente-series-" + Guid.NewGuid().ToString("N")[..6] + ".csv");
        try
        {
            var (code, output, err) = Run("multiperiod", "case30", "--series", RepoFile("examples/case30-day.csv"), "--storage", RepoFile("examples/case30-storage.csv"),
                "--csv", dir, "--json");
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal("optimal", root.GetProperty("status").GetString());
            Assert.Equal(24, root.GetProperty("intervals").GetArrayLength());
            Assert.Equal(2, root.GetProperty("storage").GetArrayLength());
            foreach (var f in new[] { "prices.csv", "dispatch.csv", "storage.csv", "prices.png", "soc.png" }) Assert.True(File.Exists(Path.Combine(dir, f)), f);
            Assert.Equal(1 + 24 * 30, File.ReadAllLines(Path.Combine(dir, "prices.csv")).Length);
            File.WriteAllText(bad, "timestamp,bus,load_mw,pv_mw\n2026-06-01T01:00:00+02:00,5,90,0\n2026-06-01T00:00:00+02:00,5,90,0\n");
            var (badCode, _, badErr) = Run("multiperiod", "case30", "--series", bad);
            Assert.Equal(2, badCode);
            Assert.Contains(bad + ":3:", badErr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            File.Delete(bad);
        }
    }

    [Fact]
    public void Simulate_runs_the_example_scenario_and_writes_csv_and_plots()
    {
        string dir = Path.Combine(Path.GetTempPath(), "opente-sim-" + Guid.NewGuid().ToString("N")[..6]);
        string bad = Path.Combine(Path.GetTempPath(), "opente-scn-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        try
        {
            var (code, output, err) = Run("simulate", RepoFile("examples/microgrid-day.json"), "--out", dir, "--json");
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal(96, root.GetProperty("intervals").GetInt32());
            Assert.Equal(12, root.GetProperty("islandedIntervals").GetInt32());
            Assert.Equal(0, root.GetProperty("criticalCurtailedMwh").GetDouble(), 9);
            foreach (var f in new[] { "intervals.csv", "prices.csv", "agents.csv", "soc.csv", "prices.png", "soc.png", "load.png" })
                Assert.True(File.Exists(Path.Combine(dir, f)), f);
            Assert.Equal(97, File.ReadAllLines(Path.Combine(dir, "intervals.csv")).Length);
            File.WriteAllText(bad, File.ReadAllText(RepoFile("examples/microgrid-day.json")).Replace("\"etaCharge\": 0.95", "\"etaCharge\": 1.5"));
            var (badCode, _, badErr) = Run("simulate", bad, "--out", dir);
            Assert.Equal(2, badCode);
            Assert.Contains("etaCharge", badErr);
            Assert.Contains(bad, badErr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
            File.Delete(bad);
        }
    }

    [Theory]
    [InlineData("local")]
    [InlineData("orleans")]
    public void P2p_clears_the_example_with_either_engine(string engine)
    {
        string png = Path.Combine(Path.GetTempPath(), "opente-p2p-" + Guid.NewGuid().ToString("N")[..6] + ".png");
        try
        {
            var (code, output, err) = Run("p2p", RepoFile("examples/p2p-community.json"), "--engine", engine, "--plot", png, "--json");
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal("optimal", root.GetProperty("status").GetString());
            Assert.Equal(engine, root.GetProperty("engine").GetString());
            Assert.Equal(7922.6, root.GetProperty("welfare").GetDouble(), 0.05); // the central QP's optimum, see P2pTests
            Assert.True(root.GetProperty("primalResidual").GetDouble() <= 1e-4);
            Assert.True(new FileInfo(png).Length > 1000);
            foreach (var t in root.GetProperty("trades").EnumerateArray())
                Assert.Equal(t.GetProperty("sellerPrice").GetDouble(), t.GetProperty("buyerPrice").GetDouble(), 1e-6);
        }
        finally { File.Delete(png); }
    }

    [Fact]
    public void Ac_opf_that_cannot_be_solved_exits_1_with_the_reason_and_no_prices()
    {
        string f = Path.Combine(Path.GetTempPath(), "opente-acbad-" + Guid.NewGuid().ToString("N")[..6] + ".m");
        var net = OpenTE.Grid.Matpower.MatpowerCase.Read(ScopfCliTests.CaseFile("case9")).Network;
        OpenTE.Grid.Matpower.MatpowerCase.Save(net.With(buses: net.Buses.Select(b => b with { Vmin = 1.3, Vmax = 1.31 }),
            generators: net.Generators.Select(g => g with { Qmax = 1, Qmin = -1 })), f);
        try
        {
            var (code, output, err) = Run("opf", f, "--model", "ac", "--json");
            Assert.Equal(1, code);
            Assert.Contains("IPM", err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.NotEqual("optimal", root.GetProperty("status").GetString());
            Assert.All(root.GetProperty("buses").EnumerateArray(), b => Assert.Equal(JsonValueKind.Null, b.GetProperty("lmp").ValueKind));
        }
        finally { File.Delete(f); }
    }
}

public class ClearCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Bids(string text)
    {
        string f = Path.Combine(Path.GetTempPath(), "opente-bids-" + Guid.NewGuid().ToString("N")[..8] + ".csv");
        File.WriteAllText(f, text);
        return f;
    }

    private const string Book = "participant,bus,side,price,quantity\nalice,2,buy,60,40\nbob,3,sell,10,30\ncarol,4,sell,30,30\n";

    [Theory]
    [InlineData("uniform", 30.0)]
    [InlineData("pay-as-bid", double.NaN)]
    public void Copper_plate_mechanisms(string mechanism, double price)
    {
        string f = Bids(Book);
        try
        {
            var (code, output, err) = Run("clear", "case5", "--bids", f, "--mechanism", mechanism, "--json");
            Assert.True(code == 0, err);
            var root = System.Text.Json.JsonDocument.Parse(output).RootElement;
            Assert.Equal(40, root.GetProperty("volume").GetDouble(), 9);
            if (double.IsNaN(price)) Assert.Equal(System.Text.Json.JsonValueKind.Null, root.GetProperty("clearingPrice").ValueKind);
            else Assert.Equal(price, root.GetProperty("clearingPrice").GetDouble(), 9);
            var parts = root.GetProperty("participants").EnumerateArray().ToDictionary(p => p.GetProperty("participant").GetString()!);
            Assert.Equal(40, parts["alice"].GetProperty("boughtMw").GetDouble(), 9);
            Assert.Equal(30, parts["bob"].GetProperty("soldMw").GetDouble(), 9);
        }
        finally { File.Delete(f); }
    }

    [Fact]
    public void Network_clearing_prints_prices_and_binding_lines()
    {
        string f = Bids(Book);
        try
        {
            var (code, output, err) = Run("clear", "case5", "--bids", f);
            Assert.True(code == 0, err);
            Assert.Contains("Participants", output);
            Assert.Contains("Binding branches", output);
        }
        finally { File.Delete(f); }
    }

    [Fact]
    public void Bad_bids_exit_2_with_file_and_line()
    {
        string f = Bids("participant,bus,side,price,quantity\nalice,2,buy,60,-4\n");
        try
        {
            var (code, _, err) = Run("clear", "case5", "--bids", f);
            Assert.Equal(2, code);
            Assert.Contains(f + ":2:", err);
            Assert.Contains("quantity", err);
        }
        finally { File.Delete(f); }
    }

    [Fact]
    public void Infeasible_network_clearing_exits_1_and_names_the_cause()
    {
        string f = Bids("participant,bus,side,price,quantity\nalice,2,buy,60,40\n");
        string c = Path.Combine(Path.GetTempPath(), "opente-short-" + Guid.NewGuid().ToString("N")[..8] + ".m");
        File.WriteAllText(c, "mpc.baseMVA = 100;\nmpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 150 0 0 0 1 1 0 230 1 1.1 0.9];\nmpc.gen = [1 0 0 0 0 1 100 1 300 0];\nmpc.branch = [1 2 0 0.1 0 100 100 100 0 0 1 -360 360];\nmpc.gencost = [2 0 0 2 10 0];\n");
        try
        {
            var (code, _, err) = Run("clear", c, "--bids", f);
            Assert.Equal(1, code);
            Assert.Contains("infeasible", err);
            Assert.Contains("bus 2", err);
            Assert.Equal(0, Run("clear", c, "--bids", f, "--voll", "1000").Code);
        }
        finally { File.Delete(f); File.Delete(c); }
    }
}
