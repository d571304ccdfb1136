using CsCheck;
using OpenTE.Grid.PowerFlow;
using OpenTE.Grid.Tests;
using OpenTE.Market.Carbon;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>
/// The carbon step as the settlement run does it for 100 000s of trades (EscrowEngine.PostCarbonBatch, the balances kept in
/// cells per participant, the lines without an array, CarbonFold.FoldAll) against a straightforward reference computation:
/// per adjustment the refusal rules, the six lines written out, the balances summed in a plain map, and the fold as "settle
/// lines, then the carbon lines" — on random markets with refusals of every kind.
/// </summary>
public class CarbonStepTests
{
    private static string Party(int i) => $"0x{i + 1:x40}";
    private static string Meter(int i) => $"0x{i + 501:x40}";
    private const long T0 = 1_780_272_000;

    /// <summary>A random market: deposits (some small), trades over three intervals, readings for some sellers (the others' trades stay open).</summary>
    private static (EscrowEngine Engine, List<Posting> Run, List<string> Ids, long Now) Market(int seed)
    {
        var rng = new Random(seed);
        var e = new EscrowEngine(new MarketRules("m"));
        var run = new List<Posting>();
        int n = rng.Next(3, 8);
        for (int i = 0; i < n; i++)
        {
            e.RegisterMeter(Meter(i), Party(i));
            long deposit = rng.Next(3) == 0 ? rng.Next(1, 2_000_000) : 5_000_000_000L;
            run.AddRange(e.Deposit(Party(i), deposit, $"dep:{i}", T0 - 100).Postings);
        }
        var ids = new List<string>();
        var delivered = new Dictionary<(int, long), long>();
        for (int k = rng.Next(5, 40); k > 0; k--)
        {
            int b = rng.Next(n), s = (b + 1 + rng.Next(n - 1)) % n;
            long iv = T0 + 900L * rng.Next(3);
            var c = new TradeCommitment("m", iv, Party(b), Party(s), rng.Next(1, 3000), rng.Next(0, 40_000), (ulong)rng.Next(), iv);
            var r = e.Open(new SignedCommitment(c, "", ""), T0 - 10, skipSignatureCheck: true);
            if (!r.Accepted) continue;
            run.AddRange(r.Postings);
            ids.Add(c.Id);
            delivered[(s, iv)] = rng.Next(4) == 0 ? 0 : rng.Next(0, 6000);
        }
        foreach (var ((s, iv), wh) in delivered)
            if (rng.Next(5) > 0)
                Assert.True(e.PostReading(new SignedReading(new OracleReading("m", Meter(s), iv, wh), ""), e.Rules.IntervalEnd(iv), skipSignatureCheck: true).Accepted);
        long now = e.Rules.IntervalEnd(T0 + 1800); // every interval is over, none past its deadline: trades without a reading stay open
        run.AddRange(e.Advance(now));
        return (e, run, ids, now);
    }

    /// <summary>Adjustments in a random order: every trade (some twice), an unknown id, grams and money of either sign, zeros, and charges above what a party has.</summary>
    private static List<CarbonAdjustment> Adjustments(int seed, List<string> ids)
    {
        var rng = new Random(seed ^ 0x5eed);
        long Amount(int scale) => rng.Next(4) switch { 0 => 0, 1 => -rng.Next(1, scale), _ => rng.Next(1, scale) };
        var list = new List<CarbonAdjustment>();
        foreach (var id in ids.Concat(ids.Where(_ => rng.Next(4) == 0)).Append("0x" + new string('a', 64)).OrderBy(_ => rng.Next()))
            list.Add(new CarbonAdjustment(id, Amount(5000), Amount(5000), rng.Next(6) == 0 ? rng.Next(1, int.MaxValue) : Amount(500), Amount(500)));
        return list;
    }

    /// <summary>The six lines of an adjustment, written out (zero amounts make none).</summary>
    private static List<Line> ExpectedLines(string buyer, string seller, CarbonAdjustment a) =>
        new List<Line>
        {
            new(buyer + ":co2", Commodity.Co2Grams, a.BuyerGrams), new(seller + ":co2", Commodity.Co2Grams, a.SellerGrams),
            new("system:carbon", Commodity.Co2Grams, -(a.BuyerGrams + a.SellerGrams)),
            new(buyer + ":available", Commodity.Money, -a.BuyerMoney), new(seller + ":available", Commodity.Money, -a.SellerMoney),
            new("system:carbon", Commodity.Money, a.BuyerMoney + a.SellerMoney),
        }.Where(l => l.Amount != 0).ToList();

    [Fact]
    public void Batch_postings_balances_and_folded_journal_equal_a_reference_computation()
    {
        Gen.Int[0, int.MaxValue].Sample(seed =>
        {
            var (e, run, ids, now) = Market(seed);
            var adjustments = Adjustments(seed, ids);
            // the reference: the balances before, then per adjustment the rules of docs/carbon.md §3 in order
            var balances = e.Balances.ToDictionary(kv => kv.Key, kv => kv.Value);
            var states = e.Trades.ToDictionary(kv => kv.Key, kv => (kv.Value.State, kv.Value.Commitment.Buyer, kv.Value.Commitment.Seller));
            var done = new HashSet<string>();
            var expected = new List<(Refusal Refusal, Posting? Posting)>();
            foreach (var a in adjustments)
            {
                long Bal(string acct) => balances.GetValueOrDefault((acct, Commodity.Money));
                if (!states.TryGetValue(a.TradeId, out var t)) { expected.Add((Refusal.InvalidFields, null)); continue; }
                if (t.State != TradeState.Settled) { expected.Add((Refusal.TooEarly, null)); continue; }
                if (done.Contains(a.TradeId)) { expected.Add((Refusal.Replay, null)); continue; }
                if ((a.BuyerMoney > 0 && Bal(t.Buyer + ":available") < a.BuyerMoney) || (a.SellerMoney > 0 && Bal(t.Seller + ":available") < a.SellerMoney))
                {
                    expected.Add((Refusal.InsufficientFunds, null));
                    continue;
                }
                done.Add(a.TradeId);
                var lines = ExpectedLines(t.Buyer, t.Seller, a);
                foreach (var l in lines) balances[(l.Account, l.Commodity)] = balances.GetValueOrDefault((l.Account, l.Commodity)) + l.Amount;
                expected.Add((Refusal.None, new Posting("carbon:" + a.TradeId, "carbon", now, lines)));
            }

            var posted = new List<Posting>();
            var refusals = e.PostCarbonBatch(adjustments, now, posted);
            Assert.Equal(expected.Select(x => x.Refusal), refusals);
            var accepted = expected.Where(x => x.Posting is not null).Select(x => x.Posting!).ToList();
            Assert.Equal(accepted.Count, posted.Count);
            foreach (var (exp, got) in accepted.Zip(posted))
            {
                Assert.Equal((exp.Key, exp.Kind, exp.Time), (got.Key, got.Kind, got.Time));
                Assert.Equal(exp.Lines, got.Lines);
                Assert.Equal(exp.Lines, Enumerable.Range(0, got.Lines.Count).Select(i => got.Lines[i])); // the indexer gives what the enumerator gives
                Assert.True(got.IsBalanced);
                // the builder the chain importer uses gives the same lines
                var t = e.Trades[exp.Key[7..]];
                Assert.Equal(exp.Lines, EscrowEngine.CarbonPosting(t.Id, t.Commitment.Buyer, t.Commitment.Seller, t.Carbon!.Value, now).Lines);
            }
            // the same balances, and no (account, commodity) that the reference never wrote
            Assert.Equal(balances.OrderBy(kv => kv.Key.Item1, StringComparer.Ordinal).ThenBy(kv => kv.Key.Item2),
                e.Balances.OrderBy(kv => kv.Key.Account, StringComparer.Ordinal).ThenBy(kv => kv.Key.Commodity).Select(kv => new KeyValuePair<(string, Commodity), long>(kv.Key, kv.Value)));

            // the journal: each settle:ID followed by its carbon lines, the folded carbon:ID gone, the rest as it was
            var journal = run.Concat(posted).ToList();
            var carbonOf = posted.Where(p => p.Lines.Count == 0 || p.Lines[0].Commodity == Commodity.Co2Grams).ToDictionary(p => p.Key[7..]);
            var want = new List<(string Key, List<Line> Lines)>();
            foreach (var p in journal)
            {
                if (p.Kind == "carbon" && carbonOf.ContainsKey(p.Key[7..])) continue;
                var lines = p.Lines.ToList();
                if (p.Kind == "settle" && carbonOf.TryGetValue(p.Key[7..], out var c)) lines.AddRange(c.Lines);
                want.Add((p.Key, lines));
            }
            var folded = CarbonFold.FoldAll(journal);
            Assert.Equal(want.Select(x => x.Key), folded.Select(p => p.Key));
            foreach (var (w, p) in want.Zip(folded))
            {
                Assert.Equal(w.Lines, p.Lines);
                Assert.Equal(w.Lines, Enumerable.Range(0, p.Lines.Count).Select(i => p.Lines[i]));
            }
            // the folded journal sums to the engine's balances
            var sums = new Dictionary<(string, Commodity), long>();
            foreach (var p in folded)
                foreach (var l in p.Lines) sums[(l.Account, l.Commodity)] = sums.GetValueOrDefault((l.Account, l.Commodity)) + l.Amount;
            foreach (var (k, v) in e.Balances) Assert.Equal(v, sums.GetValueOrDefault(k));
            foreach (var (k, v) in sums) Assert.Equal(v, e.Balance(k.Item1, k.Item2));
        }, iter: 60, threads: 1);
    }

    /// <summary>
    /// The run's carbon step without carbon:ID postings (ApplyCarbonBatch, then FoldCarbon) equals posting them and folding the joined
    /// journal (PostCarbonBatch, then CarbonFold.FoldAll): the same refusals, balances and folded journal, key for key and line for
    /// line, with or without a fold predicate; also when part of the adjustments were posted as carbon:ID before (FoldCarbon then
    /// folds those too), and CarbonPosting(trade) is the posting PostCarbonBatch made.
    /// </summary>
    [Fact]
    public void Apply_then_fold_equals_post_then_fold_all()
    {
        static void SameJournal(IReadOnlyList<Posting> want, IReadOnlyList<Posting> got)
        {
            Assert.Equal(want.Select(p => (p.Key, p.Kind, p.Time)), got.Select(p => (p.Key, p.Kind, p.Time)));
            foreach (var (w, g) in want.Zip(got))
            {
                Assert.Equal(w.Lines, g.Lines);
                Assert.Equal(w.Lines, Enumerable.Range(0, g.Lines.Count).Select(i => g.Lines[i]));
            }
        }
        int fast = 0, money = 0, empty = 0, refusedByPredicate = 0;
        Gen.Int[0, int.MaxValue].Sample(seed =>
        {
            var (a, runA, ids, now) = Market(seed);
            var (b, runB, _, _) = Market(seed);
            var adjustments = Adjustments(seed, ids);
            var rng = new Random(seed);
            // a money-only adjustment (not foldable: its first line is money) and an all-zero one (no lines)
            if (adjustments.Count >= 3)
            {
                adjustments[0] = adjustments[0] with { BuyerGrams = 0, SellerGrams = 0, BuyerMoney = -rng.Next(1, 100) };
                adjustments[1] = new CarbonAdjustment(adjustments[1].TradeId, 0, 0, 0, 0);
            }
            var keep = ids.Where(_ => rng.Next(3) > 0).ToHashSet();
            Func<string, bool>? intoSettle = rng.Next(2) == 0 ? null : keep.Contains;
            int split = rng.Next(3) == 0 ? rng.Next(adjustments.Count + 1) : 0; // the first `split` posted as carbon:ID on b too

            var posted = new List<Posting>();
            var refusalsA = a.PostCarbonBatch(adjustments, now, posted);
            var want = CarbonFold.FoldAll([.. runA, .. posted], intoSettle);

            var early = new List<Posting>();
            var applied = new List<TradeRecord>();
            var refusalsB = b.PostCarbonBatch(adjustments[..split], now, early).Concat(b.ApplyCarbonBatch(adjustments[split..], now, applied)).ToList();
            var got = b.FoldCarbon([.. runB, .. early], applied, intoSettle);

            Assert.Equal(refusalsA, refusalsB);
            SameJournal(want, got);
            SameJournal(posted, [.. early, .. applied.Select(b.CarbonPosting)]);
            Assert.Equal(a.Balances.OrderBy(kv => kv.Key.Account, StringComparer.Ordinal).ThenBy(kv => kv.Key.Commodity),
                b.Balances.OrderBy(kv => kv.Key.Account, StringComparer.Ordinal).ThenBy(kv => kv.Key.Commodity));
            if (split == 0) fast++;
            money += applied.Count(t => t.Carbon is { BuyerGrams: 0, SellerGrams: 0 } c && c.Money != 0);
            empty += applied.Count(t => t.Carbon is { BuyerGrams: 0, SellerGrams: 0, BuyerMoney: 0, SellerMoney: 0 });
            if (intoSettle is not null) refusedByPredicate += applied.Count(t => !keep.Contains(t.Id));
        }, iter: 80, threads: 1);
        // the cases the equality is about were there
        Assert.True(fast > 20 && money > 5 && empty > 5 && refusedByPredicate > 5, $"{fast} {money} {empty} {refusedByPredicate}");
    }

    /// <summary>
    /// The stored encoding (Posting.Encode, docs/settlement.md) written out byte by byte — "OTE1", seq and time (i64 BE), key and
    /// kind (u16 BE length + UTF-8), the line count (u32 BE), per line the account, the commodity byte and the amount — equals
    /// what the ledger stores for folded settlements (their lines a view over two lists), plain ones and non-ASCII names.
    /// </summary>
    [Fact]
    public void Encoding_is_the_documented_bytes_for_folded_and_plain_postings()
    {
        static byte[] Reference(Posting p, long seq)
        {
            var b = new List<byte>("OTE1"u8.ToArray());
            void I64(long v) { for (int k = 7; k >= 0; k--) b.Add((byte)(v >> (8 * k))); }
            void Str(string x)
            {
                var u = System.Text.Encoding.UTF8.GetBytes(x);
                b.Add((byte)(u.Length >> 8));
                b.Add((byte)u.Length);
                b.AddRange(u);
            }
            I64(seq);
            I64(p.Time);
            Str(p.Key);
            Str(p.Kind);
            var lines = p.Lines.ToList();
            for (int k = 3; k >= 0; k--) b.Add((byte)(lines.Count >> (8 * k)));
            foreach (var l in lines)
            {
                Str(l.Account);
                b.Add((byte)l.Commodity);
                I64(l.Amount);
            }
            return [.. b];
        }
        foreach (int seed in new[] { 21, 22, 23 })
        {
            var (e, run, ids, now) = Market(seed);
            var applied = new List<TradeRecord>();
            e.ApplyCarbonBatch(Adjustments(seed, ids), now, applied);
            var folded = e.FoldCarbon(run, applied);
            Assert.Contains(folded, p => p.Kind == "settle" && CarbonFold.CarbonStart(p) < p.Lines.Count);
            var path = Path.Combine(Path.GetTempPath(), $"opente-enc-{Environment.ProcessId}-{seed}.db");
            try
            {
                using (var ledger = SqliteLedger.Open(path))
                    ledger.PostBatch([.. folded, new Posting("x:ünïcode", "deposit", -5, [new("système:dépôts", Commodity.Money, long.MinValue + 1), new("ä", Commodity.Money, long.MaxValue)])]);
                Assert.True(SqliteLedger.Verify(path).Ok);
                var stored = SqliteLedger.Read(path).ToList();
                Assert.Equal(folded.Count + 1, stored.Count);
                long seq = 0;
                foreach (var (p, back) in folded.Append(stored[^1]).Zip(stored))
                {
                    seq++;
                    Assert.Equal(Reference(p, seq), p.Encode(seq));
                    Assert.Equal(Reference(p, seq), back.Encode(seq));
                }
            }
            finally
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var f in new[] { path, path + "-wal", path + "-shm" }) File.Delete(f);
            }
        }
    }

    [Fact]
    public void One_by_one_and_batch_give_the_same_postings_refusals_and_details()
    {
        foreach (int seed in new[] { 1, 2, 3, 4, 5, 6, 7, 8 })
        {
            var (a, _, ids, now) = Market(seed);
            var (b, _, _, _) = Market(seed);
            var adjustments = Adjustments(seed, ids);
            var one = adjustments.Select(x => a.PostCarbon(x, now)).ToList();
            var posted = new List<Posting>();
            var batch = b.PostCarbonBatch(adjustments, now, posted);
            Assert.Equal(one.Select(r => r.Refusal), batch);
            Assert.Contains(batch, r => r != Refusal.None);
            var onePostings = one.SelectMany(r => r.Postings).ToList();
            Assert.Equal(onePostings.Select(p => (p.Key, p.Kind, p.Time)), posted.Select(p => (p.Key, p.Kind, p.Time)));
            Assert.Equal(onePostings.SelectMany(p => p.Lines), posted.SelectMany(p => p.Lines));
            Assert.Equal(a.Balances.OrderBy(kv => kv.Key.Account, StringComparer.Ordinal).ThenBy(kv => kv.Key.Commodity),
                b.Balances.OrderBy(kv => kv.Key.Account, StringComparer.Ordinal).ThenBy(kv => kv.Key.Commodity));
        }
    }

    [Fact]
    public void Embedded_backend_batch_equals_its_one_by_one_posting()
    {
        var (adj, now) = (new List<CarbonAdjustment>(), 0L);
        ISettlementBackend Backend(out List<CarbonAdjustment> adjustments, out long at)
        {
            var be = new EmbeddedBackend(new MarketRules("m"));
            var e = be.Engine;
            var rng = new Random(11);
            for (int i = 0; i < 4; i++)
            {
                e.RegisterMeter(Meter(i), Party(i));
                e.Deposit(Party(i), i == 0 ? 300_000 : 5_000_000_000L, $"dep:{i}", T0 - 100);
            }
            var ids = new List<string>();
            for (int k = 0; k < 12; k++)
            {
                var c = new TradeCommitment("m", T0, Party(k % 4), Party((k + 1) % 4), 1000 + k, 20_000, (ulong)k, T0);
                if (e.Open(new SignedCommitment(c, "", ""), T0 - 10, skipSignatureCheck: true).Accepted) ids.Add(c.Id);
            }
            for (int i = 0; i < 4; i++) e.PostReading(new SignedReading(new OracleReading("m", Meter(i), T0, 2500 * i), ""), T0 + 900, skipSignatureCheck: true);
            at = T0 + 901;
            be.Advance(at);
            adjustments = Adjustments(3, ids);
            adjustments.Insert(0, new CarbonAdjustment(ids[0], 1, 1, long.MaxValue / 4, 0)); // no buyer has that much
            return be;
        }
        using var one = Backend(out adj, out now);
        using var batch = Backend(out _, out _);
        var details = new List<string?>();
        var refusals = adj.Select(x => { var r = one.PostCarbon(x, now); details.Add(one.LastRefusalDetail); return r; }).ToList();
        Assert.Equal(refusals, batch.PostCarbonBatch(adj, now));
        Assert.Equal(details[^1], batch.LastRefusalDetail);
        Assert.Equal(Refusal.InsufficientFunds, refusals[0]);
        Assert.Contains(refusals, r => r == Refusal.Replay);
        // the batch made no carbon:ID posting yet: its folded journal (without them, with and without a predicate) equals folding
        // the one-by-one backend's postings, and so does the folded journal after the postings were read (and made)
        Func<string, bool> odd = id => id[^1] % 2 == 1;
        foreach (var intoSettle in new[] { null, odd })
        {
            var want = CarbonFold.FoldAll(one.Postings(), intoSettle);
            var got = batch.FoldedPostings(intoSettle);
            Assert.Equal(want.Select(p => (p.Key, p.Kind, p.Time)), got.Select(p => (p.Key, p.Kind, p.Time)));
            Assert.Equal(want.SelectMany(p => p.Lines), got.SelectMany(p => p.Lines));
        }
        Assert.Contains(CarbonFold.FoldAll(one.Postings(), odd), p => p.Kind == "carbon");
        Assert.Equal(one.Postings().Select(p => p.Key), batch.Postings().Select(p => p.Key));
        Assert.Equal(CarbonFold.FoldAll(one.Postings()).SelectMany(p => p.Lines), batch.FoldedPostings().SelectMany(p => p.Lines));
        Assert.Equal(one.Postings().SelectMany(p => p.Lines), batch.Postings().SelectMany(p => p.Lines));
        for (int i = 0; i < 4; i++) Assert.Equal(one.Balance(Party(i)), batch.Balance(Party(i)));
    }

    [Fact]
    public void Grams_is_the_trade_records_grams_bit_for_bit()
    {
        var net = TestData.Load("case33bw");
        var rng = new Random(5);
        var carbon = new CarbonData(net, LossFactors.Compute(net),
            Enumerable.Range(0, 20).Select(i => new CarbonParticipant(Party(i), 1 + i % 33, i % 3 == 0 ? 0 : rng.Next(100, 900))),
            UpstreamSeries.Constant(450));
        for (int k = 0; k < 300; k++)
        {
            int s = rng.Next(20), b = (s + 1 + rng.Next(19)) % 20;
            // up to 60 kWh in a quarter hour (240 kW): above the first-order limit too (the two power flows)
            double kwh = k % 50 == 0 ? 40 + rng.NextDouble() * 20 : rng.NextDouble() * 5;
            double viaRecord = carbon.Trade(Party(s), Party(b), kwh, 0.25, T0).Grams;
            Assert.Equal(BitConverter.DoubleToInt64Bits(viaRecord), BitConverter.DoubleToInt64Bits(carbon.Grams(Party(s), Party(b), kwh, 0.25, T0)));
        }
    }
}
