using System.Text.Json;
using OpenTE.Settlement;

namespace OpenTE.Cli.Tests;

/// <summary>Issue #23: a refunded trade stays refunded, a corrected reading does not change what was settled, the report is the ledger.</summary>
public class SettleHardeningTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-settle23-" + Guid.NewGuid().ToString("N")[..8]);

    public SettleHardeningTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Late = "2030-01-01T00:00:00Z";

    private (SampleData.Set Set, string Trades, string Readings) Sample(int seed)
    {
        var set = SampleData.Generate(4, 24, seed, "h23");
        SampleData.Write(set, _dir);
        return (set, Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"));
    }

    private static JsonElement Settle(params string[] args)
    {
        var (code, output, err) = CliRunner.Run(["settle", .. args, "--json"]);
        Assert.True(code == 0, err + output);
        return JsonDocument.Parse(output).RootElement;
    }

    /// <summary>The report's balances are exactly the ledger's, and no escrow or collateral is negative.</summary>
    internal static void AssertReportIsLedger(JsonElement report, string ledger)
    {
        var (code, output, err) = CliRunner.Run("ledger", "balance", ledger, "--json");
        Assert.True(code == 0, err);
        var lb = JsonDocument.Parse(output).RootElement.GetProperty("balances").EnumerateArray()
            .ToDictionary(b => b.GetProperty("participant").GetString()!, b => b.ToString());
        foreach (var b in report.GetProperty("balances").EnumerateArray())
        {
            Assert.Equal(lb[b.GetProperty("participant").GetString()!], b.ToString());
            Assert.True(b.GetProperty("escrow").GetInt64() >= 0 && b.GetProperty("collateral").GetInt64() >= 0, b.ToString());
        }
        Assert.Equal(0, CliRunner.Run("ledger", "verify", ledger).Code);
    }

    [Fact]
    public void A_refunded_trade_stays_refunded_when_its_reading_comes_late()
    {
        var (_, trades, readings) = Sample(11);
        var full = File.ReadAllLines(readings);
        var held = Path.Combine(_dir, "held.csv");
        File.WriteAllLines(held, full.Where((_, i) => i != 1));
        var ledger = Path.Combine(_dir, "l.db");
        var r1 = Settle(trades, held, "--ledger", ledger, "--at", Late);
        var refunded = r1.GetProperty("tradeResults").EnumerateArray().Where(t => t.GetProperty("status").GetString() == "refunded")
            .Select(t => t.GetProperty("id").GetString()).ToHashSet();
        Assert.NotEmpty(refunded);
        var r2 = Settle(trades, readings, "--ledger", ledger, "--at", Late);
        foreach (var t in r2.GetProperty("tradeResults").EnumerateArray())
            if (refunded.Contains(t.GetProperty("id").GetString()))
                Assert.Equal("refunded", t.GetProperty("status").GetString());
        Assert.Contains(r2.GetProperty("readingResults").EnumerateArray(), x => x.GetProperty("line").GetInt32() == 2 && x.GetProperty("status").GetString() == "late");
        Assert.Equal(r1.GetProperty("ledgerEntries").GetInt64(), r2.GetProperty("ledgerEntries").GetInt64());
        AssertReportIsLedger(r2, ledger);
    }

    [Fact]
    public void A_corrected_reading_is_reported_and_the_report_is_what_the_ledger_holds()
    {
        var (set, trades, readings) = Sample(12);
        var ledger = Path.Combine(_dir, "l.db");
        var r1 = Settle(trades, readings, "--ledger", ledger, "--at", Late);
        var first = set.Readings[0];
        var meter = set.Meters.Single(m => m.Address == Addr.Normalize(first.Reading.Meter));
        var corrected = (first.Reading with { EnergyWh = first.Reading.EnergyWh + 777 }).Sign(meter);
        var lines = File.ReadAllLines(readings);
        lines[1] = SettlementCsv.Format(corrected);
        var fixedFile = Path.Combine(_dir, "corrected.csv");
        File.WriteAllLines(fixedFile, lines);
        var r2 = Settle(trades, fixedFile, "--ledger", ledger, "--at", Late);
        Assert.Equal(0, r2.GetProperty("newPostings").GetInt32());
        Assert.Equal(r1.GetProperty("balances").ToString(), r2.GetProperty("balances").ToString());
        Assert.Equal(r1.GetProperty("tradeResults").ToString(), r2.GetProperty("tradeResults").ToString());
        Assert.Contains(r2.GetProperty("readingResults").EnumerateArray(), x => x.GetProperty("line").GetInt32() == 2 && x.GetProperty("status").GetString() == "conflict");
        AssertReportIsLedger(r2, ledger);
    }

    [Fact]
    public void Two_settle_runs_at_once_on_one_ledger_both_succeed()
    {
        var ledger = Path.Combine(_dir, "shared.db");
        var dirs = new[] { "a", "b" }.Select((n, i) =>
        {
            var d = Path.Combine(_dir, n);
            SampleData.Write(SampleData.Generate(3, 10, 30 + i, "m" + n), d);
            return d;
        }).ToArray();
        for (int trial = 0; trial < 5; trial++)
        {
            var reports = new SettleReport[2];
            Parallel.For(0, 2, k => reports[k] = SettlementRun.Run(Path.Combine(dirs[k], "trades.csv"), Path.Combine(dirs[k], "meter-readings.csv"),
                MarketFile.Read(Path.Combine(dirs[k], "market.json")), ledger, SettlementCsv.TryTime(Late, out var t) ? t : 0));
            Assert.All(reports, r => Assert.True(r.Trades == 10));
        }
        var v = OpenTE.Settlement.Ledger.SqliteLedger.Verify(ledger);
        Assert.True(v.Ok, v.Reason);
        // every posting of both markets is there once
        int expected = dirs.Sum(d => SettlementRun.Run(Path.Combine(d, "trades.csv"), Path.Combine(d, "meter-readings.csv"),
            MarketFile.Read(Path.Combine(d, "market.json")), null, SettlementCsv.TryTime(Late, out var t) ? t : 0).Postings);
        Assert.Equal(expected, v.Entries);
    }

    [Fact]
    public void The_operator_key_signs_the_ledger_and_verify_checks_it()
    {
        var (_, trades, readings) = Sample(13);
        var op = KeyPair.Generate();
        var ledger = Path.Combine(_dir, "signed.db");
        Settle(trades, readings, "--ledger", ledger, "--at", Late, "--operator-key", op.PrivateKeyHex);
        var (code, output, err) = CliRunner.Run("ledger", "verify", ledger, "--operator", op.Address, "--json");
        Assert.True(code == 0, err + output);
        var v = JsonDocument.Parse(output).RootElement;
        Assert.Equal(op.Address, v.GetProperty("signer").GetString());
        Assert.Equal(v.GetProperty("entries").GetInt64(), v.GetProperty("signedEntries").GetInt64());
        // another key cannot extend it; without --operator a stranger's signature is reported as the signer
        (code, _, err) = CliRunner.Run("settle", trades, readings, "--ledger", ledger, "--at", "2031-01-01T00:00:00Z", "--operator-key", KeyPair.Generate().PrivateKeyHex);
        Assert.True(code is 0 or 2, err);
        (code, output, _) = CliRunner.Run("ledger", "verify", ledger, "--operator", KeyPair.Generate().Address);
        Assert.Equal(1, code);
        Assert.Contains("not by the operator", output);
    }
}
