using System.Collections.Concurrent;
using System.Reflection;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTE.Settlement;
using static OpenTE.Server.Store;

namespace OpenTE.Server;

/// <summary>The operator's identity: the hash of its API key and its settlement keys (the counterparty of pool awards).</summary>
public sealed record OperatorIdentity(string KeyHash, KeyPair Settlement, KeyPair Meter);

/// <summary>Builds and runs the server: the database (migrated on start), the operator key, the API, the scheduler, the dashboard.</summary>
public static class ServerHost
{
    /// <summary>Opens and migrates the database, settles the operator key, and builds the app (not yet started).</summary>
    public static async Task<WebApplication> BuildAsync(ServerOptions o)
    {
        var store = Store.Open(o.Db);
        await store.MigrateAsync();
        var op = await OperatorKey(store, o);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        if (!o.Log) builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(o.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = o.MaxBodyBytes;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.AddServerHeader = false;
        });
        builder.Services.AddSingleton(o);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(op);
        builder.Services.AddSingleton<Markets>();
        builder.Services.AddSingleton<ClearingFeed>();
        builder.Services.AddHostedService<Scheduler>();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        builder.Services.AddRateLimiter(r =>
        {
            r.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
                RateLimitPartition.GetTokenBucketLimiter(Api.RateKey(ctx), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(1, 2 * o.RequestsPerSecond), TokensPerPeriod = Math.Max(1, o.RequestsPerSecond),
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0, AutoReplenishment = true,
                }));
            r.OnRejected = async (ctx, ct) =>
            {
                ctx.HttpContext.Response.Headers.RetryAfter = "1";
                await Api.WriteProblem(ctx.HttpContext, new ApiException(429, "too many requests",
                    $"more than {o.RequestsPerSecond} requests per second with this key", null, "slow down and retry after a second"));
            };
        });

        var app = builder.Build();
        app.Use(Api.Errors);
        app.Use(Api.Authenticate);
        app.UseRateLimiter();
        app.Use(Api.RequireKey);
        app.MapOpenApi("/openapi/{documentName}.json");
        Api.Map(app);
        Dashboard.Map(app);
        return app;
    }

    /// <summary>Runs until <paramref name="stop"/> (Ctrl+C in the CLI); prints where it listens.</summary>
    public static async Task RunAsync(ServerOptions o, CancellationToken stop)
    {
        await using var app = await BuildAsync(o);
        try
        {
            await app.StartAsync(stop);
        }
        catch
        {
            // a start that failed (the port in use) has already started the scheduler, which would go on touching the
            // database after this returns: stop what did start before the app is disposed, then report the failure
            try { await app.StopAsync(CancellationToken.None); }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or OperationCanceledException or AggregateException) { }
            throw;
        }
        foreach (var u in app.Urls) o.Out.WriteLine($"opente serve: listening on {u} (dashboard at {u}/, OpenAPI at {u}/openapi/v1.json)");
        o.Out.Flush();
        try { await Task.Delay(Timeout.Infinite, stop); } catch (OperationCanceledException) { }
        await app.StopAsync(CancellationToken.None);
    }

    /// <summary>
    /// The operator's API key: from the key file when it exists (its hash replaces the stored one); a new key written to
    /// the key file when one is named but does not exist; without a key file, a new key printed once on the first start
    /// (later starts keep the stored hash).
    /// The operator's settlement and meter keys are made once and kept in the database.
    /// </summary>
    private static async Task<OperatorIdentity> OperatorKey(Store store, ServerOptions o)
    {
        string? fromFile = null;
        if (o.OperatorKeyFile is { } f && File.Exists(f))
        {
            fromFile = File.ReadAllText(f).Trim();
            if (fromFile.Length < 16 || fromFile.Any(char.IsWhiteSpace))
                throw new ArgumentException($"--operator-key-file {f}: the key must be one word of at least 16 characters; delete the file to have a new key made");
        }
        return await store.WriteAsync(async (c, tx) =>
        {
            if (fromFile is not null)
                await Exec(c, tx, "INSERT INTO meta(k, v) VALUES ('operator_key_hash', @h) ON CONFLICT (k) DO UPDATE SET v=@h", ("@h", ApiKeys.Hash(fromFile)));
            else if (o.OperatorKeyFile is { } file)
            {
                // a named key file that does not exist: a new key, written there, replaces the stored one
                var key = ApiKeys.New("ote_o_");
                await Exec(c, tx, "INSERT INTO meta(k, v) VALUES ('operator_key_hash', @h) ON CONFLICT (k) DO UPDATE SET v=@h", ("@h", ApiKeys.Hash(key)));
                File.WriteAllText(file, "");
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                File.WriteAllText(file, key + "\n");
                o.Out.WriteLine($"opente serve: a new operator key was written to {file}");
            }
            else
            {
                var key = ApiKeys.New("ote_o_");
                if (await Exec(c, tx, "INSERT INTO meta(k, v) VALUES ('operator_key_hash', @h) ON CONFLICT (k) DO NOTHING", ("@h", ApiKeys.Hash(key))) == 1)
                    o.Out.WriteLine($"opente serve: operator key (shown once; store it): {key}");
            }
            foreach (var k in new[] { "operator_settlement_key", "operator_meter_key" })
                await Exec(c, tx, "INSERT INTO meta(k, v) VALUES (@k, @v) ON CONFLICT (k) DO NOTHING", ("@k", k), ("@v", KeyPair.Generate().PrivateKeyHex));
            var hash = (string)(await Scalar(c, tx, "SELECT v FROM meta WHERE k='operator_key_hash'"))!;
            var s = (string)(await Scalar(c, tx, "SELECT v FROM meta WHERE k='operator_settlement_key'"))!;
            var mt = (string)(await Scalar(c, tx, "SELECT v FROM meta WHERE k='operator_meter_key'"))!;
            return new OperatorIdentity(hash, KeyPair.FromPrivateKey(s), KeyPair.FromPrivateKey(mt));
        });
    }
}

/// <summary>
/// Live results: every instance polls the clearings table (so a clearing made by another instance is pushed too) and
/// sends each new one to its subscribers as a server-sent event. The event carries the prices at the buses (public);
/// awards are read by each caller from the results endpoint, which filters them.
/// </summary>
public sealed class ClearingFeed
{
    private readonly ConcurrentDictionary<Guid, Channel<string>> _subs = new();
    public long Last { get; set; } = -1;

    public (Guid, ChannelReader<string>) Subscribe()
    {
        var ch = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        _subs[id] = ch;
        return (id, ch.Reader);
    }

    public void Unsubscribe(Guid id) => _subs.TryRemove(id, out _);

    public void Publish(string json)
    {
        foreach (var ch in _subs.Values) ch.Writer.TryWrite(json);
    }
}

/// <summary>Clears every interval whose gate has closed (on every instance; the database lease makes it once) and feeds the live results.</summary>
public sealed class Scheduler(Markets markets, ClearingFeed feed, ServerOptions o) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(o.SchedulerPeriod);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (o.Scheduler)
                    foreach (var (m, t) in await markets.Due())
                    {
                        if (stop.IsCancellationRequested) break;
                        try { await markets.Clear(await markets.Market(m), t, new Caller(true, null), wait: false); }
                        catch (InvalidOperationException) { } // the lease went to another instance
                    }
                if (feed.Last < 0) feed.Last = await markets.LastClearingId();
                foreach (var (id, m, t, status, buses) in await markets.ClearingsAfter(feed.Last))
                {
                    feed.Last = id;
                    feed.Publish($"{{\"market\":{m},\"interval\":{t},\"status\":\"{status}\",\"buses\":{buses}}}");
                }
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync($"opente serve: scheduler: {e.Message}");
            }
            try { await timer.WaitForNextTickAsync(stop); }
            catch (OperationCanceledException) { break; }
        }
    }
}

/// <summary>The dashboard: static HTML and JavaScript embedded in the assembly (no build step).</summary>
public static class Dashboard
{
    public static void Map(WebApplication app)
    {
        var asm = typeof(Dashboard).Assembly;
        app.MapGet("/", () => Resource(asm, "wwwroot/index.html", "text/html; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/app.js", () => Resource(asm, "wwwroot/app.js", "text/javascript; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/app.css", () => Resource(asm, "wwwroot/app.css", "text/css; charset=utf-8")).ExcludeFromDescription();
    }

    private static IResult Resource(Assembly asm, string name, string type)
    {
        using var s = asm.GetManifestResourceStream(name);
        if (s is null) return Results.NotFound();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Results.Bytes(ms.ToArray(), type);
    }
}
