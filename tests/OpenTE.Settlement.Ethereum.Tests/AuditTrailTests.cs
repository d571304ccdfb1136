using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>
/// The audit trail: the same settlement run on the embedded engine (its ledger) and on the contract; the contract's
/// events, imported, give a ledger equal to the engine's (balances per account and commodity, postings).
/// </summary>
public sealed class AuditTrailTests(Anvil chain) : IClassFixture<Anvil>, IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "opente-audit-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int _epoch;
    private static long NextT0() => 2_300_000_000L - 2_300_000_000L % 900 + 900L * 400 * Interlocked.Increment(ref _epoch);

    /// <summary>A signed sample market (short, long, missing and conflicting readings, a tampered commitment, losses).</summary>
    private string Scenario(string name, int seed, long t0, long lossPpm = 25_000)
    {
        var set = SampleData.Generate(5, 40, seed, "audit", t0);
        set.Market.LossPpm = lossPpm;
        // a second, different reading for an interval that has one: flagged, the first value kept
        var r0 = set.Readings[0].Reading;
        int m = set.Meters.FindIndex(k => k.Address == r0.Meter);
        set.Readings.Add((r0 with { EnergyWh = r0.EnergyWh + 77 }).Sign(set.Meters[m]));
        set.Readings.Add(set.Readings[1]); // an identical duplicate
        // a commitment changed after signing: refused on both backends
        var t = set.Trades[0];
        set.Trades.Add(t with { Commitment = t.Commitment with { QuantityWh = t.Commitment.QuantityWh + 1, Nonce = 999 } });
        var dir = Path.Combine(_dir, name);
        SampleData.Write(set, dir);
        return dir;
    }

    private static SettleReport Settle(string dir, Func<MarketRules, long, ISettlementBackend> backend, string ledger, long at) =>
        SettlementRun.Run(Path.Combine(dir, "trades.csv"), Path.Combine(dir, "meter-readings.csv"), MarketFile.Read(Path.Combine(dir, "market.json")),
            backend, ledger, at);

    private Func<MarketRules, long, ISettlementBackend> Ethereum(Action<EthereumBackend> made) =>
        (rules, start) =>
        {
            var b = SettlementBackends.Prepare(new BackendOptions { Backend = "ethereum", Rpc = chain.Url, OperatorKey = Anvil.OperatorKey, Artifact = Anvil.Artifact("EnergyEscrow") })(rules, start);
            made((EthereumBackend)b);
            return b;
        };

    [ChainFact]
    public void Imported_events_rebuild_the_embedded_ledger()
    {
        long t0 = NextT0();
        var dir = Scenario("a", 7, t0);
        long at = t0 + 900L * 400;
        var embDb = Path.Combine(_dir, "emb.db");
        var ethDb = Path.Combine(_dir, "eth.db");
        var impDb = Path.Combine(_dir, "imp.db");
        var emb = Settle(dir, (r, _) => new EmbeddedBackend(r), embDb, at);
        EthereumBackend? eb = null;
        var eth = Settle(dir, Ethereum(b => eb = b), ethDb, at);

        // the scenario exercises every kind of posting, refusals and flagged readings
        Assert.Equal(1, emb.Refused);
        Assert.True(emb.Settled > 20 && emb.Refunded > 0, $"{emb.Settled} settled, {emb.Refunded} refunded");
        Assert.Equal(1, emb.ReadingsConflicting);
        Assert.Equal(1, emb.ReadingsDuplicate);
        var embPostings = SqliteLedger.Read(embDb).ToList();
        Assert.Contains(embPostings, p => p.Lines.Any(l => l.Account == EscrowEngine.Losses));
        Assert.Contains(embPostings, p => p.Lines.Any(l => l.Account == EscrowEngine.Imbalance && l.Commodity == Commodity.Money));
        foreach (var kind in new[] { "deposit", "open", "settle", "refund" }) Assert.Contains(embPostings, p => p.Kind == kind);

        // the same outcomes on the contract
        Assert.Equal("ethereum", eth.Backend);
        Assert.Equal(emb.TradeOutcomes, eth.TradeOutcomes);
        Assert.Equal(emb.Balances, eth.Balances);
        Assert.Equal(emb.ReadingOutcomes.Select(x => x.Status), eth.ReadingOutcomes.Select(x => x.Status));
        Assert.Equal((0L, 0L), (eth.MoneyTotal, eth.EnergyTotal));

        // import the events with a fresh reader (only the address and the RPC URL)
        var h = ChainAudit.Read(chain.Url, eb!.Address);
        Assert.Single(h.Conflicts);
        using (var l = SqliteLedger.Open(impDb)) Assert.Equal(h.Postings.Count, l.PostBatch(h.Postings));
        Assert.Equal(embPostings.Count, h.Postings.Count);
        foreach (var other in new[] { ethDb, impDb })
        {
            var c = LedgerComparison.Compare(embDb, other);
            Assert.True(c.Equal, c.First?.Message);
            Assert.True(c.A.Ok && c.B.Ok);
            Assert.Equal(SqliteLedger.Balances(embDb), SqliteLedger.Balances(other));
            Assert.Equal(embPostings.Select(LedgerComparison.Content).Order(), SqliteLedger.Read(other).Select(LedgerComparison.Content).Order());
        }
        // block times are the engine clock on anvil: even the hash chains agree
        Assert.Equal(SqliteLedger.Verify(embDb).HeadHash, SqliteLedger.Verify(impDb).HeadHash);
    }

    [ChainFact]
    public void A_different_run_is_reported_with_the_first_difference()
    {
        long t0 = NextT0();
        var dir = Scenario("b", 8, t0, lossPpm: 0);
        long at = t0 + 900L * 400;
        var embDb = Path.Combine(_dir, "emb-b.db");
        var ethDb = Path.Combine(_dir, "eth-b.db");
        Settle(dir, (r, _) => new EmbeddedBackend(r), embDb, at);
        // the same files with another loss factor on the chain: energy moves to system:losses instead of the buyers
        var market = MarketFile.Read(Path.Combine(dir, "market.json"));
        market.LossPpm = 40_000;
        market.Write(Path.Combine(dir, "market.json"));
        Settle(dir, Ethereum(_ => { }), ethDb, at);
        var c = LedgerComparison.Compare(embDb, ethDb);
        Assert.False(c.Equal);
        Assert.True(c.A.Ok && c.B.Ok);
        Assert.Equal("balance", c.First!.Kind);
        Assert.Equal(Commodity.EnergyWh, c.First.Commodity);
        var be = SqliteLedger.Balances(embDb);
        var bc = SqliteLedger.Balances(ethDb);
        Assert.Equal(be[(c.First.Account!, Commodity.EnergyWh)], c.First.A);
        Assert.Equal(bc[(c.First.Account!, Commodity.EnergyWh)], c.First.B);
        Assert.NotEqual(c.First.A, c.First.B);
    }

    [ChainFact]
    public void Withdrawals_and_an_import_that_starts_after_the_opens_rebuild_the_engines_postings()
    {
        long t0 = NextT0();
        var rules = new MarketRules("wd", LossPpm: 10_000);
        using var eth = new EthereumBackend(chain.Url, Anvil.OperatorKey, rules, Anvil.Artifact("EnergyEscrow"), startTime: t0 - 100);
        var emb = new EmbeddedBackend(rules);
        var op = new Nethereum.Web3.Accounts.Account(Anvil.OperatorKey).Address; // withdraw pays msg.sender: the operator
        var (b, s, m) = (KeyPair.Generate(), KeyPair.Generate(), KeyPair.Generate());
        var trade = new TradeCommitment("wd", t0, b.Address, s.Address, 2000, 30_000, 1, t0).Sign(b, s);
        var reading = new OracleReading("wd", m.Address, t0, 1500).Sign(m);
        foreach (var be in new ISettlementBackend[] { emb, eth })
        {
            be.RegisterMeter(m.Address, s.Address);
            foreach (var p in new[] { op, b.Address, s.Address }) Assert.Equal(Refusal.None, be.Deposit(p, 5_000_000, t0 - 50));
            Assert.Equal(Refusal.None, be.Open(trade, t0 - 40));
        }
        long afterOpens = (long)eth.Web3.Eth.Blocks.GetBlockNumber.SendRequestAsync().GetAwaiter().GetResult().Value + 1;
        Assert.Null(eth.Transact(t0 - 30, "withdraw", null, new System.Numerics.BigInteger(1_200_000)));
        var w = emb.Engine.Withdraw(op, 1_200_000, EscrowEngine.WithdrawKey(1, op), t0 - 30);
        Assert.True(w.Accepted);
        foreach (var be in new ISettlementBackend[] { emb, eth })
        {
            Assert.Equal(Refusal.None, be.PostReading(reading, rules.IntervalEnd(t0)));
            Assert.Equal(1, be.Advance(rules.IntervalEnd(t0) + 1));
        }
        var expected = emb.Postings().Append(w.Postings[0]).ToList();
        var all = ChainAudit.Read(chain.Url, eth.Address, eth.DeployBlock);
        Assert.Equal(expected.Select(LedgerComparison.Content).Order(), all.Postings.Select(LedgerComparison.Content).Order());
        Assert.Contains(all.Postings, p => p.Key == EscrowEngine.WithdrawKey(1, op) && p.Kind == "withdraw");
        Assert.Equal(expected.Select(p => p.Time).Order(), all.Postings.Select(p => p.Time).Order()); // block time = engine time
        // from the block after the opens: the withdrawal and the settlement, each rebuilt from its own event
        var late = ChainAudit.Read(chain.Url, eth.Address, afterOpens);
        Assert.Equal(["withdraw", "settle"], late.Postings.Select(p => p.Kind));
        Assert.Equal(LedgerComparison.Content(expected.Single(p => p.Kind == "settle")), LedgerComparison.Content(late.Postings[1]));
        Assert.Equal(TradeState.Settled, late.Trades[trade.Commitment.Id].State);
        Assert.Equal(emb.Balance(op), eth.Balance(op));
        Assert.Equal(3_800_000, eth.Balance(op).Available);
    }
}
