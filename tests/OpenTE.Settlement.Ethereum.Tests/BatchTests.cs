using System.Numerics;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>Batched settlement on the chain (the contract's multicall): the same refusals and balances as one call at a time.</summary>
public sealed class BatchTests(Anvil chain) : IClassFixture<Anvil>
{
    private static int _epoch;
    private static long NextT0() => 2_050_000_000L - 2_050_000_000L % 900 + 108_000L * Interlocked.Increment(ref _epoch);

    [ChainFact]
    public void Batched_opens_readings_and_settlements_match_the_embedded_engine_call_by_call()
    {
        var rules = new MarketRules("batch-test") { LossPpm = 20_000 };
        var p = Enumerable.Range(0, 3).Select(_ => KeyPair.Generate()).ToArray();
        var m = Enumerable.Range(0, 3).Select(_ => KeyPair.Generate()).ToArray();
        var stranger = KeyPair.Generate();
        long t0 = NextT0();
        SignedCommitment T(int b, int s, long iv, long q, long price, ulong nonce, string? market = null) =>
            new TradeCommitment(market ?? rules.Market, iv, p[b].Address, p[s].Address, q, price, nonce, iv).Sign(p[b], p[s]);
        var t1 = T(0, 1, t0, 2000, 50_000, 1);
        SignedCommitment[] opens =
        [
            t1, T(2, 1, t0, 1500, 40_000, 2), T(1, 0, t0 + 900, 3000, 30_000, 3),
            t1,                                                        // replay within the batch
            t1 with { Commitment = t1.Commitment with { QuantityWh = 2001 } }, // tampered
            T(0, 1, t0, 5, 5, 1),                                      // nonce reused
            T(0, 1, t0, 5, 5, 6, market: "elsewhere"),                 // cross-market
            T(0, 1, t0, long.MaxValue / 2, 4, 8),                      // price × quantity overflows
            T(0, 2, t0 + 900, 1000, 10_000, 9),                        // seller without collateral
        ];
        SignedReading[] readings =
        [
            new OracleReading(rules.Market, m[1].Address, t0, 3000).Sign(m[1]),
            new OracleReading(rules.Market, m[1].Address, t0, 3000).Sign(m[1]),        // duplicate within the batch
            new OracleReading(rules.Market, m[1].Address, t0, 3100).Sign(m[1]),        // conflicting within the batch
            new OracleReading(rules.Market, stranger.Address, t0, 1).Sign(stranger),    // not an oracle
            new OracleReading(rules.Market, m[0].Address, t0 + 900, 2500).Sign(m[0]),
        ];

        using var emb = new EmbeddedBackend(rules);
        using var eth = new EthereumBackend(chain.Url, Anvil.OperatorKey, rules, Anvil.Artifact("EnergyEscrow")) { BatchSize = 4 }; // several batches
        foreach (var b in new ISettlementBackend[] { emb, eth })
        {
            for (int i = 0; i < 3; i++) b.RegisterMeter(m[i].Address, p[i].Address);
            Assert.Equal(Refusal.None, b.Deposit(p[0].Address, 1_000_000, t0 - 3000));
            Assert.Equal(Refusal.None, b.Deposit(p[1].Address, 300_000, t0 - 2999));
            Assert.Equal(Refusal.None, b.Deposit(p[2].Address, 100, t0 - 2998));
        }
        var one = opens.Select(c => emb.Open(c, t0 - 100)).ToList();
        var batched = eth.OpenBatch(opens, t0 - 100);
        Assert.Equal(one, batched);
        Assert.Equal([Refusal.None, Refusal.None, Refusal.None, Refusal.Replay], batched.Take(4));

        var oneR = readings.Select(r => emb.PostReading(r, t0 + 1800)).ToList();
        var batchedR = eth.PostReadingBatch(readings, t0 + 1800);
        Assert.Equal(oneR, batchedR);
        Assert.Equal([Refusal.None, Refusal.DuplicateReading, Refusal.ConflictingReading], batchedR.Take(3));

        Assert.Equal(emb.Advance(rules.Deadline(t0 + 900)), eth.Advance(rules.Deadline(t0 + 900))); // settleGroup calls in multicalls
        for (int i = 0; i < 3; i++) Assert.Equal(emb.Balance(p[i].Address), eth.Balance(p[i].Address));
        Assert.Equal(emb.SystemBalances(), eth.SystemBalances());
        Assert.All(emb.Engine.Trades.Values, t => Assert.Equal(t.State, eth.Trade(t.Id)!.State));
    }

    [ChainFact]
    public void A_multicall_carries_no_value_so_a_deposit_cannot_be_counted_twice()
    {
        var rules = new MarketRules("batch-value");
        using var eth = new EthereumBackend(chain.Url, Anvil.OperatorKey, rules, Anvil.Artifact("EnergyEscrow"));
        var who = KeyPair.Generate().Address;
        var deposit = Convert.FromHexString(eth.Contract.GetFunction("depositFor").GetData(who)[2..]);
        long now = NextT0();
        // sent with value: refused (not payable), nothing credited
        Assert.ThrowsAny<Exception>(() => eth.Transact(now, "multicall", new BigInteger(1000), new List<byte[]> { deposit, deposit }));
        Assert.Equal(0, eth.Balance(who).Available);
        // without value, the inner depositFor sees no value and is refused on its own
        var errors = eth.SendBatch(now + 1, [("depositFor", [who])]);
        Assert.Equal("InvalidFields", errors[0]);
        Assert.Equal(0, eth.Balance(who).Available);
        Assert.Equal(BigInteger.Zero, eth.Web3.Eth.GetBalance.SendRequestAsync(eth.Address).GetAwaiter().GetResult().Value);
    }

    [ChainFact]
    public void A_batch_larger_than_a_block_is_split_and_every_call_still_runs()
    {
        var rules = new MarketRules("batch-split");
        var (b, sl, m) = (KeyPair.Generate(), KeyPair.Generate(), KeyPair.Generate());
        using var eth = new EthereumBackend(chain.Url, Anvil.OperatorKey, rules, Anvil.Artifact("EnergyEscrow")) { BatchSize = 1000 };
        long t0 = NextT0();
        eth.RegisterMeter(m.Address, sl.Address);
        Assert.Equal(Refusal.None, eth.Deposit(b.Address, 1_000_000_000, t0 - 3000));
        Assert.Equal(Refusal.None, eth.Deposit(sl.Address, 1_000_000_000, t0 - 2999));
        // 220 opens (~0.15 M gas each) do not fit one 30 M gas block: the batch is halved until they do
        var opens = Enumerable.Range(0, 220).Select(i => new TradeCommitment(rules.Market, t0, b.Address, sl.Address, 100, 50_000, (ulong)i + 1, t0).Sign(b, sl)).ToList();
        var r = eth.OpenBatch(opens, t0 - 100);
        Assert.All(r, x => Assert.Equal(Refusal.None, x));
        Assert.All(opens, c => Assert.Equal(TradeState.Open, eth.Trade(c.Commitment.Id)!.State));
    }
}
