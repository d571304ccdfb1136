using System.ComponentModel;
using System.Net;
using OpenTE.Cluster;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OpenTE.Cli.Commands;

/// <summary>Where the cluster is: shared by `opente silo` and `opente p2p --engine orleans --cluster-db`.</summary>
public class ClusterSettings : CommandSettings
{
    [CommandOption("--cluster-db <CONNECTION>")]
    [Description("PostgreSQL connection string of the Orleans membership table (ADO.NET clustering), e.g. \"Host=127.0.0.1;Port=5432;Username=postgres;Database=opente\". Env: OPENTE_CLUSTER_DB.")]
    public string? ClusterDb { get; init; }

    [CommandOption("--cluster-id <ID>")]
    [Description("Cluster id: silos and clients with the same id and database form one cluster (default opente).")]
    [DefaultValue("opente")]
    public string ClusterId { get; init; } = "opente";

    internal string? ConnectionString => ClusterDb ?? Environment.GetEnvironmentVariable("OPENTE_CLUSTER_DB");

    internal ClusterEndpoint Endpoint() => new(ConnectionString ?? throw new UsageException("--cluster-db is required (or set OPENTE_CLUSTER_DB)"), ClusterId);

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(ClusterId) ? ValidationResult.Error("--cluster-id must not be empty") : ValidationResult.Success();
}

public sealed class SiloSettings : ClusterSettings
{
    [CommandOption("--silo-port <PORT>")]
    [Description("Port silos talk to each other on (default 11111; each silo on one machine needs its own).")]
    [DefaultValue(11111)]
    public int SiloPort { get; init; } = 11111;

    [CommandOption("--gateway-port <PORT>")]
    [Description("Port clients connect to (default 30000; each silo on one machine needs its own).")]
    [DefaultValue(30000)]
    public int GatewayPort { get; init; } = 30000;

    [CommandOption("--address <IP>")]
    [Description("Address this silo is reached at by the other silos and clients (default 127.0.0.1; a machine's LAN address for several machines).")]
    [DefaultValue("127.0.0.1")]
    public string Address { get; init; } = "127.0.0.1";

    public override ValidationResult Validate()
    {
        var b = base.Validate();
        if (!b.Successful) return b;
        if (SiloPort is < 1 or > 65535) return ValidationResult.Error("--silo-port must be 1..65535");
        if (GatewayPort is < 1 or > 65535) return ValidationResult.Error("--gateway-port must be 1..65535");
        if (SiloPort == GatewayPort) return ValidationResult.Error("--silo-port and --gateway-port must differ");
        if (!IPAddress.TryParse(Address, out _)) return ValidationResult.Error($"--address '{Address}' is not an IP address");
        return ValidationResult.Success();
    }
}

/// <summary>
/// opente silo: one Orleans silo hosting P2P peer grains, clustered through PostgreSQL; runs until stopped
/// (Ctrl-C or SIGTERM), then leaves the cluster cleanly. Start several (one per machine or per port pair), then run
/// `opente p2p SCENARIO --engine orleans --cluster-db ...` from anywhere that reaches the database and the silos.
/// </summary>
public sealed class SiloCommand : Command<SiloSettings>
{
    public override int Execute(CommandContext context, SiloSettings s, CancellationToken cancellationToken)
    {
        var at = s.Endpoint() with { Address = IPAddress.Parse(s.Address), SiloPort = s.SiloPort, GatewayPort = s.GatewayPort };
        Run(at, cancellationToken).GetAwaiter().GetResult();
        return 0;
    }

    private static async Task Run(ClusterEndpoint at, CancellationToken outer)
    {
        try { await ClusterHosting.EnsureSchemaAsync(at.ConnectionString, outer); }
        catch (ClusterDatabaseException e) { throw new UsageException($"{e.Message} (check --cluster-db; is PostgreSQL running?)"); }
        using var host = ClusterHosting.BuildSilo(at);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            try { await host.StartAsync(stop.Token); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new UsageException($"silo could not start on {at.Address}:{at.SiloPort} (gateway {at.GatewayPort}): {e.GetBaseException().Message}");
            }
            CliApp.Io.Out.WriteLine($"silo up: cluster '{at.ClusterId}', {at.Address}:{at.SiloPort}, gateway {at.GatewayPort}, membership in {ClusterHosting.Describe(at.ConnectionString)}; stop with Ctrl-C or SIGTERM");
            CliApp.Io.Out.Flush();
            try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
            await host.StopAsync(CancellationToken.None);
            CliApp.Io.Out.WriteLine("silo stopped");
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}
