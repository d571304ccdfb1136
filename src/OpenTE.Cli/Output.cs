using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace OpenTE.Cli;

/// <summary>
/// JSON and table helpers. JSON is plain (no ANSI), invariant culture, UTF-8 text without needless
/// \uXXXX escapes (it is written to files and terminals, never embedded in HTML); non-finite numbers are written as null.
/// </summary>
public static class Output
{
    public static string Json(Action<Utf8JsonWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    public static void Number(this Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>An array of objects: one object per item, its fields written by <paramref name="fields"/>.</summary>
    public static void Objects<T>(this Utf8JsonWriter w, string name, IEnumerable<T> items, Action<T> fields)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStartObject();
            fields(item);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>An array of strings (messages, labels).</summary>
    public static void Strings(this Utf8JsonWriter w, string name, IEnumerable<string> items)
    {
        w.WriteStartArray(name);
        foreach (var s in items) w.WriteStringValue(s);
        w.WriteEndArray();
    }

    /// <summary>The head of every OPF answer (DESIGN.md §5): case, model, status, objective, solveSeconds.</summary>
    public static void OpfHead(this Utf8JsonWriter w, string @case, string model, string status, double objective, double solveSeconds)
    {
        w.WriteString("case", @case);
        w.WriteString("model", model);
        w.WriteString("status", status);
        w.Number("objective", objective);
        w.WriteNumber("solveSeconds", solveSeconds);
    }

    /// <summary>The generator fields of DESIGN.md §5 (inside an object the caller opens and closes).</summary>
    public static void GeneratorFields(this Utf8JsonWriter w, int index, int bus, double pg, double qg)
    {
        w.WriteNumber("index", index);
        w.WriteNumber("bus", bus);
        w.Number("pg", pg);
        w.Number("qg", qg);
    }

    /// <summary>The branch fields of DESIGN.md §5 (inside an object the caller opens and closes).</summary>
    public static void BranchFields(this Utf8JsonWriter w, int index, int from, int to, double pf, double qf, double pt, double qt)
    {
        w.WriteNumber("index", index);
        w.WriteNumber("from", from);
        w.WriteNumber("to", to);
        w.Number("pf", pf);
        w.Number("qf", qf);
        w.Number("pt", pt);
        w.Number("qt", qt);
    }

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

    public static Table Table(string title, params string[] columns)
    {
        var t = new Table().Title(title).Border(TableBorder.Rounded);
        foreach (var c in columns) t.AddColumn(new TableColumn(c).RightAligned());
        return t;
    }

    /// <summary>
    /// Adds the rows; a long table (more than <see cref="MaxRows"/> + 10) shows its first <see cref="MaxRows"/>
    /// rows and a note of how many more there are (a cut of a few rows would save nothing).
    /// </summary>
    public static Table Rows<T>(this Table t, IReadOnlyList<T> items, Func<T, string[]> row)
    {
        int shown = items.Count <= MaxRows + 10 ? items.Count : MaxRows;
        foreach (var item in items.Take(shown)) t.AddRow(row(item).Select(Markup.Escape).ToArray());
        if (items.Count > shown) t.Caption($"… {items.Count - shown} more rows: use --json for all");
        return t;
    }

    public static string F(double v, string format = "0.000")
    {
        if (!double.IsFinite(v)) return "–";
        string s = v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        return s.StartsWith('-') && s.Trim('-', '0', '.').Length == 0 ? s[1..] : s; // no "-0.000"
    }
}
