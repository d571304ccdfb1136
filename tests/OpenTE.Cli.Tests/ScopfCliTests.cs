using System.Text.Json;

namespace OpenTE.Cli.Tests;

public class ScopfCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData("preventive")]
    [InlineData("corrective")]
    public void Scopf_json_has_security_cost_prices_and_screening_rounds(string mode)
    {
        var (code, output, err) = Run("scopf", "case30", "--mode", mode, "--json");
        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("optimal", root.GetProperty("status").GetString());
        Assert.True(root.GetProperty("securityCost").GetDouble() >= -1e-3);
        Assert.True(root.GetProperty("rounds").GetInt32() >= 1);
        Assert.Equal(3, root.GetProperty("islandingOutages").GetArrayLength());
        Assert.Contains("screening round 1", err);
        var reserve = root.GetProperty("reserve"); // issue #16: the reserve for the largest lost output and its prices
        Assert.True(reserve.GetProperty("upMw").GetDouble() >= 0);
        Assert.Equal(JsonValueKind.Array, reserve.GetProperty("requirement").ValueKind);
        Assert.Equal(JsonValueKind.Array, reserve.GetProperty("headroom").ValueKind);
        foreach (var b in root.GetProperty("buses").EnumerateArray())
            Assert.Equal(b.GetProperty("lmp").GetDouble(),
                b.GetProperty("lmpEnergy").GetDouble() + b.GetProperty("lmpCongestion").GetDouble() + b.GetProperty("lmpSecurity").GetDouble(), 3);
    }

    [Fact]
    public void Limits_no_dispatch_can_meet_are_relaxed_and_listed_or_hard_with_penalty_0()
    {
        // case30 with rateB cleared so that --emergency-factor 0.6 sets 60 % emergency ratings
        string m = Path.Combine(Path.GetTempPath(), "opente-scopf-" + Guid.NewGuid().ToString("N")[..6] + ".m");
        var net = OpenTE.Grid.Matpower.MatpowerCase.Read(CaseFile("case30")).Network;
        OpenTE.Grid.Matpower.MatpowerCase.Save(net.With(branches: net.Branches.Select(b => b with { RateB = 0 })), m);
        try
        {
            var (code, output, err) = Run("scopf", m, "--emergency-factor", "0.6", "--json");
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal("optimal", root.GetProperty("status").GetString());
            var relaxed = root.GetProperty("relaxedLimits");
            Assert.True(relaxed.GetArrayLength() > 0);
            Assert.All(relaxed.EnumerateArray(), r => Assert.True(r.GetProperty("violationMw").GetDouble() > 0));
            var (hardCode, _, hardErr) = Run("scopf", m, "--emergency-factor", "0.6", "--penalty", "0");
            Assert.Equal(1, hardCode);
            Assert.Contains("infeasible", hardErr);
            Assert.Equal(2, Run("scopf", m, "--penalty", "-5").Code);
            Assert.Equal(2, Run("scopf", m, "--recourse-generators", "-1").Code);
        }
        finally { File.Delete(m); }
    }

    internal static string CaseFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "cases", name + ".m");
            if (File.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir.FullName, "..", "shared", "cases", name + ".m");
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new FileNotFoundException($"{name}.m not found in ../shared/cases");
    }

    [Fact]
    public void Bad_contingency_file_and_mode_exit_2()
    {
        Assert.Equal(2, Run("scopf", "case30", "--mode", "sometimes").Code);
        string f = Path.Combine(Path.GetTempPath(), "opente-bad-ctg-" + Guid.NewGuid().ToString("N")[..6] + ".csv");
        File.WriteAllText(f, "label,type,index\nx,transformer,1\n");
        try
        {
            var (code, _, err) = Run("scopf", "case30", "--contingencies", f);
            Assert.Equal(2, code);
            Assert.Contains(f + ":2:", err);
        }
        finally { File.Delete(f); }
        Assert.Equal(0, Run("scopf", "--help").Code);
    }
}
