namespace OpenTE.Grid.Input;

// The input-error contract of every OpenTE reader (cases, bids, series, scenarios, meter data, settlement files):
// what is wrong, where (file:line, or a JSON path rendered as its line), and how to fix it. The CLI renders an
// InputException as one line on stderr and exit code 2; the server as a 400 problem-details body.

/// <summary>
/// A case or input file that cannot be used as it is. <see cref="Exception.Message"/> is one sentence
/// "file:line: what is wrong"; <see cref="Hint"/> says how to fix it. The CLI maps it to exit code 2.
/// </summary>
public class InputException : Exception
{
    public string File { get; }
    public int Line { get; }
    public string Hint { get; }
    /// <summary>The field (CSV column, JSON field) at fault, when one is; null for a whole line or file.</summary>
    public string? Field { get; }

    public InputException(string file, int line, string message, string hint, string? field = null)
        : base(line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}")
    {
        File = file;
        Line = line;
        Hint = hint;
        Field = field;
    }
}

/// <summary>A MATPOWER or JSON case file with a format or consistency error.</summary>
public sealed class CaseFormatException(string file, int line, string message, string hint)
    : InputException(file, line, message, hint);

/// <summary>A warning found while reading a file (kept data, ignored field, islanding).</summary>
public sealed record Diagnostic(string File, int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Message}" : $"{File}: {Message}";
}

/// <summary>Reading input files with the project's error contract (file named, hint given, no stack trace).</summary>
public static class InputFiles
{
    public static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, 0, $"cannot read the file ({e.Message})", "check the path and permissions");
        }
    }
}
