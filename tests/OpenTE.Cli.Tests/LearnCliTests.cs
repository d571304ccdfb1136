using System.Text.Json;

namespace OpenTE.Cli.Tests;

/// <summary>`opente learn`: the JSON of issue #19, the policy round trip, the plot, bad input naming the field (exit 2).</summary>
public class LearnCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string RepoFile(string relative) => CliRunner.Repo(relative);

    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), "opente-learn-" + Guid.NewGuid().ToString("N")[..8] + "-" + name);

    [Fact]
    public void Storage_json_follows_the_issue_the_policy_round_trips_and_the_plot_is_written()
    {
        string png = Temp("curve.png"), policy = Temp("policy.json");
        try
        {
            var (code, output, err) = Run("learn", RepoFile("examples/learn-storage.json"), "--algorithm", "q", "--seed", "3", "--json", "--plot", png, "--policy-out", policy);
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal("q", root.GetProperty("algorithm").GetString());
            Assert.Equal(3, root.GetProperty("seed").GetInt32());
            Assert.Equal(10000, root.GetProperty("episodes").GetInt32());
            Assert.True(root.GetProperty("seconds").GetDouble() > 0);
            Assert.Equal(10000, root.GetProperty("learningCurve").GetArrayLength());
            var e = root.GetProperty("evaluation");
            double profit = e.GetProperty("profit").GetDouble(), optimal = e.GetProperty("optimalProfit").GetDouble();
            Assert.Equal(profit / optimal, e.GetProperty("ratio").GetDouble(), 1e-12);
            Assert.Equal(optimal - profit, e.GetProperty("exploitability").GetDouble(), 1e-9);
            Assert.True(profit > e.GetProperty("ruleProfit").GetDouble());
            Assert.True(new FileInfo(png).Length > 1000);

            var (code2, output2, err2) = Run("learn", RepoFile("examples/learn-storage.json"), "--evaluate", policy, "--json");
            Assert.True(code2 == 0, err2);
            var e2 = JsonDocument.Parse(output2).RootElement.GetProperty("evaluation");
            Assert.Equal(profit, e2.GetProperty("profit").GetDouble());
            Assert.Equal(0, JsonDocument.Parse(output2).RootElement.GetProperty("learningCurve").GetArrayLength());
        }
        finally { File.Delete(png); File.Delete(policy); }
    }

    [Fact]
    public void The_same_seed_gives_the_same_output_curve()
    {
        string[] args = ["learn", RepoFile("examples/learn-storage.json"), "--algorithm", "dqn", "--episodes", "15", "--seed", "8", "--json"];
        static string Curve(string json) => JsonDocument.Parse(json).RootElement.GetProperty("learningCurve").GetRawText();
        var a = Run(args);
        var b = Run(args);
        Assert.True(a.Code == 0, a.Err);
        Assert.Equal(Curve(a.Out), Curve(b.Out));
    }

    [Fact]
    public void A_strategic_learner_is_scored_against_its_mpec_best_response()
    {
        var (code, output, err) = Run("learn", RepoFile("examples/learn-strategic.json"), "--episodes", "3", "--json");
        Assert.True(code == 0, err);
        var e = JsonDocument.Parse(output).RootElement.GetProperty("evaluation");
        var l = Assert.Single(e.GetProperty("learners").EnumerateArray());
        Assert.Equal("genco", l.GetProperty("name").GetString());
        // the exact best response is at least as good as any learned offer (it may choose every block's price)
        Assert.True(e.GetProperty("exploitability").GetDouble() >= -1e-6, output);
        Assert.True(e.GetProperty("optimalProfit").GetDouble() > 0);
    }

    [Theory]
    [InlineData("{ \"environment\": \"storage\", \"storage\": { \"energyMwh\": -4, \"powerMw\": 1 }, \"prices\": {} }", "$.storage.energyMwh")]
    [InlineData("{ \"environment\": \"storage\", \"storage\": { \"energyMwh\": 4, \"powerMw\": 1, \"initialMwh\": 9 }, \"prices\": {} }", "$.storage.initialMwh")]
    [InlineData("{ \"environment\": \"storage\", \"storage\": { \"energyMwh\": 4, \"powerMw\": 1 } }", "$.prices")]
    [InlineData("{ \"environment\": \"market\" }", "$.environment")]
    [InlineData("{ \"environment\": \"storage\", \"episodes\": 2.5, \"storage\": { \"energyMwh\": 4, \"powerMw\": 1 }, \"prices\": {} }", "$.episodes")]
    [InlineData("{ \"environment\": \"strategic\", \"case\": \"case30\", \"bids\": \"BIDS\", \"learners\": [\"nobody\"] }", "$.learners[0]")]
    [InlineData("{ \"environment\": \"strategic\", \"case\": \"case30\", \"bids\": \"BIDS\", \"learners\": [\"genco\"], \"noise\": 3 }", "$.noise")]
    public void Bad_scenario_input_exits_2_naming_the_field(string json, string field)
    {
        string file = Temp("scenario.json");
        File.WriteAllText(file, json.Replace("BIDS", RepoFile("examples/case30-strategic-bids.csv").Replace("\\", "/")));
        try
        {
            var (code, _, err) = Run("learn", file);
            Assert.Equal(2, code);
            Assert.Contains(field, err);
            Assert.Contains(file, err);
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("{ \"algorithm\": \"q\", \"environment\": \"storage\", \"learners\": [ { \"name\": \"battery\", \"states\": 2, \"actions\": 2, \"q\": [0, 0, 0, 0] } ] }", "$.learners")]
    [InlineData("{ \"algorithm\": \"dqn\", \"environment\": \"storage\", \"learners\": [ { \"name\": \"battery\", \"sizes\": [3], \"parameters\": [] } ] }", "$.learners[0].sizes")]
    [InlineData("{ \"algorithm\": \"q\", \"environment\": \"strategic\", \"learners\": [ { \"name\": \"battery\", \"states\": 2, \"actions\": 2, \"q\": [0, 0, 0, 0] } ] }", "$.environment")]
    public void A_policy_of_another_scenario_is_refused_with_exit_2(string json, string field)
    {
        string policy = Temp("policy.json");
        File.WriteAllText(policy, json);
        try
        {
            var (code, _, err) = Run("learn", RepoFile("examples/learn-storage.json"), "--evaluate", policy);
            Assert.Equal(2, code);
            Assert.Contains(field, err);
        }
        finally { File.Delete(policy); }
    }
}
