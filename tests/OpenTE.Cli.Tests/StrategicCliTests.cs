using System.Text.Json;

namespace OpenTE.Cli.Tests;

/// <summary>`opente strategic`: the JSON of issue #18, the tables, the plot, exit codes 0/1/2 and bad input naming file:line.</summary>
public class StrategicCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string RepoFile(string relative) => CliRunner.Repo(relative);

    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "opente-strategic-" + Guid.NewGuid().ToString("N")[..8] + "-" + name);

    [Fact]
    public void Json_of_one_leader_follows_the_issue_and_the_plot_is_written()
    {
        string png = Temp("lmp.png");
        try
        {
            var (code, output, err) = Run("strategic", "case30", "--bids", RepoFile("examples/case30-strategic-bids.csv"), "--leader", "genco", "--json", "--plot", png);
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal("optimal", root.GetProperty("status").GetString());
            var leader = Assert.Single(root.GetProperty("leaders").EnumerateArray());
            Assert.Equal("genco", leader.GetProperty("name").GetString());
            double profit = leader.GetProperty("profit").GetDouble(), competitive = leader.GetProperty("competitiveProfit").GetDouble();
            Assert.True(profit > competitive + 0.5, $"the example's leader gains from strategy: {profit} vs {competitive}");
            var offers = leader.GetProperty("offers").EnumerateArray().ToList();
            Assert.Equal(3, offers.Count);
            foreach (var o in offers)
            {
                foreach (var f in new[] { "bus", "block", "cost", "quantity", "offerPrice", "offerQuantity", "cleared" }) Assert.True(o.TryGetProperty(f, out _), f);
                Assert.True(o.GetProperty("offerPrice").GetDouble() >= o.GetProperty("cost").GetDouble() - 1e-9);
                Assert.True(o.GetProperty("cleared").GetDouble() <= o.GetProperty("offerQuantity").GetDouble() + 1e-6);
            }
            var buses = root.GetProperty("buses").EnumerateArray().ToList();
            Assert.Equal(30, buses.Count);
            // bus 30 is a load pocket: genco prices up to the datacenter's 9 $/MWh (competitive 3.90, docs/strategic.md)
            var bus30 = buses.Single(b => b.GetProperty("id").GetInt32() == 30);
            Assert.Equal(9.0, bus30.GetProperty("lmp").GetDouble(), 4);
            Assert.Equal(3.90, bus30.GetProperty("lmpCompetitive").GetDouble(), 2);
            Assert.All(buses, b => { Assert.True(b.TryGetProperty("id", out _)); Assert.True(b.TryGetProperty("lmp", out _)); Assert.True(b.TryGetProperty("lmpCompetitive", out _)); });
            Assert.True(root.GetProperty("welfare").GetDouble() <= root.GetProperty("welfareCompetitive").GetDouble() + 1e-6);
            var rc = root.GetProperty("recleared");
            Assert.Equal(profit, rc.GetProperty("profit").GetDouble(), 4);
            Assert.True(rc.GetProperty("maxLmpDifference").GetDouble() < 1e-4);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("equilibrium").ValueKind);
            Assert.True(root.GetProperty("binaries").GetInt32() > 0);
            Assert.True(root.GetProperty("solveSeconds").GetDouble() > 0);
            Assert.True(new FileInfo(png).Length > 1000);
        }
        finally { File.Delete(png); }
    }

    [Fact]
    public void Two_leaders_report_the_equilibrium_and_tables_show_blocks_prices_and_welfare()
    {
        var (code, output, err) = Run("strategic", "case30", "--bids", RepoFile("examples/case30-strategic-bids.csv"), "--leader", "genco", "--leader", "ipp", "--json");
        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(2, root.GetProperty("leaders").GetArrayLength());
        var eq = root.GetProperty("equilibrium");
        Assert.True(eq.GetProperty("converged").GetBoolean());
        Assert.True(eq.GetProperty("iterations").GetInt32() >= 1);

        var (tcode, table, terr) = Run("strategic", "case30", "--bids", RepoFile("examples/case30-strategic-bids.csv"), "--leader", "genco", "--mode", "both");
        Assert.True(tcode == 0, terr);
        Assert.Contains("Leader blocks", table);
        Assert.Contains("LMPs", table);
        Assert.Contains("welfare loss", table);
    }

    [Fact]
    public void An_equilibrium_search_cut_short_exits_1_with_the_reason()
    {
        // the example needs two rounds (genco moves in the first, nobody in the second): one round is not enough
        var (code, output, err) = Run("strategic", "case30", "--bids", RepoFile("examples/case30-strategic-bids.csv"), "--leader", "genco", "--leader", "ipp",
            "--max-iterations", "1", "--json");
        Assert.Equal(1, code);
        Assert.Contains("not-converged", err);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("not-converged", root.GetProperty("status").GetString());
        Assert.False(root.GetProperty("equilibrium").GetProperty("converged").GetBoolean());
        Assert.Equal(1, root.GetProperty("equilibrium").GetProperty("iterations").GetInt32());
    }

    [Fact]
    public void Bad_input_exits_2_naming_the_file_line_or_option_and_the_fix()
    {
        string bids = RepoFile("examples/case30-strategic-bids.csv");
        var (code, _, err) = Run("strategic", "case30", "--bids", bids, "--leader", "nobody");
        Assert.Equal(2, code);
        Assert.Contains("case30-strategic-bids.csv", err);
        Assert.Contains("genco", err); // names the participants to choose from

        (code, _, err) = Run("strategic", "case30", "--bids", bids, "--leader", "mall");
        Assert.Equal(2, code);
        Assert.Contains("case30-strategic-bids.csv:10", err);
        Assert.Contains("side", err);
        Assert.Contains("sell blocks", err);

        (code, _, err) = Run("strategic", "case30", "--bids", bids, "--leader", "genco", "--mode", "collude");
        Assert.Equal(2, code);
        Assert.Contains("--mode", err);

        (code, _, err) = Run("strategic", "case30", "--bids", bids, "--leader", "genco", "--leader", "genco");
        Assert.Equal(2, code);
        Assert.Contains("twice", err);

        (code, _, err) = Run("strategic", "case30", "--bids", bids);
        Assert.Equal(2, code);
        Assert.Contains("--leader", err);

        string bad = Temp("bids.csv");
        try
        {
            File.WriteAllText(bad, "participant,bus,side,price,quantity\ngenco,8,sell,3,-5\n");
            (code, _, err) = Run("strategic", "case30", "--bids", bad, "--leader", "genco");
            Assert.Equal(2, code);
            Assert.Contains(":2:", err);
            Assert.Contains("quantity", err);
        }
        finally { File.Delete(bad); }
    }
}
