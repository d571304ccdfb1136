using System.Globalization;

namespace OpenTE.Grid.Input;

/// <summary>
/// The one CSV reader of every OpenTE input table (bids, time series, storage, DER offers, …): a UTF-8 BOM, CRLF, blank
/// lines and <c>#</c> comment lines are skipped anywhere; the first other line is the header, which must be one of the
/// accepted column lists (case and spaces ignored); every row must have as many cells as the header. Cells are trimmed
/// (no quoting: the formats forbid commas inside a field). Rows keep their file line, and <see cref="CsvRow"/>'s typed
/// getters throw <see cref="InputException"/> naming file, line and column with the fix.
/// </summary>
public sealed class CsvTable
{
    /// <summary>Makes the exception of a reader (file, line, field, message, hint); the default is <see cref="InputException"/>.</summary>
    public delegate InputException ErrorFactory(string file, int line, string field, string message, string hint);

    public string File { get; }
    /// <summary>The header's columns, lower case, as written.</summary>
    public IReadOnlyList<string> Columns { get; }
    public int HeaderLine { get; }
    public IReadOnlyList<CsvRow> Rows { get; }
    internal ErrorFactory Error { get; }
    private readonly Dictionary<string, int> _index;

    private CsvTable(string file, IReadOnlyList<string> columns, int headerLine, List<CsvRow> rows, ErrorFactory error)
    {
        File = file;
        Columns = columns;
        HeaderLine = headerLine;
        Rows = rows;
        Error = error;
        _index = columns.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
    }

    public bool Has(string column) => _index.ContainsKey(column);
    internal int IndexOf(string column) => _index.TryGetValue(column, out int i) ? i : throw new ArgumentException($"internal: no column {column}");

    public static InputException DefaultError(string file, int line, string field, string message, string hint) => new(file, line, message, hint, field);

    public static CsvTable Read(string path, IReadOnlyList<string[]> headers, ErrorFactory? error = null) =>
        Parse(InputFiles.ReadText(path), path, headers, error);

    /// <summary>
    /// As <see cref="Parse(string, string, IReadOnlyList{string[]}, ErrorFactory?)"/>, but with <paramref name="anyWidth"/> a row
    /// with another number of cells is kept (for readers that reject bad records to a rejects file instead of stopping).
    /// </summary>
    public static CsvTable Parse(string text, string file, IReadOnlyList<string[]> headers, bool anyWidth, ErrorFactory? error = null) =>
        ParseCore(text, file, headers, error, anyWidth);

    /// <param name="headers">The accepted headers (e.g. with and without an optional last column), in their column order.</param>
    public static CsvTable Parse(string text, string file, IReadOnlyList<string[]> headers, ErrorFactory? error = null) =>
        ParseCore(text, file, headers, error, false);

    private static CsvTable ParseCore(string text, string file, IReadOnlyList<string[]> headers, ErrorFactory? error, bool anyWidth)
    {
        error ??= DefaultError;
        string expected = string.Join(" or ", headers.Select(h => string.Join(',', h)));
        var lines = text.Split('\n');
        string[]? columns = null;
        int headerLine = 0;
        var rows = new List<CsvRow>();
        for (int n = 0; n < lines.Length; n++)
        {
            string raw = lines[n].TrimEnd('\r');
            if (n == 0) raw = raw.TrimStart('\uFEFF');
            string trimmed = raw.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#')) continue;
            int line = n + 1;
            var cells = raw.Split(',');
            for (int c = 0; c < cells.Length; c++) cells[c] = cells[c].Trim();
            if (columns is null)
            {
                var names = cells.Select(c => c.Replace(" ", "").ToLowerInvariant()).ToArray();
                columns = headers.FirstOrDefault(h => h.Length == names.Length && h.Zip(names).All(p => p.First == p.Second))
                    ?? throw error(file, line, "header", $"the header is '{Shorten(trimmed)}'",
                        $"the first line that is not blank or a # comment must be: {expected}, in this order");
                headerLine = line;
                continue;
            }
            if (cells.Length != columns.Length && !anyWidth)
                throw error(file, line, "columns", $"the row has {cells.Length} columns where the header has {columns.Length}",
                    $"write {string.Join(',', columns)} (no commas inside a field)");
            rows.Add(new CsvRow(line, cells) { Raw = raw });
        }
        if (columns is null) throw error(file, 1, "header", "the file has no header", $"the first line must be: {expected}");
        var table = new CsvTable(file, columns, headerLine, rows, error);
        foreach (var r in rows) r.Table = table;
        return table;
    }

    /// <summary>Raw text in an error message: at most 80 characters, control characters shown as '?', so a binary file is not echoed.</summary>
    public static string Shorten(string s)
    {
        var t = new string([.. s.Take(80).Select(c => char.IsControl(c) ? '?' : c)]);
        return s.Length > 80 ? t + "…" : t;
    }
}

/// <summary>One data row of a <see cref="CsvTable"/>: its file line and cells, with typed getters that name the column in errors.</summary>
public sealed class CsvRow(int line, string[] cells)
{
    public int Line { get; } = line;
    public CsvTable Table { get; internal set; } = null!;
    /// <summary>The line as written (without its line break).</summary>
    public string Raw { get; internal init; } = "";
    /// <summary>The trimmed cells in file order (as many as the line has).</summary>
    public IReadOnlyList<string> Cells => cells;

    public string this[string column] => cells[Table.IndexOf(column)];

    public InputException Error(string field, string message, string hint) => Table.Error(Table.File, Line, field, message, hint);

    /// <summary>A non-empty text cell.</summary>
    public string Text(string column, string hint)
    {
        string v = this[column];
        return v.Length > 0 ? v : throw Error(column, $"{column} is empty", hint);
    }

    /// <summary>A finite number within [min, max].</summary>
    public double Number(string column, string hint, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        string cell = this[column];
        if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw Error(column, $"{column}: '{CsvTable.Shorten(cell)}' is not a finite number", hint);
        if (v < min || v > max)
            throw Error(column, $"{column}: {cell} is outside {Bound(min)} … {Bound(max)}", hint);
        return v == 0 ? 0 : v; // no "-0"
    }

    /// <summary>An integer (no decimal point).</summary>
    public int Integer(string column, string hint)
    {
        string cell = this[column];
        return int.TryParse(cell, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v
            : throw Error(column, $"{column}: '{CsvTable.Shorten(cell)}' is not an integer", hint);
    }

    private static readonly string[] TimeFormats = ["yyyy-MM-ddTHH:mm:sszzz", "yyyy-MM-ddTHH:mmzzz", "yyyy-MM-ddTHH:mm:ssZ", "yyyy-MM-ddTHH:mmZ"];

    /// <summary>An ISO-8601 time with its UTC offset (2026-06-01T14:15:00+02:00 or …Z); a time without offset is refused.</summary>
    public DateTimeOffset Time(string column)
    {
        string cell = this[column];
        return DateTimeOffset.TryParseExact(cell, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t
            : throw Error(column, $"{column}: '{CsvTable.Shorten(cell)}' is not an ISO-8601 time with offset", "write e.g. 2026-06-01T14:15:00+02:00");
    }

    private static string Bound(double v) => double.IsInfinity(v) ? (v > 0 ? "∞" : "−∞") : v.ToString(CultureInfo.InvariantCulture);
}
