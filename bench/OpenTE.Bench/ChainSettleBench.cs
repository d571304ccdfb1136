using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using Nethereum.Hex.HexTypes;
using Nethereum.RPC.Eth.DTOs;
using OpenTE.Settlement;
using OpenTE.Settlement.Ethereum;

namespace OpenTE.Bench;

/// <summary>
/// Settlement on a local chain against the embedded engine in the same run, one settlement = open + reading + settle:
/// <list type="bullet">
/// <item>embedded: the engine in this process, each call in turn (the baseline of the ratios);</item>
/// <item>ethereum, unbatched: <see cref="EthereumBackend"/>, each call awaited (estimate, send, receipt) before the next;</item>
/// <item>ethereum, pipelined: all transactions sent without awaiting receipts (nonce, gas limit and EIP-1559 fees set
///   here, signed locally; at most 200 in flight), receipts polled every 5 ms in a second task; a barrier after the opens moves the chain's
///   clock past the intervals, then every reading and settle is sent back to back (nonce order keeps each reading before
///   its settle). Once with anvil mining each transaction (automine) and once with <c>--block-time 1</c>.</item>
/// <item>ethereum, batched: the contract's multicall, B opens / readings / settleGroup calls per transaction
///   (<see cref="EthereumBackend.OpenBatch"/>, <see cref="EthereumBackend.PostReadingBatch"/>, <see cref="EthereumBackend.Advance"/>), each awaited.</item>
/// </list>
/// Latency: per call (embedded, unbatched) or per transaction from send to the receipt seen (pipelined, batched; for the
/// settle transactions of the batched mode: Advance's time over its transactions).
/// `dotnet run -c Release --project bench/OpenTE.Bench -- --settle-chain [TRADES] [RPC_URL] [--modes=unbatched,pipelined,blocktime,batched] [--batch=B]`: without RPC_URL a fresh
/// anvil (contracts/node_modules, `--prune-history`) is started per chain mode and stopped by its pid; build the contract
/// first (cd contracts &amp;&amp; npm ci &amp;&amp; node build.js). With RPC_URL only the automine modes run, on that node.
/// </summary>
public static class ChainSettleBench
{
    private const string OperatorKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"; // anvil's dev account 0
    private const int People = 20;
    private const int Window = 200;

    private sealed record Row(string Backend, string Mode, int N, double Seconds, double P50, double P95);

    public static void Run(string[] args)
    {
        var rest = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        string? url = rest.FirstOrDefault(a => a.StartsWith("http", StringComparison.Ordinal));
        int n = rest.Where(a => !a.StartsWith("http", StringComparison.Ordinal)).Select(int.Parse).FirstOrDefault(200);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OpenTE.slnx"))) dir = dir.Parent;
        var root = dir?.FullName ?? ".";
        var artifact = Path.Combine(root, "contracts", "build", "EnergyEscrow.json");
        var anvilBin = Path.Combine(root, "contracts", "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");
        if (!File.Exists(artifact)) throw new InvalidOperationException($"{artifact} is missing: {SettlementBackends.BuildHint}");

        var keys = Enumerable.Range(0, People).Select(_ => KeyPair.Generate()).ToArray();
        var meters = Enumerable.Range(0, People).Select(_ => KeyPair.Generate()).ToArray();
        var rules = new MarketRules("bench-chain", GraceSeconds: 30 * 86_400); // long grace: the pipelined readings come after every interval
        Console.WriteLine($"Settlement of {n} trades (open + reading + settle), contract on anvil {(url ?? "(fresh per mode)")} vs the embedded engine, one run");

        Unbatched(new EmbeddedBackend(rules), keys, meters, rules, Math.Min(n, 50), "warm-up (not reported)");
        var rows = new List<Row> { Unbatched(new EmbeddedBackend(rules), keys, meters, rules, n, "each call in turn") };
        Row Chain(Func<string, Row> run)
        {
            if (url is not null) return run(url);
            using var a = AnvilProcess.Start(anvilBin);
            return run(a.Url);
        }
        var modes = (args.FirstOrDefault(a => a.StartsWith("--modes=", StringComparison.Ordinal))?["--modes=".Length..] ?? "unbatched,pipelined,blocktime,batched").Split(',');
        int batch = int.Parse(args.FirstOrDefault(a => a.StartsWith("--batch=", StringComparison.Ordinal))?["--batch=".Length..] ?? "50");
        if (modes.Contains("unbatched")) rows.Add(Chain(u => Unbatched(Deploy(u, rules, artifact, null), keys, meters, rules, n, "unbatched, each call awaited")));
        if (modes.Contains("pipelined")) rows.Add(Chain(u => Pipelined(Deploy(u, rules, artifact, null), keys, meters, rules, n, null, "pipelined, automine")));
        if (modes.Contains("blocktime")) rows.Add(Chain(u => Pipelined(Deploy(u, rules, artifact, null), keys, meters, rules, n, 1, "pipelined, block time 1 s")));
        if (modes.Contains("batched")) rows.Add(Chain(u => Batched(Deploy(u, rules, artifact, null), keys, meters, rules, n, batch, $"batched, multicall of {batch}, each awaited")));

        Console.WriteLine();
        Console.WriteLine("| backend | mode | settlements | seconds | settlements/s | p50 ms | p95 ms | rate vs embedded |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        double baseRate = rows[0].N / rows[0].Seconds;
        foreach (var r in rows)
        {
            double rate = r.N / r.Seconds;
            Console.WriteLine($"| {r.Backend} | {r.Mode} | {r.N} | {r.Seconds:0.000} | {rate:0.0} | {r.P50:0.000} | {r.P95:0.000} | {rate / baseRate:0.00000}× |");
        }
    }

    private static EthereumBackend Deploy(string url, MarketRules rules, string artifact, long? start) =>
        new(url, OperatorKey, rules, artifact, SettlementBackends.ChainId(url), start);

    private static void Setup(ISettlementBackend be, KeyPair[] keys, KeyPair[] meters, long now)
    {
        for (int i = 0; i < People; i++) be.RegisterMeter(meters[i].Address, keys[i].Address);
        for (int i = 0; i < People; i++)
            if (be.Deposit(keys[i].Address, 1_000_000_000_000, now) != Refusal.None) throw new InvalidOperationException("deposit refused");
    }

    /// <summary>Trade i: seller i mod 20 in interval i / 20, so that every settleGroup settles one trade (pre-signed: signing is not measured).</summary>
    private static List<(long Iv, SignedCommitment C, SignedReading R)> Trades(KeyPair[] keys, KeyPair[] meters, MarketRules rules, int n, long t0) =>
        Enumerable.Range(0, n).Select(i =>
        {
            int s = i % People, k = i / People, b = (s + 1 + k % (People - 1)) % People;
            long iv = t0 + rules.IntervalSeconds * k;
            return (iv, new TradeCommitment(rules.Market, iv, keys[b].Address, keys[s].Address, 1000 + i, 50_000, (ulong)i + 1, iv).Sign(keys[b], keys[s]),
                new OracleReading(rules.Market, meters[s].Address, iv, 900 + i).Sign(meters[s]));
        }).ToList();

    private static long Start(ISettlementBackend be) =>
        be is EthereumBackend eb ? (long)eb.Web3.Eth.Blocks.GetBlockWithTransactionsHashesByNumber.SendRequestAsync(BlockParameter.CreateLatest()).GetAwaiter().GetResult().Timestamp.Value
        : DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>Per trade: open, reading at the interval end, advance; each call finished before the next.</summary>
    private static Row Unbatched(ISettlementBackend be, KeyPair[] keys, KeyPair[] meters, MarketRules rules, int n, string mode)
    {
        using var _ = be;
        long now = Start(be) + 10;
        Setup(be, keys, meters, now);
        long t0 = (now / rules.IntervalSeconds + 4) * rules.IntervalSeconds;
        // one trade per interval here: the clock moves forward trade by trade
        var trades = Enumerable.Range(0, n).Select(i =>
        {
            int s = i % People, b = (s + 1 + i / People % (People - 1)) % People;
            long iv = t0 + 2 * rules.IntervalSeconds * i;
            return (Iv: iv, C: new TradeCommitment(rules.Market, iv, keys[b].Address, keys[s].Address, 1000 + i, 50_000, (ulong)i + 1, iv).Sign(keys[b], keys[s]),
                R: new OracleReading(rules.Market, meters[s].Address, iv, 900 + i).Sign(meters[s]));
        }).ToList();
        var lat = new List<double>(3 * n);
        var call = new Stopwatch();
        var sw = Stopwatch.StartNew();
        foreach (var (iv, c, r) in trades)
        {
            call.Restart();
            if (be.Open(c, Math.Max(now++, iv - 100)) != Refusal.None) throw new InvalidOperationException("open refused");
            lat.Add(call.Elapsed.TotalMilliseconds);
            call.Restart();
            if (be.PostReading(r, rules.IntervalEnd(iv)) != Refusal.None) throw new InvalidOperationException("reading refused");
            lat.Add(call.Elapsed.TotalMilliseconds);
            call.Restart();
            if (be.Advance(rules.IntervalEnd(iv) + 1) != 1) throw new InvalidOperationException("not settled");
            lat.Add(call.Elapsed.TotalMilliseconds);
            now = rules.IntervalEnd(iv) + 2;
        }
        double secs = sw.Elapsed.TotalSeconds;
        Check(be, trades.Select(t => t.C).ToList(), n);
        var row = new Row(be.Name, mode, n, secs, Pct(lat, 0.50), Pct(lat, 0.95));
        Console.WriteLine($"  {row.Backend}, {row.Mode}: {secs:0.000} s");
        return row;
    }

    /// <summary>Opens in multicalls of <paramref name="b"/>, then (after the intervals) readings, then one Advance settling every group in multicalls.</summary>
    private static Row Batched(EthereumBackend be, KeyPair[] keys, KeyPair[] meters, MarketRules rules, int n, int b, string mode)
    {
        using var _ = be;
        be.BatchSize = b;
        long now = Start(be) + 10;
        Setup(be, keys, meters, now);
        long t0 = (now / rules.IntervalSeconds + 4) * rules.IntervalSeconds;
        var trades = Trades(keys, meters, rules, n, t0);
        var lat = new List<double>();
        var call = new Stopwatch();
        var sw = Stopwatch.StartNew();
        for (int a = 0; a < n; a += b)
        {
            call.Restart();
            var r = be.OpenBatch([.. trades.Skip(a).Take(b).Select(t => t.C)], now + 1);
            if (r.Any(x => x != Refusal.None)) throw new InvalidOperationException("open refused: " + r.First(x => x != Refusal.None));
            lat.Add(call.Elapsed.TotalMilliseconds);
        }
        long after = rules.IntervalEnd(trades.Max(t => t.Iv));
        for (int a = 0; a < n; a += b)
        {
            call.Restart();
            var r = be.PostReadingBatch([.. trades.Skip(a).Take(b).Select(t => t.R)], after);
            if (r.Any(x => x != Refusal.None)) throw new InvalidOperationException("reading refused: " + r.First(x => x != Refusal.None));
            lat.Add(call.Elapsed.TotalMilliseconds);
        }
        call.Restart();
        if (be.Advance(after + 1) != n) throw new InvalidOperationException("not all settled");
        int txs = (n + b - 1) / b;
        for (int i = 0; i < txs; i++) lat.Add(call.Elapsed.TotalMilliseconds / txs);
        double secs = sw.Elapsed.TotalSeconds;
        Check(be, trades.Select(t => t.C).ToList(), n);
        var row = new Row(be.Name, mode, n, secs, Pct(lat, 0.50), Pct(lat, 0.95));
        Console.WriteLine($"  {row.Backend}, {row.Mode}: {secs:0.000} s");
        return row;
    }

    /// <summary>Opens, then (after the clock is moved past the intervals) readings and settles, without awaiting each receipt.</summary>
    private static Row Pipelined(EthereumBackend be, KeyPair[] keys, KeyPair[] meters, MarketRules rules, int n, int? blockTime, string mode)
    {
        using var _ = be;
        long now = Start(be) + 10;
        Setup(be, keys, meters, now);
        // as anvil --block-time N from here on (the set-up above is mined per transaction)
        if (blockTime is { } bt) be.Web3.Client.SendRequestAsync<object>("evm_setIntervalMining", null, bt).GetAwaiter().GetResult();
        long t0 = ((now + 3600) / rules.IntervalSeconds + 1) * rules.IntervalSeconds; // an hour of margin for the opens
        var trades = Trades(keys, meters, rules, n, t0);
        var web3 = be.Web3;
        var from = web3.TransactionManager.Account.Address;
        ulong nonce = (ulong)web3.Eth.Transactions.GetTransactionCount.SendRequestAsync(from, BlockParameter.CreatePending()).GetAwaiter().GetResult().Value;
        var baseFee = web3.Eth.Blocks.GetBlockWithTransactionsHashesByNumber.SendRequestAsync(BlockParameter.CreateLatest()).GetAwaiter().GetResult().BaseFeePerGas.Value;
        var tip = new HexBigInteger(1_000_000_000);
        var maxFee = new HexBigInteger(baseFee * 4 + tip.Value);
        var market = Addr.Keccak(rules.Market);
        var open = be.Contract.GetFunction("open");
        var post = be.Contract.GetFunction("postReading");
        var settle = be.Contract.GetFunction("settleGroup");

        var sent = new List<(string Hash, long Ticks)>(3 * n);
        var lat = new List<double>(3 * n);
        int failed = 0, done = 0;
        var sw = Stopwatch.StartNew();
        void Send(string data, long gas)
        {
            // at most Window transactions in flight (anvil with interval mining lost a transaction when ~340 arrived
            // for one block; a bounded window is what a real sender does anyway)
            while (true)
            {
                lock (sent) if (sent.Count - Volatile.Read(ref done) < Window) break;
                Thread.Sleep(1);
            }
            var tx = new TransactionInput(data, be.Address, from, new HexBigInteger(gas), null)
            {
                Nonce = new HexBigInteger(nonce++), MaxFeePerGas = maxFee, MaxPriorityFeePerGas = tip, Type = new HexBigInteger(2),
            };
            var hash = web3.TransactionManager.SendTransactionAsync(tx).GetAwaiter().GetResult();
            if (Environment.GetEnvironmentVariable("BENCH_DEBUG") == "1" && nonce % 50 == 0) Console.Error.WriteLine($"sent nonce {nonce - 1}, {done} receipts");
            lock (sent) sent.Add((hash, Stopwatch.GetTimestamp()));
        }
        // the receipt poller: receipts of one sender come in nonce order, so it waits on the oldest outstanding one
        Task Poll(int until) => Task.Run(async () =>
        {
            while (done < until)
            {
                (string Hash, long Ticks) next;
                lock (sent)
                {
                    if (done >= sent.Count) next = default;
                    else next = sent[done];
                }
                if (next.Hash is null) { await Task.Delay(5); continue; }
                var r = await web3.Eth.Transactions.GetTransactionReceipt.SendRequestAsync(next.Hash);
                if (r is null)
                {
                    if (Environment.GetEnvironmentVariable("BENCH_DEBUG") == "1" && Stopwatch.GetElapsedTime(next.Ticks) > TimeSpan.FromSeconds(5))
                    {
                        var t = await web3.Eth.Transactions.GetTransactionByHash.SendRequestAsync(next.Hash);
                        Console.Error.WriteLine($"stuck on {next.Hash} (#{done}): {(t is null ? "unknown to the node" : $"nonce {t.Nonce.Value}, block {t.BlockNumber?.Value}")}");
                        await Task.Delay(2000);
                    }
                    await Task.Delay(5);
                    continue;
                }
                lat.Add(Stopwatch.GetElapsedTime(next.Ticks).TotalMilliseconds);
                if (r.Status.Value != 1) failed++;
                done++;
            }
        });

        var poller = Poll(n);
        foreach (var (iv, c, _) in trades)
        {
            var k = c.Commitment;
            Send(open.GetData(market, (ulong)iv, k.Buyer, k.Seller, (ulong)k.QuantityWh, (ulong)k.PricePerMWh, k.Nonce, (ulong)k.Expiry,
                Hex(c.BuyerSignature), Hex(c.SellerSignature)), 400_000);
        }
        poller.GetAwaiter().GetResult();
        // barrier: every interval is over (the deadlines are 30 days later)
        long after = rules.IntervalEnd(trades[^1].Iv) + 1;
        web3.Client.SendRequestAsync<object>("evm_setNextBlockTimestamp", null, after).GetAwaiter().GetResult();
        web3.Client.SendRequestAsync<object>("evm_mine", null).GetAwaiter().GetResult();
        poller = Poll(3 * n);
        foreach (var (iv, c, r) in trades)
        {
            Send(post.GetData(market, r.Reading.Meter, (ulong)iv, (ulong)r.Reading.EnergyWh, Hex(r.Signature)), 200_000);
            Send(settle.GetData((ulong)iv, c.Commitment.Seller, new List<byte[]> { Hex(c.Commitment.Id) }), 300_000);
        }
        poller.GetAwaiter().GetResult();
        double secs = sw.Elapsed.TotalSeconds;
        if (failed > 0) throw new InvalidOperationException($"{failed} transactions reverted");
        var h = be.History();
        int settled = h.Trades.Values.Count(t => t.State == TradeState.Settled);
        if (settled != n) throw new InvalidOperationException($"{settled} of {n} trades settled");
        var row = new Row(be.Name, mode, n, secs, Pct(lat, 0.50), Pct(lat, 0.95));
        Console.WriteLine($"  {row.Backend}, {row.Mode}: {secs:0.000} s");
        return row;
    }

    private static byte[] Hex(string h) => Convert.FromHexString(h.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? h[2..] : h);

    private static void Check(ISettlementBackend be, List<SignedCommitment> cs, int n)
    {
        int settled = cs.Count(c => be.Trade(c.Commitment.Id)?.State == TradeState.Settled);
        if (settled != n) throw new InvalidOperationException($"{settled} of {n} trades settled on {be.Name}");
    }

    private static double Pct(List<double> xs, double q)
    {
        var s = xs.Order().ToList();
        return s.Count == 0 ? double.NaN : s[Math.Min(s.Count - 1, (int)(s.Count * q))];
    }

    /// <summary>A fresh anvil on a free port, stopped by its pid.</summary>
    private sealed class AnvilProcess : IDisposable
    {
        private readonly Process _p;
        public string Url { get; }

        private AnvilProcess(Process p, string url) => (_p, Url) = (p, url);

        public static AnvilProcess Start(string bin)
        {
            if (!File.Exists(bin)) throw new InvalidOperationException($"{bin} is missing: run 'cd contracts && npm ci'");
            int port;
            using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
            var p = Process.Start(new ProcessStartInfo(bin, ["--host", "127.0.0.1", "--port", port.ToString(), "--chain-id", "31337", "--quiet", "--prune-history"])
            { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var url = $"http://127.0.0.1:{port}";
            var sw = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    SettlementBackends.ChainId(url);
                    return new AnvilProcess(p, url);
                }
                catch (BackendException) when (sw.Elapsed < TimeSpan.FromSeconds(20))
                {
                    Thread.Sleep(50);
                }
            }
        }

        public void Dispose()
        {
            try { _p.Kill(); } catch (InvalidOperationException) { }
            _p.WaitForExit(5000);
            _p.Dispose();
        }
    }
}
