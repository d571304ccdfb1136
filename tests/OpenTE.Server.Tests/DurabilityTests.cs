using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;

namespace OpenTE.Server.Tests;

/// <summary>`opente serve` as a child process (the built CLI next to the tests), for kill -9 and two-instance tests.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public Process Proc { get; }
    public Uri Url { get; }
    private readonly StringWriter _err = new();

    private ServerProcess(Process p, Uri url) { Proc = p; Url = url; }

    public static async Task<ServerProcess> Start(string db, string keyFile)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "opente.dll");
        Assert.True(File.Exists(cli), cli);
        int port = Http.FreePort();
        var psi = new ProcessStartInfo("dotnet", [cli, "serve", "--urls", $"http://127.0.0.1:{port}", "--db", db, "--operator-key-file", keyFile, "--rate", "100000"])
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["OPENTE_STARTUP_PROFILE"] = "0"; // no startup profile written into the user's cache by a test
        var p = Process.Start(psi)!;
        var s = new ServerProcess(p, new Uri($"http://127.0.0.1:{port}"));
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (s._err) s._err.WriteLine(e.Data); };
        p.BeginErrorReadLine();
        var read = Task.Run(async () =>
        {
            while (await p.StandardOutput.ReadLineAsync() is { } line)
                if (line.Contains("listening on")) return true;
            return false;
        });
        if (await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(60))) != read || !read.Result)
        {
            p.Kill(true);
            throw new InvalidOperationException($"opente serve did not start: {s._err}");
        }
        _ = Task.Run(async () => { while (await p.StandardOutput.ReadLineAsync() is not null) { } });
        return s;
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill9()
    {
        Proc.Kill(entireProcessTree: true);
        Proc.WaitForExit();
    }

    public string Errors { get { lock (_err) return _err.ToString(); } }

    public ValueTask DisposeAsync()
    {
        if (!Proc.HasExited) Kill9();
        Proc.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Runs when OPENTE_TEST_POSTGRES names a PostgreSQL the tests may write to (.ci/run starts one); skipped with that message otherwise.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public static string? ConnectionString => Environment.GetEnvironmentVariable("OPENTE_TEST_POSTGRES");

    public PostgresFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            Skip = "PostgreSQL server tests skipped: set OPENTE_TEST_POSTGRES to a connection string (scripts/pg-throwaway.sh start DIR prints one; .ci/run does this)";
    }
}

/// <summary>A schema of its own on the test PostgreSQL, dropped at the end: the connection string points at it.</summary>
public sealed class PgSchema : IAsyncDisposable
{
    public string Name { get; } = "opente_test_" + Guid.NewGuid().ToString("N")[..10];
    public string ConnectionString { get; }

    private PgSchema() => ConnectionString = new NpgsqlConnectionStringBuilder(PostgresFactAttribute.ConnectionString) { SearchPath = Name }.ToString();

    public static async Task<PgSchema> Create()
    {
        var s = new PgSchema();
        await using var c = new NpgsqlConnection(PostgresFactAttribute.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE SCHEMA {s.Name}", c);
        await cmd.ExecuteNonQueryAsync();
        return s;
    }

    public async Task<long> Count(string sql)
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var c = new NpgsqlConnection(PostgresFactAttribute.ConnectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {Name} CASCADE", c);
        await cmd.ExecuteNonQueryAsync();
    }
}

/// <summary>Durability and scale-out: acknowledged bids survive kill -9, a restart resumes the schedule, instances on one database clear once.</summary>
public class DurabilityTests
{
    private const string Op = TestServer.OperatorKey;
    private static readonly HttpMethod Post = HttpMethod.Post, Get = HttpMethod.Get;

    private static async Task<long> MarketVia(HttpClient http, Uri url, string name)
    {
        // the next hour's intervals are open: start at the current hour, interval 8 starts two hours later
        var start = DateTimeOffset.UtcNow;
        var r = await Http.Send(http, url, Post, "/api/markets", Op, $$"""{"name":"{{name}}","case":"case5","intervalMinutes":15,"gateClosureMinutes":5,"start":"{{start:O}}"}""");
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return (long)JsonNode.Parse(await r.Content.ReadAsStringAsync())!["id"]!;
    }

    private static async Task<string> ParticipantVia(HttpClient http, Uri url, string name, int bus)
    {
        var r = await Http.Send(http, url, Post, "/api/participants", Op, $$"""{"name":"{{name}}","bus":{{bus}}}""");
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return (string)JsonNode.Parse(await r.Content.ReadAsStringAsync())!["apiKey"]!;
    }

    /// <summary>
    /// Four clients post bids one by one while the server is killed with SIGKILL; after a restart every acknowledged
    /// (201) bid is in the database, and at most the requests in flight at the kill were stored without an answer.
    /// </summary>
    [Fact]
    public async Task Acknowledged_bids_survive_kill_9_of_the_server()
    {
        var dir = Directory.CreateTempSubdirectory("opente-kill-").FullName;
        try
        {
            string db = Path.Combine(dir, "s.db"), keyFile = Path.Combine(dir, "op.key");
            File.WriteAllText(keyFile, Op);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var acked = new ConcurrentBag<long>();
            long m;
            const int clients = 4;
            await using (var s = await ServerProcess.Start(db, keyFile))
            {
                m = await MarketVia(http, s.Url, "kill");
                var keys = new List<string>();
                for (int i = 0; i < clients; i++) keys.Add(await ParticipantVia(http, s.Url, $"p{i}", 2 + i % 3));
                using var stop = new CancellationTokenSource();
                var posters = keys.Select(k => Task.Run(async () =>
                {
                    int n = 0;
                    while (!stop.IsCancellationRequested)
                    {
                        try
                        {
                            var r = await Http.Send(http, s.Url, Post, $"/api/markets/{m}/intervals/8/bids", k, $$"""[{"side":"buy","price":{{30 + n++ % 20}},"quantity":1}]""");
                            if (r.StatusCode != HttpStatusCode.Created) continue;
                            acked.Add((long)JsonNode.Parse(await r.Content.ReadAsStringAsync())!["ids"]![0]!);
                        }
                        catch (HttpRequestException) { return; } // the server is gone
                        catch (TaskCanceledException) { return; }
                    }
                })).ToList();
                while (acked.Count < 200) await Task.Delay(20);
                s.Kill9();
                stop.Cancel();
                await Task.WhenAll(posters);
            }
            Assert.True(acked.Count >= 200);
            await using (var s = await ServerProcess.Start(db, keyFile))
            {
                var r = await Http.Send(http, s.Url, Get, $"/api/markets/{m}/intervals/8/bids", Op);
                var stored = JsonNode.Parse(await r.Content.ReadAsStringAsync())!.AsArray().Select(b => (long)b!["id"]!).ToHashSet();
                Assert.All(acked, id => Assert.Contains(id, stored));
                Assert.InRange(stored.Count, acked.Count, acked.Count + clients);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_restarted_server_clears_the_intervals_whose_gate_closed_while_it_was_down()
    {
        var dir = Directory.CreateTempSubdirectory("opente-server-").FullName;
        try
        {
            var clock = new ManualClock(TestServer.T0);
            long m;
            await using (var s = await TestServer.Start(null, dir, clock))
            {
                m = await s.Market();
                var (_, a) = await s.Participant("a", 2);
                await s.Ok(Post, $"/api/markets/{m}/intervals/2/bids", a, """[{"side":"buy","price":50,"quantity":10}]""", HttpStatusCode.Created);
            }
            clock.Advance(TimeSpan.FromHours(1)); // interval 2's gate closed while no server ran
            await using (var s = await TestServer.Start(null, dir, clock))
            {
                JsonNode res = null!;
                for (int i = 0; i < 100 && (string?)res?["status"] != "optimal"; i++)
                {
                    await Task.Delay(100);
                    res = await s.Ok(Get, $"/api/markets/{m}/intervals/2/results", Op);
                }
                Assert.Equal("optimal", (string)res["status"]!);
                Assert.Single(res["awards"]!.AsArray());
                Assert.Equal(1, s.Markets.Solves);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// Two `opente serve` processes on one PostgreSQL database: bids go through either; clear requests race on both;
    /// the interval is cleared once (one clearings row) with every bid of both instances in it, and both answer the same.
    /// </summary>
    [PostgresFact]
    public async Task Two_server_processes_on_one_postgres_clear_bids_from_both_exactly_once()
    {
        await using var pg = await PgSchema.Create();
        var dir = Directory.CreateTempSubdirectory("opente-pg-").FullName;
        try
        {
            string keyFile = Path.Combine(dir, "op.key");
            File.WriteAllText(keyFile, Op);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            await using var a = await ServerProcess.Start(pg.ConnectionString, keyFile);
            await using var b = await ServerProcess.Start(pg.ConnectionString, keyFile);
            long m = await MarketVia(http, a.Url, "pg");
            // a market made through one instance is served by the other
            Assert.Equal(HttpStatusCode.OK, (await Http.Send(http, b.Url, Get, $"/api/markets/{m}", Op)).StatusCode);
            var buyer = await ParticipantVia(http, a.Url, "buyer", 2);
            var seller = await ParticipantVia(http, b.Url, "seller", 3);
            int posted = 0;
            for (int i = 0; i < 20; i++)
            {
                var via = i % 2 == 0 ? a.Url : b.Url;
                var (k, side) = i % 4 < 2 ? (buyer, "buy") : (seller, "sell");
                var r = await Http.Send(http, via, Post, $"/api/markets/{m}/intervals/8/bids", k, $$"""[{"side":"{{side}}","price":{{(side == "buy" ? 60 + i : 5 + i)}},"quantity":2}]""");
                Assert.Equal(HttpStatusCode.Created, r.StatusCode);
                posted++;
            }
            var clears = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Http.Send(http, i % 2 == 0 ? a.Url : b.Url, Post, $"/api/markets/{m}/intervals/8/clear", Op)));
            var bodies = new List<string>();
            foreach (var c in clears)
            {
                Assert.Equal(HttpStatusCode.OK, c.StatusCode);
                bodies.Add(await c.Content.ReadAsStringAsync());
            }
            Assert.All(bodies, x => Assert.Equal(bodies[0], x));
            Assert.Equal("optimal", (string)JsonNode.Parse(bodies[0])!["status"]!);
            Assert.Equal(1, await pg.Count("SELECT COUNT(*) FROM clearings"));
            Assert.Equal(posted, await pg.Count("SELECT COUNT(*) FROM bids"));
            // every accepted bid of both instances is in the one clearing (all buy bids beat all offers here)
            Assert.Equal(posted, JsonNode.Parse(bodies[0])!["awards"]!.AsArray().Count);
            Assert.Equal(HttpStatusCode.Conflict, (await Http.Send(http, b.Url, Post, $"/api/markets/{m}/intervals/8/bids", buyer, """[{"side":"buy","price":60,"quantity":1}]""")).StatusCode);
            Assert.Equal("", a.Errors + b.Errors);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Two server instances' schedulers on one PostgreSQL database race for intervals at gate closure: each interval is solved once.</summary>
    [PostgresFact]
    public async Task Two_schedulers_on_one_postgres_clear_each_interval_once()
    {
        await using var pg = await PgSchema.Create();
        var clock = new ManualClock(TestServer.T0);
        await using var a = await TestServer.Start(null, null, clock, pg.ConnectionString);
        await using var b = await TestServer.Start(null, null, clock, pg.ConnectionString);
        long m = await a.Market();
        var (_, p) = await a.Participant("p", 2);
        for (int t = 1; t <= 6; t++)
            await (t % 2 == 0 ? a : b).Ok(Post, $"/api/markets/{m}/intervals/{t}/bids", p, """[{"side":"buy","price":50,"quantity":3}]""", HttpStatusCode.Created);
        clock.Advance(TimeSpan.FromHours(3));
        for (int i = 0; i < 100 && await pg.Count("SELECT COUNT(*) FROM intervals WHERE status='cleared'") < 6; i++) await Task.Delay(100);
        Assert.Equal(6, await pg.Count("SELECT COUNT(*) FROM clearings"));
        Assert.Equal(6, a.Markets.Solves + b.Markets.Solves);
        Assert.Equal(6, await pg.Count("SELECT COUNT(*) FROM awards"));
    }
}
