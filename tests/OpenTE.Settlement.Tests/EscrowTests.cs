using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

public class EscrowTests
{
    private static readonly KeyPair B = Keys.People[0], S = Keys.People[1], M = Keys.Meters[1];
    private static readonly MarketRules Rules = new("m1");
    private static long End => Rules.IntervalEnd(Keys.T0);

    private static SignedCommitment Trade(long q, long price, ulong nonce = 1, KeyPair? buyer = null) =>
        new TradeCommitment("m1", Keys.T0, (buyer ?? B).Address, S.Address, q, price, nonce, Keys.T0).Sign(buyer ?? B, S);

    private static SignedReading Reading(long wh, KeyPair? meter = null, long interval = Keys.T0) =>
        new OracleReading("m1", (meter ?? M).Address, interval, wh).Sign(meter ?? M);

    [Fact]
    public void Shortfall_known_answer()
    {
        var e = Keys.Engine();
        e.SetImbalancePrice(Keys.T0, 20_000);
        Assert.True(e.Open(Trade(2000, 50_000), Keys.T0 - 1).Accepted);
        Assert.True(e.PostReading(Reading(1500), End).Accepted);
        var p = Assert.Single(e.Advance(End));
        Assert.StartsWith("settle:", p.Key);
        var t = e.Trades.Values.Single();
        Assert.Equal(TradeState.Settled, t.State);
        Assert.Equal((1500, 500, 0L), (t.DeliveredWh, t.ShortfallWh, t.ExcessWh));
        Assert.Equal(75, t.SellerPaid);            // 50 000 × 1500 / 10⁶
        Assert.Equal(25, t.BuyerRefund);           // 100 − 75
        Assert.Equal(-10, t.ImbalanceAmount);      // 20 000 × 500 / 10⁶ charged to the seller
        Assert.Equal(1_000_000 - 75, e.Balance(EscrowEngine.Available(B.Address)));
        Assert.Equal(1_000_000 + 75 - 10, e.Balance(EscrowEngine.Available(S.Address)));
        Assert.Equal(10, e.Balance(EscrowEngine.Imbalance));
        Assert.Equal(0, e.Balance(EscrowEngine.EscrowAccount(B.Address)));
        Assert.Equal(0, e.Balance(EscrowEngine.CollateralAccount(S.Address)));
        Assert.Equal(2000, e.Balance(EscrowEngine.Energy(B.Address), Commodity.EnergyWh));   // 1500 from the seller + 500 from the grid
        Assert.Equal(-1500, e.Balance(EscrowEngine.Energy(S.Address), Commodity.EnergyWh));
        Assert.Equal(-500, e.Balance(EscrowEngine.Imbalance, Commodity.EnergyWh));
    }

    [Fact]
    public void Excess_and_losses_known_answer()
    {
        var e = Keys.Engine(new MarketRules("m1", LossPpm: 20_000, DefaultImbalancePrice: 30_000));
        Assert.True(e.Open(Trade(1000, 40_000), Keys.T0 - 1).Accepted);
        Assert.True(e.PostReading(Reading(1333), End).Accepted);
        e.Advance(End);
        var t = e.Trades.Values.Single();
        Assert.Equal((1000, 0L, 333L), (t.DeliveredWh, t.ShortfallWh, t.ExcessWh));
        Assert.Equal(40, t.SellerPaid);
        Assert.Equal(9, t.ImbalanceAmount);        // floor(30 000 × 333 / 10⁶) = 9 paid to the seller
        Assert.Equal(980, e.Balance(EscrowEngine.Energy(B.Address), Commodity.EnergyWh));   // 2 % losses
        Assert.Equal(20, e.Balance(EscrowEngine.Losses, Commodity.EnergyWh));
        Assert.Equal(333, e.Balance(EscrowEngine.Imbalance, Commodity.EnergyWh));
        Assert.Equal(-1333, e.Balance(EscrowEngine.Energy(S.Address), Commodity.EnergyWh));
    }

    [Fact]
    public void Delivered_energy_is_allocated_to_a_sellers_trades_in_id_order()
    {
        var e = Keys.Engine();
        var t1 = Trade(600, 10_000, 1, Keys.People[0]);
        var t2 = Trade(600, 10_000, 2, Keys.People[2]);
        Assert.True(e.Open(t1, Keys.T0 - 1).Accepted);
        Assert.True(e.Open(t2, Keys.T0 - 1).Accepted);
        Assert.True(e.PostReading(Reading(900), End).Accepted);
        Assert.Equal(2, e.Advance(End).Count);
        var (first, second) = string.CompareOrdinal(t1.Commitment.Id, t2.Commitment.Id) < 0 ? (t1, t2) : (t2, t1);
        Assert.Equal(600, e.Trades[first.Commitment.Id].DeliveredWh);
        Assert.Equal(300, e.Trades[second.Commitment.Id].DeliveredWh);
    }

    [Fact]
    public void No_meter_data_by_the_deadline_refunds_everything()
    {
        var e = Keys.Engine();
        Assert.True(e.Open(Trade(2000, 50_000), Keys.T0 - 1).Accepted);
        Assert.Empty(e.Advance(End));                                  // interval over, deadline not yet
        Assert.Empty(e.Advance(Rules.Deadline(Keys.T0) - 1));
        var p = Assert.Single(e.Advance(Rules.Deadline(Keys.T0)));
        Assert.StartsWith("refund:", p.Key);
        Assert.Equal(TradeState.Refunded, e.Trades.Values.Single().State);
        Assert.Equal(1_000_000, e.Balance(EscrowEngine.Available(B.Address)));
        Assert.Equal(1_000_000, e.Balance(EscrowEngine.Available(S.Address)));
        Assert.Equal(Refusal.Late, e.PostReading(Reading(2000), Rules.Deadline(Keys.T0)).Refusal);
        Assert.Empty(e.Advance(Rules.Deadline(Keys.T0) + 10_000));    // settles once only
    }

    [Fact]
    public void Oracle_accepts_registered_signed_readings_and_flags_conflicts()
    {
        var e = Keys.Engine();
        Assert.Equal(Refusal.NotOracle, e.PostReading(Reading(100, Keys.Stranger), End).Refusal);
        var forged = Reading(100) with { Signature = Keys.Stranger.SignDigest(Reading(100).Reading.Digest()) };
        Assert.Equal(Refusal.BadSignature, e.PostReading(forged, End).Refusal);
        var tampered = Reading(100) with { Reading = Reading(100).Reading with { EnergyWh = 5000 } };
        Assert.Equal(Refusal.BadSignature, e.PostReading(tampered, End).Refusal);
        Assert.Equal(Refusal.TooEarly, e.PostReading(Reading(100), End - 1).Refusal);
        Assert.Equal(Refusal.WrongMarket, e.PostReading(new OracleReading("m2", M.Address, Keys.T0, 1).Sign(M), End).Refusal);
        Assert.True(e.PostReading(Reading(100), End).Accepted);
        Assert.Equal(Refusal.DuplicateReading, e.PostReading(Reading(100), End + 5).Refusal);
        Assert.Empty(e.Conflicts);
        Assert.Equal(Refusal.ConflictingReading, e.PostReading(Reading(101), End + 5).Refusal);
        Assert.Single(e.Conflicts);
    }

    [Fact]
    public void Conflicting_reading_never_overwrites_the_first()
    {
        var e = Keys.Engine();
        Assert.True(e.Open(Trade(1000, 10_000), Keys.T0 - 1).Accepted);
        Assert.True(e.PostReading(Reading(400), End).Accepted);
        Assert.Equal(Refusal.ConflictingReading, e.PostReading(Reading(1000), End + 1).Refusal);
        e.Advance(End + 2);
        Assert.Equal(400, e.Trades.Values.Single().DeliveredWh);
    }

    [Fact]
    public void Imbalance_price_outside_the_collateral_cap_is_refused()
    {
        var e = Keys.Engine();
        Assert.Throws<ArgumentOutOfRangeException>(() => e.SetImbalancePrice(Keys.T0, Rules.ImbalancePriceCap + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.SetImbalancePrice(Keys.T0, -1));
    }
}
