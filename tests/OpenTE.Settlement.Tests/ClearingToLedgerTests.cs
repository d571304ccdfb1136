using OpenTE.Grid.Metering;
using OpenTE.Grid.Tests;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>
/// The one chain of DESIGN.md §6: bids → clearing → awards → signed commitments → meter readings → settlement →
/// ledger → verify, with money and energy checked against the clearing's prices and quantities under the stated
/// rounding (<see cref="Commitments"/>).
/// </summary>
public class ClearingToLedgerTests : IDisposable
{
    private const long T0 = 1_780_272_000; // 2026-06-01T00:00:00Z
    private readonly string _dir = Directory.CreateTempSubdirectory("opente-chain-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string Example(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OpenTE.slnx"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, "examples", name);
    }

    [Fact]
    public void Dc_clearing_of_the_example_bids_settles_on_the_ledger_at_the_clearing_prices()
    {
        var net = TestData.Load("case5");
        var bids = BidFile.Read(Example("case5-bids.csv"), net);
        var r = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        var outcome = r.ToOutcome(includeGenerators: true, intervalHours: 0.25);
        Assert.Contains(outcome.Awards, a => a.Side == Side.Buy);
        Assert.Contains(outcome.Awards, a => a.Side == Side.Sell);
        // the case's own load is not a participant: the operator pays the generators for it, so its rent is not the clearing's
        SettleAndCheck(outcome, expectOperatorRent: double.NaN);
    }

    [Fact]
    public void Uniform_auction_settles_budget_balanced_and_pay_as_bid_leaves_the_operator_the_spread()
    {
        var bids = BidFile.Read(Example("case5-bids.csv"));
        foreach (var rule in new[] { PricingRule.UniformMidpoint, PricingRule.PayAsBid })
        {
            var a = DoubleAuction.Clear(bids, rule);
            var outcome = a.ToOutcome(intervalHours: 0.25);
            SettleAndCheck(outcome, expectOperatorRent: a.BudgetSurplus);
        }
    }

    [Fact]
    public void Commitments_refuse_what_the_escrow_cannot_settle()
    {
        var award = new Award("a", 1, 0, Side.Sell, 10, -5);
        var outcome = new ClearingOutcome("dc-opf", ClearingStatus.Optimal, [award], 0.25, null, []);
        var terms = new ClearingTerms { Market = "m", Start = T0, Addresses = new Dictionary<string, string> { ["a"] = KeyPair.Generate().Address }, Operator = KeyPair.Generate().Address };
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => Commitments.FromClearing(outcome, terms)).Message);
        Assert.Contains("no address", Assert.Throws<ArgumentException>(() => Commitments.FromClearing(outcome with { Awards = [award with { Price = 5, Participant = "b" }] }, terms)).Message);
        Assert.Contains("interval", Assert.Throws<ArgumentException>(() => Commitments.FromClearing(outcome with { IntervalHours = 1 }, terms)).Message);
        Assert.Contains("infeasible", Assert.Throws<ArgumentException>(() => Commitments.FromClearing(outcome with { Status = ClearingStatus.Infeasible }, terms)).Message);
    }

    /// <summary>
    /// Settles an outcome with perfect delivery and checks: every trade settled; each participant's money equals Σ over
    /// its awards of ±⌊price·Wh/10⁶⌋ with price and Wh rounded as stated, and that is within the rounding bound of the
    /// clearing's exact price × quantity; energy bought = energy sold per participant as awarded; the operator keeps the
    /// clearing's merchandising surplus (0 for a uniform price); the ledger verifies and holds the engine's balances.
    /// </summary>
    private void SettleAndCheck(ClearingOutcome outcome, double expectOperatorRent)
    {
        var rules = new MarketRules("chain-test", IntervalSeconds: 900);
        var names = outcome.Awards.Select(a => a.Participant).Distinct().Order(StringComparer.Ordinal).ToList();
        var keys = names.ToDictionary(n => n, _ => KeyPair.Generate());
        var op = KeyPair.Generate();
        var byAddress = keys.Values.Append(op).ToDictionary(k => Addr.Normalize(k.Address));
        var meters = byAddress.Keys.ToDictionary(a => a, _ => KeyPair.Generate());
        var terms = new ClearingTerms { Market = rules.Market, Start = T0, Addresses = keys.ToDictionary(k => k.Key, k => k.Value.Address), Operator = op.Address };
        var trades = Commitments.FromClearing(outcome, terms);
        Assert.Equal(outcome.Awards.Count(a => Commitments.Wh(a.Quantity, 0.25) > 0), trades.Count);

        var e = new EscrowEngine(rules);
        var postings = new List<Posting>();
        const long deposit = 1_000_000_000_000;
        foreach (var (addr, meter) in meters)
        {
            e.RegisterMeter(meter.Address, addr);
            postings.AddRange(e.Deposit(addr, deposit, $"dep:{addr}", T0 - 100).Postings);
        }
        foreach (var t in trades)
        {
            var c = t.Commitment;
            var res = e.Open(c.Sign(byAddress[Addr.Normalize(c.Buyer)], byAddress[Addr.Normalize(c.Seller)]), T0 - 60);
            Assert.True(res.Accepted, res.Message);
            postings.AddRange(res.Postings);
        }
        // perfect delivery: each seller's meter reads what it committed to sell in the interval
        foreach (var g in trades.GroupBy(t => (Addr.Normalize(t.Commitment.Seller), t.Commitment.IntervalStart)))
        {
            // the one meter-reading type of metering and privacy, signed as the oracle's statement for the settlement
            var metered = new MeterReading(g.Key.Item1, MeterKind.Generator, "F1", null, DateTimeOffset.FromUnixTimeSeconds(g.Key.IntervalStart),
                0, g.Sum(t => t.Commitment.QuantityWh) / 1000.0, 0);
            var reading = OracleReading.From(metered, rules.Market, meters[g.Key.Item1].Address);
            Assert.Equal(g.Sum(t => t.Commitment.QuantityWh), reading.EnergyWh);
            Assert.True(e.PostReading(reading.Sign(meters[g.Key.Item1]), rules.IntervalEnd(g.Key.IntervalStart)).Accepted);
        }
        postings.AddRange(e.Advance(rules.Deadline(T0 + 900L * outcome.Intervals)));

        string path = Path.Combine(_dir, $"{outcome.Mechanism}.db");
        using (var ledger = SqliteLedger.Open(path)) Assert.Equal(postings.Count, ledger.PostBatch(postings));
        var verify = SqliteLedger.Verify(path);
        Assert.True(verify.Ok, verify.Reason);
        var balances = SqliteLedger.Balances(path);
        foreach (var (k, v) in e.Balances) Assert.Equal(v, balances.GetValueOrDefault(k));
        foreach (var c in new[] { Commodity.Money, Commodity.EnergyWh }) Assert.Equal(0, balances.Where(b => b.Key.Commodity == c).Sum(b => b.Value));

        Assert.All(e.Trades.Values, t => Assert.Equal(TradeState.Settled, t.State));
        var expectedMoney = new Dictionary<string, long>();
        var expectedWh = new Dictionary<string, long>();
        double exactOperator = 0, bound = 0;
        foreach (var t in trades)
        {
            var c = t.Commitment;
            string buyer = Addr.Normalize(c.Buyer), seller = Addr.Normalize(c.Seller);
            long money = Money.Amount(c.PricePerMWh, c.QuantityWh);
            double exact = t.Award.Price * t.Award.Quantity * outcome.IntervalHours * terms.MinorUnitsPerDollar;
            // rounding bound of one trade: price to ½ minor unit per MWh over the quantity, Wh to ½ Wh at the price, the floor to 1
            double tradeBound = 0.5 * c.QuantityWh / 1e6 + 0.5e-6 * t.Award.Price * terms.MinorUnitsPerDollar + 1;
            Assert.InRange(money, exact - tradeBound, exact + tradeBound);
            bound += tradeBound;
            expectedMoney[seller] = expectedMoney.GetValueOrDefault(seller) + money;
            expectedMoney[buyer] = expectedMoney.GetValueOrDefault(buyer) - money;
            expectedWh[seller] = expectedWh.GetValueOrDefault(seller) - c.QuantityWh;
            expectedWh[buyer] = expectedWh.GetValueOrDefault(buyer) + c.QuantityWh;
            if (buyer == Addr.Normalize(op.Address)) exactOperator -= exact;
            if (seller == Addr.Normalize(op.Address)) exactOperator += exact;
            Assert.Equal(money, e.Trades[c.Id].SellerPaid);
        }
        foreach (var addr in byAddress.Keys)
        {
            Assert.Equal(deposit + expectedMoney.GetValueOrDefault(addr), balances.GetValueOrDefault((EscrowEngine.Available(addr), Commodity.Money)));
            Assert.Equal(expectedWh.GetValueOrDefault(addr), balances.GetValueOrDefault((EscrowEngine.Energy(addr), Commodity.EnergyWh)));
        }
        // the operator's money is the clearing's rent (merchandising surplus; 0 for a uniform price) over the interval
        long operatorMoney = balances.GetValueOrDefault((EscrowEngine.Available(Addr.Normalize(op.Address)), Commodity.Money)) - deposit;
        Assert.InRange(operatorMoney, exactOperator - bound, exactOperator + bound);
        double rentOfAwards = expectOperatorRent * outcome.IntervalHours * terms.MinorUnitsPerDollar;
        if (double.IsFinite(rentOfAwards)) Assert.InRange(exactOperator, rentOfAwards - 1e-6 * Math.Max(1, Math.Abs(rentOfAwards)), rentOfAwards + 1e-6 * Math.Max(1, Math.Abs(rentOfAwards)));
    }
}

public class RecoverTests
{
    [Fact]
    public void Malformed_signatures_recover_no_address_instead_of_throwing()
    {
        var digest = Addr.Keccak("x");
        var k = KeyPair.Generate();
        string good = k.SignDigest(digest);
        Assert.Equal(Addr.Normalize(k.Address), Addr.Recover(digest, good));
        string h = good[2..];
        Assert.Null(Addr.Recover(digest, "0x" + h[..128] + "05"));                       // v not a recovery id
        Assert.Null(Addr.Recover(digest, "0x" + new string('0', 64) + h[64..]));         // r = 0
        // r values that are no curve point's x coordinate: some of these made the library throw NullReferenceException
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            var r = new byte[32];
            rng.NextBytes(r);
            var sig = "0x" + Convert.ToHexStringLower(r) + h[64..];
            string? who = Addr.Recover(digest, sig);
            Assert.True(who is null || Addr.IsAddress(who));
        }
    }
}
