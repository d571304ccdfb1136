using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OpenTE.Grid.Output;
using Spectre.Console;

namespace OpenTE.Cli;

/// <summary>
/// JSON and table helpers. JSON is plain (no ANSI), invariant culture, UTF-8 text without needless
/// \uXXXX escapes (it is written to files and terminals, never embedded in HTML); non-finite numbers are written as null.
/// </summary>
public static class Output
{
    public static string Json(Action<Utf8JsonWriter> write) => JsonText.Write(write);

    /// <summary>Writes the text to --out FILE when given, else to standard output.</summary>
    public static void Emit(string text, string? outFile)
    {
        if (outFile is null)
        {
            CliApp.Io.Out.WriteLine(text);
            return;
        }
        try
        {
            File.WriteAllText(outFile, text + Environment.NewLine);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write {outFile}: {e.Message}");
        }
    }

    /// <summary>Renders to the console, or as plain text into --out FILE.</summary>
    public static void Render(IEnumerable<Spectre.Console.Rendering.IRenderable> items, string? outFile)
    {
        if (outFile is null)
        {
            foreach (var r in items) CliApp.Io.Console.Write(r);
            return;
        }
        var sw = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(sw) });
        console.Profile.Width = 160;
        foreach (var r in items) console.Write(r);
        Emit(sw.ToString(), outFile);
    }

    public const int MaxRows = 40;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Table, Tuple<string, string[]>> Heads = [];

    public static Table Table(string title, params string[] columns)
    {
        var t = new Table().Title(title).Border(TableBorder.Rounded);
        foreach (var c in columns) t.AddColumn(new TableColumn(c).RightAligned());
        Heads.AddOrUpdate(t, Tuple.Create(title, columns));
        return t;
    }

    /// <summary>
    /// Adds the rows; on the console a long table (more than <see cref="MaxRows"/> + 10) shows its first <see cref="MaxRows"/>
    /// rows and a note of how many more there are (a cut of a few rows would save nothing); with --all or --out FILE every
    /// row. With --csv DIR the whole table is also written to DIR as CSV (<see cref="TableOutput"/>).
    /// </summary>
    public static Table Rows<T>(this Table t, IReadOnlyList<T> items, Func<T, string[]> row)
    {
        var output = CliApp.TryIo?.Tables;
        bool all = output?.All ?? false;
        int shown = all || items.Count <= MaxRows + 10 ? items.Count : MaxRows;
        var rows = items.Select(row).ToList();
        foreach (var r in rows.Take(shown)) t.AddRow(r.Select(Markup.Escape).ToArray());
        if (items.Count > shown) t.Caption($"… {items.Count - shown} more rows: --all prints them, --csv DIR writes them as CSV, --json gives all");
        if (output?.CsvDir is not null && Heads.TryGetValue(t, out var head)) output.Write(head.Item1, head.Item2, rows);
        return t;
    }

    public static string F(double v, string format = "0.000")
    {
        if (!double.IsFinite(v)) return "–";
        string s = v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        return s.StartsWith('-') && s.Trim('-', '0', '.').Length == 0 ? s[1..] : s; // no "-0.000"
    }
}

/// <summary>
/// Where result tables go besides the console: <see cref="All"/> lifts the 40-row cut, <see cref="CsvDir"/> receives every
/// table in full as CSV (RFC 4180 quoting, invariant culture, the table's own number formatting, an empty field where the
/// console shows "–"), named after the table's title.
/// </summary>
public sealed class TableOutput(string? csvDir, bool all)
{
    public string? CsvDir { get; } = csvDir;
    public bool All { get; } = all;
    public List<string> Written { get; } = [];

    public void Write(string title, string[] columns, IReadOnlyList<string[]> rows)
    {
        string slug = string.Concat(title.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-'));
        while (slug.Contains("--")) slug = slug.Replace("--", "-");
        slug = slug.Trim('-');
        if (slug.Length == 0) slug = "table";
        string path = Path.Combine(CsvDir!, slug + ".csv");
        for (int k = 2; Written.Contains(path); k++) path = Path.Combine(CsvDir!, $"{slug}-{k}.csv");
        try
        {
            Directory.CreateDirectory(CsvDir!);
            using var w = new StreamWriter(path, false, new UTF8Encoding(false));
            w.WriteLine(string.Join(',', columns.Select(Quote)));
            foreach (var r in rows) w.WriteLine(string.Join(',', r.Select(v => Quote(v == "–" ? "" : v))));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write {path}: {e.Message} — give --csv a directory you can write to");
        }
        Written.Add(path);
    }

    private static string Quote(string v) =>
        v.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;
}
