using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using OpenTE.Settlement;
using Xunit.Abstractions;

namespace OpenTE.Cli.Tests;

/// <summary>
/// Issue #23: seeded random mutations of every input kind run through the CLI entry point in-process. The property:
/// exit code 0, 1 or 2 (never 3, never an unhandled exception), no NaN or Infinity in any output of a run that
/// succeeded, and on exit 2 one line on stderr naming the file and the line or field, with no raw binary echoed.
/// <c>OPENTE_FUZZ_N</c> sets the mutations per kind (default 150; a bench run uses thousands),
/// <c>OPENTE_FUZZ_SEED</c> the seed.
/// </summary>
public partial class FuzzTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "opente-fuzz-" + Guid.NewGuid().ToString("N")[..8]);
    // OPENTE_FUZZ_KEEP=1 keeps the mutated inputs in that folder
    private readonly ITestOutputHelper _log;

    public FuzzTests(ITestOutputHelper log)
    {
        _log = log;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("OPENTE_FUZZ_KEEP") == "1") return; // keep the inputs to reproduce a failure
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static int N => int.TryParse(Environment.GetEnvironmentVariable("OPENTE_FUZZ_N"), out var n) && n > 0 ? n : 150;
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("OPENTE_FUZZ_SEED"), out var s) ? s : 23;

    internal static string Repo
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(Path.Combine(d.FullName, "OpenTE.slnx"))) d = d.Parent;
            return d!.FullName;
        }
    }

    private static string Cases => Path.GetFullPath(Path.Combine(Repo, "..", "shared", "cases"));

    public static TheoryData<string> Kinds =>
        ["matpower", "case-json", "bids", "series", "storage", "scenario", "p2p", "meters", "trades", "readings", "market", "ledger", "carbon", "upstream"];

    /// <summary>A kind: its base file's text (or bytes), the file name, and the command lines to run on the mutated file.</summary>
    private sealed record Kind(string FileName, byte[] Base, Func<string, string[][]> Commands, bool Binary = false);

    private Kind Make(string kind)
    {
        string Ex(string f) => Path.Combine(Repo, "examples", f);
        byte[] Text(string s) => Encoding.UTF8.GetBytes(s);
        switch (kind)
        {
            case "matpower":
                return new("case.m", File.ReadAllBytes(Path.Combine(Cases, "case9.m")), f =>
                    [["case", "info", f, "--json"], ["opf", f, "--model", "dc", "--json"], ["pf", f, "--json"]]);
            case "case-json":
            {
                var j = Path.Combine(_dir, "base.json");
                Assert.Equal(0, CliRunner.Run("case", "convert", Path.Combine(Cases, "case5.m"), "--to", "json", "--out", j).Code);
                return new("case.json", File.ReadAllBytes(j), f => [["opf", f, "--model", "dc", "--json"], ["pf", f, "--json"]]);
            }
            case "bids":
                return new("bids.csv", File.ReadAllBytes(Ex("case5-bids.csv")), f =>
                    [["clear", "case5", "--bids", f, "--mechanism", "uniform", "--json"], ["clear", "case5", "--bids", f, "--mechanism", "pay-as-bid", "--json"],
                     ["clear", "case5", "--bids", f, "--json"]]);
            case "series":
                return new("series.csv", Text(string.Join('\n', File.ReadAllLines(Ex("case30-day.csv")).Take(2 + 3 * 30)) + "\n"), f =>
                    [["multiperiod", "case30", "--series", f, "--storage", Ex("case30-storage.csv"), "--json"]]);
            case "storage":
            {
                var series = Path.Combine(_dir, "series-base.csv");
                File.WriteAllText(series, string.Join('\n', File.ReadAllLines(Ex("case30-day.csv")).Take(2 + 3 * 30)) + "\n");
                return new("storage.csv", File.ReadAllBytes(Ex("case30-storage.csv")), f => [["multiperiod", "case30", "--series", series, "--storage", f, "--json"]]);
            }
            case "scenario":
            {
                var s = File.ReadAllText(Ex("microgrid-day.json")).Replace("\"intervals\": 96", "\"intervals\": 8")
                    .Replace("2026-06-01T14:00:00+02:00", "2026-06-01T00:30:00+02:00").Replace("2026-06-01T17:00:00+02:00", "2026-06-01T01:15:00+02:00");
                return new("scenario.json", Text(s), f => [["simulate", f, "--json", "--out", Path.Combine(_dir, "sim")]]);
            }
            case "p2p":
                return new("p2p.json", Text(SmallP2p), f => [["p2p", f, "--json", "--max-iterations", "300"]]);
            case "meters":
            {
                var m = Path.Combine(_dir, "meters-base.csv");
                Assert.Equal(0, CliRunner.Run("meter", "synth", "case33bw", "--households", "4", "--intervals", "4", "--out", m).Code);
                return new("meters.csv", File.ReadAllBytes(m), f => [["meter", "reconcile", f, "case33bw", "--json"]]);
            }
            case "trades" or "readings" or "market":
            {
                var d = Path.Combine(_dir, "settle-base");
                SampleData.Write(SampleData.Generate(3, 4, 7, "fz"), d);
                string trades = Path.Combine(d, "trades.csv"), readings = Path.Combine(d, "meter-readings.csv"), market = Path.Combine(d, "market.json");
                var (name, src) = kind switch { "trades" => ("trades.csv", trades), "readings" => ("readings.csv", readings), _ => ("market.json", market) };
                return new(name, File.ReadAllBytes(src), f =>
                {
                    var (t, r, m) = kind switch { "trades" => (f, readings, market), "readings" => (trades, f, market), _ => (trades, readings, f) };
                    return [["settle", t, r, "--market", m, "--at", "2030-01-01T00:00:00Z", "--json", "--ledger", Path.Combine(_dir, $"l{Guid.NewGuid():N}.db")]];
                });
            }
            case "carbon" or "upstream":
            {
                // emission data (docs/carbon.md) for a small signed market on case33bw: the carbon JSON and its upstream series
                var d = Path.Combine(_dir, "carbon-base");
                var set = SampleData.Generate(3, 4, 7, "fz");
                SampleData.Write(set, d);
                string trades = Path.Combine(d, "trades.csv"), readings = Path.Combine(d, "meter-readings.csv"), market = Path.Combine(d, "market.json");
                string upstream = "interval,gco2_per_kwh\n" + string.Concat(Enumerable.Range(0, 24).Select(h =>
                    $"{DateTimeOffset.FromUnixTimeSeconds(1_780_272_000 + 3600L * h):yyyy-MM-ddTHH:mm:ss}+00:00,{400 + 5 * h}\n"));
                string Carbon(string up) => "{ \"case\": \"case33bw\", \"upstream\": " + System.Text.Json.JsonSerializer.Serialize(up) +
                    ", \"carbonPricePerTonne\": 9000, \"buyerShare\": 0.4, \"participants\": [" +
                    string.Join(", ", set.Participants.Select((k, i) => $"{{ \"id\": \"{k.Address}\", \"bus\": {new[] { 18, 2, 30 }[i]}, \"gco2PerKwh\": {i * 300} }}")) + "] }";
                string[][] Settle(string carbon) => [["settle", trades, readings, "--market", market, "--at", "2030-01-01T00:00:00Z", "--json", "--carbon", carbon]];
                if (kind == "carbon")
                {
                    var up = Path.Combine(d, "upstream.csv");
                    File.WriteAllText(up, upstream);
                    return new("carbon.json", Text(Carbon(up)), Settle);
                }
                return new("upstream.csv", Text(upstream), f =>
                {
                    var c = Path.Combine(_dir, $"carbon{Guid.NewGuid():N}.json");
                    File.WriteAllText(c, Carbon(f));
                    return Settle(c);
                });
            }
            case "ledger":
            {
                var d = Path.Combine(_dir, "ledger-base");
                SampleData.Write(SampleData.Generate(3, 6, 8, "lz"), d);
                var l = Path.Combine(d, "l.db");
                Assert.Equal(0, CliRunner.Run("settle", Path.Combine(d, "trades.csv"), Path.Combine(d, "meter-readings.csv"), "--ledger", l, "--at", "2030-01-01T00:00:00Z").Code);
                using (var db = new SqliteConnection($"Data Source={l};Pooling=False"))
                {
                    db.Open();
                    using var c = db.CreateCommand();
                    c.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;";
                    c.ExecuteNonQuery();
                }
                return new("ledger.db", File.ReadAllBytes(l), f =>
                    [["ledger", "verify", f, "--json"], ["ledger", "balance", f, "--json"],
                     ["settle", Path.Combine(d, "trades.csv"), Path.Combine(d, "meter-readings.csv"), "--ledger", f, "--at", "2030-01-01T00:00:00Z", "--json"]], Binary: true);
            }
            default: throw new ArgumentException(kind);
        }
    }

    private const string SmallP2p = """
        {
          "peers": [
            { "id": "s1", "a": 0.1, "b": 20, "pmin": 0, "pmax": 30, "bus": 2 },
            { "id": "s2", "a": 0.12, "b": 25, "pmin": 0, "pmax": 20, "bus": 3 },
            { "id": "h1", "a": 0.2, "b": 60, "pmin": -25, "pmax": 0, "bus": 4 },
            { "id": "h2", "a": 0.3, "b": 55, "pmin": -15, "pmax": 0, "bus": 5 }
          ],
          "trades": [
            { "seller": "s1", "buyer": "h1", "sellerCharge": 0.5, "buyerCharge": 0.5 },
            { "seller": "s1", "buyer": "h2", "sellerCharge": 1, "buyerCharge": 0 },
            { "seller": "s2", "buyer": "h1" },
            { "seller": "s2", "buyer": "h2", "sellerCharge": 0.25, "buyerCharge": 2 }
          ]
        }
        """;

    private static readonly string[] Swaps =
    [
        "NaN", "Infinity", "-Infinity", "1e308", "-1e308", "1.7976931348623157e309", "9223372036854775807", "-9223372036854775808",
        "18446744073709551616", "-1", "0", "1e-308", "2.5", "-0.0", "null", "", "\"x\"", new string('9', 400), "1e16", "4e9", "-2147483649",
    ];

    [GeneratedRegex(@"-?\d+(\.\d+)?([eE][-+]?\d+)?")]
    private static partial Regex Number();

    internal static byte[] Mutate(byte[] b, Random rng, bool binary)
    {
        int n = 1 + rng.Next(3);
        for (int k = 0; k < n; k++)
        {
            int op = binary ? rng.Next(3) : rng.Next(6);
            if (binary && op == 2)
            {
                b = b[..rng.Next(Math.Max(1, b.Length))]; // truncated
                continue;
            }
            if (op <= 1 || b.Length == 0)
            {
                if (b.Length == 0) return [(byte)rng.Next(256)];
                b = (byte[])b.Clone();
                int flips = binary ? 1 + rng.Next(8) : 1;
                for (int i = 0; i < flips; i++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                continue;
            }
            var lines = Encoding.UTF8.GetString(b).Split('\n').ToList();
            switch (op)
            {
                case 2 when lines.Count > 1: lines.RemoveAt(rng.Next(lines.Count)); break;
                case 3: { int i = rng.Next(lines.Count); lines.Insert(i, lines[i]); break; }
                default:
                {
                    var text = string.Join('\n', lines);
                    var ms = Number().Matches(text);
                    if (ms.Count == 0) break;
                    var m = ms[rng.Next(ms.Count)];
                    var w = rng.Next(4) == 0 ? (m.Value.StartsWith('-') ? m.Value[1..] : "-" + m.Value) : Swaps[rng.Next(Swaps.Length)];
                    b = Encoding.UTF8.GetBytes(text[..m.Index] + w + text[(m.Index + m.Length)..]);
                    continue;
                }
            }
            b = Encoding.UTF8.GetBytes(string.Join('\n', lines));
        }
        return b;
    }

    /// <summary>Ledger-specific mutations through SQL: a column of the wrong type, a deleted, moved or changed row.</summary>
    private static void MutateLedgerSql(string path, Random rng)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var c = db.CreateCommand();
        string[] sqls =
        [
            "UPDATE journal SET entry = 'text' WHERE seq = $s", "UPDATE journal SET key = 42 WHERE seq = $s", "UPDATE journal SET seq = seq + 1000 WHERE seq = $s",
            "DELETE FROM journal WHERE seq = $s", "UPDATE journal SET hash = randomblob(32) WHERE seq = $s", "UPDATE journal SET prev = NULL WHERE seq = $s",
            "UPDATE journal SET entry = randomblob(60) WHERE seq = $s", "UPDATE journal SET seq = -seq WHERE seq = $s", "UPDATE journal SET entry = 1e308 WHERE seq = $s",
            "DROP TABLE journal", "UPDATE journal SET key = 'open:' || $s WHERE seq = $s",
        ];
        c.CommandText = sqls[rng.Next(sqls.Length)];
        c.Parameters.AddWithValue("$s", 1 + rng.Next(12));
        try { c.ExecuteNonQuery(); } catch (SqliteException) { }
    }

    // a value, not a label that happens to contain the word (a mutated id "bess-Infinity" is echoed as it was written)
    [GeneratedRegex(@"(?<![\w-])(-?Infinity|NaN)(?![\w-])|∞")]
    private static partial Regex NonFinite();

    public sealed record Counts(int Runs, int Exit0, int Exit1, int Exit2, double Seconds);

    /// <summary>Runs <paramref name="n"/> mutations of one kind; returns counts and the failures (one line each).</summary>
    private (Counts Counts, List<string> Failures) Fuzz(string kindName, int n, int seed)
    {
        var kind = Make(kindName);
        var rng = new Random(seed * 7919 + kindName.Aggregate(17, (h, ch) => h * 31 + ch) % 100_003);
        var fails = new List<string>();
        int runs = 0, e0 = 0, e1 = 0, e2 = 0;
        var sw = Stopwatch.StartNew();
        var dir = Path.Combine(_dir, kindName);
        Directory.CreateDirectory(dir);
        for (int i = 0; i < n; i++)
        {
            var file = Path.Combine(dir, $"{i}-{kind.FileName}");
            var bytes = Mutate(kind.Base, rng, kind.Binary);
            File.WriteAllBytes(file, bytes);
            if (kind.Binary && rng.Next(2) == 0) { File.WriteAllBytes(file, kind.Base); MutateLedgerSql(file, rng); }
            foreach (var args in kind.Commands(file))
            {
                runs++;
                int code;
                string o, e;
                try
                {
                    (code, o, e) = CliRunner.Run(args);
                }
                catch (Exception ex)
                {
                    fails.Add($"{kindName} #{i} {string.Join(' ', args.Take(2))}: unhandled {ex.GetType().Name}: {ex.Message}");
                    continue;
                }
                switch (code) { case 0: e0++; break; case 1: e1++; break; case 2: e2++; break; }
                string what = $"{kindName} #{i} ({string.Join(' ', args.Take(2))}) exit {code}";
                if (code is not (0 or 1 or 2)) { fails.Add($"{what}: {Short(e)}"); continue; }
                if (NonFinite().IsMatch(o)) fails.Add($"{what}: NaN/Infinity in output: {Short(NonFinite().Match(o).Value + " … " + o)}");
                if (code != 2 && NonFinite().IsMatch(e)) fails.Add($"{what}: NaN/Infinity on stderr: {Short(e)}");
                if (code == 2)
                {
                    // warnings may precede it; the error itself is the last line, one line
                    var errLines = e.TrimEnd('\n', '\r').Split('\n');
                    var err = errLines[^1];
                    if (!err.StartsWith("error: ", StringComparison.Ordinal) || errLines[..^1].Any(l => !l.StartsWith("warning: ", StringComparison.Ordinal)))
                        fails.Add($"{what}: stderr is not warnings then one error line: {Short(e)}");
                    // the file, or the case it names (a network-level error names the case as loaded), or the option
                    if (!err.Contains(Path.GetFileName(file)) && !err.Contains("case5") && !err.Contains("case9") && !err.Contains("case30") && !err.Contains("case33bw") && !err.Contains("--"))
                        fails.Add($"{what}: the error does not name the file: {Short(e)}");
                    if (err.Any(ch => ch == '\uFFFD' || (char.IsControl(ch) && ch != '\t')))
                        fails.Add($"{what}: raw binary echoed: {Short(e)}");
                }
            }
        }
        return (new Counts(runs, e0, e1, e2, sw.Elapsed.TotalSeconds), fails);
    }

    private static string Short(string s) => s.Length > 300 ? s[..300] + "…" : s;

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Mutated_input_is_refused_cleanly_or_used(string kind)
    {
        var (c, fails) = Fuzz(kind, N, Seed);
        _log.WriteLine($"{kind}: {c.Runs} runs of {N} mutations, exit 0/1/2 = {c.Exit0}/{c.Exit1}/{c.Exit2}, {c.Seconds:0.0} s");
        Assert.True(fails.Count == 0, $"{fails.Count} failures of {c.Runs} runs:\n" + string.Join('\n', fails.Distinct().Take(25)));
    }
}
