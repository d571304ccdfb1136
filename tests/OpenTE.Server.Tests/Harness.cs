using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;

namespace OpenTE.Server.Tests;

/// <summary>A clock the tests move by hand (gate closures, interval ends).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public void Advance(TimeSpan d) => Interlocked.Add(ref _ticks, d.Ticks);
}

/// <summary>A server on 127.0.0.1 (a free port) over a SQLite file in a temporary folder, with a known operator key.</summary>
public sealed class TestServer : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    public const string OperatorKey = "test-operator-key-0123456789";

    public string Dir { get; }
    public string DbPath { get; }
    public ManualClock Clock { get; }
    public WebApplication App { get; private set; } = null!;
    public Uri Url { get; private set; } = null!;
    public Markets Markets => (Markets)App.Services.GetService(typeof(Markets))!;
    public ServerOptions Options { get; private set; } = null!;
    private readonly HttpClient _http = new();
    private readonly bool _ownsDir;

    private TestServer(string dir, bool ownsDir, ManualClock clock)
    {
        Dir = dir;
        _ownsDir = ownsDir;
        DbPath = Path.Combine(dir, "server.db");
        Clock = clock;
    }

    public static async Task<TestServer> Start(Func<ServerOptions, ServerOptions>? tweak = null, string? dir = null, ManualClock? clock = null, string? db = null)
    {
        bool owns = dir is null;
        dir ??= Directory.CreateTempSubdirectory("opente-server-").FullName;
        var s = new TestServer(dir, owns, clock ?? new ManualClock(T0));
        var keyFile = Path.Combine(dir, "operator.key");
        File.WriteAllText(keyFile, OperatorKey);
        var o = new ServerOptions
        {
            Urls = "http://127.0.0.1:0", Db = db ?? s.DbPath, OperatorKeyFile = keyFile, Clock = s.Clock, Out = TextWriter.Null,
            SchedulerPeriod = TimeSpan.FromMilliseconds(100), RequestsPerSecond = 10_000,
        };
        s.Options = tweak?.Invoke(o) ?? o;
        s.App = await ServerHost.BuildAsync(s.Options);
        await s.App.StartAsync();
        s.Url = new Uri(s.App.Urls.First());
        return s;
    }

    public async Task Stop() => await App.DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        try { await App.StopAsync(); } catch (ObjectDisposedException) { }
        try { await App.DisposeAsync(); } catch (ObjectDisposedException) { }
        _http.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_ownsDir) Directory.Delete(Dir, true);
    }

    public Task<HttpResponseMessage> Send(HttpMethod method, string path, string? key, string? json = null, bool expectContinue = false) =>
        Http.Send(_http, Url, method, path, key, json, expectContinue);

    public async Task<JsonNode> Ok(HttpMethod method, string path, string? key, string? json = null, HttpStatusCode expect = HttpStatusCode.OK)
    {
        var r = await Send(method, path, key, json);
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expect, $"{method} {path}: {(int)r.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    public async Task<long> Market(string name = "m1", string @case = "case5", int interval = 15, int gate = 5)
    {
        var r = await Ok(HttpMethod.Post, "/api/markets", OperatorKey,
            $$"""{ "name": "{{name}}", "case": "{{@case}}", "intervalMinutes": {{interval}}, "gateClosureMinutes": {{gate}}, "mechanism": "dc-opf", "start": "{{T0:O}}" }""",
            HttpStatusCode.Created);
        return (long)r["id"]!;
    }

    public async Task<(long Id, string Key)> Participant(string name, int bus)
    {
        var r = await Ok(HttpMethod.Post, "/api/participants", OperatorKey, $$"""{ "name": "{{name}}", "bus": {{bus}} }""", HttpStatusCode.Created);
        return ((long)r["id"]!, (string)r["apiKey"]!);
    }
}

public static class Http
{
    public static async Task<HttpResponseMessage> Send(HttpClient http, Uri baseUrl, HttpMethod method, string path, string? key, string? json = null, bool expectContinue = false)
    {
        using var req = new HttpRequestMessage(method, new Uri(baseUrl, path));
        // with Expect: 100-continue a refused body is not sent, so the client reads the 413 instead of a reset connection
        if (expectContinue) req.Headers.ExpectContinue = true;
        if (key is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null) req.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return await http.SendAsync(req);
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
