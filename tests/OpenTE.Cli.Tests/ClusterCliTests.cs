using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace OpenTE.Cli.Tests;

/// <summary>`opente silo` and `opente p2p --engine orleans --cluster-db`: the PostgreSQL-clustered deployment (issue #7).</summary>
public class ClusterCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string RepoFile(string relative) => CliRunner.Repo(relative);

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static string Unreachable() => $"Host=127.0.0.1;Port={FreePort()};Username=u;Password=hunter2;Database=d;Timeout=3";

    [Fact]
    public void A_silo_needs_a_cluster_database()
    {
        if (Environment.GetEnvironmentVariable("OPENTE_CLUSTER_DB") is not null) return; // the variable would supply it
        var (code, _, err) = Run("silo");
        Assert.Equal(2, code);
        Assert.Contains("--cluster-db", err);
    }

    [Fact]
    public void A_silo_with_an_unreachable_database_exits_2_naming_host_and_port_without_the_password()
    {
        string conn = Unreachable();
        var (code, _, err) = Run("silo", "--cluster-db", conn, "--silo-port", FreePort().ToString(), "--gateway-port", FreePort().ToString());
        Assert.Equal(2, code);
        Assert.Contains("127.0.0.1", err);
        Assert.Contains("--cluster-db", err);
        Assert.DoesNotContain("hunter2", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData("--silo-port", "0")]
    [InlineData("--address", "not-an-ip")]
    public void Bad_silo_options_exit_2_naming_the_option(string option, string value)
    {
        var (code, _, err) = Run("silo", "--cluster-db", "Host=x", option, value);
        Assert.Equal(2, code);
        Assert.Contains(option, err);
    }

    [Fact]
    public void P2p_cluster_options_are_checked()
    {
        var scenario = RepoFile("examples/p2p-community.json");
        var (code, _, err) = Run("p2p", scenario, "--cluster-db", "Host=x");
        Assert.Equal(2, code);
        Assert.Contains("--engine orleans", err);
        (code, _, err) = Run("p2p", scenario, "--relaxation", "2.5");
        Assert.Equal(2, code);
        Assert.Contains("--relaxation", err);
        (code, _, err) = Run("p2p", scenario, "--engine", "orleans", "--cluster-db", Unreachable(), "--plot", Path.Combine(Path.GetTempPath(), "unused.png"));
        Assert.Equal(2, code);
        Assert.Contains("cluster database", err);
        Assert.DoesNotContain("hunter2", err);
    }

    /// <summary>
    /// Two `opente silo` processes on 127.0.0.1 clustered through PostgreSQL, and `opente p2p --cluster-db` as the client:
    /// the example clears to the same welfare as in-process, with peer grains on both silos; SIGTERM stops the silos cleanly.
    /// </summary>
    [PostgresFact]
    public void Two_silo_processes_clear_the_example_market()
    {
        string conn = Environment.GetEnvironmentVariable("OPENTE_TEST_POSTGRES")!;
        string id = "cli-" + Guid.NewGuid().ToString("N")[..10];
        string dll = Path.Combine(AppContext.BaseDirectory, "opente.dll");
        var silos = new List<(Process P, StringWriter Log)>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                var psi = new ProcessStartInfo("dotnet", [dll, "silo", "--cluster-db", conn, "--cluster-id", id, "--silo-port", FreePort().ToString(), "--gateway-port", FreePort().ToString()])
                { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                psi.Environment["OPENTE_STARTUP_PROFILE"] = "0"; // no startup profile written into the user's cache by a test
                var p = Process.Start(psi)!;
                var log = new StringWriter();
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                silos.Add((p, log));
            }
            var sw = Stopwatch.StartNew();
            while (!silos.All(s => { lock (s.Log) return s.Log.ToString().Contains("silo up"); }))
            {
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(90), "silos did not come up: " + string.Join("\n---\n", silos.Select(s => s.Log.ToString())));
                Assert.All(silos, s => Assert.False(s.P.HasExited, "a silo exited: " + s.Log));
                Thread.Sleep(200);
            }
            string png = Path.Combine(Path.GetTempPath(), "opente-cluster-" + id + ".png");
            var (code, output, err) = Run("p2p", RepoFile("examples/p2p-community.json"), "--engine", "orleans", "--cluster-db", conn, "--cluster-id", id, "--plot", png, "--json");
            File.Delete(png);
            Assert.True(code == 0, err);
            var root = JsonDocument.Parse(output).RootElement;
            Assert.Equal("optimal", root.GetProperty("status").GetString());
            Assert.Equal(7922.6, root.GetProperty("welfare").GetDouble(), 0.05);
            var placed = root.GetProperty("silos").EnumerateArray().ToList();
            Assert.Equal(2, placed.Count);
            Assert.Equal(20, placed.Sum(s => s.GetProperty("peers").GetInt32()));
        }
        finally
        {
            foreach (var (p, _) in silos)
                if (!p.HasExited) Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
            foreach (var (p, log) in silos)
            {
                bool exited = p.WaitForExit(30_000);
                if (!exited) p.Kill(true);
                Assert.True(exited, "silo did not stop on SIGTERM: " + log);
                lock (log) Assert.Contains("silo stopped", log.ToString());
            }
        }
    }
}

/// <summary>Runs when OPENTE_TEST_POSTGRES names a PostgreSQL to use (.ci/run starts one); skipped with that message otherwise.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OPENTE_TEST_POSTGRES")))
            Skip = "PostgreSQL clustering tests skipped: set OPENTE_TEST_POSTGRES to a connection string (scripts/pg-throwaway.sh start DIR prints one; .ci/run does this)";
    }
}
