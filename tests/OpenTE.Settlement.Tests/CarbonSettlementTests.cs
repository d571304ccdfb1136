using OpenTE.Grid.PowerFlow;
using OpenTE.Grid.Tests;
using OpenTE.Market.Carbon;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

public class CarbonSettlementTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-carbon-" + Guid.NewGuid().ToString("N")[..8]);
    private static readonly Lazy<LossFactorResult> Mlf33 = new(() => LossFactors.Compute(TestData.Load("case33bw")));
    private static readonly int[] Buses = [18, 17, 2, 33, 25, 6, 30, 12];

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static CarbonData Carbon(IEnumerable<string> participants, double price = 90_000, double share = 0.5) =>
        new(TestData.Load("case33bw"), Mlf33.Value,
            participants.Select((p, i) => new CarbonParticipant(Addr.Normalize(p), Buses[i % Buses.Length], i % 3 == 0 ? 0 : 120 * i)),
            UpstreamSeries.Constant(450)) { PricePerTonne = price, BuyerShare = share };

    [Fact]
    public void Adjustment_rounds_once_and_splits_so_the_parts_add_up()
    {
        var a = CarbonAdjustment.From("t", 1234.5, 90_000, 0.3);
        Assert.Equal(1235, a.Grams);
        Assert.Equal((long)Math.Round(1235 * 0.09, MidpointRounding.AwayFromZero), a.Money);
        Assert.Equal((long)Math.Round(a.Grams * 0.3, MidpointRounding.AwayFromZero), a.BuyerGrams);
        var credit = CarbonAdjustment.From("t", -5000, 90_000, 1);
        Assert.Equal(-450, credit.BuyerMoney);
        Assert.Equal(0, credit.SellerMoney);
        Assert.Throws<ArgumentException>(() => CarbonAdjustment.From("t", double.NaN, 1, 0.5));
        Assert.Throws<ArgumentException>(() => CarbonAdjustment.From("t", 1, 1, 1.5));
    }

    [Fact]
    public void Engine_posts_one_balanced_adjustment_per_settled_trade_and_refuses_the_rest()
    {
        var e = Keys.Engine(deposit: 1_000_000_000);
        var (buyer, seller) = (Keys.People[0], Keys.People[1]);
        var c = new TradeCommitment("m1", Keys.T0, buyer.Address, seller.Address, 4000, 20_000, 1, Keys.T0);
        var id = c.Id;
        Assert.True(e.Open(c.Sign(buyer, seller), Keys.T0 - 60).Accepted);
        var adj = new CarbonAdjustment(id, 300, 200, 27, 18);
        Assert.Equal(Refusal.TooEarly, e.PostCarbon(adj, Keys.T0).Refusal);
        Assert.True(e.PostReading(new OracleReading("m1", Keys.Meters[1].Address, Keys.T0, 4000).Sign(Keys.Meters[1]), Keys.T0 + 900).Accepted);
        e.Advance(Keys.T0 + 900);
        long buyerBefore = e.Balance(EscrowEngine.Available(buyer.Address)), sellerBefore = e.Balance(EscrowEngine.Available(seller.Address));
        var r = e.PostCarbon(adj, Keys.T0 + 901);
        Assert.True(r.Accepted, r.Message);
        var p = Assert.Single(r.Postings);
        Assert.True(p.IsBalanced);
        Assert.Equal("carbon:" + id, p.Key);
        Assert.Equal(buyerBefore - 27, e.Balance(EscrowEngine.Available(buyer.Address)));
        Assert.Equal(sellerBefore - 18, e.Balance(EscrowEngine.Available(seller.Address)));
        Assert.Equal(45, e.Balance(EscrowEngine.Carbon));
        Assert.Equal(300, e.Balance(EscrowEngine.Co2(Addr.Normalize(buyer.Address)), Commodity.Co2Grams));
        Assert.Equal(-500, e.Balance(EscrowEngine.Carbon, Commodity.Co2Grams));
        Assert.Equal(Refusal.Replay, e.PostCarbon(adj, Keys.T0 + 902).Refusal);
        Assert.Equal(Refusal.InvalidFields, e.PostCarbon(adj with { TradeId = "0xnope" }, Keys.T0 + 902).Refusal);
    }

    [Fact]
    public void Charge_above_the_available_balance_is_refused()
    {
        var e = Keys.Engine(deposit: 0);
        var (buyer, seller) = (Keys.People[2], Keys.People[3]);
        e.Deposit(buyer.Address, Money.Amount(1000, 1000), "d1", Keys.T0 - 100);
        e.Deposit(seller.Address, Money.Amount(e.Rules.ImbalancePriceCap, 1000), "d2", Keys.T0 - 100);
        var c = new TradeCommitment("m1", Keys.T0, buyer.Address, seller.Address, 1000, 1000, 7, Keys.T0);
        Assert.True(e.Open(c.Sign(buyer, seller), Keys.T0 - 60).Accepted);
        Assert.True(e.PostReading(new OracleReading("m1", Keys.Meters[3].Address, Keys.T0, 1000).Sign(Keys.Meters[3]), Keys.T0 + 900).Accepted);
        e.Advance(Keys.T0 + 900);
        long available = e.Balance(EscrowEngine.Available(buyer.Address)); // the whole escrow was paid: nothing left
        var r = e.PostCarbon(new CarbonAdjustment(c.Id, 10, 0, available + 1, 0), Keys.T0 + 901);
        Assert.Equal(Refusal.InsufficientFunds, r.Refusal);
        Assert.Empty(r.Postings);
        Assert.Equal(0, e.Balance(EscrowEngine.Carbon));
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(2, 0.0)]
    [InlineData(3, 1.0)]
    public void Settlement_with_carbon_balances_the_ledger_and_posts_each_trades_emissions(int seed, double share)
    {
        var set = SampleData.Generate(8, 80, seed, "carb", Keys.T0);
        string dir = Path.Combine(_dir, seed.ToString());
        SampleData.Write(set, dir);
        var carbon = Carbon(set.Participants.Select(k => k.Address), share: share);
        string ledger = Path.Combine(dir, "ledger.db");
        long at = Keys.T0 + 86_400;
        var r = SettlementRun.Run(Path.Combine(dir, "trades.csv"), Path.Combine(dir, "meter-readings.csv"), set.Market, ledger, at, carbon: carbon);
        Assert.True(r.Carbon);
        Assert.Empty(r.CarbonRefused);
        Assert.True(SqliteLedger.Verify(ledger).Ok);
        var balances = SqliteLedger.Balances(ledger);
        foreach (var c in new[] { Commodity.Money, Commodity.EnergyWh, Commodity.Co2Grams })
            Assert.Equal(0, balances.Where(b => b.Key.Commodity == c).Sum(b => b.Value));
        Assert.Equal(0, r.MoneyTotal);
        Assert.Equal(0, r.Co2Total);

        // every settled trade with energy has its emissions for the delivered energy, priced and split as configured
        var trades = set.Trades.ToDictionary(t => t.Commitment.Id);
        int withCarbon = 0;
        long sumMoney = 0, sumGrams = 0;
        var co2 = new Dictionary<string, long>();
        var paid = new Dictionary<string, long>();
        foreach (var o in r.TradeOutcomes)
        {
            if (o.Status != "settled" || o.DeliveredWh == 0) { Assert.Equal(0, o.Co2Grams); continue; }
            var c = trades[o.Id].Commitment;
            var tc = carbon.Trade(Addr.Normalize(c.Seller), Addr.Normalize(c.Buyer), o.DeliveredWh / 1000.0, 0.25, c.IntervalStart);
            var expected = CarbonAdjustment.From(o.Id, tc.Grams, carbon.PricePerTonne, share);
            Assert.Equal(expected.Grams, o.Co2Grams);
            Assert.Equal(expected.Money, o.CarbonMoney);
            string buyer = Addr.Normalize(c.Buyer), seller = Addr.Normalize(c.Seller);
            co2[buyer] = co2.GetValueOrDefault(buyer) + expected.BuyerGrams;
            co2[seller] = co2.GetValueOrDefault(seller) + expected.SellerGrams;
            paid[buyer] = paid.GetValueOrDefault(buyer) + expected.BuyerMoney;
            paid[seller] = paid.GetValueOrDefault(seller) + expected.SellerMoney;
            if (share == 0) Assert.Equal(0, expected.BuyerMoney);
            if (share == 1) Assert.Equal(0, expected.SellerGrams);
            withCarbon++;
            sumMoney += o.CarbonMoney;
            sumGrams += o.Co2Grams;
        }
        Assert.True(withCarbon > 30);
        Assert.Equal(sumMoney, r.CarbonAccountMoney);
        Assert.Equal(-sumGrams, r.CarbonAccountGrams);
        Assert.Equal(-r.CarbonAccountMoney, -r.Balances.Sum(b => b.CarbonMoney));
        // per participant: its CO₂ account and carbon money are its parts of its trades' adjustments
        Assert.All(r.Balances, b =>
        {
            Assert.Equal(co2.GetValueOrDefault(b.Participant), b.Co2Grams);
            Assert.Equal(paid.GetValueOrDefault(b.Participant), b.CarbonMoney);
        });

        // idempotent: a second run posts nothing new and reports the same carbon
        var again = SettlementRun.Run(Path.Combine(dir, "trades.csv"), Path.Combine(dir, "meter-readings.csv"), set.Market, ledger, at, carbon: carbon);
        Assert.Equal(0, again.NewPostings);
        Assert.Equal(r.TradeOutcomes.Select(o => o.CarbonMoney), again.TradeOutcomes.Select(o => o.CarbonMoney));

        // without carbon the same files give the same money except the carbon postings
        var plain = SettlementRun.Run(Path.Combine(dir, "trades.csv"), Path.Combine(dir, "meter-readings.csv"), set.Market, null, at);
        foreach (var (b, p) in r.Balances.Zip(plain.Balances))
            Assert.Equal(p.Available - b.CarbonMoney, b.Available);
    }

    private static Dictionary<(string, Commodity), long> Sum(IEnumerable<Posting> ps)
    {
        var d = new Dictionary<(string, Commodity), long>();
        foreach (var p in ps)
            foreach (var l in p.Lines)
                d[(l.Account, l.Commodity)] = checked(d.GetValueOrDefault((l.Account, l.Commodity)) + l.Amount);
        return d.Where(x => x.Value != 0).ToDictionary();
    }

    private static void AssertBalanced(IEnumerable<Line> lines)
    {
        foreach (var c in new[] { Commodity.Money, Commodity.EnergyWh, Commodity.Co2Grams })
            Assert.Equal(0, lines.Where(l => l.Commodity == c).Sum(l => l.Amount));
    }

    [Theory]
    [InlineData(11, 0.5)]
    [InlineData(12, 0.2)]
    public void Carbon_folded_into_the_settle_entries_gives_the_same_books_as_separate_carbon_postings(int seed, double share)
    {
        var set = SampleData.Generate(8, 80, seed, "carb", Keys.T0);
        SampleData.Write(set, _dir);
        var carbon = Carbon(set.Participants.Select(k => k.Address), share: share);
        string ledger = Path.Combine(_dir, "folded.db"), separate = Path.Combine(_dir, "separate.db");
        long at = Keys.T0 + 86_400;
        EmbeddedBackend? emb = null;
        var r = SettlementRun.Run(Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"), set.Market, (rules, _) => emb = new EmbeddedBackend(rules), ledger, at, carbon: carbon);

        // the engine's own postings: settle:ID, then carbon:ID per settled trade (the backends' shape, unchanged)
        var engine = emb!.Postings();
        var carbonPostings = engine.Where(p => p.Kind == "carbon").ToList();
        Assert.True(carbonPostings.Count(p => p.Lines.Count > 0) > 30);
        // the journal: one entry per trade, the carbon lines appended to settle:ID
        var journal = SqliteLedger.Read(ledger).ToList();
        Assert.DoesNotContain(journal, p => p.Kind == "carbon");
        Assert.Equal(engine.Count - carbonPostings.Count, journal.Count);
        var byKey = journal.ToDictionary(p => p.Key);
        foreach (var cp in carbonPostings)
        {
            var settle = byKey["settle:" + cp.Key[7..]];
            Assert.Equal(cp.Lines, CarbonFold.CarbonLines(settle));
            Assert.Equal(engine.Single(p => p.Key == settle.Key).Lines, CarbonFold.WithoutCarbon(settle).Lines);
            // the settlement part and the carbon part each balance; Σ carbon money over all accounts = 0
            AssertBalanced(CarbonFold.WithoutCarbon(settle).Lines);
            AssertBalanced(CarbonFold.CarbonLines(settle));
        }
        Assert.Equal(0, journal.SelectMany(CarbonFold.CarbonLines).Where(l => l.Commodity == Commodity.Money).Sum(l => l.Amount));
        Assert.True(SqliteLedger.Verify(ledger).Ok);

        // the same balances per account and commodity as the engine's postings written separately (the way before folding)
        using (var l = SqliteLedger.Open(separate, Durability.Normal))
            l.PostBatch([.. engine.Where(p => p.Lines.Count > 0)]);
        Assert.True(SqliteLedger.Verify(separate).Ok);
        Assert.Equal(Sum(engine), Sum(journal));
        Assert.Equal(SqliteLedger.Balances(separate), SqliteLedger.Balances(ledger));
        // and the same report as without a ledger (read from the engine's postings)
        var noLedger = SettlementRun.Run(Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"), set.Market, null, at, carbon: carbon);
        Assert.Equal(noLedger.TradeOutcomes, r.TradeOutcomes);
        Assert.Equal(noLedger.Balances, r.Balances);
        Assert.Equal((noLedger.CarbonAccountGrams, noLedger.CarbonAccountMoney), (r.CarbonAccountGrams, r.CarbonAccountMoney));
    }

    [Fact]
    public void A_tampered_carbon_line_inside_a_settle_entry_fails_verification()
    {
        var set = SampleData.Generate(6, 40, 21, "carb", Keys.T0);
        SampleData.Write(set, _dir);
        string ledger = Path.Combine(_dir, "ledger.db");
        SettlementRun.Run(Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"), set.Market, ledger, Keys.T0 + 86_400,
            carbon: Carbon(set.Participants.Select(k => k.Address)));
        Assert.True(SqliteLedger.Verify(ledger).Ok);
        var journal = SqliteLedger.Read(ledger).ToList();
        int index = journal.FindIndex(p => p.Kind == "settle" && CarbonFold.CarbonLines(p).Count(l => l.Commodity == Commodity.Co2Grams) >= 2);
        Assert.True(index >= 0);
        var p = journal[index];
        // move one gram from the first CO₂ account to the second: the entry still balances, only the hash can tell
        int k = CarbonFold.CarbonStart(p);
        var lines = p.Lines.ToArray();
        lines[k] = lines[k] with { Amount = lines[k].Amount + 1 };
        lines[k + 1] = lines[k + 1] with { Amount = lines[k + 1].Amount - 1 };
        var tampered = p with { Lines = lines };
        Assert.True(tampered.IsBalanced);
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={ledger};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE journal SET entry = $e WHERE seq = $s";
            cmd.Parameters.AddWithValue("$e", tampered.Encode(index + 1));
            cmd.Parameters.AddWithValue("$s", index + 1);
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        var v = SqliteLedger.Verify(ledger);
        Assert.False(v.Ok);
        Assert.Equal(index + 1, v.FirstBadIndex);
    }

    [Fact]
    public void A_ledger_settled_without_carbon_gets_separate_carbon_postings_and_the_same_report()
    {
        var set = SampleData.Generate(6, 50, 31, "carb", Keys.T0);
        SampleData.Write(set, _dir);
        var carbon = Carbon(set.Participants.Select(k => k.Address));
        string trades = Path.Combine(_dir, "trades.csv"), readings = Path.Combine(_dir, "meter-readings.csv"), ledger = Path.Combine(_dir, "l.db");
        long at = Keys.T0 + 86_400;
        SettlementRun.Run(trades, readings, set.Market, ledger, at);
        int before = SqliteLedger.Read(ledger).Count();
        var r = SettlementRun.Run(trades, readings, set.Market, ledger, at, carbon: carbon);
        // the settle entries were written already: the carbon adjustments go in as carbon:ID, one per trade with grams
        var journal = SqliteLedger.Read(ledger).ToList();
        Assert.Equal(before + r.TradeOutcomes.Count(o => o.Co2Grams != 0 || o.CarbonMoney != 0), journal.Count);
        Assert.All(journal.Where(p => p.Kind == "settle"), p => Assert.Equal(p.Lines.Count, CarbonFold.CarbonStart(p)));
        Assert.True(SqliteLedger.Verify(ledger).Ok);
        var fresh = SettlementRun.Run(trades, readings, set.Market, Path.Combine(_dir, "fresh.db"), at, carbon: carbon);
        Assert.Equal(fresh.TradeOutcomes, r.TradeOutcomes);
        Assert.Equal(fresh.Balances, r.Balances);
        Assert.Equal(SqliteLedger.Balances(Path.Combine(_dir, "fresh.db")), SqliteLedger.Balances(ledger));
        // a rerun of either posts nothing; another carbon price is refused (the ledger holds other amounts)
        Assert.Equal(0, SettlementRun.Run(trades, readings, set.Market, ledger, at, carbon: carbon).NewPostings);
        Assert.Equal(0, SettlementRun.Run(trades, readings, set.Market, Path.Combine(_dir, "fresh.db"), at, carbon: carbon).NewPostings);
        Assert.Equal(0, SettlementRun.Run(trades, readings, set.Market, Path.Combine(_dir, "fresh.db"), at).NewPostings);
        var e = Assert.Throws<OpenTE.Grid.Input.InputException>(() =>
            SettlementRun.Run(trades, readings, set.Market, Path.Combine(_dir, "fresh.db"), at, carbon: carbon.WithPrice(carbon.PricePerTonne * 2)));
        Assert.Contains("other amounts", e.Message);
    }

    [Fact]
    public void Fold_refuses_postings_of_other_trades_and_keeps_unfoldable_ones()
    {
        var a = new CarbonAdjustment("0xaa", 10, 5, 2, 1);
        var carbon = EscrowEngine.CarbonPosting("0xaa", "0x1", "0x2", a, 5);
        var settle = new Posting("settle:0xaa", "settle", 4, [new("x", Commodity.Money, -3), new("y", Commodity.Money, 3)]);
        var other = settle with { Key = "settle:0xbb" };
        Assert.Throws<ArgumentException>(() => CarbonFold.Fold(other, carbon));
        var folded = CarbonFold.Fold(settle, carbon);
        Assert.Equal(("settle:0xaa", "settle", 4L), (folded.Key, folded.Kind, folded.Time));
        Assert.Throws<ArgumentException>(() => CarbonFold.Fold(folded, carbon));
        // money without grams cannot be told apart from a settlement's lines: left as its own posting
        var moneyOnly = EscrowEngine.CarbonPosting("0xbb", "0x1", "0x2", new CarbonAdjustment("0xbb", 0, 0, 7, 0), 5);
        var all = CarbonFold.FoldAll([settle, other, carbon, moneyOnly]);
        Assert.Equal(["settle:0xaa", "settle:0xbb", "carbon:0xbb"], all.Select(p => p.Key));
        Assert.Equal(folded.Lines, all[0].Lines);
        Assert.Equal(carbon.Lines, CarbonFold.CarbonLines(all[0]));
        Assert.Empty(CarbonFold.CarbonLines(all[1]));
        Assert.Equal(4, CarbonFold.FoldAll([settle, other, carbon, moneyOnly], id => id != "0xaa").Count);
    }

    [Fact]
    public void Trade_party_without_emission_data_is_an_input_error_naming_the_line()
    {
        var set = SampleData.Generate(4, 10, 5, "carb", Keys.T0);
        SampleData.Write(set, _dir);
        var carbon = Carbon(set.Participants.Take(3).Select(k => k.Address));
        var e = Assert.Throws<OpenTE.Grid.Input.InputException>(() =>
            SettlementRun.Run(Path.Combine(_dir, "trades.csv"), Path.Combine(_dir, "meter-readings.csv"), set.Market, null, Keys.T0 + 86_400, carbon: carbon));
        Assert.Matches("no emission data for 0x[0-9a-f]{40}, the (buyer|seller) of .*trades.csv line [0-9]+", e.Message);
    }
}
