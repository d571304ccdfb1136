using System.Text.Json;
using Microsoft.Data.Sqlite;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Settlement;

namespace OpenTE.Cli.Tests;

/// <summary>Issue #23, items 3–7 and 9: each reproduced problem, refused at the input with the field and the limit, or reported truthfully.</summary>
public class InputContractTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-contract-" + Guid.NewGuid().ToString("N")[..8]);

    public InputContractTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Cases => Path.GetFullPath(Path.Combine(FuzzTests.Repo, "..", "shared", "cases"));

    private string Write(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    /// <summary>Exit 2, one line on stderr naming the file (or option) and each of <paramref name="parts"/>, no stack trace.</summary>
    private static void Refused(string[] args, params string[] parts)
    {
        var (code, output, err) = CliRunner.Run(args);
        Assert.True(code == 2, $"{string.Join(' ', args)} → exit {code}\n{err}{output}");
        var last = err.TrimEnd().Split('\n')[^1];
        Assert.StartsWith("error: ", last);
        foreach (var p in parts) Assert.Contains(p, last);
        Assert.DoesNotContain("   at ", err);
    }

    // ---- item 4: silent zeros and wrong fills

    [Fact]
    public void Null_in_case_json_is_refused_not_read_as_zero()
    {
        var j = Path.Combine(_dir, "c.json");
        Assert.Equal(0, CliRunner.Run("case", "convert", Path.Combine(Cases, "case9.m"), "--to", "json", "--out", j).Code);
        var text = File.ReadAllText(j);
        int at = text.IndexOf("\"pd\":90", StringComparison.Ordinal);
        Assert.True(at > 0, text[..400]);
        var bad = Write("null.json", text[..at] + "\"pd\":null" + text[(at + 7)..]);
        Refused(["pf", bad], "null.json", ".pd", "null");
    }

    private const string P2pPeers = """
        "peers": [
          { "id": "s1", "a": 0.1, "b": 20, "pmin": 0, "pmax": 30, "bus": BUS },
          { "id": "h1", "a": 0.2, "b": 60, "pmin": -25, "pmax": 0, "bus": 4 }
        ]
        """;

    [Fact]
    public void P2p_fractional_bus_duplicate_trade_wrong_root_and_huge_markets_are_refused()
    {
        var trade = """{ "seller": "s1", "buyer": "h1", "sellerCharge": 1 }""";
        Refused(["p2p", Write("b.json", "{" + P2pPeers.Replace("BUS", "2.5") + $", \"trades\": [{trade}] }}")], "b.json", "$.peers[0].bus", "2.5");
        Refused(["p2p", Write("d.json", "{" + P2pPeers.Replace("BUS", "2") + $", \"trades\": [{trade}, {trade.Replace("1 }", "5 }")}] }}")], "d.json", "$.trades[1]", "twice");
        Refused(["p2p", Write("a.json", "[1,2,3]")], "a.json", "$", "array");
        // item 9: refused with the estimate before anything is allocated
        long before = GC.GetTotalMemory(false);
        Refused(["p2p", Write("g.json", """{ "generate": { "peers": 10000000, "partners": 5 } }""")], "g.json", "$.generate.peers", "GB");
        Assert.True(GC.GetTotalMemory(false) - before < 200_000_000);
    }

    [Fact]
    public void Negative_value_of_lost_load_and_absurd_scenario_numbers_are_refused()
    {
        var s = File.ReadAllText(Path.Combine(FuzzTests.Repo, "examples", "microgrid-day.json"));
        Refused(["simulate", Write("v.json", s.Replace("\"valueOfLostLoad\": 10000", "\"valueOfLostLoad\": -5"))], "v.json", "$.valueOfLostLoad");
        int pv = s.IndexOf("\"peakMw\": ", StringComparison.Ordinal);
        Assert.True(pv > 0);
        int end = s.IndexOfAny([',', '\n', '}'], pv + 10);
        Refused(["simulate", Write("p.json", s[..pv] + "\"peakMw\": 1e308" + s[end..])], "p.json", "peakMw", "outside");
        Refused(["clear", "case5", "--bids", Path.Combine(FuzzTests.Repo, "examples", "case5-bids.csv"), "--voll", "-1"], "--voll");
    }

    [Fact]
    public void Meter_time_without_offset_is_rejected_and_steps_other_than_15_or_60_minutes_are_refused()
    {
        var csv = Write("m.csv", "meter,kind,feeder,bus,start,import_kwh,export_kwh\n" +
            "H1,household,F1,10,2026-06-01T00:00:00+02:00,0.1,0\nH1,household,F1,10,2026-06-01T00:15:00,0.1,0\nH1,household,F1,10,2026-06-01T00:30:00+02:00,0.1,0\n");
        var data = OpenTE.Privacy.Metering.MeterData.Read(csv);
        var r = Assert.Single(data.Rejected);
        Assert.Equal(3, r.Line);
        Assert.Contains("offset", r.Reason);
        Assert.Equal(2, data.Readings.Count);

        var series = Write("s.csv", "timestamp,bus,load_mw,pv_mw\n2026-06-01T00:00:00+02:00,2,10,0\n2026-06-01T00:07:00+02:00,2,10,0\n");
        Refused(["multiperiod", "case5", "--series", series], "s.csv:3", "15 or 60");
        Assert.Equal(2, CliRunner.Run("meter", "reconcile", csv, "--interval", "7").Code);
    }

    // ---- item 5: non-finite and absurd numbers

    [Theory]
    [InlineData(0, 5, "Inf", "Vg")]            // gen row 1: Vg
    [InlineData(-1, 2, "1e308", "Pd")]         // bus row 5: Pd
    [InlineData(-1, 2, "-1e308", "Pd")]
    [InlineData(1, 8, "1e308", "tap ratio")]   // branch row 1: ratio
    [InlineData(1, 9, "1e308", "shift angle")]
    [InlineData(1, 11, "Inf", "angmin")]
    [InlineData(1, 3, "1e-308", "reactance")]
    public void Absurd_case_numbers_are_refused_with_the_field_and_the_range(int table, int column, string value, string field)
    {
        var lines = File.ReadAllLines(Path.Combine(Cases, "case9.m"));
        string start = table switch { 0 => "mpc.gen = [", 1 => "mpc.branch = [", _ => "mpc.bus = [" };
        int row = Array.FindIndex(lines, l => l.StartsWith(start, StringComparison.Ordinal)) + (table == -1 ? 5 : 1);
        var cells = lines[row].Trim().TrimEnd(';').Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
        cells[column] = value;
        lines[row] = "\t" + string.Join('\t', cells) + ";";
        var f = Write("bad.m", string.Join('\n', lines));
        Refused(["opf", f, "--model", "dc"], $"bad.m:{row + 1}", field);
    }

    [Fact]
    public void Auction_and_bid_bounds_are_refused_with_the_field_and_the_limit()
    {
        var head = "participant,bus,side,price,quantity,block\n";
        Refused(["clear", "case5", "--bids", Write("q.csv", head + "a,2,buy,50,1e16,1\nb,3,sell,40,75,1\n"), "--mechanism", "uniform"], "q.csv:2", "quantity", "1000000");
        Refused(["clear", "case5", "--bids", Write("p.csv", head + "a,2,buy,1e308,10,1\nb,3,sell,40,75,1\n"), "--mechanism", "pay-as-bid"], "p.csv:2", "price", "1000000");
        Refused(["clear", "case5", "--bids", Write("p2.csv", head + "a,2,buy,1e308,10,1\nb,3,sell,40,75,1\n")], "p2.csv:2", "price");
        // the library refuses them too, and within the limits buyers pay what sellers get
        Assert.Throws<ArgumentException>(() => DoubleAuction.Clear([new Bid("a", 1, Side.Buy, 50, 1e16, 1, 0), new Bid("b", 1, Side.Sell, 40, 75, 1, 0)], PricingRule.UniformMidpoint));
        var r = DoubleAuction.Clear([new Bid("a", 1, Side.Buy, 60, Bid.MaxQuantity, 1, 0), new Bid("c", 1, Side.Buy, 55, 7, 1, 0),
            new Bid("b", 1, Side.Sell, 40, 75, 1, 0), new Bid("d", 1, Side.Sell, Bid.MaxPrice - 1, 3, 1, 0)], PricingRule.UniformMidpoint);
        Assert.Equal(r.Accepted.Where(a => a.Bid.Side == Side.Buy).Sum(a => a.AcceptedMw), r.Accepted.Where(a => a.Bid.Side == Side.Sell).Sum(a => a.AcceptedMw), 9);
        Assert.Equal(r.BuyerPayments, r.SellerRevenues, 6);
    }

    [Fact]
    public void Settlement_numbers_beyond_64_bit_amounts_are_refused_with_the_field_and_the_range()
    {
        var set = SampleData.Generate(3, 4, 3, "b23");
        SampleData.Write(set, _dir);
        string trades = Path.Combine(_dir, "trades.csv"), readings = Path.Combine(_dir, "meter-readings.csv"), market = Path.Combine(_dir, "market.json");
        var meterKey = set.Meters[0];
        var big = new OracleReading("b23", meterKey.Address, set.Trades[0].Commitment.IntervalStart, long.MaxValue).Sign(meterKey);
        var rl = Write("big.csv", SettlementCsv.ReadingsHeader + "\n" + SettlementCsv.Format(big) + "\n");
        Refused(["settle", trades, rl, "--market", market, "--ledger", Path.Combine(_dir, "l.db")], "big.csv:2", "energy_wh", "1000000000");
        var m = File.ReadAllText(market);
        Refused(["settle", trades, readings, "--market", Write("m1.json", m.Replace("\"amount\": 100000000", "\"amount\": 9223372036854775807"))], "m1.json", "deposit", "1000000000000000");
        Refused(["settle", trades, readings, "--market", Write("m2.json", m.Replace("\"graceSeconds\": 3600", "\"graceSeconds\": 9223372036854775807"))], "m2.json", "graceSeconds");
        Refused(["settle", trades, readings, "--market", Write("m3.json", m.Replace("\"intervalSeconds\": 900", "\"intervalSeconds\": 9223372036854775807"))], "m3.json", "intervalSeconds");
    }

    // ---- item 6: exit 3 → exit 2 with the location; binary not echoed

    [Fact]
    public void A_ledger_with_a_text_entry_and_binary_input_give_exit_2_with_the_location()
    {
        var set = SampleData.Generate(3, 4, 4, "x23");
        SampleData.Write(set, _dir);
        var ledger = Path.Combine(_dir, "l.db");
        Assert.Equal(0, CliRunner.Run("settle", Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"), "--ledger", ledger, "--at", "2030-01-01T00:00:00Z").Code);
        using (var db = new SqliteConnection($"Data Source={ledger};Pooling=False"))
        {
            db.Open();
            using var c = db.CreateCommand();
            c.CommandText = "UPDATE journal SET entry = 'text' WHERE seq = 2";
            c.ExecuteNonQuery();
        }
        Refused(["ledger", "balance", ledger], "l.db");
        Assert.Equal(1, CliRunner.Run("ledger", "verify", ledger).Code);

        var bin = Path.Combine(_dir, "bin.csv");
        File.WriteAllBytes(bin, [.. "participant,bus,side,price,quantity,block\na,"u8.ToArray(), 0x00, 0x1b, 0xff, 0xfe, .. ",buy,1,1,1\n"u8.ToArray()]);
        var (code, _, err) = CliRunner.Run("clear", "case5", "--bids", bin);
        Assert.Equal(2, code);
        Assert.DoesNotContain(err, ch => ch == '\uFFFD' || ch == '\u001b' || ch == '\0');
        Assert.Contains("\\x1b", err);
    }

    // ---- item 7: wrong status

    [Fact]
    public void Dc_opf_with_every_generator_out_is_infeasible_or_sheds_at_voll()
    {
        var lines = File.ReadAllLines(Path.Combine(Cases, "case9.m")).ToList();
        int g = lines.FindIndex(l => l.StartsWith("mpc.gen = [", StringComparison.Ordinal));
        for (int i = g + 1; i <= g + 3; i++)
        {
            var c = lines[i].Trim().TrimEnd(';').Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            c[7] = "0";
            lines[i] = "\t" + string.Join('\t', c) + ";";
        }
        var f = Write("out.m", string.Join('\n', lines));
        var (code, output, err) = CliRunner.Run("opf", f, "--model", "dc", "--json");
        Assert.Equal(1, code);
        var r = JsonDocument.Parse(output).RootElement;
        Assert.Equal("infeasible", r.GetProperty("status").GetString());
        Assert.Contains("315 MW of load", err);
        (code, output, err) = CliRunner.Run("opf", f, "--model", "dc", "--voll", "10000", "--json");
        Assert.True(code == 0, err);
        r = JsonDocument.Parse(output).RootElement;
        Assert.Equal(3_150_000, r.GetProperty("objective").GetDouble(), 3);
    }

    [Fact]
    public void Ac_opf_on_an_overloaded_case_diagnoses_and_prints_no_dispatch()
    {
        var lines = File.ReadAllLines(Path.Combine(Cases, "case9.m")).ToList();
        int b = lines.FindIndex(l => l.StartsWith("mpc.bus = [", StringComparison.Ordinal));
        for (int i = b + 1; i <= b + 9; i++)
        {
            var c = lines[i].Trim().TrimEnd(';').Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            c[2] = (double.Parse(c[2], System.Globalization.CultureInfo.InvariantCulture) * 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
            lines[i] = "\t" + string.Join('\t', c) + ";";
        }
        var f = Write("over.m", string.Join('\n', lines));
        var (code, output, err) = CliRunner.Run("opf", f, "--model", "ac", "--json");
        Assert.Equal(1, code);
        var r = JsonDocument.Parse(output).RootElement;
        Assert.NotEqual("optimal", r.GetProperty("status").GetString());
        Assert.Equal(0, r.GetProperty("generators").GetArrayLength());
        Assert.Contains("exceeds generation capacity", err);
        (code, _, err) = CliRunner.Run("scopf", f);
        Assert.Equal(1, code);
        Assert.Contains("exceeds generation capacity", err);
    }
}
