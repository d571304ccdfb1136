using System.Data.Common;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;

namespace OpenTE.Cluster;

/// <summary>
/// Where a silo or client finds its cluster: a PostgreSQL database holding the Orleans membership table
/// (ADO.NET clustering), the cluster id, and for a silo its address and ports. The deployment for many machines:
/// every silo and the client that runs the market share the database; silos find each other through it.
/// </summary>
public sealed record ClusterEndpoint(string ConnectionString, string ClusterId = "opente", string ServiceId = "opente-p2p")
{
    /// <summary>The address other silos and clients reach this silo at (127.0.0.1 for a one-machine cluster).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;
}

/// <summary>Builds silos and clients that cluster through PostgreSQL, and creates the schema they need.</summary>
public static class ClusterHosting
{
    public const string Invariant = "Npgsql";

    static ClusterHosting()
    {
        // Orleans looks the ADO.NET provider up by its invariant name
        DbProviderFactories.RegisterFactory(Invariant, NpgsqlFactory.Instance);
    }

    /// <summary>
    /// Creates the membership tables and the Orleans queries (PostgresClustering.sql) if missing; safe to run from
    /// several silos at once (advisory lock). Throws <see cref="ClusterDatabaseException"/> naming the problem.
    /// </summary>
    public static async Task EnsureSchemaAsync(string connectionString, CancellationToken ct = default)
    {
        string sql;
        using (var s = typeof(ClusterHosting).Assembly.GetManifestResourceStream("OpenTE.Cluster.PostgresClustering.sql")
            ?? throw new InvalidOperationException("embedded PostgresClustering.sql is missing"))
        using (var r = new StreamReader(s)) sql = await r.ReadToEndAsync(ct);
        try
        {
            await using var conn = new NpgsqlConnection(connectionString);
            await conn.OpenAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            await using (var lk = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7357001)", conn, tx)) await lk.ExecuteNonQueryAsync(ct);
            await using (var cmd = new NpgsqlCommand(sql, conn, tx)) await cmd.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or InvalidOperationException)
        {
            throw new ClusterDatabaseException($"cluster database ({Describe(connectionString)}): {e.Message}", e);
        }
    }

    /// <summary>The connection string without its password, for messages.</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString) { Password = null };
            return $"host {b.Host ?? "?"}, port {b.Port}, database {b.Database ?? "?"}";
        }
        catch (ArgumentException) { return "unparsable connection string"; }
    }

    /// <summary>A silo host (not started) that joins the cluster of <paramref name="at"/>.</summary>
    public static IHost BuildSilo(ClusterEndpoint at, LogLevel log = LogLevel.Error) =>
        Host.CreateDefaultBuilder()
            .UseOrleans(silo => silo
                .UseAdoNetClustering(o => { o.Invariant = Invariant; o.ConnectionString = at.ConnectionString; })
                .Configure<ClusterOptions>(o => { o.ClusterId = at.ClusterId; o.ServiceId = at.ServiceId; })
                .ConfigureEndpoints(at.Address, at.SiloPort, at.GatewayPort))
            .ConfigureLogging(l => l.OnStdErr(log))
            .Build();

    /// <summary>A client host (not started) that reaches the cluster's gateways through the membership table.</summary>
    public static IHost BuildClient(ClusterEndpoint at) =>
        Host.CreateDefaultBuilder()
            .UseOrleansClient(client => client
                .UseAdoNetClustering(o => { o.Invariant = Invariant; o.ConnectionString = at.ConnectionString; })
                .Configure<ClusterOptions>(o => { o.ClusterId = at.ClusterId; o.ServiceId = at.ServiceId; }))
            .ConfigureLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.Error))
            .Build();

    /// <summary>Connects a client, solves the market with the peers as grains on the cluster's silos, disconnects.</summary>
    public static async Task<(OpenTE.Market.P2p.P2pResult Result, IReadOnlyDictionary<string, int> GrainsPerSilo)> SolveOnClusterAsync(
        ClusterEndpoint at, OpenTE.Market.P2p.P2pMarketData data, OpenTE.Market.P2p.AdmmOptions? options = null, CancellationToken ct = default)
    {
        int active = await ActiveGatewaysAsync(at, ct);
        if (active == 0)
            throw new ClusterDatabaseException($"cluster '{at.ClusterId}' has no active silo in {Describe(at.ConnectionString)}. Start silos first (opente silo --cluster-db ... --cluster-id {at.ClusterId}).");
        using var host = BuildClient(at);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        try { await host.StartAsync(limit.Token); }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            throw new ClusterDatabaseException($"could not connect to cluster '{at.ClusterId}' ({active} silo(s) listed active in {Describe(at.ConnectionString)}): {e.GetBaseException().Message}. Are the silos running and reachable (opente silo --cluster-db ...)?", e);
        }
        try
        {
            var placement = new Dictionary<string, int>();
            var result = await OrleansP2p.SolveAsync(host.Services.GetRequiredService<IClusterClient>(), data, options,
                market: $"market-{Guid.NewGuid():N}", placement: placement);
            return (result, placement);
        }
        finally { await host.StopAsync(CancellationToken.None); }
    }

    /// <summary>Logs at <paramref name="level"/> and above to standard error (standard output is the command's).</summary>
    /// <summary>How many silos of the cluster the membership table lists as active with a gateway.</summary>
    public static async Task<int> ActiveGatewaysAsync(ClusterEndpoint at, CancellationToken ct = default)
    {
        try
        {
            await using var conn = new NpgsqlConnection(at.ConnectionString);
            await conn.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM opente_membership WHERE deployment_id = @d AND status = 3 AND proxy_port > 0", conn);
            cmd.Parameters.AddWithValue("d", at.ClusterId);
            return (int)(long)(await cmd.ExecuteScalarAsync(ct))!;
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or InvalidOperationException)
        {
            throw new ClusterDatabaseException($"cluster database ({Describe(at.ConnectionString)}): {e.Message}", e);
        }
    }

    private static void OnStdErr(this ILoggingBuilder l, LogLevel level)
    {
        l.ClearProviders();
        l.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        l.SetMinimumLevel(level);
    }
}

/// <summary>The cluster database could not be reached or prepared; the message names it and why.</summary>
public sealed class ClusterDatabaseException(string message, Exception? inner = null) : Exception(message, inner);
