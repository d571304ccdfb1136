using System.Text.Json;

namespace OpenTE.Cli.Tests;

public class MeterPrivacyCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-meter-" + Guid.NewGuid().ToString("N")[..8]);

    public MeterPrivacyCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private string Synth(int households = 40, int intervals = 8)
    {
        string f = Path.Combine(_dir, "m.csv");
        Assert.Equal(0, Run("meter", "synth", "case33bw", "--households", households.ToString(), "--intervals", intervals.ToString(), "--out", f).Code);
        return f;
    }

    [Fact]
    public void Synthetic_data_reconciles_against_the_power_flow()
    {
        string f = Synth();
        var (code, output, err) = Run("meter", "reconcile", f, "case33bw", "--json");
        Assert.True(code == 0, err + output);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(8, root.GetProperty("intervals").GetInt32());
        Assert.Equal(0, root.GetProperty("unbalanced").GetInt32());
    }

    /// <summary>
    /// Issue #17: without a case every interval was "unbalanced" against a stated 3 % loss fraction. Now the losses are
    /// estimated from the data (k·N², a median fit): a clean day balances, and one interval with 3 kWh taken off a
    /// household's import (unmetered consumption) stands out alone.
    /// </summary>
    [Fact]
    public void Without_a_case_the_losses_are_estimated_and_only_a_tampered_interval_stands_out()
    {
        string f = Synth(households: 60, intervals: 24);
        var (code, output, err) = Run("meter", "reconcile", f, "--json");
        Assert.True(code == 0, err + output);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("estimated", root.GetProperty("lossModel").GetString());
        Assert.Equal(0, root.GetProperty("unbalanced").GetInt32());

        var lines = File.ReadAllLines(f);
        int i = Array.FindIndex(lines, l => l.Contains(",household,") && l.Contains("T05:00:00"));
        var cells = lines[i].Split(',');
        cells[5] = (double.Parse(cells[5], System.Globalization.CultureInfo.InvariantCulture) + 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
        lines[i] = string.Join(',', cells);
        File.WriteAllLines(f, lines);
        var (code2, output2, _) = Run("meter", "reconcile", f, "--json");
        Assert.Equal(1, code2);
        var bad = JsonDocument.Parse(output2).RootElement.GetProperty("lines").EnumerateArray().Where(l => !l.GetProperty("balanced").GetBoolean()).ToList();
        Assert.Single(bad);
        Assert.Contains("T05:00:00", bad[0].GetProperty("start").GetString());
    }

    [Fact]
    public void Unbalanced_data_exits_1_and_rejects_are_written()
    {
        string f = Synth();
        File.AppendAllText(f, "H00001,household,F1,10,2026-06-01T00:00:00+02:00,-4,0\n");
        var (code, output, err) = Run("meter", "reconcile", f, "--loss-fraction", "0.2");
        Assert.Equal(1, code); // 20 % losses do not match the power flow's
        Assert.Contains("not balanced", output);
        Assert.Contains("1 record(s) rejected", err);
        Assert.Contains("negative", File.ReadAllText(f + ".rejects.csv"));
    }

    [Fact]
    public void Release_spends_the_budget_then_refuses()
    {
        string f = Synth();
        var (code, output, err) = Run("privacy", "release", f, "--query", "sum", "--by", "feeder,interval", "--epsilon", "0.7", "--max-kwh", "2", "--json");
        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(8, root.GetProperty("values").GetArrayLength());
        Assert.Equal(0.7, root.GetProperty("spentEpsilon").GetDouble(), 9);
        Assert.Equal("discrete-laplace", root.GetProperty("mechanism").GetString());
        var again = Run("privacy", "release", f, "--query", "count", "--by", "feeder", "--epsilon", "0.5", "--max-kwh", "2");
        Assert.Equal(2, again.Code);
        Assert.Contains("refused", again.Err);
        var ledger = JsonDocument.Parse(File.ReadAllText(f + ".privacy.json")).RootElement;
        Assert.Equal(1, ledger.GetProperty("releases").GetArrayLength());
        // a smaller ε still fits
        Assert.Equal(0, Run("privacy", "release", f, "--query", "count", "--by", "feeder", "--epsilon", "0.3", "--max-kwh", "2").Code);
    }

    [Fact]
    public void Utility_study_writes_a_png()
    {
        string f = Synth(households: 30, intervals: 4);
        string png = Path.Combine(_dir, "u.png");
        var (code, output, err) = Run("privacy", "utility", f, "--max-kwh", "1", "--png", png);
        Assert.True(code == 0, err);
        Assert.Contains("households", output);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [Theory]
    [InlineData("privacy", "release", "M", "--epsilon", "0", "--max-kwh", "1")]
    [InlineData("privacy", "release", "M", "--epsilon", "1")]
    [InlineData("privacy", "release", "M", "--epsilon", "1", "--max-kwh", "1", "--query", "median")]
    [InlineData("meter", "reconcile", "/no/such/file.csv")]
    [InlineData("meter", "synth", "case33bw", "--households", "0")]
    public void Bad_arguments_exit_2(params string[] args)
    {
        string f = Synth(households: 5, intervals: 2);
        var (code, _, err) = Run(args.Select(a => a == "M" ? f : a).ToArray());
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err.TrimStart());
    }
}
