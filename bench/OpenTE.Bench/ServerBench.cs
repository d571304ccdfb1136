using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OpenTE.Server;

namespace OpenTE.Bench;

/// <summary>
/// Load on the market server over loopback: N participants each submit B bids in one gate window, one bid per request
/// (and, in the same run, B bids per request) with C concurrent clients; bids/s, p50/p99 latency, and nothing lost
/// (bids in the database = bids acknowledged with 201); then the clearing of all of them. Bounded: the bid phase stops
/// after 300 s.
/// `dotnet run -c Release --project bench/OpenTE.Bench -- --server [PARTICIPANTS] [BIDS_EACH] [CONCURRENCY] [--db CONNECTION]`
/// </summary>
public static class ServerBench
{
    private const string Op = "bench-operator-key-0123456789";

    public static int Run(string[] args)
    {
        var nums = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal) && int.TryParse(a, out _)).Select(int.Parse).ToArray();
        int n = nums.Length > 0 ? nums[0] : 1000, each = nums.Length > 1 ? nums[1] : 10, conc = nums.Length > 2 ? nums[2] : 32;
        int dbAt = Array.IndexOf(args, "--db");
        string? pg = dbAt >= 0 && dbAt + 1 < args.Length ? args[dbAt + 1] : null;
        var dir = Directory.CreateTempSubdirectory("opente-server-bench-").FullName;
        try
        {
            RunAsync(n, each, conc, pg ?? Path.Combine(dir, "bench.db"), dir).GetAwaiter().GetResult();
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }

    private static async Task RunAsync(int n, int each, int conc, string db, string dir)
    {
        File.WriteAllText(Path.Combine(dir, "op.key"), Op);
        var o = new ServerOptions
        {
            Urls = "http://127.0.0.1:0", Db = db, OperatorKeyFile = Path.Combine(dir, "op.key"), Out = TextWriter.Null,
            RequestsPerSecond = 100_000, Scheduler = false,
        };
        await using var app = await ServerHost.BuildAsync(o);
        await app.StartAsync();
        var url = new Uri(app.Urls.First());
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = conc }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        Console.WriteLine($"market server load: {n} participants × {each} bids, {conc} concurrent clients, loopback, {(Store.LooksLikeConnectionString(db) ? "PostgreSQL" : "SQLite file (WAL, synchronous=FULL)")}");

        var sw = Stopwatch.StartNew();
        long m = (long)(await Send(http, HttpMethod.Post, "/api/markets", Op, $$"""{"name":"bench","case":"case118","intervalMinutes":15,"gateClosureMinutes":5}"""))["id"]!;
        var mk = await Send(http, HttpMethod.Get, $"/api/markets/{m}", Op);
        long t1 = (long)mk["nextInterval"]! + 4, t2 = t1 + 1; // open for the next hour
        var buses = mk["buses"]!.AsArray().Select(b => (int)b!).ToArray();
        var keys = new string[n];
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = conc }, async (i, _) =>
            keys[i] = (string)(await Send(http, HttpMethod.Post, "/api/participants", Op, $$"""{"name":"p{{i}}","bus":{{buses[i % buses.Length]}}}"""))["apiKey"]!);
        Console.WriteLine($"set-up: market + {n} participants in {sw.Elapsed.TotalSeconds:0.00} s");

        Console.WriteLine($"{"mode",-28} {"requests",9} {"bids",7} {"acked",7} {"in DB",7} {"seconds",8} {"bids/s",8} {"p50 ms",7} {"p99 ms",7}");
        foreach (var (t, perRequest) in new[] { (t1, 1), (t2, each) })
        {
            var jobs = new List<(int P, string Body)>();
            var rng = new Random(42);
            for (int k = 0; k < each; k += perRequest)
                for (int i = 0; i < n; i++)
                {
                    var bids = Enumerable.Range(0, Math.Min(perRequest, each - k)).Select(_ =>
                        i % 2 == 0 ? $$"""{"side":"buy","price":{{20 + rng.Next(60)}},"quantity":{{1 + rng.Next(5)}}}""" : $$"""{"side":"sell","price":{{5 + rng.Next(40)}},"quantity":{{1 + rng.Next(5)}}}""");
                    jobs.Add((i, "[" + string.Join(",", bids) + "]"));
                }
            var lat = new ConcurrentBag<double>();
            long acked = 0, failed = 0;
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(300));
            sw.Restart();
            await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = conc, CancellationToken = limit.Token }, async (job, ct) =>
            {
                var one = Stopwatch.StartNew();
                using var req = new HttpRequestMessage(HttpMethod.Post, $"/api/markets/{m}/intervals/{t}/bids") { Content = new StringContent(job.Body, Encoding.UTF8, "application/json") };
                req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keys[job.P]);
                using var r = await http.SendAsync(req, ct);
                var body = await r.Content.ReadAsStringAsync(ct);
                lat.Add(one.Elapsed.TotalMilliseconds);
                if (r.StatusCode == HttpStatusCode.Created) Interlocked.Add(ref acked, JsonNode.Parse(body)!["ids"]!.AsArray().Count);
                else Interlocked.Increment(ref failed);
            });
            double secs = sw.Elapsed.TotalSeconds;
            var sorted = lat.Order().ToArray();
            int inDb = (await Send(http, HttpMethod.Get, $"/api/markets/{m}/intervals/{t}/bids", Op)).AsArray().Count;
            Console.WriteLine($"{(perRequest == 1 ? "1 bid per request" : $"{perRequest} bids per request"),-28} {jobs.Count,9} {n * each,7} {acked,7} {inDb,7} {secs,8:0.00} {acked / secs,8:0} {sorted[sorted.Length / 2],7:0.0} {sorted[(int)(sorted.Length * 0.99)],7:0.0}");
            if (inDb != acked || failed > 0) throw new InvalidOperationException($"lost or refused bids: {acked} acknowledged, {inDb} in the database, {failed} requests failed");
        }
        sw.Restart();
        var res = await Send(http, HttpMethod.Post, $"/api/markets/{m}/intervals/{t1}/clear", Op);
        Console.WriteLine($"clearing interval {t1} ({n * each} bids on case118, DC network clearing with LMPs, written): {sw.Elapsed.TotalSeconds:0.00} s, {res["status"]}, {res["awards"]!.AsArray().Count} awards");
        await app.StopAsync();
    }

    private static async Task<JsonNode> Send(HttpClient http, HttpMethod method, string path, string key, string? json = null)
    {
        using var req = new HttpRequestMessage(method, path);
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null) req.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var r = await http.SendAsync(req);
        var body = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path}: {(int)r.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }
}
