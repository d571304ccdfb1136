using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OpenTE.Grid.Output;

/// <summary>
/// The JSON of DESIGN.md §5 for every result type, written by the libraries (each result's <c>ToJson</c> lives beside
/// it), so that a library user, the CLI and the server produce the same documents. Plain, indented, invariant culture,
/// UTF-8 without needless \uXXXX escapes; non-finite numbers are written as null.
/// </summary>
public static class JsonText
{
    public static string Write(Action<Utf8JsonWriter> write)
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

}
