using System.Diagnostics;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Carbon;
using OpenTE.Settlement;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Bench;

/// <summary>
/// Carbon (issue #20): marginal loss factors against the AC power flow they start from (the factors' own cost = one Jacobian,
/// one LU, two transposed solves, the DC approximation), and settlement of N trades with and without the carbon step, in the
/// same run, on the engine alone and into the SQLite ledger.
/// `dotnet run -c Release --project bench/OpenTE.Bench -- --carbon [TRADES]`
/// </summary>
public static class CarbonBench
{
    private const long T0 = 1_780_272_000;

    public static int Run(string[] args)
    {
        int trades = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).Select(int.Parse).FirstOrDefault(100_000);
        Console.WriteLine("Marginal loss factors (medians of 9 warm runs each, the two interleaved; the first, cold, call in its own column)");
        Console.WriteLine($"{"case",-18} {"buses",6} {"AC PF ms",9} {"PF + MLF ms",12} {"MLF extra ms",13} {"cold PF + MLF ms",17}");
        foreach (var name in new[] { "case33bw", "case118", "case_ACTIVSg2000" })
        {
            var net = BenchCases.Load(name);
            var sw = Stopwatch.StartNew();
            LossFactors.Compute(net);
            double cold = sw.Elapsed.TotalSeconds;
            var (pf, mlf) = Interleaved(() => AcPowerFlow.Solve(net), () => LossFactors.Compute(net));
            Console.WriteLine($"{name,-18} {net.BusCount,6} {pf * 1e3,9:0.0} {mlf * 1e3,12:0.0} {(mlf - pf) * 1e3,13:0.0} {cold * 1e3,17:0.0}");
        }

        Console.WriteLine();
        Console.WriteLine($"Settlement of {trades:N0} trades (open + reading + settle), without and with the carbon step (per settled trade: emissions by the");
        Console.WriteLine("loss factors of case33bw, price and split, carbon:ID posting); 400 participants; median of 3 runs each, interleaved");
        var carbon = Community();
        var dir = Path.Combine(Path.GetTempPath(), "opente-carbon-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            Pipeline(2000, null, null);
            Pipeline(2000, carbon, null);
            foreach (bool ledger in new[] { false, true })
            {
                var plain = new List<double>();
                var with = new List<double>();
                int postingsPlain = 0, postingsWith = 0;
                for (int rep = 0; rep < 3; rep++)
                {
                    string p1 = Path.Combine(dir, $"plain{rep}{ledger}.db"), p2 = Path.Combine(dir, $"carbon{rep}{ledger}.db");
                    (double s1, postingsPlain) = Pipeline(trades, null, ledger ? p1 : null);
                    (double s2, postingsWith) = Pipeline(trades, carbon, ledger ? p2 : null);
                    plain.Add(s1);
                    with.Add(s2);
                }
                double a = plain.Order().ElementAt(1), b = with.Order().ElementAt(1);
                string where = ledger ? "into the SQLite ledger (batches of 1000)" : "engine only (no ledger)";
                Console.WriteLine($"{where,-42} without {a:0.000} s ({postingsPlain} postings), with carbon {b:0.000} s ({postingsWith} postings): +{(b / a - 1) * 100:0.0} %");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        return 0;
    }

    private static string Participant(int i) => $"0x{i + 1:x40}";

    private static CarbonData Community()
    {
        var net = BenchCases.Load("case33bw");
        var rng = new Random(3);
        var ps = Enumerable.Range(0, 400).Select(i => new CarbonParticipant(Participant(i), 1 + i % 33, rng.Next(4) == 0 ? rng.Next(200, 800) : 0));
        return new CarbonData(net, LossFactors.Compute(net), ps, UpstreamSeries.Constant(450)) { PricePerTonne = 9000 };
    }

    private static (double Seconds, int Postings) Pipeline(int n, CarbonData? carbon, string? path)
    {
        var rng = new Random(42);
        var rules = new MarketRules("bench");
        var engine = new EscrowEngine(rules);
        var participants = Enumerable.Range(0, 400).Select(Participant).ToArray();
        var meters = Enumerable.Range(0, 400).Select(i => $"0x{i + 100_001:x40}").ToArray();
        for (int i = 0; i < participants.Length; i++) engine.RegisterMeter(meters[i], participants[i]);
        using var ledger = path is null ? null : SqliteLedger.Open(path, Durability.Full);
        var pending = new List<Posting>(1000);
        int posted = 0;
        void Add(IEnumerable<Posting> ps)
        {
            foreach (var p in ps)
            {
                posted++;
                if (ledger is null) continue;
                pending.Add(p);
                if (pending.Count >= 1000) { ledger.PostBatch(pending); pending.Clear(); }
            }
        }
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < participants.Length; i++) Add(engine.Deposit(participants[i], 1_000_000_000_000, $"dep:{i}", T0 - 10).Postings);
        int intervals = Math.Max(1, n / 200);
        var committed = new Dictionary<(int, long), long>();
        var opened = new List<TradeCommitment>(n);
        for (int k = 0; k < n; k++)
        {
            int b = rng.Next(participants.Length), s = (b + 1 + rng.Next(participants.Length - 1)) % participants.Length;
            long iv = T0 + 900L * (k % intervals);
            long q = rng.Next(1, 5000);
            var c = new TradeCommitment("bench", iv, participants[b], participants[s], q, rng.Next(0, 40_000), (ulong)k + 1, iv);
            var r = engine.Open(new SignedCommitment(c, "", ""), T0 - 1, skipSignatureCheck: true);
            if (!r.Accepted) throw new InvalidOperationException(r.Message);
            Add(r.Postings);
            opened.Add(c);
            committed[(s, iv)] = committed.GetValueOrDefault((s, iv)) + q;
        }
        foreach (var ((s, iv), q) in committed)
        {
            var r = engine.PostReading(new SignedReading(new OracleReading("bench", meters[s], iv, q * rng.Next(80, 121) / 100), ""), rules.IntervalEnd(iv), skipSignatureCheck: true);
            if (!r.Accepted) throw new InvalidOperationException(r.Message);
        }
        long now = rules.Deadline(T0 + 900L * intervals);
        Add(engine.Advance(now));
        if (carbon is not null)
        {
            double hours = rules.IntervalSeconds / 3600.0;
            foreach (var t in engine.Trades.Values)
            {
                var c = t.Commitment;
                if (t.State != TradeState.Settled || t.DeliveredWh == 0) continue;
                var tc = carbon.Trade(c.Seller, c.Buyer, t.DeliveredWh / 1000.0, hours, c.IntervalStart);
                var r = engine.PostCarbon(CarbonAdjustment.From(t.Id, tc.Grams, carbon.PricePerTonne, carbon.BuyerShare), now);
                if (!r.Accepted) throw new InvalidOperationException(r.Message);
                Add(r.Postings);
            }
        }
        if (ledger is not null && pending.Count > 0) ledger.PostBatch(pending);
        return (sw.Elapsed.TotalSeconds, posted);
    }

    private static (double A, double B) Interleaved(Action a, Action b)
    {
        var ta = new List<double>();
        var tb = new List<double>();
        for (int i = 0; i < 9; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            ta.Add(sw.Elapsed.TotalSeconds);
            sw.Restart();
            b();
            tb.Add(sw.Elapsed.TotalSeconds);
        }
        return (ta.Order().ElementAt(4), tb.Order().ElementAt(4));
    }

    private static double Median(Action a)
    {
        var t = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            var sw = Stopwatch.StartNew();
            a();
            t.Add(sw.Elapsed.TotalSeconds);
        }
        return t.Order().ElementAt(3);
    }
}
