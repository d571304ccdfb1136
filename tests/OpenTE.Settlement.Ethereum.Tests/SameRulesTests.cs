using System.Numerics;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>The settlement scenario and random trades on the embedded engine and on the contract: same refusals, same balances.</summary>
public sealed class SameRulesTests(Anvil chain) : IClassFixture<Anvil>
{
    private static int _epoch;

    /// <summary>A fresh, future base time per run (the chain's clock only moves forward).</summary>
    private static long NextT0() => 2_000_700_000L + 108_000L * Interlocked.Increment(ref _epoch);

    private static readonly MarketRules Rules = new("chain-test");

    private EthereumBackend Chain(MarketRules? rules = null) => new(chain.Url, Anvil.OperatorKey, rules ?? Rules, Anvil.Artifact("EnergyEscrow"));

    private sealed record Actors(KeyPair[] P, KeyPair[] M, KeyPair Stranger);

    private static readonly Actors Who = new(
        Enumerable.Range(0, 4).Select(_ => KeyPair.Generate()).ToArray(),
        Enumerable.Range(0, 4).Select(_ => KeyPair.Generate()).ToArray(),
        KeyPair.Generate());

    /// <summary>Runs the scenario of docs/settlement.md's rules on a backend; returns every call's refusal and the final balances.</summary>
    private static (List<string> Log, List<ParticipantBalance> Balances, (long, long, long, long) System) Scenario(ISettlementBackend b, long t0)
    {
        var (p, m) = (Who.P, Who.M);
        var log = new List<string>();
        void L(string what, Refusal r) => log.Add($"{what}: {r}");
        for (int i = 0; i < 3; i++) b.RegisterMeter(m[i].Address, p[i].Address);
        b.SetImbalancePrice(t0, 20_000);
        long now = t0 - 2000;
        L("dep A", b.Deposit(p[0].Address, 1_000_000, now++));
        L("dep B", b.Deposit(p[1].Address, 300_000, now++));
        L("dep C", b.Deposit(p[2].Address, 100, now++));
        SignedCommitment T(int buyer, int seller, long iv, long q, long price, ulong nonce, string? market = null, long? expiry = null) =>
            new TradeCommitment(market ?? Rules.Market, iv, p[buyer].Address, p[seller].Address, q, price, nonce, expiry ?? iv).Sign(p[buyer], p[seller]);
        var t1 = T(0, 1, t0, 2000, 50_000, 1);
        L("t1", b.Open(t1, now++));
        L("t2", b.Open(T(2, 1, t0, 1500, 40_000, 2), now++));
        L("t3", b.Open(T(1, 0, t0 + 900, 3000, 30_000, 3), now++));
        L("t4 collateral", b.Open(T(0, 2, t0 + 900, 1000, 10_000, 4), now++));
        L("t5", b.Open(T(0, 2, t0 + 1800, 10, 100, 5), now++));
        L("tampered", b.Open(t1 with { Commitment = t1.Commitment with { QuantityWh = 2001 } }, now++));
        L("replay", b.Open(t1, now++));
        L("nonce", b.Open(T(0, 1, t0, 5, 5, 1), now++));
        L("market", b.Open(T(0, 1, t0, 5, 5, 6, market: "elsewhere"), now++));
        L("expired", b.Open(T(0, 1, t0, 5, 5, 7, expiry: t0 - 5000), now++));
        L("overflow", b.Open(T(0, 1, t0, long.MaxValue / 2, 4, 8), now++));
        L("stranger seller", b.Open(t1 with { SellerSignature = Who.Stranger.SignDigest(t1.Commitment.Digest()) }, now++));
        L("gate", b.Open(T(0, 1, t0, 5, 5, 9), t0 + 1));
        L("rB", b.PostReading(new OracleReading(Rules.Market, m[1].Address, t0, 3000).Sign(m[1]), t0 + 900));
        L("rB dup", b.PostReading(new OracleReading(Rules.Market, m[1].Address, t0, 3000).Sign(m[1]), t0 + 901));
        L("rB conflict", b.PostReading(new OracleReading(Rules.Market, m[1].Address, t0, 3100).Sign(m[1]), t0 + 902));
        L("not oracle", b.PostReading(new OracleReading(Rules.Market, Who.Stranger.Address, t0, 1).Sign(Who.Stranger), t0 + 903));
        L("forged", b.PostReading(new OracleReading(Rules.Market, m[0].Address, t0 + 900, 1).Sign(Who.Stranger) with
            { Reading = new OracleReading(Rules.Market, m[0].Address, t0 + 900, 1) }, t0 + 904));
        L("rA", b.PostReading(new OracleReading(Rules.Market, m[0].Address, t0 + 900, 3500).Sign(m[0]), t0 + 1800));
        L("too early", b.PostReading(new OracleReading(Rules.Market, m[2].Address, t0 + 1800, 10).Sign(m[2]), t0 + 1805));
        log.Add($"advance 1: {b.Advance(t0 + 2000)}");
        log.Add($"advance 2: {b.Advance(t0 + 2000 + 3000)}");
        log.Add($"advance 3: {b.Advance(Rules.Deadline(t0 + 1800))}");
        L("late", b.PostReading(new OracleReading(Rules.Market, m[2].Address, t0 + 1800, 10).Sign(m[2]), Rules.Deadline(t0 + 1800) + 1));
        log.Add($"advance again: {b.Advance(Rules.Deadline(t0 + 1800) + 1000)}");
        return (log, p.Take(3).Select(x => b.Balance(x.Address)).ToList(), b.SystemBalances());
    }

    [ChainFact]
    public void Scenario_gives_identical_refusals_and_balances_on_both_backends()
    {
        long t0 = NextT0();
        using var emb = new EmbeddedBackend(Rules);
        var a = Scenario(emb, t0);
        using var eth = Chain();
        var b = Scenario(eth, t0);
        Assert.Equal(a.Log, b.Log);
        Assert.Equal(a.Balances, b.Balances);
        Assert.Equal(a.System, b.System);
        // and the scenario means what it says
        Assert.Contains("t1: None", a.Log);
        Assert.Contains("tampered: BadBuyerSignature", a.Log);
        Assert.Contains("replay: Replay", a.Log);
        Assert.Contains("market: WrongMarket", a.Log);
        Assert.Contains("overflow: Overflow", a.Log);
        Assert.Contains("not oracle: NotOracle", a.Log);
        Assert.Contains("rB conflict: ConflictingReading", a.Log);
        Assert.Contains("advance again: 0", a.Log);
        Assert.All(a.Balances, x => Assert.Equal((0L, 0L), (x.Escrow, x.Collateral)));
        Assert.Equal(0, a.Balances.Sum(x => x.Available) + a.System.Item1 + a.System.Item2);
    }

    [ChainFact]
    public void Random_trades_give_identical_balances_on_both_backends()
    {
        // plain seeds, not CsCheck: a failing case would be shrunk by deploying hundreds of contracts
        foreach (int caseSeed in new[] { 11, 12, 13 })
        {
            var g = new Random(caseSeed);
            var trades = Enumerable.Range(0, g.Next(1, 7)).Select(_ => (g.Next(0, 3), g.Next(1, 3), g.Next(0, 3), g.NextInt64(1, 6001), g.NextInt64(0, 120_001))).ToArray();
            int seed = g.Next();
            long loss = g.NextInt64(0, 30_001);
            long t0 = NextT0();
            var rules = Rules with { LossPpm = loss };
            using var emb = new EmbeddedBackend(rules);
            using var eth = Chain(rules);
            foreach (var be in new ISettlementBackend[] { emb, eth })
            {
                var rng = new Random(seed);
                for (int i = 0; i < 3; i++) be.RegisterMeter(Who.M[i].Address, Who.P[i].Address);
                for (int k = 0; k < 3; k++) be.SetImbalancePrice(t0 + 900L * k, rng.Next(0, 500_001));
                long now = t0 - 3000;
                for (int i = 0; i < 3; i++) Assert.Equal(Refusal.None, be.Deposit(Who.P[i].Address, rng.Next(1, 3_000_000), now++));
                ulong nonce = 0;
                var committed = new HashSet<(int, long)>();
                foreach (var (b, off, iv, q, price) in trades)
                {
                    int s = (b + off) % 3;
                    long start = t0 + 900L * iv;
                    var r = be.Open(new TradeCommitment(rules.Market, start, Who.P[b].Address, Who.P[s].Address, q, price, ++nonce, start).Sign(Who.P[b], Who.P[s]), now++);
                    if (r == Refusal.None) committed.Add((s, start));
                }
                foreach (var (s, start) in committed.OrderBy(x => x.Item2).ThenBy(x => x.Item1))
                {
                    int mode = rng.Next(3);
                    if (mode == 0) continue;
                    be.PostReading(new OracleReading(rules.Market, Who.M[s].Address, start, rng.Next(0, 9000)).Sign(Who.M[s]), rules.IntervalEnd(start) + 10);
                }
                be.Advance(rules.Deadline(t0 + 1800));
            }
            for (int i = 0; i < 3; i++) Assert.Equal(emb.Balance(Who.P[i].Address), eth.Balance(Who.P[i].Address));
            Assert.Equal(emb.SystemBalances(), eth.SystemBalances());
        }
    }
}
