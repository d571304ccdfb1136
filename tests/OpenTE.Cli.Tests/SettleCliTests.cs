using System.Text.Json;
using Microsoft.Data.Sqlite;
using OpenTE.Settlement;

namespace OpenTE.Cli.Tests;

public class SettleCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-settle-" + Guid.NewGuid().ToString("N")[..8]);

    public SettleCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string Example(string file) => CliRunner.Repo(Path.Combine("examples", "settle", file));

    [Fact]
    public void Settle_posts_once_verifies_and_reports_balances()
    {
        var ledger = Path.Combine(_dir, "l.db");
        var (code, output, err) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--ledger", ledger, "--json");
        Assert.True(code == 0, err + output);
        var r = JsonDocument.Parse(output).RootElement;
        int trades = r.GetProperty("trades").GetInt32();
        Assert.Equal(40, trades);
        Assert.Equal(trades, r.GetProperty("settled").GetInt32() + r.GetProperty("refunded").GetInt32());
        Assert.Equal(0, r.GetProperty("moneyTotal").GetInt64());
        Assert.Equal(0, r.GetProperty("energyTotalWh").GetInt64());
        int postings = r.GetProperty("postings").GetInt32();
        Assert.Equal(postings, r.GetProperty("newPostings").GetInt32());
        foreach (var b in r.GetProperty("balances").EnumerateArray())
            Assert.Equal((0, 0), (b.GetProperty("escrow").GetInt64(), b.GetProperty("collateral").GetInt64()));

        // the same files again: nothing is posted twice
        (code, output, _) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--ledger", ledger, "--json");
        Assert.Equal(0, code);
        Assert.Equal(0, JsonDocument.Parse(output).RootElement.GetProperty("newPostings").GetInt32());
        Assert.Equal(postings, JsonDocument.Parse(output).RootElement.GetProperty("ledgerEntries").GetInt32());

        (code, output, _) = Run("ledger", "verify", ledger, "--json");
        Assert.Equal(0, code);
        Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("ok").GetBoolean());

        // the ledger's balances are the engine's
        var p = r.GetProperty("balances")[0];
        (code, output, _) = Run("ledger", "balance", ledger, "--participant", p.GetProperty("participant").GetString()!, "--json");
        Assert.Equal(0, code);
        var lb = JsonDocument.Parse(output).RootElement.GetProperty("balances").EnumerateArray().Single();
        Assert.Equal(p.GetProperty("available").GetInt64(), lb.GetProperty("available").GetInt64());
        Assert.Equal(p.GetProperty("energyWh").GetInt64(), lb.GetProperty("energyWh").GetInt64());

        // remove an entry: verify fails there with exit 1
        using (var db = new SqliteConnection($"Data Source={ledger};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM journal WHERE seq = 7";
            cmd.ExecuteNonQuery();
        }
        (code, output, _) = Run("ledger", "verify", ledger);
        Assert.Equal(1, code);
        Assert.Contains("FAILED at entry 7", output);
    }

    [Fact]
    public void Tampered_and_conflicting_inputs_are_reported()
    {
        var set = SampleData.Generate(3, 6, 5, "t");
        SampleData.Write(set, _dir);
        var trades = Path.Combine(_dir, "trades.csv");
        var lines = File.ReadAllLines(trades);
        var f = lines[1].Split(',');
        f[4] = (long.Parse(f[4]) + 1).ToString();             // quantity changed after signing
        lines[1] = string.Join(',', f);
        File.WriteAllLines(trades, lines);
        var readings = Path.Combine(_dir, "meter-readings.csv");
        var rl = File.ReadAllLines(readings).ToList();
        rl.Add(rl[1]);                                          // identical duplicate
        File.WriteAllLines(readings, rl);
        var (code, output, err) = Run("settle", trades, readings, "--json", "--at", "2030-01-01T00:00:00Z");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(output).RootElement;
        Assert.Equal(1, r.GetProperty("refused").GetInt32());
        var refused = r.GetProperty("tradeResults").EnumerateArray().Single(t => t.GetProperty("status").GetString() == "refused");
        Assert.StartsWith("BadBuyerSignature", refused.GetProperty("reason").GetString());
        Assert.Equal(1, r.GetProperty("readingsDuplicate").GetInt32());
    }

    [Fact]
    public void Bad_input_exits_2_with_file_and_line()
    {
        var trades = Path.Combine(_dir, "trades.csv");
        File.WriteAllText(trades, SettlementCsv.TradesHeader + "\nm,2026-06-01T00:00:00+00:00,0x12,0x34,1,1,1,2026-06-01T00:00:00+00:00,0x,0x\n");
        File.WriteAllText(Path.Combine(_dir, "market.json"), "{ \"market\": \"m\" }");
        var readings = Path.Combine(_dir, "r.csv");
        File.WriteAllText(readings, SettlementCsv.ReadingsHeader + "\n");
        var (code, _, err) = Run("settle", trades, readings);
        Assert.Equal(2, code);
        Assert.Contains("trades.csv:2: buyer '0x12'", err);
        Assert.DoesNotContain("   at ", err);

        File.WriteAllText(Path.Combine(_dir, "market.json"), "{ \"market\": \"m\", \"unknown\": 1 }");
        (code, _, err) = Run("settle", trades, readings);
        Assert.Equal(2, code);
        Assert.Contains("market.json", err);

        File.WriteAllText(Path.Combine(_dir, "junk.db"), "not a database at all, just text that is long enough to be read");
        (code, _, err) = Run("ledger", "verify", Path.Combine(_dir, "junk.db"));
        Assert.True(code is 1 or 2, err);
        (code, _, err) = Run("ledger", "balance", Path.Combine(_dir, "missing.db"));
        Assert.Equal(2, code);
        Assert.Contains("no such ledger file", err);
        (code, _, _) = Run("ledger", "balance", Path.Combine(_dir, "missing.db"), "--participant", "bob");
        Assert.Equal(2, code);
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public void Backend_options_are_checked_with_one_clean_error_naming_the_option()
    {
        string[] files = ["settle", Example("trades.csv"), Example("meter-readings.csv")];
        const string key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        var artifact = Path.Combine(_dir, "EnergyEscrow.json");
        File.WriteAllText(artifact, "{ \"abi\": [], \"bytecode\": \"0x6000\" }");
        var dead = $"http://127.0.0.1:{FreePort()}";
        var cases = new (string[] Args, string Expected)[]
        {
            ([.. files, "--backend", "hyperledger"], "error: --backend: unknown backend 'hyperledger' — use one of: embedded, ethereum"),
            ([.. files, "--backend", "ethereum", "--rpc", dead, "--operator-key", key, "--artifact", artifact], $"error: --rpc: no Ethereum node answers at {dead}"),
            ([.. files, "--backend", "ethereum", "--rpc", "ftp://x", "--operator-key", key, "--artifact", artifact], "error: --rpc: 'ftp://x' is not an http(s) URL"),
            ([.. files, "--backend", "ethereum", "--operator-key", "0x1234"], "error: --operator-key: the operator key is not 32 bytes of hex"),
            ([.. files, "--backend", "ethereum", "--operator-key", "0x" + new string('0', 64)], "error: --operator-key: the operator key is not a valid secp256k1 private key"),
            ([.. files, "--backend", "ethereum"], "error: --operator-key: the ethereum backend needs the operator's private key"),
            ([.. files, "--backend", "ethereum", "--operator-key-file", Path.Combine(_dir, "missing.key")], "error: --operator-key-file: cannot read"),
            ([.. files, "--backend", "ethereum", "--operator-key", key, "--artifact", Path.Combine(_dir, "none.json")], "error: --artifact: no contract artifact at"),
            ([.. files, "--backend", "ethereum", "--operator-key", key, "--contract", "0x12"], "error: --contract: '0x12' is not an address"),
            ([.. files, "--rpc", dead], "error: --rpc, --operator-key, --operator-key-file, --artifact and --contract need --backend ethereum"),
            (["ledger", "import-chain", "--rpc", dead, "--contract", "0x" + new string('a', 40), "--ledger", Path.Combine(_dir, "x.db")], $"error: --rpc: no Ethereum node answers at {dead}"),
            (["ledger", "import-chain", "--ledger", Path.Combine(_dir, "x.db")], "error: --contract ADDRESS is required"),
            (["ledger", "compare", Path.Combine(_dir, "a.db"), Path.Combine(_dir, "b.db")], "error: " + Path.Combine(_dir, "a.db") + ": no such ledger file"),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, output, err) = Run(args);
            Assert.True(code == 2, $"{string.Join(' ', args)} → exit {code}: {err}{output}");
            Assert.StartsWith(expected, err);
            Assert.Single(err.TrimEnd().Split('\n'));
            Assert.DoesNotContain("   at ", err);
        }
        Assert.False(File.Exists(Path.Combine(_dir, "x.db")));
    }

    [Fact]
    public void Keys_new_gives_a_usable_key_pair()
    {
        var (code, output, _) = Run("keys", "new", "--json");
        Assert.Equal(0, code);
        var r = JsonDocument.Parse(output).RootElement;
        var k = KeyPair.FromPrivateKey(r.GetProperty("privateKey").GetString()!);
        Assert.Equal(r.GetProperty("address").GetString(), k.Address);
        Assert.Equal(0, Run("keys", "new").Code);
        Assert.Equal(0, Run("settle", "--help").Code);
        Assert.Equal(0, Run("ledger", "balance", "--help").Code);
    }
}
