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
/// `dotnet run -c Release --project bench/OpenTE.Bench -- --carbon [TRADES] [--runs N] [--settle-only] [--engine-only]`
/// (--settle-only: no loss factors; --engine-only: no SQLite ledger runs; N runs of each variant, default 5)
/// `-- --carbon [TRADES] --ledger-only [--runs N]`: the journal of each variant made once, then only its writes into a new SQLite
/// ledger timed (batches of 1000, synchronous=FULL), N pairs in alternating order.
/// </summary>
public static class CarbonBench
{
    private const long T0 = 1_780_272_000;

    public static int Run(string[] args)
    {
        int trades = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || args[i - 1] != "--runs")).Select(int.Parse).FirstOrDefault(100_000);
        int runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(5);
        if (args.Contains("--ledger-only"))
        {
            LedgerRuns(trades, runs);
            return 0;
        }
        if (args.Contains("--settle-only"))
        {
            SettleRuns(trades, runs, !args.Contains("--engine-only"));
            return 0;
        }
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
        SettleRuns(trades, runs, !args.Contains("--engine-only"));
        return 0;
    }

    /// <summary>
    /// Settlement of N trades without and with the carbon step, on the engine alone and (unless --engine-only) into the SQLite
    /// ledger: RUNS runs of each variant, in pairs whose order alternates (plain first, then carbon first, …), each run after a
    /// full collection (so neither inherits the other's garbage). Reported: the medians of wall and CPU time, their ratio, and the
    /// median of the per-pair ratios (each pair ran back to back, so it shares the machine's load at that moment).
    /// </summary>
    private static void SettleRuns(int trades, int runs, bool withLedger)
    {
        Console.WriteLine($"Settlement of {trades:N0} trades (open + reading + settle), without and with the carbon step (per settled trade: emissions by the");
        Console.WriteLine($"loss factors of case33bw, price and split, carbon lines folded into settle:ID); 400 participants; {runs} runs each, in pairs");
        Console.WriteLine($"of alternating order, a full GC before each run; load average {LoadAverage()}");
        var carbon = Community();
        var dir = Path.Combine(Path.GetTempPath(), "opente-carbon-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            Pipeline(2000, null, null);
            Pipeline(2000, carbon, null);
            foreach (bool ledger in withLedger ? new[] { false, true } : [false])
            {
                var plain = new List<(double Wall, Parts P)>();
                var with = new List<(double Wall, Parts P)>();
                for (int rep = 0; rep < runs; rep++)
                {
                    string p1 = Path.Combine(dir, $"plain{rep}{ledger}.db"), p2 = Path.Combine(dir, $"carbon{rep}{ledger}.db");
                    // interleaved, and the order alternates so that neither variant always runs second (warmer caches, a fuller disk)
                    if (rep % 2 == 0)
                    {
                        plain.Add(Measure(() => Pipeline(trades, null, ledger ? p1 : null)));
                        with.Add(Measure(() => Pipeline(trades, carbon, ledger ? p2 : null)));
                    }
                    else
                    {
                        with.Add(Measure(() => Pipeline(trades, carbon, ledger ? p2 : null)));
                        plain.Add(Measure(() => Pipeline(trades, null, ledger ? p1 : null)));
                    }
                    File.Delete(p1);
                    File.Delete(p2);
                }
                var (pc, wc) = (plain[^1].P, with[^1].P);
                string where = ledger ? "into the SQLite ledger (batches of 1000)" : "engine only (no ledger)";
                Console.WriteLine($"{where,-42} without: {pc.Entries} entries, {pc.Lines} lines; with carbon: {wc.Entries} entries, {wc.Lines} lines");
                // per measure: the medians of each variant, their ratio, and the median and the worst of the pairs' ratios (each pair ran
                // back to back, so it shares the machine's load at that moment)
                void Report(string what, Func<(double Wall, Parts P), double> f)
                {
                    double a = Median(plain.Select(f)), b = Median(with.Select(f));
                    var pairs = plain.Zip(with, (x, y) => f(y) / f(x)).ToArray();
                    Console.WriteLine($"{"",-42} {what,-34} without {a,7:0.000} s, with carbon {b,7:0.000} s: {Pct(b / a)}; pairs: median {Pct(Median(pairs))}, worst {Pct(pairs.Max())} " +
                                      $"({string.Join(" ", pairs.Select(Pct))})");
                }
                Report("wall time (incl. the final gen-1 GC)", x => x.Wall);
                Report("wall time without the final GC", x => x.Wall - x.P.FinalGc);
                Report("CPU time (process, all threads)", x => x.P.CpuSeconds);
                Report("CPU time (this thread)", x => x.P.ThreadCpu);
                if (ledger) Report("ledger writes, CPU (this thread)", x => x.P.LedgerCpu);
                Console.WriteLine($"{"",-42} the step's CPU time / the run's (process): {string.Join(", ", with.Select(x => (x.P.Steps.Cpu / x.P.CpuSeconds * 100).ToString("0.0") + " %"))}");
                Console.WriteLine($"{"",-42} runs without {string.Join(", ", plain.Select(x => x.Wall.ToString("0.000")))} s (CPU {string.Join(", ", plain.Select(x => x.P.CpuSeconds.ToString("0.000")))}; final GC {string.Join(", ", plain.Select(x => x.P.FinalGc.ToString("0.000")))})");
                Console.WriteLine($"{"",-42} runs with    {string.Join(", ", with.Select(x => x.Wall.ToString("0.000")))} s (CPU {string.Join(", ", with.Select(x => x.P.CpuSeconds.ToString("0.000")))}; final GC {string.Join(", ", with.Select(x => x.P.FinalGc.ToString("0.000")))})");
                Console.WriteLine($"{"",-42} allocated (this thread) per run: without {Median(plain.Select(x => (double)x.P.Allocated)) / 1e6:0.0} MB, with carbon {Median(with.Select(x => (double)x.P.Allocated)) / 1e6:0.0} MB " +
                                  $"({(Median(with.Select(x => (double)x.P.Allocated)) - Median(plain.Select(x => (double)x.P.Allocated))) / trades:0} bytes per trade more)");
                Console.WriteLine($"{"",-42} whole runs, collections of gen 0/1/2 and GC pauses: without {string.Join(", ", plain.Select(x => $"{x.P.RunGcs} {x.P.RunPause:0.00} s"))}; with {string.Join(", ", with.Select(x => $"{x.P.RunGcs} {x.P.RunPause:0.00} s"))}");
                Console.WriteLine($"{"",-42} the carbon step itself (medians): {Median(with.Select(x => x.P.CarbonSeconds)):0.000} s wall, {Median(with.Select(x => x.P.Steps.Cpu)):0.000} s CPU " +
                                  $"(emissions {Median(with.Select(x => x.P.Steps.Emissions)):0.000} s, engine postings {Median(with.Select(x => x.P.Steps.Postings)):0.000} s, " +
                                  $"folding {Median(with.Select(x => x.P.Steps.Fold)):0.000} s; GC pauses in the step {Median(with.Select(x => x.P.Steps.GcPauses)):0.000} s, " +
                                  $"{Median(with.Select(x => x.P.Steps.Allocated)) / 1e6:0.0} MB allocated ({Median(with.Select(x => x.P.Steps.Allocated)) / trades:0} bytes per trade); collections of gen 0/1/2 per run: {string.Join(", ", with.Select(x => x.P.Steps.Gcs))})" +
                                  (ledger ? $"; ledger writes {Median(plain.Select(x => x.P.LedgerSeconds)):0.000} s without, {Median(with.Select(x => x.P.LedgerSeconds)):0.000} s with carbon" : ""));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Console.WriteLine($"load average at the end {LoadAverage()}");
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec t);

    /// <summary>The CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID; NaN elsewhere): not the time it waited for a core or the disk.</summary>
    private static double ThreadCpu()
    {
        try { return ClockGetTime(3, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN; }
        catch (DllNotFoundException) { return double.NaN; }
        catch (EntryPointNotFoundException) { return double.NaN; }
    }

    private static string Pct(double ratio) => $"{(ratio - 1) * 100:+0.0;-0.0} %";

    private static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "n/a"; }
    }

    private static string Participant(int i) => $"0x{i + 1:x40}";

    private static CarbonData Community()
    {
        var net = BenchCases.Load("case33bw");
        var rng = new Random(3);
        var ps = Enumerable.Range(0, 400).Select(i => new CarbonParticipant(Participant(i), 1 + i % 33, rng.Next(4) == 0 ? rng.Next(200, 800) : 0));
        return new CarbonData(net, LossFactors.Compute(net), ps, UpstreamSeries.Constant(450)) { PricePerTonne = 9000 };
    }

    private static (double Seconds, Parts Count) Measure(Func<(double, Parts)> run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return run();
    }

    /// <summary>Journal entries and lines written, and inside the run's time: the carbon step's own (adjustments and folding) and the ledger writes'.</summary>
    private readonly record struct Parts(int Entries, long Lines, double CpuSeconds, double CarbonSeconds, double LedgerSeconds, string RunGcs, double RunPause,
        (double Emissions, double Postings, double Fold, double GcPauses, double Cpu, double Allocated, string Gcs) Steps, long Allocated, double FinalGc, double ThreadCpu, double LedgerCpu);

    /// <summary>
    /// The ledger's own cost: both variants' journals (200 400 entries each; the carbon one with 32 % more lines) made once by the
    /// pipeline, then posted RUNS times each into a new ledger file (batches of 1000, synchronous=FULL) in pairs of alternating
    /// order, a full collection before each. Reported: wall, process CPU and this thread's CPU, their medians, the pairs' ratios,
    /// and the CPU per extra line (the carbon journal's extra CPU over its extra lines).
    /// </summary>
    private static void LedgerRuns(int trades, int runs)
    {
        Console.WriteLine($"Ledger writes only: the journals of settling {trades:N0} trades without and with carbon, posted into a new SQLite ledger");
        Console.WriteLine($"(batches of 1000, synchronous=FULL); {runs} runs each in pairs of alternating order; load average {LoadAverage()}");
        var carbon = Community();
        var plainJournal = new List<Posting>();
        var carbonJournal = new List<Posting>();
        Pipeline(trades, null, null, plainJournal);
        Pipeline(trades, carbon, null, carbonJournal);
        long plainLines = plainJournal.Sum(p => (long)p.Lines.Count), carbonLines = carbonJournal.Sum(p => (long)p.Lines.Count);
        var dir = Path.Combine(Path.GetTempPath(), "opente-ledger-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            (double Wall, double Cpu, double Thread) Post(List<Posting> journal, string path)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                double t0 = ThreadCpu();
                var sw = Stopwatch.StartNew();
                using (var ledger = SqliteLedger.Open(path, Durability.Full))
                    for (int i = 0; i < journal.Count; i += 1000)
                        ledger.PostBatch(journal.GetRange(i, Math.Min(1000, journal.Count - i)));
                double wall = sw.Elapsed.TotalSeconds, thread = ThreadCpu() - t0;
                var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                File.Delete(path);
                return (wall, cpu, thread);
            }
            Post(plainJournal.GetRange(0, 20_000), Path.Combine(dir, "warm.db"));
            var plain = new List<(double Wall, double Cpu, double Thread)>();
            var with = new List<(double Wall, double Cpu, double Thread)>();
            for (int rep = 0; rep < runs; rep++)
            {
                if (rep % 2 == 0)
                {
                    plain.Add(Post(plainJournal, Path.Combine(dir, "p.db")));
                    with.Add(Post(carbonJournal, Path.Combine(dir, "c.db")));
                }
                else
                {
                    with.Add(Post(carbonJournal, Path.Combine(dir, "c.db")));
                    plain.Add(Post(plainJournal, Path.Combine(dir, "p.db")));
                }
            }
            Console.WriteLine($"without: {plainJournal.Count} entries, {plainLines} lines; with carbon: {carbonJournal.Count} entries, {carbonLines} lines (+{carbonLines - plainLines})");
            void Report(string what, Func<(double Wall, double Cpu, double Thread), double> f)
            {
                double a = Median(plain.Select(f)), b = Median(with.Select(f));
                var pairs = plain.Zip(with, (x, y) => f(y) / f(x)).ToArray();
                Console.WriteLine($"  {what,-26} without {a,7:0.000} s, with carbon {b,7:0.000} s: {Pct(b / a)}; pairs: median {Pct(Median(pairs))}, worst {Pct(pairs.Max())} ({string.Join(" ", pairs.Select(Pct))}); " +
                                  $"per extra line {(b - a) / (carbonLines - plainLines) * 1e6:0.00} µs, per line {a / plainLines * 1e6:0.00} µs");
            }
            Report("wall time", x => x.Wall);
            Report("CPU time (process)", x => x.Cpu);
            Report("CPU time (this thread)", x => x.Thread);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Console.WriteLine($"load average at the end {LoadAverage()}");
    }

    private static (double Seconds, Parts Parts) Pipeline(int n, CarbonData? carbon, string? path, List<Posting>? journal = null)
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
        long lines = 0;
        void Add(IEnumerable<Posting> ps)
        {
            foreach (var p in ps)
            {
                posted++;
                lines += p.Lines.Count;
                journal?.Add(p);
                if (ledger is null) continue;
                pending.Add(p);
                if (pending.Count >= 1000) Flush();
            }
        }
        var ledgerTime = new Stopwatch();
        double ledgerCpu = 0;
        void Flush()
        {
            ledgerTime.Start();
            double c0 = ThreadCpu();
            ledger!.PostBatch(pending);
            pending.Clear();
            ledgerCpu += ThreadCpu() - c0;
            ledgerTime.Stop();
        }
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        int[] runGcs = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var runPause = GC.GetTotalPauseDuration();
        long alloc0 = GC.GetAllocatedBytesForCurrentThread();
        double threadCpu0 = ThreadCpu();
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
        var settled = engine.Advance(now);
        var carbonTime = new Stopwatch();
        (double, double, double, double, double, double, string) steps = default;
        if (carbon is null) Add(settled);
        else
        {
            carbonTime.Start();
            // the carbon step as SettlementRun does it on the embedded backend: per settled trade with energy its adjustment, applied
            // to the balances (EscrowEngine.ApplyCarbonBatch, as EmbeddedBackend.PostCarbonBatch), then the settle postings with each
            // trade's carbon lines folded into its settle:ID entry (EscrowEngine.FoldCarbon, as EmbeddedBackend.FoldedPostings), so
            // the journal gets one entry per trade and no carbon:ID posting is made
            double hours = rules.IntervalSeconds / 3600.0;
            var gc0 = GC.GetTotalPauseDuration();
            var stepCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            long stepAlloc0 = GC.GetAllocatedBytesForCurrentThread();
            int[] gcs0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            var adjustments = new List<CarbonAdjustment>(engine.Trades.Count);
            foreach (var t in engine.Trades.Values)
            {
                var c = t.Commitment;
                if (t.State != TradeState.Settled || t.DeliveredWh == 0) continue;
                double grams = carbon.Grams(c.Seller, c.Buyer, t.DeliveredWh / 1000.0, hours, c.IntervalStart);
                adjustments.Add(CarbonAdjustment.From(t.Id, grams, carbon.PricePerTonne, carbon.BuyerShare));
            }
            var emissions = carbonTime.Elapsed.TotalSeconds;
            string G() => $"{GC.CollectionCount(0) - gcs0[0]}/{GC.CollectionCount(1) - gcs0[1]}/{GC.CollectionCount(2) - gcs0[2]}";
            var gcE = G();
            var applied = new List<TradeRecord>(adjustments.Count);
            var refusals = engine.ApplyCarbonBatch(adjustments, now, applied);
            if (Array.IndexOf(refusals, Refusal.Replay) >= 0 || applied.Count != adjustments.Count) throw new InvalidOperationException("a carbon adjustment was refused");
            var posting = carbonTime.Elapsed.TotalSeconds;
            var gcP = G();
            var folded = engine.FoldCarbon(settled, applied);
            carbonTime.Stop();
            steps = (emissions, posting - emissions, carbonTime.Elapsed.TotalSeconds - posting, (GC.GetTotalPauseDuration() - gc0).TotalSeconds,
                (Process.GetCurrentProcess().TotalProcessorTime - stepCpu0).TotalSeconds, GC.GetAllocatedBytesForCurrentThread() - stepAlloc0,
                $"{gcE}>{gcP}>{G()}");
            Add(folded);
        }
        if (ledger is not null && pending.Count > 0) Flush();
        // The run's young generation is collected inside the timed region (its objects are the run's results, and whichever
        // allocation next fills the budget pays for promoting them): without it, a run that ends just before a collection looks
        // cheaper than one that ends just after. Both variants pay it; its time is reported on its own.
        var final = Stopwatch.StartNew();
        GC.Collect(1, GCCollectionMode.Forced, blocking: true);
        final.Stop();
        return (sw.Elapsed.TotalSeconds, new Parts(posted, lines, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, carbonTime.Elapsed.TotalSeconds, ledgerTime.Elapsed.TotalSeconds,
            $"{GC.CollectionCount(0) - runGcs[0]}/{GC.CollectionCount(1) - runGcs[1]}/{GC.CollectionCount(2) - runGcs[2]}", (GC.GetTotalPauseDuration() - runPause).TotalSeconds, steps,
            GC.GetAllocatedBytesForCurrentThread() - alloc0, final.Elapsed.TotalSeconds, ThreadCpu() - threadCpu0, ledgerCpu));
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
