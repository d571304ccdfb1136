using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>
/// Issue #23: conservation of money and energy under any sequence of settle runs on one ledger. A random sequence
/// withholds readings, adds them late, corrects them (validly re-signed), duplicates them and moves <c>--at</c> back
/// and forth; after every run: Σ debits = Σ credits per commodity, no escrow or collateral account below 0, each trade
/// in at most one final state (and never a different one later), the report equal to the ledger, and once every
/// deadline has passed no money left in escrow or collateral. Used with the embedded engine here and with the
/// contract on anvil in OpenTE.Settlement.Ethereum.Tests (this file is linked there).
/// </summary>
internal static class SettleSequences
{
    public sealed record Stats(int Runs, int Settled, int Refunded, int LateReadings, int Corrections, int HeldBack);

    public static Stats Check(int seed, string dir, Func<MarketRules, long, ISettlementBackend> backend, int runs, int trades, long t0, Action<string>? log = null)
    {
        var rng = new Random(seed);
        var set = SampleData.Generate(4, trades, seed, "cons" + seed, t0);
        Directory.CreateDirectory(dir);
        SampleData.Write(set, dir);
        string tradesCsv = Path.Combine(dir, "trades.csv"), ledger = Path.Combine(dir, "ledger.db");
        var market = MarketFile.Read(Path.Combine(dir, "market.json"));
        var rules = market.Rules;
        long lastStart = set.Trades.Max(t => t.Commitment.IntervalStart);
        long lastDeadline = rules.Deadline(lastStart);
        var finals = new Dictionary<string, Posting>(StringComparer.Ordinal);
        int settled = 0, refunded = 0, late = 0, corrections = 0, held = 0;
        var withheld = new HashSet<int>(); // readings not delivered so far
        for (int i = 0; i < set.Readings.Count; i++) if (rng.Next(3) == 0) withheld.Add(i);

        for (int run = 0; run < runs; run++)
        {
            // this run's readings: the ones delivered so far, some late ones now, corrections, duplicates
            var list = new List<SignedReading>();
            foreach (var i in withheld.ToList()) if (rng.Next(2) == 0) withheld.Remove(i);
            for (int i = 0; i < set.Readings.Count; i++)
            {
                if (withheld.Contains(i)) continue;
                var r = set.Readings[i];
                if (rng.Next(6) == 0)
                {
                    var meter = set.Meters.Single(k => k.Address == Addr.Normalize(r.Reading.Meter));
                    r = (r.Reading with { EnergyWh = Math.Max(0, r.Reading.EnergyWh + rng.Next(-500, 500)) }).Sign(meter);
                    corrections++;
                }
                list.Add(r);
                if (rng.Next(8) == 0) list.Add(r);
            }
            var readingsCsv = Path.Combine(dir, $"readings-{run}.csv");
            File.WriteAllText(readingsCsv, SettlementCsv.ReadingsHeader + "\n" + string.Concat(list.Select(r => SettlementCsv.Format(r) + "\n")));
            // --at back and forth: before the first interval ends, inside the grace, past some or all deadlines
            long at = rng.Next(5) switch
            {
                0 => t0 + rules.IntervalSeconds / 2,
                1 => t0 + rng.NextInt64(0, lastDeadline - t0),
                2 => lastDeadline - 1,
                _ => lastDeadline + rng.Next(0, 100_000),
            };
            var report = SettlementRun.Run(tradesCsv, readingsCsv, market, backend, ledger, at);
            late += report.ReadingOutcomes.Count(x => x.Status == "late");
            held += report.ReadingOutcomes.Count(x => x.Status is "late" || x.Status == "conflict" && x.Reason?.StartsWith("the ledger", StringComparison.Ordinal) == true);

            // Σ debits = Σ credits per commodity, every entry balanced, chain intact
            var v = SqliteLedger.Verify(ledger);
            Assert.True(v.Ok, $"seed {seed} run {run}: {v.Reason}");
            var balances = SqliteLedger.Balances(ledger);
            foreach (var c in new[] { Commodity.Money, Commodity.EnergyWh })
                Assert.True(balances.Where(kv => kv.Key.Commodity == c).Sum(kv => kv.Value) == 0, $"seed {seed} run {run}: Σ {c} ≠ 0");
            // no escrow or collateral account below 0
            foreach (var ((account, c), amount) in balances)
                if (c == Commodity.Money && SqliteLedger.IsLocked(account))
                    Assert.True(amount >= 0, $"seed {seed} run {run}: {account} = {amount}");
            // each trade in at most one final state, and a final state never changes
            var postings = SqliteLedger.Read(ledger).ToDictionary(p => p.Key, StringComparer.Ordinal);
            foreach (var t in report.TradeOutcomes.Where(t => t.Status != "refused"))
            {
                bool s = postings.TryGetValue("settle:" + t.Id, out var sp), r = postings.TryGetValue("refund:" + t.Id, out var rp);
                Assert.False(s && r, $"seed {seed} run {run}: trade {t.Id} settled and refunded");
                Assert.True(postings.ContainsKey("open:" + t.Id), $"seed {seed} run {run}: trade {t.Id} not opened in the ledger");
                var final = sp ?? rp;
                string state = s ? "settled" : r ? "refunded" : "open";
                Assert.True(state == t.Status, $"seed {seed} run {run}: trade {t.Id} is {t.Status} in the report, {state} in the ledger");
                if (final is null) continue;
                if (finals.TryGetValue(t.Id, out var before)) Assert.True(before.Lines.SequenceEqual(final.Lines) && before.Key == final.Key, $"seed {seed} run {run}: trade {t.Id} changed its final state");
                else finals[t.Id] = final;
            }
            // the report is the ledger
            var fromLedger = SettlementRun.LedgerBalances(ledger).ToDictionary(b => b.Participant);
            foreach (var b in report.Balances) Assert.Equal(fromLedger[b.Participant], b);
            Assert.Equal((0L, 0L), (report.MoneyTotal, report.EnergyTotal));
            // after the last deadline nothing is held any more
            if (at >= lastDeadline)
                foreach (var ((account, c), amount) in balances)
                    if (c == Commodity.Money && SqliteLedger.IsLocked(account)) Assert.True(amount == 0, $"seed {seed} run {run}: {account} still holds {amount} after every deadline");
            settled = report.Settled;
            refunded = report.Refunded;
            log?.Invoke($"seed {seed} run {run}: at {(at - t0) / 900.0:0.0} intervals, {list.Count} readings, settled {report.Settled}, refunded {report.Refunded}, open {report.StillOpen}, {report.NewPostings} new postings");
        }
        return new Stats(runs, settled, refunded, late, corrections, held);
    }
}
