using System.Security.Cryptography;
using System.Text;

namespace OpenTE.Server;

/// <summary>How <c>opente serve</c> runs (docs/server.md).</summary>
public sealed record ServerOptions
{
    /// <summary>Where to listen (Kestrel URLs, ';'-separated); port 0 picks a free port.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5080";
    /// <summary>A SQLite file path, or a PostgreSQL connection string ("Host=…;Database=…").</summary>
    public string Db { get; init; } = "opente-server.db";
    /// <summary>The operator key's file: read when it exists, written (0600) with a new key when it does not.</summary>
    public string? OperatorKeyFile { get; init; }
    /// <summary>Resolves a case name to a file (the CLI passes its ../shared/cases lookup).</summary>
    public Func<string, string> ResolveCase { get; init; } = DefaultCaseResolver;
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    /// <summary>Requests per second per key (token bucket; the burst is twice this).</summary>
    public int RequestsPerSecond { get; init; } = 20;
    /// <summary>Largest request body, bytes.</summary>
    public long MaxBodyBytes { get; init; } = 256 * 1024;
    /// <summary>How often the scheduler looks for intervals whose gate has closed (and the live feed for new clearings).</summary>
    public TimeSpan SchedulerPeriod { get; init; } = TimeSpan.FromSeconds(1);
    public bool Scheduler { get; init; } = true;
    /// <summary>Where the once-only operator key is printed.</summary>
    public TextWriter Out { get; init; } = Console.Out;
    /// <summary>ASP.NET Core's own log output (off by default: the server prints what a user needs).</summary>
    public bool Log { get; init; }

    public static string DefaultCaseResolver(string name)
    {
        if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name.Contains(".."))
            throw new OpenTE.Grid.Input.InputException(name, 0, "not a case name", "give a bare case name such as case5");
        var dirs = new List<string>();
        if (Environment.GetEnvironmentVariable("OPENTE_CASES") is { Length: > 0 } env) dirs.Add(env);
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                dirs.Add(Path.Combine(dir.FullName, "shared", "cases"));
                dirs.Add(Path.Combine(dir.FullName, "..", "shared", "cases"));
            }
        foreach (var d in dirs)
            foreach (var ext in new[] { ".m", ".json" })
                if (File.Exists(Path.Combine(d, name + ext))) return Path.Combine(d, name + ext);
        throw new OpenTE.Grid.Input.InputException(name, 0, "no such case", "give a name from ../shared/cases (e.g. case5) or upload one with POST /api/cases");
    }
}

/// <summary>API keys: 32 random bytes (base64url) with a prefix; only their SHA-256 is stored.</summary>
public static class ApiKeys
{
    public static string New(string prefix) => prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>SHA-256 of the key, hex. The keys carry 256 random bits, so a fast hash is enough (no dictionary to guess from).</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
