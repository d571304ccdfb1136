using OpenTE.Market.Outcome;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTE.Market.P2p;

namespace OpenTE.Cluster.Tests;

/// <summary>
/// Runs when OPENTE_TEST_POSTGRES holds a connection string to a PostgreSQL the test may write to
/// (.ci/run starts a throwaway server with scripts/pg-throwaway.sh and sets it); skipped with that message otherwise.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public static string? ConnectionString => Environment.GetEnvironmentVariable("OPENTE_TEST_POSTGRES");

    public PostgresFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
            Skip = "PostgreSQL clustering tests skipped: set OPENTE_TEST_POSTGRES to a connection string (scripts/pg-throwaway.sh start DIR prints one; .ci/run does this)";
    }
}

public class PostgresClusterTests
{
    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>
    /// Issue #7's deployment: two silos clustered through our PostgreSQL membership schema (ADO.NET clustering) and a
    /// client that finds them through the same table; the peers' grains spread over both silos, and the market
    /// clears to the in-process result, iteration for iteration.
    /// </summary>
    [PostgresFact]
    public async Task Two_silos_clustered_through_postgres_reach_the_in_process_result()
    {
        string conn = PostgresFactAttribute.ConnectionString!;
        await ClusterHosting.EnsureSchemaAsync(conn);
        await ClusterHosting.EnsureSchemaAsync(conn); // idempotent: a second silo start runs it again
        var id = "test-" + Guid.NewGuid().ToString("N")[..12];
        var silos = Enumerable.Range(0, 2).Select(_ => ClusterHosting.BuildSilo(new ClusterEndpoint(conn, id) { SiloPort = FreePort(), GatewayPort = FreePort() })).ToList();
        try
        {
            foreach (var s in silos) await s.StartAsync();
            await using (var db = new NpgsqlConnection(conn))
            {
                await db.OpenAsync();
                await using var cmd = new NpgsqlCommand("SELECT count(*) FROM opente_membership WHERE deployment_id = @d AND status = 3", db);
                cmd.Parameters.AddWithValue("d", id);
                Assert.Equal(2L, (long)(await cmd.ExecuteScalarAsync())!); // both silos active in the membership table
            }
            var data = P2pGenerator.Random(40, 4, 31);
            var local = P2pAdmm.Solve(data);
            var (r, placement) = await ClusterHosting.SolveOnClusterAsync(new ClusterEndpoint(conn, id), data);
            Assert.Equal(ClearingStatus.Optimal, r.Status);
            Assert.Equal(local.Iterations, r.Iterations);
            Assert.Equal(local.Welfare, r.Welfare, 1e-6 * Math.Abs(local.Welfare));
            for (int n = 0; n < data.Peers.Count; n++)
                foreach (var (m, p) in local.Trades[n]) Assert.Equal(p, r.Trades[n][m], 1e-9);
            Assert.Equal(data.Peers.Count, placement.Values.Sum());
            Assert.Equal(2, placement.Count);
        }
        finally
        {
            foreach (var s in silos) { await s.StopAsync(); s.Dispose(); }
        }
        await using (var db = new NpgsqlConnection(conn))
        {
            await db.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM opente_membership WHERE deployment_id = @d AND status <> 6", db);
            cmd.Parameters.AddWithValue("d", id);
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!); // a clean stop marks both silos dead
        }
    }

    [PostgresFact]
    public async Task A_client_without_silos_fails_with_a_message_naming_the_cluster()
    {
        string conn = PostgresFactAttribute.ConnectionString!;
        await ClusterHosting.EnsureSchemaAsync(conn);
        var id = "empty-" + Guid.NewGuid().ToString("N")[..12];
        var e = await Assert.ThrowsAsync<ClusterDatabaseException>(() => ClusterHosting.SolveOnClusterAsync(new ClusterEndpoint(conn, id), P2pGenerator.Random(6, 2, 1)));
        Assert.Contains(id, e.Message);
        Assert.Contains("opente silo", e.Message);
    }

    [Fact]
    public async Task An_unreachable_database_is_reported_with_host_and_port_and_no_password()
    {
        var conn = $"Host=127.0.0.1;Port={FreePort()};Username=u;Password=secret;Database=d;Timeout=3";
        var e = await Assert.ThrowsAsync<ClusterDatabaseException>(() => ClusterHosting.EnsureSchemaAsync(conn));
        Assert.Contains("127.0.0.1", e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }
}
