using CsCheck;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>Random trades and meter data: conservation, no negative balances, escrow released by the deadline, ledger verifies.</summary>
public class PropertyTests
{
    private static readonly Gen<(int, int, int, long, long)> GTrade =
        Gen.Select(Gen.Int[0, 4], Gen.Int[1, 4], Gen.Int[0, 3], Gen.Long[1, 6000], Gen.Long[0, 120_000]);

    private static readonly Gen<((int, int, int, long, long)[], int, long, long)> GCase =
        Gen.Select(GTrade.Array[1, 10], Gen.Int[0, int.MaxValue], Gen.Long[0, 50_000], Gen.Long[0, 3000]);

    [Fact]
    public void Money_and_energy_are_conserved_and_every_escrow_is_released()
    {
        GCase.Sample(c => Check(c), iter: 25, threads: 1);
    }

    private static void Check(((int B, int Off, int Iv, long Q, long P)[] Trades, int Seed, long LossPpm, long DepositScale) c)
    {
        var rules = new MarketRules("m1", LossPpm: c.LossPpm);
        var rng = new Random(c.Seed);
        var e = new EscrowEngine(rules);
        var postings = new List<Posting>();
        for (int i = 0; i < Keys.People.Length; i++)
        {
            e.RegisterMeter(Keys.Meters[i].Address, Keys.People[i].Address);
            postings.AddRange(e.Deposit(Keys.People[i].Address, 1 + c.DepositScale * rng.Next(0, 2000), $"dep:{i}", Keys.T0 - 100).Postings);
        }
        for (int k = 0; k < 4; k++) e.SetImbalancePrice(Keys.T0 + 900L * k, rng.Next(0, (int)rules.ImbalancePriceCap + 1));
        ulong nonce = 0;
        var committed = new Dictionary<(int, long), long>();
        foreach (var (b, off, iv, q, p) in c.Trades)
        {
            int s = (b + off) % 5;
            long start = Keys.T0 + 900L * iv;
            var sc = new TradeCommitment("m1", start, Keys.People[b].Address, Keys.People[s].Address, q, p, ++nonce, start).Sign(Keys.People[b], Keys.People[s]);
            var r = e.Open(sc, Keys.T0 - 10);
            if (r.Accepted) committed[(s, start)] = committed.GetValueOrDefault((s, start)) + q;
            else Assert.True(r.Refusal is Refusal.InsufficientBuyerFunds or Refusal.InsufficientSellerCollateral, r.Message);
            postings.AddRange(r.Postings);
            Invariants(e);
        }
        long meteredSettled = 0;
        foreach (var ((s, start), q) in committed)
        {
            int mode = rng.Next(4);
            if (mode == 0) continue;
            long wh = mode == 1 ? rng.NextInt64(0, q + 1) : mode == 2 ? q : q + rng.NextInt64(0, 5000);
            var reading = new OracleReading("m1", Keys.Meters[s].Address, start, wh).Sign(Keys.Meters[s]);
            long at = rules.IntervalEnd(start) + rng.Next(0, (int)rules.GraceSeconds + 900);
            var r = e.PostReading(reading, at);
            if (at >= rules.Deadline(start)) { Assert.Equal(Refusal.Late, r.Refusal); continue; }
            Assert.True(r.Accepted, r.Message);
            Assert.Equal(Refusal.DuplicateReading, e.PostReading(reading, at).Refusal);
            if (rng.Next(2) == 0)
                Assert.Equal(Refusal.ConflictingReading, e.PostReading(new OracleReading("m1", Keys.Meters[s].Address, start, wh + 1).Sign(Keys.Meters[s]), at).Refusal);
            meteredSettled += wh;
        }
        // move the clock in steps; after the last deadline nothing may remain open
        for (long t = Keys.T0; t <= rules.Deadline(Keys.T0 + 900 * 3); t += 900)
        {
            postings.AddRange(e.Advance(t));
            Invariants(e);
        }
        foreach (var t in e.Trades.Values)
        {
            Assert.NotEqual(TradeState.Open, t.State);
            Assert.Equal(t.Escrow, t.SellerPaid + t.BuyerRefund);
            if (t.State == TradeState.Settled) Assert.Equal(t.Commitment.QuantityWh, t.DeliveredWh + t.ShortfallWh);
            else Assert.Equal((0L, t.Escrow), (t.SellerPaid, t.BuyerRefund));
        }
        foreach (var p in Keys.People)
        {
            Assert.Equal(0, e.Balance(EscrowEngine.EscrowAccount(p.Address)));
            Assert.Equal(0, e.Balance(EscrowEngine.CollateralAccount(p.Address)));
        }
        // every Wh the meters reported for settled groups left a seller's energy account
        long sellerExport = e.Trades.Values.Where(t => t.State == TradeState.Settled).Sum(t => t.DeliveredWh + t.ExcessWh);
        Assert.True(meteredSettled == sellerExport, $"metered {meteredSettled} exported {sellerExport}: " + string.Join("; ", e.Trades.Values.Select(t => $"{t.Commitment.Seller[..6]} {t.Commitment.IntervalStart - Keys.T0} {t.State} {t.DeliveredWh}")));

        // the ledger holds exactly the engine's balances, verifies, and posts nothing twice
        var path = Keys.TempFile();
        try
        {
            using (var ledger = SqliteLedger.Open(path, Durability.Normal))
            {
                Assert.Equal(postings.Count, ledger.PostBatch(postings));
                Assert.Equal(0, ledger.PostBatch(postings));
            }
            Assert.True(SqliteLedger.Verify(path).Ok);
            var lb = SqliteLedger.Balances(path);
            foreach (var (k, v) in e.Balances) Assert.Equal(v, lb.GetValueOrDefault(k));
            foreach (var (k, v) in lb) Assert.Equal(e.Balance(k.Account, k.Commodity), v);
        }
        finally
        {
            Keys.Delete(path);
        }
    }

    private static void Invariants(EscrowEngine e)
    {
        Assert.Equal(0, e.Balances.Where(kv => kv.Key.Commodity == Commodity.Money).Sum(kv => kv.Value));
        Assert.Equal(0, e.Balances.Where(kv => kv.Key.Commodity == Commodity.EnergyWh).Sum(kv => kv.Value));
        foreach (var ((acct, c), v) in e.Balances)
            if (c == Commodity.Money && !acct.StartsWith("system:", StringComparison.Ordinal)) Assert.True(v >= 0, $"{acct} = {v} without a credit line");
    }

    [Fact]
    public void Canonical_encoding_round_trips()
    {
        Gen.Select(Gen.String[Gen.Char.AlphaNumeric, 0, 40], Gen.Long, Gen.Select(Gen.String[Gen.Char.AlphaNumeric, 1, 30], Gen.Long).Array[0, 6]).Sample(x =>
        {
            var (key, time, lines) = x;
            var p = new Posting(key, "k", time, lines.Select((l, i) => new Line(l.Item1, (Commodity)(i % 2), l.Item2)).ToList());
            var (seq, back) = Posting.Decode(p.Encode(42));
            Assert.Equal(42, seq);
            Assert.Equal(p.Key, back.Key);
            Assert.Equal(p.Time, back.Time);
            Assert.Equal(p.Lines, back.Lines);
        }, iter: 300);
    }
}
