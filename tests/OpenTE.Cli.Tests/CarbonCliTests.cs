using System.Text.Json;

namespace OpenTE.Cli.Tests;

public class CarbonCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-carbon-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public CarbonCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Repo(string file)
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "OpenTE.slnx"))) d = d.Parent;
        return Path.Combine(d!.FullName, file);
    }

    [Fact]
    public void Losses_json_has_a_factor_per_bus_and_draws_the_png()
    {
        string png = Path.Combine(_dir, "mef.png");
        var (code, output, err) = Run("losses", "case33bw", "--json", "--png", png);
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(output).RootElement;
        Assert.Equal("case33bw", r.GetProperty("case").GetString());
        Assert.Equal(1, r.GetProperty("referenceBus").GetInt32());
        Assert.InRange(r.GetProperty("lossesMw").GetDouble(), 0.2, 0.21); // 202.7 kW, MATPOWER's case33bw losses
        var buses = r.GetProperty("buses").EnumerateArray().ToList();
        Assert.Equal(33, buses.Count);
        Assert.All(buses.Skip(1), b => Assert.True(b.GetProperty("mlf").GetDouble() < 0));
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void Losses_bad_upstream_rate_is_a_usage_error()
    {
        var (code, _, err) = Run("losses", "case33bw", "--upstream", "-1");
        Assert.Equal(2, code);
        Assert.Contains("--upstream", err);
    }

    [Fact]
    public void Settle_with_carbon_reports_carbon_per_trade_and_balances_the_ledger()
    {
        string ledger = Path.Combine(_dir, "c.db");
        var (code, output, err) = Run("settle", Repo("examples/settle/trades.csv"), Repo("examples/settle/meter-readings.csv"), "--ledger", ledger,
            "--carbon", Repo("examples/carbon/settle-carbon.json"), "--carbon-price", "20000", "--json");
        Assert.True(code == 0, err + output);
        var r = JsonDocument.Parse(output).RootElement;
        Assert.Equal(0, r.GetProperty("moneyTotal").GetInt64());
        var c = r.GetProperty("carbon");
        Assert.Equal(0, c.GetProperty("co2TotalGrams").GetInt64());
        long grams = r.GetProperty("tradeResults").EnumerateArray().Sum(t => t.GetProperty("co2Grams").GetInt64());
        long money = r.GetProperty("tradeResults").EnumerateArray().Sum(t => t.GetProperty("carbonMoney").GetInt64());
        Assert.NotEqual(0, grams);
        Assert.Equal(-grams, c.GetProperty("carbonAccountGrams").GetInt64());
        Assert.Equal(money, c.GetProperty("carbonAccountMoney").GetInt64());
        Assert.Equal(money, r.GetProperty("balances").EnumerateArray().Sum(b => b.GetProperty("carbonMoney").GetInt64()));
        // --carbon-price overrides the file: 20000 per tonne = 0.02 per gram, rounded per trade
        foreach (var t in r.GetProperty("tradeResults").EnumerateArray())
            Assert.Equal(Math.Round(t.GetProperty("co2Grams").GetInt64() * 0.02, MidpointRounding.AwayFromZero), t.GetProperty("carbonMoney").GetInt64());
        var (vcode, _, verr) = Run("ledger", "verify", ledger);
        Assert.True(vcode == 0, verr);
    }

    [Fact]
    public void Carbon_file_errors_name_the_file_and_field_and_exit_2()
    {
        string bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, """{ "case": "case33bw", "upstreamGco2PerKwh": 400, "participants": [ { "id": "a", "bus": 99, "gco2PerKwh": 0 } ] }""");
        var (code, _, err) = Run("settle", Repo("examples/settle/trades.csv"), Repo("examples/settle/meter-readings.csv"), "--carbon", bad);
        Assert.Equal(2, code);
        Assert.Contains("bad.json", err);
        Assert.Contains("$.participants[0].bus", err);
        File.WriteAllText(bad, """{ "case": "case33bw", "upstream": "up.csv", "participants": [] }""");
        File.WriteAllText(Path.Combine(_dir, "up.csv"), "interval,gco2_per_kwh\n2026-06-01T00:00:00+00:00,abc\n");
        (code, _, err) = Run("settle", Repo("examples/settle/trades.csv"), Repo("examples/settle/meter-readings.csv"), "--carbon", bad);
        Assert.Equal(2, code);
        Assert.Contains("up.csv:2", err);
        (code, _, err) = Run("settle", Repo("examples/settle/trades.csv"), Repo("examples/settle/meter-readings.csv"), "--carbon-price", "5");
        Assert.Equal(2, code);
        Assert.Contains("--carbon-price needs --carbon", err);
    }

    [Fact]
    public void P2p_with_carbon_compares_both_clearings_in_one_run()
    {
        string png = Path.Combine(_dir, "res.png");
        var (code, output, err) = Run("p2p", Repo("examples/p2p-community.json"), "--carbon", Repo("examples/carbon/p2p-carbon.json"), "--plot", png, "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(output).RootElement;
        var c = r.GetProperty("carbon");
        Assert.Equal(100, c.GetProperty("pricePerTonne").GetDouble());
        double before = c.GetProperty("without").GetProperty("emissionsKgPerH").GetDouble(), after = c.GetProperty("with").GetProperty("emissionsKgPerH").GetDouble();
        Assert.True(after < before, $"{after} ≥ {before}");
        Assert.True(c.GetProperty("with").GetProperty("welfareNetOfCarbon").GetDouble() >= c.GetProperty("without").GetProperty("welfareNetOfCarbon").GetDouble() - 1e-2);
        // the trades are the carbon-aware clearing's, each with its emission factor; Σ factor × MW = the reported emissions
        double e = r.GetProperty("trades").EnumerateArray().Sum(t => t.GetProperty("gco2PerKwh").GetDouble() * Math.Max(0, t.GetProperty("mw").GetDouble()));
        Assert.Equal(after, e, 6);
        // a peer without emission data is an input error
        string bad = Path.Combine(_dir, "p2p-carbon.json");
        File.WriteAllText(bad, File.ReadAllText(Repo("examples/carbon/p2p-carbon.json")).Replace("\"home12\"", "\"home99\""));
        File.Copy(Repo("examples/carbon/upstream.csv"), Path.Combine(_dir, "upstream.csv"));
        (code, _, err) = Run("p2p", Repo("examples/p2p-community.json"), "--carbon", bad, "--plot", png);
        Assert.Equal(2, code);
        Assert.Contains("home12", err);
    }
}
