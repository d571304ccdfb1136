using System.Net;
using System.Net.Sockets;
using OpenTE.Cli;

namespace OpenTE.Server.Tests;

/// <summary>`opente serve` options and the operator key's first start.</summary>
public class ServeCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData("--urls", "ftp://127.0.0.1:1", "--urls")]
    [InlineData("--urls", "not a url", "--urls")]
    [InlineData("--db", "/no/such/folder/x.db", "--db")]
    [InlineData("--rate", "0", "--rate")]
    public void Bad_options_exit_2_naming_the_option(string option, string value, string named)
    {
        var (code, _, err) = Run("serve", option, value);
        Assert.Equal(2, code);
        Assert.Contains(named, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void An_unreachable_postgres_exits_2_without_echoing_the_password()
    {
        int port = Http.FreePort();
        var (code, _, err) = Run("serve", "--urls", $"http://127.0.0.1:{Http.FreePort()}", "--db", $"Host=127.0.0.1;Port={port};Username=u;Password=hunter2;Database=d;Timeout=3");
        Assert.Equal(2, code);
        Assert.Contains("--db", err);
        Assert.DoesNotContain("hunter2", err);
    }

    [Fact]
    public void A_port_in_use_exits_2_naming_urls()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        var dir = Directory.CreateTempSubdirectory("opente-serve-").FullName;
        try
        {
            var (code, _, err) = Run("serve", "--urls", $"http://127.0.0.1:{port}", "--db", Path.Combine(dir, "s.db"));
            Assert.Equal(2, code);
            Assert.Contains("--urls", err);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            DeleteDir(dir);
        }
    }

    [Fact]
    public async Task Without_a_key_file_the_operator_key_is_printed_once_and_works()
    {
        var dir = Directory.CreateTempSubdirectory("opente-serve-").FullName;
        try
        {
            var db = Path.Combine(dir, "s.db");
            var first = new StringWriter();
            string key;
            await using (var app = await ServerHost.BuildAsync(new ServerOptions { Urls = "http://127.0.0.1:0", Db = db, Out = first, Scheduler = false }))
            {
                await app.StartAsync();
                var line = first.ToString().Split('\n').Single(l => l.Contains("operator key"));
                key = line[(line.LastIndexOf(' ') + 1)..].Trim();
                Assert.StartsWith("ote_o_", key);
                using var http = new HttpClient();
                var r = await Http.Send(http, new Uri(app.Urls.First()), HttpMethod.Get, "/api/me", key);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                Assert.Contains("operator", await r.Content.ReadAsStringAsync());
            }
            var second = new StringWriter();
            await using (var app = await ServerHost.BuildAsync(new ServerOptions { Urls = "http://127.0.0.1:0", Db = db, Out = second, Scheduler = false }))
            {
                await app.StartAsync();
                Assert.DoesNotContain("operator key", second.ToString());
                using var http = new HttpClient();
                Assert.Equal(HttpStatusCode.OK, (await Http.Send(http, new Uri(app.Urls.First()), HttpMethod.Get, "/api/me", key)).StatusCode);
            }
            // a key file given later replaces the key: the printed one stops working
            var keyFile = Path.Combine(dir, "op.key");
            File.WriteAllText(keyFile, "a-new-operator-key-from-a-file\n");
            await using (var app = await ServerHost.BuildAsync(new ServerOptions { Urls = "http://127.0.0.1:0", Db = db, Out = TextWriter.Null, OperatorKeyFile = keyFile, Scheduler = false }))
            {
                await app.StartAsync();
                using var http = new HttpClient();
                Assert.Equal(HttpStatusCode.Unauthorized, (await Http.Send(http, new Uri(app.Urls.First()), HttpMethod.Get, "/api/me", key)).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await Http.Send(http, new Uri(app.Urls.First()), HttpMethod.Get, "/api/me", "a-new-operator-key-from-a-file")).StatusCode);
            }
            // a key file that does not exist: a new key is written there (owner-only), not printed, and replaces the old one
            var newFile = Path.Combine(dir, "new.key");
            var third = new StringWriter();
            await using (var app = await ServerHost.BuildAsync(new ServerOptions { Urls = "http://127.0.0.1:0", Db = db, Out = third, OperatorKeyFile = newFile, Scheduler = false }))
            {
                await app.StartAsync();
                var written = File.ReadAllText(newFile).Trim();
                Assert.StartsWith("ote_o_", written);
                Assert.DoesNotContain(written, third.ToString());
                if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(newFile));
                using var http = new HttpClient();
                Assert.Equal(HttpStatusCode.OK, (await Http.Send(http, new Uri(app.Urls.First()), HttpMethod.Get, "/api/me", written)).StatusCode);
                Assert.Equal(HttpStatusCode.Unauthorized, (await Http.Send(http, new Uri(app.Urls.First()), HttpMethod.Get, "/api/me", "a-new-operator-key-from-a-file")).StatusCode);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            DeleteDir(dir);
        }
    }

    /// <summary>
    /// Removes a test's folder, retrying for a moment: after a start that failed (port in use) the host's disposal can still
    /// be closing its SQLite store while the folder is removed, and SQLite's -wal/-shm files come and go under the enumeration
    /// ("Directory not empty", seen once in CI).
    /// </summary>
    private static void DeleteDir(string dir)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(100);
            }
        }
    }
}
