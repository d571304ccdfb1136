using OpenTE.Grid.Metering;
using OpenTE.Market.Outcome;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement;

/// <summary>What settling an outcome on the embedded ledger gave (<see cref="OutcomeSettlement.Run"/>).</summary>
/// <param name="OperatorMoney">The operator's money (minor units): the clearing's grid rent up to <see cref="LedgerSettlement.OperatorRoundingBound"/>.</param>
/// <param name="NetMoney">Per participant (and "(operator)"): money received − paid, in minor units.</param>
public sealed record LedgerSettlement(string LedgerPath, int Trades, int Settled, long Entries, bool Verified, string? VerifyReason, string HeadHash,
    IReadOnlyDictionary<string, long> NetMoney, long OperatorMoney, long MoneySum, long EnergySumWh, double Seconds)
{
    /// <summary>How far a participant's money may lie from the clearing's exact price × quantity, summed over its trades (minor units): per trade ½ minor unit per MWh + ½·10⁻⁶·price + 1 (docs/platform.md).</summary>
    public double OperatorRoundingBound { get; init; }
}

/// <summary>
/// The chain of docs/platform.md for a whole clearing outcome in one call: every participant and the operator get a key,
/// each award becomes a commitment (<see cref="Commitments.FromClearing"/>) signed by both sides, deposits cover it, each
/// seller's meter reads what it sold in each interval (perfect delivery: the one <see cref="MeterReading"/> type, signed
/// as the oracle's statement), the escrow engine settles, every posting goes to the hash-chained SQLite ledger, and the
/// ledger is verified. Used by <c>opente demo</c>; the flow of tests/OpenTE.Settlement.Tests/ClearingToLedgerTests.cs.
/// </summary>
public static class OutcomeSettlement
{
    public const string OperatorName = "(operator)";

    public static LedgerSettlement Run(ClearingOutcome outcome, string ledgerPath, long startUnixSeconds, string market = "opente-demo",
        long deposit = 1_000_000_000_000)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        long seconds = (long)Math.Round(outcome.IntervalHours * 3600);
        var rules = new MarketRules(market, IntervalSeconds: seconds);
        var names = outcome.Awards.Select(a => a.Participant).Distinct().Order(StringComparer.Ordinal).ToList();
        var keys = names.ToDictionary(n => n, _ => KeyPair.Generate());
        var op = KeyPair.Generate();
        var byAddress = keys.Values.Append(op).ToDictionary(k => Addr.Normalize(k.Address));
        var nameOf = keys.ToDictionary(k => Addr.Normalize(k.Value.Address), k => k.Key);
        nameOf[Addr.Normalize(op.Address)] = OperatorName;
        var meters = byAddress.Keys.ToDictionary(a => a, _ => KeyPair.Generate());
        var terms = new ClearingTerms
        {
            Market = market, Start = startUnixSeconds, IntervalSeconds = seconds,
            Addresses = keys.ToDictionary(k => k.Key, k => k.Value.Address), Operator = op.Address,
        };
        var trades = Commitments.FromClearing(outcome, terms);
        var e = new EscrowEngine(rules);
        var postings = new List<Posting>();
        foreach (var (addr, meter) in meters)
        {
            e.RegisterMeter(meter.Address, addr);
            postings.AddRange(e.Deposit(addr, deposit, $"dep:{addr}", startUnixSeconds - 100).Postings);
        }
        // both sides sign each commitment (independent work, on every core); the engine then opens them in order
        var signed = trades.AsParallel().AsOrdered()
            .Select(t => t.Commitment.Sign(byAddress[Addr.Normalize(t.Commitment.Buyer)], byAddress[Addr.Normalize(t.Commitment.Seller)])).ToList();
        for (int k = 0; k < trades.Count; k++)
        {
            var t = trades[k];
            var res = e.Open(signed[k], startUnixSeconds - 60);
            if (!res.Accepted) throw new InvalidOperationException($"the escrow refused the trade of {t.Award.Participant} in interval {t.Award.Interval}: {res.Message}");
            postings.AddRange(res.Postings);
        }
        foreach (var g in trades.GroupBy(t => (Addr.Normalize(t.Commitment.Seller), t.Commitment.IntervalStart)))
        {
            var metered = new MeterReading(g.Key.Item1, MeterKind.Generator, "F1", null, DateTimeOffset.FromUnixTimeSeconds(g.Key.IntervalStart),
                0, g.Sum(t => t.Commitment.QuantityWh) / 1000.0, 0);
            var reading = OracleReading.From(metered, rules.Market, meters[g.Key.Item1].Address);
            var res = e.PostReading(reading.Sign(meters[g.Key.Item1]), rules.IntervalEnd(g.Key.IntervalStart));
            if (!res.Accepted) throw new InvalidOperationException($"the escrow refused a meter reading of {nameOf[g.Key.Item1]}: {res.Message}");
            postings.AddRange(res.Postings);
        }
        postings.AddRange(e.Advance(rules.Deadline(startUnixSeconds + seconds * Math.Max(1, outcome.Intervals))));

        if (File.Exists(ledgerPath)) File.Delete(ledgerPath);
        using (var ledger = SqliteLedger.Open(ledgerPath)) ledger.PostBatch(postings);
        var verify = SqliteLedger.Verify(ledgerPath);
        var balances = SqliteLedger.Balances(ledgerPath);
        var net = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (addr, name) in nameOf)
            net[name] = balances.GetValueOrDefault((EscrowEngine.Available(addr), Commodity.Money)) - deposit;
        return new LedgerSettlement(ledgerPath, trades.Count, e.Trades.Values.Count(t => t.State == TradeState.Settled), verify.Entries, verify.Ok, verify.Reason,
            verify.HeadHash, net, net[OperatorName],
            balances.Where(b => b.Key.Commodity == Commodity.Money).Sum(b => b.Value),
            balances.Where(b => b.Key.Commodity == Commodity.EnergyWh).Sum(b => b.Value), sw.Elapsed.TotalSeconds)
        {
            OperatorRoundingBound = trades.Where(t => t.Award.Counterparty is null)
                .Sum(t => 0.5 * t.Commitment.QuantityWh / 1e6 + 0.5e-6 * t.Award.Price * terms.MinorUnitsPerDollar + 1),
        };
    }
}
