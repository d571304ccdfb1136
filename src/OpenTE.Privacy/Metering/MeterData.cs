using System.Globalization;
using System.Text;
using System.Text.Json;
using OpenTE.Grid;
using OpenTE.Grid.Metering;
using OpenTE.Grid.Input;

namespace OpenTE.Privacy.Metering;

/// <summary>A rejected record: where, why, and the record as it was (nothing is dropped or "fixed" silently).</summary>
public sealed record RejectedRecord(int Line, string Reason, string Raw);

/// <summary>A run of missing intervals of one meter.</summary>
public sealed record Gap(string Meter, DateTimeOffset From, int Intervals);

public sealed record ValidationOptions
{
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Largest believable household reading per interval (kWh); larger ones are rejected as absurd.</summary>
    public double MaxHouseholdKwh { get; init; } = 100;
    /// <summary>Largest believable feeder-head or generator reading per interval (kWh).</summary>
    public double MaxFeederKwh { get; init; } = 1e6;
}

/// <summary>Validated meter data: accepted readings (sorted by meter and time), rejects and gaps.</summary>
public sealed class MeterData
{
    public string Source { get; }
    public TimeSpan Interval { get; }
    public IReadOnlyList<MeterReading> Readings { get; }
    public IReadOnlyList<RejectedRecord> Rejected { get; }
    public IReadOnlyList<Gap> Gaps { get; }

    internal MeterData(string source, TimeSpan interval, IReadOnlyList<MeterReading> readings, IReadOnlyList<RejectedRecord> rejected, IReadOnlyList<Gap> gaps)
    {
        Source = source;
        Interval = interval;
        Readings = readings;
        Rejected = rejected;
        Gaps = gaps;
    }

    public IEnumerable<DateTimeOffset> Intervals => Readings.Select(r => r.Start).Distinct().Order();

    /// <summary>The rejects file: CSV <c>line,reason,record</c>, gaps as <c>0,gap: …</c>.</summary>
    public string RejectsCsv()
    {
        var sb = new StringBuilder("line,reason,record\n");
        foreach (var r in Rejected) sb.Append(r.Line).Append(',').Append(Quote(r.Reason)).Append(',').Append(Quote(r.Raw)).Append('\n');
        foreach (var g in Gaps)
            sb.Append("0,").Append(Quote($"gap: meter {g.Meter} has no reading for {g.Intervals} interval(s) from {g.From:yyyy-MM-ddTHH:mmzzz}")).Append(",\n");
        return sb.ToString();
    }

    private static string Quote(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";

    // ======================================================================== reading

    public static MeterData Read(string path, ValidationOptions? options = null)
    {
        string text = InputFiles.ReadText(path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? ParseJson(text, path, options) : ParseCsv(text, path, options);
    }

    private const string Header = "meter,kind,feeder,bus,start,import_kwh,export_kwh";

    /// <summary>CSV with header <c>meter,kind,feeder,bus,start,import_kwh,export_kwh</c> (docs/meter-data.md).</summary>
    public static MeterData ParseCsv(string text, string file, ValidationOptions? options = null)
    {
        var o = options ?? new ValidationOptions();
        // rows of another width are kept: Validate rejects them to the rejects file with their line
        var rows = CsvTable.Parse(text, file, [Header.Split(',')], anyWidth: true).Rows.Select(r => (r.Line, r.Raw, r.Cells.ToArray())).ToList();
        return Validate(file, rows, o);
    }

    /// <summary>JSON: an array of { "meter", "kind", "feeder", "bus", "start", "importKwh", "exportKwh" }.</summary>
    public static MeterData ParseJson(string text, string file, ValidationOptions? options = null)
    {
        var o = options ?? new ValidationOptions();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new InputException(file, (int)(e.LineNumber ?? -1) + 1, "invalid JSON", "fix the JSON syntax at that line");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new InputException(file, 1, "the meter data must be a JSON array of readings", "write [ { \"meter\": …, \"start\": …, \"importKwh\": … }, … ]");
            var rows = new List<(int, string, string[])>();
            int k = 0;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                k++;
                string Get(string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v)
                    ? v.ValueKind switch { JsonValueKind.String => v.GetString() ?? "", JsonValueKind.Null => "", _ => v.GetRawText() }
                    : "";
                // JSON elements are addressed by their 1-based position in the array
                rows.Add((k, e.GetRawText(), [Get("meter"), Get("kind"), Get("feeder"), Get("bus"), Get("start"), Get("importKwh"), Get("exportKwh")]));
            }
            return Validate(file, rows, o);
        }
    }

    private static MeterData Validate(string file, List<(int Line, string Raw, string[] Cells)> rows, ValidationOptions o)
    {
        var rejected = new List<RejectedRecord>();
        var parsed = new List<(MeterReading R, string Raw)>(rows.Count);
        var times = new Dictionary<string, DateTimeOffset?>(); // a day has few distinct timestamps: parse each once
        foreach (var (line, raw, c) in rows)
        {
            string? why = null;
            MeterReading? reading = null;
            if (c.Length != 7) why = $"{c.Length} fields where 7 are expected ({Header})";
            else if (c[0].Length == 0) why = "meter id is empty";
            else if (!TryKind(c[1], out var kind)) why = $"kind '{c[1]}' is not household, feeder-head or generator";
            else if (c[2].Length == 0) why = "feeder is empty";
            else if (c[3].Length > 0 && !int.TryParse(c[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out _)) why = $"bus '{c[3]}' is not a bus number";
            else if (!TryTime(c[4], times, out var start))
                why = $"start '{c[4]}' is not an ISO-8601 time with offset (e.g. 2026-06-01T14:15:00+02:00)";
            else if (!double.TryParse(c[5], NumberStyles.Float, CultureInfo.InvariantCulture, out double imp) || !double.IsFinite(imp)) why = $"import_kwh '{c[5]}' is not a number";
            else if (!double.TryParse(c[6], NumberStyles.Float, CultureInfo.InvariantCulture, out double exp) || !double.IsFinite(exp)) why = $"export_kwh '{c[6]}' is not a number";
            else if (imp < 0 || exp < 0) why = $"negative energy (import {imp}, export {exp} kWh): readings are ≥ 0 in each direction";
            else if ((start.ToUnixTimeSeconds() % (long)o.Interval.TotalSeconds) != 0) why = $"start {c[4]} is not on a {o.Interval.TotalMinutes:0}-minute boundary";
            else
            {
                double max = kind == MeterKind.Household ? o.MaxHouseholdKwh : o.MaxFeederKwh;
                if (imp > max || exp > max) why = $"absurd value ({Math.Max(imp, exp)} kWh in one interval; at most {max} kWh is believable for a {c[1]} meter)";
                else reading = new MeterReading(c[0], kind, c[2], c[3].Length > 0 ? int.Parse(c[3], CultureInfo.InvariantCulture) : null, start, imp, exp, line);
            }
            if (why is not null) rejected.Add(new RejectedRecord(line, why, raw));
            else parsed.Add((reading!, raw));
        }

        var accepted = new List<MeterReading>(parsed.Count);
        var gaps = new List<Gap>();
        var first = parsed.Count > 0 ? parsed.Min(p => p.R.Start) : default;
        var last = parsed.Count > 0 ? parsed.Max(p => p.R.Start) : default;
        foreach (var meter in parsed.GroupBy(p => p.R.Meter))
        {
            var list = meter.ToList(); // file order
            var identity = list[0].R;
            var keep = new List<(MeterReading R, string Raw)>();
            DateTimeOffset? previous = null;
            foreach (var p in list)
            {
                if (p.R.Kind != identity.Kind || p.R.Feeder != identity.Feeder || p.R.Bus != identity.Bus)
                {
                    rejected.Add(new RejectedRecord(p.R.Line, $"meter {p.R.Meter} changes its kind, feeder or bus (first given on line {identity.Line})", p.Raw));
                    continue;
                }
                if (previous is DateTimeOffset prev && p.R.Start < prev)
                {
                    rejected.Add(new RejectedRecord(p.R.Line, $"out of order: {p.R.Start:yyyy-MM-ddTHH:mmzzz} comes after {prev:yyyy-MM-ddTHH:mmzzz} for meter {p.R.Meter}", p.Raw));
                    continue;
                }
                previous = p.R.Start;
                keep.Add(p);
            }
            foreach (var same in keep.GroupBy(p => p.R.Start))
            {
                var versions = same.ToList();
                if (versions.Count == 1) { accepted.Add(versions[0].R); continue; }
                bool identical = versions.All(v => v.R.ImportKwh == versions[0].R.ImportKwh && v.R.ExportKwh == versions[0].R.ExportKwh);
                if (identical)
                {
                    accepted.Add(versions[0].R);
                    foreach (var v in versions.Skip(1))
                        rejected.Add(new RejectedRecord(v.R.Line, $"duplicate of line {versions[0].R.Line} (same values)", v.Raw));
                }
                else
                {
                    foreach (var v in versions)
                        rejected.Add(new RejectedRecord(v.R.Line, $"conflicting readings for meter {v.R.Meter} at {v.R.Start:yyyy-MM-ddTHH:mmzzz} on lines {string.Join(", ", versions.Select(x => x.R.Line))}: none is used", v.Raw));
                }
            }
        }
        accepted.Sort((a, b) => a.Meter != b.Meter ? string.CompareOrdinal(a.Meter, b.Meter) : a.Start.CompareTo(b.Start));
        // gaps: every meter is expected in every interval of the dataset's span
        if (accepted.Count > 0)
        {
            int k = 0;
            while (k < accepted.Count)
            {
                string meter = accepted[k].Meter;
                var expect = first;
                while (k < accepted.Count && accepted[k].Meter == meter)
                {
                    int missing = (int)((accepted[k].Start - expect).Ticks / o.Interval.Ticks);
                    if (missing > 0) gaps.Add(new Gap(meter, expect, missing));
                    expect = accepted[k].Start + o.Interval;
                    k++;
                }
                int tail = (int)((last + o.Interval - expect).Ticks / o.Interval.Ticks);
                if (tail > 0) gaps.Add(new Gap(meter, expect, tail));
            }
        }
        rejected.Sort((a, b) => a.Line.CompareTo(b.Line));
        return new MeterData(file, o.Interval, accepted, rejected, gaps);
    }

    private static readonly string[] TimeFormats = ["yyyy-MM-ddTHH:mm:sszzz", "yyyy-MM-ddTHH:mmzzz", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mmK"];

    private static bool TryTime(string text, Dictionary<string, DateTimeOffset?> cache, out DateTimeOffset time)
    {
        if (!cache.TryGetValue(text, out var parsed))
        {
            // K also accepts no offset at all (taken as local time): the docs require one, so Z or ±hh:mm must be written
            bool hasOffset = text.EndsWith('Z') || text.Length > 6 && (text[^6] == '+' || text[^6] == '-') && text[^3] == ':';
            parsed = hasOffset && DateTimeOffset.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;
            if (cache.Count < 100_000) cache[text] = parsed;
        }
        time = parsed ?? default;
        return parsed.HasValue;
    }

    private static bool TryKind(string s, out MeterKind kind)
    {
        switch (s.ToLowerInvariant())
        {
            case "household": kind = MeterKind.Household; return true;
            case "feeder-head": kind = MeterKind.FeederHead; return true;
            case "generator": kind = MeterKind.Generator; return true;
            default: kind = default; return false;
        }
    }

    /// <summary>Writes readings as the CSV this reader accepts.</summary>
    public static string ToCsv(IEnumerable<MeterReading> readings)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in readings)
        {
            string kind = r.Kind switch { MeterKind.Household => "household", MeterKind.FeederHead => "feeder-head", _ => "generator" };
            sb.Append(r.Meter).Append(',').Append(kind).Append(',').Append(r.Feeder).Append(',')
              .Append(r.Bus?.ToString(CultureInfo.InvariantCulture) ?? "").Append(',')
              .Append(r.Start.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture)).Append(',')
              .Append(r.ImportKwh.ToString("R", CultureInfo.InvariantCulture)).Append(',')
              .Append(r.ExportKwh.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        return sb.ToString();
    }
}
