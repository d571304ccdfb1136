using System.Text.Json;
using OpenTE.Cli;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>The opente command against a test anvil: settle --backend ethereum, ledger import-chain, ledger compare.</summary>
public sealed class CliChainTests(Anvil chain) : IClassFixture<Anvil>, IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "opente-clichain-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string Example(string file) => Path.Combine(Anvil.Root, "examples", "settle", file);

    private string F(string name) => Path.Combine(_dir, name);

    /// <summary>
    /// Issue #17: the key file `keys new --out` writes is what `settle --operator-key-file` reads, and an account without
    /// ether is a usage error with the fix (exit 2), not "unexpected failure: RpcResponseException … Insufficient funds" (exit 3).
    /// </summary>
    [ChainFact]
    public void A_new_key_file_is_read_and_an_unfunded_account_is_told_how_to_fund_it()
    {
        var (code, _, err) = Run("keys", "new", "--out", F("new.key"));
        Assert.True(code == 0, err);
        (code, _, err) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--at", "2030-01-01T00:00:00Z",
            "--backend", "ethereum", "--rpc", chain.Url, "--operator-key-file", F("new.key"));
        Assert.Equal(2, code);
        Assert.Contains("has no ether on this chain", err);
        Assert.Contains("development keys", err);
        Assert.DoesNotContain("unexpected failure", err);

        // a funded key in the same "keys new" text format settles
        File.WriteAllText(F("dev.key"), $"address     0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\nprivate key {Anvil.OperatorKey}\n");
        (code, _, err) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--at", "2030-01-01T00:00:00Z",
            "--backend", "ethereum", "--rpc", chain.Url, "--operator-key-file", F("dev.key"));
        Assert.True(code == 0, err);
    }

    [ChainFact]
    public void Settle_on_the_chain_imports_back_to_the_embedded_ledger()
    {
        // examples/settle trades in June 2026: the backend moves the dev chain's clock back to the replay's start
        string[] files = ["settle", Example("trades.csv"), Example("meter-readings.csv"), "--at", "2030-01-01T00:00:00Z", "--json"];
        var (code, output, err) = Run([.. files, "--ledger", F("emb.db")]);
        Assert.True(code == 0, err);
        var emb = JsonDocument.Parse(output).RootElement;
        Assert.Equal("embedded", emb.GetProperty("backend").GetString());
        File.WriteAllText(F("operator.key"), Anvil.OperatorKey + "\n");
        (code, output, err) = Run([.. files, "--ledger", F("eth.db"), "--backend", "ethereum", "--rpc", chain.Url, "--operator-key-file", F("operator.key")]);
        Assert.True(code == 0, err);
        var eth = JsonDocument.Parse(output).RootElement;
        Assert.Equal("ethereum", eth.GetProperty("backend").GetString());
        var contract = eth.GetProperty("contract").GetString()!;
        Assert.True(Addr.IsAddress(contract));
        foreach (var p in new[] { "opened", "refused", "settled", "refunded", "postings", "moneyTotal", "energyTotalWh" })
            Assert.Equal(emb.GetProperty(p).GetInt64(), eth.GetProperty(p).GetInt64());
        Assert.Equal(emb.GetProperty("balances").GetRawText(), eth.GetProperty("balances").GetRawText());
        Assert.Equal(emb.GetProperty("tradeResults").GetRawText(), eth.GetProperty("tradeResults").GetRawText());
        Assert.Equal(36, eth.GetProperty("settled").GetInt32());

        // human output names the contract
        (code, output, err) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--at", "2030-01-01T00:00:00Z", "--backend", "ethereum", "--rpc", chain.Url, "--operator-key", Anvil.OperatorKey);
        Assert.True(code == 0, err);
        Assert.Contains("backend ethereum, contract 0x", output);
        Assert.Contains("participant", output);

        (code, output, err) = Run("ledger", "import-chain", "--rpc", chain.Url, "--contract", contract, "--ledger", F("imp.db"), "--json");
        Assert.True(code == 0, err);
        var imp = JsonDocument.Parse(output).RootElement;
        Assert.Equal(emb.GetProperty("postings").GetInt32(), imp.GetProperty("newPostings").GetInt32());
        Assert.Equal(36, imp.GetProperty("settled").GetInt32());
        // importing again posts nothing twice
        (code, output, _) = Run("ledger", "import-chain", "--rpc", chain.Url, "--contract", contract, "--ledger", F("imp.db"), "--json");
        Assert.Equal(0, code);
        Assert.Equal(0, JsonDocument.Parse(output).RootElement.GetProperty("newPostings").GetInt32());

        (code, output, err) = Run("ledger", "compare", F("emb.db"), F("imp.db"));
        Assert.True(code == 0, err + output);
        Assert.StartsWith("equal:", output);
        (code, output, _) = Run("ledger", "verify", F("imp.db"), "--against", F("eth.db"), "--json");
        Assert.Equal(0, code);
        Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("equal").GetBoolean());

        // attach to the deployed contract: the same commitments again are replays, nothing new is settled
        (code, output, err) = Run([.. files, "--backend", "ethereum", "--rpc", chain.Url, "--operator-key", Anvil.OperatorKey, "--contract", contract, "--open-at", "2026-06-01T00:00:00Z"]);
        Assert.True(code == 0, err);
        var again = JsonDocument.Parse(output).RootElement;
        Assert.Equal(contract, again.GetProperty("contract").GetString());
        Assert.Equal(40, again.GetProperty("refused").GetInt32());
        Assert.All(again.GetProperty("tradeResults").EnumerateArray(), t => Assert.StartsWith("Replay", t.GetProperty("reason").GetString()));
        // and the market file's deposits are already on the chain: not paid twice, every balance as after the first run
        Assert.Equal(eth.GetProperty("balances").GetRawText(), again.GetProperty("balances").GetRawText());
        // a market file whose deposit differs from the one on the chain is refused, naming the deposit
        var market = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Example("market.json")))!;
        market["deposits"]![0]!["amount"] = market["deposits"]![0]!["amount"]!.GetValue<long>() + 1;
        File.WriteAllText(F("market2.json"), market.ToJsonString());
        (code, _, err) = Run([.. files, "--market", F("market2.json"), "--backend", "ethereum", "--rpc", chain.Url, "--operator-key", Anvil.OperatorKey, "--contract", contract]);
        Assert.Equal(2, code);
        Assert.StartsWith("error: --contract: deposit deposit:1:", err);
    }

    [ChainFact]
    public void A_ledger_of_other_trades_differs_and_bad_chain_input_is_one_clean_error()
    {
        var set = SampleData.Generate(3, 8, 21, "other", 1_790_000_100 - 1_790_000_100 % 900);
        SampleData.Write(set, _dir);
        var (code, _, err) = Run("settle", F("trades.csv"), F("meter-readings.csv"), "--at", "2030-01-01T00:00:00Z", "--ledger", F("other.db"),
            "--backend", "ethereum", "--rpc", chain.Url, "--operator-key", Anvil.OperatorKey);
        Assert.True(code == 0, err);
        (code, _, err) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--at", "2030-01-01T00:00:00Z", "--ledger", F("emb.db"));
        Assert.True(code == 0, err);
        (code, var output, _) = Run("ledger", "compare", F("emb.db"), F("other.db"), "--json");
        Assert.Equal(1, code);
        var d = JsonDocument.Parse(output).RootElement;
        Assert.False(d.GetProperty("equal").GetBoolean());
        var first = d.GetProperty("firstDifference");
        Assert.Equal("balance", first.GetProperty("kind").GetString());
        Assert.NotEqual(first.GetProperty("a").ToString(), first.GetProperty("b").ToString());
        Assert.Contains(":", first.GetProperty("account").GetString());
        (code, output, _) = Run("ledger", "verify", F("other.db"), "--against", F("emb.db"));
        Assert.Equal(1, code);
        Assert.StartsWith("DIFFERENT: ", output);

        // a contract with other rules, an address without a contract
        var contract = "0x" + new string('1', 40);
        (code, _, err) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--backend", "ethereum", "--rpc", chain.Url, "--operator-key", Anvil.OperatorKey, "--contract", contract);
        Assert.Equal(2, code);
        Assert.StartsWith("error: --contract: there is no contract at", err);
        Assert.DoesNotContain("   at ", err);
        // an artifact that is not one
        File.WriteAllText(F("bad.json"), "{ \"abi\": 1 }");
        (code, _, err) = Run("settle", Example("trades.csv"), Example("meter-readings.csv"), "--backend", "ethereum", "--rpc", chain.Url, "--operator-key", Anvil.OperatorKey, "--artifact", F("bad.json"));
        Assert.Equal(2, code);
        Assert.StartsWith("error: --artifact:", err);
        Assert.Contains("node build.js", err);
    }
}
