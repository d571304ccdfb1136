using System.Diagnostics;
using OpenTE.Settlement;
using OpenTE.Settlement.Ethereum;

namespace OpenTE.Bench;

/// <summary>
/// Settlement on a local chain against the embedded engine in the same run: per trade open + reading + settle,
/// each call awaited (unbatched), wall time and p50/p95 latency per call.
/// Start anvil first (contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil --port 8545 --prune-history)
/// and build the contract (cd contracts &amp;&amp; node build.js), then
/// `dotnet run -c Release --project bench/OpenTE.Bench -- --settle-chain [RPC_URL] [TRADES]`.
/// </summary>
public static class ChainSettleBench
{
    private const string OperatorKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"; // anvil's dev account 0

    public static void Run(string[] args)
    {
        var rest = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        string url = rest.FirstOrDefault(a => a.StartsWith("http", StringComparison.Ordinal)) ?? "http://127.0.0.1:8545";
        int n = rest.Where(a => !a.StartsWith("http", StringComparison.Ordinal)).Select(int.Parse).FirstOrDefault(200);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OpenTE.slnx"))) dir = dir.Parent;
        var artifact = Path.Combine(dir?.FullName ?? ".", "contracts", "build", "EnergyEscrow.json");
        var keys = Enumerable.Range(0, 20).Select(_ => KeyPair.Generate()).ToArray();
        var meters = Enumerable.Range(0, 20).Select(_ => KeyPair.Generate()).ToArray();
        long t0 = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 900 + 400_000) * 900;
        var rules = new MarketRules("bench-chain");
        // pre-sign (signing is not what is measured)
        var trades = Enumerable.Range(0, n).Select(i =>
        {
            int b = i % 20, s = (i + 1 + i / 20 % 19) % 20;
            long iv = t0 + 1800L * i;
            return (S: s, Iv: iv, C: new TradeCommitment(rules.Market, iv, keys[b].Address, keys[s].Address, 1000 + i, 50_000, (ulong)i + 1, iv).Sign(keys[b], keys[s]),
                R: new MeterReading(rules.Market, meters[s].Address, iv, 900 + i).Sign(meters[s]));
        }).ToList();
        Console.WriteLine($"Settlement per trade (open + reading + settle, each awaited), {n} trades, contract on {url} vs the embedded engine");
        Console.WriteLine($"{"backend",-10} {"seconds",9} {"settlements/s",14} {"p50 ms/call",12} {"p95 ms/call",12} {"ratio",7}");
        double? embRate = null;
        foreach (var make in new Func<ISettlementBackend>[] { () => new EmbeddedBackend(rules), () => new EthereumBackend(url, OperatorKey, rules, artifact) })
        {
            using var be = make();
            for (int i = 0; i < 20; i++) be.RegisterMeter(meters[i].Address, keys[i].Address);
            long now = t0 - 5000;
            for (int i = 0; i < 20; i++) be.Deposit(keys[i].Address, 1_000_000_000, now++);
            var lat = new List<double>(3 * n);
            var sw = Stopwatch.StartNew();
            var call = new Stopwatch();
            foreach (var (s, iv, c, r) in trades)
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
            double secs = sw.Elapsed.TotalSeconds, rate = n / secs;
            lat.Sort();
            embRate ??= rate;
            Console.WriteLine($"{be.Name,-10} {secs,9:0.000} {rate,14:0.0} {lat[lat.Count / 2],12:0.000} {lat[(int)(lat.Count * 0.95)],12:0.000} {rate / embRate.Value,6:0.0000}x");
        }
    }
}
