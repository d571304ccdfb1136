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
