using System.Diagnostics;
using OpenTE.Settlement;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Bench;

/// <summary>
/// Settlement throughput into the SQLite ledger (WAL, synchronous=FULL) batched against unbatched in the
/// same run, signature checks per second, and verify time of a 1,000,000-entry ledger.
/// `dotnet run -c Release --project bench/OpenTE.Bench -- --settle [TRADES] [VERIFY_ENTRIES]`
/// </summary>
public static class SettleBench
{
    private const long T0 = 1_780_272_000;

    public static void Run(string[] args)
    {
        var nums = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).Select(long.Parse).ToArray();
        int trades = nums.Length > 0 ? (int)nums[0] : 100_000;
        long verifyEntries = nums.Length > 1 ? nums[1] : 1_000_000;
        var dir = Path.Combine(Path.GetTempPath(), "opente-settle-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            Console.WriteLine("Settlement into the SQLite ledger (WAL, synchronous=FULL: every commit fsyncs the WAL)");
            Console.WriteLine("one settlement = open (escrow lock) + meter reading + settle, two postings (open:ID, settle:ID) in the ledger;");
            Console.WriteLine("signatures are checked separately below (ecrecover is the costly part and parallelises)");
            var participants = Enumerable.Range(0, 400).Select(i => $"0x{i + 1:x40}").ToArray();
            var meters = Enumerable.Range(0, 400).Select(i => $"0x{i + 100_001:x40}").ToArray();

            // warm-up and baseline: one transaction per posting, in the same run
            Pipeline(participants, meters, 300, 1, Path.Combine(dir, "warm.db"));
            int baseN = Math.Min(trades, 3000);
            var (baseSecs, basePostings) = Pipeline(participants, meters, baseN, 1, Path.Combine(dir, "unbatched.db"));
            double baseRate = baseN / baseSecs;
            Console.WriteLine($"{"mode",-34} {"settlements",12} {"postings",10} {"seconds",9} {"settlements/s",14} {"ratio",7}");
            Console.WriteLine($"{"unbatched (1 posting/transaction)",-34} {baseN,12} {basePostings,10} {baseSecs,9:0.000} {baseRate,14:0} {1.0,6:0.0}x");
            foreach (int batch in new[] { 100, 1000, 5000 })
            {
                var (secs, postings) = Pipeline(participants, meters, trades, batch, Path.Combine(dir, $"batched{batch}.db"));
                double rate = trades / secs;
                Console.WriteLine($"{$"batched ({batch} postings/transaction)",-34} {trades,12} {postings,10} {secs,9:0.000} {rate,14:0} {rate / baseRate,6:0.0}x");
                var v = SqliteLedger.Verify(Path.Combine(dir, $"batched{batch}.db"));
                if (!v.Ok) throw new InvalidOperationException("bench ledger does not verify: " + v.Reason);
            }

            // signatures
            var keys = Enumerable.Range(0, 8).Select(_ => KeyPair.Generate()).ToArray();
            var signed = Enumerable.Range(0, 1000).Select(i =>
                new TradeCommitment("bench", T0 + 900, keys[i % 8].Address, keys[(i + 1) % 8].Address, 1000 + i, 50_000, (ulong)i, T0 + 900).Sign(keys[i % 8], keys[(i + 1) % 8])).ToList();
            var sw = Stopwatch.StartNew();
            foreach (var s in signed)
                if (Addr.Recover(s.Commitment.Digest(), s.BuyerSignature) is null) throw new InvalidOperationException();
            double one = signed.Count / sw.Elapsed.TotalSeconds;
            sw.Restart();
            Parallel.ForEach(signed, s => { if (Addr.Recover(s.Commitment.Digest(), s.BuyerSignature) is null) throw new InvalidOperationException(); });
            double par = signed.Count / sw.Elapsed.TotalSeconds;
            sw.Restart();
            var k0 = keys[0];
            foreach (var s in signed.Take(300)) k0.SignDigest(s.Commitment.Digest());
            double signRate = 300 / sw.Elapsed.TotalSeconds;
            Console.WriteLine($"signature recovery (ecrecover): {one:0}/s on 1 thread, {par:0}/s on {Environment.ProcessorCount} threads; signing {signRate:0}/s;");
            Console.WriteLine($"  a commitment needs 2 recoveries and a reading 1: full signed pipeline ≈ {par / 2.0:0} commitments/s on this machine");

            // verify time for a large ledger
            var big = Path.Combine(dir, "big.db");
            sw.Restart();
            using (var l = SqliteLedger.Open(big, Durability.Full))
            {
                var batch = new List<Posting>(10_000);
                for (long i = 1; i <= verifyEntries; i++)
                {
                    long a = 1 + i % 997;
                    batch.Add(new Posting($"settle:{i:x16}", "settle", T0 + i, [
                        new Line(participants[i % 400] + ":escrow", Commodity.Money, -a), new Line(participants[(i + 1) % 400] + ":available", Commodity.Money, a),
                        new Line(participants[(i + 1) % 400] + ":energy", Commodity.EnergyWh, -(a * 10)), new Line(participants[i % 400] + ":energy", Commodity.EnergyWh, a * 10)]));
                    if (batch.Count == 10_000 || i == verifyEntries) { l.PostBatch(batch); batch.Clear(); }
                }
            }
            double buildSecs = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var vr = SqliteLedger.Verify(big);
            double verifySecs = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"ledger of {vr.Entries:N0} entries ({new FileInfo(big).Length / 1e6:0} MB): written in {buildSecs:0.0} s ({verifyEntries / buildSecs:0} postings/s, batches of 10,000), " +
                              $"verify {verifySecs:0.00} s ({vr.Entries / verifySecs:0} entries/s), ok = {vr.Ok}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Opens, meters and settles n trades (signatures not re-checked) and posts everything in batches; returns wall seconds and postings.</summary>
    private static (double Seconds, int Postings) Pipeline(string[] participants, string[] meters, int n, int batchSize, string path)
    {
        var rng = new Random(42);
        var rules = new MarketRules("bench");
        var engine = new EscrowEngine(rules);
        for (int i = 0; i < participants.Length; i++) engine.RegisterMeter(meters[i], participants[i]);
        using var ledger = SqliteLedger.Open(path, Durability.Full);
        var pending = new List<Posting>(batchSize);
        int posted = 0;
        void Flush(bool all)
        {
            if (pending.Count >= batchSize || (all && pending.Count > 0))
            {
                posted += ledger.PostBatch(pending);
                pending.Clear();
            }
        }
        void Add(IEnumerable<Posting> ps)
        {
            foreach (var p in ps) { pending.Add(p); Flush(false); }
        }
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < participants.Length; i++) Add(engine.Deposit(participants[i], 1_000_000_000_000, $"dep:{i}", T0 - 10).Postings);
        int intervals = Math.Max(1, n / 200);
        var committed = new Dictionary<(int, long), long>();
        for (int k = 0; k < n; k++)
        {
            int b = rng.Next(participants.Length), s = (b + 1 + rng.Next(participants.Length - 1)) % participants.Length;
            long iv = T0 + 900L * (k % intervals);
            long q = rng.Next(1, 5000);
            var c = new TradeCommitment("bench", iv, participants[b], participants[s], q, rng.Next(0, 40_000), (ulong)k + 1, iv);
            var r = engine.Open(new SignedCommitment(c, "", ""), T0 - 1, skipSignatureCheck: true);
            if (!r.Accepted) throw new InvalidOperationException(r.Message);
            Add(r.Postings);
            committed[(s, iv)] = committed.GetValueOrDefault((s, iv)) + q;
        }
        foreach (var ((s, iv), q) in committed)
        {
            var r = engine.PostReading(new SignedReading(new OracleReading("bench", meters[s], iv, q * rng.Next(80, 121) / 100), ""), rules.IntervalEnd(iv), skipSignatureCheck: true);
            if (!r.Accepted) throw new InvalidOperationException(r.Message);
        }
        Add(engine.Advance(rules.Deadline(T0 + 900L * intervals)));
        Flush(true);
        return (sw.Elapsed.TotalSeconds, posted);
    }
}
