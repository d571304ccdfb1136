using System.ComponentModel;
using System.Runtime.CompilerServices;
using Spectre.Console;
using Spectre.Console.Cli;

namespace OpenTE.Cli.Commands;

public sealed class ServeSettings : CommandSettings
{
    [CommandOption("--urls <URLS>")]
    [Description("Where to listen (default http://127.0.0.1:5080; several separated by ';'; port 0 picks a free one).")]
    [DefaultValue("http://127.0.0.1:5080")]
    public string Urls { get; init; } = "http://127.0.0.1:5080";

    [CommandOption("--db <FILE|CONNECTION>")]
    [Description("A SQLite file (default opente-server.db, created and migrated on start) or a PostgreSQL connection string \"Host=…;Database=…\" (same schema; several servers may share it).")]
    [DefaultValue("opente-server.db")]
    public string Db { get; init; } = "opente-server.db";

    [CommandOption("--operator-key-file <FILE>")]
    [Description("The operator's API key: read from FILE when it exists, else made and written there (0600). Without it a new key is printed once on the first start.")]
    public string? OperatorKeyFile { get; init; }

    [CommandOption("--rate <N>")]
    [Description("Requests per second per key (default 20; the burst is twice this).")]
    [DefaultValue(20)]
    public int Rate { get; init; } = 20;

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Urls) || !Urls.Split(';').All(u => Uri.TryCreate(u.Trim(), UriKind.Absolute, out var x) && x.Scheme is "http" or "https"))
            return ValidationResult.Error($"--urls '{Urls}' is not a list of http(s) URLs; e.g. --urls http://127.0.0.1:5080");
        if (string.IsNullOrWhiteSpace(Db)) return ValidationResult.Error("--db must name a SQLite file or a PostgreSQL connection string");
        if (Rate is < 1 or > 1_000_000) return ValidationResult.Error("--rate must be 1..1000000 requests per second");
        return ValidationResult.Success();
    }
}

/// <summary>
/// opente serve: the market server (docs/server.md). ASP.NET Core is loaded only when this command runs (the server code
/// sits behind a non-inlined call), so the other commands start as fast as before.
/// </summary>
public sealed class ServeCommand : Command<ServeSettings>
{
    public override int Execute(CommandContext context, ServeSettings s, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            Run(s, stop.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Run(ServeSettings s, CancellationToken stop)
    {
        var o = new OpenTE.Server.ServerOptions
        {
            Urls = s.Urls, Db = s.Db, OperatorKeyFile = s.OperatorKeyFile, RequestsPerSecond = s.Rate,
            ResolveCase = CaseLocator.Resolve, Out = CliApp.Io.Out,
        };
        try
        {
            OpenTE.Server.ServerHost.RunAsync(o, stop).GetAwaiter().GetResult();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        catch (System.Data.Common.DbException e)
        {
            throw new UsageException($"--db: the database could not be opened or migrated ({Redact(e.Message)}); check the path or the connection string and that the server runs");
        }
        catch (IOException e) when (e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"--urls {s.Urls}: {e.Message}; choose another port");
        }
    }

    private static string Redact(string m) => System.Text.RegularExpressions.Regex.Replace(m, "(?i)password=[^;]*", "Password=***");
}
