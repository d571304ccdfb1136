using OpenTE.Grid.PowerFlow;
using OpenTE.Grid.Tests;
using OpenTE.Market.Carbon;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>
/// Carbon parity (docs/carbon.md): the same settlement with carbon on the embedded engine and on the contract posts the
/// same carbon:ID adjustments (the contract's postCarbon, rebuilt from its CarbonPosted events) and the same balances.
/// </summary>
public sealed class CarbonChainTests(Anvil chain) : IClassFixture<Anvil>, IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "opente-carbon-chain-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [ChainFact]
    public void Embedded_engine_and_contract_post_the_same_carbon_adjustments()
    {
        long t0 = 2_600_000_000L - 2_600_000_000L % 900;
        var set = SampleData.Generate(5, 30, 9, "carbon", t0);
        SampleData.Write(set, _dir);
        var net = TestData.Load("case33bw");
        int[] buses = [18, 17, 2, 33, 25];
        var carbon = new CarbonData(net, LossFactors.Compute(net),
            set.Participants.Select((k, i) => new CarbonParticipant(Addr.Normalize(k.Address), buses[i], i == 3 ? 650 : 0)), UpstreamSeries.Constant(450))
        { PricePerTonne = 90_000, BuyerShare = 0.3 };
        long at = t0 + 86_400;
        var market = MarketFile.Read(Path.Combine(_dir, "market.json"));
        string embDb = Path.Combine(_dir, "emb.db"), ethDb = Path.Combine(_dir, "eth.db");
        EmbeddedBackend? emb = null;
        EthereumBackend? eth = null;
        var a = SettlementRun.Run(Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"), market, (r, _) => emb = new EmbeddedBackend(r), embDb, at, carbon: carbon);
        var b = SettlementRun.Run(Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"), market, (rules, start) =>
        {
            var be = SettlementBackends.Prepare(new BackendOptions { Backend = "ethereum", Rpc = chain.Url, OperatorKey = Anvil.OperatorKey, Artifact = Anvil.Artifact("EnergyEscrow") })(rules, start);
            eth = (EthereumBackend)be;
            return be;
        }, ethDb, at, carbon: carbon);

        Assert.Equal("ethereum", b.Backend);
        Assert.True(a.TradeOutcomes.Count(t => t.Co2Grams != 0) > 10);
        Assert.Contains(a.TradeOutcomes, t => t.CarbonMoney < 0);   // credits
        Assert.Contains(a.TradeOutcomes, t => t.CarbonMoney > 0);   // and charges
        Assert.Equal(a.TradeOutcomes, b.TradeOutcomes);
        Assert.Equal(a.Balances, b.Balances);
        Assert.Equal((a.CarbonAccountGrams, a.CarbonAccountMoney, 0L), (b.CarbonAccountGrams, b.CarbonAccountMoney, b.Co2Total));
        var cmp = LedgerComparison.Compare(embDb, ethDb);
        Assert.True(cmp.Equal, cmp.First?.Message);
        // both journals hold the carbon lines folded into the settle entries (docs/carbon.md), the same on both backends
        static int WithCarbon(string db) => SqliteLedger.Read(db).Count(p => p.Kind == "settle" && CarbonFold.CarbonStart(p) < p.Lines.Count);
        Assert.Equal(a.TradeOutcomes.Count(t => t.Co2Grams != 0), WithCarbon(embDb));
        Assert.Equal(WithCarbon(embDb), WithCarbon(ethDb));
        Assert.DoesNotContain(SqliteLedger.Read(ethDb), p => p.Kind == "carbon");

        // the contract's own accounts hold what the ledger says
        var web3 = new Nethereum.Web3.Web3(chain.Url);
        var c = web3.Eth.GetContract(System.Text.Json.JsonDocument.Parse(File.ReadAllText(Anvil.Artifact("EnergyEscrow"))).RootElement.GetProperty("abi").GetRawText(), eth!.Address);
        long View(string fn, params object[] args) => (long)c.GetFunction(fn).CallAsync<System.Numerics.BigInteger>(args).GetAwaiter().GetResult();
        Assert.Equal(a.CarbonAccountMoney, View("carbonMoney"));
        Assert.Equal(a.CarbonAccountGrams, View("carbonGrams"));
        foreach (var p in a.Balances)
        {
            Assert.Equal(p.Co2Grams, View("co2Of", p.Participant));
            Assert.Equal(p.Available, View("available", p.Participant));
        }

        // the same refusals: a second adjustment of a trade, and one of a trade that was never opened
        var settled = a.TradeOutcomes.First(t => t.Co2Grams != 0);
        var again = new CarbonAdjustment(settled.Id, 1, 1, 1, 1);
        Assert.Equal(Refusal.Replay, emb!.PostCarbon(again, at + 10));
        Assert.Equal(Refusal.Replay, eth.PostCarbon(again, at + 10));
        var unknown = again with { TradeId = "0x" + new string('1', 64) };
        Assert.Equal(Refusal.InvalidFields, emb.PostCarbon(unknown, at + 11));
        Assert.Equal(Refusal.InvalidFields, eth.PostCarbon(unknown, at + 11));
    }
}
