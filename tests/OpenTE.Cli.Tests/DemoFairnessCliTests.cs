using System.Text.Json;
using Microsoft.Playwright;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Cli.Tests;

/// <summary>The transactive demo in a reduced size, the compare command, and the report in a real headless browser.</summary>
public class DemoFairnessCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("opente-demo-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly string[] Designs = ["nodal", "pay-as-bid", "uniform", "p2p", "sdr"];

    /// <summary>The reduced demo: 12 prosumers, 8 intervals (seconds); every part of the story and a verified ledger.</summary>
    private (string Output, string Dir) Demo()
    {
        string dir = Path.Combine(_dir, "demo");
        var (code, output, err) = CliRunner.Run("demo", "--prosumers", "12", "--intervals", "8", "--out", dir);
        Assert.True(code == 0, err + output);
        return (output, dir);
    }

    [Fact]
    public void Demo_tells_the_day_settles_it_on_a_verified_ledger_and_compares_the_designs()
    {
        var (output, dir) = Demo();
        foreach (var part in new[] { "Prices through the day", "Who paid and who earned", "learning seller", "reactive-power market", "Settlement on the embedded ledger",
                     "Differentially private feeder aggregate", "Market designs", "Ledger verified" })
            Assert.Contains(part, output);
        foreach (var d in Designs) Assert.Contains(d, output);
        Assert.Contains(Path.GetFullPath(Path.Combine(dir, "report.html")), output.Replace("\n", ""));
        // the ledger it names verifies on its own, and money and energy sum to zero over all accounts
        string ledger = Path.Combine(dir, "ledger.db");
        Assert.True(SqliteLedger.Verify(ledger).Ok);
        var balances = SqliteLedger.Balances(ledger);
        Assert.Equal(0, balances.Where(b => b.Key.Commodity == Commodity.Money).Sum(b => b.Value));
        Assert.Equal(0, balances.Where(b => b.Key.Commodity == Commodity.EnergyWh).Sum(b => b.Value));
        foreach (var f in new[] { "report.html", "lorenz.svg", "lorenz.png", "gini-welfare.png", "prices.svg", "price-distribution.svg", "surplus.png", "surplus-nodal.csv", "surplus-sdr.csv", "meter-readings.csv", "awards-nodal.csv" })
            Assert.True(new FileInfo(Path.Combine(dir, f)).Length > 0, f);
        var html = File.ReadAllText(Path.Combine(dir, "report.html"));
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("src=\"http", html); // self-contained
    }

    [Fact]
    public void Demo_pf_keeps_the_power_flow_demo_and_bad_options_exit_2()
    {
        var (code, output, err) = CliRunner.Run("demo", "--pf");
        Assert.True(code == 0, err);
        Assert.Contains("case30", output);
        Assert.Contains("Buses", output);
        (code, _, err) = CliRunner.Run("demo", "--intervals", "0");
        Assert.Equal(2, code);
        Assert.Contains("--intervals", err);
        (code, _, err) = CliRunner.Run("demo", "--scenario", Path.Combine(_dir, "missing.json"));
        Assert.Equal(2, code);
        Assert.Contains("missing.json", err);
    }

    [Fact]
    public void Compare_json_has_every_design_over_the_same_participants_and_writes_a_csv_per_design()
    {
        string dir = Path.Combine(_dir, "cmp");
        var (code, output, err) = CliRunner.Run("compare", Example("microgrid-day.json"), "--designs", "nodal,uniform,sdr,pay-as-bid", "--out", dir, "--json");
        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(output).RootElement;
        var designs = root.GetProperty("designs").EnumerateArray().ToList();
        Assert.Equal(["nodal", "uniform", "sdr", "pay-as-bid"], designs.Select(d => d.GetProperty("name").GetString()));
        var ids = designs[0].GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("id").GetString()).ToList();
        Assert.Equal(38, ids.Count); // the example lists 38 prosumers (12 PV, 6 batteries, 8 EVs, 8 flexible, 4 critical): not the base loads or the diesel
        foreach (var d in designs)
        {
            Assert.Equal(ids, d.GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("id").GetString()));
            Assert.InRange(d.GetProperty("gini").GetDouble(), 0, 1);
            Assert.InRange(d.GetProperty("jain").GetDouble(), 1.0 / ids.Count, 1);
            Assert.True(File.Exists(Path.Combine(dir, $"surplus-{d.GetProperty("name").GetString()}.csv")));
        }
        // the same dispatch rule: uniform and pay-as-bid have equal welfare; pay-as-bid hands the spread to the operator
        double W(int k) => designs[k].GetProperty("welfare").GetDouble();
        Assert.Equal(W(1), W(3), 6);
        Assert.Equal(0, designs[1].GetProperty("gridRent").GetDouble(), 6);
        Assert.True(designs[3].GetProperty("gridRent").GetDouble() > 0);
        Assert.Equal(0, designs[2].GetProperty("gridRent").GetDouble(), 6); // SDR is budget balanced
    }

    [Fact]
    public void Compare_names_a_bad_design_and_an_output_folder_it_cannot_write()
    {
        var (code, _, err) = CliRunner.Run("compare", Example("microgrid-day.json"), "--designs", "nodal,vickrey", "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("'vickrey' is not a design", err);
        string file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "x");
        (code, _, err) = CliRunner.Run("compare", Example("microgrid-day.json"), "--designs", "uniform", "--out", file);
        Assert.Equal(2, code);
        Assert.Contains("give --out a folder you can write", err);
        (code, _, err) = CliRunner.Run("demo", "--intervals", "2", "--out", file);
        Assert.Equal(2, code);
        Assert.Contains("give --out a folder you can write", err);
    }

    [ChromiumFact]
    public async Task The_report_renders_its_plots_in_a_real_browser()
    {
        var (_, dir) = Demo();
        using var pw = await Playwright.CreateAsync();
        await using var browser = await pw.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1100, Height = 900 } });
        await page.GotoAsync(new Uri(Path.GetFullPath(Path.Combine(dir, "report.html"))).AbsoluteUri);
        var figures = page.Locator("figure svg");
        Assert.Equal(5, await figures.CountAsync());
        for (int i = 0; i < 5; i++)
        {
            var box = await figures.Nth(i).BoundingBoxAsync();
            Assert.NotNull(box);
            Assert.True(box!.Width > 300 && box.Height > 150, $"plot {i} renders at {box.Width}×{box.Height}");
            Assert.True(await figures.Nth(i).Locator("path, line, polyline, rect").CountAsync() > 5, $"plot {i} draws something");
        }
        // the Lorenz plot has a legend entry per design; the designs table a row per design
        var lorenz = await page.Locator("#fig-lorenz").InnerTextAsync();
        foreach (var d in Designs) Assert.Contains(d, lorenz);
        Assert.Equal(1 + Designs.Length, await page.Locator("#designs tr").CountAsync());
        string shot = Path.Combine(dir, "report.png");
        await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 20_000);
        if (Environment.GetEnvironmentVariable("OPENTE_SCREENSHOT_DIR") is { Length: > 0 } keep) File.Copy(shot, Path.Combine(keep, "report.png"), true);
    }

    private static string Example(string name) => CliRunner.Repo(Path.Combine("examples", name));
}

/// <summary>A test that needs Debian's chromium (<c>apt-get install chromium</c>; .ci/run installs it): skipped with the reason when it is missing.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"browser test skipped: {Chromium} is missing (Debian: apt-get install chromium; .ci/run installs it)";
    }
}

/// <summary>compare with carbon data (issues #20, #21).</summary>
public class CompareCarbonCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("opente-compare-carbon-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static string Example(string name) => CliRunner.Repo(Path.Combine("examples", name));

    /// <summary>
    /// Issue #21 with #20: given emission data, compare adds the P2P market with carbon-priced trades; the carbon charges
    /// are collected beside the grid fees (the grid-rent row grows), and the rows still add up to the design's welfare.
    /// </summary>
    [Fact]
    public void Compare_with_carbon_data_adds_the_carbon_priced_p2p_design()
    {
        string carbon = Example(Path.Combine("carbon", "microgrid-day-carbon.json"));
        var (code, output, err) = CliRunner.Run("compare", Example("microgrid-day.json"), "--designs", "p2p,p2p-carbon", "--carbon", carbon, "--out", _dir, "--json");
        Assert.True(code == 0, err);
        var designs = JsonDocument.Parse(output).RootElement.GetProperty("designs").EnumerateArray().ToDictionary(d => d.GetProperty("name").GetString()!);
        Assert.Equal(["p2p", "p2p-carbon"], designs.Keys.Order());
        double Rent(string d) => designs[d].GetProperty("gridRent").GetDouble();
        Assert.True(Rent("p2p-carbon") > Rent("p2p") + 100, $"carbon charges: rent {Rent("p2p-carbon")} vs {Rent("p2p")}");
        // a zero carbon price clears like the plain P2P market
        (code, output, err) = CliRunner.Run("compare", Example("microgrid-day.json"), "--designs", "p2p,p2p-carbon", "--carbon", carbon, "--carbon-price", "0", "--out", _dir, "--json");
        Assert.True(code == 0, err);
        var zero = JsonDocument.Parse(output).RootElement.GetProperty("designs").EnumerateArray().Select(d => d.GetProperty("welfare").GetDouble()).ToArray();
        Assert.Equal(zero[0], zero[1], 1e-6 * Math.Abs(zero[0]));

        (code, _, err) = CliRunner.Run("compare", Example("microgrid-day.json"), "--designs", "p2p-carbon", "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("--carbon FILE", err);
        string bad = Path.Combine(_dir, "bad-carbon.json");
        File.WriteAllText(bad, File.ReadAllText(carbon).Replace("{\"id\": \"diesel\", \"bus\": 6, \"gco2PerKwh\": 700},", ""));
        File.Copy(Example(Path.Combine("carbon", "upstream-day.csv")), Path.Combine(_dir, "upstream-day.csv"), true);
        (code, _, err) = CliRunner.Run("compare", Example("microgrid-day.json"), "--designs", "p2p-carbon", "--carbon", bad, "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("'diesel' has no emission data", err);
        Assert.Contains(bad, err);
    }
}
